"""Runs named by what differs: the overrides that tell a job apart from the others it is compared with.

The sweep log, W&B's run names and ``runner.status`` name a job by its
overrides whose value is not the same in every job of the sweep, so that
``cell.nonlinearity=relu`` (the IRNN of Le, Jaitly & Hinton 2015) and
``cell.nonlinearity=tanh`` read apart, while a setting every job shares is
left out. Without a comparison (a single run, a sweep with no plan) every
override counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

UNNAMED = ("hydra", "experiment")  # where a job is written, and the preset a whole sweep starts from


def key(override: str) -> str:
    """The dotted key of an override: ``+cell.forget_bias=1`` -> ``cell.forget_bias``."""
    return override.lstrip("+~").partition("=")[0]


def differing(job: Sequence[str], jobs: Sequence[Sequence[str]] | None = None) -> list[str]:
    """``job``'s overrides whose value differs between ``jobs`` (or that some of them lack)."""
    named = [o for o in job if key(o).split(".")[0] not in UNNAMED]
    if not jobs:
        return named
    values: dict[str, set[str]] = {}
    present: dict[str, int] = {}
    for other in jobs:
        for override in other:
            values.setdefault(key(override), set()).add(override.lstrip("+~"))
            present[key(override)] = present.get(key(override), 0) + 1
    return [o for o in named if len(values.get(key(o), ())) > 1 or present.get(key(o), 0) < len(jobs)]


def name(job: Sequence[str], jobs: Sequence[Sequence[str]] | None = None, default: str = "defaults") -> str:
    """The job's name among ``jobs``: its differing overrides joined by commas, else ``default``."""
    return ",".join(differing(job, jobs)) or default


def option_names(jobs: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """Each job's option of one group (its name, its resolved node) named with the settings that tell it apart.

    A setting counts where it differs between the jobs of the same option:
    ``rnn (nonlinearity=relu, recurrent_init=identity)`` and ``rnn
    (nonlinearity=tanh, recurrent_init=default)`` for the IRNN and the tanh
    RNN of one report, however each was asked for; ``lstm`` alone where
    every LSTM of it is the same.
    """
    flat = [(option, _flatten(node)) for option, node in jobs]
    names = []
    for option, settings in flat:
        peers = [other for name, other in flat if name == option]
        differ = [k for k in settings if len({repr(p.get(k)) for p in peers}) > 1]
        shown = ", ".join(f"{k}={settings[k]}" for k in differ)
        names.append(f"{option} ({shown})" if shown else str(option))
    return names


def option(name: str) -> str:
    """The option of a name :func:`option_names` gave: ``rnn (nonlinearity=relu)`` -> ``rnn``."""
    return str(name).split(" (")[0]


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix.rstrip("."): node} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_flatten(value, f"{prefix}{key}."))
    return out
