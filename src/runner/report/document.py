"""``python -m runner.report SWEEP_DIR [RUN_DIR ...]``: the configurations of a sweep compared over seeds.

Writes ``report.md`` and PNG plots (src/runner/report/plots.py) from what every run
folder holds: ``results.json``, ``metrics.csv``, ``.hydra/`` (config, choices,
overrides) and, when the probe ran, ``grad_flow.csv``; no W&B. Jobs that
differ only in their seeds are replicates of one configuration
(src/runner/_config/replicates.py): one row each, with the statistics of src/runner/report/stats.py
(src/runner/report/aggregate.py groups them). Failed, diverged and unfinished jobs are
counted in their configuration's row and listed one by one at the end, never
dropped. A file that cannot be read is named on one line of stderr and in the
report, and left out; the report is written from the rest (docs/report.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from runner._run_folder import job as run_job
from runner._run_folder.job import Job
from runner._run_folder.run_dir import Status, run_folders
from runner.report import aggregate, axes, plots, tables
from runner.report.facets import cell_key


def load(folder: Path, targets: dict[str, float]) -> Job:
    """The job of one run folder, with what the report says of it alone: its target and when it reached it.

    Its files are read here, once: a damaged one is named in ``job.problems`` and left out.
    """
    job = run_job.read(folder)
    job.target = targets.get(job.monitor, _halfway(job))
    if job.target is not None:
        job.reached_at = next((step for step, value in job.curve if job.beats(value, job.target)), None)
    _ = job.curve, job.grad_flow  # every file read now (else when first asked): its problems known before writing
    return job


def read(paths: list[Path], targets: dict[str, float], problems: list[str] | None = None) -> list[Job]:
    """The jobs of every run folder under ``paths``, each described among the others, in the report's order.

    A folder that cannot be read at all (a damaged ``.hydra/``) is skipped, and said so in ``problems``.
    """
    problems = [] if problems is None else problems
    jobs = []
    for folder in run_folders(paths):
        try:
            jobs.append(load(folder, targets))
        except Exception as exc:  # any damage to any file of one folder must not cost the others' report
            problems.append(f"{folder}: skipped, it cannot be read ({run_job.why(exc)})")
    for job, named in zip(jobs, axes.describe(jobs), strict=True):
        length = axes.length(job)
        job.facets = {
            "cell": named["cell"],
            "data": named["data"],
            "seq_len": length and length[1],
            "grad": named["grad"],
            "length_key": length and length[0],
        }
        job.axes = {k: v for k, v in named.items() if k != axes.TASK}
        job.variant = ", ".join(v for k, v in named.items() if k not in axes.FIXED)
    return sorted(jobs, key=sort_key)


def _halfway(job: Job) -> float | None:
    """Halfway from the memoryless baseline to a perfect score: 'clearly learned something'."""
    if job.baseline is None or job.perfect is None:
        return None
    return (job.baseline + job.perfect) / 2


def sort_key(job: Job) -> tuple:
    f = job.facets
    return (
        str(f["data"]),
        axes.order(job, "grad"),
        tuple(axes.order(job, a) for a in job.axes if a not in axes.FIXED),
        job.variant,
        cell_key(f["cell"]),
        _num(f["seq_len"]),
        _num(job.seed),
        str(job.path),
    )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.inf


def write(jobs: list[Job], out: Path, sources: list[Path], problems: list[str] = ()) -> Path:
    """report.md and its plots in ``out``, from jobs sorted by :func:`sort_key`; ``problems``: folders skipped."""
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
        clips = tables.clipping(configs)
        text += [
            "## Gradient norms" + (" and clipping" if clips else ""),
            "",
            "‖g‖: the global L2 norm of the gradient before the handler, on the logged steps "
            "(`trainer.log_every_n_steps`) of all seeds"
            + (
                "; clip rate: the fraction of all steps the handler changed, where it clips (it changed the "
                "gradient and never lengthened it)."
                if clips
                else "."
            ),
            "",
            norms,
            "",
        ]
    for title, image in plots.draw(jobs, configs, out):
        text += [f"## {title}", "", f"![{title}]({image.name})", ""]
    damaged = [*problems, *(p for j in jobs for p in j.problems)]
    if damaged:
        text += ["## Files that could not be read", "", *(f"- {p}" for p in damaged), ""]
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
    problems: list[str] = []
    jobs = read(args.paths, parse_targets(args.target), problems)
    for problem in [*problems, *(p for j in jobs for p in j.problems)]:
        print(f"runner.report: {problem}", file=sys.stderr)
    if not jobs:
        raise SystemExit(f"runner.report: no readable run folders (with .hydra/config.yaml) under {args.paths}")
    out = args.out or (args.paths[0] if len(args.paths) == 1 else Path("report"))
    print(write(jobs, out, args.paths, problems))
