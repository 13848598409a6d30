"""The config classes of the built-in cells: what ``cells`` options a user can set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Impl(str, Enum):
    fused = "fused"  # torch.nn.RNN / LSTM / GRU (cuDNN or oneDNN kernels)
    reference = "reference"  # written from the equations, one step at a time


class RecurrentInit(str, Enum):
    default = "default"  # torch's: every entry ~ U(-1/sqrt(H), 1/sqrt(H))
    orthogonal = "orthogonal"  # each gate's block a random orthogonal matrix (Saxe et al. 2014)
    identity = "identity"  # each gate's block the identity (Le, Jaitly & Hinton 2015)


class Nonlinearity(str, Enum):
    tanh = "tanh"
    relu = "relu"


@dataclass
class CellConfig:
    """The options every built-in cell has."""

    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0  # between stacked layers
    impl: Impl = Impl.fused
    compile: bool = False  # reference only: torch.compile each layer's time loop (slow first step)
    recurrent_init: RecurrentInit = RecurrentInit.default  # W_hh at the start, per gate block
    recurrent_scale: float = 1.0  # gain on W_hh after recurrent_init (identity: scale * I), > 0

    def __post_init__(self) -> None:
        if self.hidden_size < 1:
            raise ValueError(f"cell.hidden_size must be at least 1, got {self.hidden_size}")
        if self.num_layers < 1:
            raise ValueError(f"cell.num_layers must be at least 1, got {self.num_layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"cell.dropout must be in [0, 1), got {self.dropout}")
        if self.compile and self.impl != Impl.reference:
            raise ValueError("cell.compile applies to cell.impl=reference (the fused kernels are compiled already)")
        if not (self.recurrent_scale > 0 and math.isfinite(self.recurrent_scale)):
            raise ValueError(f"cell.recurrent_scale must be positive and finite, got {self.recurrent_scale}")


@dataclass
class RNNConfig(CellConfig):
    """The simple RNN's options; ``nonlinearity=relu recurrent_init=identity`` is the IRNN."""

    nonlinearity: Nonlinearity = Nonlinearity.tanh  # phi in h_t = phi(W_xh x_t + W_hh h_{t-1} + b)


@dataclass
class LSTMConfig(CellConfig):
    """The LSTM's options."""

    forget_bias: float | None = None  # b_ih_f + b_hh_f at the start (b_hh_f = 0); None: torch's init

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.forget_bias is not None and not math.isfinite(self.forget_bias):
            raise ValueError(f"cell.forget_bias must be finite, got {self.forget_bias}")


@dataclass
class GRUConfig(CellConfig):
    """The GRU's options: those every cell has."""


class SkewInit(str, Enum):
    henaff = "henaff"  # block angles ~ U(-pi, pi) (Henaff, Szlam & LeCun 2016)
    cayley = "cayley"  # the Cayley initialisation of Helfrich, Willmott & Ye 2018


@dataclass
class ExpRNNConfig:
    """The expRNN's options (Lezcano-Casado & Martinez-Rubio 2019): one orthogonal layer, modReLU units."""

    hidden_size: int = 128
    init: SkewInit = SkewInit.henaff  # A, whose exponential is W_hh, at the start

    def __post_init__(self) -> None:
        if self.hidden_size < 2:
            raise ValueError(f"cell.hidden_size must be at least 2 (2 x 2 rotation blocks), got {self.hidden_size}")
