"""The sweep report's figures (matplotlib, Agg): one set per dataset, because metrics differ by task.

- final metric against sequence length: each seed a dot, the mean a line, its 95 % t interval a band;
- solve rate against sequence length, with Wilson 95 % intervals;
- learning curves: the mean over seeds with the range of the seeds as a band; for a task scored by
  accuracy, the validation loss as well, against the memoryless baseline's loss (the copy task's
  10 ln 8 / (T + 20), as Arjovsky, Shah & Bengio 2016 draw it in their Figure 1);
- gradient flow: ||dL/dh_t|| against t, the median over seeds with their range, at the first and last probed step;
- divergence rate and final metric by gradient setting, when a sweep varies it: one place on the x
  axis per setting (``none``, ``clip_norm (max_norm=1)``, ...), the lines' points side by side in it.

One line per cell (and per other setting, when a sweep varies one beside the
facets), one panel per gradient setting. Runs without a final score stay in the
final-metric figure as marked points on the panel's top edge; a panel with
nothing to draw says why. A dataset without a sequence length puts every run
at one place on the length axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from runner._run_folder.job import BLOWN_UP, Job
from runner.report import axes, drawing
from runner.report.aggregate import Configuration

LOSS_LABEL = "validation loss\n(cross-entropy; lower is better)"  # drawn for tasks scored by accuracy: classes
CUT = 10 * BLOWN_UP  # the learning curves' y axis stops this many times above the baseline (lower is better)


def draw(jobs: list[Job], configs: list[Configuration], out: Path) -> list[tuple[str, Path]]:
    """Write every figure into ``out``; (title, file) for each, in reading order."""
    figures = []
    for data in sorted({str(c.facets["data"]) for c in configs}):
        mine = [c for c in configs if str(c.facets["data"]) == data]
        figures.append((f"{data}: final metric{against(mine)}", final_vs_length(mine, out / f"final_{data}.png")))
        if any(c.scored.target is not None for c in mine):
            figures.append((f"{data}: solve rate{against(mine)}", solve_rate(mine, out / f"solved_{data}.png")))
        figures.append((f"{data}: learning curves", learning_curves(mine, out / f"curves_{data}.png")))
        if drawing.scored(mine).higher_is_better and any(j.loss_curve for c in mine for j in c.seeds):
            path = out / f"loss_{data}.png"
            figures.append((f"{data}: validation loss against the baseline", learning_curves(mine, path, loss=True)))
        if any(j.grad_flow for c in mine for j in c.seeds):
            figures.append((f"{data}: gradient flow", gradient_flow(mine, out / f"grad_flow_{data}.png")))
        if len({c.setting for c in mine}) > 1:
            figures.append(
                (f"{data}: divergence rate by gradient setting", divergence(mine, out / f"divergence_{data}.png"))
            )
    return figures


def against(configs: list[Configuration]) -> str:
    """`` against data.seq_len`` where the dataset has a length, else nothing."""
    key = next((c.facets["length_key"] for c in configs if c.facets["length_key"]), None)
    return f" against {key}" if key else ""


def final_vs_length(configs: list[Configuration], path: Path) -> Path:
    colors, panels = drawing.colors(configs), drawing.panels(configs)
    scored = drawing.scored(configs)
    fig, axes = drawing.subplots(1, len(panels), 4.6, 3.6, sharey=True)
    for ax, name in zip(axes[0], panels, strict=True):
        panel = [c for c in configs if c.setting == name]
        for i, (key, color) in enumerate(colors.items()):
            mine = [c for c in panel if drawing.line(c) == key]
            drawing.seeds_and_means(
                ax, mine, drawing.length_x, drawing.side_by_side(i, len(colors)), color, drawing.log_floor(configs)
            )
        drawing.baseline_line(ax, panel, drawing.length_x)
        ax.set_title(drawing.where(name, None, configs))
        drawing.length_axis(ax, configs)
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
                key=drawing.length_x,
            )
            if mine:
                x = [drawing.jitter(drawing.length_x(c), i, len(colors)) for c in mine]  # the cells' bars apart
                y = np.array([c.solved.value for c in mine])
                err = np.array([[v - c.solved.low, c.solved.high - v] for v, c in zip(y, mine, strict=True)]).T
                ax.errorbar(x, y, yerr=err, color=color, marker="o", capsize=3, linewidth=1.5)
        ax.set_title(drawing.where(name, None, configs))
        ax.set_ylim(-0.03, 1.03)
        drawing.length_axis(ax, configs)
    axes[0][0].set_ylabel("solve rate: fraction of seeds\nthat beat the target (Wilson 95 %)")
    drawing.legend(fig, colors, [])
    return drawing.save(fig, path)


def learning_curves(configs: list[Configuration], path: Path, loss: bool = False) -> Path:
    """The monitored metric at every validation; with ``loss``, the validation loss, on a linear axis from 0."""
    colors, panels, lengths = drawing.colors(configs), drawing.panels(configs), drawing.lengths(configs)
    scored = drawing.scored(configs)
    fig, axes = drawing.subplots(len(panels), len(lengths), 3.4, 2.6, sharex=True, sharey=True)
    for row, name in enumerate(panels):
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            panel = [c for c in configs if c.setting == name and c.facets["seq_len"] == length]
            drawn = False
            for c in panel:
                color = colors[drawing.line(c)]
                # the mean over the seeds that ran to the end: one that diverged would end it early, in a jump
                curves = [_curve(j, loss) for j in c.seeds if _curve(j, loss) and j.status != "diverged"]
                if curves:
                    steps, mean, low, high = drawing.mean_band(curves)
                    ax.plot(steps, mean, color=color, linewidth=1.3)
                    ax.fill_between(steps, low, high, color=color, alpha=drawing.BAND, linewidth=0)
                for curve in (_curve(j, loss) for j in c.seeds if _curve(j, loss) and j.status == "diverged"):
                    ax.plot(*zip(*curve, strict=True), color=color, linewidth=0.9, linestyle=":")
                    ax.plot([curve[-1][0]], [curve[-1][1]], marker="x", color=color, linestyle="none")
                drawn = drawn or any(_curve(j, loss) for j in c.seeds)
            baselines = {c.scored.loss_baseline if loss else c.scored.baseline for c in panel}
            for baseline in baselines - {None}:
                ax.axhline(baseline, **drawing.BASELINE)
            if not drawn or (panel and all(j.status == "diverged" for c in panel for j in c.seeds)):
                drawing.empty(ax, _no_curve(panel, drawn))
            ax.set_title(drawing.where(name, length, configs).replace(", ", "\n", 1), fontsize=9)
            ax.grid(alpha=0.3)
            if row == len(panels) - 1:
                ax.set_xlabel("training step")
        label = LOSS_LABEL if loss else drawing.axis_label(scored, "validation")
        axes[row][0].set_ylabel(label, fontsize=8)
    if loss:
        axes[0][0].set_ylim(bottom=0)
    else:
        drawing.y_scale(axes[0][0], scored)
        _cut_blown_up(axes, configs)
    extra = [
        Line2D([], [], color="0.6", linewidth=6, alpha=0.5, label="mean over the seeds that ran on, their range"),
        Line2D([], [], color="k", linestyle=":", marker="x", label="a seed that diverged (to its last validation)"),
        Line2D([], [], label="memoryless baseline", **drawing.BASELINE),
    ]
    drawing.legend(fig, colors, extra)
    return drawing.save(fig, path)


def _curve(job: Job, loss: bool) -> list[tuple[int, float]]:
    return job.loss_curve if loss else job.curve


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
            ax.set_title(drawing.where(name, length, probed).replace(", ", "\n", 1), fontsize=9)
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


def _cut_blown_up(axes: Any, configs: list[Configuration]) -> None:
    """Curves that blew up (far above the baseline, lower being better) would squash all the others into one
    line at the bottom: the shared y axis stops at ``CUT`` times the baseline, and the panels they leave say so."""
    scored = drawing.scored(configs)
    baselines = [c.scored.baseline for c in configs if c.scored.baseline]
    if scored.higher_is_better or not baselines:
        return
    top = CUT * max(baselines)
    if axes[0][0].get_ylim()[1] <= top:
        return
    axes[0][0].set_ylim(top=top)
    for ax in axes.flat:
        if any(max(line.get_ydata(), default=0) > top for line in ax.get_lines()):
            ax.text(
                0.5,
                0.97,
                f"↑ cut at {CUT}× the baseline",
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=7,
                color="0.3",
            )


def _no_curve(panel: list[Configuration], drawn: bool) -> str:
    """Why a panel of learning curves is empty, or holds only runs that diverged."""
    if not panel:
        return "not in this sweep"
    seeds = [j for c in panel for j in c.seeds]
    if seeds and all(j.status == "diverged" for j in seeds):
        steps = sorted(j.record.get("diverged_at_step") for j in seeds if j.record.get("diverged_at_step") is not None)
        at = f" (at step {steps[0]}{f' to {steps[-1]}' if steps[-1] != steps[0] else ''})" if steps else ""
        return f"every seed diverged{at}" + ("" if drawn else "\nbefore its first finite validation: no curve")
    return "no curve: no run logged a validation"


def divergence(configs: list[Configuration], path: Path) -> Path:
    """Per gradient setting, one place on the x axis each: the divergence rate (top) and the final metric of
    the runs that did not diverge (bottom), the lines' points side by side within each place."""
    colors, scored, floor = drawing.colors(configs), drawing.scored(configs), drawing.log_floor(configs)
    order = {c.setting: axes.order(c.first, "grad") for c in configs}
    settings = sorted(order, key=lambda s: (order[s], s))
    lengths = drawing.lengths(configs)
    width = max(4.4, 0.55 * len(settings) * max(1, len(colors)) ** 0.5 + 1.6)
    fig, grid = drawing.subplots(2, len(lengths), width, 3.0, sharey="row", sharex=True)
    for col, length in enumerate(lengths):
        rates, finals = grid[0][col], grid[1][col]
        for i, (key, color) in enumerate(colors.items()):
            mine = [c for c in configs if drawing.line(c) == key and c.facets["seq_len"] == length and c.n]
            mine.sort(key=lambda c: settings.index(c.setting))
            offset = 0.6 * ((i + 0.5) / len(colors) - 0.5)  # the lines side by side within one setting's place
            half = 0.25 / len(colors)
            if mine:
                x = [settings.index(c.setting) + offset for c in mine]
                y = np.array([c.diverged.value for c in mine])
                err = np.array([[v - c.diverged.low, c.diverged.high - v] for v, c in zip(y, mine, strict=True)]).T
                rates.errorbar(x, y, yerr=err, color=color, marker="o", capsize=3, linestyle="none")
                drawing.seeds_and_means(
                    finals,
                    mine,
                    lambda c: settings.index(c.setting),
                    lambda x, offset=offset: x + offset,
                    color,
                    floor,
                    apart=lambda x, half=half: (x - half, x + half),
                )
        drawing.baseline_line(finals, [c for c in configs if c.facets["seq_len"] == length], lambda c: 0)
        rates.set_title(drawing.where(None, length, configs), fontsize=10)
        rates.set_ylim(-0.03, 1.03)
        long = max(len(s) for s in settings) > 8
        finals.set_xticks(range(len(settings)), settings, rotation=25 if long else 0, ha="right" if long else "center")
        finals.set_xlim(-0.6, len(settings) - 0.4)
        finals.set_xlabel("gradient setting (grad)")
        for ax in (rates, finals):
            ax.grid(alpha=0.3, axis="y")
            for edge in range(1, len(settings)):  # a setting's place is the space between two lines
                ax.axvline(edge - 0.5, color="0.85", linewidth=0.8)
    grid[0][0].set_ylabel("divergence rate: seeds with\na non-finite loss (Wilson 95 %)", fontsize=9)
    grid[1][0].set_ylabel(drawing.axis_label(scored, "final validation"), fontsize=9)
    drawing.y_scale(grid[1][0], scored)
    drawing.legend(fig, colors, drawing.FINALS_LEGEND, {j.status for c in configs for j in c.jobs})
    return drawing.save(fig, path)
