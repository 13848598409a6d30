"""A killed run resumes to the same result; sweeps skip what is done; same seed, same numbers."""

import json

import pytest

from conftest import killed_and_rerun, results, runner

# dropout draws from the RNG, 7 batches an epoch: a kill lands mid-epoch, several epochs in
KILLABLE = [
    "data.seq_len=20",
    "data.num_train=224",
    "data.num_val=64",
    "data.batch_size=32",
    "cell.hidden_size=16",
    "model.dropout=0.2",
    "trainer.max_steps=300",
    "trainer.val_check_interval=25",
    "checkpoint.every_n_steps=15",
    "trainer.log_every_n_steps=1",
]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def test_a_run_killed_mid_training_resumes_to_the_uninterrupted_result(tmp_path):
    whole = runner(*KILLABLE, "hydra.run.dir=whole", cwd=tmp_path, env=ONE_THREAD)
    assert whole.returncode == 0, whole.stderr

    killed_and_rerun(*KILLABLE, cwd=tmp_path, folder="killed", at_step=40, env=ONE_THREAD)
    a, b = results(tmp_path / "whole"), results(tmp_path / "killed")
    assert b["status"] == "ok" and b["steps"] == 300
    assert a["val"] == b["val"] and a["best_val"] == b["best_val"]  # bitwise: the floats are equal
    assert (tmp_path / "whole" / "metrics.csv").read_text() == (tmp_path / "killed" / "metrics.csv").read_text()
    # the killed segment counts, to its last checkpoint: wall_s is the whole run's, segment_wall_s the resumed part's
    first, second = json.loads((tmp_path / "killed" / "segments.json").read_text())["segments"]
    assert (
        "status" not in first
        and first["steps"] >= 40  # the last.ckpt the kill left, where the rerun resumed
        and second
        == {
            "from_step": first["steps"],
            "steps": 300,
            "wall_s": b["segment_wall_s"],
            "status": "ok",
        }
    )
    assert b["wall_s"] == round(first["wall_s"] + b["segment_wall_s"], 3) > b["segment_wall_s"]


def test_a_sweep_rerun_skips_finished_jobs_and_redoes_failed_ones(tmp_path, tiny):
    tiny = [t for t in tiny if not t.startswith("data.seq_len")]
    sweep = ["-m", "data.seq_len=1,8,9", *tiny, "hydra.sweep.dir=sweep"]
    assert runner(*sweep, cwd=tmp_path).returncode == 1  # a job failed
    folders = sorted((tmp_path / "sweep").glob("[0-9]_*"))
    before = [results(f) for f in folders]
    assert [r["status"] for r in before] == ["failed", "ok", "ok"]
    (folders[2] / "results.json").unlink()  # as if that job had been killed before it finished

    out = runner(*sweep, cwd=tmp_path)
    assert out.returncode == 1, out.stderr  # the failed job failed again
    after = [results(f) for f in folders]
    assert after[1] == before[1]  # untouched, wall time included
    assert "already finished" in out.stderr + out.stdout
    assert after[0]["status"] == "failed" and after[0]["wall_s"] != before[0]["wall_s"]  # tried again
    assert after[2]["status"] == "ok" and after[2]["val"] == before[2]["val"]


def test_resume_false_runs_a_finished_run_again(tmp_path, tiny):
    assert runner(*tiny, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    first = results(tmp_path / "run")
    assert runner(*tiny, "hydra.run.dir=run", "resume=false", cwd=tmp_path).returncode == 0
    second = results(tmp_path / "run")
    assert second["wall_s"] != first["wall_s"] and second["val"] == first["val"]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_same_command_same_seed_same_results(tmp_path, tiny, cell):
    for folder in ("one", "two"):
        out = runner(f"cell={cell}", "model.dropout=0.1", *tiny, f"hydra.run.dir={folder}", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    one, two = results(tmp_path / "one"), results(tmp_path / "two")
    assert one["val"] == two["val"] and one["best_val"] == two["best_val"]
    three = runner(f"cell={cell}", "model.dropout=0.1", *tiny, "seed=1", "hydra.run.dir=three", cwd=tmp_path)
    assert three.returncode == 0 and results(tmp_path / "three")["val"] != one["val"]


def test_results_record_the_resolved_config(tmp_path, tiny):
    assert runner(*tiny, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert record["config"]["cell"]["hidden_size"] == 8 and record["config"]["data"]["seed"] == 0
