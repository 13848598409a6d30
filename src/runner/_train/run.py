"""One run: build data, cell, gradient handler and model from the config, fit, record the outcome."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import traceback
import warnings
from pathlib import Path
from typing import Any

from runner._config import identity, replicates
from runner._config.job import JobConfig
from runner._run_folder import durable, interrupt, replay, resume, run_dir
from runner._run_folder.run_dir import BEST, LAST, Status
from runner._run_folder.segments import Segments
from runner._train import cpu, distributed, wandb_run
from runner._train.allocator import tune_malloc
from runner.plugins import registry
from runner.task import Task

log = logging.getLogger("runner")


def build(job: JobConfig):
    """The data module and the model of a job, from the installed plugins."""
    datamodule = registry.load().get("data", job.choices["data"]).builder(job.settings.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule, build_model(job, datamodule.task)


def build_model(job: JobConfig, task: Task):
    """The model of a job for ``task``; no data needed (``runner.lm`` rebuilds a run's model)."""
    from runner._train.model import SequenceModel

    plugins = registry.load()
    s = job.settings
    if task.inputs == "real":
        cell_input = task.input_size
    else:
        cell_input = s.model.embed_size or getattr(s.cell, "hidden_size", None)
        if cell_input is None:
            raise ValueError(f"cell {job.choices['cell']!r} has no hidden_size: set model.embed_size")
    cell = plugins.get("cell", job.choices["cell"]).builder(s.cell, cell_input)
    handler = plugins.get("grad", job.choices["grad"]).builder(s.grad)
    optimizer = functools.partial(plugins.get("optim", job.choices["optim"]).builder, s.optim)
    return SequenceModel(task, cell, cell_input, handler, optimizer, s.model, s.schedule)


def quiet_lightning() -> None:
    """One log stream (Hydra's), without Lightning's banners and tips repeated per sweep job."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # Hydra's files share the folder
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
    # under DDP the model sums its metrics over the processes itself, and gradient statistics are
    # equal on every process after DDP's all-reduce: Lightning's advice to sync them does not apply
    warnings.filterwarnings("ignore", message=".*sync_dist=True.*")
    # a resumed run sees the batches the uninterrupted run would have seen: the runner replays the data
    # position itself (runner._run_folder.replay, tested bit for bit), which Lightning cannot tell
    warnings.filterwarnings("ignore", message=".*your dataloader is not resumable.*")


def fit(
    job: JobConfig, folder: Path, plan: resume.Plan, loggers: list, signals: interrupt.Signals, segments: Segments
) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from runner._train import live, probe, threads  # Lightning callbacks: loaded after the run's first line
    from runner._train.callbacks import Progress, SegmentClock, Throughput

    quiet_lightning()
    root = job.settings.root
    if root.tune_malloc:
        tune_malloc()
    cores = threads.Threads(root.threads, root.share_cores)  # registers while the trainer runs
    L.seed_everything(root.seed, workers=True, verbose=False)
    datamodule, model = build(job)
    model.identity = job.run_key
    task = model.task
    monitor = f"val/{task.monitor}"
    checkpoint = ModelCheckpoint(
        dirpath=folder / BEST.parent, filename=BEST.stem, monitor=monitor, mode=task.monitor_mode
    )
    # last.ckpt every few steps, for resuming after a kill; Lightning writes it atomically
    last = ModelCheckpoint(
        dirpath=folder / LAST.parent, save_top_k=0, save_last=True, every_n_train_steps=root.checkpoint.every_n_steps
    )
    throughput = Throughput()
    csv_logger = CSVLogger(folder, name="", version="")
    show = live.wanted(job.settings.trainer.enable_progress_bar, job.multirun)
    display = live.LiveProgress() if show else None
    if display is not None:
        signals.say = display.notice  # the interrupt's line stays below the display
    trainer = L.Trainer(
        **{**job.trainer_arguments, "enable_progress_bar": show},
        default_root_dir=folder,
        logger=[csv_logger, *loggers],
        callbacks=[
            checkpoint,
            last,
            throughput,
            cores,
            Progress(),
            SegmentClock(segments),
            *probe.callbacks(job.settings.probe, folder),
            interrupt.stop_after_step(signals, folder),
            *([display] if display is not None else []),
        ],
        plugins=[durable.checkpoint_io()],
    )
    distributed.check_launch(trainer, job.multirun)
    if trainer.is_global_zero:  # under DDP the other processes write nothing
        keep_metrics(csv_logger, plan.step)
        run_dir.write_task(folder, task)  # what tools such as runner.lm need besides the checkpoint
    trainer.fit(model, datamodule=replay.resumable(datamodule), ckpt_path=plan.checkpoint, weights_only=True)
    trainer.save_checkpoint(folder / LAST, weights_only=False)  # the full state: resumable
    outcome: dict[str, Any] = {
        "steps": trainer.global_step,
        "monitor": monitor,
        "monitor_mode": task.monitor_mode,
        "baseline": task.baseline,
        "machine": cpu.machine(),  # one seed's result depends on the CPU's kernels
    }
    best = float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None
    if model.diverged_at is not None:
        outcome.update(
            status=Status.diverged, diverged_at_step=model.diverged_at, diverged_noticed_at_step=model.noticed_at
        )
    else:
        if model.validated_at != trainer.global_step:  # the final weights have not been scored yet
            trainer.validate(model, datamodule=datamodule, verbose=False, weights_only=True)
        outcome.update(status=Status.ok, val=_strip(trainer.callback_metrics, "val/"))
        final = outcome["val"].get(task.monitor)
        if final is not None and math.isfinite(final) and (best is None or _better(final, best, task.monitor_mode)):
            trainer.save_checkpoint(
                folder / BEST, weights_only=False
            )  # the final validation counts for best, as the periodic ones do
            best = final
        if task.has_test:
            tested = trainer.test(model, datamodule=datamodule, verbose=False, weights_only=True)[0]
            outcome["test"] = _strip(tested, "test/")
    if best is not None and math.isfinite(best):
        outcome["best_val"] = {task.monitor: best}
    per_process = throughput.tokens_per_s  # rank 0's part of every batch
    outcome["train_tokens_per_s"] = per_process * trainer.world_size if per_process is not None else None
    outcome.update(cores.record())  # after the test: every change of the share
    return outcome


def keep_metrics(logger, step: int) -> None:
    """Keep the rows of metrics.csv logged before the checkpoint; Lightning's CSV writer deletes the file."""
    header, rows = run_dir.metrics_before(logger.log_dir, step)
    writer = logger.experiment  # creating the writer removes the old file
    if rows:
        run_dir.write_metrics(logger.log_dir, header, rows)
        writer.metrics_keys = sorted(header)


def _better(value: float, than: float, mode: str) -> bool:
    return value > than if mode == "max" else value < than


def _strip(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix) :]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def run(job: JobConfig, folder: Path) -> dict[str, Any]:
    """Train one job and write ``results.json``; a failure is recorded, not raised.

    A folder that already holds this run finished is left as it is; one that
    holds another configuration's work is refused (``run_dir.RunFolderError``),
    and so is one that another live process writes (``run_dir.FolderBusy``).
    SIGINT and SIGTERM stop the run after a checkpoint (``runner.interrupt``).
    """
    folder = Path(folder)
    with _only_writer(folder), interrupt.handled() as signals:
        try:
            return _attempt(job, folder, signals)
        except interrupt.Interrupted as stop:  # before or after training: the folder's records stay as they are
            return interrupt.outcome(stop, folder)


def _only_writer(folder: Path) -> contextlib.AbstractContextManager:
    """The folder's lock, held by the process that writes it (under DDP, the others share rank 0's)."""
    return run_dir.locked(folder) if distributed.is_writer() else contextlib.nullcontext()


def _attempt(job: JobConfig, folder: Path, signals: interrupt.Signals) -> dict[str, Any]:
    if not job.multirun:  # a first line at once, before torch loads (a sweep's job says "job k/N started")
        log.info("run in %s", folder)
    plan = resume.plan(folder, job)
    if plan.finished is not None:
        log.info("already finished in %s: skipped (resume=false to run it again)", folder)
        return plan.finished
    segments = Segments(folder, plan.step if plan.checkpoint is not None else None, write=distributed.is_writer())
    if plan.checkpoint is not None:
        log.info("resuming from %s", plan.checkpoint)
    record: dict[str, Any] = {
        "status": Status.failed,
        **{group: job.choices.get(group) for group in identity.GROUPS},
        "seed": job.config["seed"],
        **replicates.describe(job),  # the configuration this seed replicates
        "config": job.config,
    }
    try:
        job.check()  # every value checked before torch and W&B start: a typo costs no time
    except ValueError as exc:
        record.update(status=Status.failed, error=f"{type(exc).__name__}: {exc}")
        return _write(folder, record, segments)
    with wandb_run.tracked(job, folder, record, segments) as loggers:  # the W&B run ends with the block
        try:
            record.update(fit(job, folder, plan, loggers, signals, segments))
        except interrupt.Interrupted as stop:  # after a checkpoint to continue from
            record.update(interrupt.outcome(stop, folder))
        except Exception as exc:  # the record says why; a multirun goes on with the next job
            error = cpu.explain(exc, job.settings.trainer.precision) or f"{type(exc).__name__}: {exc}"
            record.update(status=Status.failed, error=error, traceback=traceback.format_exc())
        return _write(folder, record, segments)


def _write(folder: Path, record: dict[str, Any], segments: Segments) -> dict[str, Any]:
    # the whole run's time, over every segment that trained it, and this segment's beside it, read at one moment
    segments.end()
    record.update(wall_s=segments.total(), segment_wall_s=segments.elapsed())
    if distributed.is_writer():
        try:
            segments.save(record.get("steps"), record["status"])
            run_dir.write_results(folder, record)
        except OSError as exc:  # a full disk, lost permissions: the checkpoint written before stays
            raise run_dir.RunFolderError(
                f"cannot write {exc.filename or folder / run_dir.RESULTS}: {exc.strerror or exc}. {LAST} is intact: "
                "fix this and re-run the same command to continue"
            ) from None
    return record
