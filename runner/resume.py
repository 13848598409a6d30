"""Never lose an experiment: what to do with a run folder that already holds work.

Re-running a command into the same folder (``hydra.run.dir``, or the same
``hydra.sweep.dir`` for a multirun) skips a run that finished with the same
config, continues an unfinished one from ``checkpoints/last.ckpt``, and
refuses a folder whose work belongs to another configuration. ``resume=false``
starts over.
"""

from __future__ import annotations

import csv
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from omegaconf import DictConfig, OmegaConf

from runner import results

LAST = Path("checkpoints") / "last.ckpt"
BEST = Path("checkpoints") / "best.ckpt"  # by the task's validation metric
IDENTITY = ("cell", "data", "grad", "optim", "model", "seed")  # what makes two runs the same experiment


class RunFolderError(Exception):
    """The run folder holds work this command must not touch."""


def resolved(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def identity(cfg: DictConfig, choices: dict[str, str]) -> dict[str, Any]:
    """The config that defines the experiment; the trainer's limits may change between attempts."""
    plain = resolved(cfg)
    return {"choices": {k: choices.get(k) for k in IDENTITY[:4]}, **{k: plain.get(k) for k in IDENTITY}}


def differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += differences(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {vb!r} in the folder, {va!r} now")
    return out


@dataclass
class Plan:
    finished: dict[str, Any] | None = None  # the record of a run that is already done
    checkpoint: Path | None = None  # where to continue from
    step: int = 0  # the checkpoint's global step


def plan(run_dir: Path, cfg: DictConfig, choices: dict[str, str]) -> Plan:
    """Decide, before anything is written, whether to skip, continue or start this run."""
    if not cfg.get("resume", True):
        return Plan()
    record = _read_record(run_dir)
    if record and record.get("status") in ("ok", "diverged") and record.get("config") == resolved(cfg):
        return Plan(finished=record)
    last = run_dir / LAST
    if last.exists():
        state = load_checkpoint(last)
        saved = state.get("runner", {}).get("identity")
        wanted = identity(cfg, choices)
        if saved != wanted:
            changed = "; ".join(differences(wanted, saved or {})[:5])
            raise RunFolderError(
                f"{last} was written by a different configuration ({changed}). "
                "Use another run folder (hydra.run.dir=...) or start over with resume=false."
            )
        return Plan(checkpoint=last, step=int(state.get("global_step", 0)))
    return Plan()


def _read_record(run_dir: Path) -> dict[str, Any] | None:
    try:
        return results.read(run_dir)
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # an unreadable record is no record: the run is redone


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


def keep_metrics(logger, step: int) -> None:
    """Keep the rows of metrics.csv logged before the checkpoint; Lightning's CSV writer deletes the file."""
    path = Path(logger.log_dir) / "metrics.csv"
    rows, header = [], []
    if path.exists():
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            rows = [row for row in reader if int(row["step"]) < step]
    writer = logger.experiment  # creating the writer removes the old file
    if rows:
        with path.open("w", newline="") as f:
            out = csv.DictWriter(f, fieldnames=header)
            out.writeheader()
            out.writerows(rows)
        writer.metrics_keys = sorted(header)


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
