"""The facets of a run for W&B's tags (cell, data, seq_len, grad and its settings), and the report's columns.

W&B tags a run by :func:`facets`, from its option choices and composed config
(src/runner/_train/wandb_run.py). The sweep report names what varies by
runner.report.axes, in the config's own names; its tables show the columns of
:data:`FACETS`, each job's in :attr:`runner._run_folder.job.Job.facets`.
"""

from __future__ import annotations

from typing import Any

from runner._config.naming import option

FACETS = ("cell", "data", "seq_len", "grad")  # the report's first columns; what else varies is "other settings"
CELL_ORDER = {"rnn": 0, "lstm": 1, "gru": 2}  # the study's order; other cells follow by name


def facets(choices: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The facets of one run, for its W&B tags.

    ``seq_len`` is ``data.seq_len`` (the synthetic tasks) or ``data.bptt``
    (text); the gradient handler's settings go by their own names, as an
    override sets them (``grad.max_norm`` of clip_norm, ``grad.eta`` of noise;
    none for ``grad=none``), so a handler is never described as clipping.
    """
    data = config.get("data") or {}
    grad = config.get("grad") or {}
    return {
        "cell": choices.get("cell"),
        "data": choices.get("data"),
        "seq_len": data.get("seq_len", data.get("bptt")),
        "grad": choices.get("grad"),
        **{f"grad.{name}": value for name, value in grad.items()},
    }


def cell_key(cell: Any) -> tuple[int, str]:
    """Sorts cells in the study's order: rnn, lstm, gru, then the others by name (a cell's variants by theirs)."""
    return CELL_ORDER.get(option(str(cell)), len(CELL_ORDER)), str(cell)
