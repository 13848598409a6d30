"""``python -m runner.report SWEEP_DIR [RUN_DIR ...]``: the configurations of a sweep compared over seeds.

Writes ``report.md`` and PNG plots (src/runner/report/plots.py) from what every run
folder holds: ``results.json``, ``metrics.csv``, ``.hydra/`` (config, choices,
overrides) and, when the probe ran, ``grad_flow.csv``; no W&B. Jobs that
differ only in their seeds are replicates of one configuration
(src/runner/_config/replicates.py): one row each, with the statistics of src/runner/report/stats.py
(src/runner/report/aggregate.py groups them). Failed, diverged and unfinished jobs are
counted in their configuration's row and listed one by one at the end, never
dropped.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from runner._config import replicates
from runner._config.job import JobConfig
from runner._run_folder import run_dir
from runner._run_folder.run_dir import Status, run_folders
from runner.report.facets import cell_key, facets, hidden_overrides

BEST = {"mse": 0.0, "loss": 0.0, "accuracy": 1.0, "ppl": 1.0}  # a perfect score, for the default target
HIGHER_IS_BETTER = ("accuracy",)


@dataclass
class Job:
    """One run folder, read back."""

    path: Path
    facets: dict[str, Any]
    status: Status
    metric: str | None  # the monitored validation metric, e.g. "mse"; None when the job failed before knowing
    replicate: str = ""  # runner.replicates: the same for every seed of one configuration
    label: str = ""  # the configuration's overrides, seeds left out
    hidden: list[str] = field(default_factory=list)  # the label's overrides that the facets do not show
    variant: str = ""  # those that tell it apart from the other jobs of the report ('' when none): see read()
    seed: int | None = None
    final: float | None = None
    best: float | None = None
    baseline: float | None = None
    target: float | None = None
    reached_at: int | None = None  # the first validation step at which the metric beat the target
    note: str = ""  # where it diverged, why it failed
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation metric)
    grad_flow: dict[int, list[float]] = field(default_factory=dict)  # step -> ||dL/dh_t||, t = 1..T
    norms: list[float] = field(default_factory=list)  # grad/norm_before on the logged steps
    clip_rate: float | None = None  # the fraction of all steps the gradient handler changed

    @property
    def status_text(self) -> str:
        """``ok``, ``diverged at step 12``, ``failed: ValueError: ...``"""
        if not self.note:
            return self.status
        return f"{self.status} {self.note}" if self.status == Status.diverged else f"{self.status}: {self.note}"

    @property
    def higher_is_better(self) -> bool:
        return self.metric in HIGHER_IS_BETTER

    def beats(self, value: float, target: float) -> bool:
        return value >= target if self.higher_is_better else value <= target

    @property
    def solved(self) -> bool:
        """Ended ok with a final metric at or beyond the target."""
        return self.status == "ok" and None not in (self.final, self.target) and self.beats(self.final, self.target)


def load(folder: Path, targets: dict[str, float]) -> Job:
    """Everything the report reads from one run folder."""
    composed = run_dir.saved_config(folder)
    config = OmegaConf.to_container(composed, resolve=True)
    choices = run_dir.choices(folder)
    overrides = run_dir.overrides(folder)
    # still running, or killed, when there is no record yet
    record = run_dir.read_results(folder) or {"status": run_dir.status(folder)}
    metric = record["monitor"].removeprefix("val/") if "monitor" in record else None
    described = replicates.describe(JobConfig(composed, choices, overrides))
    job = Job(
        path=folder,
        facets=facets(choices, config),
        status=Status(record["status"]),
        metric=metric,
        seed=config.get("seed"),
        replicate=described["replicate"],
        label=described["replicate_label"],
    )
    job.hidden = hidden_overrides(job.label, config)
    job.final = (record.get("val") or {}).get(metric)
    job.best = (record.get("best_val") or {}).get(metric)
    job.baseline = (record.get("baseline") or {}).get(metric)
    if job.status == Status.diverged:
        job.note = f"at step {record['diverged_at_step']}"
    elif job.status == Status.failed:
        job.note = (str(record.get("error")).splitlines() or [""])[0][:120]
    job.curve, job.norms, job.clip_rate = _metrics(folder, f"val/{metric}")
    for step, _, norm in run_dir.grad_flow(folder):
        job.grad_flow.setdefault(step, []).append(norm)
    job.target = targets.get(metric, _halfway(job))
    if job.target is not None:
        job.reached_at = next((step for step, value in job.curve if job.beats(value, job.target)), None)
    return job


def read(paths: list[Path], targets: dict[str, float]) -> list[Job]:
    """The jobs of every run folder under ``paths``, each with its variant, in the report's order."""
    jobs = [load(folder, targets) for folder in run_folders(paths)]
    shared = set.intersection(*(set(j.hidden) for j in jobs)) if jobs else set()
    for job in jobs:  # a setting every job has, such as a fixed command-line override, tells none apart
        job.variant = ",".join(o for o in job.hidden if o not in shared)
    return sorted(jobs, key=sort_key)


def _halfway(job: Job) -> float | None:
    """Halfway from the memoryless baseline to a perfect score: 'clearly learned something'."""
    if job.baseline is None or job.metric not in BEST:
        return None
    return (job.baseline + BEST[job.metric]) / 2


def _metrics(folder: Path, column: str) -> tuple[list[tuple[int, float]], list[float], float | None]:
    """From metrics.csv: the validation curve, the gradient norms before the handler, the last clip rate."""
    curve, norms, clip_rate = [], [], None
    for r in run_dir.metrics_rows(folder):
        if r.get(column) and math.isfinite(float(r[column])):
            curve.append((int(r["step"]), float(r[column])))
        if r.get("grad/norm_before") and not math.isnan(float(r["grad/norm_before"])):
            norms.append(float(r["grad/norm_before"]))  # inf stays: a norm that overflowed
        if r.get("grad/clip_rate"):
            clip_rate = float(r["grad/clip_rate"])
    return curve, norms, clip_rate


def sort_key(job: Job) -> tuple:
    f = job.facets
    return (
        str(f["data"]),
        str(f["grad"]),
        _num(f["threshold"]),
        job.variant,
        cell_key(f["cell"]),
        _num(f["seq_len"]),
        _num(job.seed),
        str(job.path),
    )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.inf


def write(jobs: list[Job], out: Path, sources: list[Path]) -> Path:
    """report.md and its plots in ``out``, from jobs sorted by :func:`sort_key`."""
    from runner.report import aggregate, plots, tables

    out.mkdir(parents=True, exist_ok=True)
    configs = aggregate.group(jobs)
    counts = {s: sum(j.status == s for j in jobs) for s in Status}
    seeds = sorted({c.n for c in configs})
    text = [
        "# Sweep report",
        "",
        f"{len(jobs)} jobs from {', '.join(f'`{s}`' for s in sources)}: "
        f"{', '.join(f'{n} {s}' for s, n in counts.items() if n)}. They are {len(configs)} configurations "
        f"(jobs that differ only in their seeds share a `replicate` id) with "
        f"{seeds[0] if len(seeds) == 1 else f'{seeds[0]} to {seeds[-1]}'} seeds each.",
        "",
    ]
    if 1 in seeds:
        text += [
            "With a single seed a configuration has no interval (n = 1): one run says nothing about the "
            "spread between seeds. Run replicates with `seed=range(5)`.",
            "",
        ]
    for c in configs:
        if c.repeated_seeds:
            text += [
                f"Configuration `{c.first.replicate}` ran seed(s) {c.repeated_seeds} more than once: "
                "those runs are not independent replicates.",
                "",
            ]
    text += [
        "`final`: the validation metric at the end of training, over the seeds that did not diverge: the mean "
        "with Student's t 95 % interval. `solved`: the seeds whose final metric beats the target (by default "
        "halfway from the memoryless baseline to a perfect score; `--target`), with the Wilson 95 % interval; "
        "a diverged run is not solved.",
        "",
        "## Final metric by cell",
        "",
        tables.overview(configs),
        "",
        "## Configurations",
        "",
        tables.configurations(configs),
        "",
        "## Longest length solved",
        "",
        tables.solved_lengths(configs),
        "",
    ]
    pairs = aggregate.comparisons(configs)
    if pairs:
        text += [
            "## Which differences are resolved",
            "",
            "P(A better than B): the chance that a seed of A ends better than a seed of B, over all pairs of "
            "seeds (a diverged run is the worst); 0.5 is no difference. A bootstrap 95 % interval that "
            "contains 0.5 leaves the difference not resolved with these seeds.",
            "",
            tables.comparisons(pairs),
            "",
        ]
    norms = tables.gradient_norms(configs)
    if norms:
        text += [
            "## Gradient norms and clipping",
            "",
            "‖g‖: the global L2 norm of the gradient before the handler, on the logged steps "
            "(`trainer.log_every_n_steps`) of all seeds; clip rate: the fraction of all steps the handler "
            "changed.",
            "",
            norms,
            "",
        ]
    for title, image in plots.draw(jobs, configs, out):
        text += [f"## {title}", "", f"![{title}]({image.name})", ""]
    text += [
        "## Every job",
        "",
        "<details><summary>one row per job, failures and divergences included</summary>",
        "",
        tables.jobs(jobs, out),
        "",
        "</details>",
        "",
    ]
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
    parser.add_argument(
        "--out", type=Path, help="where report.md and the plots go (default: the one folder given, else ./report)"
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="the score that counts as solved, per metric (default: halfway from the baseline to a perfect score)",
    )
    args = parser.parse_args(argv)
    jobs = read(args.paths, parse_targets(args.target))
    if not jobs:
        raise SystemExit(f"runner.report: no run folders (with .hydra/config.yaml) under {args.paths}")
    out = args.out or (args.paths[0] if len(args.paths) == 1 else Path("report"))
    print(write(jobs, out, args.paths))
