"""The live display of a single run on a terminal: where training stands, how fast it goes, how long is left.

Each validation and the test show a line of their own while they run (batch of
the total, batches per second, time left), the final validation and the test
too, so the display never sits at "left 0:00:00" while they run. A notice
(the interrupt's "stopping after this step") shows below the lines until the
display ends, rather than being written over.

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
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from runner._run_folder import interrupt


def wanted(setting: bool | None, multirun: bool) -> bool:
    """Whether to show the display: ``trainer.enable_progress_bar`` when set, else on a terminal in a single run."""
    if setting is not None:
        return setting
    return sys.stderr.isatty() and not multirun


class Steps(ProgressColumn):
    """The step of the total (unknown where neither steps nor a sized epoch bound the run) and the epoch.

    An evaluation's line: its batch of the total (``validation 3/10``).
    """

    def render(self, task: Task) -> Text:
        total = f"{task.total:.0f}" if task.total is not None else "?"
        if task.fields["evaluation"]:
            return Text(f"{task.description} {task.completed:.0f}/{total}")
        return Text(f"step {task.completed:.0f}/{total}  epoch {task.fields['epoch']}")


class Rates(ProgressColumn):
    """Steps and tokens per second (batches per second for an evaluation), over rich's recent window."""

    def render(self, task: Task) -> Text:
        speed, unit = task.speed, "batches/s" if task.fields["evaluation"] else "steps/s"
        if not speed:
            return Text(f"-- {unit}")
        if task.fields["evaluation"]:
            return Text(f"{speed:.1f} {unit}")
        return Text(f"{speed:.1f} {unit}  {speed * task.fields['tokens_per_step']:,.0f} tok/s")


class Metrics(ProgressColumn):
    """The last training loss and validation metric (nothing on an evaluation's line)."""

    def render(self, task: Task) -> Text:
        if task.fields["evaluation"]:
            return Text("")
        return Text(f"loss {task.fields['loss']}  {task.fields['val']}")


class Display(Progress):
    """rich's Progress with a notice below its lines, drawn at every refresh until the display stops."""

    notice = ""

    def get_renderables(self):
        yield from super().get_renderables()
        if self.notice:
            yield Text(self.notice, style="bold")


class LiveProgress(ProgressBar):
    """One live line on stderr.

    Step/total, epoch, steps/s, tokens/s, time left, the last training loss and validation metric.
    """

    def __init__(self) -> None:
        super().__init__()
        self.enabled = True
        self.progress: Display | None = None
        self.task_id: Any = None  # the training line
        self.evaluation: Any = None  # the line of the validation or test under way
        self.redirected: list[tuple[logging.StreamHandler, Any]] = []

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def notice(self, text: str) -> None:
        """Show ``text`` below the display until it ends; safe in a signal handler (it only sets a field)."""
        if self.progress is None:
            interrupt.to_stderr(text)
        else:
            self.progress.notice = text

    def _start(self) -> None:
        self.progress = Display(
            Steps(),
            BarColumn(),
            Rates(),
            TextColumn("left"),
            TimeRemainingColumn(),
            Metrics(),
            console=Console(stderr=True),
            speed_estimate_period=60.0,
        )
        self.progress.start()
        self._redirect_logging()

    def on_train_start(self, trainer, module) -> None:
        if not self.enabled:
            return
        total = trainer.max_steps if trainer.max_steps > 0 else trainer.estimated_stepping_batches
        self._start()
        self.task_id = self.progress.add_task(
            "train",
            total=total if math.isfinite(total) else None,
            completed=trainer.global_step,
            epoch=trainer.current_epoch,
            loss="--",
            val="",
            tokens_per_step=0,
            evaluation=False,
        )

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

    # -- validation and test: a line of their own while they run ---------------------------------
    def _begin_evaluation(self, name: str, total: float) -> None:
        if not self.enabled:
            return
        if self.progress is None:  # the final validation and the test, after training: a display of their own
            self._start()
        self.evaluation = self.progress.add_task(name, total=total if math.isfinite(total) else None, evaluation=True)

    def _advance_evaluation(self) -> None:
        if self.progress is not None and self.evaluation is not None:
            self.progress.advance(self.evaluation)

    def _end_evaluation(self) -> None:
        if self.progress is None or self.evaluation is None:
            return
        if self.task_id is None:  # after training: the display ends with the evaluation, its line kept
            self._stop()
        else:  # during training: the training line stays alone
            self.progress.remove_task(self.evaluation)
        self.evaluation = None

    def on_validation_start(self, trainer, module) -> None:
        if not trainer.sanity_checking:
            self._begin_evaluation("validation", _batches(trainer.num_val_batches))

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            self._advance_evaluation()

    def on_validation_end(self, trainer, module) -> None:
        if trainer.sanity_checking:
            return
        name = f"val/{module.task.monitor}"
        value = trainer.callback_metrics.get(name)
        if value is not None and self.progress is not None and self.task_id is not None:
            self.progress.update(self.task_id, val=f"{name} {float(value):.4g}")
        self._end_evaluation()

    def on_test_start(self, trainer, module) -> None:
        self._begin_evaluation("test", _batches(trainer.num_test_batches))

    def on_test_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._advance_evaluation()

    def on_test_end(self, trainer, module) -> None:
        self._end_evaluation()

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
        self.progress, self.redirected, self.task_id, self.evaluation = None, [], None, None


def _batches(counts: list[int | float] | int | float) -> int | float:
    """The batches of an evaluation over its loaders (Lightning counts them per loader)."""
    return sum(counts) if isinstance(counts, list) else counts
