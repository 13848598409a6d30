"""A multirun reports its jobs as they start and end, writes its plan, and sums up how it went.

A Hydra callback (configured in src/runner/_config/conf/config.yaml under ``hydra.callbacks``):
when the sweep starts it writes the jobs it will run into the sweep folder
(``jobs.json``, so that ``python -m runner.status`` can name the jobs that never
started); every job logs one line as it starts and one as it ends (``job k/N``,
k from 0 as Hydra numbers the job folders, its overrides, status, metric, wall
time, the time the sweep has left); at
the end it prints the summary, and ``python -m runner`` exits 1 unless every
job finished ``ok`` or ``diverged``, or is running in another process (a
rerun of the sweep skips it: that job is not this sweep's failure).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from runner._config import naming
from runner._config.job import in_multirun
from runner._run_folder import run_dir
from runner.status import jobs

log = logging.getLogger("runner")

NAME_BYTES = 200  # of a job folder's name from its overrides; file systems allow 255 bytes per name


def job_folder(overrides: str) -> str:
    """A job folder's name from its overrides (``hydra.job.override_dirname``), short enough for any file system.

    A name over :data:`NAME_BYTES` is cut there and ends with 8 hex digits of its
    SHA-1, so that jobs whose names share the first 200 bytes stay apart;
    the folder's ``.hydra/overrides.yaml`` keeps them all.
    """
    raw = overrides.encode()
    if len(raw) <= NAME_BYTES:
        return overrides
    return raw[:NAME_BYTES].decode(errors="ignore") + "~" + hashlib.sha1(raw).hexdigest()[:8]


# src/runner/_config/conf/config.yaml names job folders with it, in the launching process and in launcher workers
OmegaConf.register_new_resolver("runner.job_folder", job_folder, replace=True)

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def planned_jobs(config: DictConfig) -> list[list[str]] | None:
    """The overrides of every job Hydra's basic sweeper will launch, in launch order; None for other sweepers.

    The same expansion as BasicSweeper.sweep: the sweeper's params, then the
    command line's overrides, as a Cartesian product. Other sweepers (Optuna)
    choose their jobs as they go.
    """
    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    params = [f"{k}={v}" for k, v in (config.hydra.sweeper.get("params") or {}).items()]
    overrides = OverridesParser.create().parse_overrides(params + list(config.hydra.overrides.task))
    return [job for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]


def job_name(overrides: list[str], sweep_dir: str | Path | None, default: str = "defaults") -> str:
    """A job's name: its overrides that differ between its sweep's planned jobs (every one without a plan)."""
    plan = run_dir.read_jobs(Path(sweep_dir)) if sweep_dir else None
    return naming.name(overrides, [job["overrides"] for job in plan] if plan else None, default)


def varying(config: DictConfig) -> str:
    """The job's name in the sweep log."""
    return job_name(list(config.hydra.overrides.task), config.hydra.sweep.dir)


class SweepReport(Callback):
    """One line per job as it starts and ends, the plan at the start and the summary at the end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        jobs = planned_jobs(config)
        if jobs is not None:
            run_dir.write_jobs(Path(config.hydra.sweep.dir), jobs)
            print(f"sweep of {len(jobs)} jobs into {config.hydra.sweep.dir}", flush=True)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not in_multirun():  # Hydra calls the job hooks in a single run too
            return
        log.info("job %s started: %s", self._number(config), varying(config))

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        folder = Path(config.hydra.runtime.output_dir)
        if not in_multirun() or not (folder / run_dir.CONFIG).is_file():
            return
        job = jobs.job(folder)
        value = f"{job.metric} {job.value:.4g}" if job.value is not None else "no metric"
        sweep = jobs.jobs(Path(config.hydra.sweep.dir))
        running = sum(j.status == run_dir.Status.running for j in sweep)
        left = jobs.time_left(sweep, workers=running + 1)  # this job's worker takes the next one
        log.info(
            "job %s %s: %s  %s  %s  (sweep: %s left)",
            self._number(config),
            jobs.standing(job),
            varying(config),
            value,
            jobs.duration(job.wall_s),
            jobs.duration(left) if left is not None else "?",
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The summary; then a sweep with a job that failed exits 1, the last thing Hydra does in a multirun."""
        outcome = jobs.jobs(Path(config.hydra.sweep.dir))
        print(jobs.summary(outcome), flush=True)
        status = exit_status(outcome)
        if status:
            raise SystemExit(status)

    @staticmethod
    def _number(config: DictConfig) -> str:
        """``k/N``: k is ``hydra.job.num``, from 0 as the job's folder (``k_...``) and ``runner.status`` count it; N
        the jobs of the sweep's plan, or the sweeper's trial count, else unknown."""
        plan = run_dir.read_jobs(Path(config.hydra.sweep.dir))
        total = len(plan) if plan is not None else config.hydra.sweeper.get("n_trials", "?")
        return f"{config.hydra.job.num}/{total}"


def exit_status(outcome: list[jobs.Job]) -> int:
    """1 when a job of the sweep did not finish ok or diverged, nor runs elsewhere; else 0."""
    mine = [job for job in outcome if job.status != run_dir.Status.running]
    return 1 if mine and not jobs.finished(mine) else 0
