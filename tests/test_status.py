"""A multirun's exit status and summary, and ``python -m runner.status`` on the folders it leaves."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import TINY, results, runner, start
from runner._run_folder import run_dir
from runner._run_folder.job import read
from test_resume import KILLABLE, ONE_THREAD

STEPS = [*TINY, "logger=csv"]


def test_multirun_exits_1_when_a_job_failed_and_says_which(tmp_path):
    out = runner("-m", *STEPS, "optim.lr=0.01,0", "hydra.sweep.dir=sweep", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    summary = [line for line in text.splitlines() if line.startswith("2 jobs: ")]
    assert summary and summary[0].startswith("2 jobs: 1 ok, 1 failed: 1_"), text
    assert "optim.lr=0," in summary[0]
    assert summary[0].endswith(" (failed: ValueError: optim.lr must be positive, got 0.0)")
    # numbered from 0 as Hydra numbers the folders, in the log and in runner.status alike
    assert "job 0/2 started: optim.lr=0.01" in text and "job 1/2 failed: optim.lr=0" in text
    table = runner("sweep", module="runner.status", cwd=tmp_path).stdout.splitlines()
    folders = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert [f[:2] for f in folders] == ["0_", "1_"]
    assert table[1].split()[:2] == ["0", "ok"] and table[2].split()[:2] == ["1", "failed"]
    assert [j["overrides"] for j in json.loads((tmp_path / "sweep" / "jobs.json").read_text())["jobs"]] == [
        [*STEPS, "optim.lr=0.01"],
        [*STEPS, "optim.lr=0"],
    ]


def test_diverged_job_is_a_result(tmp_path):
    # an lr of 1e30 makes the loss infinite within a step or two: diverged (Pascanu et al. 2013's exploding case)
    out = runner("-m", *STEPS, "grad=none", "optim.lr=1e-3,1e30", "hydra.sweep.dir=sweep", cwd=tmp_path)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "2 jobs: 1 ok, 1 diverged" in text
    status = runner("sweep", module="runner.status", cwd=tmp_path)
    assert status.returncode == 0 and "2 jobs: 1 ok, 1 diverged" in status.stdout
    # one step number for the divergence: results.json's, in the status, its --json, the sweep log and the report
    folder = next((tmp_path / "sweep").glob("1_*"))
    at = results(folder)["diverged_at_step"]
    assert f"diverged at step {at}  {at}/4 " in status.stdout
    assert f"job 1/2 diverged at step {at}: optim.lr=1e+30" in text
    listed = json.loads(runner("sweep", "--json", module="runner.status", cwd=tmp_path).stdout)["jobs"][1]
    assert listed["steps"] == listed["diverged_at_step"] == at
    assert read(folder).status_text == f"diverged at step {at}"  # the sweep report's jobs table


def wait_for(folder, pattern, timeout=300):
    """The first path below ``folder`` that matches ``pattern``, once one exists."""
    start = time.time()
    while not (found := sorted(folder.glob(pattern))):
        assert time.time() - start < timeout, f"{pattern} never appeared"
        time.sleep(0.2)
    return found[0]


def test_status_of_a_sweep_with_finished_failed_killed_and_unstarted_jobs(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "disabled"}
    # job 0 finishes, job 1 fails (a range check), job 2 trains until killed, job 3 never starts
    sweep = subprocess.Popen(
        [sys.executable, "-m", "runner", "-m", *STEPS, "trainer.max_steps=4,0,100000,5", "hydra.sweep.dir=sweep"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        killed = wait_for(tmp_path / "sweep", "2_*/task.json").parent
        time.sleep(2)
    finally:
        os.killpg(sweep.pid, signal.SIGKILL)
        sweep.wait()

    out = runner("sweep", "--json", module="runner.status", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    jobs = {j["num"]: j for j in report["jobs"]}
    assert [jobs[n]["status"] for n in range(4)] == ["ok", "failed", "unfinished", "pending"]
    assert (jobs[0]["steps"], jobs[0]["total"], jobs[0]["metric"]) == (4, 4, "val/mse")
    assert jobs[0]["value"] is not None and jobs[0]["wall_s"] > 0
    assert "trainer.max_steps must be -1" in jobs[1]["error"]
    assert jobs[2]["total"] == 100000 and "trainer.max_steps=5" in jobs[3]["name"]
    assert report["summary"].startswith("4 jobs: 1 ok, 1 failed, 1 unfinished, 1 pending: ")
    assert report["finished"] is False

    table = runner("sweep", module="runner.status", cwd=tmp_path)
    assert table.returncode == 1
    assert "4 jobs: 1 ok, 1 failed, 1 unfinished, 1 pending" in table.stdout
    assert "4/4" in table.stdout and "pending" in table.stdout

    # a live process holding the folder's lock makes the job "running"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from runner._run_folder import run_dir\n"
            f"with run_dir.locked({str(killed)!r}):\n    print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        running = json.loads(runner("sweep", "--json", module="runner.status", cwd=tmp_path).stdout)
        assert [j["status"] for j in running["jobs"]] == ["ok", "failed", "running", "pending"]
    finally:
        holder.kill()
        holder.wait()


def test_status_of_a_run_folder(tmp_path):
    assert runner(*STEPS, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    out = runner("run", module="runner.status", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 job: 1 ok" in out.stdout and "4/4" in out.stdout


def test_status_of_something_else_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    for folder, words in [("missing", "missing is not a folder"), ("empty", "holds no run folder")]:
        out = runner(folder, module="runner.status", cwd=tmp_path)
        assert out.returncode == 1 and words in out.stderr and "Traceback" not in out.stderr


def test_time_left_counts_the_jobs_running_at_once():
    from runner.status.jobs import Job, time_left

    def jobs(*statuses):
        return [Job(num=i, name=str(i), status=s, wall_s=10.0 if s == "ok" else 3.0) for i, s in enumerate(statuses)]

    # one at a time (the basic launcher): three to go at 10 s each
    assert time_left(jobs("ok", "ok", "pending", "pending", "unfinished")) == 30
    assert time_left(jobs("ok", "ok", "running", "pending", "pending")) == 27  # the running job has run 3 s of 10
    # a parallel launcher with two workers: two running (7 s to go each), then two more, one on each worker
    assert time_left(jobs("ok", "ok", "running", "running", "pending", "pending")) == 17
    # at a job's end under two workers (its own is free): the other's 7 s, and four jobs shared between both
    assert time_left(jobs("ok", "running", "pending", "pending", "pending", "pending"), workers=2) == 27
    assert time_left(jobs("running", "pending")) is None  # nothing finished yet: no estimate


def test_status_of_a_killed_run_names_the_step_it_resumes_from(tmp_path):
    """After a SIGKILL the status shows the step of the last checkpoint, where the rerun continues, and the last
    step metrics.csv holds beside it."""
    folder = tmp_path / "run"
    proc = start(*KILLABLE, "logger=csv", "hydra.run.dir=run", cwd=tmp_path, output="out.txt", env=ONE_THREAD)
    try:
        deadline = time.time() + 300
        while not (run_dir.last_step(folder) or 0) > (run_dir.checkpoint_step(folder) if folder.is_dir() else 0) > 0:
            assert proc.poll() is None and time.time() < deadline, "the run ended before it logged past a checkpoint"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    checkpoint, logged = run_dir.checkpoint_step(folder), run_dir.last_step(folder)
    assert 0 < checkpoint < 300 and not (folder / "results.json").exists()

    out = runner("run", "--json", module="runner.status", cwd=tmp_path)
    (job,) = json.loads(out.stdout)["jobs"]
    assert job["status"] == "unfinished" and job["steps"] == job["resumes_from_step"] == checkpoint
    assert job["logged_to_step"] == logged
    table = runner("run", module="runner.status", cwd=tmp_path).stdout
    shown = f"unfinished, resumes from {checkpoint}" + (f" (logged to {logged})" if logged > checkpoint else "")
    assert f"{shown}  {checkpoint}/300 " in table


def test_time_left_expects_a_configuration_to_take_as_long_as_its_finished_seeds():
    """A sweep whose first configuration is fast: its slow one's later seeds take what its first seed took."""
    from runner.status.jobs import Job, time_left

    def job(cell: str, seed: int, status: str, wall_s: float | None = None) -> Job:
        return Job(name=f"{cell}{seed}", status=status, wall_s=wall_s, overrides=[f"cell={cell}", f"seed={seed}"])

    sweep = [job("lstm", 0, "ok", 10.0), job("lstm", 1, "ok", 10.0), job("exprnn", 0, "ok", 40.0)]
    sweep += [job("exprnn", 1, "pending"), job("exprnn", 2, "pending"), job("gru", 0, "pending")]
    # one worker: two more expRNN seeds at 40 s, and a configuration not yet seen at the mean of all, 20 s
    assert time_left(sweep) == 40 + 40 + 20
