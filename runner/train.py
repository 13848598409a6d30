"""One run: build data, cell, gradient handler and model from the config, fit, record the outcome."""

from __future__ import annotations

import json
import logging
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from runner import distributed, registry, replicates, resume, results, wandb_run
from runner.allocator import tune_malloc
from runner.config import typed
from runner.task import Task

log = logging.getLogger("runner")


def build(cfg: DictConfig, choices: dict[str, str]):
    """The data module and the model of a composed config, from the installed plugins."""
    datamodule = registry.load().get("data", choices["data"]).builder(typed(cfg.data))
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule, build_model(cfg, choices, datamodule.task)


def build_model(cfg: DictConfig, choices: dict[str, str], task: Task):
    """The model of a composed config for ``task``; no data needed (``runner.lm`` rebuilds a run's model)."""
    from runner.model import SequenceModel

    plugins = registry.load()
    cell_cfg, grad_cfg = typed(cfg.cell), typed(cfg.grad)
    model_cfg, optim_cfg = typed(cfg.model), typed(cfg.optim)
    if task.inputs == "real":
        cell_input = task.input_size
    else:
        cell_input = model_cfg.embed_size or getattr(cell_cfg, "hidden_size", None)
        if cell_input is None:
            raise ValueError(f"cell {choices['cell']!r} has no hidden_size: set model.embed_size")
    cell = plugins.get("cell", choices["cell"]).builder(cell_cfg, cell_input)
    handler = plugins.get("grad", choices["grad"]).builder(grad_cfg)
    return SequenceModel(task, cell, cell_input, handler, model_cfg, optim_cfg)


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


def fit(cfg: DictConfig, choices: dict[str, str], run_dir: Path, plan: resume.Plan, loggers: list) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from runner import probe
    from runner.callbacks import Progress, Throughput

    quiet_lightning()
    if cfg.get("tune_malloc", True):
        tune_malloc()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model = build(cfg, choices)
    model.identity = resume.identity(cfg, choices)
    task = model.task
    monitor = f"val/{task.monitor}"
    checkpoint = ModelCheckpoint(dirpath=run_dir / resume.BEST.parent, filename=resume.BEST.stem, monitor=monitor,
                                 mode=task.monitor_mode)
    # last.ckpt every few steps, for resuming after a kill; Lightning writes it atomically
    last = ModelCheckpoint(dirpath=run_dir / resume.LAST.parent, save_top_k=0, save_last=True,
                           every_n_train_steps=cfg.checkpoint.every_n_steps)
    throughput = Throughput()
    csv_logger = CSVLogger(run_dir, name="", version="")
    trainer = L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        default_root_dir=run_dir,
        logger=[csv_logger, *loggers],
        callbacks=[checkpoint, last, throughput, Progress(), *probe.callbacks(cfg, run_dir)],
    )
    distributed.check_launch(trainer)
    if trainer.is_global_zero:  # under DDP the other processes write nothing
        resume.keep_metrics(csv_logger, plan.step)
        if task.vocab is not None:  # what runner.lm needs besides the checkpoint
            (run_dir / "vocab.json").write_text(json.dumps(list(task.vocab)))
    trainer.fit(model, datamodule=resume.resumable(datamodule), ckpt_path=plan.checkpoint, weights_only=True)
    trainer.save_checkpoint(run_dir / resume.LAST, weights_only=False)  # the full state: resumable
    outcome: dict[str, Any] = {"steps": trainer.global_step, "monitor": monitor, "monitor_mode": task.monitor_mode,
                               "baseline": task.baseline}
    if model.diverged_at is not None:
        outcome.update(status="diverged", diverged_at_step=model.diverged_at, steps=model.diverged_at)
    else:
        if model.validated_at != trainer.global_step:  # the final weights have not been scored yet
            trainer.validate(model, datamodule=datamodule, verbose=False, weights_only=True)
        outcome.update(status="ok", val=_strip(trainer.callback_metrics, "val/"))
        if task.has_test:
            tested = trainer.test(model, datamodule=datamodule, verbose=False, weights_only=True)[0]
            outcome["test"] = _strip(tested, "test/")
    if checkpoint.best_model_score is not None:
        outcome["best_val"] = {task.monitor: float(checkpoint.best_model_score)}
    per_process = throughput.tokens_per_s  # rank 0's part of every batch
    outcome["train_tokens_per_s"] = per_process * trainer.world_size if per_process is not None else None
    return outcome


def _strip(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix) :]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def run(cfg: DictConfig, choices: dict[str, str], run_dir: Path) -> dict[str, Any]:
    """Train one configuration and write ``results.json``; a failure is recorded, not raised.

    A folder that already holds this run finished is left as it is; one that
    holds another configuration's work is refused (``resume.RunFolderError``).
    """
    run_dir = Path(run_dir)
    plan = resume.plan(run_dir, cfg, choices)
    if plan.finished is not None:
        log.info("already finished in %s: skipped (resume=false to run it again)", run_dir)
        return plan.finished
    if plan.checkpoint is not None:
        log.info("resuming from %s", plan.checkpoint)
    start = time.perf_counter()
    record: dict[str, Any] = {
        "status": "failed",
        **{kind: choices.get(kind) for kind in ("cell", "data", "grad", "optim")},
        "seed": cfg.seed,
        **replicates.describe(cfg, choices),  # the configuration this seed replicates
        "config": resume.resolved(cfg),
    }
    try:
        for node in ("cell", "data", "grad", "model", "optim"):
            typed(cfg[node])  # every value checked before torch and W&B start: a typo costs no time
    except ValueError as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return _write(run_dir, record, start)
    with wandb_run.tracked(cfg, choices, run_dir, record) as loggers:  # the W&B run ends with the block
        try:
            record.update(fit(cfg, choices, run_dir, plan, loggers))
        except Exception as exc:  # the record says why; a multirun goes on with the next job
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return _write(run_dir, record, start)


def _write(run_dir: Path, record: dict[str, Any], start: float) -> dict[str, Any]:
    record["wall_s"] = round(time.perf_counter() - start, 3)
    if distributed.is_writer():
        results.write(run_dir, record)
    return record
