"""Training throughput on Penn Treebank: the runner against a plain PyTorch loop of the same model.

    python benchmarks/ptb_throughput.py [--cells lstm gru rnn] [--repeats 5] [--steps 400] [--threads N]

One paired session: for every repetition and cell, the runner (``python -m runner``, its
``train_tokens_per_s`` from results.json) and the plain loop of benchmarks/plain.py (embedding -> nn.LSTM/GRU/RNN
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
from pathlib import Path

from plain import WARMUP

# the model and batches of both sides: Zaremba et al.'s small LSTM at the medium model's unroll
BATCH, BPTT, HIDDEN, LAYERS, LR, CLIP = 20, 35, 200, 2, 1.0, 5.0
PLAIN = Path(__file__).parent / "plain.py"


def runner_overrides(cell: str, steps: int, hidden: int = HIDDEN, bptt: int = BPTT, batch: int = BATCH) -> list[str]:
    """The runner's command line for the plain loop's model (benchmarks/plain.py ``lm``)."""
    return [
        f"cell={cell}",
        "data=ptb",
        f"data.batch_size={batch}",
        f"data.bptt={bptt}",
        f"cell.hidden_size={hidden}",
        f"cell.num_layers={LAYERS}",
        "optim=sgd",
        f"optim.lr={LR}",
        "grad=clip_norm",
        f"grad.max_norm={CLIP}",
        "logger=csv",
        f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={steps}",
        "trainer.limit_val_batches=2",
        "+trainer.limit_test_batches=2",  # the scores are not the point here
    ]


def plain_args(
    cells: list[str],
    steps: int,
    hidden: int = HIDDEN,
    bptt: int = BPTT,
    batch: int = BATCH,
    impl: str = "fused",
    device: str = "cpu",
    tune_malloc: bool = True,
) -> list[str]:
    """The command of benchmarks/plain.py ``lm`` for the model of ``runner_overrides``; a line of tokens/s per cell."""
    return [
        sys.executable,
        str(PLAIN),
        "lm",
        "--cell",
        *cells,
        "--impl",
        impl,
        "--steps",
        str(steps),
        "--hidden",
        str(hidden),
        "--bptt",
        str(bptt),
        "--batch",
        str(batch),
        "--device",
        device,
        *(["--tune-malloc"] if tune_malloc else []),
    ]


def run_runner(cell: str, steps: int, env: dict[str, str], tune_malloc: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-m", "runner", *runner_overrides(cell, steps), "hydra.run.dir=run"],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        record_file = Path(tmp) / "run" / "results.json"
        if out.returncode != 0 or not record_file.exists():
            sys.exit(f"python -m runner failed:\n{(out.stdout + out.stderr)[-3000:]}")
        return json.loads(record_file.read_text())["train_tokens_per_s"]


def run_plain(cell: str, steps: int, env: dict[str, str], tune_malloc: bool) -> float:
    out = subprocess.run(
        plain_args([cell], steps, tune_malloc=tune_malloc), env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.exit(f"the plain loop failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.split()[-1])


def table(rows: dict[str, dict[str, list[float]]]) -> str:
    lines = [
        f"{'cell':<5}  {'runner tok/s':>12}  {'plain tok/s':>11}  {'ratio':>6}  {'ratio range':>13}  pairs",
        "-" * 62,
    ]
    for cell, r in rows.items():
        ratios = [a / b for a, b in zip(r["runner"], r["plain"], strict=True)]
        lines.append(
            f"{cell:<5}  {statistics.median(r['runner']):12.0f}  {statistics.median(r['plain']):11.0f}  "
            f"{statistics.median(ratios):6.3f}  {min(ratios):6.3f}-{max(ratios):6.3f}  {len(ratios)}"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["lstm", "gru", "rnn"])
    p.add_argument("--repeats", type=int, default=5, help="pairs per cell (default 5)")
    p.add_argument("--steps", type=int, default=400, help="training steps per run (default 400)")
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS of both sides (default: torch's own choice)")
    p.add_argument(
        "--same-allocator",
        action="store_true",
        help="the plain loop also raises glibc's malloc thresholds as the runner does "
        "(src/runner/_train/allocator.py), "
        "so that the ratio is the runner's own overhead",
    )
    args = p.parse_args()
    if args.steps <= WARMUP + 1:
        p.error(f"--steps must be above {WARMUP + 1}: the first {WARMUP} batches are not counted")
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    rows = {cell: {"runner": [], "plain": []} for cell in args.cells}
    sides = {"runner": run_runner, "plain": run_plain}
    for rep in range(args.repeats):
        for cell in args.cells:
            for side in ("runner", "plain") if rep % 2 == 0 else ("plain", "runner"):
                rows[cell][side].append(sides[side](cell, args.steps, env, args.same_allocator))
                print(
                    f"repeat {rep + 1}/{args.repeats}  {cell:<4}  {side:<6}  {rows[cell][side][-1]:8.0f} tok/s",
                    flush=True,
                )
    print(
        f"\nPTB, batch {BATCH}, unroll {BPTT}, {LAYERS}x{HIDDEN}, SGD, clip {CLIP}; {args.steps} steps a run, "
        f"threads: {args.threads or 'default'}; "
        f"plain loop's allocator: {'tuned like the runner' if args.same_allocator else 'glibc defaults'}"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
