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

from runner import registry, results
from runner.config import typed

log = logging.getLogger("runner")


def build(cfg: DictConfig, choices: dict[str, str]):
    """The data module and the model of a composed config, from the installed plugins."""
    from runner.model import SequenceModel

    plugins = registry.load()
    cell_cfg, data_cfg, grad_cfg = typed(cfg.cell), typed(cfg.data), typed(cfg.grad)
    model_cfg, optim_cfg = typed(cfg.model), typed(cfg.optim)
    datamodule = plugins.get("data", choices["data"]).builder(data_cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    task = datamodule.task
    if task.inputs == "real":
        cell_input = task.input_size
    else:
        cell_input = model_cfg.embed_size or getattr(cell_cfg, "hidden_size", None)
        if cell_input is None:
            raise ValueError(f"cell {choices['cell']!r} has no hidden_size: set model.embed_size")
    cell = plugins.get("cell", choices["cell"]).builder(cell_cfg, cell_input)
    handler = plugins.get("grad", choices["grad"]).builder(grad_cfg)
    model = SequenceModel(task, cell, cell_input, handler, model_cfg, optim_cfg)
    return datamodule, model


def quiet_lightning() -> None:
    """One log stream (Hydra's), without Lightning's banners and tips repeated per sweep job."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")  # Hydra's files share the folder
    warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")


def fit(cfg: DictConfig, choices: dict[str, str], run_dir: Path) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from runner.callbacks import Progress, Throughput

    quiet_lightning()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model = build(cfg, choices)
    task = model.task
    if task.vocab is not None:  # what runner.lm needs besides the checkpoint
        (run_dir / "vocab.json").write_text(json.dumps(list(task.vocab)))
    monitor = f"val/{task.monitor}"
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints", filename="best", monitor=monitor, mode=task.monitor_mode, save_last=True
    )
    throughput = Throughput()
    trainer = L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        default_root_dir=run_dir,
        logger=[CSVLogger(run_dir, name="", version="")],
        callbacks=[checkpoint, throughput, Progress()],
    )
    trainer.fit(model, datamodule=datamodule)
    outcome: dict[str, Any] = {"steps": trainer.global_step, "monitor": monitor, "baseline": task.baseline}
    if model.diverged_at is not None:
        outcome.update(status="diverged", diverged_at_step=model.diverged_at, steps=model.diverged_at)
    else:
        if model.validated_at != trainer.global_step:  # the final weights have not been scored yet
            trainer.validate(model, datamodule=datamodule, verbose=False)
        outcome.update(status="ok", val=_strip(trainer.callback_metrics, "val/"))
        if task.has_test:
            tested = trainer.test(model, datamodule=datamodule, verbose=False)[0]
            outcome["test"] = _strip(tested, "test/")
    if checkpoint.best_model_score is not None:
        outcome["best_val"] = {task.monitor: float(checkpoint.best_model_score)}
    outcome["train_tokens_per_s"] = throughput.tokens_per_s
    return outcome


def _strip(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {k[len(prefix) :]: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def run(cfg: DictConfig, choices: dict[str, str], run_dir: Path) -> dict[str, Any]:
    """Train one configuration and write ``results.json``; a failure is recorded, not raised."""
    start = time.perf_counter()
    record: dict[str, Any] = {
        "status": "failed",
        **{kind: choices.get(kind) for kind in ("cell", "data", "grad", "optim")},
        "seed": cfg.seed,
    }
    try:
        record.update(fit(cfg, choices, Path(run_dir)))
    except Exception as exc:  # the record says why; a multirun goes on with the next job
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    record["wall_s"] = round(time.perf_counter() - start, 3)
    results.write(run_dir, record)
    return record
