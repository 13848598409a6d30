"""Jobs per hour of a small sweep run one job at a time, against the same sweep under ``hydra/launcher=parallel``.

    python benchmarks/sweep_throughput.py --device cpu [--n-jobs N] [--repeats 2] [--out benchmarks/results]
    python benchmarks/sweep_throughput.py --device gpu          # trainer.accelerator=gpu, 4 jobs at once

The sweep: 12 full small jobs of ``experiment=long_term_deps_quick`` (the adding and copy tasks at
T = 10 and 20, rnn, lstm and gru, gradients clipped, seed 0) at 300 steps instead of 1500,
``logger=csv``. Each sweep is one fresh ``python -m runner -m`` process timed from start to exit,
start-up included, as a researcher waits for it; jobs per hour = jobs / wall time. Serial and
parallel alternate (A B, then B A, ...). Writes sweep_throughput_DEVICE.json and .md (one table
row naming the device, the jobs at once and the threads each job computed with).
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

sys.path.insert(0, str(Path(__file__).parent))
from runner._run_folder import run_dir
from runner._train.cpu import machine
from suite import measure, pairs

HERE = Path(__file__).parent
SWEEP = [
    "experiment=long_term_deps_quick",
    "seed=0",
    "data=adding,copy",
    "data.seq_len=10,20",
    "cell=rnn,lstm,gru",
    "grad=clip_norm",
    "logger=csv",
]
QUICK = [
    "experiment=long_term_deps_quick",
    "seed=0",
    "data=adding",
    "data.seq_len=10",
    "cell=rnn,gru",
    "grad=clip_norm",
    "logger=csv",
]  # a smoke test of the script: 2 jobs


def sweep(args: list[str], env: dict[str, str]) -> tuple[float, list[dict]]:
    """Wall seconds of one multirun of ``args`` and the results.json of each of its jobs (every job wrote one)."""
    with tempfile.TemporaryDirectory() as tmp:
        wall, _, _ = measure([sys.executable, "-m", "runner", "-m", *args, "hydra.sweep.dir=sweep"], tmp, env)
        folder = Path(tmp) / "sweep"
        records = [json.loads(p.read_text()) for p in sorted(folder.glob("*/results.json"))]
        planned = len(run_dir.read_jobs(folder) or [])
    if len(records) != planned:
        sys.exit(f"{len(records)} of {planned} jobs wrote results.json: {' '.join(args)}")
    return wall, records


def device_name(device: str) -> str:
    """The GPU's name and the CPU's (model, cores, torch version)."""
    if device == "gpu":
        import torch

        return f"{torch.cuda.get_device_name(0)}; {machine()}"
    return machine()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="jobs at once (default: the parallel preset's one per core on the CPU, 4 on a GPU)",
    )
    p.add_argument("--repeats", type=int, default=2, help="pairs of sweeps, serial and parallel")
    p.add_argument("--steps", type=int, default=300, help="training steps of each job")
    p.add_argument("--quick", action="store_true", help="2 jobs of 20 steps, once: a smoke test, not a measurement")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args()
    steps, repeats, base = (20, 1, QUICK) if args.quick else (args.steps, args.repeats, SWEEP)
    n_jobs = args.n_jobs if args.n_jobs is not None else (4 if args.device == "gpu" else None)
    common = [
        *base,
        f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={max(1, steps // 2)}",
        *(["trainer.accelerator=gpu"] if args.device == "gpu" else []),
    ]
    parallel = ["hydra/launcher=parallel", *([f"hydra.launcher.n_jobs={n_jobs}"] if n_jobs is not None else [])]
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    threads: dict[str, set[int]] = {"serial": set(), "parallel": set()}
    jobs: list[int] = []

    def run(name: str, extra: list[str]) -> float:
        wall, records = sweep([*common, *extra], env)
        counts = [record["threads"] for record in records]
        threads[name].update(counts)
        jobs.append(len(counts))
        print(f"{name}: {len(counts)} jobs in {wall:.1f} s", flush=True)
        return len(counts) / wall * 3600

    serial_rates, parallel_rates = pairs(lambda: run("serial", []), lambda: run("parallel", parallel), repeats)
    speedups = [b / a for a, b in zip(serial_rates, parallel_rates, strict=True)]
    result = {
        "device": device_name(args.device),
        "date": time.strftime("%Y-%m-%d"),
        "jobs": jobs[0],
        "steps": steps,
        "sweep": common,
        "n_jobs": n_jobs if n_jobs is not None else -1,
        "quick": args.quick,
        "threads": {k: sorted(v) for k, v in threads.items()},
        "serial_jobs_per_h": serial_rates,
        "parallel_jobs_per_h": parallel_rates,
        "speedup": speedups,
    }
    at_once = f"n_jobs={result['n_jobs']}"
    line = (
        f"| {result['device']} | {result['jobs']} jobs × {steps} steps | {statistics.median(serial_rates):.0f} "
        f"(threads: {_join(threads['serial'])}) | {statistics.median(parallel_rates):.0f} ({at_once}, "
        f"threads per job: {_join(threads['parallel'])}) | {statistics.median(speedups):.2f}× "
        f"({min(speedups):.2f}–{max(speedups):.2f}, {len(speedups)} pairs) |"
    )
    header = (
        "| device | sweep | one at a time, jobs/h | hydra/launcher=parallel, jobs/h | speed-up (range, pairs) |\n"
        "| --- | --- | ---: | ---: | --- |\n"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"sweep_throughput_{args.device}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"sweep_throughput_{args.device}.md").write_text(header + line + "\n")
    print(header + line)


def _join(counts: set[int]) -> str:
    return ",".join(str(c) for c in sorted(counts))


if __name__ == "__main__":
    main()
