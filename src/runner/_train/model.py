"""The generic sequence model: input encoder -> cell -> output head, scored as the task says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from runner._config.schema import Loss, ModelConfig, ScheduleConfig
from runner._train.grad_handler import has_state, takes_step
from runner._train.graphs import Graphs
from runner._train.graphs import check as check_graphs
from runner.protocols import Cell, GradHandler, Optimizer
from runner.task import Task

IGNORE = -100  # class target of a step that carries no loss


def detach(state: Any) -> Any:
    """Cut the graph behind a cell's (opaque) state: truncated BPTT."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach(s) for s in state)
    if isinstance(state, dict):
        return {k: detach(v) for k, v in state.items()}
    return state


def score(task: Task, outputs: Tensor, targets: Tensor) -> dict[str, Tensor]:
    """Sums over a batch, so that metrics over a split weigh every step equally."""
    if task.targets == "real":
        errors = F.mse_loss(outputs.squeeze(-1) if task.output_size == 1 else outputs, targets, reduction="none")
        errors = errors if task.output_size == 1 else errors.mean(-1)
        return {"loss_sum": errors.sum(), "count": torch.tensor(errors.numel())}
    logits = outputs.reshape(-1, task.output_size)
    sums = {
        "loss_sum": F.cross_entropy(logits, targets.reshape(-1), ignore_index=IGNORE, reduction="sum"),
        "count": (targets != IGNORE).sum(),
    }
    if "accuracy" in task.metrics:
        if task.score_last and task.loss_steps == "all":
            outputs, targets = outputs[:, -task.score_last :], targets[:, -task.score_last :]
        scored = targets != IGNORE
        sums["correct"] = ((outputs.argmax(-1) == targets) & scored).sum()
        sums["scored"] = scored.sum()
    return sums


def metrics(task: Task, sums: dict[str, Tensor]) -> dict[str, Tensor]:
    loss = sums["loss_sum"] / sums["count"]
    values = {"loss": loss}
    if "mse" in task.metrics:
        values["mse"] = loss
    if "ppl" in task.metrics:
        values["ppl"] = torch.exp(loss)
    if "accuracy" in task.metrics:
        values["accuracy"] = sums["correct"] / sums["scored"]
    return values


class SequenceModel(L.LightningModule):
    def __init__(
        self,
        task: Task,
        cell: Cell,
        cell_input_size: int,
        grad_handler: GradHandler,
        optimizer: Callable[[list[nn.Parameter]], Optimizer],
        model: ModelConfig,
        schedule: ScheduleConfig,
    ):
        super().__init__()
        self.task, self.cell, self.grad_handler = task, cell, grad_handler
        self.build_optimizer, self.schedule = optimizer, schedule  # the builder has its config
        self._handler_takes_step = takes_step(grad_handler)
        self.loss_mode, self.check_finite_every, self.cuda_graphs = (
            model.loss,
            model.check_finite_every,
            model.cuda_graphs,
        )
        self.graphs: Graphs | None = None  # the captured passes, with model.cuda_graphs
        if task.inputs == "tokens":
            self.encoder = nn.Embedding(task.input_size, cell_input_size)
        else:
            self.encoder = nn.Identity()
        self.drop = nn.Dropout(model.dropout)
        self.head = nn.Linear(cell.output_size, task.output_size)
        if model.init_range is not None:
            for weight in self.parameters():
                nn.init.uniform_(weight, -model.init_range, model.init_range)
        # (steps clipped, steps) since the start of the run; a buffer, so checkpoints keep it
        self.register_buffer("clip_counts", torch.zeros(2))
        self.states: dict[str, Any] = {}
        self.sums: dict[str, Tensor] = {}
        self.diverged_at: int | None = None  # the first step whose training loss was not finite
        self.noticed_at: int | None = None  # the step at which that was read on the host
        self.nonfinite_at: Tensor | None = None  # the same, kept on the device until read; -1: none yet
        self._check_every = 1
        self.validated_at: int | None = None  # the global step of the last full validation
        self.identity: dict[str, Any] = {}  # the config that made this model, kept in checkpoints
        self.unroll: Callable | None = None  # runner.probe: runs the cell step by step on the steps it measures

    def forward(self, inputs: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        x = self.drop(self.encoder(inputs))
        h, state = self.cell(x, state) if self.unroll is None else self.unroll(self.cell, x, state)
        if self.task.loss_steps == "last":
            h = h[:, -1]
        return self.head(self.drop(h)), state

    def _run(self, batch: tuple[Tensor, Tensor], split: str) -> dict[str, Tensor]:
        inputs, targets = batch
        state = self.states.get(split) if self.task.carry_state else None
        if self.graphs is not None and self.training and self.unroll is None:
            outputs, state = self.graphs.run(inputs, state)  # this forward, replayed (src/runner/_train/graphs.py)
        else:
            outputs, state = self(inputs, state)
        if self.task.carry_state:
            self.states[split] = detach(state)
        return score(self.task, outputs, targets)

    # -- training ---------------------------------------------------------------
    def on_train_start(self) -> None:
        on_cpu = self.device.type == "cpu"  # where reading a value costs no synchronisation
        self._check_every = self.check_finite_every or (1 if on_cpu else self.trainer.log_every_n_steps)
        if self.nonfinite_at is None:  # not restored from a checkpoint
            self.nonfinite_at = torch.full((), -1, dtype=torch.long, device=self.device)
        self.nonfinite_at = self.nonfinite_at.to(self.device)
        if self.cuda_graphs:
            check_graphs(self.device, self.trainer.world_size, str(self.trainer.precision))
            self.graphs = Graphs(self)

    def on_train_epoch_start(self) -> None:
        self.states.pop("train", None)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        sums = self._run(batch, "train")
        total = self._total(sums)  # the whole batch's, over every DDP process
        self._watch(total["loss_sum"])  # finite exactly when the loss is
        batch_size = batch[0].shape[0]
        if self._logs_this_step:  # the metrics only where they are written: kernels cost time on a GPU
            values = metrics(self.task, total)
            self.log_dict({f"train/{k}": v for k, v in values.items()}, on_step=True, batch_size=batch_size)
            self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=True, batch_size=batch_size)
        # this process's part of the batch; DDP averages the parts' gradients
        if self.loss_mode == Loss.sum:
            return sums["loss_sum"] / batch_size
        return sums["loss_sum"] / sums["count"]

    def _watch(self, loss_sum: Tensor) -> None:
        """Keep the first step with a non-finite loss on the device; read it every few steps.

        Divergence is a result, not a crash: the run stops where it is noticed and
        reports the step where it happened. Reading the loss every step would make
        the host wait for the GPU every step, so there the flag is read on the steps
        Lightning logs (which read values anyway); the steps in between train on.
        Every DDP process sees the same total, so they all stop at the same step.
        """
        first = self.nonfinite_at
        self.nonfinite_at = torch.where(~torch.isfinite(loss_sum.detach()) & (first < 0), self.global_step, first)
        if (self.global_step + 1) % self._check_every == 0:
            self._notice()

    def _notice(self) -> None:
        """Read the divergence flag on the host; stop the run if it is set."""
        if self.diverged_at is None and self.nonfinite_at is not None and int(self.nonfinite_at) >= 0:
            self.diverged_at, self.noticed_at = int(self.nonfinite_at), self.global_step
            self.trainer.should_stop = True

    def on_train_end(self) -> None:
        self._notice()  # a divergence in the last steps before the end

    def _total(self, sums: dict[str, Tensor]) -> dict[str, Tensor]:
        """The sums over every DDP process's part of the data; the sums themselves in one process."""
        if self.trainer.world_size == 1:
            return sums
        # one all-reduce for all of them, into a new tensor (it works in place); float64 keeps counts exact
        stacked = torch.stack([value.detach().double() for value in sums.values()])
        return dict(zip(sums, self.trainer.strategy.reduce(stacked, reduce_op="sum"), strict=True))

    def _handle(self, params: list[Tensor]) -> bool | Tensor:
        if self._handler_takes_step:
            return self.grad_handler(params, step=self.global_step)
        return self.grad_handler(params)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        params = [p for p in self.parameters() if p.grad is not None]
        if not self._logs_this_step:  # the handler alone, as a hand-written loop would do
            self._count_clipped(self._handle(params))
            return
        grads = [p.grad for p in params]
        before = torch.nn.utils.get_total_norm(grads)
        changed = self._handle(params)
        after = torch.nn.utils.get_total_norm(grads) if changed is not False else before
        clipped = self._count_clipped(changed)
        self.log_dict(
            {
                "grad/norm_before": before,
                "grad/norm_after": after,
                "grad/clipped": clipped,
                "grad/clip_rate": self.clip_counts[0] / self.clip_counts[1],
            },
            on_step=True,
        )

    def _count_clipped(self, changed: bool | Tensor) -> Tensor:
        clipped = torch.as_tensor(changed, dtype=torch.float32)  # stays on the device: no sync
        self.clip_counts += torch.stack([clipped, torch.ones_like(clipped)])
        return clipped

    @property
    def _logs_this_step(self) -> bool:
        """Whether Lightning writes this step's metrics (``trainer.log_every_n_steps``).

        Measuring gradient norms and logging on the other steps would cost time
        (two passes over every gradient) for values nobody sees. Lightning's own
        rule (its private ``_LoggerConnector.should_update_logs``) counts the
        batches that stepped the optimizer, which is the global step here: one
        optimizer, no gradient accumulation. tests/test_model.py checks that
        both agree, so a change in Lightning shows.
        """
        return (self.global_step + 1) % self.trainer.log_every_n_steps == 0 or self.trainer.should_stop

    # -- evaluation -------------------------------------------------------------
    def _eval_start(self, split: str) -> None:
        self.states.pop(split, None)
        self.sums = {}

    def _eval_step(self, batch: tuple[Tensor, Tensor]) -> None:
        for key, value in self._run(batch, self._split).items():
            self.sums[key] = self.sums.get(key, 0) + value.detach()

    def _eval_end(self) -> None:
        if self.sums:
            values = metrics(self.task, self._total(self.sums))
            self.log_dict({f"{self._split}/{k}": v for k, v in values.items()})

    def on_validation_epoch_start(self) -> None:
        if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
            self._notice()  # not worth validating diverged weights: the run ends after them
        self._split = "val"
        self._eval_start("val")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch)

    def on_validation_epoch_end(self) -> None:
        self._eval_end()
        if not self.trainer.sanity_checking:
            self.validated_at = self.global_step

    def on_test_epoch_start(self) -> None:
        self._split = "test"
        self._eval_start("test")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch)

    def on_test_epoch_end(self) -> None:
        self._eval_end()

    # -- checkpoints ------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # what Lightning does not keep: the RNG (dropout), the state carried between windows, the
        # gradient handler's own state and a divergence not read yet
        checkpoint["runner"] = {
            "grad_handler": self.grad_handler.state_dict() if has_state(self.grad_handler) else None,
            "identity": self.identity,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "state": self.states.get("train"),
            "nonfinite_at": int(self.nonfinite_at) if self.nonfinite_at is not None else -1,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("runner", {})
        if "rng" in saved:
            torch.set_rng_state(saved["rng"])
        if saved.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        if saved.get("state") is not None:
            self.states["train"] = saved["state"]
        if saved.get("grad_handler") is not None and has_state(self.grad_handler):
            self.grad_handler.load_state_dict(saved["grad_handler"])
        self.nonfinite_at = torch.tensor(saved.get("nonfinite_at", -1))

    # -- optimisation -----------------------------------------------------------
    def configure_optimizers(self) -> dict:
        optimizer = self.build_optimizer(
            list(self.parameters())
        )  # on the device by now: a builder may pick a fused kernel
        s = self.schedule
        # epochs 0 .. decay_after-1 at lr, then lr * lr_decay ** (epochs past that, counting this one)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: s.lr_decay ** max(0, epoch - s.decay_after + 1)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}
