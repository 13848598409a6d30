"""What a plugin's builder returns, as types: a cell, a data module, a gradient handler, an optimizer.

Each class is a :class:`typing.Protocol` and its docstrings are the contract:
a plugin's objects need not inherit from them, they only have the members
(``class IndRNN(nn.Module)`` is a :class:`Cell` because it has them). Annotate
a builder's return type with one (``def build(config: MyConfig, input_size: int) -> Cell``)
and the hook's ``register`` argument with the hook's type from
:mod:`runner.hookspecs` (``register: RegisterCell``), and a type checker or an
editor checks the plugin against the contract. What a type cannot say (shapes,
determinism, the state carried between windows) the contract kit checks at run
time: :mod:`runner.testing`. Re-exported by :mod:`runner`: import them from there.

torch and lightning are named in annotations only: importing this module imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from torch import Tensor
    from torch.nn import Parameter

    from runner.task import Task


class Cell(Protocol):
    """A recurrent cell: a ``torch.nn.Module``, batch-first, whose state the runner treats as opaque.

    Built by ``builder(config, input_size: int)`` of :func:`runner.hookspecs.register_cells`.
    The runner puts it between its input encoder (an embedding for tokens, nothing for real
    features) and its linear output head, and trains its parameters with the rest.
    """

    output_size: int
    """The size of each step's output: the runner sizes its output head from it."""

    def forward(self, x: Tensor, state: Any = None, /) -> tuple[Tensor, Any]:
        """``x`` of shape ``(batch, time, input_size)`` -> ``(outputs, state)``.

        ``outputs`` has shape ``(batch, time, output_size)``, one per step; ``state`` is the
        final state. ``state=None`` means the zero state, made in the inputs' dtype and on
        their device (``x.new_zeros(...)``). The runner only passes the state back in and,
        between truncated-BPTT windows, detaches every tensor in it (tuples, lists and dicts
        are walked): two windows with the state passed on give the outputs of one pass.
        Dropout, if any, acts only while ``self.training``.
        """
        ...

    def __call__(self, x: Tensor, state: Any = None, /) -> tuple[Tensor, Any]:
        """:meth:`forward`, through ``torch.nn.Module.__call__`` (its hooks): how the runner calls the cell."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The cell's ``nn.Parameter`` s, registered on the module: each gets a gradient from the outputs."""
        ...


class DataModule(Protocol):
    """A data set and its task: a ``lightning.LightningDataModule``.

    Built by ``builder(config)`` of :func:`runner.hookspecs.register_datasets`. The runner calls
    :meth:`prepare_data` and ``setup("fit")``, reads :attr:`task`, and hands the module to the
    Lightning trainer, which sets its ``trainer`` attribute before it asks for loaders (``None``
    outside a trainer: pass it to :func:`runner.rank_and_size` and :func:`runner.device`).
    Every batch follows from the config alone: draw data and order from generators seeded by it.
    """

    @property
    def task(self) -> Task:
        """What the runner builds and how it scores: valid once ``setup("fit")`` has run."""
        ...

    def prepare_data(self) -> None:
        """Get the files, once per machine (:func:`runner.ensure_files`); nothing to do for generated data."""
        ...

    def setup(self, stage: str) -> None:
        """Read or draw the splits; called with ``"fit"`` before :attr:`task` is read, perhaps again later."""
        ...

    def train_dataloader(self) -> Iterable[Any]:
        """The training batches, ``(inputs, targets)`` shaped as :attr:`task` says; an iterable with a length.

        With ``task.carry_state`` the batches of an epoch are consecutive windows of the same
        parallel streams, in order.
        """
        ...

    def val_dataloader(self) -> Iterable[Any]:
        """The validation batches, as :meth:`train_dataloader`'s."""
        ...

    def test_dataloader(self) -> Iterable[Any]:
        """The test batches, asked for only when ``task.has_test``."""
        ...


class GradHandler(Protocol):
    """What the runner does to the gradients between backward and the optimizer step.

    Built by ``builder(config)`` of :func:`runner.hookspecs.register_grad_handlers`. The runner
    measures the global L2 gradient norm before and after the call and logs both with its answer.

    **The step.** A handler whose rule changes over training declares a keyword argument
    ``step`` (``def __call__(self, parameters, /, *, step: int = 0)``; an ``nn.Module``, in its
    ``forward``): the runner then passes the global step, the number of optimizer steps taken
    before this one (0 at the first). It is the same number in a run resumed from a checkpoint,
    so a rule that depends on the step alone resumes exactly without any state of its own.

    **State.** Anything else the result depends on (a generator of its own, a running average, a
    counter) is the handler's state, and the runner keeps it in every checkpoint and restores it
    on resume, so that a run killed and rerun ends bit for bit as one left alone, if the handler
    is either

    - an object with ``state_dict() -> dict`` and ``load_state_dict(state: dict)`` (PyTorch's
      convention): the runner saves what ``state_dict()`` returns and hands it to
      ``load_state_dict`` of a newly built handler; the checkpoint is read with
      ``torch.load(weights_only=True)``, so keep it to tensors, numbers, strings, and lists,
      tuples and dicts of them; or
    - a ``torch.nn.Module`` whose state is in buffers (``register_buffer``): the runner makes
      it a submodule of its model, so the buffers move to the model's device and are saved with
      its weights. It holds no ``nn.Parameter``: the optimizer would train it.

    State kept anywhere else (a plain attribute, Python's ``random``) starts over on resume, and
    the contract kit (:func:`runner.testing.check_grad_handler`) fails a handler whose result
    changes when its state is saved and loaded mid-run.
    """

    def __call__(self, parameters: list[Tensor], /) -> bool | Tensor:
        """Change the ``.grad`` of ``parameters`` (those that have one) in place, never the parameters.

        Returns whether any gradient changed: a ``bool``, or a 0-d bool tensor (which spares
        a GPU-to-CPU synchronisation every step). ``False`` only when none did. Declare the
        keyword ``step`` to be given the global step (see the class).
        """
        ...


class Optimizer(Protocol):
    """What updates the parameters from their gradients: a ``torch.optim.Optimizer``.

    Built by ``builder(config, parameters)`` of :func:`runner.hookspecs.register_optimizers`.
    It must be an instance of a subclass of ``torch.optim.Optimizer`` (torch's schedulers, which
    the runner's learning-rate schedule uses, accept nothing else); these are the members the
    runner and Lightning use. Build it on the parameters as given: they are on the device the
    run trains on (``parameters[0].is_cuda``: a fused kernel may be chosen then).
    """

    param_groups: list[dict[str, Any]]
    """Every parameter given, each in one group; every group has an ``lr``, which the schedule scales."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters in place; call ``closure()`` first (Lightning passes one), and return its loss.

        The closure runs the forward and backward pass and the gradient handler: without the
        call, no gradient exists.
        """
        ...

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient before the next backward pass."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """All the state the next steps depend on (``self.state`` and the param groups): saved in every checkpoint."""
        ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, into one newly built over the same parameters: on resume."""
        ...
