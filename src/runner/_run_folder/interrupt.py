"""Stop on Ctrl-C, SIGTERM or a cluster's time-limit signal without losing a step of work.

The first SIGINT or SIGTERM asks the run to stop: it finishes the step under
way, saves ``checkpoints/last.ckpt`` at that step (the state a resume needs),
records ``status: interrupted`` and exits 130 (SIGINT) or 143 (SIGTERM), the
shell's 128 + signal number. Re-running the same command continues from that
checkpoint. A second signal while it finishes stops at once; the checkpoint
written before is kept, since checkpoints are replaced atomically
(``runner.durable``).

Under SLURM through submitit (``hydra/launcher=slurm``), SLURM sends the job
``SIGUSR2`` (submitit's default, ``SUBMITIT_PREEMPT_SIGNAL``) ``signal_delay_s``
before its time limit, and submitit's handler requeues the job. The run
handles that signal like SIGTERM, then hands it to submitit's handler, which
requeues the job: the requeued job resumes from the checkpoint.

Lightning handles signals itself, without a checkpoint: Ctrl-C raises
``KeyboardInterrupt`` wherever the step is, which its trainer turns into
``exit(1)``; SIGTERM makes it leave at the end of a step, also without saving.
:func:`stop_after_step` takes the signals over while training.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from runner._config.job import in_multirun
from runner._run_folder import run_dir
from runner._run_folder.run_dir import LAST, Status

log = logging.getLogger("runner")

SUBMITIT_SIGNAL = getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2").removeprefix("SIG"))


class Interrupted(BaseException):
    """Leaves the run: after a checkpoint at ``step``, or at once (``step`` None) on a second signal.

    A BaseException, like KeyboardInterrupt: it passes the ``except Exception``
    that records a failed run, and Lightning's trainer re-raises it.
    """

    def __init__(self, signum: int, step: int | None = None):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.step = signum, step


class Signals:
    """The signal handler of a run: the first signal is a request, a second one an order."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first signal
        self.deferring = False  # True while training: the request waits for the end of the step
        self.handled: list[int] = []
        # where the request is acknowledged: stderr, or the live display (runner._train.live), which would
        # write over a line printed beneath it; never the logging module, whose locks a handler must not take
        self.say: Callable[[str], None] = to_stderr

    def __call__(self, signum: int, frame: Any) -> None:
        if self.received is None and self.deferring:
            self.received = signum
            name = signal.Signals(signum).name
            self.say(f"{name}: stopping after this step, once it is saved (again to stop at once)")
            return
        raise Interrupted(self.received or signum)

    def install(self) -> None:
        for signum in self.handled:
            signal.signal(signum, self)


def to_stderr(text: str) -> None:
    """``text`` on a line of its own on stderr, written at once (safe in a signal handler)."""
    os.write(2, f"\n{text}\n".encode())


@contextlib.contextmanager
def handled() -> Iterator[Signals]:
    """Handle SIGINT, SIGTERM and, under submitit, its time-limit signal for the block; then restore."""
    signals = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield signals  # only the main thread may handle signals: Python's default behaviour stays
        return
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, SUBMITIT_SIGNAL)}
    signals.handled = [signal.SIGINT, signal.SIGTERM]
    if callable(before[SUBMITIT_SIGNAL]):  # submitit's handler, which requeues the job: see leave()
        signals.handled.append(SUBMITIT_SIGNAL)
    signals.install()
    try:
        yield signals
    finally:
        for signum, handler in before.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, handler)


def stop_after_step(signals: Signals, folder: Path):
    """The Lightning callback that stops training at the end of the step during which a signal came.

    It saves ``last.ckpt`` where Lightning's ``ModelCheckpoint`` saves the
    periodic ones (at ``on_train_batch_end``), lets the step end as usual (its
    metrics row, its validation when one is due: a resumed run does not redo
    them), and leaves before the next step or at the epoch's end. The folder
    is then as after a kill right after a periodic checkpoint: the resumed run
    continues exactly. Under DDP the processes agree on the step (one
    all-reduce per step), whichever of them got the signal.
    """
    import lightning as L

    class StopAfterStep(L.Callback):
        saved: int | None = None  # the step of the checkpoint written for the signal

        def on_train_start(self, trainer, module) -> None:
            # Lightning put in its own SIGTERM handler at the start of fit, which stops without saving
            signals.install()
            signals.deferring = True

        def on_train_end(self, trainer, module) -> None:
            signals.deferring = False

        def on_exception(self, trainer, module, exception: BaseException) -> None:
            signals.deferring = False

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            if self.saved is not None or not trainer.strategy.reduce_boolean_decision(
                signals.received is not None, all=False
            ):
                return
            signals.deferring = False  # a second signal now stops at once
            trainer.save_checkpoint(Path(folder) / LAST, weights_only=False)  # the full state: resumable
            self.saved = trainer.global_step

        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            self.leave()

        def on_train_epoch_end(self, trainer, module) -> None:
            self.leave()

        def leave(self) -> None:
            if self.saved is not None:
                raise Interrupted(signals.received or signal.SIGTERM, self.saved)

    return StopAfterStep()


def outcome(stop: Interrupted, folder: Path) -> dict[str, Any]:
    """What results.json records of an interrupted run."""
    step = stop.step if stop.step is not None else run_dir.checkpoint_step(folder)
    return {
        "status": Status.interrupted,
        "steps": step,
        "signal": signal.Signals(stop.signum).name,
        "continue": continue_command(),
    }


def continue_command() -> str:
    """The command that continues this run (or sweep): the same one, into the same folder.

    In a launcher's own process (submitit, joblib), whose command line is the
    launcher's, it is the command of this job alone.
    """
    from hydra.core.hydra_config import HydraConfig

    args = sys.argv[1:]
    started = Path(sys.argv[0])
    console_script = started.name == "runner"  # the `runner` command; python -m runner runs runner/__main__.py
    if HydraConfig.initialized():
        hydra = HydraConfig.get()
        if console_script or started.parent.name == "runner":
            key, folder = ("hydra.sweep.dir", hydra.sweep.dir) if in_multirun() else ("hydra.run.dir", hydra.run.dir)
        else:
            args, key, folder = list(hydra.overrides.task), "hydra.run.dir", hydra.runtime.output_dir
        args = [a for a in args if not a.startswith(f"{key}=")] + [f"{key}={folder}"]
    return shlex.join([*(["runner"] if console_script else ["python", "-m", "runner"]), *args])


def leave_outside_training() -> NoReturn:
    """Ctrl-C where no run trains (between two jobs of a multirun, before the first, while a job starts or ends):
    one line, the command that continues, exit 130.

    Nothing is lost there: a job that ended has its record, which the rerun's skip rule skips
    (:mod:`runner._run_folder.resume`), and one that had started training continues from its checkpoint.
    """
    line = f"interrupted (SIGINT) outside training, nothing lost. Continue with: {continue_command()}"
    print(f"\n{line}", file=sys.stderr, flush=True)
    sys.exit(128 + signal.SIGINT)


def leave(record: dict[str, Any], where: str) -> None:
    """Say where the run stopped and how to continue it; exit 128 + the signal's number.

    Under submitit, its time-limit signal goes on to submitit's handler (back
    in place once the run ended), which requeues the job and exits.
    """
    log.warning(
        "interrupted (%s) at step %d in %s. Continue with: %s",
        record["signal"],
        record["steps"],
        where,
        record["continue"],
    )
    signum = getattr(signal.Signals, record["signal"])
    handler = signal.getsignal(signum)
    if signum == SUBMITIT_SIGNAL and callable(handler):
        handler(signum, None)
    sys.exit(exit_code(record))


def exit_code(record: dict[str, Any]) -> int:
    """The exit status of an interrupted run: the shell's 128 + the signal's number (130 for SIGINT)."""
    return 128 + getattr(signal.Signals, record["signal"])
