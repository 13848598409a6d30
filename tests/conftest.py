"""Shared helpers: run the real ``python -m runner`` entry point on tiny configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from runner.plugins.registry import BUILTIN_DIST

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The folder holding the corpora (``ptb/``, ``tinyshakespeare/``), found as the runner finds it.

    ``$RUNNER_DATA_DIR`` when set (``.ci/run`` points it at a local copy), else
    the runner's cache, filled by its pinned, checksummed download.
    """
    from runner import data_folder
    from runner_plugins.text import fetch

    for name in fetch.SOURCES:
        fetch.ensure(name, data_folder(name))
    return data_folder("ptb").parent


DATA = data_dir()

TINY = [
    "data.seq_len=8",
    "data.batch_size=16",
    "data.num_train=64",
    "data.num_val=32",
    "cell.hidden_size=8",
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
]


# Plugins installed from other distributions (the example package CI installs), by distribution name.
THIRD_PARTY = sorted({ep.dist.name for ep in entry_points(group="runner") if ep.dist and ep.dist.name != BUILTIN_DIST})


def runner(
    *args: str,
    cwd: Path,
    env: dict[str, str | None] | None = None,
    module: str = "runner",
    timeout: float = 600,
    isolated: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``python -m <module> args`` in ``cwd`` and return the finished process.

    ``isolated``: switch off the installed third-party plugins (on top of any
    ``RUNNER_DISABLE_PLUGINS`` given), so that what a test asserts about the
    built-ins (``--help`` lists exactly rnn, lstm, gru) holds wherever it runs.
    A variable given as None in ``env`` is removed.
    """
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=environment(env, isolated),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(*args: str, cwd: Path, output: str, env: dict[str, str | None] | None = None) -> subprocess.Popen:
    """Start ``python -m runner args`` in ``cwd`` without waiting for it; its output goes to ``cwd/output``."""
    with (cwd / output).open("w") as log:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "runner", *args],
            cwd=cwd,
            env=environment(env, True),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def environment(env: dict[str, str | None] | None, isolated: bool) -> dict[str, str]:
    """The environment of a runner subprocess (see :func:`runner`)."""
    # W&B (the default logger) stays off unless a test asks for it: tests/test_wandb.py does
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "disabled", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    if isolated:
        disabled = [full_env.get("RUNNER_DISABLE_PLUGINS", ""), *THIRD_PARTY]
        full_env["RUNNER_DISABLE_PLUGINS"] = ",".join(filter(None, disabled))
    return full_env


def killed_and_rerun(
    *args: str, cwd: Path, folder: str, at_step: int, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess:
    """Start ``python -m runner args`` in ``cwd/folder``, SIGKILL it once its ``last.ckpt`` holds ``at_step``
    steps or more, and run the same command again, to its end; return that second run."""
    import torch

    args = (*args, f"hydra.run.dir={folder}")
    proc = start(*args, cwd=cwd, output=f"{folder}.log", env=env)
    last = cwd / folder / "checkpoints" / "last.ckpt"

    def steps() -> int:
        return torch.load(last, weights_only=True)["global_step"] if last.exists() else -1

    deadline = time.time() + 300
    while time.time() < deadline and steps() < at_step:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (cwd / folder / "results.json").exists(), "the run finished before it could be killed"
    assert steps() >= at_step
    again = runner(*args, cwd=cwd, env=env)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr + again.stdout
    return again


# dropout off, 7 batches an epoch, a checkpoint every 10 steps: a kill at step 30 or later lands mid-epoch,
# and every difference after it comes from state a plugin (a handler, an optimizer) did not save
RESUMABLE = [
    "data.seq_len=10",
    "data.num_train=112",
    "data.num_val=32",
    "data.batch_size=16",
    "cell=gru",
    "cell.hidden_size=8",
    "trainer.max_steps=150",
    "trainer.val_check_interval=25",
    "checkpoint.every_n_steps=10",
    "trainer.log_every_n_steps=1",
    "logger=csv",
]


def assert_resumes_exactly(*args: str, cwd: Path) -> dict:
    """Run ``args`` on :data:`RESUMABLE` whole, then SIGKILLed at step 30 and rerun, on one thread; assert every row
    of the two ``metrics.csv`` equal, bit for bit, and return the rerun's record."""
    env = {"OMP_NUM_THREADS": "1"}
    assert runner(*args, *RESUMABLE, "hydra.run.dir=whole", cwd=cwd, env=env).returncode == 0
    killed_and_rerun(*args, *RESUMABLE, cwd=cwd, folder="killed", at_step=30, env=env)
    assert (cwd / "whole" / "metrics.csv").read_text() == (cwd / "killed" / "metrics.csv").read_text()
    return results(cwd / "killed")


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


def fake_distribution(site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> dict[str, str]:
    """Lay out an installed distribution (modules + dist-info with ``runner`` entry points) in ``site``.

    Returns the environment that puts ``site`` on the path of a subprocess.
    """
    site.mkdir(parents=True, exist_ok=True)
    for name, code in modules.items():
        (site / f"{name}.py").write_text(code)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"  # as pip names it: the name is read up to the first '-'
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[runner]\n{lines}")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
