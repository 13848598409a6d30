"""Lightning callbacks of the core: steady-state throughput and a one-line progress report."""

from __future__ import annotations

import logging
import time

import lightning as L
import torch

log = logging.getLogger("runner")


class Throughput(L.Callback):
    """Training tokens (batch x steps) per second after `warmup` batches.

    Timed from one batch's end to the next, so data loading, logging and the
    optimizer count; the gap around a validation does not. On a GPU the host
    runs ahead of the device, so before a validation and at the end the clock
    waits for the queued steps to finish and counts that wait too.
    """

    def __init__(self, warmup: int = 10):
        self.warmup, self.batches, self.tokens, self.seconds = warmup, 0, 0, 0.0
        self.last: float | None = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        self.batches += 1
        if self.last is not None and self.batches > self.warmup:
            self.seconds += now - self.last
            self.tokens += batch[0].shape[0] * batch[0].shape[1]
        self.last = now

    def on_validation_start(self, trainer, module) -> None:
        self._drain(module)

    def on_train_end(self, trainer, module) -> None:
        self._drain(module)

    def _drain(self, module) -> None:
        if self.last is not None and self.batches > self.warmup:
            if module.device.type == "cuda":
                torch.cuda.synchronize(module.device)
            self.seconds += time.perf_counter() - self.last
        self.last = None

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.seconds if self.seconds else None


class Progress(L.Callback):
    """One log line per validation, instead of a progress bar that floods sweep logs.

    After training, the final validation and the test, which can take minutes
    (a language model's corpora), say as they start how many batches they
    score, and the test its metrics when done.
    """

    def on_validation_start(self, trainer, module) -> None:
        if trainer.state.fn == "validate":  # trainer.validate, after fit: the final weights
            log.info("validating the final weights: %d batches", sum(trainer.num_val_batches))

    def on_validation_end(self, trainer, module) -> None:
        if trainer.sanity_checking:
            return
        log.info("step %d  %s", trainer.global_step, _metrics(trainer, "val/"))

    def on_test_start(self, trainer, module) -> None:
        log.info("testing: %d batches", sum(trainer.num_test_batches))

    def on_test_end(self, trainer, module) -> None:
        log.info("test  %s", _metrics(trainer, "test/"))


def _metrics(trainer, prefix: str) -> str:
    values = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
    return "  ".join(f"{k} {v:.4g}" for k, v in sorted(values.items()))


class SegmentClock(L.Callback):
    """Records this segment's time and step in segments.json at each checkpoint, where a killed run resumes."""

    def __init__(self, segments) -> None:
        self.segments = segments

    def on_save_checkpoint(self, trainer, module, checkpoint) -> None:
        if trainer.is_global_zero:
            self.segments.save(trainer.global_step)
