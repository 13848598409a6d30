"""Built-in gradient handlers: none, global-norm clipping, element-wise clipping, annealed gradient noise."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II

from runner import GradHandler, RegisterGradHandler, hookimpl


@dataclass
class NoneConfig:
    pass


@dataclass
class ClipNormConfig:
    max_norm: float = 1.0  # the largest norm of all gradients together (Pascanu et al. 2013)
    norm_type: float = 2.0  # 'inf' for the largest absolute entry

    def __post_init__(self) -> None:
        if not self.max_norm > 0:
            raise ValueError(f"grad.max_norm must be positive, got {self.max_norm}")
        if not self.norm_type > 0:
            raise ValueError(f"grad.norm_type must be positive, got {self.norm_type}")


@dataclass
class ClipValueConfig:
    clip_value: float = 1.0  # every gradient entry is clamped to [-clip_value, clip_value]

    def __post_init__(self) -> None:
        if not self.clip_value > 0:
            raise ValueError(f"grad.clip_value must be positive, got {self.clip_value}")


@dataclass
class NoiseConfig:
    eta: float = 0.01  # the noise's variance at the first step (Neelakantan et al. 2015 try 0.01, 0.3 and 1)
    gamma: float = 0.55  # the variance decays as eta / (1 + t)^gamma at step t
    seed: int = II("seed")  # the noise generator's seed: the run's seed unless set on its own

    def __post_init__(self) -> None:
        if not self.eta > 0:
            raise ValueError(f"grad.eta must be positive, got {self.eta}")
        if self.gamma < 0:
            raise ValueError(f"grad.gamma must not be negative, got {self.gamma}")


def build_none(config: NoneConfig) -> GradHandler:
    def leave(parameters: list) -> bool:
        return False

    return leave


def build_clip_norm(config: ClipNormConfig) -> GradHandler:
    from runner_plugins.grad.clipping import ClipNorm

    return ClipNorm(config.max_norm, config.norm_type)


def build_clip_value(config: ClipValueConfig) -> GradHandler:
    from runner_plugins.grad.clipping import ClipValue

    return ClipValue(config.clip_value)


def build_noise(config: NoiseConfig) -> GradHandler:
    from runner_plugins.grad.noise import GradientNoise

    return GradientNoise(config.eta, config.gamma, config.seed)


@hookimpl
def register_grad_handlers(register: RegisterGradHandler) -> None:
    register("none", build_none, NoneConfig)
    register("clip_norm", build_clip_norm, ClipNormConfig)
    register("clip_value", build_clip_value, ClipValueConfig)
    register("noise", build_noise, NoiseConfig)
