"""The trainer group and the output folder.

Every bad value is one clear line and exit 1; Lightning's other arguments still pass.
"""

import pytest

from conftest import results, runner
from test_bad_input import assert_clear_failure

CASES = [
    (["trainer.max_steps=abc"], ["trainer.max_steps", "abc"]),
    (["trainer.max_epochs=many"], ["trainer.max_epochs", "many"]),
    (["trainer.val_check_interval=often"], ["trainer.val_check_interval", "often"]),
    (["trainer.log_every_n_steps=x"], ["trainer.log_every_n_steps", "x"]),
    (["trainer.enable_progress_bar=maybe"], ["trainer.enable_progress_bar", "maybe"]),
    (["trainer.devices=1", "trainer.num_nodes=two"], ["trainer.num_nodes", "two"]),
    (["trainer.max_stepz=3"], ["max_stepz"]),
    (
        ["trainer.max_steps=0"],
        ["trainer.max_steps must be -1 (no limit: trainer.max_epochs bounds the run) or at least 1, got 0"],
    ),
    (["trainer.max_steps=-2"], ["trainer.max_steps must be -1", "got -2"]),
    (["trainer.max_steps=-1", "trainer.max_epochs=-1"], ["trainer.max_steps and trainer.max_epochs are both -1"]),
    (["trainer.max_epochs=0"], ["trainer.max_epochs must be -1 (no limit) or at least 1, got 0"]),
    (["trainer.val_check_interval=0"], ["trainer.val_check_interval must be positive, got 0"]),
    (["checkpoint.every_n_steps=0"], ["checkpoint.every_n_steps must be a whole number of at least 1, got 0"]),
    (["checkpoint.every_n_steps=abc"], ["checkpoint.every_n_steps", "'abc'"]),
    (["hydra.run.dir=/proc/x"], ["cannot create the output folder /proc/x"]),
    (["hydra.run.dir=/proc/x/${now:%H-%M}"], ["cannot create the output folder /proc/x/"]),
    (["-m", "cell=rnn,gru", "hydra.sweep.dir=/proc/sweep"], ["cannot create the output folder /proc/sweep"]),
]


@pytest.mark.parametrize(
    "overrides,words", CASES, ids=lambda v: " ".join(v) if isinstance(v, list) and "=" in v[-1] else None
)
def test_bad_trainer_or_output_value(tmp_path, tiny, overrides, words):
    out = runner(*tiny, "logger=csv", *overrides, cwd=tmp_path)
    assert_clear_failure(out, words)
    assert out.returncode == 1


def test_any_other_lightning_argument_passes(tmp_path, tiny):
    out = runner(
        *tiny,
        "logger=csv",
        "+trainer.num_sanity_val_steps=0",
        "+trainer.gradient_clip_val=null",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert results(tmp_path / "run")["config"]["trainer"]["num_sanity_val_steps"] == 0


def test_epochs_bound_a_run_without_a_step_limit(tmp_path, tiny):
    # as src/runner/_config/conf/experiment/ptb_small.yaml does: max_steps -1 is Lightning's "no limit"
    out = runner(
        *tiny,
        "logger=csv",
        "trainer.max_steps=-1",
        "trainer.max_epochs=2",
        "trainer.val_check_interval=1.0",
        "trainer.check_val_every_n_epoch=1",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert results(tmp_path / "run")["steps"] == 2 * 64 // 16  # two epochs of num_train / batch_size
