"""What tells the jobs of a comparison apart: cell, data, seq_len, gradient handler, threshold.

W&B tags and the sweep report name runs by these, from a run's option
choices and its composed config, so that both say the same thing.
"""

from __future__ import annotations

from typing import Any

FACETS = ("cell", "data", "seq_len", "grad", "threshold")


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
