"""Replicates grouped into configurations, and what the report says about them.

A configuration's seeds are its jobs that ended ``ok`` or ``diverged``
(outcomes of training); failed and unfinished jobs are counted apart. The
final metric is summarised over the runs that did not diverge; a diverged run
counts as not solved, and as the worst score when two configurations are
compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from runner._run_folder.job import Job
from runner._run_folder.run_dir import FINISHED, Status
from runner.report import axes, stats
from runner.report.facets import cell_key

SOLVED_BY = 0.8  # "solved at a length": in at least this fraction of the seeds


@dataclass
class Configuration:
    """The jobs of one replicate id, in seed order."""

    jobs: list[Job]

    @property
    def first(self) -> Job:
        return self.jobs[0]

    @property
    def facets(self) -> dict[str, Any]:
        return self.first.facets

    @property
    def setting(self) -> str:
        """The gradient handler with the settings that tell it apart: ``none``, ``clip_norm (max_norm=1)``."""
        return str(self.facets["grad"])

    @cached_property
    def scored(self) -> Job:
        """A job that knows the metric, baseline and target (one that failed at setup does not)."""
        return next((j for j in self.jobs if j.monitor), self.first)

    @cached_property
    def seeds(self) -> list[Job]:
        return [j for j in self.jobs if j.status in FINISHED]

    @property
    def n(self) -> int:
        return len(self.seeds)

    @cached_property
    def final(self) -> stats.Summary | None:
        """The final metric over the seeds that did not diverge."""
        return stats.summarize([j.final for j in self.seeds if j.final is not None])

    @cached_property
    def solved(self) -> stats.Rate:
        return stats.rate(sum(j.solved for j in self.seeds), self.n)

    @cached_property
    def diverged(self) -> stats.Rate:
        return stats.rate(sum(j.status == Status.diverged for j in self.seeds), self.n)

    @cached_property
    def blown_up(self) -> stats.Rate:
        """The seeds that ended ok far past the baseline (:attr:`runner._run_folder.job.Job.blown_up`)."""
        return stats.rate(sum(j.blown_up for j in self.seeds), self.n)

    @property
    def clips(self) -> bool | None:
        """Whether its handler clips (never lengthens the gradient it changes), as its seeds' logs show."""
        said = [j.clips for j in self.seeds if j.clips is not None]
        return all(said) if said else None

    def beats_baseline(self) -> bool:
        """Some seed ended better than the memoryless baseline (a diverged run never does)."""
        baseline = self.scored.baseline
        if baseline is None:
            return True  # nothing to fall short of
        better = (lambda v: v > baseline) if self.scored.higher_is_better else (lambda v: v < baseline)
        return any(j.final is not None and better(j.final) for j in self.seeds)

    def count(self, status: Status | str) -> int:
        return sum(j.status == status for j in self.jobs)

    @property
    def repeated_seeds(self) -> list[Any]:
        """Seeds run more than once in this configuration: such runs are not independent replicates."""
        seeds = [j.seed for j in self.seeds]
        return sorted({s for s in seeds if seeds.count(s) > 1}, key=str)

    def scores(self) -> list[float]:
        """Each seed's final metric; a diverged run (or one without a final score) is the worst there is."""
        worst = -math.inf if self.scored.higher_is_better else math.inf
        return [j.final if j.final is not None else worst for j in self.seeds]

    @cached_property
    def norms(self) -> np.ndarray:
        """The gradient norms before the handler, on the logged steps of every seed, pooled."""
        return np.asarray([v for j in self.seeds for v in j.norms], dtype=float)

    @cached_property
    def clip_rate(self) -> stats.Summary | None:
        return stats.summarize([j.clip_rate for j in self.seeds if j.clip_rate is not None])


def group(jobs: list[Job]) -> list[Configuration]:
    """One configuration per replicate id, in the order of the jobs (sort them first)."""
    by_id: dict[str, list[Job]] = {}
    for job in jobs:
        by_id.setdefault(job.replicate, []).append(job)
    return [Configuration(members) for members in by_id.values()]


@dataclass
class Comparison:
    """Two configurations of one task and length that differ on one axis only (``axis``), all else equal."""

    axis: str
    a: Configuration
    b: Configuration
    result: stats.Improvement

    @property
    def same(self) -> str:
        """What the two share among the axes that vary: ``cell=rnn, optim=sgd (lr=0.1)``."""
        return ", ".join(f"{k}={v}" if k in axes.FIXED else v for k, v in self.a.first.axes.items() if k != self.axis)


def comparisons(configs: list[Configuration]) -> list[Comparison]:
    """P(A better than B) for every pair of configurations of one data and length that differ on exactly one
    axis (the cell, the gradient setting, the optimiser, any setting the sweep varies), along the cell first,
    then the gradient setting, then the others; pairs in the order of the configurations (sort the jobs first)."""
    scored = [c for c in configs if c.n and c.scored.monitor]
    found: dict[str, list[Comparison]] = {}
    for i, a in enumerate(scored):
        for b in scored[i + 1 :]:
            if (a.facets["data"], a.facets["seq_len"]) != (b.facets["data"], b.facets["seq_len"]):
                continue
            differ = axes.differing(a.first.axes, b.first.axes)
            if len(differ) == 1:
                swap = differ == ["cell"] and cell_key(b.facets["cell"]) < cell_key(a.facets["cell"])  # rnn, lstm, gru
                first, second = (b, a) if swap else (a, b)
                result = stats.improvement(first.scores(), second.scores(), first.scored.higher_is_better)
                found.setdefault(differ[0], []).append(Comparison(differ[0], first, second, result))
    along = sorted(found, key=lambda k: (k not in axes.FIXED, axes.FIXED.index(k) if k in axes.FIXED else 0, k))
    return [pair for k in along for pair in found[k]]


def longest_solved(configs: list[Configuration]) -> dict[tuple, dict[str, Configuration | None]]:
    """Per (data, gradient setting, other settings), per cell: the longest length solved in >= 80 % of seeds."""
    table: dict[tuple, dict[str, Configuration | None]] = {}
    for config in configs:
        row = table.setdefault((str(config.facets["data"]), config.setting, config.first.variant), {})
        cell = str(config.facets["cell"])
        best = row.get(cell)
        solved = config.n and config.solved.k >= SOLVED_BY * config.n
        if solved and (best is None or (config.facets["seq_len"] or 0) > (best.facets["seq_len"] or 0)):
            best = config
        row[cell] = best
    return table
