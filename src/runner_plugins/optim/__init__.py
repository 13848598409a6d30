"""Built-in optimizers: torch's SGD, Adam, AdamW and RMSprop, their options named as torch names them.

Each runs as one fused kernel over all parameters on a GPU where torch has one (SGD, Adam, AdamW),
else with torch's default implementation. The learning-rate schedule is the runner's, for every
optimizer alike (``schedule.lr_decay``, ``schedule.decay_after``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner import Optimizer, RegisterOptimizer, hookimpl


def _nonnegative(config: Any, *names: str) -> None:
    if not config.lr > 0:
        raise ValueError(f"optim.lr must be positive, got {config.lr}")
    for name in names:
        if getattr(config, name) < 0:
            raise ValueError(f"optim.{name} must not be negative, got {getattr(config, name)}")


def _betas(betas: list[float]) -> None:
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"optim.betas must be two numbers in [0, 1), got {betas}")


@dataclass
class SGDConfig:
    lr: float = 1.0  # the step size (Zaremba et al. 2014 train their language models at 1)
    momentum: float = 0.0  # heavy-ball momentum; 0: plain SGD
    weight_decay: float = 0.0  # L2 penalty, added to the gradient
    nesterov: bool = False  # Nesterov's momentum (Sutskever et al. 2013); needs momentum > 0

    def __post_init__(self) -> None:
        _nonnegative(self, "momentum", "weight_decay")
        if self.nesterov and self.momentum == 0:
            raise ValueError("optim.nesterov needs optim.momentum > 0")


@dataclass
class AdamConfig:
    lr: float = 1e-3  # the step size (Kingma & Ba 2015)
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # decay of the gradient's 1st and 2nd moments
    eps: float = 1e-8  # added to the root of the 2nd moment
    weight_decay: float = 0.0  # L2 penalty, added to the gradient (AdamW decouples it)
    amsgrad: bool = False  # the running maximum of the 2nd moment (Reddi et al. 2018)

    def __post_init__(self) -> None:
        _nonnegative(self, "eps", "weight_decay")
        _betas(self.betas)


@dataclass
class AdamWConfig(AdamConfig):
    weight_decay: float = 0.01  # decoupled: weights shrink by lr * weight_decay every step (Loshchilov & Hutter 2019)


@dataclass
class RMSpropConfig:
    lr: float = 1e-3  # the step size (Arjovsky et al. 2016 use 1e-3)
    alpha: float = field(
        default=0.99,
        metadata={
            "help": "torch's name for the decay of the running average of squared gradients: the decay of "
            "Tieleman & Hinton 2012; the 'decay 0.9' of Arjovsky et al. 2016 is optim.alpha=0.9"
        },
    )
    eps: float = 1e-8  # added to the root of the running average
    weight_decay: float = 0.0  # L2 penalty, added to the gradient
    momentum: float = 0.0  # momentum on the scaled step; 0: none
    centered: bool = False  # divide by the running variance, not the second moment (Graves 2013)

    def __post_init__(self) -> None:
        _nonnegative(self, "eps", "weight_decay", "momentum")
        if not 0 <= self.alpha < 1:
            raise ValueError(f"optim.alpha must be in [0, 1), got {self.alpha}")


def _fused(parameters: list) -> dict[str, bool]:
    """One kernel for all parameters on a GPU."""
    return {"fused": True} if parameters and parameters[0].is_cuda else {}


def build_sgd(config: SGDConfig, parameters: list) -> Optimizer:
    import torch

    c = config
    return torch.optim.SGD(
        parameters, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay, nesterov=c.nesterov, **_fused(parameters)
    )


def _adam(adam: type, config: AdamConfig, parameters: list) -> Optimizer:
    c = config
    return adam(
        parameters,
        lr=c.lr,
        betas=tuple(c.betas),
        eps=c.eps,
        weight_decay=c.weight_decay,
        amsgrad=c.amsgrad,
        **_fused(parameters),
    )


def build_adam(config: AdamConfig, parameters: list) -> Optimizer:
    import torch

    return _adam(torch.optim.Adam, config, parameters)


def build_adamw(config: AdamWConfig, parameters: list) -> Optimizer:
    import torch

    return _adam(torch.optim.AdamW, config, parameters)


def build_rmsprop(config: RMSpropConfig, parameters: list) -> Optimizer:
    import torch

    c = config
    return torch.optim.RMSprop(
        parameters,
        lr=c.lr,
        alpha=c.alpha,
        eps=c.eps,
        weight_decay=c.weight_decay,
        momentum=c.momentum,
        centered=c.centered,
    )


@hookimpl
def register_optimizers(register: RegisterOptimizer) -> None:
    register("sgd", build_sgd, SGDConfig)
    register("adam", build_adam, AdamConfig)
    register("adamw", build_adamw, AdamWConfig)
    register("rmsprop", build_rmsprop, RMSpropConfig)
