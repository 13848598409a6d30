"""What varies between the configurations of a report, in the config's own names: the axes of comparison.

A configuration is what it ran (:func:`runner._config.identity.replicate_key`): the option of each
group and the resolved config, less the seeds and the settings that do not change the experiment.
The settings whose value is not the same in every job of a report are grouped into axes:

- an option group (``cell``, ``grad``, ``optim``: :data:`runner._config.identity.GROUPS`, so a group
  added there is an axis at once) with its settings, named ``clip_norm (max_norm=1)`` (``optim=sgd
  (lr=0.1)`` outside the report's own columns, cell, data and grad): the option and
  those of its settings that differ between the jobs of the same option (or that the job's overrides
  set, where other jobs differ in it); ``none`` for ``grad=none``, whatever fields another handler has;
- any other setting on its own, ``trainer.max_steps=30``, ``-`` where a job lacks it;
- the length, ``data.seq_len`` (``data.bptt`` for text), apart from its data: the figures' x axis.

Nothing is named that the config does not name: a handler's field is called by its field name.
"""

from __future__ import annotations

from typing import Any

from runner._config.identity import GROUPS
from runner._run_folder.job import Job

LENGTHS = ("data.seq_len", "data.bptt")  # the sequence length, where a dataset has one
TASK = "data"  # what a configuration is scored on: configurations of two tasks are never compared
FIXED = ("cell", "data", "grad")  # the report's own columns; every other axis is an "other setting"


def flat(key: dict[str, Any]) -> dict[str, Any]:
    """A replicate key as dotted settings: ``{"cell": "rnn", "cell.hidden_size": 8, "trainer.max_steps": 30}``."""
    out = {group: choice for group, choice in key.get("choices", {}).items() if choice is not None}
    out.update(_flatten(key.get("config", {})))
    return out


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {prefix.rstrip("."): node}
    out: dict[str, Any] = {}
    for k, v in node.items():
        out.update(_flatten(v, f"{prefix}{k}."))
    return out


def axis(key: str) -> str:
    """The axis a dotted setting belongs to: its group (``grad.max_norm`` -> ``grad``), else itself."""
    head = key.split(".")[0]
    return head if head in GROUPS and key not in LENGTHS else key


def set_by(label: str) -> set[str]:
    """The dotted keys that a replicate label's overrides set (``grad.max_norm=1`` -> ``grad.max_norm``)."""
    return {item.lstrip("+~").partition("=")[0] for item in label.split(",") if "=" in item}


def describe(jobs: list[Job]) -> list[dict[str, str]]:
    """Per job, each axis that varies among ``jobs`` (and cell, data, grad, always) named in words."""
    settings = [flat(j.experiment) for j in jobs]
    keys = list(dict.fromkeys(k for s in settings for k in s))
    varying = {k for k in keys if len({repr(s.get(k)) for s in settings}) > 1}
    out = []
    for job, mine in zip(jobs, settings, strict=True):
        named: dict[str, str] = {}
        for group in (*FIXED, *sorted({axis(k) for k in varying} - set(FIXED))):
            if group in GROUPS:
                if group in mine or group in FIXED:
                    given = set_by(job.label) & varying  # a setting typed alike for all tells none apart
                    option = _option(group, mine, settings, given)
                    named[group] = option if group in FIXED else f"{group}={option}"  # the columns name the first
            elif group in varying and group not in LENGTHS:
                named[group] = f"{group}={mine.get(group, '-')}"
        out.append(named)
    return out


def _option(group: str, mine: dict[str, Any], every: list[dict[str, Any]], given: set[str]) -> str:
    """``clip_norm (max_norm=1)``: the option and its settings that differ among its peers or were given."""
    choice = mine.get(group)
    peers = [s for s in every if s.get(group) == choice]
    shown = []
    for key, value in mine.items():
        if axis(key) != group or key == group or key in LENGTHS:
            continue
        if key in given or len({repr(p.get(key)) for p in peers}) > 1:
            shown.append(f"{key.removeprefix(group + '.')}={_text(value)}")
    return f"{choice} ({', '.join(shown)})" if shown else str(choice)


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def length(job: Job) -> tuple[str, Any] | None:
    """(``data.seq_len``, 20): the job's sequence length and its key; None where its dataset has none."""
    settings = flat(job.experiment)
    return next(((k, settings[k]) for k in LENGTHS if settings.get(k) is not None), None)


def order(job: Job, group: str) -> tuple:
    """Sorts the values of one axis: by option, then by each setting, numbers as numbers."""
    settings = flat(job.experiment)
    return tuple(_sortable(v) for k, v in settings.items() if axis(k) == group and k not in LENGTHS)


def _sortable(value: Any) -> tuple[int, float, str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def differing(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """The axes on which two jobs' descriptions differ."""
    return [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
