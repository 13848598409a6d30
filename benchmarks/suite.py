"""The benchmark suite: the runner's own costs, each measured as a ratio within one session.

    python benchmarks/suite.py [--quick] [--out benchmarks/results]

(a) training tokens/s, runner against a plain PyTorch loop (benchmarks/ptb_throughput.py), PTB
    shapes 2x200, batch 20, unroll 35, for rnn, lstm and gru, fused, reference and reference
    compiled; (b) start-up of `--help`, `--cfg job` and `python -m runner.plugins` against
    `python -c "import torch"`; (c) the per-job cost in a multirun of tiny jobs; (d) the peak
    memory of a PTB run against the plain loop. A and B alternate, several repetitions, medians and
    spread. Writes suite.json and suite.md; run it on an otherwise idle machine.
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

sys.path.insert(0, str(Path(__file__).parent))
from plain import WARMUP
from ptb_throughput import BATCH, BPTT, HIDDEN, LAYERS, plain_args, runner_overrides

HERE = Path(__file__).parent


def measure(cmd: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak resident memory (KiB) and stdout of one child process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not the tree's maximum
        wall = time.perf_counter() - start
        out.seek(0), err.seek(0)
        text = out.read()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{(text + err.read())[-3000:]}")
    return wall, usage.ru_maxrss, text


def alternate(*runs, repeats: int) -> list[list[float]]:
    """Each of ``runs`` ``repeats`` times, in turn: in order on even repetitions, reversed on odd ones."""
    results: list[list[float]] = [[] for _ in runs]
    for rep in range(repeats):
        order = range(len(runs)) if rep % 2 == 0 else reversed(range(len(runs)))
        for i in order:
            results[i].append(runs[i]())
    return results


def pairs(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Alternate A and B ``repeats`` times (A first on even repetitions)."""
    xs, ys = alternate(a, b, repeats=repeats)
    return xs, ys


def listed(options: tuple[str, ...]) -> str:
    """The runner's extra overrides as a row name ends with them: ``, model.cuda_graphs=true``."""
    return "".join(f", {option}" for option in options)


def summary(name: str, a: list[float], b: list[float], unit: str) -> dict:
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return {
        "name": name,
        "unit": unit,
        "a": statistics.median(a),
        "b": statistics.median(b),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "n": len(ratios),
    }


def throughput(
    cell: str,
    impl: str,
    steps: int,
    repeats: int,
    env: dict[str, str],
    shape: tuple[int, int, int] = (HIDDEN, BPTT, BATCH),
    device: str = "cpu",
    options: tuple[str, ...] = (),
) -> tuple[dict, dict]:
    """(a) and (d): tokens/s and peak memory, runner (with ``options``) against the plain loop.

    ``shape`` is (hidden, unroll, batch); ``device`` "cuda" runs both on the GPU.
    """
    hidden, bptt, batch = shape
    extra = {
        "fused": [],
        "reference": ["cell.impl=reference"],
        "compiled": ["cell.impl=reference", "cell.compile=true"],
    }[impl]
    extra += [*([] if device == "cpu" else ["trainer.accelerator=gpu"]), *options]
    memory = {"runner": [], "plain": []}

    def runner() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                "-m",
                "runner",
                *runner_overrides(cell, steps, hidden, bptt, batch),
                *extra,
                "hydra.run.dir=run",
            ]
            _, rss, _ = measure(cmd, tmp, env)
            memory["runner"].append(rss)
            return json.loads((Path(tmp) / "run" / "results.json").read_text())["train_tokens_per_s"]

    def plain() -> float:
        _, rss, out = measure(plain_args([cell], steps, hidden, bptt, batch, impl, device), str(HERE), env)
        memory["plain"].append(rss)
        return float(out.split()[-1])

    runner_tps, plain_tps = pairs(runner, plain, repeats)
    name = f"{cell} {impl}" if shape == (HIDDEN, BPTT, BATCH) else f"{cell} {impl} {LAYERS}x{hidden} unroll {bptt}"
    name += listed(options)
    return (
        summary(f"tokens/s {name}", runner_tps, plain_tps, "tokens/s"),
        summary(f"peak memory {name}", memory["runner"], memory["plain"], "KiB"),
    )


def startup(repeats: int, env: dict[str, str]) -> list[dict]:
    """(b) seconds to answer, against importing torch alone."""
    torch_cmd = [sys.executable, "-c", "import torch"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, cmd in [
            ("--help", ["-m", "runner", "--help"]),
            ("--cfg job", ["-m", "runner", "--cfg", "job"]),
            ("runner.plugins", ["-m", "runner.plugins"]),
        ]:
            a, b = pairs(
                lambda cmd=cmd: measure([sys.executable, *cmd], tmp, env)[0],
                lambda: measure(torch_cmd, tmp, env)[0],
                repeats,
            )
            rows.append(summary(f"start-up {label} vs import torch", a, b, "s"))
    return rows


def per_job(jobs: int, repeats: int, env: dict[str, str]) -> list[dict]:
    """(c) a multirun of tiny jobs: seconds per job, with W&B (offline) and with metrics.csv only."""
    tiny = [
        "data.seq_len=8",
        "data.num_train=64",
        "data.num_val=32",
        "data.batch_size=16",
        "cell.hidden_size=8",
        "trainer.max_steps=5",
        "trainer.val_check_interval=5",
    ]
    seeds = "seed=" + ",".join(str(i) for i in range(jobs))

    def sweep(logger: str) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            wall, _, _ = measure(
                [sys.executable, "-m", "runner", "-m", seeds, *tiny, f"logger={logger}", "hydra.sweep.dir=sweep"],
                tmp,
                {**env, "WANDB_MODE": "offline"},
            )
            return wall / jobs

    one_job = []

    def single() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            wall, _, _ = measure([sys.executable, "-m", "runner", *tiny, "logger=csv", "hydra.run.dir=run"], tmp, env)
            one_job.append(wall)
            return wall

    wandb_s, csv_s = pairs(lambda: sweep("wandb"), lambda: sweep("csv"), repeats)
    csv_again, single_s = pairs(lambda: sweep("csv"), single, repeats)
    return [
        summary(f"multirun of {jobs}: s/job, W&B offline vs metrics.csv only", wandb_s, csv_s, "s"),
        summary(f"multirun of {jobs}: s/job vs one job in its own process", csv_again, single_s, "s"),
    ]


def markdown(rows: list[dict], meta: dict) -> str:
    where = meta.get("device") or f"{meta['cpus']} CPUs"
    lines = [
        f"# {meta.get('title', 'Benchmark suite')} ({meta['date']}, {where}, torch {meta['torch']})",
        "",
        "| comparison (A vs B) | unit | A median | B median | A/B median | A/B range | pairs |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['unit']} | {r['a']:.4g} | {r['b']:.4g} | {r['ratio']:.3f} | "
            f"{r['ratio_min']:.3f}-{r['ratio_max']:.3f} | {r['n']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and repetitions: a smoke test, not a measurement")
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument(
        "--parts", nargs="+", default=["throughput", "startup", "jobs"], choices=["throughput", "startup", "jobs"]
    )
    p.add_argument(
        "--impls", nargs="+", default=["fused", "reference", "compiled"], choices=["fused", "reference", "compiled"]
    )
    args = p.parse_args()
    repeats, steps = (2, WARMUP + 20) if args.quick else (3, 150)
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    rows: list[dict] = []
    if "throughput" in args.parts:
        memory_rows = []
        for impl in args.impls:
            for cell in ("lstm", "gru", "rnn"):
                tps, mem = throughput(cell, impl, steps, repeats, env)
                rows.append(tps)
                memory_rows.append(mem)
                print(tps, mem, flush=True)
        rows += memory_rows
    if "startup" in args.parts:
        rows += startup(repeats * 2, env)
    if "jobs" in args.parts:
        rows += per_job(8, repeats, env)
    import torch

    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "steps": steps,
        "repeats": repeats,
        "quick": args.quick,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "suite.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (args.out / "suite.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
