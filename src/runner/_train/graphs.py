"""The model's forward and backward replayed as CUDA graphs (``model.cuda_graphs=true``).

A training step of these models launches a few hundred small kernels, and on a
GPU launching them from Python takes longer than running them: the step is
bound by the host. ``torch.cuda.make_graphed_callables`` records the kernels
of encoder -> cell -> head once, forward and backward, and replays each pass
with one launch. The loss, the gradient handler and the optimizer stay eager.
What is recorded is the model's own forward (:class:`Core` calls it), so the
graphs and the eager model cannot compute different things.

A graph replays fixed shapes at fixed addresses, so there is one graph per
input shape (a corpus's last, shorter window gets its own), the inputs and the
state are copied into the graph's buffers at every replay, and the state is
passed as flat tensors (``torch.utils._pytree``), a zero state for ``None``:
the cell contract says that ``None`` is the zero state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten


class Core(nn.Module):
    """The model's own forward, with the cell's state as flat tensors in and out (what a graph records)."""

    def __init__(self, model: nn.Module, state_spec: Any):
        super().__init__()
        self.model, self.state_spec = model, state_spec

    def forward(self, inputs: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        outputs, new_state = self.model(inputs, tree_unflatten(list(state), self.state_spec))
        return (outputs, *tree_flatten(new_state)[0])


def check(device: torch.device, world_size: int, precision: str) -> None:
    """Refuse the settings the graphs are not made for, before the first step."""
    if device.type != "cuda":
        raise ValueError("model.cuda_graphs=true needs a GPU: add trainer.accelerator=gpu")
    if world_size > 1:
        raise ValueError("model.cuda_graphs=true runs in one process: drop trainer=ddp")
    if precision != "32-true":
        raise ValueError(
            f"model.cuda_graphs=true records float32 kernels: trainer.precision={precision} is not supported"
        )


class Graphs:
    """One captured :class:`Core` of ``model`` per input shape; ``run`` has the model's forward signature."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.graphed: dict[tuple, tuple[Callable, list[Tensor], Any]] = {}

    def run(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        key = (tuple(inputs.shape), inputs.dtype)
        if key not in self.graphed:
            self.graphed[key] = self._capture(inputs, state)
        graphed, zeros, spec = self.graphed[key]
        outputs, *new_state = graphed(inputs, *_flat(state, zeros))
        return outputs, tree_unflatten(new_state, spec)

    def _capture(self, inputs: Tensor, state: Any) -> tuple[Callable, list[Tensor], Any]:
        with torch.no_grad():  # one eager pass tells the state's structure and shapes
            _, out_state = self.model(inputs, state)
        zeros, spec = tree_flatten(tree_map(torch.zeros_like, out_state))
        sample = [t.clone() for t in _flat(state, zeros)]
        graphed = torch.cuda.make_graphed_callables(
            Core(self.model, spec), (inputs.clone(), *sample), allow_unused_input=True
        )
        return graphed, zeros, spec


def _flat(state: Any, zeros: list[Tensor]) -> list[Tensor]:
    """The state as the graph takes it: its tensors in order, the zero state's for ``None``."""
    return zeros if state is None else tree_flatten(state)[0]
