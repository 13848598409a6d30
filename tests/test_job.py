"""runner._run_folder.job: a job read back from a run folder built by hand, as the report and the status see it."""

from __future__ import annotations

import math
from pathlib import Path

from omegaconf import OmegaConf

from runner._run_folder import job as run_job
from runner._run_folder import run_dir
from runner._run_folder.run_dir import Status
from runner.task import PERFECT, Task

COPY = Task(
    inputs="tokens",
    input_size=10,
    targets="classes",
    output_size=9,
    metrics=("accuracy",),
    baseline={"accuracy": 0.125},
    monitor="accuracy",
    monitor_mode="max",
)


def folder(root: Path, name: str = "3_cell=rnn", num: int | None = 3, max_steps: int = 40) -> Path:
    """A run folder as Hydra leaves it when the job starts: the config, Hydra's record and the overrides."""
    path = root / name
    (path / ".hydra").mkdir(parents=True)
    config = {"seed": 0, "cell": {"hidden_size": 8}, "data": {"seq_len": 8}, "trainer": {"max_steps": max_steps}}
    OmegaConf.save(OmegaConf.create(config), path / run_dir.CONFIG)
    hydra = {
        "mode": "RUN" if num is None else "MULTIRUN",
        "job": {"num": num or 0},
        "runtime": {"choices": {"cell": "rnn", "data": "copy", "grad": "none", "optim": "adam"}},
    }
    OmegaConf.save(OmegaConf.create({"hydra": hydra}), path / run_dir.HYDRA)
    OmegaConf.save(OmegaConf.create(["cell=rnn", "seed=0"]), path / run_dir.OVERRIDES)
    return path


def metrics(path: Path, rows: list[dict[str, str]]) -> None:
    header = ["step", "val/accuracy", "grad/norm_before", "grad/clip_rate"]
    run_dir.write_metrics(path, header, [{k: row.get(k, "") for k in header} for row in rows])


def test_a_finished_job_scores_in_the_direction_its_task_declared(tmp_path):
    path = folder(tmp_path)
    record = {
        "status": "ok",
        "steps": 40,
        "wall_s": 2.5,
        "monitor": "val/accuracy",
        "monitor_mode": "max",
        "val": {"accuracy": 0.9, "loss": 0.3},
        "best_val": {"accuracy": 0.95},
        "baseline": {"accuracy": 0.125},
    }
    run_dir.write_results(path, record)
    job = run_job.read(path)
    assert (job.status, job.num, job.name, job.seed) == (Status.ok, 3, "3_cell=rnn", 0)
    assert (job.monitor, job.metric, job.monitor_mode, job.higher_is_better) == (
        "accuracy",
        "val/accuracy",
        "max",
        True,
    )
    assert (job.final, job.best, job.baseline, job.perfect) == (0.9, 0.95, 0.125, PERFECT["accuracy"])
    assert job.beats(0.9, 0.5) and not job.beats(0.4, 0.5)
    assert (job.steps, job.total, job.wall_s, job.value) == (40, 40, 2.5, 0.9)
    assert job.choices["cell"] == "rnn" and job.overrides == ["cell=rnn", "seed=0"] and job.replicate and job.label
    assert job.status_text == "ok" and job.note == "" and job.error is None


def test_a_job_without_a_record_watches_the_metric_its_task_json_names(tmp_path):
    path = folder(tmp_path)
    run_dir.write_task(path, COPY)
    rows = [
        {"step": "1", "grad/norm_before": "2.0", "grad/clip_rate": "0.0"},
        {"step": "1", "val/accuracy": "0.2"},
        {"step": "3", "grad/norm_before": "inf", "grad/clip_rate": "0.5"},
        {"step": "3", "val/accuracy": "nan"},
        {"step": "5", "grad/norm_before": "nan"},
        {"step": "5", "val/accuracy": "0.4"},
    ]
    metrics(path, rows)
    job = run_job.read(path)
    assert job.status == Status.unfinished  # no results.json, and no process holds the folder
    assert job.monitor is None and job.final is None  # nothing recorded: the report scores no metric
    assert (job.metric, job.monitor_mode) == ("val/accuracy", "max")  # the status watches the Task's
    assert job.curve == [(1, 0.2), (5, 0.4)] and job.value == 0.4
    assert job.norms == [2.0, math.inf] and job.clip_rate == 0.5  # inf stays (an overflowed norm), NaN does not
    assert job.steps == 5 and job.total == 40 and job.wall_s >= 0


def test_a_folder_older_than_the_recorded_direction_gets_the_tasks_default(tmp_path):
    path = folder(tmp_path)
    run_dir.write_results(path, {"status": "ok", "monitor": "val/mse", "val": {"mse": 0.1}})
    job = run_job.read(path)
    assert (
        job.monitor_mode
        == run_job.DEFAULT_MODE
        == Task(inputs="real", input_size=1, targets="real", output_size=1).monitor_mode
    )
    assert not job.higher_is_better and job.perfect == PERFECT["mse"] == 0.0


def test_a_status_this_runner_does_not_know_stays_as_written(tmp_path):
    path = folder(tmp_path, num=None)
    run_dir.write_results(path, {"status": "preempted"})
    job = run_job.read(path)
    assert job.status == "preempted" and not isinstance(job.status, Status) and job.status_text == "preempted"
    assert job.num is None  # a single run


def test_a_failed_and_a_diverged_job_say_why(tmp_path):
    failed, diverged = folder(tmp_path, "0_a", 0), folder(tmp_path, "1_b", 1)
    run_dir.write_results(failed, {"status": "failed", "error": "ValueError: bad\nmore"})
    run_dir.write_results(diverged, {"status": "diverged", "diverged_at_step": 7, "monitor": "val/mse"})
    assert run_job.read(failed).status_text == "failed: ValueError: bad"
    assert run_job.read(diverged).status_text == "diverged at step 7"


def test_a_sweep_lists_its_started_jobs_then_the_planned_ones(tmp_path):
    run_dir.write_jobs(tmp_path, [["cell=rnn", "seed=0"], ["cell=rnn", "seed=1"]])
    run_dir.write_results(folder(tmp_path, "0_cell=rnn", 0), {"status": "ok"})
    jobs = run_job.read_sweep(tmp_path)
    assert [(j.num, j.name, j.status) for j in jobs] == [
        (0, "0_cell=rnn", Status.ok),
        (1, "cell=rnn,seed=1", Status.pending),
    ]
    assert jobs[1].path is None and jobs[1].overrides == ["cell=rnn", "seed=1"] and jobs[1].steps is None


def test_the_last_step_is_read_from_the_end_of_a_long_metrics_csv(tmp_path):
    metrics(tmp_path, [{"step": str(step), "grad/norm_before": "1.0"} for step in range(2000)])
    assert run_dir.last_step(tmp_path) == 1999
    assert run_dir.metric_columns(tmp_path, ["val/accuracy", "grad/norm_before"])["grad/norm_before"][-1] == (1999, 1.0)
    assert run_dir.last_step(tmp_path / "missing") is None


def test_the_folders_with_a_record_and_the_job_number(tmp_path):
    single, job = folder(tmp_path, "run", None), folder(tmp_path, "2_x", 2)
    run_dir.write_results(job, {"status": "ok"})
    assert run_dir.recorded_folders(tmp_path) == [job]
    assert run_dir.hydra_job(single)[1] is None and run_dir.hydra_job(job) == (run_dir.choices(job), 2)
    assert run_dir.hydra_job(tmp_path) == ({}, None)
    assert run_dir.last_written(job) is None and run_dir.started(job) > 0


def test_an_interrupted_job_that_a_rerun_continues_is_running(tmp_path):
    """Its record says interrupted until the rerun writes its own; the rerun holds the folder's lock meanwhile."""
    path = folder(tmp_path)
    run_dir.write_results(path, {"status": "interrupted", "steps": 30, "signal": "SIGINT"})
    assert run_job.read(path).status == Status.interrupted
    with run_dir.locked(path):
        assert run_job.read(path).status == Status.running
    assert run_job.read(path).resumes_from == 0  # no checkpoint here: a rerun starts from the beginning
