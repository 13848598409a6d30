"""The sweep report's figures (matplotlib, Agg): one set per dataset, because metrics differ by task.

- final metric against sequence length: one panel per gradient setting, one line per cell;
- learning curves: the validation metric against training steps, one panel per (setting, length);
- gradient flow: ||dL/dh_t|| against t, at the first and the last probed step.

Jobs that did not end ``ok`` stay in every figure as marked points on the panel's top edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

if TYPE_CHECKING:
    from runner.report import Job

CELL_COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
OTHER_COLORS = ["tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
STATUS_MARKERS = {"diverged": "x", "failed": "v", "unfinished": "o"}
METRICS = {"mse": ("MSE", "squared error"), "accuracy": ("accuracy", "fraction correct"),  # (name, unit)
           "loss": ("loss", "nats per step"), "ppl": ("perplexity", "")}
BASELINE = dict(color="0.45", linestyle="--", linewidth=1.2)


def draw(jobs: list[Job], out: Path) -> list[tuple[str, Path]]:
    """Write every figure into ``out``; (title, file) for each, in reading order."""
    figures = []
    for data in sorted({str(j.facets["data"]) for j in jobs}):
        subset = [j for j in jobs if str(j.facets["data"]) == data]
        figures.append((f"{data}: final metric against sequence length", final_vs_length(subset, out / f"final_{data}.png")))
        figures.append((f"{data}: learning curves", learning_curves(subset, out / f"curves_{data}.png")))
        if any(j.grad_flow for j in subset):
            figures.append((f"{data}: gradient flow", gradient_flow(subset, out / f"grad_flow_{data}.png")))
    return figures


def setting(job: Job) -> str:
    threshold = job.facets["threshold"]
    return str(job.facets["grad"]) if threshold is None else f"{job.facets['grad']}, threshold {threshold:g}"


def _colors(jobs: list[Job]) -> dict[str, str]:
    from runner.report import CELL_ORDER

    others = iter(OTHER_COLORS * 10)
    cells = sorted({str(j.facets["cell"]) for j in jobs}, key=lambda c: (CELL_ORDER.get(c, len(CELL_ORDER)), c))
    return {c: CELL_COLORS.get(c) or next(others) for c in cells}


def _scored(jobs: list[Job]) -> Job:
    """A job that knows the dataset's metric (one that failed at setup does not), for labels and scales."""
    return next((j for j in jobs if j.metric), jobs[0])


def _label(job: Job, what: str) -> str:
    name, unit = METRICS.get(job.metric, (job.metric or "metric", ""))
    better = "higher" if job.higher_is_better else "lower"
    return f"{what} {name}\n({unit + '; ' if unit else ''}{better} is better)"


def _y_scale(ax: Any, job: Job) -> None:
    """Errors and losses span decades: log. Accuracies live in [0, 1]: all of it, so that 0.13 looks like 0.13."""
    if job.higher_is_better:
        ax.set_ylim(0, 1.02)
    else:
        ax.set_yscale("log")


def _mark_stopped(ax: Any, x: float, job: Job, color: str) -> None:
    """A job without a final score: a marker on the panel's top edge, above where it stopped."""
    ax.plot([x], [0.97], marker=STATUS_MARKERS.get(job.status, "o"), color=color, markersize=9,
            markerfacecolor="none" if job.status == "unfinished" else color, linestyle="none",
            transform=ax.get_xaxis_transform(), clip_on=False)


def _legend(fig: Any, colors: dict[str, str], jobs: list[Job], extra: list[Line2D]) -> None:
    handles = [Line2D([], [], color=c, marker="o", label=cell) for cell, c in colors.items()]
    handles += extra
    for status in sorted({j.status for j in jobs} - {"ok"}):
        handles.append(Line2D([], [], color="k", marker=STATUS_MARKERS.get(status, "o"), linestyle="none",
                              markerfacecolor="none" if status == "unfinished" else "k", label=f"{status} (top edge)"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)


def _grid(rows: int, cols: int, width: float, height: float, **kwargs: Any):
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.9), squeeze=False,
                             layout="constrained", **kwargs)
    return fig, axes


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def final_vs_length(jobs: list[Job], path: Path) -> Path:
    settings = sorted({setting(j) for j in jobs})
    colors = _colors(jobs)
    fig, axes = _grid(1, len(settings), 4.6, 3.6, sharey=True)
    lengths = sorted({j.facets["seq_len"] for j in jobs if j.facets["seq_len"] is not None})
    for ax, name in zip(axes[0], settings):
        panel = [j for j in jobs if setting(j) == name]
        for cell, color in colors.items():
            mine = [j for j in panel if j.facets["cell"] == cell]
            scored = sorted((j.facets["seq_len"], j.final) for j in mine if j.final is not None)
            if scored:
                ax.plot(*zip(*scored), color=color, marker="o", linewidth=1.5)
            for j in mine:
                if j.final is None:
                    _mark_stopped(ax, j.facets["seq_len"], j, color)
        baselines = sorted({(j.facets["seq_len"], j.baseline) for j in panel if j.baseline is not None})
        if baselines:
            ax.plot(*zip(*baselines), **BASELINE)
        ax.set_title(f"grad: {name}")
        ax.set_xlabel("data.seq_len (time steps; copy: the delay)")
        if len(lengths) > 1 and lengths[-1] / max(lengths[0], 1) >= 4:
            ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(_label(_scored(jobs), "final validation"))
    _y_scale(axes[0][0], _scored(jobs))
    _legend(fig, colors, jobs, [Line2D([], [], label="memoryless baseline", **BASELINE)])
    return _save(fig, path)


def learning_curves(jobs: list[Job], path: Path) -> Path:
    settings = sorted({setting(j) for j in jobs})
    lengths = sorted({j.facets["seq_len"] for j in jobs}, key=lambda n: (n is None, n))
    colors = _colors(jobs)
    fig, axes = _grid(len(settings), len(lengths), 3.4, 2.6, sharex=True, sharey=True)
    for row, name in enumerate(settings):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            panel = [j for j in jobs if setting(j) == name and j.facets["seq_len"] == length]
            for j in panel:
                color = colors[str(j.facets["cell"])]
                if j.curve:
                    ax.plot(*zip(*j.curve), color=color, linewidth=1.3)
                if j.status != "ok":
                    _mark_stopped(ax, j.curve[-1][0] if j.curve else 0, j, color)
            for baseline in {j.baseline for j in panel if j.baseline is not None}:
                ax.axhline(baseline, **BASELINE)
            ax.set_title(f"grad: {name}, seq_len {length}", fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(settings) - 1:
                ax.set_xlabel("training step")
        axes[row][0].set_ylabel(_label(_scored(jobs), "validation"), fontsize=8)
    _y_scale(axes[0][0], _scored(jobs))
    _legend(fig, colors, jobs, [Line2D([], [], label="memoryless baseline", **BASELINE)])
    return _save(fig, path)


def gradient_flow(jobs: list[Job], path: Path) -> Path:
    probed = [j for j in jobs if j.grad_flow]
    settings = sorted({setting(j) for j in probed})
    lengths = sorted({j.facets["seq_len"] for j in probed}, key=lambda n: (n is None, n))
    colors = _colors(probed)
    fig, axes = _grid(len(settings), len(lengths), 3.4, 2.6, sharey=True)
    for row, name in enumerate(settings):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            for j in (j for j in probed if setting(j) == name and j.facets["seq_len"] == length):
                color = colors[str(j.facets["cell"])]
                steps = sorted(j.grad_flow)
                for step, style in ((steps[0], ":"), (steps[-1], "-")):
                    points = [(t, n) for t, n in enumerate(j.grad_flow[step], start=1) if n > 0]
                    if points:
                        ax.plot(*zip(*points), color=color, linestyle=style, linewidth=1.3)
            ax.set_yscale("log")
            ax.set_title(f"grad: {name}, seq_len {length}", fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(settings) - 1:
                ax.set_xlabel("time step t of the input sequence")
        axes[row][0].set_ylabel("‖∂L/∂h_t‖ (L2 norm over\nbatch and units, log scale)", fontsize=8)
    styles = [Line2D([], [], color="k", linestyle=":", label="first probed step (initial weights)"),
              Line2D([], [], color="k", linestyle="-", label="last probed step")]
    _legend(fig, colors, probed, styles)
    return _save(fig, path)
