"""The core's own typed config nodes and their registration with Hydra.

Plugins' config dataclasses become options of the ``cell``, ``data``,
``grad`` and ``optim`` groups here, next to the core's own nodes; the YAML
groups (``experiment`` presets among them) are files in ``runner/_config/conf/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from runner.plugins.registry import Registry


def is_count(value: Any) -> bool:
    """Whether a config value is a whole number of at least 1 (YAML's ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class Loss(str, Enum):
    mean = "mean"  # mean over every loss-carrying step: comparable across lengths
    sum = "sum"  # sum over steps, mean over the batch: the BPTT sequence loss


@dataclass
class ModelConfig:
    embed_size: int | None = None  # token embedding size; None: the cell's hidden_size
    init_range: float | None = None  # every weight ~ U(-r, r); None: each layer's own default
    dropout: float = 0.0  # on the cell's input and output (the non-recurrent connections)
    loss: Loss = Loss.mean
    # how often the training loss's finiteness is read on the host (a synchronisation on a GPU);
    # None: every step on the CPU, every trainer.log_every_n_steps steps on an accelerator
    check_finite_every: int | None = None
    # replay the forward and backward passes as CUDA graphs (src/runner/_train/graphs.py): one GPU, 32-true
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.check_finite_every is not None and self.check_finite_every < 1:
            raise ValueError(f"model.check_finite_every must be at least 1, got {self.check_finite_every}")
        if self.embed_size is not None and self.embed_size < 1:
            raise ValueError(f"model.embed_size must be at least 1, got {self.embed_size}")
        if self.init_range is not None and not self.init_range > 0:
            raise ValueError(f"model.init_range must be positive, got {self.init_range}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {self.dropout}")


@dataclass
class ScheduleConfig:
    """The learning-rate schedule, the same for every optimizer: it scales each param group's ``lr``."""

    lr_decay: float = 1.0  # after `decay_after` epochs at the optimizer's lr, multiply lr by this every epoch
    decay_after: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"schedule.lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.decay_after < 0:
            raise ValueError(f"schedule.decay_after must not be negative, got {self.decay_after}")


class WandbMode(str, Enum):
    online = "online"
    offline = "offline"  # written to RUN_DIR/wandb only; `wandb sync` uploads it later
    disabled = "disabled"


@dataclass
class WandbConfig:
    """``logger=wandb``: one W&B run per job (src/runner/_train/wandb_run.py)."""

    project: str = "runner"
    entity: str | None = None  # your W&B user or team; None: your default entity
    group: str | None = None  # None: the sweep folder in a multirun, the experiment in a single run
    job_type: str = "train"
    name: str | None = None  # None: the job's overrides, e.g. cell=rnn,data.seq_len=100
    tags: list[str] = field(default_factory=list)  # besides cell=, data=, grad=, seq_len=, grad.SETTING=
    mode: WandbMode | None = None  # None: $WANDB_MODE if set, else online when logged in, offline if not


@dataclass
class TrainerConfig:
    """``trainer``: the keyword arguments of ``lightning.Trainer`` that the runner's configs set.

    Typed, so that a wrong value names its field; any other Lightning argument
    passes with ``+trainer.NAME=VALUE``.
    """

    passes_other_keys: ClassVar[bool] = True  # see typed()

    max_steps: int = 3000  # -1: no limit (max_epochs bounds the run)
    max_epochs: int | None = -1  # -1: no limit (max_steps bounds the run)
    val_check_interval: int | float | None = 250  # training steps between validations, or a fraction of an epoch
    check_val_every_n_epoch: int | None = None  # None: count val_check_interval across epochs
    limit_val_batches: int | float | None = None
    log_every_n_steps: int = 10
    accelerator: str = "cpu"
    devices: Any = 1  # a number, "auto", or a list of device indices
    num_nodes: int = 1
    strategy: str = "auto"
    use_distributed_sampler: bool = True
    precision: str = "32-true"
    enable_progress_bar: bool | None = None  # None: a live display on a terminal, in a single run only
    enable_model_summary: bool = False
    deterministic: bool = False

    def __post_init__(self) -> None:
        if self.max_steps == 0 or self.max_steps < -1:
            raise ValueError(
                f"trainer.max_steps must be -1 (no limit: trainer.max_epochs bounds the run) "
                f"or at least 1, got {self.max_steps}"
            )
        if self.max_epochs is not None and (self.max_epochs == 0 or self.max_epochs < -1):
            raise ValueError(f"trainer.max_epochs must be -1 (no limit) or at least 1, got {self.max_epochs}")
        if self.max_steps == -1 and self.max_epochs == -1:
            raise ValueError("trainer.max_steps and trainer.max_epochs are both -1: the run would never end")
        if self.val_check_interval is not None and not self.val_check_interval > 0:
            raise ValueError(f"trainer.val_check_interval must be positive, got {self.val_check_interval}")
        if self.check_val_every_n_epoch is not None and self.check_val_every_n_epoch < 1:
            raise ValueError(f"trainer.check_val_every_n_epoch must be at least 1, got {self.check_val_every_n_epoch}")
        if self.limit_val_batches is not None and self.limit_val_batches < 0:
            raise ValueError(f"trainer.limit_val_batches must not be negative, got {self.limit_val_batches}")
        if self.log_every_n_steps < 1 or self.num_nodes < 1:
            raise ValueError("trainer.log_every_n_steps and trainer.num_nodes must be at least 1")


@dataclass
class GradFlowConfig:
    every: int = 0  # record ||dL/dh_t|| for every t every N training steps; 0: off

    def __post_init__(self) -> None:
        if self.every < 0:
            raise ValueError(f"probe.grad_flow.every must not be negative, got {self.every}")


@dataclass
class ProbeConfig:
    """Measurements taken during training besides the metrics (src/runner/_train/probe.py)."""

    grad_flow: GradFlowConfig = field(default_factory=GradFlowConfig)


@dataclass
class CheckpointConfig:
    every_n_steps: int = 500  # how often checkpoints/last.ckpt is written (also at the end)

    def __post_init__(self) -> None:
        if not is_count(self.every_n_steps):
            raise ValueError(
                f"checkpoint.every_n_steps must be a whole number of at least 1, got {self.every_n_steps!r}"
            )


@dataclass
class RootConfig:
    """The top level of the composed config: the groups' nodes and the keys of the run itself.

    The schema of ``conf/config.yaml`` (its first default), so that Hydra
    checks the types of these keys as it composes, and :func:`typed` their
    ranges, as for every group.
    """

    cell: Any = None  # each group's node is typed by its own option's schema
    data: Any = None
    grad: Any = None
    optim: Any = None
    schedule: Any = None
    model: Any = None
    trainer: Any = None
    logger: Any = None
    probe: Any = None
    seed: int = 0
    # torch threads of a job; None: OMP_NUM_THREADS, which a parallel sweep sets to its share of the cores
    threads: int | None = None
    # neither set: the cores // the runs alive on this machine, kept up to date (src/runner/_train/threads.py)
    share_cores: bool = True
    tune_malloc: bool = True  # keep large buffers in glibc's heap between steps (src/runner/_train/allocator.py)
    resume: bool = True  # re-running into a run folder skips a finished run and continues an unfinished one
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)

    def __post_init__(self) -> None:
        if self.threads is not None and not is_count(self.threads):
            raise ValueError(f"threads must be null or a whole number of at least 1, got {self.threads!r}")


def options() -> dict[str, list[str]]:
    """Every config group of the runner (Hydra's own aside) with its options; call after :func:`store`."""
    found: dict[str, set[str]] = {}
    for group, node in ConfigStore.instance().repo.items():
        if isinstance(node, dict) and group != "hydra":
            found.setdefault(group, set()).update(name.removesuffix(".yaml") for name in node)
    for folder in resources.files("runner._config.conf").iterdir():
        if folder.is_dir() and folder.name not in ("hydra", "__pycache__"):
            found.setdefault(folder.name, set()).update(
                p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
            )
    return {group: sorted(names) for group, names in sorted(found.items())}


def store(registry: Registry) -> None:
    """Make every installed plugin (optimizers among them) and the core's nodes Hydra options.

    Only plugins the registry accepted are stored: it has checked their config
    classes as Hydra will (:func:`runner.plugins.schema.check`), so a bad one is
    that plugin's failure, not an error of every command.
    """
    cs = ConfigStore.instance()
    cs.store(name="root", node=RootConfig)
    for kind, plugins in registry.plugins.items():
        for name, plugin in plugins.items():
            cs.store(group=kind, name=name, node=plugin.config_class)
    cs.store(group="schedule", name="default", node=ScheduleConfig)
    cs.store(group="model", name="default", node=ModelConfig)
    cs.store(group="trainer", name="default", node=TrainerConfig)
    cs.store(group="logger", name="wandb", node=WandbConfig)
    cs.store(group="probe", name="default", node=ProbeConfig)


def typed(node: DictConfig) -> Any:
    """The dataclass instance behind a config node; its ``__post_init__`` checks the values.

    A key the dataclass has no field for (``+cell.forget_bias=1`` on a GRU) is
    refused rather than dropped, unless the class passes other keys on
    (``passes_other_keys``: the trainer's, to Lightning).
    """
    value = OmegaConf.to_object(node)
    if dataclasses.is_dataclass(value) and not getattr(value, "passes_other_keys", False):
        fields = {f.name for f in dataclasses.fields(value)}
        unknown = sorted(set(node.keys()) - fields)
        if unknown:
            raise ValueError(
                f"{type(value).__name__} has no option {unknown[0]!r}; its options: {', '.join(sorted(fields))}"
            )
    return value
