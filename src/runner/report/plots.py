"""The sweep report's figures (matplotlib, Agg): one set per dataset, because metrics differ by task.

- final metric against sequence length: each seed a dot, the mean a line, its 95 % t interval a band;
- solve rate against sequence length, with Wilson 95 % intervals;
- learning curves: the mean over seeds with the range of the seeds as a band;
- gradient flow: ||dL/dh_t|| against t, the median over seeds with their range, at the first and last probed step;
- divergence rate against the clipping threshold, when a sweep varies it.

One line per cell (and per other setting, when a sweep varies one beside the
facets), one panel per gradient setting. Runs without a final score stay in the
final-metric figure as marked points on the panel's top edge.
"""

from __future__ import annotations

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


def draw(jobs: list[Job], configs: list[Configuration], out: Path) -> list[tuple[str, Path]]:
    """Write every figure into ``out``; (title, file) for each, in reading order."""
    figures = []
    for data in sorted({str(c.facets["data"]) for c in configs}):
        mine = [c for c in configs if str(c.facets["data"]) == data]
        figures.append(
            (f"{data}: final metric against sequence length", final_vs_length(mine, out / f"final_{data}.png"))
        )
        if any(c.scored.target is not None for c in mine):
            figures.append(
                (f"{data}: solve rate against sequence length", solve_rate(mine, out / f"solved_{data}.png"))
            )
        figures.append((f"{data}: learning curves", learning_curves(mine, out / f"curves_{data}.png")))
        if any(j.grad_flow for c in mine for j in c.seeds):
            figures.append((f"{data}: gradient flow", gradient_flow(mine, out / f"grad_flow_{data}.png")))
        if any(c.facets["threshold"] is not None for c in mine) and len({c.setting for c in mine}) > 1:
            figures.append(
                (
                    f"{data}: divergence rate against the clipping threshold",
                    divergence(mine, out / f"divergence_{data}.png"),
                )
            )
    return figures


def line(config: Configuration) -> str:
    """The line a configuration belongs to: its cell, and its other settings when there are any."""
    return " ".join(filter(None, [str(config.facets["cell"]), config.first.variant]))


def _colors(configs: list[Configuration]) -> dict[str, str]:
    others = iter(OTHER_COLORS * 10)
    names = sorted({line(c) for c in configs}, key=lambda name: (cell_key(name.split(" ")[0]), name))
    return {name: CELL_COLORS.get(name) or next(others) for name in names}


def _panels(configs: list[Configuration]) -> list[str]:
    return sorted({c.setting for c in configs})


def _lengths(configs: list[Configuration]) -> list[Any]:
    return sorted({c.facets["seq_len"] for c in configs}, key=lambda n: (n is None, n))


def _scored(configs: list[Configuration]) -> Job:
    """A job that knows the dataset's metric (one that failed at setup does not), for labels and scales."""
    return next((c.scored for c in configs if c.scored.monitor), configs[0].first)


def _label(job: Job, what: str) -> str:
    name, unit = METRICS.get(job.monitor, (job.monitor or "metric", ""))
    better = "higher" if job.higher_is_better else "lower"
    return f"{what} {name}\n({unit + '; ' if unit else ''}{better} is better)"


def _y_scale(ax: Any, job: Job) -> None:
    """Errors and losses span decades: log. Accuracies live in [0, 1]: all of it, so that 0.13 looks like 0.13."""
    if job.higher_is_better:
        ax.set_ylim(0, 1.02)
    else:
        ax.set_yscale("log")


def _length_axis(ax: Any, lengths: list[Any]) -> None:
    lengths = [n for n in lengths if n is not None]
    ax.set_xlabel("data.seq_len (time steps; copy: the delay)")
    if len(lengths) > 1 and lengths[-1] / max(lengths[0], 1) >= 4:
        ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(n) for n in lengths])
    if len(lengths) == 1:
        ax.set_xlim(lengths[0] * 0.75, lengths[0] * 1.25)
    ax.minorticks_off()
    ax.grid(alpha=0.3)


def _mark_stopped(ax: Any, x: float, job: Job, color: str) -> None:
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


def _legend(fig: Any, colors: dict[str, str], extra: list[Line2D], statuses: set[Status | str] = frozenset()) -> None:
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
    across = max(1, int(fig.get_figwidth() / 1.9))  # as many entries side by side as the figure's width holds
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), across), frameon=False)


def _grid(rows: int, cols: int, width: float, height: float, **kwargs: Any):
    return plt.subplots(
        rows, cols, figsize=(width * cols, height * rows + 1.0), squeeze=False, layout="constrained", **kwargs
    )


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _jitter(x: float, i: int, n: int, step: float = 0.05) -> float:
    """The i-th of n points a little apart around x (on either axis scale), so that equal values stay visible."""
    return x * (1 + step * (i - (n - 1) / 2)) if n > 1 else x


def final_vs_length(configs: list[Configuration], path: Path) -> Path:
    colors, panels = _colors(configs), _panels(configs)
    scored = _scored(configs)
    fig, axes = _grid(1, len(panels), 4.6, 3.6, sharey=True)
    for ax, name in zip(axes[0], panels, strict=True):
        panel = [c for c in configs if c.setting == name]
        for i, (key, color) in enumerate(colors.items()):
            mine = [c for c in panel if line(c) == key]
            _finals(ax, mine, lambda c: c.facets["seq_len"], _jitter_of(i, len(colors)), color, _floor(configs))
        _baseline(ax, panel, lambda c: c.facets["seq_len"])
        ax.set_title(f"grad: {name}")
        _length_axis(ax, _lengths(configs))
    axes[0][0].set_ylabel(_label(scored, "final validation"))
    _y_scale(axes[0][0], scored)
    _legend(fig, colors, FINALS_LEGEND, {j.status for c in configs for j in c.jobs})
    return _save(fig, path)


FINALS_LEGEND = [
    Line2D([], [], color="k", marker="o", linestyle="none", markersize=3.5, label="a seed"),
    Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="mean, 95 % t interval"),
    Line2D([], [], label="memoryless baseline", **BASELINE),
]


def _jitter_of(i: int, n: int):
    return lambda x: _jitter(x, i, n)  # the cells side by side


def _floor(configs: list[Configuration]) -> float | None:
    """On a log axis an interval that reaches below zero is drawn down to here; None on a linear one."""
    if _scored(configs).higher_is_better:
        return None
    return min((j.final for c in configs for j in c.seeds if j.final and j.final > 0), default=1e-9) / 3


def _finals(ax: Any, configs: list[Configuration], x_of: Any, shift: Any, color: str, floor: float | None) -> None:
    """Each seed's final metric as a dot (a run without one on the top edge), the means as a line through
    the x of ``x_of``, their intervals as a band (a bar where there is one x)."""
    configs = sorted((c for c in configs if x_of(c) is not None), key=x_of)
    means = [(shift(x_of(c)), c.final) for c in configs if c.final is not None]
    for c in configs:
        for k, j in enumerate(c.seeds + [j for j in c.jobs if j not in c.seeds]):
            at = _jitter(shift(x_of(c)), k, len(c.jobs), 0.012)
            if j.final is not None:
                ax.plot([at], [j.final], "o", color=color, markersize=3.5, alpha=0.8)
            else:
                _mark_stopped(ax, at, j, color)
    if not means:
        return
    ax.plot([x for x, _ in means], [s.mean for _, s in means], color=color, linewidth=1.5, marker="_", markersize=14)
    bands = [(x, s.mean, s.low if floor is None else max(s.low, floor), s.high) for x, s in means if s.low is not None]
    if len(bands) > 1:
        x, _, low, high = zip(*bands, strict=True)
        ax.fill_between(x, low, high, color=color, alpha=BAND, linewidth=0)
    elif bands:
        x, mean, low, high = bands[0]
        ax.errorbar([x], [mean], yerr=[[mean - low], [high - mean]], color=color, capsize=4, alpha=0.6)


def _baseline(ax: Any, configs: list[Configuration], x_of: Any) -> None:
    points = sorted({(x_of(c), c.scored.baseline) for c in configs if c.scored.baseline is not None and x_of(c)})
    if len({b for _, b in points}) == 1:
        ax.axhline(points[0][1], **BASELINE)
    elif points:
        ax.plot(*zip(*points, strict=True), **BASELINE)


def solve_rate(configs: list[Configuration], path: Path) -> Path:
    colors, panels = _colors(configs), _panels(configs)
    fig, axes = _grid(1, len(panels), 4.6, 3.2, sharey=True)
    for ax, name in zip(axes[0], panels, strict=True):
        for i, (key, color) in enumerate(colors.items()):
            mine = sorted(
                (c for c in configs if c.setting == name and line(c) == key and c.n),
                key=lambda c: c.facets["seq_len"] or 0,
            )
            if mine:
                x = [_jitter(c.facets["seq_len"], i, len(colors)) for c in mine]  # the cells' bars apart
                y = np.array([c.solved.value for c in mine])
                err = np.array([[v - c.solved.low, c.solved.high - v] for v, c in zip(y, mine, strict=True)]).T
                ax.errorbar(x, y, yerr=err, color=color, marker="o", capsize=3, linewidth=1.5)
        ax.set_title(f"grad: {name}")
        ax.set_ylim(-0.03, 1.03)
        _length_axis(ax, _lengths(configs))
    axes[0][0].set_ylabel("solve rate: fraction of seeds\nthat beat the target (Wilson 95 %)")
    _legend(fig, colors, [])
    return _save(fig, path)


def _mean_band(curves: list[list[tuple[int, float]]], center: Any = np.mean) -> tuple[list, list, list, list]:
    """Per step that some seed measured: the center over the seeds that have it, and their range."""
    steps = sorted({s for curve in curves for s, _ in curve})
    at = [[v for curve in curves for s, v in curve if s == step] for step in steps]
    return steps, [float(center(v)) for v in at], [min(v) for v in at], [max(v) for v in at]


def learning_curves(configs: list[Configuration], path: Path) -> Path:
    colors, panels, lengths = _colors(configs), _panels(configs), _lengths(configs)
    scored = _scored(configs)
    fig, axes = _grid(len(panels), len(lengths), 3.4, 2.6, sharex=True, sharey=True)
    for row, name in enumerate(panels):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            panel = [c for c in configs if c.setting == name and c.facets["seq_len"] == length]
            for c in panel:
                curves = [j.curve for j in c.seeds if j.curve]
                if curves:
                    steps, mean, low, high = _mean_band(curves)
                    ax.plot(steps, mean, color=colors[line(c)], linewidth=1.3)
                    ax.fill_between(steps, low, high, color=colors[line(c)], alpha=BAND, linewidth=0)
            for baseline in {c.scored.baseline for c in panel if c.scored.baseline is not None}:
                ax.axhline(baseline, **BASELINE)
            ax.set_title(f"grad: {name}, seq_len {length}", fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(panels) - 1:
                ax.set_xlabel("training step")
        axes[row][0].set_ylabel(_label(scored, "validation"), fontsize=8)
    _y_scale(axes[0][0], scored)
    extra = [
        Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="mean over seeds, range of the seeds"),
        Line2D([], [], label="memoryless baseline", **BASELINE),
    ]
    _legend(fig, colors, extra)
    return _save(fig, path)


def gradient_flow(configs: list[Configuration], path: Path) -> Path:
    probed = [c for c in configs if any(j.grad_flow for j in c.seeds)]
    colors, panels, lengths = _colors(probed), _panels(probed), _lengths(probed)
    fig, axes = _grid(len(panels), len(lengths), 3.4, 2.6, sharey=True)
    for row, name in enumerate(panels):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            for c in (c for c in probed if c.setting == name and c.facets["seq_len"] == length):
                flows = [j.grad_flow for j in c.seeds if j.grad_flow]
                for pick, style in ((min, ":"), (max, "-")):  # the first and the last probed step
                    curves = [[(t, n) for t, n in enumerate(flow[pick(flow)], start=1) if n > 0] for flow in flows]
                    if any(curves):
                        t, median, low, high = _mean_band(curves, center=np.median)
                        ax.plot(t, median, color=colors[line(c)], linestyle=style, linewidth=1.3)
                        ax.fill_between(t, low, high, color=colors[line(c)], alpha=BAND / 2, linewidth=0)
            ax.set_yscale("log")
            ax.set_title(f"grad: {name}, seq_len {length}", fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(panels) - 1:
                ax.set_xlabel("time step t of the input sequence")
        axes[row][0].set_ylabel("‖∂L/∂h_t‖ (L2 norm over\nbatch and units, log scale)", fontsize=8)
    styles = [
        Line2D([], [], color="k", linestyle=":", label="first probed step (initial weights)"),
        Line2D([], [], color="k", linestyle="-", label="last probed step"),
        Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="median over seeds, their range"),
    ]
    _legend(fig, colors, styles)
    return _save(fig, path)


def divergence(configs: list[Configuration], path: Path) -> Path:
    """Per handler with a threshold, against it: the divergence rate (top) and the final metric of the runs
    that did not diverge (bottom); without a handler (grad=none) as dashed lines."""
    colors, scored, floor = _colors(configs), _scored(configs), _floor(configs)
    handlers = sorted({str(c.facets["grad"]) for c in configs if c.facets["threshold"] is not None})
    lengths = _lengths(configs)
    fig, axes = _grid(2 * len(lengths), len(handlers), 4.4, 3.0, sharey="row")
    for row, length in enumerate(lengths):
        rates, finals = axes[2 * row], axes[2 * row + 1]
        for col, handler in enumerate(handlers):
            for i, (key, color) in enumerate(colors.items()):
                mine = [c for c in configs if line(c) == key and c.facets["seq_len"] == length and c.n]
                clipped = sorted((c for c in mine if c.facets["grad"] == handler), key=lambda c: c.facets["threshold"])
                shift = _jitter_of(i, len(colors))
                if clipped:
                    y = np.array([c.diverged.value for c in clipped])
                    err = np.array(
                        [[v - c.diverged.low, c.diverged.high - v] for v, c in zip(y, clipped, strict=True)]
                    ).T
                    rates[col].errorbar(
                        [shift(c.facets["threshold"]) for c in clipped],
                        y,
                        yerr=err,
                        color=color,
                        marker="o",
                        capsize=3,
                        linewidth=1.5,
                    )
                    _finals(finals[col], clipped, lambda c: c.facets["threshold"], shift, color, floor)
                for c in (c for c in mine if c.facets["threshold"] is None):  # no handler: one value for all
                    rates[col].axhline(c.diverged.value, color=color, linestyle="--", linewidth=1.2)
                    if c.final is not None:
                        finals[col].axhline(c.final.mean, color=color, linestyle="--", linewidth=1.2)
            _baseline(finals[col], configs, lambda c: c.facets["threshold"])
            rates[col].set_title(f"{handler}, seq_len {length}", fontsize=10)
            finals[col].set_xlabel(f"{handler} threshold (log scale)")
            for ax in (rates[col], finals[col]):
                ax.set_xscale("log")
                ax.grid(alpha=0.3)
            rates[col].set_ylim(-0.03, 1.03)
        rates[0].set_ylabel("divergence rate: seeds with\na non-finite loss (Wilson 95 %)", fontsize=9)
        finals[0].set_ylabel(_label(scored, "final validation"), fontsize=9)
        _y_scale(finals[0], scored)
    none = Line2D([], [], color="k", linestyle="--", label="grad=none (no clipping)")
    _legend(fig, colors, [none, *FINALS_LEGEND], {j.status for c in configs for j in c.jobs})
    return _save(fig, path)
