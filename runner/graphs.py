"""The model's forward and backward replayed as CUDA graphs (``model.cuda_graphs=true``).

A training step of these models launches a few hundred small kernels, and on a
GPU launching them from Python takes longer than running them: the step is
bound by the host. ``torch.cuda.make_graphed_callables`` records the kernels
of encoder -> cell -> head once, forward and backward, and replays each pass
with one launch. The loss, the gradient handler and the optimizer stay eager.

A graph replays fixed shapes at fixed addresses, so there is one graph per
input shape (a corpus's last, shorter window gets its own), the inputs and the
state are copied into the graph's buffers at every replay, and the state is
passed as flat tensors (``torch.utils._pytree``), a zero state for ``None``:
the cell contract says that ``None`` is the zero state.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_map, tree_unflatten


class Core(nn.Module):
    """encoder -> dropout -> cell -> dropout -> head, with the cell's state as flat tensors in and out."""

    def __init__(self, encoder: nn.Module, drop: nn.Module, cell: nn.Module, head: nn.Module, last_step: bool,
                 state_spec: Any):
        super().__init__()
        self.encoder, self.drop, self.cell, self.head = encoder, drop, cell, head
        self.last_step, self.state_spec = last_step, state_spec

    def forward(self, inputs: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        h, new_state = self.cell(self.drop(self.encoder(inputs)), tree_unflatten(list(state), self.state_spec))
        if self.last_step:
            h = h[:, -1]
        return (self.head(self.drop(h)), *tree_flatten(new_state)[0])


def check(device: torch.device, world_size: int, precision: str) -> None:
    """Refuse the settings the graphs are not made for, before the first step."""
    if device.type != "cuda":
        raise ValueError("model.cuda_graphs=true needs a GPU: add trainer.accelerator=gpu")
    if world_size > 1:
        raise ValueError("model.cuda_graphs=true runs in one process: drop trainer=ddp")
    if precision != "32-true":
        raise ValueError(f"model.cuda_graphs=true records float32 kernels: trainer.precision={precision} is not supported")


class Graphs:
    """One captured :class:`Core` per input shape; ``run`` has the model's forward signature."""

    def __init__(self, encoder: nn.Module, drop: nn.Module, cell: nn.Module, head: nn.Module, last_step: bool):
        self.parts = (encoder, drop, cell, head, last_step)
        self.graphed: dict[tuple, tuple[Callable, list[Tensor], Any]] = {}

    def run(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        key = (tuple(inputs.shape), inputs.dtype)
        if key not in self.graphed:
            self.graphed[key] = self._capture(inputs, state)
        graphed, zeros, spec = self.graphed[key]
        outputs, *new_state = graphed(inputs, *(zeros if state is None else tree_flatten(state)[0]))
        return outputs, tree_unflatten(new_state, spec)

    def _capture(self, inputs: Tensor, state: Any) -> tuple[Callable, list[Tensor], Any]:
        encoder, _, cell, _, _ = self.parts
        with torch.no_grad():  # one eager pass tells the state's structure and shapes
            _, out_state = cell(encoder(inputs), state)
        zeros, spec = tree_flatten(tree_map(torch.zeros_like, out_state))
        sample = [z.clone() for z in zeros] if state is None else [s.clone() for s in tree_flatten(state)[0]]
        core = Core(*self.parts, spec)
        graphed = torch.cuda.make_graphed_callables(core, (inputs.clone(), *sample), allow_unused_input=True)
        return graphed, zeros, spec
