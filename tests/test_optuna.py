"""Optuna search through hydra-optuna-sweeper: every trial is a run, scored by its validation metric."""

import json
import math

import optuna
import yaml

from conftest import TINY, runner
from runner._train.cli import objective


def test_a_small_search_scores_each_trial_by_its_run(tmp_path):
    # hidden size 0 is refused by the cell: with the seeded sampler some trials fail, the others complete
    out = runner(
        "-m",
        "experiment=search_adding",
        "hydra.sweeper.n_trials=3",
        "cell.hidden_size=choice(0,8)",
        *[t for t in TINY if not t.startswith("cell.hidden_size")],
        "logger=csv",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stderr  # the search went on past its failed trials, and says they failed
    assert "3 jobs: " in out.stdout and " failed: " in out.stdout
    study = optuna.load_study(study_name="search_adding", storage=f"sqlite:///{tmp_path}/search_adding.db")
    trials = sorted(study.trials, key=lambda t: t.number)
    records = [json.loads(next((tmp_path / "sweep").glob(f"{t.number}_*/results.json")).read_text()) for t in trials]
    assert len(trials) == 3
    for trial, record in zip(trials, records, strict=True):
        assert record["config"]["cell"]["hidden_size"] == trial.params["cell.hidden_size"]
        assert record["config"]["optim"]["lr"] == trial.params["optim.lr"]
        assert record["config"]["grad"]["max_norm"] == trial.params["grad.max_norm"]
        assert 1e-4 <= trial.params["optim.lr"] <= 3e-2 and 0.1 <= trial.params["grad.max_norm"] <= 10
        if record["status"] == "ok":
            assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == record["val"]["mse"]
        else:
            assert record["status"] == "failed" and trial.state == optuna.trial.TrialState.FAIL
    assert {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL}
    best = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert best["best_value"] == min(r["val"]["mse"] for r in records if r["status"] == "ok")


def test_the_objective_ranks_diverged_runs_last_and_leaves_failed_ones_without_a_value():
    ok = {"status": "ok", "monitor": "val/accuracy", "monitor_mode": "max", "val": {"loss": 0.2, "accuracy": 0.9}}
    assert objective(ok) == 0.9
    assert objective({**ok, "val": {"loss": math.nan, "accuracy": math.nan}}) is None
    assert objective({"status": "diverged", "monitor": "val/mse", "monitor_mode": "min"}) == math.inf
    assert objective({"status": "diverged", "monitor": "val/accuracy", "monitor_mode": "max"}) == -math.inf
    assert objective({"status": "failed", "error": "ValueError: ..."}) is None
    # the pinned Optuna takes inf as a complete trial, ranked last
    study = optuna.create_study(direction="minimize")
    study.tell(study.ask(), 1.0)
    study.tell(study.ask(), math.inf)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.best_value == 1.0
