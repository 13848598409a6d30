"""How many threads a job's torch computes with, and how runs on one machine share its cores.

In order:

1. ``threads=N`` (src/runner/_config/conf/config.yaml): N threads, under any launcher;
2. ``OMP_NUM_THREADS`` in the job's environment: the shell's, the
   experiment's ``hydra.job.env_set``, or joblib's share of the cores;
3. neither, and ``share_cores=true`` (the default): the machine's physical cores
   (:func:`runner._train.cpu.cores`) // the runs alive on it, at least 1, looked
   at again every ``CHECK_EVERY_S`` between batches;
4. ``share_cores=false``: torch's own default.

A job of a sweep that runs several jobs at once (``hydra/launcher=parallel``,
Hydra's joblib launcher) gets ``OMP_NUM_THREADS`` = the cores // the jobs at
once (at least 1; ``n_jobs=-1``: one job per core, so 1) from joblib, unless
the launching shell set the variable, which it passes on. The job sets torch to
that count explicitly, because a worker that already ran a job has its torch
started, and torch reads the variable only when it starts; the same holds for
an ``OMP_NUM_THREADS`` an experiment sets through ``hydra.job.env_set``.

Sharing (3): two runs each with torch's default of every core, on a machine of
2, trained at 0.41 of one run alone taken together; with one thread each, at
1.43 (issue 26). So every run, whatever fixes its count, registers while its
trainer runs in :func:`alive_folder`: one file per process, named by its pid and
its start time, so that a file a dead process left (or one whose pid the system
gave again) is told from a live one without reading it, and is removed by the
next run that looks. Creating and removing a name is atomic; no lock is held. A
run that shares counts the names alive, itself among them, and sets
``torch.set_num_threads`` when its share changes. A look is a listing of the
folder and one read of ``/proc/PID/stat`` per run (tens of microseconds); once a
second, against steps of milliseconds, it costs nothing measurable, and between
looks a batch costs one ``time.monotonic()``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

from runner._train import cpu

VARIABLE = "OMP_NUM_THREADS"
CHECK_EVERY_S = 1.0
HISTORY = 100  # changes kept in results.json; a run beside a test suite may see thousands


def chosen(threads: int | None, environ: Mapping[str, str] = os.environ) -> int | None:
    """The fixed thread count of rules 1 and 2; None: share the cores, or leave torch's default."""
    if threads is not None:
        return threads
    value = environ.get(VARIABLE, "")
    return int(value) if value.isdigit() and int(value) > 0 else None  # OpenMP's lists ("4,2") are left to torch


def alive_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """Where runs register: ``$XDG_CACHE_HOME/runner/alive``, beside the data cache (``~/.cache/runner/alive``)."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runner" / "alive"


def started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, ``/proc/PID/stat``); None: no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]  # field 22; the name may hold ")"
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
    except (OSError, IndexError):
        return None
    try:  # no /proc (macOS): whether the pid exists at all
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process
        pass
    return "0"


def entry(pid: int) -> str:
    """The name of process ``pid``'s file in the folder: its pid and start time."""
    return f"{pid}-{started(pid)}"


def register(folder: Path, pid: int | None = None) -> Path:
    """Put process ``pid`` (this one by default) among the runs alive; returns its file."""
    pid = os.getpid() if pid is None else pid
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / entry(pid)
    path.touch()
    return path


def alive(folder: Path) -> set[int]:
    """The pids of the runs alive in ``folder``; the files of dead processes are removed."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    pids = set()
    for name in names:
        pid, _, start = name.partition("-")
        if not pid.isdigit():
            continue  # not a run's file
        if started(int(pid)) == start:
            pids.add(int(pid))
        else:  # its process ended: another run may be removing it too
            (folder / name).unlink(missing_ok=True)
    return pids


def share(cores: int, runs: int) -> int:
    """Each run's threads: the cores divided among the runs, at least 1."""
    return max(1, cores // max(1, runs))


class Threads(Callback):
    """Sets torch's threads by the rules above; while a trainer runs, registers the run and keeps its share.

    Constructed before the model is built, so that its first count holds from
    the start; :meth:`record` is what ``results.json`` keeps.
    """

    def __init__(self, threads: int | None, share_cores: bool, folder: Path | None = None) -> None:
        import torch

        self._torch = torch
        self.folder = alive_folder() if folder is None else folder
        self.pid = os.getpid()
        fixed = chosen(threads)
        self.shared = share_cores and fixed is None
        self.cores = cpu.cores()
        self.changes: list[tuple[int, int]] = []  # (step, threads) at each change, the first at the start
        self.next_look = 0.0
        if fixed is not None:
            torch.set_num_threads(fixed)
        if self.shared:
            self.adjust(0)
        else:
            self.changes.append((0, torch.get_num_threads()))

    def adjust(self, step: int) -> None:
        """Set this run's share of the cores, counting the runs alive now (this one among them)."""
        count = share(self.cores, len(alive(self.folder) | {self.pid}))
        if not self.changes or count != self.changes[-1][1]:
            self._torch.set_num_threads(count)
            self.changes.append((step, count))
        self.next_look = time.monotonic() + CHECK_EVERY_S

    def record(self) -> dict[str, Any]:
        """``threads``: the count at the start; ``threads_shared``, when sharing: the cores, the range, the changes."""
        counts = [count for _, count in self.changes]
        out: dict[str, Any] = {"threads": counts[0]}
        if self.shared:
            out["threads_shared"] = {
                "cores": self.cores,
                "min": min(counts),
                "max": max(counts),
                "changes": len(counts) - 1,
                "history": [list(change) for change in self.changes[:HISTORY]],  # [step, threads]
            }
        return out

    def _look(self, trainer) -> None:
        if self.shared and time.monotonic() >= self.next_look:
            self.adjust(trainer.global_step)

    def setup(self, trainer, pl_module, stage: str) -> None:
        register(self.folder, self.pid)
        if self.shared:
            self.adjust(trainer.global_step)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        (self.folder / entry(self.pid)).unlink(missing_ok=True)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self.teardown(trainer, pl_module, "exception")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        self._look(trainer)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._look(trainer)

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._look(trainer)
