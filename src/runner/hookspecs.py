"""The plugin contract: four hooks, one per seam of an experiment.

Its version is ``runner.PLUGIN_API``. A plugin implements a hook as a
function of the same name marked ``@runner.hookimpl``, whose one argument is
named ``register`` (pluggy passes it by name); the registry reports any other
``register_*`` function of a plugin module as that plugin's failure. Each hook
calls ``register`` once per thing it provides::

    register(name, builder, config_class)

- ``name``: what the user types after ``cell=``, ``data=``, ``grad=`` or ``optim=``.
- ``config_class``: a dataclass. Its fields become the typed Hydra options of
  that choice (``cell.hidden_size=256``); ``__post_init__`` may raise
  ``ValueError`` to reject values out of range.
- ``builder``: a callable taking an instance of ``config_class`` (plus the
  arguments listed per hook) and returning the object described per hook:
  a :class:`~runner.protocols.Cell`, a :class:`~runner.protocols.DataModule`,
  a :class:`~runner.protocols.GradHandler`, a :class:`~runner.protocols.Optimizer`.

Each hook's ``register`` has a type of its own (:class:`RegisterCell`,
:class:`RegisterDataset`, :class:`RegisterGradHandler`, :class:`RegisterOptimizer`, exported by
:mod:`runner`): annotate a hook's argument with it, and a builder's return type
with the protocol, and a type checker holds the plugin to the contract.

Plugin modules are imported to discover them, including for ``--help``, so
they must import cheaply: import torch and lightning inside the builders,
never at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

import pluggy

from runner.protocols import Cell, DataModule, GradHandler, Optimizer

if TYPE_CHECKING:
    from torch.nn import Parameter

PROJECT = "runner"

hookspec = pluggy.HookspecMarker(PROJECT)

C = TypeVar("C")  # a plugin's config class: its builder takes an instance of it


class RegisterCell(Protocol):
    """``register`` of :func:`register_cells`: ``register(name, builder, config_class)``."""

    def __call__(self, name: str, builder: Callable[[C, int], Cell], config_class: type[C], /) -> None:
        """``builder(config, input_size)`` makes the cell ``cell=name`` from an instance of ``config_class``."""
        ...


class RegisterDataset(Protocol):
    """``register`` of :func:`register_datasets`: ``register(name, builder, config_class)``."""

    def __call__(self, name: str, builder: Callable[[C], DataModule], config_class: type[C], /) -> None:
        """``builder(config)`` makes the data module of ``data=name`` from an instance of ``config_class``."""
        ...


class RegisterGradHandler(Protocol):
    """``register`` of :func:`register_grad_handlers`: ``register(name, builder, config_class)``."""

    def __call__(self, name: str, builder: Callable[[C], GradHandler], config_class: type[C], /) -> None:
        """``builder(config)`` makes the handler of ``grad=name`` from an instance of ``config_class``."""
        ...


class RegisterOptimizer(Protocol):
    """``register`` of :func:`register_optimizers`: ``register(name, builder, config_class)``."""

    def __call__(self, name: str, builder: Callable[[C, list[Parameter]], Optimizer], config_class: type[C], /) -> None:
        """``builder(config, parameters)`` makes the optimizer of ``optim=name`` over ``parameters``."""
        ...


@hookspec
def register_cells(register: RegisterCell) -> None:
    """Register recurrent cells, selected with ``cell=NAME``.

    ``builder(config, input_size: int) -> Cell`` (:class:`runner.Cell`), a
    ``torch.nn.Module``. The module is batch-first and has an ``output_size: int`` attribute. Its
    ``forward(x, state=None)`` takes ``x`` of shape ``(batch, time, input_size)``
    and returns ``(outputs, state)``: outputs of shape
    ``(batch, time, output_size)`` for every step, and the final state. The
    runner treats the state as opaque: it only passes it back in and
    detaches every tensor in it (tuples, lists and dicts are walked) between
    truncated-BPTT windows. ``state=None`` means the zero state.
    """


@hookspec
def register_datasets(register: RegisterDataset) -> None:
    """Register datasets and tasks, selected with ``data=NAME``.

    ``builder(config) -> DataModule`` (:class:`runner.DataModule`), a
    ``lightning.LightningDataModule``. After the runner
    calls ``prepare_data()`` and ``setup("fit")``, the data module's ``task``
    attribute is a :class:`runner.Task` describing inputs, targets, which
    steps carry loss, metrics and baselines. Batches are ``(inputs, targets)``:
    inputs ``(batch, time)`` token ids or ``(batch, time, features)`` reals;
    targets as :class:`runner.Task` says. With ``task.carry_state`` the
    batches of an epoch are consecutive windows of ``batch`` parallel streams
    and the runner carries the hidden state from one to the next.
    """


@hookspec
def register_grad_handlers(register: RegisterGradHandler) -> None:
    """Register gradient handlers, selected with ``grad=NAME``.

    ``builder(config) -> GradHandler`` (:class:`runner.GradHandler`);
    ``handler(parameters: list[Tensor]) -> bool``
    is called after backward and before the optimizer step, may change the
    ``.grad`` of the parameters in place, and returns whether it did (a bool
    or a 0-d bool tensor). The runner measures the global L2 gradient norm
    before and after and logs both with the handler's answer.

    A handler may depend on the step and keep state. Declaring a keyword
    ``step`` (``handler(parameters, step=...)``) gets it the global step, the
    optimizer steps taken before this one, the same after a resume. Its state
    is kept in every checkpoint and restored on resume when the handler has
    ``state_dict()``/``load_state_dict()`` (PyTorch's convention; tensors,
    numbers, strings and containers of them) or is a ``torch.nn.Module`` with
    its state in buffers. :class:`runner.GradHandler` says it in full; the
    contract kit fails a handler that does not resume exactly.
    """


@hookspec
def register_optimizers(register: RegisterOptimizer) -> None:
    """Register optimizers, selected with ``optim=NAME``.

    ``builder(config, parameters: list[Parameter]) -> Optimizer``
    (:class:`runner.Optimizer`): a ``torch.optim.Optimizer`` over every
    trainable parameter of the model (encoder, cell, output head), in one
    parameter group or several, each with its ``lr``. Lightning calls
    ``step(closure)``, where the closure runs the forward and backward pass
    and the gradient handler; the runner scales every group's ``lr`` by its
    epoch schedule (``schedule.lr_decay``, ``schedule.decay_after``) and logs
    the first group's. Its ``state_dict()`` is saved in every checkpoint and
    restored on resume, so all the state it keeps belongs in ``self.state``
    and the param groups, as torch's optimizers keep theirs.
    """
