"""best.ckpt and best_val: every finished run has them, and the final validation counts as the periodic ones do."""

import torch

from conftest import TINY, results, runner
from runner._run_folder import run_dir

STEPS = [*TINY, "logger=csv"]


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def test_run_that_ends_between_validations_has_a_best(tmp_path):
    out = runner(*STEPS, "trainer.max_steps=3", "trainer.val_check_interval=250", "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    record = results(tmp_path / "run")
    assert record["best_val"] == {"mse": record["val"]["mse"]}
    best, last = weights(tmp_path / "run" / run_dir.BEST), weights(tmp_path / "run" / run_dir.LAST)
    assert all(torch.equal(best[k], last[k]) for k in last)


def test_final_validation_better_than_the_periodic_ones_is_the_best(tmp_path):
    # validations after steps 2 and 4, the final one after step 5: the loss still falls, so the final is lowest
    out = runner(*STEPS, "trainer.max_steps=5", "trainer.val_check_interval=2", "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    record = results(tmp_path / "run")
    curve = [value for _, value in run_dir.metric_curve(tmp_path / "run", "val/mse")]
    assert len(curve) == 3 and curve[-1] < min(curve[:-1])
    assert record["best_val"]["mse"] == record["val"]["mse"] == curve[-1]
    best, last = weights(tmp_path / "run" / run_dir.BEST), weights(tmp_path / "run" / run_dir.LAST)
    assert all(torch.equal(best[k], last[k]) for k in last)


def test_periodic_best_stays_when_the_final_validation_is_worse(tmp_path):
    # Adam at lr 0.3 overshoots after the first validation on this tiny problem: the final weights score worse
    out = runner(
        *STEPS, "optim.lr=0.3", "trainer.max_steps=5", "trainer.val_check_interval=2", "hydra.run.dir=run", cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    record = results(tmp_path / "run")
    curve = [value for _, value in run_dir.metric_curve(tmp_path / "run", "val/mse")]
    assert record["best_val"]["mse"] == min(curve)
    assert min(curve) < curve[-1] == record["val"]["mse"]
