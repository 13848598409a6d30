"""Training speed on sequential pixel MNIST at the papers' shape: the runner against a plain PyTorch loop.

    RUNNER_DATA_DIR=../shared/data python benchmarks/pixel_throughput.py [--repeats 5] [--steps 60]

The shape of Le, Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016 (``experiment=pixel_mnist``):
a 1x128 LSTM (forget bias 1), batches of 100, one pixel a step (784 steps), RMSprop (lr 1e-3, decay
0.9), gradients clipped at norm 1, the class read at the last step. Fashion-MNIST stands in for
MNIST (the same 28x28 images: the same cost), since MNIST is not on an offline machine. One paired
session: the runner (``python -m runner experiment=pixel_mnist``, its ``train_tokens_per_s`` from
results.json) and benchmarks/plain.py ``pixels`` (the same model, update and batches held on the
device, written by hand), each in a fresh process, one after the other, the order reversed every
other repetition. Both count pixels per second from one batch's end to the next after the first
``WARMUP`` batches. Writes pixel_throughput.md (medians, the per-pair ratio runner / plain and its
range); run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plain import WARMUP
from runner._train.cpu import machine
from suite import alternate, measure

PLAIN = Path(__file__).parent / "plain.py"
BATCH, STEPS = 100, 784  # experiment=pixel_mnist's batches of images, one pixel a step


def runner_overrides(steps: int, data: str) -> list[str]:
    """``experiment=pixel_mnist``'s LSTM, trained ``steps`` steps, scored on two batches only."""
    return [
        "experiment=pixel_mnist",
        f"data={data}",
        "+initialisations=lstm_forget_bias_1",
        "logger=csv",
        "trainer.max_epochs=-1",
        f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={steps}",
        "trainer.check_val_every_n_epoch=null",
        "trainer.limit_val_batches=2",
        "+trainer.limit_test_batches=2",  # the scores are not the point here
    ]


def run_runner(steps: int, data: str, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        measure([sys.executable, "-m", "runner", *runner_overrides(steps, data), "hydra.run.dir=run"], tmp, env)
        return json.loads((Path(tmp) / "run" / "results.json").read_text())["train_tokens_per_s"]


def run_plain(steps: int, data: str, env: dict[str, str]) -> float:
    command = [sys.executable, str(PLAIN), "pixels", "--steps", str(steps), "--data", data, "--tune-malloc"]
    _, _, said = measure(command, os.getcwd(), env)
    return float(said.split()[-1])


def markdown(runner: list[float], plain: list[float], meta: dict) -> str:
    ratios = [a / b for a, b in zip(runner, plain, strict=True)]
    return "\n".join(
        [
            "# Sequential pixels at the papers' shape, runner against a plain loop "
            f"({meta['date']}, {meta['machine']})",
            "",
            f"`{meta['command']}`: 1x128 LSTM, batch 100, 784 steps of one pixel, RMSprop, clipping at 1, "
            f"{meta['data']}; {meta['steps']} steps a run, the first {WARMUP} not counted. Pixels per second:",
            "",
            "| side | median pixels/s | median ms a step |",
            "| --- | --- | --- |",
            *(
                f"| {name} | {statistics.median(xs):.0f} | {1e3 * BATCH * STEPS / statistics.median(xs):.0f} |"
                for name, xs in (("runner", runner), ("plain loop", plain))
            ),
            "",
            f"runner / plain: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f}, "
            f"{len(ratios)} pairs.",
            "",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="pairs (default 5)")
    p.add_argument("--steps", type=int, default=60, help="training steps per run (default 60)")
    p.add_argument("--data", choices=["smnist", "sfmnist"], default="sfmnist")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args()
    if args.steps <= WARMUP + 1:
        p.error(f"--steps must be above {WARMUP + 1}: the first {WARMUP} batches are not counted")
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    sides = (lambda: run_runner(args.steps, args.data, env), lambda: run_plain(args.steps, args.data, env))
    runner, plain = alternate(*sides, repeats=args.repeats)
    meta = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "command": " ".join(["python", "benchmarks/pixel_throughput.py", *sys.argv[1:]]),
        "data": args.data,
        "steps": args.steps,
    }
    text = markdown(runner, plain, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pixel_throughput.md").write_text(text)
    (args.out / "pixel_throughput.json").write_text(json.dumps({**meta, "runner": runner, "plain": plain}, indent=2))
    print(text)


if __name__ == "__main__":
    main()
