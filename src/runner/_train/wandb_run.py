"""``logger=wandb``: one Weights & Biases run per job, next to the metrics.csv every run writes.

A job resumed after an interruption or a kill continues its W&B run: the same
run id (kept in ``segments.json``, :mod:`runner._run_folder.segments`) with
``resume="allow"``; offline, each segment writes a folder of its own under
that id, and ``wandb sync`` of them all uploads them as one run, in order. An
interrupted segment is marked preempting and ends with the process's exit
code (130, 143), which W&B shows as preempted, not failed.

The run is written to ``RUN_DIR/wandb``. It goes online when the machine is
logged in (``wandb login``), offline otherwise (``wandb sync`` uploads it
later); ``WANDB_MODE`` or ``logger.mode`` decide instead when set. W&B never
stops training: if it cannot start, one warning and the job goes on without
it. ``wandb`` is imported only here, and only when a run starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner._config import replicates
from runner._config.job import JobConfig
from runner._run_folder import interrupt, run_dir, sweep
from runner._run_folder.segments import Segments
from runner._train import distributed
from runner.report.facets import facets

log = logging.getLogger("runner")

STEP = "trainer/global_step"  # the x axis of every metric, as Lightning's WandbLogger logs it
SUMMARY = ("status", "steps", "wall_s", "segment_wall_s", "monitor", "diverged_at_step", "error", "train_tokens_per_s")
CURVES = 8  # gradient-flow curves drawn in the W&B plot; grad_flow.csv keeps them all
GROUP_CHARS = 128  # W&B's longest group name


@contextlib.contextmanager
def tracked(job: JobConfig, folder: Path, record: dict[str, Any], segments: Segments) -> Iterator[list]:
    """The Lightning loggers W&B adds to this job (none without it), for the duration of the block.

    On leaving the block, whatever happened in it, the W&B run gets ``record``
    (status and final metrics) as its summary and ends, so that the next job
    of a multirun starts a run of its own.
    """
    run = start(job, folder, segments)
    try:
        yield [] if run is None else [lightning_logger(run)]
    finally:
        if run is not None:
            finish(run, record)


def start(job: JobConfig, folder: Path, segments: Segments) -> Any | None:
    """The W&B run of this job, or None: another logger, W&B disabled, not rank 0, or W&B failed."""
    settings = job.settings.logger
    if settings is None or not distributed.is_writer():
        return None
    chosen = settings.mode.value if settings.mode is not None else None
    if (chosen or os.environ.get("WANDB_MODE")) == "disabled":
        return None
    try:
        import wandb

        unlogged = chosen is None and not os.environ.get("WANDB_MODE") and not wandb.login(prompt=False, verify=False)
        if unlogged:
            chosen = "offline"
        run = wandb.init(
            project=settings.project,
            entity=settings.entity,
            group=settings.group or default_group(job),
            job_type=settings.job_type,
            name=settings.name or default_name(job),
            tags=tags(job) + list(settings.tags),
            config={**job.config, **replicates.describe(job)},
            dir=folder,
            mode=chosen,
            id=segments.wandb_id,  # every segment of the job's run, one W&B run
            resume="allow",  # W&B continues the run of that id where one exists, else starts it
            reinit="create_new",  # never continue another job's run
            settings=wandb.Settings(quiet=True),  # our log says where the run went; no per-job banners
        )
    except Exception as exc:  # W&B is a record of the run, never a reason to lose it
        log.warning("W&B did not start, training goes on without it: %s: %s", type(exc).__name__, exc)
        return None
    if segments.resumed:
        log.info("W&B run %s continues", run.id)
    if run.offline:
        why = " (no W&B credentials: `wandb login` makes the next runs go online)" if unlogged else ""
        every_segment = Path(run.dir).parent.with_name(f"offline-run-*-{run.id}")  # all of this run, in order
        log.info("W&B run %s is offline%s; upload it with: wandb sync %s", run.id, why, every_segment)
    else:
        log.info("W&B run %s: %s", run.id, run.url)
    return run


def lightning_logger(run: Any):
    """Lightning's WandbLogger over our run, with the step axis it sets up for the runs it starts itself."""
    from lightning.pytorch.loggers import WandbLogger

    run.define_metric(STEP)
    run.define_metric("*", step_metric=STEP, step_sync=True)
    return WandbLogger(experiment=run, project=run.project)


def finish(run: Any, record: dict[str, Any]) -> None:
    try:
        run.summary.update(summary(record))
        if record.get("status") == run_dir.Status.interrupted:
            run.mark_preempting()  # W&B shows the run preempted, to be resumed, rather than failed
            code = interrupt.exit_code(record)
        else:
            code = 0 if record.get("status") in run_dir.FINISHED else 1
        run.finish(exit_code=code)
        import wandb

        wandb.teardown()  # returns once the run's files are complete on disk
    except Exception as exc:
        log.warning("W&B did not finish cleanly: %s: %s", type(exc).__name__, exc)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The job's outcome as W&B summary keys: status, steps, val/..., best_val/..., baseline/..."""
    record = run_dir.clean(record)
    out = {key: record[key] for key in SUMMARY if record.get(key) is not None}
    for part in ("val", "test", "best_val", "baseline"):
        out.update({f"{part}/{name}": value for name, value in (record.get(part) or {}).items()})
    return out


def tags(job: JobConfig) -> list[str]:
    described = facets(job.choices, job.config)
    experiment = job.choices.get("experiment")
    replicate = f"replicate={replicates.replicate_id(job)}"  # the seeds of one configuration
    named = [f"experiment={experiment}"] if experiment else []
    present = [f"{k}={v}" for k, v in described.items() if v is not None]  # values that exist
    return [*present, replicate, *named]


def default_group(job: JobConfig) -> str:
    """A multirun's jobs: their sweep (:func:`sweep_group`); a single run: its replicate, with the other seeds."""
    return sweep_group(job.sweep_dir) if job.multirun else replicates.replicate_id(job)


def sweep_group(sweep_dir: str | Path) -> str:
    """The sweep folder as given, and the sweep's random id (``run_dir.sweep_id``): never another sweep's.

    The id is written once into the sweep folder, so every job reads the same
    one: jobs on other nodes (SLURM) and reruns of the sweep too. The folder
    as given (``sweeps/q1``) and even its absolute path recur on other
    machines and in later sweeps; a hash of the host would split a SLURM
    sweep whose jobs run on several nodes.
    """
    suffix = f"-{run_dir.sweep_id(Path(sweep_dir))}"
    return str(sweep_dir)[-(GROUP_CHARS - len(suffix)) :] + suffix


def default_name(job: JobConfig) -> str:
    """The job's overrides that differ between the sweep's jobs (every override of a single run), else its choices."""
    return sweep.job_name(
        job.overrides, job.sweep_dir, default="/".join(str(job.choices.get(k)) for k in ("cell", "data", "grad"))
    )


def log_grad_flow(trainer: Any, rows: list[tuple[int, int, float]]) -> None:
    """The gradient-flow probe's curves as a W&B table and line plot, when the job has a W&B run."""
    from lightning.pytorch.loggers import WandbLogger

    runs = [logger.experiment for logger in trainer.loggers if isinstance(logger, WandbLogger)]
    if not runs or not rows:
        return
    import wandb

    probed = sorted({step for step, _, _ in rows})
    n = min(CURVES, len(probed))  # evenly spaced, the first and the last included
    shown = sorted({probed[i * (len(probed) - 1) // max(n - 1, 1)] for i in range(n)})
    kept = [row for row in rows if row[0] in shown]
    curves = [[(t, norm) for step, t, norm in kept if step == s] for s in shown]
    plot = wandb.plot.line_series(
        xs=[[t for t, _ in c] for c in curves],
        ys=[[n for _, n in c] for c in curves],
        keys=[f"step {s}" for s in shown],
        title="gradient flow: ||dL/dh_t|| by time step t",
        xname="t",
    )
    table = wandb.Table(columns=["step", "t", "norm"], data=[list(row) for row in kept])
    runs[0].log({"grad_flow/curves": plot, "grad_flow/table": table, STEP: trainer.global_step})
