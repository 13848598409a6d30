"""Example runner plugins: a cell, a dataset and a gradient handler in a package of their own.

This module is what the ``runner`` entry point names. The runner imports it to
list the options (``python -m runner --help``), so it holds only the config
dataclasses and the hooks; torch and lightning are imported inside the
builders, from the modules next to this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II

from runner import Cell, DataModule, GradHandler, RegisterCell, RegisterDataset, RegisterGradHandler, hookimpl

PLUGIN_API = 1  # the version of the runner's plugin contract this package is written for


@dataclass
class IndRNNConfig:
    hidden_size: int = 128  # units per layer
    num_layers: int = 1  # stacked layers, each reading the outputs of the one below
    recurrent_max: float = 1.0  # |u| <= this (u is clamped in the forward pass): keeps h from exploding

    def __post_init__(self) -> None:
        if self.hidden_size < 1:
            raise ValueError(f"cell.hidden_size must be at least 1, got {self.hidden_size}")
        if self.num_layers < 1:
            raise ValueError(f"cell.num_layers must be at least 1, got {self.num_layers}")
        if not self.recurrent_max > 0:
            raise ValueError(f"cell.recurrent_max must be positive, got {self.recurrent_max}")


@dataclass
class TemporalOrderConfig:
    seq_len: int = 100  # symbols per sequence; the two relevant ones lie 10-20 % and 50-60 % of the way in
    batch_size: int = 32  # sequences per batch
    num_train: int = 10_000  # training sequences, reshuffled every epoch
    num_val: int = 1_000  # validation sequences
    seed: int = II("seed")  # the run's seed unless set on its own

    def __post_init__(self) -> None:
        if self.seq_len < 10:
            raise ValueError(f"data.seq_len must be at least 10 (two marker windows), got {self.seq_len}")
        for name in ("batch_size", "num_train", "num_val"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be at least 1, got {getattr(self, name)}")
        if self.num_train < self.batch_size:
            raise ValueError(f"data.num_train ({self.num_train}) is smaller than one batch ({self.batch_size})")


@dataclass
class AGCConfig:
    clipping: float = 0.01  # lambda: the largest gradient norm per unit of weight norm
    eps: float = 1e-3  # weight norms below this count as this, so that zero-initialised units can move

    def __post_init__(self) -> None:
        if not self.clipping > 0:
            raise ValueError(f"grad.clipping must be positive, got {self.clipping}")
        if not self.eps > 0:
            raise ValueError(f"grad.eps must be positive, got {self.eps}")


def build_indrnn(config: IndRNNConfig, input_size: int) -> Cell:
    from runner_example_plugins.indrnn import IndRNN

    return IndRNN(input_size, config.hidden_size, config.num_layers, config.recurrent_max)


def build_temporal_order(config: TemporalOrderConfig) -> DataModule:
    from runner_example_plugins.temporal_order import TemporalOrderData

    return TemporalOrderData(config)


def build_agc(config: AGCConfig) -> GradHandler:
    from runner_example_plugins.agc import AdaptiveClip

    return AdaptiveClip(config.clipping, config.eps)


@hookimpl
def register_cells(register: RegisterCell) -> None:
    register("indrnn", build_indrnn, IndRNNConfig)


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    register("temporal_order", build_temporal_order, TemporalOrderConfig)


@hookimpl
def register_grad_handlers(register: RegisterGradHandler) -> None:
    register("agc", build_agc, AGCConfig)
