"""Never lose an experiment: what to do with a run folder that already holds work.

Re-running a command into the same folder (``hydra.run.dir``, or the same
``hydra.sweep.dir`` for a multirun) skips a run that finished the same
experiment, continues an unfinished or interrupted one from ``checkpoints/last.ckpt``, and
refuses a folder whose work belongs to another configuration. ``resume=false``
starts over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner._config import identity
from runner._config.job import JobConfig
from runner._run_folder import run_dir
from runner._run_folder.run_dir import FINISHED, LAST, RunFolderError


@dataclass
class Plan:
    finished: dict[str, Any] | None = None  # the record of a run that is already done
    checkpoint: Path | None = None  # where to continue from
    step: int = 0  # the checkpoint's global step


def plan(folder: Path, job: JobConfig) -> Plan:
    """Decide, before anything is written, whether to skip, continue or start this run.

    Both rules compare the key of :mod:`runner._config.identity`: a finished
    run of the same experiment is skipped; a checkpoint of the same run, less
    how long it trains, is continued.
    """
    if not job.composed.get("resume", True):
        return Plan()
    record = run_dir.read_results(folder)
    if record and record.get("status") in FINISHED and _recorded_experiment(record) == job.experiment:
        return Plan(finished=record)
    last = folder / LAST
    if last.exists():
        saved, step = run_dir.checkpoint_identity(last)
        if saved != job.run_key:
            changed = "; ".join(identity.differences(job.run_key, saved or {})[:5])
            raise RunFolderError(
                f"{last} was written by a different configuration ({changed}). "
                "Use another run folder (hydra.run.dir=...) or start over with resume=false."
            )
        return Plan(checkpoint=last, step=step)
    return Plan()


def _recorded_experiment(record: dict[str, Any]) -> dict[str, Any] | None:
    """The experiment's key of a results.json, from the config and the choices it records."""
    if "config" not in record:
        return None
    return identity.experiment(record["config"], {k: record.get(k) for k in identity.GROUPS})
