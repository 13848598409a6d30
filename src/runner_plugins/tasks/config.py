"""The config classes of the built-in synthetic tasks: what ``tasks`` options a user can set."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II


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
