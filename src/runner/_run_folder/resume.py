"""Never lose an experiment: what to do with a run folder that already holds work.

Re-running a command into the same folder (``hydra.run.dir``, or the same
``hydra.sweep.dir`` for a multirun) skips a run that finished with the same
config, continues an unfinished or interrupted one from ``checkpoints/last.ckpt``, and
refuses a folder whose work belongs to another configuration. ``resume=false``
starts over.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from runner._run_folder import run_dir
from runner._run_folder.run_dir import FINISHED, LAST, RunFolderError, resolved

IDENTITY = ("cell", "data", "grad", "optim", "model", "seed")  # what makes two runs the same experiment


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


def plan(folder: Path, cfg: DictConfig, choices: dict[str, str]) -> Plan:
    """Decide, before anything is written, whether to skip, continue or start this run."""
    if not cfg.get("resume", True):
        return Plan()
    record = run_dir.read_results(folder)
    if record and record.get("status") in FINISHED and record.get("config") == resolved(cfg):
        return Plan(finished=record)
    last = folder / LAST
    if last.exists():
        state = run_dir.load_checkpoint(last)
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
