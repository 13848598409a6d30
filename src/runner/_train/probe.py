"""The gradient-flow probe: ||dL/dh_t|| of the top layer's hidden state h_t at every time step t.

Every ``probe.grad_flow.every`` training steps, that step's batch runs the
cell one time step at a time (the model's ``unroll`` hook), so that each h_t
is a tensor of its own whose gradient the backward pass fills in. A fused cell
(torch.nn.RNN/LSTM/GRU) keeps its inner states to itself; stepped, it shows
them, and computes the same function. The gradient with respect to h_t is the
sum of the two routes out of step t: through the output y_t (the head and the
loss) and through the state carried to step t+1. The norm is taken over the
whole batch, so the curve shows how much of the loss's gradient reaches each
step: the vanishing or exploding gradient made visible.

Rows ``step,t,norm`` (t = 1..T) go to ``RUN_DIR/grad_flow.csv`` as they are
measured, and to W&B at the end of training when the job logs there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from runner._config.schema import ProbeConfig
from runner._run_folder import run_dir


def callbacks(settings: ProbeConfig, folder: Path) -> list[L.Callback]:
    """The probes the config turns on."""
    every = settings.grad_flow.every
    return [GradFlow(every, Path(folder))] if every else []


def _top_hidden(state: Any) -> Tensor:
    """h of the top layer's state, as torch's cells return it: h (layers, batch, hidden) or (h, c)."""
    h = state[0] if isinstance(state, (tuple, list)) else state
    if not isinstance(h, Tensor) or h.dim() != 3:
        raise TypeError(f"the gradient-flow probe needs a cell state shaped like torch's, got {type(state).__name__}")
    return h


class Unroll:
    """Runs a cell one step at a time, keeping every step's output and state to read their gradients."""

    def __init__(self) -> None:
        self.outputs: list[Tensor] = []
        self.states: list[Tensor] = []

    def __call__(self, cell: nn.Module, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        for t in range(x.shape[1]):
            y, state = cell(x[:, t : t + 1], state)
            h = _top_hidden(state)
            for kept in (y, h):
                kept.retain_grad()
            self.outputs.append(y)
            self.states.append(h)
        return torch.cat(self.outputs, dim=1), state

    def norms(self) -> list[float]:
        """||dL/dh_t|| for t = 1..T, after the backward pass."""
        out = []
        for y, h in zip(self.outputs, self.states, strict=True):
            grad = torch.zeros_like(y[:, 0])
            if y.grad is not None:  # the route through the output at step t
                grad = grad + y.grad[:, 0]
            if h.grad is not None:  # the route through the state into step t+1 (none after the last)
                grad = grad + h.grad[-1]
            out.append(float(grad.norm()))
        return out


class GradFlow(L.Callback):
    """Measures the gradient flow every ``every`` training steps, from step 0 (the initial weights)."""

    def __init__(self, every: int, folder: Path):
        self.every, self.folder = every, folder
        self.unroll: Unroll | None = None
        self.rows: list[tuple[int, int, float]] = []

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        # a resumed run keeps what was measured before its checkpoint
        self.rows = run_dir.grad_flow(self.folder, before_step=trainer.global_step)
        run_dir.write_grad_flow(self.folder, self.rows)

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if trainer.global_step % self.every == 0:
            self.unroll = module.unroll = Unroll()

    def on_after_backward(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if self.unroll is None:
            return
        rows = [(trainer.global_step, t, norm) for t, norm in enumerate(self.unroll.norms(), start=1)]
        self.rows += rows
        if trainer.is_global_zero:
            run_dir.write_grad_flow(self.folder, rows, append=True)

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        self.unroll = module.unroll = None  # back to the fused cell until the next probed step

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        from runner._train.wandb_run import log_grad_flow

        log_grad_flow(trainer, self.rows)
