"""The cells written from their equations, one time step at a time.

Copy one of these to make a new cell. Parameters have the names, shapes and
initialisation of torch.nn.RNN / LSTM / GRU (``weight_ih_l0`` is W_xh of layer
0, gate blocks stacked in torch's order), so with the same seed a reference
cell starts from the same weights as the fused one and their state dicts are
interchangeable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = tuple[Tensor, ...]  # one layer's state: (h,) or (h, c)


class Recurrent(nn.Module):
    """Stacked layers unrolled over time; a subclass defines one step."""

    gates = 1  # weight blocks per matrix: 1 for the RNN, 4 for the LSTM, 3 for the GRU
    state_size = 1  # tensors in one layer's state

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.hidden_size, self.num_layers, self.dropout = hidden_size, num_layers, dropout
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            columns = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(rows, columns)))
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(rows, hidden_size)))
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(rows)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(rows)))
        bound = 1.0 / math.sqrt(hidden_size)  # torch's default, drawn in the same order
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        """One time step; ``xw_t`` is the input already multiplied by W_xh (plus its bias)."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: Tensor | State | None = None) -> tuple[Tensor, Tensor | State]:
        batch, steps, _ = x.shape
        if state is None:
            zeros = x.new_zeros(self.num_layers, batch, self.hidden_size)
            state = (zeros,) * self.state_size
        elif self.state_size == 1:
            state = (state,)
        final = []
        for layer in range(self.num_layers):
            W_xh, W_hh = getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}")
            b_xh, b_hh = getattr(self, f"bias_ih_l{layer}"), getattr(self, f"bias_hh_l{layer}")
            xw = x @ W_xh.T + b_xh  # the input's share for every step at once: it does not depend on h
            x, s = self.unroll(xw, tuple(part[layer] for part in state), W_hh, b_hh)
            if self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
            final.append(s)
        packed = tuple(torch.stack(parts) for parts in zip(*final))
        return x, packed if self.state_size > 1 else packed[0]

    def unroll(self, xw: Tensor, s: State, W_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, State]:
        """One layer through time: the same weights at every step (``cell.compile`` compiles this loop)."""
        outputs = []
        for t in range(xw.shape[1]):
            s = self.step(xw[:, t], s, W_hh, b_hh)
            outputs.append(s[0])
        return torch.stack(outputs, dim=1), s


class RNN(Recurrent):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)"""

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        (h,) = state
        h = torch.tanh(xw_t + h @ W_hh.T + b_hh)
        return (h,)


class LSTM(Recurrent):
    """Input, forget and output gates around a cell state c (Hochreiter & Schmidhuber 1997)."""

    gates, state_size = 4, 2

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        h, c = state
        i, f, g, o = (xw_t + h @ W_hh.T + b_hh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # the cell state: gradients flow through f, not through a squashing weight
        h = o * torch.tanh(c)
        return h, c


class GRU(Recurrent):
    """Update gate z and reset gate r around a candidate state n (Cho et al. 2014)."""

    gates = 3

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        (h,) = state
        x_r, x_z, x_n = xw_t.chunk(3, dim=1)
        h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)  # candidate state
        h = (1 - z) * n + z * h
        return (h,)
