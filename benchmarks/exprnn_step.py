"""What the expRNN's unfused steps cost against the fused LSTM: one training step's forward and backward.

At the pixel task's shape (128 units, batch 100; T = 28 rows or 784 pixels), cells built as the runner
builds them (``cell=exprnn``, ``cell=lstm``), timed in pairs (LSTM, expRNN, LSTM, expRNN, ...) so
that a slow moment of the machine hits both; the medians and their ratio::

    python benchmarks/exprnn_step.py --steps 28 784 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from runner._train.cpu import machine
from runner_plugins.cells.build import build_cell
from runner_plugins.cells.config import ExpRNNConfig, LSTMConfig
from runner_plugins.cells.exprnn import ExpRNN


def step_seconds(cell: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    outputs, _ = cell(x)
    outputs[:, -1].sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[28, 784])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    torch.manual_seed(0)
    lstm = build_cell("lstm", LSTMConfig(hidden_size=args.hidden), 1)
    exprnn = ExpRNN(1, ExpRNNConfig(hidden_size=args.hidden).hidden_size)
    print(f"{machine()}, {torch.get_num_threads()} threads; hidden {args.hidden}, batch {args.batch}")
    print("| T | fused LSTM, ms | expRNN, ms | expRNN / LSTM |")
    print("| --- | --- | --- | --- |")
    for T in args.steps:
        x = torch.rand(args.batch, T, 1)
        for cell in (lstm, exprnn):  # warm up
            step_seconds(cell, x)
        times: dict[str, list[float]] = {"lstm": [], "exprnn": []}
        for _ in range(args.repeats):
            times["lstm"].append(step_seconds(lstm, x))
            times["exprnn"].append(step_seconds(exprnn, x))
        a, b = (statistics.median(times[k]) for k in ("lstm", "exprnn"))
        print(f"| {T} | {1e3 * a:.1f} | {1e3 * b:.1f} | {b / a:.1f} |")


if __name__ == "__main__":
    main()
