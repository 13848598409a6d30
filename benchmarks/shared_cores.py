"""Two runs at once on one machine: training tokens/s with the cores shared (``share_cores``) and without.

    python benchmarks/shared_cores.py [--repeats 5] [--steps 3000] [--out benchmarks/results]
    python benchmarks/shared_cores.py --quick --out /tmp/shared   # a smoke test of the script, tiny runs

One paired session of four sides, each a fresh ``python -m runner`` of the
defaults (``logger=csv``, ``trainer.max_steps`` = ``--steps``): one run alone and
two runs started together, each with ``share_cores=true`` (the default) and
``share_cores=false`` (torch's default threads in every run, as before the
runner shared the cores). The sides alternate, reversed every other repetition
(A, B, C, D, D, C, B, A, ...). Per repetition: two runs together summed
against one run alone, with sharing and without, and one run alone with
sharing against without; the table gives the medians of those ratios and their
range. Issue 26's target, on 2 cores: together >= 1.2x one run alone with
sharing (0.41x without), and one run alone no slower. ``OMP_NUM_THREADS`` is
removed, and the runs register in a scratch cache, so that only this session's
runs share. Writes shared_cores.json and shared_cores.md; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plain import WARMUP
from runner._train.cpu import machine
from suite import alternate

QUICK = ["data.seq_len=8", "data.batch_size=16", "data.num_train=256", "data.num_val=32", "cell.hidden_size=8"]
SIDES = ("alone, shared", "together, shared", "alone, not shared", "together, not shared")


def start(overrides: list[str], folder: Path, env: dict[str, str]) -> subprocess.Popen:
    """``python -m runner overrides`` into ``folder/run``, started, not waited for."""
    folder.mkdir(parents=True)
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *overrides, "logger=csv", "hydra.run.dir=run"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def tokens_per_s(runs: list[tuple[subprocess.Popen, Path]]) -> list[float]:
    """Each run's training tokens/s from its results.json, once all of them have ended."""
    outputs = [proc.communicate()[0] for proc, _ in runs]
    rates = []
    for (proc, folder), output in zip(runs, outputs, strict=True):
        record_file = folder / "run" / "results.json"
        if proc.returncode != 0 or not record_file.exists():
            sys.exit(f"python -m runner failed:\n{output[-3000:]}")
        rates.append(json.loads(record_file.read_text())["train_tokens_per_s"])
    return rates


def side(runs: int, shared: bool, overrides: list[str], scratch: Path, env: dict[str, str]):
    """One side: ``runs`` runs started together; returns a callable giving their tokens/s."""
    count = itertools.count()

    def measure() -> list[float]:
        folders = [scratch / f"{runs}_{shared}_{next(count)}" for _ in range(runs)]
        options = [*overrides, f"share_cores={str(shared).lower()}"]
        return tokens_per_s([(start(options, folder, env), folder) for folder in folders])

    return measure


def ratios(rows: dict[str, list[list[float]]]) -> dict[str, dict]:
    """Per repetition: together (summed) / alone, with and without sharing; alone shared / alone not shared."""
    alone_on = [r[0] for r in rows["alone, shared"]]
    alone_off = [r[0] for r in rows["alone, not shared"]]
    pairs = {
        "together / alone, shared": ([sum(r) for r in rows["together, shared"]], alone_on),
        "together / alone, not shared": ([sum(r) for r in rows["together, not shared"]], alone_off),
        "alone, shared / not shared": (alone_on, alone_off),
    }
    out = {}
    for name, (a, b) in pairs.items():
        values = [x / y for x, y in zip(a, b, strict=True)]
        out[name] = {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}
    return out


def markdown(rows: dict[str, list[list[float]]], meta: dict) -> str:
    lines = [
        f"# Two runs on one machine, cores shared or not ({meta['date']}, {meta['machine']})",
        "",
        f"`{meta['command']}`; {meta['steps']} steps a run, {meta['repeats']} repetitions, sides alternated.",
        "",
        "| side | tokens/s per run, median | summed, median |",
        "| --- | ---: | ---: |",
    ]
    for name, runs in rows.items():
        each = statistics.median(x for r in runs for x in r)
        lines.append(f"| {name} | {each:.0f} | {statistics.median(sum(r) for r in runs):.0f} |")
    lines += ["", "| ratio | median | range | pairs |", "| --- | ---: | --- | ---: |"]
    for name, r in ratios(rows).items():
        lines.append(f"| {name} | {r['median']:.2f} | {r['min']:.2f}-{r['max']:.2f} | {r['n']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5, help="repetitions of the four sides (default 5)")
    p.add_argument("--steps", type=int, default=3000, help="training steps a run (default 3000, the defaults')")
    p.add_argument("--quick", action="store_true", help="tiny runs (hidden 8, T = 8, 2 repetitions): a smoke test")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = p.parse_args()
    repeats, steps = (2, WARMUP + 10) if args.quick else (args.repeats, args.steps)
    if steps <= WARMUP + 1:
        p.error(f"--steps must be above {WARMUP + 1}: the first {WARMUP} batches are not counted")
    overrides = [*(QUICK if args.quick else []), f"trainer.max_steps={steps}"]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        env |= {"XDG_CACHE_HOME": str(scratch / "cache"), "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
        runs = [side(2 if "together" in name else 1, "not" not in name, overrides, scratch, env) for name in SIDES]
        measured = alternate(*runs, repeats=repeats)
    rows = dict(zip(SIDES, measured, strict=True))
    meta = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "command": f"python -m runner {' '.join(overrides)} logger=csv share_cores=true|false",
        "steps": steps,
        "repeats": repeats,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "shared_cores.json").write_text(
        json.dumps({**meta, "tokens_per_s": rows, "ratios": ratios(rows)}, indent=2) + "\n"
    )
    (args.out / "shared_cores.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))
    print(f"written to {args.out}/shared_cores.json and shared_cores.md")


if __name__ == "__main__":
    main()
