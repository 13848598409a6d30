"""The sweep report's tables, in Markdown: configurations over seeds, lengths solved, comparisons, jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner._run_folder.job import BLOWN_UP, Job
from runner._run_folder.run_dir import Status
from runner.report.aggregate import SOLVED_BY, Comparison, Configuration, longest_solved
from runner.report.facets import FACETS, cell_key
from runner.report.markdown import fmt, markdown_table, mean_interval, rate_text
from runner.report.verdict import axis_value, verdict

QUANTILE = 99  # of the gradient norms before the handler


def _cells(configs: list[Configuration]) -> list[str]:
    return sorted({str(c.facets["cell"]) for c in configs}, key=cell_key)


def _others(configs: list[Configuration]) -> bool:
    return any(c.first.variant for c in configs)


def overview(configs: list[Configuration]) -> str:
    """Final metric by cell: one row per (data, gradient setting, length), the cells side by side."""
    cells = _cells(configs)
    rows: dict[tuple, dict[str, Configuration]] = {}
    for c in configs:
        key = (c.facets["data"], c.setting, c.first.variant, c.facets["seq_len"])
        rows.setdefault(key, {})[str(c.facets["cell"])] = c
    head = ["data", "grad", *(["other settings"] if _others(configs) else []), "seq_len", "metric (baseline)", *cells]
    out = []
    for (data, name, rest, length), by_cell in rows.items():
        scored = next(iter(by_cell.values())).scored
        metric = f"{scored.monitor} ({fmt(scored.baseline)})" if scored.monitor else "–"
        entries = [_entry(by_cell[cell]) if cell in by_cell else "" for cell in cells]
        out.append([data, name, *([rest] if _others(configs) else []), length, metric, *entries])
    return markdown_table(head, out)


def _entry(c: Configuration) -> str:
    """``0.0126 [0.0049, 0.0203], solved 3/3`` (``1 diverged`` where any did)."""
    text = [mean_interval(c.final), f"solved {c.solved.k}/{c.n}"]
    if c.diverged.k:
        text.append(f"{c.diverged.k} diverged")
    if c.blown_up.k:
        text.append(f"{c.blown_up.k} blown up")
    return ", ".join(text) if c.n else "no outcome"


def configurations(configs: list[Configuration]) -> str:
    """One row per configuration: the final metric over its seeds, its solve and divergence rates."""
    blown = any(c.blown_up.k for c in configs)
    head = [
        *FACETS,
        *(["other settings"] if _others(configs) else []),
        "seeds",
        "metric",
        "mean ± sd",
        "95 % CI (t)",
        "median",
        "range",
        "solved (95 % CI)",
        "diverged (95 % CI)",
        *([f"blown up (> {BLOWN_UP}× baseline)"] if blown else []),
        "failed",
        "replicate",
    ]
    rows = []
    for c in configs:
        f, s = c.facets, c.final
        spread = f"{fmt(s.mean)} ± {fmt(s.std)}" if s and s.std is not None else fmt(s and s.mean)
        ci = f"[{fmt(s.low)}, {fmt(s.high)}]" if s and s.low is not None else "–"
        span = f"{fmt(s.min)} – {fmt(s.max)}" if s else "–"
        lost = ", ".join(f"{c.count(st)} {st}" for st in (Status.failed, Status.unfinished) if c.count(st)) or "0"
        rows.append(
            [
                *(f[facet] for facet in FACETS),
                *([c.first.variant] if _others(configs) else []),
                c.n,
                c.scored.monitor and f"val {c.scored.monitor}",
                spread,
                ci,
                s and s.median,
                span,
                rate_text(c.solved),
                rate_text(c.diverged),
                *([f"{c.blown_up.k}/{c.n}"] if blown else []),
                lost,
                f"`{c.first.replicate}`",
            ]
        )
    return markdown_table(head, rows)


def solved_lengths(configs: list[Configuration]) -> str:
    """Per data, gradient setting and cell: the longest length solved in at least 80 % of the seeds."""
    cells = _cells(configs)
    head = ["data", "grad", *(["other settings"] if _others(configs) else []), *cells]
    rows = []
    for (data, name, rest), by_cell in longest_solved(configs).items():
        entries = []
        for cell in cells:
            best = by_cell.get(cell)
            entries.append(
                f"{best.facets['seq_len']} ({best.solved.k}/{best.n})" if best else ("none" if cell in by_cell else "")
            )
        rows.append([data, name, *([rest] if _others(configs) else []), *entries])
    return markdown_table(head, rows) + f"\n\n(solved: at least {SOLVED_BY:.0%} of the seeds reach the target)"


def comparisons(pairs: list[Comparison]) -> str:
    """P(A better than B) with its bootstrap interval, the Mann-Whitney p-value and the verdict, along each axis."""
    head = [
        "data",
        "seq_len",
        "compared",
        "A",
        "B",
        "same",
        "seeds",
        "P(A better than B)",
        "95 % CI (bootstrap)",
        "Mann-Whitney p",
        "verdict",
    ]
    rows = []
    for pair in pairs:
        a, b, r = pair.a, pair.b, pair.result
        ci = f"[{r.low:.2f}, {r.high:.2f}]" if r.low is not None else "–"
        rows.append(
            [
                a.facets["data"],
                a.facets["seq_len"],
                pair.axis,
                axis_value(pair, a),
                axis_value(pair, b),
                pair.same or "–",
                f"{a.n} / {b.n}",
                f"{r.p:.2f}",
                ci,
                f"{r.p_value:.2g}",
                verdict(pair),
            ]
        )
    return markdown_table(head, rows)


def verdicts(pairs: list[Comparison]) -> str:
    """The comparisons at a glance: one row per (data, what the pair shares, length), one column per pair."""
    names = list(dict.fromkeys(f"{axis_value(p, p.a)} vs {axis_value(p, p.b)}" for p in pairs))
    rows: dict[tuple, dict[str, str]] = {}
    for pair in pairs:
        r = pair.result
        ci = f" [{r.low:.2f}, {r.high:.2f}]" if r.low is not None else ""
        key = (pair.a.facets["data"], pair.same or "–", pair.a.facets["seq_len"])
        name = f"{axis_value(pair, pair.a)} vs {axis_value(pair, pair.b)}"
        rows.setdefault(key, {})[name] = f"{r.p:.2f}{ci}: {verdict(pair)}"
    head = ["data", "same", "seq_len", *(f"P({n.replace(' vs ', ' better than ')})" for n in names)]
    return markdown_table(head, [[*key, *(row.get(n, "") for n in names)] for key, row in rows.items()])


def clipping(configs: list[Configuration]) -> bool:
    """Some configuration's handler clips (runner._run_folder.job.Job.clips): the table gets a clip rate."""
    return any(c.clips for c in configs)


def gradient_norms(configs: list[Configuration]) -> str:
    """Per configuration: the divergence rate, the final metric of the runs that did not diverge, the
    gradient norms before the handler (99th percentile and maximum over the logged steps of all seeds) and,
    where a handler clips, the clip rate (the fraction of all steps it changed, mean over seeds)."""
    clips = clipping(configs)
    head = [
        *FACETS,
        *(["other settings"] if _others(configs) else []),
        "seeds",
        "diverged (95 % CI)",
        "final, not diverged: mean [95 % CI]",
        "solved",
        f"‖g‖ p{QUANTILE}",
        "‖g‖ max",
        "logged steps",
        *(["clip rate (min – max)"] if clips else []),
    ]
    rows = []
    for c in configs:
        if not len(c.norms):
            continue
        f, clip = c.facets, c.clip_rate
        clipped = "–"  # it never changed the gradient
        if c.clips is False:
            clipped = "no clip: it lengthened the gradient"
        elif c.clips and clip is not None:
            clipped = f"{fmt(clip.mean)} ({fmt(clip.min)} – {fmt(clip.max)})"
        rows.append(
            [
                *(f[facet] for facet in FACETS),
                *([c.first.variant] if _others(configs) else []),
                c.n,
                rate_text(c.diverged),
                mean_interval(c.final),
                f"{c.solved.k}/{c.n}",
                _quantile(c.norms),
                _quantile(c.norms, 100),
                len(c.norms),
                *([clipped] if clips else []),
            ]
        )
    return markdown_table(head, rows) if rows else ""


def _quantile(values: np.ndarray, q: float = QUANTILE) -> float:
    """A value that was measured (no interpolation), so that an overflowed norm stays inf, never NaN."""
    return float(np.percentile(values, q, method="inverted_cdf"))


def jobs(every: list[Job], root: Path) -> str:
    """One row per job, failures and divergences included."""
    others = any(j.variant for j in every)
    head = [
        *FACETS,
        *(["other settings"] if others else []),
        "seed",
        "status",
        "metric",
        "final",
        "best",
        "baseline",
        "target",
        "steps to target",
        "replicate",
        "job",
    ]
    rows = []
    for job in every:
        f = job.facets
        reached = "not reached" if job.reached_at is None and job.target is not None else job.reached_at
        rows.append(
            [
                *(f[facet] for facet in FACETS),
                *([job.variant] if others else []),
                job.seed,
                job.status_text + (f", blown up (> {BLOWN_UP}× the baseline)" if job.blown_up else ""),
                job.monitor and f"val {job.monitor}",
                job.final,
                job.best,
                job.baseline,
                job.target,
                reached,
                f"`{job.replicate}`",
                _link(job.path, root),
            ]
        )
    return markdown_table(head, rows)


def _link(path: Path, root: Path) -> str:
    """A link to the run folder, named by its Hydra job number when it has one (``3_cell=gru,...``)."""
    number, sep, _ = path.name.partition("_")
    try:
        target = path.resolve().relative_to(root.resolve())
    except ValueError:
        target = path.resolve()
    return f"[{number if sep and number.isdigit() else path.name}](<{target}>)"
