"""runner: a plugin-based experiment runner for recurrent sequence models.

Installed as the distribution ``rnn-runner``; imported as ``runner``.

The public API is what :data:`__all__` names, imported from ``runner`` itself
(``from runner import Task, hookimpl``), as the built-in plugins do: the plugin
contract (:data:`PLUGIN_API`, :data:`hookimpl`, the ``register`` types of the
four hooks of :mod:`runner.hookspecs`, the protocols of what their builders
return, :class:`Task`), the helpers a data plugin needs (batches held on
the device, its part of a batch under DDP, its device, its files), and ``testing``, the contract test kit for a
plugin's tests (``from runner.testing import check_plugins``; also the pytest
plugin ``runner.testing``). docs/plugins.md lists them.

The modules that define those names (:mod:`runner.hookspecs`,
:mod:`runner.protocols`, :mod:`runner.task`, :mod:`runner.data`, :mod:`runner.batches`, and the kit's
:mod:`runner.testing`) hold nothing else for plugins; their docstrings are the
contract's text. Everything else is internal: the core subpackages ``_config``
(configuration), ``_train`` (one run) and ``_run_folder`` (the run folder and
its life), underscored, and the command packages ``report``, ``status``, ``lm``
and ``plugins``, named without one because each is a command (``python -m
runner.report``). A plugin imports none of them: they change without a new
:data:`PLUGIN_API`.

Importing ``runner`` stays cheap (neither torch nor lightning): every plugin
module imports it, and the runner imports every plugin module for ``--help``.
"""

from __future__ import annotations

import pluggy

from runner._train.distributed import check_batch, device, part, rank_and_size
from runner.batches import Batches, device_batches
from runner.data import DataError, Source, data_folder, download, ensure_files, sha256
from runner.hookspecs import RegisterCell, RegisterDataset, RegisterGradHandler, RegisterOptimizer
from runner.protocols import Cell, DataModule, GradHandler, Optimizer
from runner.task import Task, tokenize

__version__ = "0.1.0"

PLUGIN_API = 1
"""The version of the plugin contract (the hooks of :mod:`runner.hookspecs` and what they promise).

It changes only when a plugin written for the previous one would need changes;
a plugin module may declare ``PLUGIN_API = 1`` and is refused by name by a runner
with another one.
"""

hookimpl = pluggy.HookimplMarker("runner")
"""Marker for plugin hook implementations: ``@hookimpl def register_cells(register: RegisterCell) -> None: ...``."""

__all__ = [
    "PLUGIN_API",
    "Batches",
    "Cell",
    "DataError",
    "DataModule",
    "GradHandler",
    "Optimizer",
    "RegisterCell",
    "RegisterDataset",
    "RegisterGradHandler",
    "RegisterOptimizer",
    "Source",
    "Task",
    "check_batch",
    "data_folder",
    "device",
    "device_batches",
    "download",
    "ensure_files",
    "hookimpl",
    "part",
    "rank_and_size",
    "sha256",
    "testing",
    "tokenize",
]


def __getattr__(name: str):
    """``runner.testing`` on first use: the kit imports pytest (when there is one) and the registry."""
    if name == "testing":
        import importlib

        return importlib.import_module("runner.testing")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
