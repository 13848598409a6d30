"""The cells of the sweep report's Markdown tables (tables.py): numbers to 3 significant digits, intervals, rates."""

from __future__ import annotations

from typing import Any

from runner.report.stats import Rate, Summary


def fmt(value: Any) -> str:
    """A table cell: ``–`` for nothing, an int as it is, a float to 3 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return str(value) if isinstance(value, int) else f"{value:.3g}"


def mean_interval(summary: Summary | None) -> str:
    """``0.0126 [0.0049, 0.0203]``; the mean alone for one seed."""
    if summary is None:
        return "–"
    if summary.low is None:
        return fmt(summary.mean)
    return f"{fmt(summary.mean)} [{fmt(summary.low)}, {fmt(summary.high)}]"


def rate_text(rate: Rate) -> str:
    """``2/3 [0.21, 0.94]``"""
    if not rate.n:
        return "–"
    return f"{rate.k}/{rate.n} [{rate.low:.2f}, {rate.high:.2f}]"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(fmt(c).replace("|", "/") for c in cells) + " |"


def markdown_table(head: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table of ``head`` and ``rows``, every cell written by :func:`fmt`."""
    return "\n".join([_row(head), "|" + " --- |" * len(head), *(_row(r) for r in rows)])
