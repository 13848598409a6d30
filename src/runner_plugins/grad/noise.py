"""Annealed gradient noise (Neelakantan et al. 2015): g <- g + N(0, eta / (1 + t)^gamma) at step t.

The noise is drawn from a generator of the handler's own, seeded by the config, so that adding it
leaves the draws of dropout unchanged and every DDP process adds the same noise to the same
averaged gradient. That generator is the handler's state: ``state_dict()`` saves it and the
runner keeps it in every checkpoint, and the step comes from the runner (``step=``), so a
resumed run adds exactly the noise an uninterrupted one does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class GradientNoise:
    def __init__(self, eta: float, gamma: float, seed: int):
        self.eta, self.gamma, self.seed = eta, gamma, seed
        self.generator: torch.Generator | None = None  # made on the gradients' device at the first call
        self.saved: Tensor | None = None  # a loaded state, for the generator still to be made

    def std(self, step: int) -> float:
        """The noise's standard deviation at ``step``: sqrt(eta / (1 + step)^gamma)."""
        return (self.eta / (1 + step) ** self.gamma) ** 0.5

    def _generator(self, device: torch.device) -> torch.Generator:
        if self.generator is None or self.generator.device != device:
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
            if self.saved is not None:
                self.generator.set_state(self.saved)
        return self.generator

    @torch.no_grad()
    def __call__(self, parameters: list[Tensor], *, step: int = 0) -> Tensor:
        generator, std = self._generator(parameters[0].grad.device), self.std(step)
        changed = []
        for p in parameters:
            noise = torch.randn(p.grad.shape, generator=generator, device=p.grad.device, dtype=p.grad.dtype)
            noisy = p.grad + std * noise
            changed.append((noisy != p.grad).any())  # noise below a huge gradient's precision changes nothing
            p.grad.copy_(noisy)
        return torch.stack(changed).any()

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state() if self.generator is not None else self.saved}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.saved = state["generator"]
        if self.saved is not None and self.generator is not None:
            self.generator.set_state(self.saved)
