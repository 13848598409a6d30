"""What a comparison of two configurations says happened, in words (tables.py shows it beside P).

A comparison's P(A better than B) and its interval (runner.report.stats) say how sure a difference
is; the verdict says first what a reader must know before any difference: that both runs diverged in
every seed (more seeds would not help), that neither beats the memoryless baseline (the better of two
failures is no result), which one diverged in every seed, and whether the final metric's 95 % t
intervals overlap.
"""

from __future__ import annotations

from runner.report.aggregate import Comparison, Configuration


def verdict(pair: Comparison) -> str:
    """What happened, in words: ``both diverged in every seed``, ``neither beats the baseline``, ``gru better``,
    ``not resolved with 3 and 3 seeds``; where the final metric's t intervals overlap, it says so."""
    a, b, r = pair.a, pair.b, pair.result
    name = {id(a): axis_value(pair, a), id(b): axis_value(pair, b)}
    if a.diverged.k == a.n and b.diverged.k == b.n:
        return "both diverged in every seed"
    if not a.beats_baseline() and not b.beats_baseline():
        return "neither beats the baseline" + _all_diverged(pair, name)
    if r.low is None:
        return "no interval below 2 seeds a side"
    overlap = _overlap(a, b)
    if r.resolved:
        winner = a if r.p > 0.5 else b
        text = f"{name[id(winner)]} better" + _all_diverged(pair, name)
        if not winner.beats_baseline():
            text += ", though it does not beat the baseline"
        return text + (", yet their 95 % intervals of the final metric overlap" if overlap else "")
    return f"not resolved with {a.n} and {b.n} seeds" + ("; their 95 % intervals overlap" if overlap else "")


def _all_diverged(pair: Comparison, name: dict[int, str]) -> str:
    """`` (gru diverged in every seed)``, `` (rnn blew up in every seed)`` (some seeds may have diverged)."""
    said = []
    for c in (pair.a, pair.b):
        if c.n and c.diverged.k == c.n:
            said.append(f"{name[id(c)]} diverged in every seed")
        elif c.n and c.blown_up.k and c.diverged.k + c.blown_up.k == c.n:
            said.append(f"{name[id(c)]} blew up in every seed")
    return f" ({'; '.join(said)})" if said else ""


def _overlap(a: Configuration, b: Configuration) -> bool:
    """The t intervals of the two final metrics share some values (False where either has none)."""
    s, t = a.final, b.final
    if s is None or t is None or s.low is None or t.low is None:
        return False
    return s.low <= t.high and t.low <= s.high


def axis_value(pair: Comparison, c: Configuration) -> str:
    """The configuration's value on the axis compared: ``gru``, ``clip_norm (max_norm=1)``, ``optim=adam``."""
    return str(c.first.axes.get(pair.axis, "-"))
