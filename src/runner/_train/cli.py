"""``python -m runner`` and the ``runner`` command (pyproject.toml's console script): Hydra composes the config,
the core trains it.

Nothing here imports torch or lightning: ``--help``, ``--cfg job`` and
``--info`` answer without them.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from runner._config import schema
from runner._config.job import JobConfig, in_multirun
from runner._run_folder.run_dir import FolderBusy, RunFolderError, Status
from runner._train import named_log
from runner.plugins import registry

log = logging.getLogger("runner")


def objective(record: dict[str, Any]) -> float | None:
    """What a run returns to a sweeper (Optuna): its final validation metric.

    A diverged run scores the worst value (inf, or -inf for a metric to
    maximise), so that a search learns to avoid its region. A run without a
    result returns None, which hydra-optuna-sweeper records as a failed trial
    before going on (NaN would crash it: it tells Optuna a failed trial's value).
    """
    if record["status"] == Status.diverged:
        return -math.inf if record.get("monitor_mode") == "max" else math.inf
    value = record.get("val", {}).get(record.get("monitor", "").removeprefix("val/"))  # JSON null: not finite
    if record["status"] != Status.ok or value is None or math.isnan(value):
        return None
    return float(value)


@hydra.main(version_base="1.3", config_path="pkg://runner._config.conf", config_name="config")
def job(cfg: DictConfig) -> float | None:
    with named_log.in_sweep():  # parallel jobs' lines interleave: each names its job
        return _job(cfg)


def _job(cfg: DictConfig) -> float | None:
    from runner._train.run import run

    where = HydraConfig.get().runtime.output_dir
    try:
        config = JobConfig.of_hydra(cfg)
        record = run(config, Path(where))
    except (RunFolderError, OmegaConfBaseException) as exc:  # nothing was written: the folder stays as it was
        busy = isinstance(exc, FolderBusy) and in_multirun()
        skipped = "skipped, running elsewhere: " if busy else ""  # the sweep goes on with its next job
        log.error("%s%s", skipped, str(exc).strip())
        if not in_multirun():
            sys.exit(1)
        return None
    if record["status"] == Status.interrupted:  # after a checkpoint: exits 130 or 143, a sweep stops
        from runner._run_folder.interrupt import leave

        leave(record, where)
    if record["status"] == Status.failed:
        log.error("failed: %s  (details: %s/results.json)", record["error"], where)
        if not config.multirun:
            sys.exit(1)
    elif record["status"] == Status.diverged:  # the step the status command and the report name too
        log.info("diverged at step %d in %.1f s: %s", record["diverged_at_step"], record["wall_s"], where)
    else:
        segment = record.get("segment_wall_s")  # a resumed run: its time over every segment, then this one's
        resumed = f" ({segment:.1f} s in this segment)" if segment not in (None, record["wall_s"]) else ""
        status, steps, wall_s = record["status"], record["steps"], record["wall_s"]
        log.info("%s after %d steps in %.1f s%s: %s", status, steps, wall_s, resumed, where)
    return objective(record)


HELP = """runner: train recurrent sequence models and compare them side by side.

  python -m runner cell=gru data=adding data.seq_len=100
  python -m runner -m cell=rnn,lstm,gru data=adding data.seq_len=50,100 grad=clip_norm grad.max_norm=1,5

== Configuration groups ==
Compose your configuration from those groups (group=option)

{groups}

== Config ==
Override anything in the config (foo.bar=value)

{config}
Every run writes results.json, metrics.csv and .hydra/config.yaml into its output folder.
Installed plugins: python -m runner.plugins
Hydra's own options: python -m runner --hydra-help
"""


def print_help(overrides: list[str]) -> None:
    """Hydra's --help, without the walk over Hydra's own groups that costs it seconds."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    groups = "\n".join(f"{group}: {', '.join(names)}" for group, names in schema.options().items())
    with initialize_config_module(config_module="runner._config.conf", version_base="1.3"):
        composed = OmegaConf.to_yaml(compose(config_name="config", overrides=overrides))
    print(HELP.format(groups=groups, config=composed))


def unknown_choice(argv: list[str], options: dict[str, list[str]], failed: dict[tuple[str, str], str]) -> str | None:
    """The message for a ``group=name`` override naming no installed option, if any.

    ``failed``: (group, name) -> why a plugin of that name failed to register.
    """
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or key not in options or any(c in value for c in "()[]{}$"):
            continue  # not a plain choice (sweep functions, interpolations): Hydra judges those
        for name in value.split(","):
            if (key, name) in failed:
                return f"{key} {name!r} is not available: {failed[key, name]}"
            if name not in options[key]:
                installed = ", ".join(sorted(options[key])) or "none"
                close = difflib.get_close_matches(name, options[key], n=1)
                hint = f" Did you mean {key}={close[0]}?" if close else ""
                return f"unknown {key} {name!r}. Installed: {installed}.{hint}"
    return None


def unwritable_output(argv: list[str]) -> str | None:
    """The message for a run or sweep folder that cannot be created, found by creating it before Hydra does.

    Only the part of the path before its first interpolation (``${now:...}``)
    is created; a file written into it proves it writable.
    """
    key = "hydra.sweep.dir" if {"-m", "--multirun"} & set(argv) else "hydra.run.dir"
    given = [v for k, _, v in (a.partition("=") for a in argv) if k == key]
    path = given[-1] if given else ""
    literal = path.split("$")[0]
    folder = Path(literal if literal == path else os.path.dirname(literal) or ".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(folder) else ""
        return f"cannot create the output folder {path or Path.cwd()}: {exc.strerror}{where}"
    return None


def main() -> None:
    """``python -m runner`` and the ``runner`` command."""
    try:
        start()
    except KeyboardInterrupt:  # Ctrl-C where no run trains (a training run handles its own: runner.interrupt)
        from runner._run_folder.interrupt import leave_outside_training

        leave_outside_training()


def start() -> None:
    plugins = registry.load()
    registry.warn_failures(plugins)
    schema.store(plugins)
    if "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        print_help([a for a in sys.argv[1:] if "=" in a and "," not in a])
        return
    failed = {(f.kind, f.name): str(f) for f in plugins.failures if f.kind}
    problem = unknown_choice(sys.argv[1:], schema.options(), failed) or unwritable_output(sys.argv[1:])
    if problem:
        print(f"runner: error: {problem}", file=sys.stderr)
        sys.exit(1)
    job()  # a sweep with a failed job exits 1 from its end (runner._run_folder.sweep)
