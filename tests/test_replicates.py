"""Replicate ids: the same for configs that differ only in their seeds, different for anything else."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict

from runner._config import replicates, schema
from runner.plugins import registry


@pytest.fixture(scope="module", autouse=True)
def options():
    schema.store(registry.load())


def composed(*overrides: str):
    """The job config (without Hydra's node) and the choices that ``python -m runner`` would give ``run``."""
    with initialize_config_module(config_module="runner._config.conf", version_base="1.3"):
        full = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    choices = OmegaConf.to_container(full.hydra.runtime.choices)
    with open_dict(full):
        del full["hydra"]
    return full, choices


def rid(*overrides: str) -> str:
    return replicates.replicate_id(*composed(*overrides))


def test_seeds_and_the_data_seed_that_follows_them_do_not_count():
    assert rid("seed=0") == rid("seed=3") == rid()
    cfg, _ = composed("seed=3")
    assert OmegaConf.to_container(cfg, resolve=True)["data"]["seed"] == 3  # data.seed follows the seed


def test_a_data_seed_of_its_own_is_part_of_the_configuration():
    assert rid("data.seed=5", "seed=0") == rid("data.seed=5", "seed=1")  # the model's seeds over fixed data
    assert rid("data.seed=5") != rid("data.seed=6")
    assert rid("data.seed=5") != rid()


def test_the_cell_choice_counts_even_where_the_configs_are_equal():
    cfg, choices = composed("cell=gru")  # the same cell fields under another plugin's name
    assert replicates.replicate_id(cfg, choices) != replicates.replicate_id(cfg, {**choices, "cell": "mygru"})
    assert rid("cell=rnn") != rid("cell=lstm") != rid("cell=gru")


@pytest.mark.parametrize(
    "override",
    [
        "logger=csv",
        "trainer.log_every_n_steps=1",
        "probe.grad_flow.every=5",
        "checkpoint.every_n_steps=7",
        "resume=false",
        "tune_malloc=false",
        "threads=4",
        "trainer.enable_progress_bar=true",
        "trainer.devices=2",
    ],
)
def test_records_and_where_a_run_is_computed_do_not_count(override):
    assert rid(override) == rid()


@pytest.mark.parametrize(
    "override",
    [
        "trainer.max_steps=7",
        "trainer.val_check_interval=5",
        "optim.lr=0.1",
        "optim=sgd",
        "grad=none",
        "data.seq_len=9",
        "model.init_range=0.1",
        "+trainer.gradient_clip_val=1",
        "trainer.precision=64-true",
    ],
)
def test_whatever_changes_the_experiment_counts(override):
    assert rid(override) != rid()


def test_a_grad_setting_is_the_same_configuration_as_its_handler_and_threshold():
    assert rid("+grad_setting=norm_3") == rid("grad=clip_norm", "grad.max_norm=3")
    assert rid("+grad_setting=none") == rid("grad=none")


def test_the_label_is_the_overrides_without_seeds_presets_and_records():
    cfg, choices = composed("optim.lr=0.1", "cell=rnn")
    overrides = [
        "experiment=long_term_deps_quick",
        "seed=2",
        "data.seed=2",
        "logger=csv",
        "optim.lr=0.1",
        "cell=rnn",
        "hydra.sweep.dir=out",
        "+trainer.gradient_clip_val=1",
    ]
    assert replicates.label(cfg, choices, overrides) == "cell=rnn,optim.lr=0.1,trainer.gradient_clip_val=1"
    assert replicates.label(*composed(), []) == "cell=lstm,data=adding,grad=clip_norm"  # the choices, when none


def test_describe_outside_hydra_has_no_overrides():
    cfg, choices = composed()
    described = replicates.describe(cfg, choices)
    assert described == {"replicate": rid(), "replicate_label": "cell=lstm,data=adding,grad=clip_norm"}
    assert len(rid()) == 8 and int(rid(), 16) >= 0
