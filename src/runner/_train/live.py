"""The live display of a single run on a terminal: where training stands, how fast it goes, how long is left.

A sweep's jobs and a run whose output goes to a file or a pipe (logs, CI) keep
the one log line per validation instead (``runner.callbacks.Progress``); a
sweep reports its jobs one line each (``runner.sweep``).
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

from lightning.pytorch.callbacks.progress import ProgressBar
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def wanted(setting: bool | None, multirun: bool) -> bool:
    """Whether to show the display: ``trainer.enable_progress_bar`` when set, else on a terminal in a single run."""
    if setting is not None:
        return setting
    return sys.stderr.isatty() and not multirun


class Steps(ProgressColumn):
    """The step of the total (unknown where neither steps nor a sized epoch bound the run) and the epoch."""

    def render(self, task: Task) -> Text:
        total = f"{task.total:.0f}" if task.total is not None else "?"
        return Text(f"step {task.completed:.0f}/{total}  epoch {task.fields['epoch']}")


class Rates(ProgressColumn):
    """Steps and tokens per second, over rich's recent window of steps."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        if not speed:
            return Text("-- steps/s")
        return Text(f"{speed:.1f} steps/s  {speed * task.fields['tokens_per_step']:,.0f} tok/s")


class LiveProgress(ProgressBar):
    """One live line on stderr.

    Step/total, epoch, steps/s, tokens/s, time left, the last training loss and validation metric.
    """

    def __init__(self) -> None:
        super().__init__()
        self.enabled = True
        self.progress: Progress | None = None
        self.task_id: Any = None
        self.redirected: list[tuple[logging.StreamHandler, Any]] = []

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def on_train_start(self, trainer, module) -> None:
        if not self.enabled:
            return
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
        self.progress = Progress(
            Steps(),
            BarColumn(),
            Rates(),
            TextColumn("left"),
            TimeRemainingColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[val]}"),
            console=Console(stderr=True),
            speed_estimate_period=60.0,
        )
        self.task_id = self.progress.add_task(
            "train",
            total=total if math.isfinite(total) else None,
            completed=trainer.global_step,
            epoch=trainer.current_epoch,
            loss="--",
            val="",
            tokens_per_step=0,
        )
        self.progress.start()
        self._redirect_logging()

    def _redirect_logging(self) -> None:
        """Log lines written straight to the terminal would tear the live line: send them through rich instead.

        While the display is live, ``sys.stderr`` is rich's proxy, which prints
        whole lines above the display.
        """
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stdout__, sys.__stderr__):
                self.redirected.append((handler, handler.setStream(sys.stderr)))

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.progress is None:
            return
        loss = trainer.callback_metrics.get("train/loss")
        self.progress.update(
            self.task_id,
            completed=trainer.global_step,
            epoch=trainer.current_epoch,
            tokens_per_step=batch[0].shape[0] * batch[0].shape[1],
            loss=f"{float(loss):.4g}" if loss is not None else "--",
        )

    def on_validation_end(self, trainer, module) -> None:
        if self.progress is None or trainer.sanity_checking:
            return
        name = f"val/{module.task.monitor}"
        value = trainer.callback_metrics.get(name)
        if value is not None:
            self.progress.update(self.task_id, val=f"{name} {float(value):.4g}")

    def on_train_end(self, trainer, module) -> None:
        self._stop()

    def on_exception(self, trainer, module, exception: BaseException) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.progress is None:
            return
        self.progress.stop()
        for handler, stream in self.redirected:
            handler.setStream(stream)
        self.progress, self.redirected = None, []
