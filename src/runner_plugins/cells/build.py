"""Make a cell module from its config: torch's fused kernels or the reference code."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from runner import Cell
from runner_plugins.cells.config import CellConfig, Impl, RNNConfig
from runner_plugins.cells.initialisation import initialise
from runner_plugins.cells.reference import GRU, LSTM, RNN

FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
REFERENCE = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def build_cell(kind: str, config: CellConfig, input_size: int) -> Cell:
    """The cell ``kind`` as ``config`` says, its weights initialised (the same from the same seed in both impls)."""
    # torch warns about dropout on a single layer, where it has nothing to act on
    dropout = config.dropout if config.num_layers > 1 else 0.0
    options = {"nonlinearity": config.nonlinearity.value} if isinstance(config, RNNConfig) else {}
    if config.impl == Impl.fused:
        cell = FUSED[kind](
            input_size, config.hidden_size, config.num_layers, dropout=dropout, batch_first=True, **options
        )
    else:
        cell = REFERENCE[kind](input_size, config.hidden_size, config.num_layers, dropout=dropout, **options)
    initialise(cell, config)
    if config.impl == Impl.reference and config.compile:
        # the whole loop, not one step: compiling only the step gains nothing (benchmarks/)
        cell.unroll = torch.compile(cell.unroll, dynamic=False)
    cell.output_size = config.hidden_size
    return cast(Cell, cell)  # a Module's type does not know the output_size set just above
