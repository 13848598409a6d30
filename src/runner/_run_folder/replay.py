"""The data position of a resumed run: it sees the batches the uninterrupted run would have seen."""

from __future__ import annotations

import itertools
from collections.abc import Iterator


def _iterate(loader) -> Iterator:
    """Start iterating ``loader`` without drawing from the global RNG.

    A DataLoader draws its workers' base seed from the global generator each
    time it starts; left alone, a resumed run's replayed and sanity-check
    passes would shift the dropout masks that follow.
    """
    import torch

    rng = torch.get_rng_state()
    batches = iter(loader)
    torch.set_rng_state(rng)
    return batches


class Replay:
    """A loader that continues where a resumed run stopped.

    Lightning restores the epoch and the batches done in it, but iterates a
    plain loader from its start. On its first pass this replays the epochs
    already trained (so seeded shuffles advance exactly as before) and skips
    the batches of the current epoch already done: a resumed run sees the
    batches the uninterrupted run would have seen. Without a trainer (the
    evaluation loaders) it only keeps the global RNG untouched.
    """

    def __init__(self, loader, trainer=None):
        self.loader, self.trainer, self.epochs = loader, trainer, 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator:
        if self.trainer is None:
            return _iterate(self.loader)
        return self._continue()

    def _continue(self) -> Iterator:
        # a generator: nothing happens until the first batch is asked for, so
        # Lightning's probe (an iter() without next()) does not count as a pass
        skip = self.trainer.fit_loop.epoch_loop.batch_progress.current.completed if self.epochs == 0 else 0
        while self.epochs < self.trainer.current_epoch:
            # exactly the batches an epoch takes: a sampler may draw again when run to exhaustion
            for _ in itertools.islice(_iterate(self.loader), self.trainer.num_training_batches):
                pass
            self.epochs += 1
        self.epochs += 1
        batches = _iterate(self.loader)
        for _ in range(skip):
            next(batches)
        yield from batches


def resumable(datamodule):
    """Wrap a plugin's data module so that its training loader is a :class:`Replay`."""
    import lightning as L

    class Resumable(L.LightningDataModule):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def prepare_data(self) -> None:
            self.inner.prepare_data()

        def setup(self, stage: str) -> None:
            self.inner.trainer = self.trainer
            self.inner.setup(stage)

        def train_dataloader(self):
            return Replay(self.inner.train_dataloader(), self.trainer)

        def val_dataloader(self):
            return Replay(self.inner.val_dataloader())

        def test_dataloader(self):
            return Replay(self.inner.test_dataloader())

    return Resumable(datamodule)
