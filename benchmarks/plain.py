"""The hand-written training loops the runner is measured against.

    python benchmarks/plain.py lm --cell lstm --hidden 650 --bptt 35 --steps 800 --device cuda
    python benchmarks/plain.py lm --cell lstm gru rnn --steps 400
    python benchmarks/plain.py adding --steps 400
    python benchmarks/plain.py adding --steps 400 --lightning
    python benchmarks/plain.py pixels --steps 60

Each prints its training tokens per second, counted as ``runner.callbacks.Throughput`` counts
them: from one batch's end to the next, after the first ``WARMUP`` batches. The language model is
written the way pytorch/examples' word_language_model writes it: the corpus batchified once onto
the device, ``nn.LSTM``/``GRU``/``RNN``, cross-entropy, SGD, global-norm clipping, the state
carried and detached, and the loss read on the host every step (that example's
``total_loss += loss.item()``; here ``torch.isfinite(loss)``, which any loop needs to notice a
divergence). The adding loop is the runner's defaults (1x128 LSTM, batch 64, T = 50, Adam, clipping
at 1) written by hand; with ``--lightning`` the same model, data and update run in Lightning's
loop (a bare ``LightningModule`` and ``Trainer``: no logger, checkpoint, progress bar or
validation), which is the least a Lightning-based runner can cost. The pixel loop is the papers'
shape of sequential pixel MNIST (experiment=pixel_mnist: 1x128 LSTM, forget bias 1, batch 100, one
pixel a step, RMSprop, clipping at 1, the class read at the last step) on Fashion-MNIST's training
images, held on the device and drawn in a fresh order every epoch.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WARMUP = 10  # batches left out of the count, as runner.callbacks.Throughput does


class Clock:
    """Tokens per second from one batch's end to the next, after ``WARMUP`` batches."""

    def __init__(self) -> None:
        self.tokens, self.seconds, self.last, self.batches = 0, 0.0, None, 0

    def tick(self, tokens: int) -> None:
        now = time.perf_counter()
        self.batches += 1
        if self.last is not None and self.batches > WARMUP:
            self.seconds += now - self.last
            self.tokens += tokens
        self.last = now

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def _step(loss: Tensor, params: list[Tensor], optimizer: torch.optim.Optimizer, clip: float, step: int) -> None:
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    if not torch.isfinite(loss):  # reads the loss on the host: one synchronisation a step
        raise SystemExit(f"diverged at step {step}")


def lm(
    cell: str,
    impl: str,
    hidden: int,
    layers: int,
    bptt: int,
    batch: int,
    steps: int,
    device: str,
    lr: float = 1.0,
    clip: float = 5.0,
) -> float:
    """A PTB language model trained for ``steps`` windows; its tokens per second."""
    from runner_plugins.cells.build import build_cell
    from runner_plugins.cells.config import CellConfig, Impl
    from runner_plugins.text.config import PTBConfig
    from runner_plugins.text.datamodule import TextData

    torch.manual_seed(0)
    data = TextData(PTBConfig(batch_size=batch, bptt=bptt), "ptb")
    data.prepare_data()
    data.setup("fit")
    ids, vocab = data.ids["train"], len(data.vocab)
    length = (len(ids) - 1) // batch
    streams = ids[: batch * length + 1].to(device)  # batchified once, on the device
    inputs, targets = streams[:-1].view(batch, length), streams[1:].view(batch, length)
    embed = nn.Embedding(vocab, hidden)
    # fused: torch.nn.LSTM/GRU/RNN itself; reference and compiled: the runner's reference cells
    rnn = build_cell(
        cell,
        CellConfig(
            hidden_size=hidden,
            num_layers=layers,
            impl=Impl.fused if impl == "fused" else Impl.reference,
            compile=impl == "compiled",
        ),
        hidden,
    )
    head = nn.Linear(hidden, vocab)
    model = nn.ModuleList([embed, rnn, head]).to(device)
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=lr)
    windows = range(0, length, bptt)
    state, clock = None, Clock()
    for step in range(steps):
        if step % len(windows) == 0:
            state = None  # a new epoch starts from a zero state
        start = windows[step % len(windows)]
        x, y = inputs[:, start : start + bptt], targets[:, start : start + bptt]
        outputs, state = rnn(embed(x), state)
        loss = F.cross_entropy(head(outputs).reshape(-1, vocab), y.reshape(-1))
        _step(loss, params, optimizer, clip, step)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        clock.tick(x.numel())
    return clock.tokens_per_s


def adding_data(device: str, seq_len: int, batch: int) -> tuple[Tensor, Tensor, int]:
    """The adding problem's training set at the runner's defaults, on ``device``; batches per epoch."""
    from runner_plugins.tasks.config import SyntheticConfig
    from runner_plugins.tasks.synthetic import AddingData

    config = SyntheticConfig(seq_len=seq_len, batch_size=batch)
    x_all, y_all = (
        t.to(device) for t in AddingData(config).generate(config.num_train, torch.Generator().manual_seed(0))
    )
    return x_all, y_all, config.num_train // batch


def adding(steps: int, device: str, seq_len: int = 50, hidden: int = 128, batch: int = 64) -> float:
    """The adding problem at the runner's defaults; its tokens per second."""
    torch.manual_seed(0)
    x_all, y_all, _ = adding_data(device, seq_len, batch)
    rnn, head = nn.LSTM(2, hidden, batch_first=True), nn.Linear(hidden, 1)
    return _last_step_loop(
        rnn,
        head,
        (x_all, y_all),
        batch,
        steps,
        device,
        lambda p: torch.optim.Adam(p, lr=1e-3),
        lambda out, y: F.mse_loss(out.squeeze(-1), y),
    )


def _last_step_loop(
    rnn: nn.Module,
    head: nn.Module,
    data: tuple[Tensor, Tensor],
    batch: int,
    steps: int,
    device: str,
    optimizer: Callable[[list[Tensor]], torch.optim.Optimizer],
    loss: Callable[[Tensor, Tensor], Tensor],
) -> float:
    """Train ``head(rnn(x)[:, -1])`` on batches drawn from ``data`` (on the device) in a fresh order every
    epoch, clipping at norm 1; its tokens per second."""
    x_all, y_all = data
    per_epoch = len(x_all) // batch
    model = nn.ModuleList([rnn, head]).to(device)
    params = list(model.parameters())
    update, clock, order = optimizer(params), Clock(), None
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(x_all), device=device)
        rows = order[(step % per_epoch) * batch : (step % per_epoch + 1) * batch]
        x, y = x_all[rows], y_all[rows]
        h, _ = rnn(x)
        _step(loss(head(h[:, -1]), y), params, update, 1.0, step)
        clock.tick(x.shape[0] * x.shape[1])
    return clock.tokens_per_s


def adding_lightning(steps: int, device: str, seq_len: int = 50, hidden: int = 128, batch: int = 64) -> float:
    """``adding`` in Lightning's loop: the same model, batches and update; its tokens per second."""
    import lightning as L

    torch.manual_seed(0)
    x_all, y_all, per_epoch = adding_data(device, seq_len, batch)

    class Epoch:
        """One epoch's batches, gathered on the device as ``adding`` gathers them."""

        def __len__(self) -> int:
            return per_epoch

        def __iter__(self):
            order = torch.randperm(len(x_all), device=device)
            for i in range(per_epoch):
                rows = order[i * batch : (i + 1) * batch]
                yield x_all[rows], y_all[rows]

    class Adding(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.head, self.clock = nn.LSTM(2, hidden, batch_first=True), nn.Linear(hidden, 1), Clock()

        def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
            x, y = batch
            h, _ = self.rnn(x)
            loss = F.mse_loss(self.head(h[:, -1]).squeeze(-1), y)
            if not torch.isfinite(loss):  # as ``adding`` reads it
                raise SystemExit(f"diverged at step {self.global_step}")
            return loss

        def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
            self.clock.tick(batch[0].shape[0] * batch[0].shape[1])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    model = Adding()
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="gpu" if device.startswith("cuda") else "cpu",
        devices=1,
        gradient_clip_val=1.0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    )
    trainer.fit(model, train_dataloaders=Epoch())
    return model.clock.tokens_per_s


def pixels(steps: int, device: str, data: str = "sfmnist", pixels_per_step: int = 1, hidden: int = 128) -> float:
    """Sequential pixel (Fashion-)MNIST at ``experiment=pixel_mnist``'s settings; its pixels (tokens) per second."""
    from runner_plugins.cells.build import build_cell
    from runner_plugins.cells.config import LSTMConfig
    from runner_plugins.pixels import DATASETS
    from runner_plugins.pixels.config import PixelConfig
    from runner_plugins.pixels.datamodule import CLASSES, PixelData

    torch.manual_seed(0)
    config = PixelConfig(pixels_per_step=pixels_per_step, seed=0)
    images = PixelData(config, DATASETS[data])
    images.prepare_data()
    images.setup("fit")
    # torch.nn.LSTM itself, its forget gate's bias at 1 as initialisations/lstm_forget_bias_1 sets it
    rnn = build_cell("lstm", LSTMConfig(hidden_size=hidden, forget_bias=1.0), pixels_per_step)
    head = nn.Linear(hidden, CLASSES)
    train = tuple(t.to(device) for t in images.splits["train"])
    return _last_step_loop(
        rnn,
        head,
        train,
        config.batch_size,
        steps,
        device,
        lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9),
        F.cross_entropy,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", choices=["lm", "adding", "pixels"])
    p.add_argument(
        "--cell",
        nargs="+",
        choices=["lstm", "gru", "rnn"],
        default=["lstm"],
        help="lm: one or more cells, trained one after the other; a line of tokens/s each",
    )
    p.add_argument("--impl", choices=["fused", "reference", "compiled"], default="fused")
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--bptt", type=int, default=35)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--device", default="cpu")
    p.add_argument("--lightning", action="store_true", help="adding: the same loop in Lightning's Trainer")
    p.add_argument("--data", choices=["smnist", "sfmnist"], default="sfmnist", help="pixels: MNIST or Fashion-MNIST")
    p.add_argument("--pixels-per-step", type=int, default=1, help="pixels: 1 (784 steps, the papers') or 28 (rows)")
    p.add_argument(
        "--tune-malloc",
        action="store_true",
        help="raise glibc's malloc thresholds as the runner does (src/runner/_train/allocator.py)",
    )
    args = p.parse_args()
    if args.steps <= WARMUP + 1:
        p.error(f"--steps must be above {WARMUP + 1}: the first {WARMUP} batches are not counted")
    if args.tune_malloc:
        from runner._train.allocator import tune_malloc

        tune_malloc()
    if args.task == "lm":
        for cell in args.cell:
            print(
                lm(cell, args.impl, args.hidden, args.layers, args.bptt, args.batch, args.steps, args.device),
                flush=True,
            )
    elif args.task == "pixels":
        print(pixels(args.steps, args.device, args.data, args.pixels_per_step))
    else:
        print((adding_lightning if args.lightning else adding)(args.steps, args.device))


if __name__ == "__main__":
    main()
