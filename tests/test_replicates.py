"""Replicate ids: the same for configs that differ only in their seeds, different for anything else."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict

from runner._config import identity, replicates, schema
from runner._config.job import JobConfig
from runner.plugins import registry


@pytest.fixture(scope="module", autouse=True)
def options():
    schema.store(registry.load())


def composed(*overrides: str, given: list[str] | None = None) -> JobConfig:
    """The job config that ``python -m runner`` would give ``run``; ``given``: its overrides, none by default."""
    with initialize_config_module(config_module="runner._config.conf", version_base="1.3"):
        full = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    choices = OmegaConf.to_container(full.hydra.runtime.choices)
    with open_dict(full):
        del full["hydra"]
    return JobConfig(full, choices, given or [])


def rid(*overrides: str) -> str:
    return replicates.replicate_id(composed(*overrides))


def test_seeds_and_the_data_seed_that_follows_them_do_not_count():
    assert rid("seed=0") == rid("seed=3") == rid()
    assert composed("seed=3").config["data"]["seed"] == 3  # data.seed follows the seed


def test_a_data_seed_of_its_own_is_part_of_the_configuration():
    assert rid("data.seed=5", "seed=0") == rid("data.seed=5", "seed=1")  # the model's seeds over fixed data
    assert rid("data.seed=5") != rid("data.seed=6")
    assert rid("data.seed=5") != rid()


def test_the_cell_choice_counts_even_where_the_configs_are_equal():
    job = composed("cell=gru")  # the same cell fields under another plugin's name
    renamed = JobConfig(job.composed, {**job.choices, "cell": "mygru"})
    assert replicates.replicate_id(job) != replicates.replicate_id(renamed)
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
    job = composed("optim.lr=0.1", "cell=rnn", given=overrides)
    assert replicates.label(job) == "cell=rnn,optim.lr=0.1,trainer.gradient_clip_val=1"
    assert replicates.label(composed()) == "cell=lstm,data=adding,grad=clip_norm"  # the choices, when none


def test_describe_outside_hydra_has_no_overrides():
    described = replicates.describe(composed())
    assert described == {"replicate": rid(), "replicate_label": "cell=lstm,data=adding,grad=clip_norm"}
    assert len(rid()) == 8 and int(rid(), 16) >= 0


def test_resume_skip_and_replicate_read_one_key_of_the_experiment():
    """The skip rule's key ignores the records, resume's also the length, the replicate's also the seeds."""
    base, records, longer, seeded = (
        composed(),
        composed("threads=2"),
        composed("trainer.max_steps=9"),
        composed("seed=4"),
    )
    assert records.experiment == base.experiment and records.run_key == base.run_key  # same experiment: skipped
    assert longer.experiment != base.experiment and longer.run_key == base.run_key  # not skipped, continued
    assert seeded.experiment != base.experiment and seeded.run_key != base.run_key  # another run
    assert replicates.replicate_id(seeded) == rid()  # but a replicate of the same configuration
    assert identity.differences(seeded.run_key, base.run_key) == [
        "config.data.seed: 0 in the folder, 4 now",
        "config.seed: 0 in the folder, 4 now",
    ]
