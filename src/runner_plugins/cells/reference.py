"""The cells written from their equations, one time step at a time.

Copy one of these to make a new cell. Parameters have the names, shapes and
initialisation of torch.nn.RNN / LSTM / GRU (``weight_ih_l0`` is W_xh of layer
0, gate blocks stacked in torch's order), so with the same seed a reference
cell starts from the same weights as the fused one (the initialisation options
of initialisation.py act on both by these names) and their state dicts are
interchangeable. In the equations, ``*`` is the elementwise product.
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
        batch = x.shape[0]
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
        packed = tuple(torch.stack(parts) for parts in zip(*final, strict=True))
        return x, packed if self.state_size > 1 else packed[0]

    def unroll(self, xw: Tensor, s: State, W_hh: Tensor, b_hh: Tensor) -> tuple[Tensor, State]:
        """One layer through time: the same weights at every step (``cell.compile`` compiles this loop)."""
        outputs = []
        for xw_t in xw.unbind(1):  # not xw[:, t]: each slice's backward would write a zero tensor of all of xw
            s = self.step(xw_t, s, W_hh, b_hh)
            outputs.append(s[0])
        return torch.stack(outputs, dim=1), s


class RNN(Recurrent):
    """The simple (Elman 1990) RNN::

        h_t = phi(W_xh x_t + b_xh + W_hh h_{t-1} + b_hh)

    with phi = tanh, or phi = ReLU (with W_hh = I at the start: the IRNN of
    Le, Jaitly & Hinton 2015), as torch.nn.RNN's ``nonlinearity``.
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, nonlinearity: str = "tanh"
    ):
        super().__init__(input_size, hidden_size, num_layers, dropout)
        self.phi = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        (h,) = state
        h = self.phi(xw_t + h @ W_hh.T + b_hh)
        return (h,)


class LSTM(Recurrent):
    """The LSTM with a forget gate (Gers, Schmidhuber & Cummins 2000), as torch.nn.LSTM and cuDNN compute it::

        i_t = sigmoid(W_xi x_t + b_xi + W_hi h_{t-1} + b_hi)    input gate
        f_t = sigmoid(W_xf x_t + b_xf + W_hf h_{t-1} + b_hf)    forget gate
        g_t = tanh(W_xg x_t + b_xg + W_hg h_{t-1} + b_hg)       candidate
        o_t = sigmoid(W_xo x_t + b_xo + W_ho h_{t-1} + b_ho)    output gate
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    The memory cell with input and output gates is Hochreiter & Schmidhuber's
    (1997), whose cell had no forget gate (f_t = 1); there are no peepholes.
    """

    gates, state_size = 4, 2

    def step(self, xw_t: Tensor, state: State, W_hh: Tensor, b_hh: Tensor) -> State:
        h, c = state
        i, f, g, o = (xw_t + h @ W_hh.T + b_hh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # the cell state: gradients flow through f, not through a squashing weight
        h = o * torch.tanh(c)
        return h, c


class GRU(Recurrent):
    """The GRU as torch.nn.GRU and cuDNN compute it::

        r_t = sigmoid(W_xr x_t + b_xr + W_hr h_{t-1} + b_hr)    reset gate
        z_t = sigmoid(W_xz x_t + b_xz + W_hz h_{t-1} + b_hz)    update gate
        n_t = tanh(W_xn x_t + b_xn + r_t * (W_hn h_{t-1} + b_hn))  candidate
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    This is a variant of Cho et al. (2014), whose candidate applies the reset
    gate before the matrix: n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1})). Here
    it multiplies W_hn h_{t-1} + b_hn, which lets the h-side products of all
    three gates be one matrix product per step.
    """

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
