"""Adaptive gradient clipping, unit-wise (Brock et al. 2021, NFNets).

For every unit ``i`` of every parameter (a row of a weight matrix; a bias or
any 1-d parameter counts as one unit), with weights ``W_i`` and gradient
``G_i``::

    if ||G_i|| > clipping * max(||W_i||, eps):
        G_i <- clipping * max(||W_i||, eps) / ||G_i|| * G_i

The bound scales with the weights, so large layers are not starved and small
ones are not blown up, as one global norm threshold would do.
"""

from __future__ import annotations

import torch
from torch import Tensor


def unitwise_norm(t: Tensor) -> Tensor:
    """The L2 norm per unit, shaped to broadcast against ``t``."""
    if t.ndim <= 1:
        return t.norm()
    return t.norm(dim=tuple(range(1, t.ndim)), keepdim=True)


class AdaptiveClip:
    def __init__(self, clipping: float = 0.01, eps: float = 1e-3):
        self.clipping, self.eps = clipping, eps

    @torch.no_grad()
    def __call__(self, parameters: list[Tensor]) -> Tensor:
        clipped = []
        for p in parameters:
            limit = self.clipping * unitwise_norm(p).clamp_min(self.eps)
            norm = unitwise_norm(p.grad)
            over = norm > limit
            # units within the limit are multiplied by exactly 1: their gradients stay bit for bit
            p.grad.mul_(torch.where(over, limit / norm.clamp_min(1e-12), torch.ones_like(norm)))
            clipped.append(over.any())
        return torch.stack(clipped).any()
