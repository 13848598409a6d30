"""Replicates: jobs that differ only in their seeds are runs of one configuration.

A configuration is named by ``replicate``, a short hash of what defines the
experiment (the cell, data, grad and optim choices and the resolved config)
without the seeds, and by ``replicate_label``, the job's command-line and
sweep overrides without the seeds: ``cell=rnn,data.seq_len=20,grad=none``.
``results.json``, the W&B run (config and tag) and ``python -m runner.report``
all use these, so the report's rows and W&B's "group by replicate" agree.

Left out of the hash, besides ``seed`` and every key that follows it
(``data.seed`` is ``${seed}`` unless set on its own): the settings that say
where a run is written, logged, checkpointed or computed, and how often it
reports, none of which changes what is trained or how it is scored
(:data:`NOT_THE_EXPERIMENT`). Everything else counts: the trainer's
``max_steps``, ``val_check_interval``, ``precision`` or an added
``+trainer.NAME`` make another configuration.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf

CHOICES = ("cell", "data", "grad", "optim")  # the option names, which the config values alone do not tell apart
SEED = "seed"
NOT_THE_EXPERIMENT = (
    "logger",
    "probe",
    "checkpoint",
    "resume",
    "tune_malloc",  # records and measurements
    "trainer.log_every_n_steps",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "threads",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",  # where it runs
    "trainer.deterministic",  # the same computation, reproducible bit for bit or not
    "model.cuda_graphs",
    "model.check_finite_every",  # the same computation, launched another way
)
NOT_A_SETTING = ("experiment", "hydra")  # overrides that name a preset or Hydra's own options


def describe(cfg: DictConfig, choices: dict[str, Any], overrides: list[str] | None = None) -> dict[str, str]:
    """``{"replicate": id, "replicate_label": label}`` of a job's (unresolved) config.

    ``overrides``: the job's Hydra overrides (``hydra.overrides.task``); by
    default those of the running Hydra job, none outside one.
    """
    if overrides is None:
        overrides = _hydra_overrides()
    return {"replicate": replicate_id(cfg, choices), "replicate_label": label(cfg, choices, overrides)}


def replicate_id(cfg: DictConfig, choices: dict[str, Any]) -> str:
    """8 hex digits of the SHA-1 of the config without seeds and the settings that are not the experiment."""
    kept = _without(_plain(cfg, resolve=True), ignored(cfg))
    defined = {"choices": {k: choices.get(k) for k in CHOICES}, "config": kept}
    return hashlib.sha1(json.dumps(defined, sort_keys=True).encode()).hexdigest()[:8]


def label(cfg: DictConfig, choices: dict[str, Any], overrides: list[str]) -> str:
    """The overrides that make this configuration, sorted; the cell, data and grad choices when there are none."""
    skipped = ignored(cfg)
    kept = []
    for override in overrides:
        key = override.lstrip("+~").partition("=")[0]
        if key.split(".")[0] not in NOT_A_SETTING and not _under(key, skipped):
            kept.append(override.lstrip("+"))
    return ",".join(sorted(kept)) or ",".join(f"{k}={choices.get(k)}" for k in ("cell", "data", "grad"))


def ignored(cfg: DictConfig) -> list[str]:
    """The dotted keys left out: the seed, the keys that follow it and :data:`NOT_THE_EXPERIMENT`."""
    return [SEED, *_followers(_plain(cfg, resolve=False)), *NOT_THE_EXPERIMENT]


def _plain(cfg: DictConfig, resolve: bool) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=resolve, enum_to_str=True)


def _followers(node: Any, prefix: str = "") -> list[str]:
    """Keys whose value is the interpolation ``${seed}``."""
    if not isinstance(node, dict):
        return []
    found = []
    for key, value in node.items():
        if value == "${" + SEED + "}":
            found.append(prefix + key)
        found += _followers(value, f"{prefix}{key}.")
    return found


def _under(key: str, prefixes: list[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _without(node: Any, dropped: list[str], prefix: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    return {k: _without(v, dropped, f"{prefix}{k}.") for k, v in node.items() if not _under(prefix + k, dropped)}


def _hydra_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
