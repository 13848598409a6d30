"""The contract test kit: checks that any cell, dataset, gradient handler or optimizer must pass.

Plain helpers, usable from any test framework or a script::

    from runner.testing import check_cell, check_plugins
    check_plugins("runner-example-plugins", {"cell=indrnn": ["cell.hidden_size=8"]})
    check_cell("indrnn", ["cell.hidden_size=8", "cell.num_layers=2"])

Each looks the plugin up by name among the installed ones (or in ``plugins``),
builds it from the config Hydra composes for it, checks the contract of its
hook (see docs/plugins.md) and raises :class:`ContractError`, an
``AssertionError`` saying what broke, when it does not hold. The checks per
hook live in :mod:`runner.plugins.contract` and :mod:`runner.plugins.contract_step`;
:func:`check_plugins` runs the check of every plugin one distribution registers.

Installed with the runner, this module is also a pytest plugin (entry point
``pytest11``) that gives every test suite the ``runner_train`` fixture: a tiny
training through the real ``python -m runner``. Importing it needs neither
pytest nor torch; torch is imported when a check runs.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner._run_folder import run_dir
from runner.plugins import registry
from runner.plugins.contract import ContractError, _expect, check_cell, check_config, check_dataset
from runner.plugins.contract_step import check_grad_handler, check_optimizer
from runner.plugins.registry import Registry

__all__ = [
    "TINY_TRAINING",
    "ContractError",
    "check_cell",
    "check_config",
    "check_dataset",
    "check_grad_handler",
    "check_optimizer",
    "check_plugins",
    "train",
]

try:
    import pytest
except ImportError:  # the plain helpers work without pytest; only the fixture needs it
    pytest = None

# Settings of the tiny training; the caller's overrides come after them and win.
TINY_TRAINING = (
    "trainer.max_steps=3",
    "trainer.val_check_interval=3",
    "trainer.limit_val_batches=2",
    "trainer.log_every_n_steps=1",
)


def _normal(distribution: str | None) -> str | None:
    """A distribution name as pip compares them (PEP 503): ``My_Plugins`` is ``my-plugins``."""
    return re.sub(r"[-_.]+", "-", distribution).lower() if distribution else None


def check_plugins(
    distribution: str, overrides: Mapping[str, Sequence[str]] | None = None, *, plugins: Registry | None = None
) -> dict[str, Any]:
    """Check every cell, dataset, gradient handler and optimizer ``distribution`` registers; return each check's result.

    ``overrides`` maps ``"kind=name"`` (``"cell=mgu"``) to that plugin's
    overrides, such as small sizes. Fails when a plugin of the distribution
    failed to load or register, when it registers nothing, and when
    ``overrides`` names a plugin it does not register.
    """
    plugins = plugins or registry.load()
    wanted = _normal(distribution)
    failed = [str(f) for f in plugins.failures if _normal(f.origin.distribution) == wanted]
    _expect(not failed, f"{distribution}: {len(failed)} plugin failure(s):\n  " + "\n  ".join(failed))
    own = {
        f"{p.kind}={p.name}": p
        for kind in plugins.plugins
        for p in plugins.plugins[kind].values()
        if _normal(p.origin.distribution) == wanted
    }
    _expect(
        own,
        f"{distribution} registers no plugins: is it installed, and does its pyproject declare an "
        "entry point in the `runner` group ([project.entry-points.runner])?",
    )
    unknown = sorted(set(overrides or {}) - set(own))
    _expect(not unknown, f"{distribution} registers no {', '.join(unknown)}; it registers {', '.join(sorted(own))}")
    checks = {"cell": check_cell, "data": check_dataset, "grad": check_grad_handler, "optim": check_optimizer}
    return {key: checks[p.kind](p.name, (overrides or {}).get(key, ()), plugins=plugins) for key, p in own.items()}


def train(*overrides: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m runner`` with :data:`TINY_TRAINING` and ``overrides`` in a new folder under ``cwd``.

    Returns the run's ``results.json``; raises :class:`ContractError` with the
    end of the log when the run left none.
    """
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=cwd))
    command = [sys.executable, "-m", "runner", *TINY_TRAINING, *overrides, f"hydra.run.dir={folder}"]
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    record = run_dir.read_results(folder)
    _expect(
        record is not None,
        f"{' '.join(command[1:])} exited {done.returncode} without {run_dir.RESULTS}:\n{done.stderr[-3000:]}",
    )
    return record


if pytest is not None:

    @pytest.fixture
    def runner_train(tmp_path: Path):
        """``runner_train("cell=mycell", "data=adding", ...)``: a tiny training; returns results.json."""
        return functools.partial(train, cwd=tmp_path)
