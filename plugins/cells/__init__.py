"""Built-in cells: the tanh RNN, the LSTM and the GRU, each fused or reference."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from runner import hookimpl

KINDS = ("rnn", "lstm", "gru")


class Impl(str, Enum):
    fused = "fused"  # torch.nn.RNN / LSTM / GRU (cuDNN or oneDNN kernels)
    reference = "reference"  # written from the equations, one step at a time


@dataclass
class CellConfig:
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0  # between stacked layers
    impl: Impl = Impl.fused
    compile: bool = False  # reference only: torch.compile each layer's time loop (slow first step)

    def __post_init__(self) -> None:
        if self.hidden_size < 1:
            raise ValueError(f"cell.hidden_size must be at least 1, got {self.hidden_size}")
        if self.num_layers < 1:
            raise ValueError(f"cell.num_layers must be at least 1, got {self.num_layers}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"cell.dropout must be in [0, 1), got {self.dropout}")
        if self.compile and self.impl != Impl.reference:
            raise ValueError("cell.compile applies to cell.impl=reference (the fused kernels are compiled already)")


def _builder(kind: str):
    def build(config: CellConfig, input_size: int):
        from runner_plugins.cells.build import build_cell  # torch is imported only here

        return build_cell(kind, config, input_size)

    build.__name__ = f"build_{kind}"
    return build


@hookimpl
def register_cells(register) -> None:
    for kind in KINDS:
        register(kind, _builder(kind), CellConfig)
