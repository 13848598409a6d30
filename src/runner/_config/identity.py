"""What makes two runs the same experiment: one definition for resume, the skip rule, replicates and W&B.

A run is defined by the option chosen in each plugin group (:data:`GROUPS`:
the values alone do not tell two options apart) and by its resolved config,
less the settings that say where a run is written, logged, checkpointed or
computed and how often it reports (:data:`NOT_THE_EXPERIMENT`): none of
them changes what is trained or how it is scored. From that one key:

- the **skip rule**: a finished run is skipped when the key is unchanged;
- **resume**: a checkpoint continues when the key is unchanged but for how
  long it trains (:data:`LENGTH`: a finished run may be given more steps);
- the **replicate**: the key less the seed and every key that follows it
  (``data.seed`` is ``${seed}`` unless set on its own) names the
  configuration whose seeds a report pools;
- **W&B** records the replicate as a config value and a tag.
"""

from __future__ import annotations

from typing import Any

GROUPS = ("cell", "data", "grad", "optim")  # the options whose names the config values alone do not tell apart
SEED = "seed"
NOT_THE_EXPERIMENT = (
    "logger",
    "probe",
    "checkpoint",
    "resume",
    "tune_malloc",  # records and measurements
    "trainer.log_every_n_steps",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "threads",
    "share_cores",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.num_nodes",
    "trainer.strategy",  # where it runs
    "trainer.deterministic",  # the same computation, reproducible bit for bit or not
    "model.cuda_graphs",
    "model.check_finite_every",  # the same computation, launched another way
)
LENGTH = ("trainer.max_steps", "trainer.max_epochs")  # how long it trains: a resumed run may train longer


def experiment(config: dict[str, Any], choices: dict[str, Any]) -> dict[str, Any]:
    """The key of the experiment a resolved config and its group choices define, seed included."""
    return {"choices": {k: choices.get(k) for k in GROUPS}, "config": without(config, NOT_THE_EXPERIMENT)}


def run_key(config: dict[str, Any], choices: dict[str, Any]) -> dict[str, Any]:
    """The experiment less its length: what a checkpoint must match to be continued."""
    key = experiment(config, choices)
    return {**key, "config": without(key["config"], LENGTH)}


def replicate_key(config: dict[str, Any], choices: dict[str, Any], followers: list[str]) -> dict[str, Any]:
    """The experiment less the seed and ``followers`` (the keys whose value is ``${seed}``)."""
    key = experiment(config, choices)
    return {**key, "config": without(key["config"], [SEED, *followers])}


def seed_followers(unresolved: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys of an unresolved config whose value is the interpolation ``${seed}``."""
    found = []
    for key, value in unresolved.items():
        if value == "${" + SEED + "}":
            found.append(prefix + key)
        elif isinstance(value, dict):
            found += seed_followers(value, f"{prefix}{key}.")
    return found


def under(key: str, prefixes: list[str] | tuple[str, ...]) -> bool:
    """Whether a dotted key is one of ``prefixes`` or lies below one."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def without(node: Any, dropped: list[str] | tuple[str, ...], prefix: str = "") -> Any:
    """A nested dict less the dotted keys ``dropped`` (and everything below them)."""
    if not isinstance(node, dict):
        return node
    return {k: without(v, dropped, f"{prefix}{k}.") for k, v in node.items() if not under(prefix + k, dropped)}


def differences(now: dict[str, Any], before: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: before, now`` for every dotted key whose value differs between two keys."""
    out = []
    for k in sorted(set(now) | set(before)):
        a, b = now.get(k), before.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {b!r} in the folder, {a!r} now")
    return out
