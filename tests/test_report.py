"""python -m runner.report on a tiny real multirun: every job a row, failures and divergences included."""

from __future__ import annotations

import pytest

from conftest import runner
from runner import report


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """8 jobs: seq_len 1 fails at setup, lr 1e30 diverges, lr 0.1 trains; rnn and gru; the probe on."""
    root = tmp_path_factory.mktemp("report")
    out = runner("-m", "cell=rnn,gru", "data.seq_len=1,8", "optim=sgd", "optim.lr=0.1,1e30", "grad=none",
                 "data.batch_size=16", "data.num_train=64", "data.num_val=32", "cell.hidden_size=8",
                 "trainer.max_steps=6", "trainer.val_check_interval=2", "probe.grad_flow.every=2",
                 "hydra.sweep.dir=sweep", cwd=root)
    assert out.returncode == 0, out.stderr
    return root / "sweep"


def test_report_has_a_row_per_job_and_plots(sweep):
    out = runner(str(sweep), cwd=sweep.parent, module="runner.report")
    assert out.returncode == 0, out.stderr
    text = (sweep / "report.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| rnn") or line.startswith("| gru")]
    assert len(rows) == 8
    assert sum("| failed: ValueError: data.seq_len must be at least 2" in r for r in rows) == 4
    assert sum("| diverged at step" in r for r in rows) == 2
    assert sum("| ok |" in r for r in rows) == 2
    assert "8 jobs" in text and "4 failed" in text and "2 diverged" in text
    for name in ("final_adding.png", "curves_adding.png", "grad_flow_adding.png"):
        assert f"]({name})" in text
        assert (sweep / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_jobs_read_back_from_their_folders(sweep):
    jobs = sorted((report.load(folder, {}) for folder in report.run_folders([sweep])), key=report.sort_key)
    assert len(jobs) == 8
    ok = [j for j in jobs if j.status == "ok"]
    assert {j.facets["cell"] for j in ok} == {"rnn", "gru"}
    for job in ok:
        assert job.facets == {**job.facets, "data": "adding", "seq_len": 8, "grad": "none", "threshold": None}
        assert job.metric == "mse" and job.baseline == pytest.approx(1 / 6)
        assert job.target == pytest.approx(1 / 12)  # halfway from the baseline to a perfect 0
        assert [step for step, _ in job.curve] == [1, 3, 5]  # a validation every 2 steps, as metrics.csv logs it
        assert job.curve[-1][1] == pytest.approx(job.final)
        assert sorted(job.grad_flow) == [0, 2, 4] and all(len(n) == 8 for n in job.grad_flow.values())
    assert all(j.final is None and j.note for j in jobs if j.status != "ok")


def test_steps_to_target_is_the_first_validation_that_beats_it(sweep):
    folder = next(f for f in report.run_folders([sweep]) if report.load(f, {}).status == "ok")
    job = report.load(folder, {"mse": 1e9})  # any score beats this target: the first validation
    assert job.reached_at == job.curve[0][0]
    assert report.load(folder, {"mse": -1.0}).reached_at is None  # nothing beats a negative MSE


def test_the_quick_study_sweeps_its_grid_into_a_report(tmp_path):
    """experiments/long_term_deps_quick, trimmed by overrides to rnn on adding and 2 steps."""
    out = runner("-m", "experiment=long_term_deps_quick", "cell=rnn", "data=adding", "trainer.max_steps=2",
                 "data.num_train=64", "data.num_val=64", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    (sweep,) = (tmp_path / "multirun" / "long_term_deps_quick").iterdir()
    jobs = [report.load(folder, {}) for folder in report.run_folders([sweep])]
    grid = {(j.facets["seq_len"], j.facets["grad"]) for j in jobs}
    assert len(jobs) == 6 and grid == {(n, g) for n in (10, 20, 40) for g in ("none", "clip_norm")}
    assert all(j.status == "ok" and j.facets["cell"] == "rnn" and j.grad_flow for j in jobs)
    assert runner(str(sweep), cwd=tmp_path, module="runner.report").returncode == 0
    assert (sweep / "final_adding.png").exists()
