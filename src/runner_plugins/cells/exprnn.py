"""The exponential RNN (expRNN, Lezcano-Casado & Martinez-Rubio 2019): an orthogonal recurrence::

    W_hh = exp(A),   A = -A^T                      orthogonal: ||W_hh v|| = ||v||
    h_t  = modrelu(W_xh x_t + W_hh h_{t-1}; b)
    modrelu(z; b)_j = sign(z_j) * relu(|z_j| + b_j)

A skew-symmetric A has an orthogonal exponential, and every rotation is the
exponential of one, so gradient descent on A's free entries (its strict upper
triangle) moves W_hh over the rotations and never off them: the backpropagated
gradient keeps its norm through W_hh at every step, neither exploding nor
vanishing there. modReLU (Arjovsky, Shah & Bengio 2016; the real form of
Helfrich, Willmott & Ye 2018) keeps each unit's sign and shifts its magnitude
by a learned threshold b, so that the nonlinearity alone decides what is forgotten.

W_hh is computed once per forward pass (``torch.linalg.matrix_exp``, about
H^3 operations), not once per step; the steps are not fused, so every step is
a few separate kernels (benchmarks/exprnn_step.py measures what that costs
against the fused LSTM: docs/studies/field-benchmarks.md).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from runner_plugins.cells.config import SkewInit


def skew(A: Tensor) -> Tensor:
    """The skew-symmetric matrix whose strict upper triangle is ``A``'s."""
    upper = A.triu(1)
    return upper - upper.T


def block_diagonal_(A: Tensor, angles: Tensor) -> Tensor:
    """Set ``A`` to the skew matrix of 2 x 2 blocks [[0, s], [-s, 0]], ``s`` from ``angles`` (one per block)."""
    with torch.no_grad():
        A.zero_()
        index = torch.arange(len(angles)) * 2
        A[index, index + 1] = angles
    return A


def henaff_(A: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Henaff, Szlam & LeCun 2016: block angles ~ U(-pi, pi), so exp(A) rotates each plane at random."""
    angles = torch.empty(A.shape[0] // 2).uniform_(-math.pi, math.pi, generator=generator)
    return block_diagonal_(A, angles)


def cayley_(A: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Helfrich, Willmott & Ye 2018: s = -sqrt((1 - cos u) / (1 + cos u)), u ~ U(0, pi/2)."""
    u = torch.empty(A.shape[0] // 2).uniform_(0, math.pi / 2, generator=generator)
    return block_diagonal_(A, -torch.sqrt((1 - torch.cos(u)) / (1 + torch.cos(u))))


SKEW_INITS = {SkewInit.henaff: henaff_, SkewInit.cayley: cayley_}


class ExpRNN(nn.Module):
    """One layer of the expRNN, batch-first; its state is h, shaped (1, batch, hidden) as torch's RNN's."""

    def __init__(self, input_size: int, hidden_size: int, init: SkewInit = SkewInit.henaff):
        super().__init__()
        self.hidden_size = self.output_size = hidden_size  # the runner sizes its output head from output_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))  # W_xh
        self.log_weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # A: its strict upper triangle
        self.bias = nn.Parameter(torch.empty(hidden_size))  # b of modReLU
        # the authors' initialisation: W_xh for ReLU-like units, b near 0, A by init
        nn.init.kaiming_normal_(self.weight_ih, nonlinearity="relu")
        nn.init.uniform_(self.bias, -0.01, 0.01)
        SKEW_INITS[SkewInit(init)](self.log_weight_hh)

    def recurrent_weight(self) -> Tensor:
        """W_hh = exp(A): orthogonal."""
        return torch.linalg.matrix_exp(skew(self.log_weight_hh))

    def modrelu(self, z: Tensor) -> Tensor:
        return torch.sign(z) * torch.relu(z.abs() + self.bias)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``x``: (batch, time, input_size); ``state``: (1, batch, hidden_size) or None (zeros)."""
        W_hh = self.recurrent_weight()  # once: the same weights at every step
        xw = x @ self.weight_ih.T  # the input's share for every step at once: it does not depend on h
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state[0]
        outputs = []
        for xw_t in xw.unbind(1):  # not xw[:, t]: each slice's backward would write a zero tensor of all of xw
            h = self.modrelu(xw_t + h @ W_hh.T)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)
