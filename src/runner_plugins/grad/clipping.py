"""Gradient clipping, applied between backward and the optimizer step."""

from __future__ import annotations

import torch
from torch import Tensor


class ClipNorm:
    """Pascanu et al. 2013: if the global norm ||g|| exceeds max_norm, scale g by max_norm / ||g||."""

    def __init__(self, max_norm: float, norm_type: float = 2.0):
        self.max_norm, self.norm_type = max_norm, norm_type

    def __call__(self, parameters: list[Tensor]) -> Tensor:
        norm = torch.nn.utils.clip_grad_norm_(parameters, self.max_norm, self.norm_type)
        return norm > self.max_norm


class ClipValue:
    """Clamp every gradient entry to [-clip_value, clip_value]."""

    def __init__(self, clip_value: float):
        self.clip_value = clip_value

    def __call__(self, parameters: list[Tensor]) -> Tensor:
        grads = [p.grad for p in parameters if p.grad is not None]
        largest = torch.stack([g.abs().max() for g in grads]).max()
        torch.nn.utils.clip_grad_value_(parameters, self.clip_value)
        return largest > self.clip_value
