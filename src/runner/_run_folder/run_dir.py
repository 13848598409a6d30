"""The run folder: every file a run writes, its format version, and how to read and write them.

This module is the one place that knows the layout documented in
docs/run-folder.md. Training, resume, the probe, W&B, ``runner.lm`` and
:mod:`runner._run_folder.job` (a job read back, for the sweep report and the
status command) read and write a run folder only through it; so can a notebook::

    from runner._run_folder import run_dir
    record = run_dir.read_results("multirun/2026-01-01/12-00-00/0_cell=lstm")

Nothing here imports torch or lightning at module level: the report and the
command-line tools read folders without them.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import io
import json
import math
import os
import secrets
import socket
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from runner.task import Task

FORMAT = 1  # the version of this layout, written into results.json and task.json

RESULTS = "results.json"  # how the run ended (written once, at the end)
TASK = "task.json"  # the Task as the data plugin declared it (written at the start)
METRICS = "metrics.csv"  # every logged step
GRAD_FLOW = "grad_flow.csv"  # the gradient-flow probe's rows: step,t,norm
LAST = Path("checkpoints") / "last.ckpt"  # the full training state, for resuming
BEST = Path("checkpoints") / "best.ckpt"  # by the task's validation metric
CONFIG = Path(".hydra") / "config.yaml"  # the composed config, as Hydra saved it
HYDRA = Path(".hydra") / "hydra.yaml"  # Hydra's own record, with the chosen plugins
OVERRIDES = Path(".hydra") / "overrides.yaml"  # the job's command-line overrides
LOCK = ".lock"  # held by the one process that writes the folder; says which process that is
JOBS = "jobs.json"  # in a sweep folder: the jobs the sweep will run, written when it starts
SEGMENTS = "segments.json"  # the processes that trained the run (one per resume): their wall time, the W&B run id
SWEEP_ID = "sweep_id"  # in a sweep folder: random hex written once, which names the sweep's W&B group


class Status(str, Enum):
    """How a run stands; ``results.json`` holds one of the first three."""

    ok = "ok"
    diverged = "diverged"  # the loss became NaN or infinite: a result, not a crash
    failed = "failed"  # the run raised; ``error`` says why
    unfinished = "unfinished"  # no results.json and no process holds the folder: killed
    interrupted = "interrupted"  # stopped by SIGINT or SIGTERM after saving a checkpoint to resume from
    running = "running"  # no results.json yet, and a live process holds the folder's lock
    pending = "pending"  # listed by its sweep, never started

    def __str__(self) -> str:
        return self.value


FINISHED = (Status.ok, Status.diverged)  # a result: re-running the same config skips it


class RunFolderError(Exception):
    """The run folder holds work this command must not touch, or cannot be read."""


class FolderBusy(RunFolderError):
    """Another live process holds the run folder's lock."""

    def __init__(self, folder: Path, holder: dict[str, Any]):
        self.folder, self.holder = folder, holder
        super().__init__(
            f"{folder} is in use by process {holder.get('pid')} on {holder.get('host')} "
            f"(started {holder.get('started')}); wait for it to end, or use another folder"
        )


# -- the lock: one writer per run folder --------------------------------------------------
@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the block, or raise :class:`FolderBusy` at once.

    An OS-level lock (``flock``) that the kernel releases when the process
    ends, however it ends: a killed run never leaves a stale lock. The lock
    file says who holds it, for the message another process prints.
    """
    path = Path(folder) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(Path(folder), _holder_info(path)) from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def holder(folder: Path) -> dict[str, Any] | None:
    """Who holds the folder's lock (pid, host, started), or None when no live process does."""
    path = Path(folder) / LOCK
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted only when nobody holds it exclusively
    except BlockingIOError:
        return _holder_info(path)
    finally:
        os.close(fd)
    return None


def _holder_info(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # between the lock and the write of who holds it
        return {}


# -- results.json ----------------------------------------------------------------
def clean(value: Any) -> Any:
    """JSON has no NaN or infinity: such a metric is recorded as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that a kill, a full disk or a power loss leaves the old or the new file.

    Written to a temporary file in the same folder, flushed to the disk
    (``fsync``), renamed over ``path`` (atomic within a file system), and the
    rename itself flushed (``fsync`` of the folder). A write that fails removes
    the temporary file and raises: ``path`` keeps its previous content.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # the file meant, not the temporary one
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _write_json(path: Path, content: dict[str, Any]) -> None:
    write_durably(path, (json.dumps(clean(content), indent=2, allow_nan=False) + "\n").encode())


def _write_versioned(folder: Path, name: str, content: dict[str, Any]) -> Path:
    """``folder/name`` replaced durably by ``content``, with the layout's ``format``."""
    path = Path(folder) / name
    _write_json(path, {"format": FORMAT, **content})
    return path


def write_results(folder: Path, record: dict[str, Any]) -> Path:
    return _write_versioned(folder, RESULTS, record)


def read_results(folder: Path) -> dict[str, Any] | None:
    """The record of how the run ended; None while there is none, or it cannot be read (a run to redo)."""
    try:
        return json.loads((Path(folder) / RESULTS).read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def status(folder: Path) -> Status:
    """The status in results.json; without one, running (a live process holds the lock) or unfinished."""
    record = read_results(folder)
    if record:
        return Status(record["status"])
    return Status.running if holder(folder) is not None else Status.unfinished


def recorded_folders(sweep_folder: Path) -> list[Path]:
    """The folders directly below ``sweep_folder`` that hold a results.json, in no particular order."""
    return [record.parent for record in Path(sweep_folder).glob(f"*/{RESULTS}")]


# -- task.json ---------------------------------------------------------------------
def write_task(folder: Path, task: Task) -> Path:
    return _write_versioned(folder, TASK, dataclasses.asdict(task))


def read_task(folder: Path) -> Task | None:
    """The run's Task, as its data plugin declared it; None in folders of runs that predate task.json."""
    path = Path(folder) / TASK
    if not path.is_file():
        return None
    fields = json.loads(path.read_text())
    fields.pop("format", None)
    for name in ("metrics", "vocab"):  # tuples in the Task, lists in JSON
        if fields.get(name) is not None:
            fields[name] = tuple(fields[name])
    return Task(**fields)


# -- the config and the chosen plugins -------------------------------------------------
def saved_config(folder: Path) -> DictConfig:
    """The composed config the run was started with."""
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise RunFolderError(f"{folder} is not a run folder (no {CONFIG})")
    return OmegaConf.load(path)


def choices(folder: Path) -> dict[str, str]:
    """The option chosen in each config group (``cell``: ``lstm``, ``data``: ``ptb``, ...)."""
    return dict(OmegaConf.load(Path(folder) / HYDRA).hydra.runtime.choices)


def overrides(folder: Path) -> list[str]:
    """The job's command-line overrides, as Hydra recorded them."""
    path = Path(folder) / OVERRIDES
    return list(OmegaConf.load(path)) if path.is_file() else []


def hydra_job(folder: Path) -> tuple[dict[str, str], int | None]:
    """The chosen options (as :func:`choices`) and the job's number in its sweep (``hydra.job.num``; None for a
    single run), in one read of Hydra's long record; ``({}, None)`` without one."""
    path = Path(folder) / HYDRA
    if not path.is_file():
        return {}, None
    hydra = OmegaConf.load(path).hydra
    return dict(hydra.runtime.choices), hydra.job.get("num") if hydra.mode == "MULTIRUN" else None


def started(folder: Path) -> float:
    """When the run started (seconds since the epoch): Hydra saves the config before the job runs."""
    return (Path(folder) / CONFIG).stat().st_mtime


def last_written(folder: Path) -> float | None:
    """When the run last wrote metrics.csv or its last checkpoint; None where it wrote neither.

    A run killed without a record ended about then.
    """
    written = [path.stat().st_mtime for path in (Path(folder) / METRICS, Path(folder) / LAST) if path.exists()]
    return max(written, default=None)


def run_folders(paths: list[Path]) -> list[Path]:
    """The run folders at or below ``paths``: every folder with a saved config, in order, once each."""
    found: list[Path] = []
    for path in paths:
        found += sorted(config.parents[1] for config in Path(path).glob(f"**/{CONFIG}"))
    return list(dict.fromkeys(found))


# -- checkpoints -------------------------------------------------------------------------
def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint without executing code from it (``weights_only=True``)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise RunFolderError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}). "
            "Delete it to start the run over, or set resume=false."
        ) from None


def checkpoint_identity(path: Path) -> tuple[dict[str, Any] | None, int]:
    """The run key a checkpoint was written for (None if it holds none) and its global step."""
    state = load_checkpoint(path)
    return state.get("runner", {}).get("identity"), int(state.get("global_step", 0))


def checkpoint_step(folder: Path) -> int:
    """The step of the folder's last.ckpt (0 without one), read without loading its tensors."""
    import torch

    path = Path(folder) / LAST
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("global_step", 0))


# -- metrics.csv and grad_flow.csv -----------------------------------------------------------
def metrics_rows(folder: Path) -> list[dict[str, str]]:
    """The rows of metrics.csv as Lightning wrote them (a column is empty where a row did not log it)."""
    path = Path(folder) / METRICS
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def metric_curve(folder: Path, column: str) -> list[tuple[int, float]]:
    """(step, value) of one column of metrics.csv, where it was logged and finite."""
    rows = [(int(r["step"]), float(r[column])) for r in metrics_rows(folder) if r.get(column)]
    return [(step, value) for step, value in rows if math.isfinite(value)]


def metric_columns(folder: Path, columns: list[str]) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of each column of metrics.csv where it was logged, NaN and infinity kept; one read for all."""
    found: dict[str, list[tuple[int, float]]] = {column: [] for column in columns}
    for row in metrics_rows(folder):
        for column in columns:
            if row.get(column):
                found[column].append((int(row["step"]), float(row[column])))
    return found


def last_step(folder: Path) -> int | None:
    """The step of the last row of metrics.csv, read from the file's end: a long run's file is not read whole."""
    path = Path(folder) / METRICS
    if not path.is_file():
        return None
    with path.open("rb") as f:
        header = f.readline().decode().strip().split(",")
        f.seek(0, 2)
        f.seek(max(f.tell() - 4096, 0))
        lines = f.read().decode(errors="replace").strip().splitlines()
    if "step" not in header or len(lines) < 2:
        return None
    row = lines[-1].split(",")
    try:
        return int(row[header.index("step")])
    except (IndexError, ValueError):
        return None


def metrics_before(folder: Path, before_step: int) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of metrics.csv logged before ``before_step`` (what a resumed run keeps)."""
    path = Path(folder) / METRICS
    if not path.exists():
        return [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), [row for row in reader if int(row["step"]) < before_step]


def write_metrics(folder: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    text = io.StringIO(newline="")
    out = csv.DictWriter(text, fieldnames=header)
    out.writeheader()
    out.writerows(rows)
    write_durably(Path(folder) / METRICS, text.getvalue().encode())


def grad_flow(folder: Path, before_step: int | None = None) -> list[tuple[int, int, float]]:
    """The probe's rows (step, t, ||dL/dh_t||), those before ``before_step`` if given."""
    path = Path(folder) / GRAD_FLOW
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = [(int(r["step"]), int(r["t"]), float(r["norm"])) for r in csv.DictReader(f)]
    return [row for row in rows if before_step is None or row[0] < before_step]


def write_grad_flow(folder: Path, rows: list[tuple[int, int, float]], append: bool = False) -> None:
    with (Path(folder) / GRAD_FLOW).open("a" if append else "w", newline="") as f:
        writer = csv.writer(f)
        if not append:
            writer.writerow(["step", "t", "norm"])
        writer.writerows(rows)


# -- jobs.json: a sweep's plan -----------------------------------------------------------------
def write_jobs(sweep_folder: Path, jobs: list[list[str]]) -> Path:
    """The sweep's jobs in launch order, job number ``i`` with the overrides ``jobs[i]``."""
    Path(sweep_folder).mkdir(parents=True, exist_ok=True)
    path = Path(sweep_folder) / JOBS
    _write_json(path, {"format": FORMAT, "jobs": [{"num": i, "overrides": o} for i, o in enumerate(jobs)]})
    return path


def read_jobs(sweep_folder: Path) -> list[dict[str, Any]] | None:
    """The sweep's planned jobs (``num``, ``overrides``); None where the sweep wrote no plan."""
    try:
        return json.loads((Path(sweep_folder) / JOBS).read_text())["jobs"]
    except (OSError, ValueError, KeyError):
        return None


def sweep_id(sweep_folder: Path) -> str:
    """The sweep's id: 8 random hex digits, created by the first job that asks and read by every other.

    Created whole or not at all (written to a file of its own, then linked to
    its name, which fails where another job linked first), so that jobs that
    start together, in processes or on nodes of their own, read the same id.
    """
    path = Path(sweep_folder) / SWEEP_ID
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        mine = path.with_name(f".{SWEEP_ID}.{os.getpid()}.{secrets.token_hex(4)}")
        mine.write_text(secrets.token_hex(4) + "\n")
        try:
            os.link(mine, path)
        except FileExistsError:  # another job was first: its id counts
            pass
        finally:
            mine.unlink()
    return path.read_text().strip()


# -- segments.json: the processes that trained a run ----------------------------------------
def write_segments(folder: Path, content: dict[str, Any]) -> Path:
    return _write_versioned(folder, SEGMENTS, content)


def read_segments(folder: Path) -> dict[str, Any] | None:
    """``{"wandb_id": ..., "segments": [{"from_step", "steps", "wall_s", "status"}, ...]}``; None without one."""
    try:
        content = json.loads((Path(folder) / SEGMENTS).read_text())
    except (OSError, ValueError):
        return None
    content.pop("format", None)
    return content
