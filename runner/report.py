"""``python -m runner.report SWEEP_DIR [RUN_DIR ...]``: the jobs of a sweep side by side.

Writes ``report.md`` (one row per job) and PNG plots (runner/plots.py) from
what every run folder holds: ``results.json``, ``metrics.csv``,
``.hydra/config.yaml`` and, when the probe ran, ``grad_flow.csv``; no W&B.
Failed, diverged and unfinished jobs are rows and marked points like the
others, never dropped.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from runner import run_dir
from runner.facets import facets
from runner.run_dir import Status, run_folders

BEST = {"mse": 0.0, "loss": 0.0, "accuracy": 1.0, "ppl": 1.0}  # a perfect score, for the default target
HIGHER_IS_BETTER = ("accuracy",)
CELL_ORDER = {"rnn": 0, "lstm": 1, "gru": 2}  # the study's order; other cells follow by name


@dataclass
class Job:
    """One run folder, read back."""

    path: Path
    facets: dict[str, Any]
    status: Status
    metric: str | None  # the monitored validation metric, e.g. "mse"; None when the job failed before knowing
    final: float | None = None
    best: float | None = None
    baseline: float | None = None
    target: float | None = None
    reached_at: int | None = None  # the first validation step at which the metric beat the target
    note: str = ""  # where it diverged, why it failed
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation metric)
    grad_flow: dict[int, list[float]] = field(default_factory=dict)  # step -> ||dL/dh_t||, t = 1..T

    @property
    def status_text(self) -> str:
        """``ok``, ``diverged at step 12``, ``failed: ValueError: ...``"""
        if not self.note:
            return self.status
        return f"{self.status} {self.note}" if self.status == Status.diverged else f"{self.status}: {self.note}"

    @property
    def higher_is_better(self) -> bool:
        return self.metric in HIGHER_IS_BETTER


def load(folder: Path, targets: dict[str, float]) -> Job:
    config = OmegaConf.to_container(run_dir.saved_config(folder), resolve=True)
    record = run_dir.read_results(folder)
    if record is not None:
        choices = record
    else:  # still running, or killed: the choices are in Hydra's own record
        record = {"status": Status.unfinished}
        choices = run_dir.choices(folder)
    metric = record["monitor"].removeprefix("val/") if "monitor" in record else None
    job = Job(path=folder, facets=facets(choices, config), status=Status(record["status"]), metric=metric)
    job.final = (record.get("val") or {}).get(metric)
    job.best = (record.get("best_val") or {}).get(metric)
    job.baseline = (record.get("baseline") or {}).get(metric)
    if job.status == Status.diverged:
        job.note = f"at step {record['diverged_at_step']}"
    elif job.status == Status.failed:
        job.note = (str(record.get("error")).splitlines() or [""])[0][:120]
    job.curve = run_dir.metric_curve(folder, f"val/{metric}")
    for step, _, norm in run_dir.grad_flow(folder):
        job.grad_flow.setdefault(step, []).append(norm)
    job.target = targets.get(metric, _halfway(job))
    if job.target is not None:
        beat = (lambda v: v >= job.target) if job.higher_is_better else (lambda v: v <= job.target)
        job.reached_at = next((step for step, value in job.curve if beat(value)), None)
    return job


def _halfway(job: Job) -> float | None:
    """Halfway from the memoryless baseline to a perfect score: 'clearly learned something'."""
    if job.baseline is None or job.metric not in BEST:
        return None
    return (job.baseline + BEST[job.metric]) / 2


def sort_key(job: Job) -> tuple:
    f = job.facets
    cell = (CELL_ORDER.get(f["cell"], len(CELL_ORDER)), str(f["cell"]))
    return (str(f["data"]), str(f["grad"]), _num(f["threshold"]), cell, _num(f["seq_len"]), str(job.path))


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.inf


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def table(jobs: list[Job], root: Path) -> str:
    head = ["cell", "data", "seq_len", "grad", "threshold", "status", "metric", "final", "best", "baseline",
            "target", "steps to target", "job"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for job in jobs:
        f = job.facets
        reached = "not reached" if job.reached_at is None and job.target is not None else _fmt(job.reached_at)
        cells = [f["cell"], f["data"], f["seq_len"], f["grad"], f["threshold"], job.status_text.replace("|", "/"),
                 job.metric and f"val {job.metric}", job.final, job.best, job.baseline, job.target, reached, _link(job.path, root)]
        lines.append("| " + " | ".join(_fmt(c) for c in cells) + " |")
    return "\n".join(lines)


def _link(path: Path, root: Path) -> str:
    """A link to the run folder, named by its Hydra job number when it has one (``3_cell=gru,...``)."""
    number, sep, _ = path.name.partition("_")
    try:
        target = path.resolve().relative_to(root.resolve())
    except ValueError:
        target = path.resolve()
    return f"[{number if sep and number.isdigit() else path.name}](<{target}>)"


def write(jobs: list[Job], out: Path, sources: list[Path]) -> Path:
    from runner import plots

    out.mkdir(parents=True, exist_ok=True)
    counts = {s: sum(j.status == s for j in jobs) for s in Status}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    text = [
        "# Sweep report", "",
        f"{len(jobs)} jobs from {', '.join(f'`{s}`' for s in sources)}: {summary}.", "",
        "`final`: the validation metric at the end of training; `best`: the best validation; `baseline`: "
        "what a memoryless predictor scores; `steps to target`: the first validated training step at which "
        "the metric beat `target` (by default halfway from the baseline to a perfect score).", "",
        table(jobs, out), "",
    ]
    for title, image in plots.draw(jobs, out):
        text += [f"## {title}", "", f"![{title}]({image.name})", ""]
    path = out / "report.md"
    path.write_text("\n".join(text))
    return path


def parse_targets(items: list[str]) -> dict[str, float]:
    targets = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"runner.report: --target wants METRIC=VALUE (e.g. mse=0.01), got {item!r}")
        targets[name] = float(value)
    return targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runner.report", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="a sweep folder, or run folders")
    parser.add_argument("--out", type=Path, help="where report.md and the plots go (default: the one folder "
                        "given, else ./report)")
    parser.add_argument("--target", action="append", default=[], metavar="METRIC=VALUE",
                        help="the score that counts as learned, per metric (default: halfway from the baseline "
                        "to a perfect score)")
    args = parser.parse_args(argv)
    targets = parse_targets(args.target)
    folders = run_folders(args.paths)
    if not folders:
        raise SystemExit(f"runner.report: no run folders (with .hydra/config.yaml) under {args.paths}")
    jobs = sorted((load(folder, targets) for folder in folders), key=sort_key)
    out = args.out or (args.paths[0] if len(args.paths) == 1 else Path("report"))
    print(write(jobs, out, args.paths))


if __name__ == "__main__":
    main()
