"""The optimizer seam: the built-ins build torch's optimizers with their options, the default is unchanged,
and a run with RMSprop's state killed and rerun repeats the uninterrupted run."""

import pytest
import torch

from conftest import assert_resumes_exactly, runner
from runner.plugins import registry
from runner_plugins.optim import (
    AdamConfig,
    AdamWConfig,
    RMSpropConfig,
    SGDConfig,
    build_adam,
    build_adamw,
    build_rmsprop,
    build_sgd,
)


def hyperparameters(optimizer: torch.optim.Optimizer) -> dict:
    return {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}


def params() -> list:
    return list(torch.nn.Linear(3, 2).parameters())


def test_the_built_ins_are_registered_through_the_entry_point():
    plugins = registry.load()
    assert set(plugins.plugins["optim"]) >= {"sgd", "adam", "adamw", "rmsprop"}
    assert plugins.get("optim", "rmsprop").origin.entry_point == "optim"


def test_the_defaults_are_the_optimizers_the_runner_always_used():
    # optim=adam: torch's Adam at lr 1e-3 and its other defaults; optim=sgd: plain SGD at lr 1
    p = params()
    assert type(build_adam(AdamConfig(), p)) is torch.optim.Adam
    assert hyperparameters(build_adam(AdamConfig(), p)) == hyperparameters(torch.optim.Adam(p, lr=1e-3))
    assert hyperparameters(build_sgd(SGDConfig(), p)) == hyperparameters(torch.optim.SGD(p, lr=1.0))


def test_each_option_reaches_torch_under_torch_s_name():
    p = params()
    rmsprop = build_rmsprop(RMSpropConfig(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True), p)
    assert type(rmsprop) is torch.optim.RMSprop
    got = hyperparameters(rmsprop)
    assert (got["lr"], got["alpha"], got["eps"], got["momentum"], got["centered"]) == (0.01, 0.9, 1e-6, 0.5, True)
    adamw = build_adamw(AdamWConfig(betas=[0.8, 0.99], amsgrad=True), p)
    assert type(adamw) is torch.optim.AdamW
    got = hyperparameters(adamw)
    assert (got["betas"], got["weight_decay"], got["amsgrad"]) == ((0.8, 0.99), 0.01, True)
    sgd = hyperparameters(build_sgd(SGDConfig(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4), p))
    assert (sgd["lr"], sgd["momentum"], sgd["nesterov"], sgd["weight_decay"]) == (0.1, 0.9, True, 1e-4)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: RMSpropConfig(alpha=1.0), "optim.alpha must be in \\[0, 1\\)"),
        (lambda: RMSpropConfig(momentum=-1), "optim.momentum must not be negative"),
        (lambda: SGDConfig(nesterov=True), "optim.nesterov needs optim.momentum > 0"),
        (lambda: AdamConfig(betas=[0.9]), "optim.betas must be two numbers"),
        (lambda: AdamWConfig(lr=0), "optim.lr must be positive"),
    ],
)
def test_values_out_of_range_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_schedule_is_the_runner_s_own_node_checked_for_any_optimizer(tmp_path):
    out = runner("optim=rmsprop", "schedule.lr_decay=0", "trainer.max_steps=1", "logger=csv", cwd=tmp_path)
    assert out.returncode == 1 and "schedule.lr_decay must be in (0, 1], got 0.0" in out.stdout + out.stderr


def test_a_run_with_rmsprop_killed_and_rerun_repeats_the_uninterrupted_run(tmp_path):
    # momentum and the centred running averages: RMSprop's state, which the checkpoint must carry
    record = assert_resumes_exactly(
        "optim=rmsprop", "optim.alpha=0.9", "optim.momentum=0.9", "optim.centered=true", cwd=tmp_path
    )
    assert record["optim"] == "rmsprop"
