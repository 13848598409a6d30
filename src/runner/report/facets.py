"""What tells the jobs of a comparison apart: cell, data, seq_len, gradient handler, threshold.

W&B tags and the sweep report name runs by these, from a run's option
choices and its composed config, so that both say the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from runner._config.naming import option

FACETS = ("cell", "data", "seq_len", "grad", "threshold")
CELL_ORDER = {"rnn": 0, "lstm": 1, "gru": 2}  # the study's order; other cells follow by name
# override keys whose effect the facets show (grad_setting picks grad and its threshold together,
# initialisations a cell and its settings, which the cell's name gives: runner._config.naming)
SHOWN = ("cell", "data", "data.seq_len", "data.bptt", "grad", "grad_setting", "initialisations")


def facets(choices: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The facets of one run.

    ``seq_len`` is ``data.seq_len`` (the synthetic tasks) or ``data.bptt``
    (text); ``threshold`` is the first setting of the gradient handler
    (``max_norm`` of clip_norm, ``clip_value`` of clip_value; ``None`` for none).
    """
    data = config.get("data") or {}
    grad = config.get("grad") or {}
    return {
        "cell": choices.get("cell"),
        "data": choices.get("data"),
        "seq_len": data.get("seq_len", data.get("bptt")),
        "grad": choices.get("grad"),
        "threshold": next(iter(grad.values()), None),
    }


def cell_key(cell: Any) -> tuple[int, str]:
    """Sorts cells in the study's order: rnn, lstm, gru, then the others by name (a cell's variants by theirs)."""
    return CELL_ORDER.get(option(str(cell)), len(CELL_ORDER)), str(cell)


def setting(described: dict[str, Any]) -> str:
    """The gradient setting in words: ``none``, ``clip_norm, threshold 1``."""
    threshold = described["threshold"]
    return str(described["grad"]) if threshold is None else f"{described['grad']}, threshold {threshold:g}"


def overrides(label: str) -> list[str]:
    """The overrides of a replicate label (commas inside a value, as in ``a=[1,2]``, stay in it)."""
    return [item for item in re.split(r",(?=[~+]*[\w.@/-]+=)", label) if item]


def hidden_overrides(label: str, config: dict[str, Any]) -> list[str]:
    """The overrides of a replicate label that the facets do not show (``optim.lr=0.1``)."""
    threshold = next((f"grad.{k}" for k in (config.get("grad") or {})), None)
    return [o for o in overrides(label) if o.lstrip("~").partition("=")[0] not in (*SHOWN, threshold)]
