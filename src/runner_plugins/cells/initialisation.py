"""The options that change a cell's starting weights: the recurrent matrix and the LSTM's forget-gate bias.

They act on the parameters by name after torch's own initialisation, and the
fused and reference cells share those names and that initialisation, so the
same seed gives both the same weights under every option.
"""

from __future__ import annotations

import torch
from torch import nn

from runner_plugins.cells.config import CellConfig, LSTMConfig, RecurrentInit

FORGET = 1  # the forget gate's block in torch's LSTM gate order (i, f, g, o)


@torch.no_grad()
def initialise(cell: nn.Module, config: CellConfig) -> None:
    """Set each layer's W_hh from ``recurrent_init`` and ``recurrent_scale``, and the LSTM's forget bias.

    A gated cell's W_hh stacks one H x H block per gate; each block is
    initialised on its own (each orthogonal, each the identity). Only the
    weights an option names change: W_hh for the recurrent options, the forget
    gate's two bias blocks for ``forget_bias`` (b_ih_f = forget_bias and
    b_hh_f = 0, so that their sum, the bias the gate sees, is the value).
    """
    H = config.hidden_size
    for layer in range(config.num_layers):
        for block in getattr(cell, f"weight_hh_l{layer}").split(H):
            if config.recurrent_init == RecurrentInit.orthogonal:
                nn.init.orthogonal_(block, gain=config.recurrent_scale)
            elif config.recurrent_init == RecurrentInit.identity:
                block.copy_(config.recurrent_scale * torch.eye(H))
            elif config.recurrent_scale != 1.0:
                block.mul_(config.recurrent_scale)
        if isinstance(config, LSTMConfig) and config.forget_bias is not None:
            getattr(cell, f"bias_ih_l{layer}").split(H)[FORGET].fill_(config.forget_bias)
            getattr(cell, f"bias_hh_l{layer}").split(H)[FORGET].zero_()
