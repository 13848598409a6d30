"""``python -m runner``: Hydra composes the config, the core trains it.

Nothing here imports torch or lightning: ``--help``, ``--cfg job`` and
``--info`` answer without them.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from runner import config, registry

log = logging.getLogger("runner")


@hydra.main(version_base="1.3", config_path="pkg://runner_conf", config_name="config")
def job(cfg: DictConfig) -> None:
    from runner.train import run

    hydra_cfg = HydraConfig.get()
    record = run(cfg, dict(hydra_cfg.runtime.choices), Path(hydra_cfg.runtime.output_dir))
    where = hydra_cfg.runtime.output_dir
    if record["status"] == "failed":
        log.error("failed: %s  (details: %s/results.json)", record["error"], where)
        if hydra_cfg.mode == RunMode.RUN:
            sys.exit(1)
    else:
        log.info("%s after %d steps in %.1f s: %s", record["status"], record["steps"], record["wall_s"], where)


def main() -> None:
    plugins = registry.load()
    registry.warn_failures(plugins)
    config.store(plugins)
    job()
