"""Built-in cells: the RNN (tanh or ReLU), the LSTM and the GRU, each fused or reference; the orthogonal expRNN.

Each cell has its own config class, so that an option reaches only the cells it
applies to (``cell=gru cell.forget_bias=1`` is refused by the config itself).
"""

from __future__ import annotations

from collections.abc import Callable

from runner import Cell, RegisterCell, hookimpl
from runner_plugins.cells.config import CellConfig, ExpRNNConfig, GRUConfig, LSTMConfig, RNNConfig

CONFIGS = {"rnn": RNNConfig, "lstm": LSTMConfig, "gru": GRUConfig}


def _builder(kind: str) -> Callable[[CellConfig, int], Cell]:
    def build(config: CellConfig, input_size: int) -> Cell:
        from runner_plugins.cells.build import build_cell  # torch is imported only here

        return build_cell(kind, config, input_size)

    build.__name__ = f"build_{kind}"
    return build


def build_exprnn(config: ExpRNNConfig, input_size: int) -> Cell:
    from runner_plugins.cells.exprnn import ExpRNN

    return ExpRNN(input_size, config.hidden_size, config.init)


@hookimpl
def register_cells(register: RegisterCell) -> None:
    for kind, config_class in CONFIGS.items():
        register(kind, _builder(kind), config_class)
    register("exprnn", build_exprnn, ExpRNNConfig)
