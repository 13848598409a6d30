"""Replicates grouped into configurations, and what the report says about them.

A configuration's seeds are its jobs that ended ``ok`` or ``diverged``
(outcomes of training); failed and unfinished jobs are counted apart. The
final metric is summarised over the runs that did not diverge; a diverged run
counts as not solved, and as the worst score when two configurations are
compared.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from runner._run_folder.job import Job
from runner._run_folder.run_dir import FINISHED, Status
from runner.report import stats
from runner.report.facets import cell_key, setting

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
        return setting(self.facets)

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


def comparable(config: Configuration) -> tuple:
    """What two configurations must share to be compared: data, length, gradient setting, other settings."""
    f = config.facets
    return str(f["data"]), f["seq_len"], config.setting, config.first.variant


@dataclass
class Comparison:
    a: Configuration
    b: Configuration
    result: stats.Improvement


def comparisons(configs: list[Configuration]) -> list[Comparison]:
    """P(A better than B) for every pair of cells that share data, length, gradient setting and the rest,
    in the order of the configurations (sort the jobs first)."""
    groups: dict[tuple, list[Configuration]] = {}
    for config in configs:
        if config.n and config.scored.monitor:
            groups.setdefault(comparable(config), []).append(config)
    out = []
    for members in groups.values():
        members = sorted(members, key=lambda c: cell_key(c.facets["cell"]))
        for a, b in itertools.combinations(members, 2):
            if a.facets["cell"] != b.facets["cell"]:
                out.append(Comparison(a, b, stats.improvement(a.scores(), b.scores(), a.scored.higher_is_better)))
    return out


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
