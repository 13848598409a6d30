"""The adding problem and the copy-memory task as Lightning data modules.

Every split is drawn once, at setup, from a generator seeded by
``(seed, split)``: the same seed gives the same data on any machine, and the
validation set never overlaps the training draws.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

from runner import Task, check_batch, device, part, rank_and_size
from runner_plugins.tasks.config import SyntheticConfig

SPLITS = {"train": 0, "val": 1}


class Part(Sampler[list[int]]):
    """A DDP process's contiguous part of every batch (the whole batch in one process).

    Every process draws the same seeded batches, so the parts never overlap and
    together make the batch a single process would train on.
    """

    def __init__(self, batches: BatchSampler, rank: int, size: int):
        self.batches, self.rank, self.size = batches, rank, size

    def _part(self, batch_len: int) -> slice:
        return part(batch_len, self.rank, self.size)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            mine = batch[self._part(len(batch))]
            if mine:  # a last batch smaller than the number of processes leaves some without
                yield mine

    def __len__(self) -> int:  # counted, not iterated: iterating would draw from the seeded shuffle
        full, rest = divmod(len(self.batches.sampler), self.batches.batch_size)
        last = self._part(rest)
        return full + int(not self.batches.drop_last and last.stop > last.start)


class Batches:
    """The batches a sampler names, sliced out of tensors that stay on their device.

    A pass's order is drawn on the CPU, as a DataLoader would draw it (the same
    seeded draws on any device), and copied to the device once: no batch costs a
    host-to-device copy, which on a GPU would make the host wait every step.
    """

    def __init__(self, tensors: tuple[Tensor, ...], batches: Sampler[list[int]]):
        # not called `sampler`: Lightning would take this for a DataLoader
        self.tensors, self.batches = tensors, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        # no further than its length: running the sampler to exhaustion would draw from its generator again
        batches = list(itertools.islice(self.batches, len(self)))
        order = torch.tensor([i for batch in batches for i in batch], dtype=torch.long).to(self.tensors[0].device)
        start = 0
        for batch in batches:
            rows = order[start : start + len(batch)]
            start += len(batch)
            yield tuple(t[rows] for t in self.tensors)


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
        data = self.splits[split]
        rank, size = rank_and_size(self.trainer)
        check_batch(self.config.batch_size, size)
        if len(data) < size:  # a process without batches would wait forever for the others' metrics
            raise ValueError(f"{len(data)} {split} sequences cannot be shared by {size} processes")
        order: Sampler[int]
        if shuffle:
            order = RandomSampler(data, generator=torch.Generator().manual_seed(self.config.seed))
        else:
            order = SequentialSampler(data)
        # whole batches are sliced out of the tensors: no per-sample Python work
        batches = BatchSampler(order, self.config.batch_size, drop_last=shuffle)
        on_device = tuple(t.to(device(self.trainer)) for t in data.tensors)
        return Batches(on_device, Part(batches, rank, size))

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
