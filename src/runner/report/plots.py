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

import numpy as np
from matplotlib.lines import Line2D

from runner._run_folder.job import Job
from runner.report import drawing
from runner.report.aggregate import Configuration


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


def final_vs_length(configs: list[Configuration], path: Path) -> Path:
    colors, panels = drawing.colors(configs), drawing.panels(configs)
    scored = drawing.scored(configs)
    fig, axes = drawing.subplots(1, len(panels), 4.6, 3.6, sharey=True)
    for ax, name in zip(axes[0], panels, strict=True):
        panel = [c for c in configs if c.setting == name]
        for i, (key, color) in enumerate(colors.items()):
            mine = [c for c in panel if drawing.line(c) == key]
            drawing.seeds_and_means(
                ax,
                mine,
                lambda c: c.facets["seq_len"],
                drawing.side_by_side(i, len(colors)),
                color,
                drawing.log_floor(configs),
            )
        drawing.baseline_line(ax, panel, lambda c: c.facets["seq_len"])
        ax.set_title(f"grad: {name}")
        drawing.length_axis(ax, drawing.lengths(configs))
    axes[0][0].set_ylabel(drawing.axis_label(scored, "final validation"))
    drawing.y_scale(axes[0][0], scored)
    drawing.legend(fig, colors, drawing.FINALS_LEGEND, {j.status for c in configs for j in c.jobs})
    return drawing.save(fig, path)


def solve_rate(configs: list[Configuration], path: Path) -> Path:
    colors, panels = drawing.colors(configs), drawing.panels(configs)
    fig, axes = drawing.subplots(1, len(panels), 4.6, 3.2, sharey=True)
    for ax, name in zip(axes[0], panels, strict=True):
        for i, (key, color) in enumerate(colors.items()):
            mine = sorted(
                (c for c in configs if c.setting == name and drawing.line(c) == key and c.n),
                key=lambda c: c.facets["seq_len"] or 0,
            )
            if mine:
                x = [drawing.jitter(c.facets["seq_len"], i, len(colors)) for c in mine]  # the cells' bars apart
                y = np.array([c.solved.value for c in mine])
                err = np.array([[v - c.solved.low, c.solved.high - v] for v, c in zip(y, mine, strict=True)]).T
                ax.errorbar(x, y, yerr=err, color=color, marker="o", capsize=3, linewidth=1.5)
        ax.set_title(f"grad: {name}")
        ax.set_ylim(-0.03, 1.03)
        drawing.length_axis(ax, drawing.lengths(configs))
    axes[0][0].set_ylabel("solve rate: fraction of seeds\nthat beat the target (Wilson 95 %)")
    drawing.legend(fig, colors, [])
    return drawing.save(fig, path)


def learning_curves(configs: list[Configuration], path: Path) -> Path:
    colors, panels, lengths = drawing.colors(configs), drawing.panels(configs), drawing.lengths(configs)
    scored = drawing.scored(configs)
    fig, axes = drawing.subplots(len(panels), len(lengths), 3.4, 2.6, sharex=True, sharey=True)
    for row, name in enumerate(panels):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            panel = [c for c in configs if c.setting == name and c.facets["seq_len"] == length]
            for c in panel:
                curves = [j.curve for j in c.seeds if j.curve]
                if curves:
                    steps, mean, low, high = drawing.mean_band(curves)
                    ax.plot(steps, mean, color=colors[drawing.line(c)], linewidth=1.3)
                    ax.fill_between(steps, low, high, color=colors[drawing.line(c)], alpha=drawing.BAND, linewidth=0)
            for baseline in {c.scored.baseline for c in panel if c.scored.baseline is not None}:
                ax.axhline(baseline, **drawing.BASELINE)
            ax.set_title(f"grad: {name}, seq_len {length}", fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(panels) - 1:
                ax.set_xlabel("training step")
        axes[row][0].set_ylabel(drawing.axis_label(scored, "validation"), fontsize=8)
    drawing.y_scale(axes[0][0], scored)
    extra = [
        Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="mean over seeds, range of the seeds"),
        Line2D([], [], label="memoryless baseline", **drawing.BASELINE),
    ]
    drawing.legend(fig, colors, extra)
    return drawing.save(fig, path)


def gradient_flow(configs: list[Configuration], path: Path) -> Path:
    probed = [c for c in configs if any(j.grad_flow for j in c.seeds)]
    colors, panels, lengths = drawing.colors(probed), drawing.panels(probed), drawing.lengths(probed)
    fig, axes = drawing.subplots(len(panels), len(lengths), 3.4, 2.6, sharey=True)
    for row, name in enumerate(panels):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            for c in (c for c in probed if c.setting == name and c.facets["seq_len"] == length):
                flows = [j.grad_flow for j in c.seeds if j.grad_flow]
                for pick, style in ((min, ":"), (max, "-")):  # the first and the last probed step
                    curves = [[(t, n) for t, n in enumerate(flow[pick(flow)], start=1) if n > 0] for flow in flows]
                    if any(curves):
                        t, median, low, high = drawing.mean_band(curves, center=np.median)
                        ax.plot(t, median, color=colors[drawing.line(c)], linestyle=style, linewidth=1.3)
                        ax.fill_between(
                            t, low, high, color=colors[drawing.line(c)], alpha=drawing.BAND / 2, linewidth=0
                        )
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
    drawing.legend(fig, colors, styles)
    return drawing.save(fig, path)


def divergence(configs: list[Configuration], path: Path) -> Path:
    """Per handler with a threshold, against it: the divergence rate (top) and the final metric of the runs
    that did not diverge (bottom); without a handler (grad=none) as dashed lines."""
    colors, scored, floor = drawing.colors(configs), drawing.scored(configs), drawing.log_floor(configs)
    handlers = sorted({str(c.facets["grad"]) for c in configs if c.facets["threshold"] is not None})
    lengths = drawing.lengths(configs)
    fig, axes = drawing.subplots(2 * len(lengths), len(handlers), 4.4, 3.0, sharey="row")
    for row, length in enumerate(lengths):
        rates, finals = axes[2 * row], axes[2 * row + 1]
        for col, handler in enumerate(handlers):
            for i, (key, color) in enumerate(colors.items()):
                mine = [c for c in configs if drawing.line(c) == key and c.facets["seq_len"] == length and c.n]
                clipped = sorted((c for c in mine if c.facets["grad"] == handler), key=lambda c: c.facets["threshold"])
                shift = drawing.side_by_side(i, len(colors))
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
                    drawing.seeds_and_means(finals[col], clipped, lambda c: c.facets["threshold"], shift, color, floor)
                for c in (c for c in mine if c.facets["threshold"] is None):  # no handler: one value for all
                    rates[col].axhline(c.diverged.value, color=color, linestyle="--", linewidth=1.2)
                    if c.final is not None:
                        finals[col].axhline(c.final.mean, color=color, linestyle="--", linewidth=1.2)
            drawing.baseline_line(finals[col], configs, lambda c: c.facets["threshold"])
            rates[col].set_title(f"{handler}, seq_len {length}", fontsize=10)
            finals[col].set_xlabel(f"{handler} threshold (log scale)")
            for ax in (rates[col], finals[col]):
                ax.set_xscale("log")
                ax.grid(alpha=0.3)
            rates[col].set_ylim(-0.03, 1.03)
        rates[0].set_ylabel("divergence rate: seeds with\na non-finite loss (Wilson 95 %)", fontsize=9)
        finals[0].set_ylabel(drawing.axis_label(scored, "final validation"), fontsize=9)
        drawing.y_scale(finals[0], scored)
    none = Line2D([], [], color="k", linestyle="--", label="grad=none (no clipping)")
    drawing.legend(fig, colors, [none, *drawing.FINALS_LEGEND], {j.status for c in configs for j in c.jobs})
    return drawing.save(fig, path)
