"""``python -m runner``: Hydra composes the config, the core trains it.

Nothing here imports torch or lightning: ``--help``, ``--cfg job`` and
``--info`` answer without them.
"""

from __future__ import annotations

import difflib
import logging
import math
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from runner import config, registry
from runner.resume import RunFolderError

log = logging.getLogger("runner")


def objective(record: dict[str, Any]) -> float:
    """What a run returns to a sweeper (Optuna): its final validation metric.

    A diverged run scores the worst value (inf, or -inf for a metric to
    maximise), so a search learns to avoid its region; a failed run returns
    NaN, which Optuna records as a failed trial.
    """
    if record["status"] == "ok":
        value = record["val"].get(record["monitor"].removeprefix("val/"))  # null in JSON: not finite
        return math.nan if value is None else float(value)
    if record["status"] == "diverged":
        return -math.inf if record.get("monitor_mode") == "max" else math.inf
    return math.nan


@hydra.main(version_base="1.3", config_path="pkg://runner_conf", config_name="config")
def job(cfg: DictConfig) -> float:
    from runner.train import run

    hydra_cfg = HydraConfig.get()
    where = hydra_cfg.runtime.output_dir
    try:
        record = run(cfg, dict(hydra_cfg.runtime.choices), Path(where))
    except RunFolderError as exc:  # nothing was written: the folder's work stays as it was
        log.error("%s", exc)
        if hydra_cfg.mode == RunMode.RUN:
            sys.exit(1)
        return math.nan
    if record["status"] == "failed":
        log.error("failed: %s  (details: %s/results.json)", record["error"], where)
        if hydra_cfg.mode == RunMode.RUN:
            sys.exit(1)
    else:
        log.info("%s after %d steps in %.1f s: %s", record["status"], record["steps"], record["wall_s"], where)
    return objective(record)


def unknown_choice(argv: list[str], options: dict[str, list[str]]) -> str | None:
    """The message for a ``group=name`` override naming no installed option, if any."""
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or key not in options or any(c in value for c in "()[]{}$"):
            continue  # not a plain choice (sweep functions, interpolations): Hydra judges those
        for name in value.split(","):
            if name not in options[key]:
                installed = ", ".join(sorted(options[key])) or "none"
                close = difflib.get_close_matches(name, options[key], n=1)
                hint = f" Did you mean {key}={close[0]}?" if close else ""
                return f"unknown {key} {name!r}. Installed: {installed}.{hint}"
    return None


def main() -> None:
    plugins = registry.load()
    registry.warn_failures(plugins)
    config.store(plugins)
    problem = unknown_choice(sys.argv[1:], config.options(plugins))
    if problem:
        print(f"runner: error: {problem}", file=sys.stderr)
        sys.exit(1)
    job()
