"""The independently recurrent network (IndRNN, Li et al. 2018).

    h_t = relu(W x_t + u * h_{t-1} + b)

The recurrent weight ``u`` is a vector: every unit sees only its own past, so
its gradient through time is a product of scalars ``u_j * relu'`` that the
bound ``|u_j| <= recurrent_max`` keeps from exploding, and a ReLU that does
not saturate keeps from vanishing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class IndRNN(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, recurrent_max: float = 1.0):
        super().__init__()
        self.output_size = hidden_size  # the runner sizes its output head from this
        self.hidden_size, self.recurrent_max = hidden_size, recurrent_max
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.inputs = nn.ModuleList(nn.Linear(size, hidden_size) for size in sizes)  # W and b per layer
        for linear in self.inputs:
            # b = 0 as in the authors' code: a negative start would leave ReLU units dead from step one
            nn.init.zeros_(linear.bias)
        # u ~ U(0, recurrent_max): every unit starts by remembering, none starts by flipping sign
        self.recurrent = nn.ParameterList(
            nn.Parameter(torch.rand(hidden_size) * recurrent_max) for _ in range(num_layers)
        )

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x``: (batch, time, input_size); ``state``: (num_layers, batch, hidden_size) or None."""
        batch, steps, _ = x.shape
        if state is None:
            state = x.new_zeros(len(self.inputs), batch, self.hidden_size)
        final = []
        for layer, (linear, u) in enumerate(zip(self.inputs, self.recurrent, strict=True)):
            u = u.clamp(-self.recurrent_max, self.recurrent_max)
            xw = linear(x)  # W x_t + b for every step at once: it does not depend on h
            h = state[layer]
            outputs = []
            for t in range(steps):
                h = torch.relu(xw[:, t] + u * h)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
            final.append(h)
        return x, torch.stack(final)
