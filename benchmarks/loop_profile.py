"""Where a training step's time goes: a sampling profile of the runner, in shares of the loop.

    pip install py-spy
    py-spy record -r 500 -f raw -o loop.txt -- \
        python -m runner logger=csv trainer.max_steps=2000 trainer.val_check_interval=2000
    python benchmarks/loop_profile.py loop.txt

Reads py-spy's raw output (one stack per line, then its sample count), keeps the samples taken
inside Lightning's training-batch loop and prints the share of each part below. A sample
counts for the first part whose frame it holds, in the order listed, so the shares add up to
100 %. Sampling, unlike cProfile, does not slow the Python it measures.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

LOOP = "_TrainingEpochLoop.advance ("
PARTS = [  # (part, frames that mark it); the first part with one of its frames in a stack gets the sample
    ("forward of the model", ("SequenceModel.forward (",)),
    ("backward", ("_engine_run_backward (",)),
    ("logging (self.log, Lightning's logger connector)", ("LightningModule.log", "logger_connector")),
    ("gradient handler (clipping)", ("runner_plugins/grad/",)),
    ("gradient norms for the log, clip count", ("SequenceModel.on_before_optimizer_step (",)),
    ("optimizer (update, zero_grad)", ("_single_tensor_", "_multi_tensor_", "_fused_", "Optimizer.zero_grad (")),
    ("data (fetch and gather)", ("fetchers.py",)),
    ("callbacks", ("_call_callback_hooks (",)),
    ("runner's bookkeeping (loss, metrics, divergence flag)", ("runner/_train/model.py",)),
]
REST = "Lightning's loop itself (hooks, closure, precision plugin)"


def shares(lines: list[str]) -> tuple[int, dict[str, int]]:
    counts: dict[str, int] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, n = line.rstrip().rpartition(" ")
        if LOOP not in stack:
            continue
        total += int(n)
        part = next((name for name, marks in PARTS if any(mark in stack for mark in marks)), REST)
        counts[part] += int(n)
    return total, counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("profile", type=Path, help="py-spy record -f raw output")
    args = p.parse_args()
    total, counts = shares(args.profile.read_text().splitlines())
    if not total:
        raise SystemExit(f"{args.profile}: no sample inside Lightning's training loop ({LOOP!r})")
    print(f"| part of the training loop | share ({total} samples) |\n| --- | ---: |")
    for part, n in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"| {part} | {100 * n / total:.1f} % |")


if __name__ == "__main__":
    main()
