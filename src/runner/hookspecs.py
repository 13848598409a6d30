"""The plugin contract: three hooks, one per seam of an experiment.

Its version is ``runner.PLUGIN_API``. A plugin implements a hook as a
function of the same name marked ``@runner.hookimpl``, whose one argument is
named ``register`` (pluggy passes it by name); the registry reports any other
``register_*`` function of a plugin module as that plugin's failure. Each hook
calls ``register`` once per thing it provides::

    register(name, builder, config_class)

- ``name``: what the user types after ``cell=``, ``data=`` or ``grad=``.
- ``config_class``: a dataclass. Its fields become the typed Hydra options of
  that choice (``cell.hidden_size=256``); ``__post_init__`` may raise
  ``ValueError`` to reject values out of range.
- ``builder``: a callable taking an instance of ``config_class`` (plus the
  arguments listed per hook) and returning the object described per hook.

Plugin modules are imported to discover them, including for ``--help``, so
they must import cheaply: import torch and lightning inside the builders,
never at module level.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "runner"

hookspec = pluggy.HookspecMarker(PROJECT)

Register = Callable[[str, Callable, type], None]


@hookspec
def register_cells(register: Register) -> None:
    """Register recurrent cells, selected with ``cell=NAME``.

    ``builder(config, input_size: int) -> torch.nn.Module``. The module is
    batch-first and has an ``output_size: int`` attribute. Its
    ``forward(x, state=None)`` takes ``x`` of shape ``(batch, time, input_size)``
    and returns ``(outputs, state)``: outputs of shape
    ``(batch, time, output_size)`` for every step, and the final state. The
    runner treats the state as opaque: it only passes it back in and
    detaches every tensor in it (tuples, lists and dicts are walked) between
    truncated-BPTT windows. ``state=None`` means the zero state.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register datasets and tasks, selected with ``data=NAME``.

    ``builder(config) -> lightning.LightningDataModule``. After the runner
    calls ``prepare_data()`` and ``setup("fit")``, the data module's ``task``
    attribute is a :class:`runner.task.Task` describing inputs, targets, which
    steps carry loss, metrics and baselines. Batches are ``(inputs, targets)``:
    inputs ``(batch, time)`` token ids or ``(batch, time, features)`` reals;
    targets as :class:`runner.task.Task` says. With ``task.carry_state`` the
    batches of an epoch are consecutive windows of ``batch`` parallel streams
    and the runner carries the hidden state from one to the next.
    """


@hookspec
def register_grad_handlers(register: Register) -> None:
    """Register gradient handlers, selected with ``grad=NAME``.

    ``builder(config) -> handler``; ``handler(parameters: list[Tensor]) -> bool``
    is called after backward and before the optimizer step, may change the
    ``.grad`` of the parameters in place, and returns whether it did (a bool
    or a 0-d bool tensor). The runner measures the global L2 gradient norm
    before and after and logs both with the handler's answer.
    """
