"""The temporal-order problem (Hochreiter & Schmidhuber 1997, experiment 6a).

A sequence of ``seq_len`` symbols: ``B``, random distractors from
``{a, b, c, d}``, ``E``. Two steps carry a relevant symbol, ``X`` or ``Y``: one
in the first window (10-20 % of the way in), one in the second (50-60 %). The
class, read at the last step, is their order: XX, XY, YX or YY. Guessing
scores 1/4; the model must keep both symbols over about half the sequence.

Every split is drawn once, at setup, from a generator seeded by the config's
seed and the split, so the same seed gives the same data on any machine
whatever else drew from torch's global generator.
"""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from runner import Task
from runner_example_plugins import TemporalOrderConfig

DISTRACTORS = 4  # a, b, c, d: ids 0..3
X, Y, BEGIN, END = 4, 5, 6, 7
CLASSES = 4  # XX, XY, YX, YY


def generate(n: int, seq_len: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` sequences of token ids (n, seq_len) and their classes (n,)."""
    inputs = torch.randint(0, DISTRACTORS, (n, seq_len), generator=generator)
    inputs[:, 0], inputs[:, -1] = BEGIN, END
    first = torch.randint(seq_len // 10, seq_len * 2 // 10, (n,), generator=generator)
    second = torch.randint(seq_len * 5 // 10, seq_len * 6 // 10, (n,), generator=generator)
    is_y = torch.randint(0, 2, (n, 2), generator=generator)
    rows = torch.arange(n)
    inputs[rows, first] = X + is_y[:, 0]
    inputs[rows, second] = X + is_y[:, 1]
    return inputs, 2 * is_y[:, 0] + is_y[:, 1]


class TemporalOrderData(L.LightningDataModule):
    def __init__(self, config: TemporalOrderConfig):
        super().__init__()
        self.config = config
        self.splits: dict[str, TensorDataset] = {}

    @property
    def task(self) -> Task:
        # tokens in, one class out at the last step; a memoryless guess is right 1 time in 4
        return Task(
            inputs="tokens",
            input_size=END + 1,
            targets="classes",
            output_size=CLASSES,
            loss_steps="last",
            metrics=("accuracy",),
            baseline={"loss": math.log(CLASSES), "accuracy": 1 / CLASSES},
            monitor="accuracy",
            monitor_mode="max",
        )

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        c = self.config
        for offset, (split, n) in enumerate((("train", c.num_train), ("val", c.num_val))):
            generator = torch.Generator().manual_seed(c.seed * 2 + offset)
            self.splits[split] = TensorDataset(*generate(n, c.seq_len, generator))

    def train_dataloader(self) -> DataLoader:
        # a generator of its own: the order of every epoch follows from the seed alone
        order = torch.Generator().manual_seed(self.config.seed)
        return DataLoader(
            self.splits["train"], batch_size=self.config.batch_size, shuffle=True, drop_last=True, generator=order
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.splits["val"], batch_size=self.config.batch_size)
