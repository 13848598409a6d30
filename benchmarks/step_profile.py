"""Where one training step's time goes on PTB shapes, and what glibc's malloc costs.

    python benchmarks/step_profile.py            # glibc's defaults
    python benchmarks/step_profile.py --tuned    # with src/runner/_train/allocator.py's thresholds

A plain 2x200 LSTM language model (vocabulary 10,000, batch 20, unroll 35, SGD, clip 5) on random
tokens: milliseconds per step for the recurrent layers, the output layer with its softmax
(forward and backward), the clipping and the update, and minor page faults per step.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch
import torch.nn.functional as F
from torch import nn

from runner._train.allocator import tune_malloc

V, H, B, T, STEPS = 10_000, 200, 20, 35, 40


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tuned", action="store_true", help="raise glibc's mmap and trim thresholds first")
    if p.parse_args().tuned:
        tune_malloc()
    torch.manual_seed(0)
    embed, rnn, head = nn.Embedding(V, H), nn.LSTM(H, H, 2, batch_first=True), nn.Linear(H, V)
    params = [*embed.parameters(), *rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=1.0)
    x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    ms = {
        "recurrent forward": 0.0,
        "output forward": 0.0,
        "output backward": 0.0,
        "recurrent backward": 0.0,
        "clip + update": 0.0,
    }

    def step(record: bool) -> None:
        t0 = time.perf_counter()
        h, _ = rnn(embed(x))
        t1 = time.perf_counter()
        cut = h.detach().requires_grad_()  # to time the output layer's backward on its own
        loss = F.cross_entropy(head(cut).reshape(-1, V), y.reshape(-1))
        t2 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        t3 = time.perf_counter()
        h.backward(cut.grad)
        t4 = time.perf_counter()
        nn.utils.clip_grad_norm_(params, 5.0)
        optimizer.step()
        t5 = time.perf_counter()
        if record:
            for key, seconds in zip(ms, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
                ms[key] += 1000 * seconds / STEPS

    for _ in range(5):
        step(False)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(STEPS):
        step(True)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / STEPS
    total = sum(ms.values())
    for key, value in ms.items():
        print(f"{key:<19} {value:6.1f} ms  {100 * value / total:4.0f} %")
    print(f"{'step':<19} {total:6.1f} ms;  minor page faults per step: {faults:.0f}")


if __name__ == "__main__":
    main()
