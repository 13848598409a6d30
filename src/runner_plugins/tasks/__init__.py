"""Built-in long-term dependency tasks, generated from the seed on the fly (no files)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II

from runner import DataModule, RegisterDataset, hookimpl


@dataclass
class SyntheticConfig:
    seq_len: int = 50  # adding: sequence length; copy: the delay between symbols and recall
    batch_size: int = 64  # sequences per batch
    num_train: int = 20_000  # training sequences, reshuffled every epoch
    num_val: int = 2_000  # validation sequences
    seed: int = II("seed")  # the run's seed unless set on its own

    def __post_init__(self) -> None:
        for name in ("seq_len", "batch_size", "num_train", "num_val"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be at least 1, got {getattr(self, name)}")
        if self.num_train < self.batch_size:
            raise ValueError(f"data.num_train ({self.num_train}) is smaller than one batch ({self.batch_size})")


def build_adding(config: SyntheticConfig) -> DataModule:
    from runner_plugins.tasks.synthetic import AddingData

    return AddingData(config)


def build_copy(config: SyntheticConfig) -> DataModule:
    from runner_plugins.tasks.synthetic import CopyData

    return CopyData(config)


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    register("adding", build_adding, SyntheticConfig)
    register("copy", build_copy, SyntheticConfig)
