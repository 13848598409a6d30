"""Training throughput on Penn Treebank: the runner against a plain PyTorch loop of the same model.

    python benchmarks/ptb_throughput.py [--cells lstm gru rnn] [--repeats 5] [--steps 400] [--threads N]

One paired session: for every repetition and cell, the runner (``python -m runner``, its
``train_tokens_per_s`` from results.json) and a plain loop written here (embedding -> nn.LSTM/GRU/RNN
-> linear, cross-entropy, SGD, global-norm clipping, the state carried between windows) train the
same model on the same batches, each in a fresh process, one right after the other; which of the two
goes first alternates between repetitions. Both count tokens per second the same way: from one
batch's end to the next, after the first ``WARMUP`` batches. The table gives the medians and the
median of the per-pair ratios (runner / plain), with their range.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runner.allocator import tune_malloc

# the model and batches of both sides: Zaremba et al.'s small LSTM at the medium model's unroll
BATCH, BPTT, HIDDEN, LAYERS, LR, CLIP = 20, 35, 200, 2, 1.0, 5.0
WARMUP = 10  # batches left out of the count, as runner.callbacks.Throughput does


def runner_overrides(cell: str, steps: int) -> list[str]:
    return [
        f"cell={cell}", "data=ptb", f"data.batch_size={BATCH}", f"data.bptt={BPTT}", f"cell.hidden_size={HIDDEN}",
        f"cell.num_layers={LAYERS}", "optim=sgd", f"optim.lr={LR}", "grad=clip_norm", f"grad.max_norm={CLIP}",
        "logger=csv", f"trainer.max_steps={steps}", f"trainer.val_check_interval={steps}",
        "trainer.limit_val_batches=2", "+trainer.limit_test_batches=2",  # the scores are not the point here
    ]


def run_runner(cell: str, steps: int, env: dict[str, str], tune_malloc: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "runner", *runner_overrides(cell, steps), "hydra.run.dir=run"],
                             cwd=tmp, env=env, capture_output=True, text=True)
        record_file = Path(tmp) / "run" / "results.json"
        if out.returncode != 0 or not record_file.exists():
            sys.exit(f"python -m runner failed:\n{(out.stdout + out.stderr)[-3000:]}")
        return json.loads(record_file.read_text())["train_tokens_per_s"]


def run_plain(cell: str, steps: int, env: dict[str, str], tune_malloc: bool) -> float:
    more = ["--same-allocator"] if tune_malloc else []
    out = subprocess.run([sys.executable, __file__, "--plain", cell, "--steps", str(steps), *more], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"the plain loop failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.split()[-1])


def plain(cell: str, steps: int, impl: str = "fused") -> float:
    """The hand-written loop; returns its tokens per second."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from runner_plugins.cells import CellConfig, Impl
    from runner_plugins.cells.build import build_cell
    from runner_plugins.text import PTBConfig
    from runner_plugins.text.datamodule import TextData, Windows

    torch.manual_seed(0)
    data = TextData(PTBConfig(batch_size=BATCH, bptt=BPTT), "ptb")
    data.prepare_data()
    data.setup("fit")
    windows, vocab = Windows(data.ids["train"], BATCH, BPTT), len(data.vocab)
    embed = nn.Embedding(vocab, HIDDEN)
    # fused: torch.nn.LSTM/GRU/RNN itself; reference and compiled: the runner's reference cells
    rnn = build_cell(cell, CellConfig(hidden_size=HIDDEN, num_layers=LAYERS, impl=Impl.fused if impl == "fused" else
                                      Impl.reference, compile=impl == "compiled"), HIDDEN)
    head = nn.Linear(HIDDEN, vocab)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=LR)
    state, tokens, seconds, last = None, 0, 0.0, None
    for step in range(steps):
        if step % len(windows) == 0:
            state = None  # a new epoch starts from a zero state
        inputs, targets = windows[step % len(windows)]
        outputs, state = rnn(embed(inputs), state)
        loss = F.cross_entropy(head(outputs).reshape(-1, vocab), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, CLIP)
        optimizer.step()
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        if not torch.isfinite(loss):  # what any training loop checks, as the runner does
            raise SystemExit(f"diverged at step {step}")
        now = time.perf_counter()
        if last is not None and step >= WARMUP:
            seconds += now - last
            tokens += inputs.numel()
        last = now
    return tokens / seconds


def table(rows: dict[str, dict[str, list[float]]]) -> str:
    lines = [f"{'cell':<5}  {'runner tok/s':>12}  {'plain tok/s':>11}  {'ratio':>6}  {'ratio range':>13}  pairs",
             "-" * 62]
    for cell, r in rows.items():
        ratios = [a / b for a, b in zip(r["runner"], r["plain"])]
        lines.append(f"{cell:<5}  {statistics.median(r['runner']):12.0f}  {statistics.median(r['plain']):11.0f}  "
                     f"{statistics.median(ratios):6.3f}  {min(ratios):6.3f}-{max(ratios):6.3f}  {len(ratios)}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["lstm", "gru", "rnn"])
    p.add_argument("--repeats", type=int, default=5, help="pairs per cell (default 5)")
    p.add_argument("--steps", type=int, default=400, help="training steps per run (default 400)")
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS of both sides (default: torch's own choice)")
    p.add_argument("--same-allocator", action="store_true",
                   help="the plain loop also raises glibc's malloc thresholds as the runner does (runner/allocator.py), "
                   "so that the ratio is the runner's own overhead")
    p.add_argument("--plain", choices=["lstm", "gru", "rnn"], help=argparse.SUPPRESS)  # one plain run, in a child
    p.add_argument("--impl", choices=["fused", "reference", "compiled"], default="fused", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.steps <= WARMUP + 1:
        p.error(f"--steps must be above {WARMUP + 1}: the first {WARMUP} batches are not counted")
    if args.plain:
        if args.same_allocator:
            tune_malloc()
        print(plain(args.plain, args.steps, args.impl))
        return
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    rows = {cell: {"runner": [], "plain": []} for cell in args.cells}
    sides = {"runner": run_runner, "plain": run_plain}
    for rep in range(args.repeats):
        for cell in args.cells:
            for side in (("runner", "plain") if rep % 2 == 0 else ("plain", "runner")):
                rows[cell][side].append(sides[side](cell, args.steps, env, args.same_allocator))
                print(f"repeat {rep + 1}/{args.repeats}  {cell:<4}  {side:<6}  {rows[cell][side][-1]:8.0f} tok/s",
                      flush=True)
    print(f"\nPTB, batch {BATCH}, unroll {BPTT}, {LAYERS}x{HIDDEN}, SGD, clip {CLIP}; {args.steps} steps a run, "
          f"threads: {args.threads or 'default'}; "
          f"plain loop's allocator: {'tuned like the runner' if args.same_allocator else 'glibc defaults'}")
    print(table(rows))


if __name__ == "__main__":
    main()
