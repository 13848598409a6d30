"""One job's configuration: composed by Hydra, typed once where its run starts, handed to every part of the run.

:class:`JobConfig` is what the run, the model's build, resume, the replicate
id and W&B read, instead of Hydra's raw ``DictConfig`` and the group choices
beside it. Whether this process runs a job of a multirun is answered here
alone (:func:`in_multirun`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from omegaconf import DictConfig, OmegaConf

from runner._config import identity
from runner._config.schema import (
    CheckpointConfig,
    ModelConfig,
    ProbeConfig,
    RootConfig,
    ScheduleConfig,
    TrainerConfig,
    WandbConfig,
    typed,
)

NODES = (
    "cell",
    "data",
    "grad",
    "model",
    "optim",
    "schedule",
    "trainer",
    "probe",
)  # typed in this order: the first bad value


def in_multirun() -> bool:
    """Whether this process runs one job of a Hydra multirun (a sweep)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@dataclass
class Settings:
    """Every node of a job's config as its schema's dataclass: values checked, defaults filled."""

    cell: Any  # the chosen cell plugin's config class
    data: Any
    grad: Any
    model: ModelConfig
    optim: Any  # the chosen optimizer plugin's config class
    schedule: ScheduleConfig
    trainer: TrainerConfig
    probe: ProbeConfig
    logger: WandbConfig | None  # None: not logger=wandb
    root: RootConfig  # seed, threads, share_cores, tune_malloc, resume, checkpoint


@dataclass
class JobConfig:
    """A composed config with what Hydra knows of its job: the group choices, the overrides, the mode."""

    composed: DictConfig = field(repr=False)
    choices: dict[str, str]  # group -> option, e.g. {"cell": "lstm", "data": "adding", ...}
    overrides: list[str] = field(default_factory=list)  # the job's command-line and sweep overrides
    multirun: bool = False
    sweep_dir: str | None = None  # the sweep's folder in a multirun
    config: dict[str, Any] = field(init=False)  # resolved: what results.json and W&B record

    def __post_init__(self) -> None:
        self.config = OmegaConf.to_container(self.composed, resolve=True, enum_to_str=True)

    @classmethod
    def of_hydra(cls, cfg: DictConfig) -> JobConfig:
        """The config of the Hydra job running in this process."""
        from hydra.core.hydra_config import HydraConfig

        hydra = HydraConfig.get()
        multirun = in_multirun()
        return cls(
            cfg,
            dict(hydra.runtime.choices),
            list(hydra.overrides.task),
            multirun,
            str(hydra.sweep.dir) if multirun else None,
        )

    @cached_property
    def settings(self) -> Settings:
        """The typed nodes; ``ValueError`` names the first bad value, before torch and W&B start."""
        nodes = {name: typed(self.composed[name]) for name in NODES}
        checkpoint: CheckpointConfig = typed(self.composed.checkpoint)
        c = self.composed
        root = RootConfig(
            seed=c.seed,
            threads=c.threads,
            share_cores=c.share_cores,
            tune_malloc=c.tune_malloc,
            resume=c.resume,
            checkpoint=checkpoint,
        )
        logger = typed(c.logger) if self.choices.get("logger") == "wandb" else None
        return Settings(**nodes, logger=logger, root=root)

    def check(self) -> Settings:
        """Type every node now, once: ``ValueError`` names the first bad value."""
        return self.settings

    @property
    def trainer_arguments(self) -> dict[str, Any]:
        """``lightning.Trainer``'s keyword arguments: the typed fields and any ``+trainer.NAME`` given."""
        return dict(self.config["trainer"])

    @property
    def experiment(self) -> dict[str, Any]:
        """The key of the experiment (:mod:`runner._config.identity`): the skip rule compares it."""
        return identity.experiment(self.config, self.choices)

    @property
    def run_key(self) -> dict[str, Any]:
        """What a checkpoint must match to be continued (:func:`runner._config.identity.run_key`)."""
        return identity.run_key(self.config, self.choices)

    @cached_property
    def seed_followers(self) -> list[str]:
        """The keys whose value is ``${seed}``: they vary with the seed, as it does."""
        return identity.seed_followers(OmegaConf.to_container(self.composed, resolve=False))
