"""Replicates: jobs that differ only in their seeds are runs of one configuration.

A configuration is named by ``replicate``, a short hash of the experiment's
key without the seeds (:func:`runner._config.identity.replicate_key`), and by
``replicate_label``, the job's command-line and sweep overrides without the
seeds and the settings that are not the experiment:
``cell=rnn,data.seq_len=20,grad=none``. ``results.json``, the W&B run
(config and tag) and ``python -m runner.report`` all use these, so the
report's rows and W&B's "group by replicate" agree.
"""

from __future__ import annotations

import hashlib
import json

from runner._config import identity
from runner._config.job import JobConfig

NOT_A_SETTING = ("experiment", "hydra")  # overrides that name a preset or Hydra's own options


def describe(job: JobConfig) -> dict[str, str]:
    """``{"replicate": id, "replicate_label": label}`` of a job."""
    return {"replicate": replicate_id(job), "replicate_label": label(job)}


def replicate_id(job: JobConfig) -> str:
    """8 hex digits of the SHA-1 of the experiment's key without the seeds."""
    key = identity.replicate_key(job.config, job.choices, job.seed_followers)
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


def label(job: JobConfig) -> str:
    """The overrides that make this configuration, sorted; the cell, data and grad choices when there are none."""
    skipped = [identity.SEED, *job.seed_followers, *identity.NOT_THE_EXPERIMENT]
    kept = []
    for override in job.overrides:
        key = override.lstrip("+~").partition("=")[0]
        if key.split(".")[0] not in NOT_A_SETTING and not identity.under(key, skipped):
            kept.append(override.lstrip("+"))
    return ",".join(sorted(kept)) or ",".join(f"{k}={job.choices.get(k)}" for k in ("cell", "data", "grad"))
