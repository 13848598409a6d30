"""Batches of examples held in tensors on the device: a seeded order, each DDP process its part.

A data plugin whose examples fit in memory as tensors (one row per sequence:
inputs, targets) returns :func:`device_batches` from its loaders. The tensors are
copied to the trainer's device once; a pass's order is drawn on the CPU from a
generator seeded by the config, as a ``DataLoader`` with a seeded
``RandomSampler`` would draw it, so the same seed gives the same batches on any
device; every batch is sliced out on the device, with no per-example Python
work and no host-to-device copy per step. Under DDP every process draws the
same batches and takes its contiguous part of each (:func:`runner.part`).
Re-exported by :mod:`runner`: import it from there.

torch is imported by the functions that use it: importing this module is cheap.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from runner._train.distributed import check_batch, device, part, rank_and_size

if TYPE_CHECKING:
    from torch import Tensor


class Part:
    """A DDP process's contiguous part of every batch of ``batches`` (the whole batch in one process)."""

    def __init__(self, batches: Any, rank: int, size: int):
        # batches: a torch BatchSampler (its sampler, batch_size and drop_last are read for the length)
        self.batches, self.rank, self.size = batches, rank, size

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            mine = batch[part(len(batch), self.rank, self.size)]
            if mine:  # a last batch smaller than the number of processes leaves some without
                yield mine

    def __len__(self) -> int:  # counted, not iterated: iterating would draw from the seeded shuffle
        full, rest = divmod(len(self.batches.sampler), self.batches.batch_size)
        last = part(rest, self.rank, self.size)
        return full + int(not self.batches.drop_last and last.stop > last.start)


class Batches:
    """The batches ``order`` names (lists of row indices), sliced out of ``tensors`` on their device.

    Iterating it makes one pass; its length is the number of batches of a pass.
    """

    def __init__(self, tensors: tuple[Tensor, ...], order: Part):
        # not called `sampler`: Lightning would take this for a DataLoader
        self.tensors, self.order = tensors, order

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        import torch

        # no further than its length: running the sampler to exhaustion would draw from its generator again
        batches = list(itertools.islice(self.order, len(self)))
        rows = torch.tensor([i for batch in batches for i in batch], dtype=torch.long).to(self.tensors[0].device)
        start = 0
        for batch in batches:
            chosen = rows[start : start + len(batch)]
            start += len(batch)
            yield tuple(t[chosen] for t in self.tensors)


def device_batches(
    tensors: tuple[Tensor, ...], batch_size: int, trainer: Any, *, shuffle: bool, seed: int = 0, name: str = "examples"
) -> Batches:
    """Batches of ``batch_size`` rows of ``tensors`` (all of one length) on the trainer's device.

    ``shuffle``: a new order every pass, from a generator seeded by ``seed`` once
    (pass ``n`` of a run is the same in every run with that seed), and only whole
    batches (training); else the rows in order, the last batch perhaps smaller
    (evaluation). ``trainer`` is the data module's (None outside one). Raises
    ``ValueError`` when the batch does not split evenly over the processes, or
    there are fewer rows than processes (``name`` says which rows, in the message).
    """
    import torch
    from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

    rank, size = rank_and_size(trainer)
    check_batch(batch_size, size)
    rows = len(tensors[0])
    if rows < size:  # a process without batches would wait forever for the others' metrics
        raise ValueError(f"{rows} {name} cannot be shared by {size} processes")
    if shuffle:
        order = RandomSampler(range(rows), generator=torch.Generator().manual_seed(seed))
    else:
        order = SequentialSampler(range(rows))
    batches = BatchSampler(order, batch_size, drop_last=shuffle)
    on_device = tuple(t.to(device(trainer)) for t in tensors)
    return Batches(on_device, Part(batches, rank, size))
