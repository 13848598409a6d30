"""The runner against a plain PyTorch loop on this machine's accelerator; a smaller version on the CPU.

    RUNNER_DATA_DIR=../shared/data python benchmarks/device.py [--out benchmarks/results]

With a GPU (one pair per comparison, --repeats for more; ten processes, estimated at 6-8 minutes on one H200 and not
yet timed there), the runner as a GPU user runs it
(``model.cuda_graphs=true``, src/runner/_train/graphs.py; ``--eager`` leaves it out):
(a) training tokens/s, runner / plain loop (benchmarks/plain.py), paired (A, B, then B, A):
    Zaremba et al. 2014's small (2x200, unroll 20) and medium (2x650, unroll 35) shapes at batch 20,
    fused lstm, gru and rnn (at a shape, the runner's three cells one multirun, the plain loop's
    three one process: starting a process there costs more than training it), and the compiled
    reference LSTM at medium shapes, each side in its own process (eager: a compiled cell is not
    recorded in a graph);
(b) ``experiment=ptb_small`` end to end: wall seconds of the whole command and test perplexity;
(c) the per-step overhead on the adding task at the runner's defaults (1x128 LSTM, batch 64,
    T = 50), where the step is so small that fixed per-step costs dominate: tokens/s and
    milliseconds per step of the runner and of Lightning's bare loop (``plain.py --lightning``: the
    same model and update in a ``Trainer`` with nothing else) against the plain loop, in turn.
Without a GPU the same command runs (a) at small shapes with fewer steps (no compiled cell),
(b) cut to 200 steps, and (c), all eager. Writes device.json and device.md (which name the device)
after every part, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ptb_throughput import LAYERS, plain_args, runner_overrides
from runner._train.cpu import machine
from suite import alternate, listed, markdown, measure, pairs, summary, throughput
from sweep_throughput import sweep

HERE = Path(__file__).parent
SMALL, MEDIUM = (200, 20, 20), (650, 35, 20)  # (hidden, unroll, batch)
ADDING_TOKENS = 64 * 50  # a step of the adding task at the defaults
CELLS = ("lstm", "gru", "rnn")


def device_name() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}"
    return machine().rsplit(", torch", 1)[0]  # the header names torch


def cells(
    shape: tuple[int, int, int], steps: int, repeats: int, env: dict[str, str], device: str, options: tuple[str, ...]
) -> list[dict]:
    """(a) at one shape: tokens/s of the fused cells, the runner's as one multirun against plain.py's in one process."""
    hidden, bptt, batch = shape
    extra = [*([] if device == "cpu" else ["trainer.accelerator=gpu"]), *options]

    def runner() -> list[float]:
        _, records = sweep([*runner_overrides(",".join(CELLS), steps, hidden, bptt, batch), *extra], env)
        speed = {record["cell"]: record["train_tokens_per_s"] for record in records}
        return [speed[cell] for cell in CELLS]

    def plain() -> list[float]:
        _, _, out = measure(plain_args(list(CELLS), steps, hidden, bptt, batch, device=device), str(HERE), env)
        return [float(value) for value in out.split()]

    runner_runs, plain_runs = pairs(runner, plain, repeats)
    return [
        summary(
            f"tokens/s {cell} fused {LAYERS}x{hidden} unroll {bptt}{listed(options)}",
            [run[i] for run in runner_runs],
            [run[i] for run in plain_runs],
            "tokens/s",
        )
        for i, cell in enumerate(CELLS)
    ]


def end_to_end(device: str, env: dict[str, str], steps: int | None, options: tuple[str, ...]) -> list[dict]:
    """(b): wall seconds of ``python -m runner experiment=ptb_small`` and its test perplexity."""
    args = ["experiment=ptb_small", "logger=csv", "hydra.run.dir=run", *options]
    if device != "cpu":
        args.append("trainer.accelerator=gpu")
    if steps is not None:  # the CPU's taste of it
        args += [f"trainer.max_steps={steps}", "trainer.limit_val_batches=20", "+trainer.limit_test_batches=20"]
    with tempfile.TemporaryDirectory() as tmp:
        wall, _, _ = measure([sys.executable, "-m", "runner", *args], tmp, env)
        record = json.loads((Path(tmp) / "run" / "results.json").read_text())
    what = f"ptb_small end to end ({record['steps']} steps{listed(options)})"
    return [
        {"name": f"{what}: wall", "unit": "s", "value": wall},
        {"name": f"{what}: test perplexity", "unit": "ppl", "value": record["test"]["ppl"]},
        {"name": f"{what}: training", "unit": "tokens/s", "value": record["train_tokens_per_s"]},
    ]


def overhead(device: str, steps: int, repeats: int, env: dict[str, str], options: tuple[str, ...]) -> list[dict]:
    """(c): tokens/s and ms per step on the adding task at the defaults: runner, Lightning's bare loop, plain loop."""
    extra = [*([] if device == "cpu" else ["trainer.accelerator=gpu"]), *options]

    def runner() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            measure(
                [
                    sys.executable,
                    "-m",
                    "runner",
                    "logger=csv",
                    f"trainer.max_steps={steps}",
                    f"trainer.val_check_interval={steps}",
                    *extra,
                    "hydra.run.dir=run",
                ],
                tmp,
                env,
            )
            return json.loads((Path(tmp) / "run" / "results.json").read_text())["train_tokens_per_s"]

    def plain(*flags: str) -> float:
        _, _, out = measure(
            [
                sys.executable,
                str(HERE / "plain.py"),
                "adding",
                "--steps",
                str(steps),
                "--device",
                device,
                "--tune-malloc",
                *flags,
            ],
            str(HERE),
            env,
        )
        return float(out.split()[-1])

    runner_tps, lightning_tps, plain_tps = alternate(runner, lambda: plain("--lightning"), plain, repeats=repeats)
    what = f"adding task, defaults{listed(options)}"
    rows = [
        summary(f"tokens/s {what}", runner_tps, plain_tps, "tokens/s"),
        summary(
            "tokens/s adding task, defaults, Lightning's bare loop (plain.py --lightning)",
            lightning_tps,
            plain_tps,
            "tokens/s",
        ),
        summary(f"tokens/s {what}, against Lightning's bare loop", runner_tps, lightning_tps, "tokens/s"),
    ]
    for name, tps in ((f"runner{listed(options)}", runner_tps), ("Lightning's bare loop", lightning_tps)):
        ms = [1000 * ADDING_TOKENS / r - 1000 * ADDING_TOKENS / p for r, p in zip(tps, plain_tps, strict=True)]
        rows.append(
            {
                "name": f"per-step overhead on the adding task ({name} - plain)",
                "unit": "ms/step",
                "value": statistics.median(ms),
                "min": min(ms),
                "max": max(ms),
            }
        )
    return rows


def write(out: Path, rows: list[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "device.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    ratios = [r for r in rows if "ratio" in r]
    single = [r for r in rows if "value" in r]
    text = markdown(ratios, meta)
    if single:
        text += "\n| measurement | unit | median | range |\n| --- | --- | ---: | --- |\n"
        for r in single:
            spread = f"{r['min']:.3g} to {r['max']:.3g}" if "min" in r else ""
            text += f"| {r['name']} | {r['unit']} | {r['value']:.4g} | {spread} |\n"
    (out / "device.md").write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--eager", action="store_true", help="on a GPU, the runner without model.cuda_graphs")
    p.add_argument(
        "--repeats", type=int, help="pairs per comparison (default: 1 on a GPU, to stay within 8 minutes; 2 on the CPU)"
    )
    args = p.parse_args()
    gpu = torch.cuda.is_available()
    device = "cuda" if gpu else "cpu"
    graphs = ("model.cuda_graphs=true",) if gpu and not args.eager else ()
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    meta = {
        "title": "Runner against a plain loop",
        "date": time.strftime("%Y-%m-%d"),
        "device": device_name(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
    }
    rows: list[dict] = []

    def part(new_rows: list[dict]) -> None:
        rows.extend(new_rows)
        write(args.out, rows, meta)
        for row in new_rows:
            print(row, flush=True)

    shapes = [SMALL, MEDIUM] if gpu else [SMALL]
    steps, repeats = (400, 1) if gpu else (150, 2)  # a fresh process takes 10-20 s to start on a GPU machine
    repeats = args.repeats or repeats
    for shape in shapes:
        part(cells(shape, steps, repeats, env, device, graphs))
    part(overhead(device, 400 if gpu else 1000, repeats, env, graphs))
    part(end_to_end(device, env, None if gpu else 200, graphs))
    if gpu:  # compiling takes most of a minute a process: one pair
        part([throughput("lstm", "compiled", steps, 1, env, MEDIUM, device)[0]])
    print((args.out / "device.md").read_text())


if __name__ == "__main__":
    main()
