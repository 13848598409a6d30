"""What the sweep report's figures (plots.py) share: colours, panels, axes, legends, seeds as dots and means.

A line is a cell (and its other settings, when a sweep varies one beside the
facets); a panel is a gradient setting. The metric's name, unit and direction
label the y axis; its direction picks the scale.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from runner._run_folder.job import Job
from runner._run_folder.run_dir import Status
from runner.report.aggregate import Configuration
from runner.report.facets import cell_key

CELL_COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
OTHER_COLORS = ["tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
STATUS_MARKERS = {Status.diverged: "x", Status.failed: "v", Status.unfinished: "o"}
METRICS = {
    "mse": ("MSE", "squared error"),
    "accuracy": ("accuracy", "fraction correct"),  # (name, unit)
    "loss": ("loss", "nats per step"),
    "ppl": ("perplexity", ""),
}
BASELINE = {"color": "0.45", "linestyle": "--", "linewidth": 1.2}
BAND = 0.18  # opacity of an interval band
FINALS_LEGEND = [  # the legend of seeds_and_means: its interval is always a band, as drawn
    Line2D([], [], color="k", marker="o", linestyle="none", markersize=3.5, label="a seed"),
    Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="mean, its 95 % t interval (band)"),
    Line2D([], [], label="memoryless baseline", **BASELINE),
]


def line(config: Configuration) -> str:
    """The line a configuration belongs to: its cell, and its other settings when there are any."""
    return " ".join(filter(None, [str(config.facets["cell"]), config.first.variant]))


def colors(configs: list[Configuration]) -> dict[str, str]:
    others = iter(OTHER_COLORS * 10)
    names = sorted({line(c) for c in configs}, key=lambda name: (cell_key(name.split(" ")[0]), name))
    return {name: CELL_COLORS.get(name) or next(others) for name in names}


def panels(configs: list[Configuration]) -> list[str]:
    return sorted({c.setting for c in configs})


def lengths(configs: list[Configuration]) -> list[Any]:
    """The sequence lengths of the configurations, ``[None]`` for a dataset without one."""
    return sorted({c.facets["seq_len"] for c in configs}, key=lambda n: (n is None, n))


def length_x(config: Configuration) -> float:
    """Where a configuration stands on a length axis: its length, or 1 for a dataset without one (one place)."""
    return config.facets["seq_len"] if config.facets["seq_len"] is not None else 1


def where(name: str | None, length: Any, configs: list[Configuration]) -> str:
    """A panel's title: ``grad: none, data.seq_len 20``; the length left out where the dataset has none; without
    a gradient setting, the length alone (``every run`` where there is none)."""
    key = next((c.facets["length_key"] for c in configs if c.facets["length_key"]), "seq_len")
    at = f"{key} {length}" if length is not None else ""
    return ", ".join(filter(None, [name and f"grad: {name}", at])) or "every run"


def scored(configs: list[Configuration]) -> Job:
    """A job that knows the dataset's metric (one that failed at setup does not), for labels and scales."""
    return next((c.scored for c in configs if c.scored.monitor), configs[0].first)


def axis_label(job: Job, what: str) -> str:
    name, unit = METRICS.get(job.monitor, (job.monitor or "metric", ""))
    better = "higher" if job.higher_is_better else "lower"
    return f"{what} {name}\n({unit + '; ' if unit else ''}{better} is better)"


def y_scale(ax: Any, job: Job) -> None:
    """Errors and losses span decades: log. Accuracies live in [0, 1]: all of it, so that 0.13 looks like 0.13."""
    if job.higher_is_better:
        ax.set_ylim(0, 1.02)
    else:
        ax.set_yscale("log")


def length_axis(ax: Any, configs: list[Configuration]) -> None:
    """The x axis of the lengths, named by the key that sets them (``data.seq_len``, ``data.bptt``)."""
    found = [n for n in lengths(configs) if n is not None]
    key = next((c.facets["length_key"] for c in configs if c.facets["length_key"]), None)
    if not found:  # a dataset without a length: every run at one place
        ax.set_xlabel("every run (the dataset sets no data.seq_len)")
        ax.set_xticks([1], ["–"])
        found = [1]
    else:
        ax.set_xlabel(f"{key} (time steps)")
        if len(found) > 1 and found[-1] / max(found[0], 1) >= 4:
            ax.set_xscale("log", base=2)
        ax.set_xticks(found, [str(n) for n in found])
    if len(found) == 1:
        ax.set_xlim(found[0] * 0.75, found[0] * 1.25)
    ax.minorticks_off()
    ax.grid(alpha=0.3)


def empty(ax: Any, why: str) -> None:
    """Say on a panel with nothing to draw why it is empty."""
    ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3", wrap=True)


def mark_stopped(ax: Any, x: float, job: Job, color: str) -> None:
    """A job without a final score: a marker on the panel's top edge, above where it stopped."""
    ax.plot(
        [x],
        [0.97],
        marker=STATUS_MARKERS.get(job.status, "o"),
        color=color,
        markersize=8,
        markerfacecolor="none" if job.status == Status.unfinished else color,
        linestyle="none",
        transform=ax.get_xaxis_transform(),
        clip_on=False,
    )


def legend(fig: Any, colors: dict[str, str], extra: list[Line2D], statuses: set[Status | str] = frozenset()) -> None:
    handles = [Line2D([], [], color=c, marker="o", label=name) for name, c in colors.items()] + extra
    for status in sorted(statuses - {Status.ok}):
        handles.append(
            Line2D(
                [],
                [],
                color="k",
                marker=STATUS_MARKERS.get(status, "o"),
                linestyle="none",
                markerfacecolor="none" if status == Status.unfinished else "k",
                label=f"{status} (top edge)",
            )
        )
    # as many entries side by side as the figure's width holds: a marker and about 0.075 in a character
    entry = max(1.9, 0.6 + 0.075 * max((len(h.get_label()) for h in handles), default=0))
    across = max(1, int(fig.get_figwidth() / entry))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), across), frameon=False)


def subplots(rows: int, cols: int, width: float, height: float, **kwargs: Any) -> tuple[Any, Any]:
    """A figure of rows x cols panels, each width x height inches, with room below for the legend."""
    return plt.subplots(
        rows, cols, figsize=(width * cols, height * rows + 1.0), squeeze=False, layout="constrained", **kwargs
    )


def save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")  # a long legend entry widens the image, never cut
    plt.close(fig)
    return path


def jitter(x: float, i: int, n: int, step: float = 0.05) -> float:
    """The i-th of n points a little apart around x > 0 (on either axis scale), so that equal values stay visible."""
    return x * (1 + step * (i - (n - 1) / 2)) if n > 1 else x


def side_by_side(i: int, n: int) -> Callable[[float], float]:
    """The shift of the i-th of n lines, so that the cells' points at one x stand side by side."""
    return lambda x: jitter(x, i, n)


def log_floor(configs: list[Configuration]) -> float | None:
    """On a log axis an interval that reaches below zero is drawn down to here; None on a linear one."""
    if scored(configs).higher_is_better:
        return None
    return min((j.final for c in configs for j in c.seeds if j.final and j.final > 0), default=1e-9) / 3


def seeds_and_means(
    ax: Any,
    configs: list[Configuration],
    x_of: Any,
    shift: Any,
    color: str,
    floor: float | None,
    apart: Callable[[float], tuple[float, float]] | None = None,
) -> None:
    """Each seed's final metric as a dot (a run without one on the top edge), the means as a line through
    the x of ``x_of`` and their intervals as a band along it; or, with ``apart`` (x -> the band's left and
    right ends), each x on its own: its mean a dash, its interval a band that wide (one x, or categories)."""
    configs = sorted(configs, key=x_of)
    means = [(shift(x_of(c)), c.final) for c in configs if c.final is not None]
    if len(means) == 1 and apart is None:
        apart = _dash  # one x: a band as wide as the mean's dash
    for c in configs:
        seeds = c.seeds + [j for j in c.jobs if j not in c.seeds]
        for k, j in enumerate(seeds):
            at = shift(x_of(c))
            at = jitter(at, k, len(seeds), 0.012) if apart is None else at + (k - (len(seeds) - 1) / 2) * 0.03
            if j.final is not None:
                ax.plot([at], [j.final], "o", color=color, markersize=3.5, alpha=0.8)
            else:
                mark_stopped(ax, at, j, color)
    bands = [(x, s.mean, s.low if floor is None else max(s.low, floor), s.high) for x, s in means if s.low is not None]
    if apart is None:
        if means:
            x, summary = zip(*means, strict=True)
            ax.plot(x, [s.mean for s in summary], color=color, linewidth=1.5, marker="_", markersize=14)
        if bands:
            x, _, low, high = zip(*bands, strict=True)
            ax.fill_between(x, low, high, color=color, alpha=BAND, linewidth=0)
        return
    for x, s in means:
        ax.plot(apart(x), [s.mean, s.mean], color=color, linewidth=2)
    for x, _, low, high in bands:
        ax.fill_between(apart(x), [low, low], [high, high], color=color, alpha=BAND, linewidth=0)


def _dash(x: float) -> tuple[float, float]:
    return x * 0.96, x * 1.04


def baseline_line(ax: Any, configs: list[Configuration], x_of: Any) -> None:
    points = sorted({(x_of(c), c.scored.baseline) for c in configs if c.scored.baseline is not None})
    if len({b for _, b in points}) == 1:
        ax.axhline(points[0][1], **BASELINE)
    elif points:
        ax.plot(*zip(*points, strict=True), **BASELINE)


def mean_band(curves: list[list[tuple[int, float]]], center: Any = np.mean) -> tuple[list, list, list, list]:
    """Per step that some seed measured: the center over the seeds that have it, and their range."""
    steps = sorted({s for curve in curves for s, _ in curve})
    at = [[v for curve in curves for s, v in curve if s == step] for step in steps]
    return steps, [float(center(v)) for v in at], [min(v) for v in at], [max(v) for v in at]
