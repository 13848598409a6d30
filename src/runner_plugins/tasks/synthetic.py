"""The adding problem and the copy-memory task as Lightning data modules.

Every split is drawn once, at setup, from a generator seeded by
``(seed, split)``: the same seed gives the same data on any machine, and the
validation set never overlaps the training draws.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from runner import Batches, Task, device_batches
from runner_plugins.tasks.config import SyntheticConfig

SPLITS = {"train": 0, "val": 1}


class SyntheticData(L.LightningDataModule):
    def __init__(self, config: SyntheticConfig):
        super().__init__()
        self.config = config
        self.splits: dict[str, TensorDataset] = {}

    def generate(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        for split, offset in SPLITS.items():
            n = self.config.num_train if split == "train" else self.config.num_val
            generator = torch.Generator().manual_seed(2 * self.config.seed + offset)
            self.splits[split] = TensorDataset(*self.generate(n, generator))

    def _loader(self, split: str, shuffle: bool) -> Batches:
        return device_batches(
            self.splits[split].tensors,
            self.config.batch_size,
            self.trainer,
            shuffle=shuffle,
            seed=self.config.seed,
            name=f"{split} sequences",
        )

    def train_dataloader(self) -> Batches:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> Batches:
        return self._loader("val", shuffle=False)


class AddingData(SyntheticData):
    """Hochreiter & Schmidhuber 1997: add the two marked values, one marked in each half."""

    @property
    def task(self) -> Task:
        # Always answering 1 (the mean of the sum) scores the variance of a sum of two U[0,1]: 2/12.
        return Task(
            inputs="real",
            input_size=2,
            targets="real",
            output_size=1,
            loss_steps="last",
            metrics=("mse",),
            baseline={"loss": 1 / 6, "mse": 1 / 6},
            monitor="mse",
        )

    def generate(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        T = self.config.seq_len
        if T < 2:
            raise ValueError("data.seq_len must be at least 2 for the adding problem (one mark per half)")
        values = torch.rand(n, T, generator=generator)
        rows = torch.arange(n)
        first = torch.randint(0, T // 2, (n,), generator=generator)
        second = torch.randint(T // 2, T, (n,), generator=generator)
        markers = torch.zeros(n, T)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        inputs = torch.stack([values, markers], dim=-1)
        return inputs, values[rows, first] + values[rows, second]


class CopyData(SyntheticData):
    """Arjovsky et al. 2016: recall 10 symbols after ``seq_len`` steps.

    Input: 10 symbols from {1..8}, seq_len - 1 blanks (0), the delimiter (9),
    10 blanks. Target: blanks, then the 10 symbols over the last 10 steps.
    The loss is the cross-entropy averaged over all seq_len + 20 steps.
    """

    SYMBOLS, RECALL, BLANK, DELIMITER = 8, 10, 0, 9

    @property
    def task(self) -> Task:
        # Memoryless: blanks are certain, each recalled symbol is a guess among 8.
        loss = self.RECALL * math.log(self.SYMBOLS) / (self.config.seq_len + 2 * self.RECALL)
        return Task(
            inputs="tokens",
            input_size=self.DELIMITER + 1,
            targets="classes",
            output_size=self.SYMBOLS + 1,
            loss_steps="all",
            metrics=("accuracy",),
            score_last=self.RECALL,
            baseline={"loss": loss, "accuracy": 1 / self.SYMBOLS},
            monitor="accuracy",
            monitor_mode="max",
        )

    def generate(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        T, K = self.config.seq_len, self.RECALL
        symbols = torch.randint(1, self.SYMBOLS + 1, (n, K), generator=generator)
        inputs = torch.full((n, T + 2 * K), self.BLANK, dtype=torch.long)
        inputs[:, :K] = symbols
        inputs[:, T + K - 1] = self.DELIMITER
        targets = torch.full_like(inputs, self.BLANK)
        targets[:, -K:] = symbols
        return inputs, targets
