"""How many threads a job's torch computes with.

The ``threads`` setting, else ``OMP_NUM_THREADS``, else torch's default.

A job of a sweep that runs several jobs at once (``hydra/launcher=parallel``,
Hydra's joblib launcher) shares the machine's cores with the others. Joblib
gives each of its worker processes ``OMP_NUM_THREADS`` = the cores // the jobs
at once (at least 1; ``n_jobs=-1``: one job per core, so 1), unless the
launching shell set the variable, which it passes on. The job sets torch to
that count explicitly, because a worker that already ran a job has its torch
started, and torch reads the variable only when it starts; the same holds for
an ``OMP_NUM_THREADS`` an experiment sets through ``hydra.job.env_set``.
So, in order:

1. ``threads=N`` (src/runner/_config/conf/config.yaml): N threads, under any launcher;
2. ``OMP_NUM_THREADS`` in the job's environment: the shell's, the
   experiment's ``hydra.job.env_set``, or joblib's share of the cores;
3. neither: torch's own default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

VARIABLE = "OMP_NUM_THREADS"


def chosen(threads: int | None, environ: Mapping[str, str] = os.environ) -> int | None:
    """The thread count the rules above give; None: leave torch's default."""
    if threads is not None:
        return threads
    value = environ.get(VARIABLE, "")
    return int(value) if value.isdigit() and int(value) > 0 else None  # OpenMP's lists ("4,2") are left to torch


def apply(threads: int | None) -> int:
    """Set torch's intra-op threads by the rules above; returns the count torch computes with."""
    import torch

    count = chosen(threads)
    if count is not None:
        torch.set_num_threads(count)
    return torch.get_num_threads()
