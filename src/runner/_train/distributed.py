"""What changes when one run spans several processes (Lightning DDP, ``trainer=ddp``).

``data.batch_size`` stays the global batch: every process takes its own
contiguous part of each batch (sequences, or language-model streams), so a run
is the same experiment on one device or many. Only the process of global rank
0 writes the run's files.

:func:`rank_and_size`, :func:`device`, :func:`part` and :func:`check_batch` are
public API, for data plugins: :mod:`runner` re-exports them, and a change to
them is a change of ``runner.PLUGIN_API``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported where it is used: --help starts without it
    import torch


def rank_and_size(trainer: Any) -> tuple[int, int]:
    """(this process's global rank, the number of processes); (0, 1) outside a trainer."""
    if trainer is None:
        return 0, 1
    return trainer.global_rank, trainer.world_size


def device(trainer: Any) -> torch.device:
    """The device this process trains on (the CPU outside a trainer).

    A data module that puts its tensors there once saves a copy per batch; on a
    GPU a copy from pageable host memory makes the host wait for the device.
    """
    import torch

    return torch.device("cpu") if trainer is None else trainer.strategy.root_device


def part(n: int, rank: int, size: int) -> slice:
    """Process ``rank``'s contiguous share of ``n`` items: the shares cover them once, in order."""
    return slice(n * rank // size, n * (rank + 1) // size)


def check_batch(batch_size: int, size: int) -> None:
    """Equal parts, so that DDP's mean of the processes' gradients is the global batch's gradient."""
    if batch_size % size:
        raise ValueError(f"data.batch_size {batch_size} does not split evenly over {size} processes")


def is_writer() -> bool:
    """Whether this process writes the run's files: global rank 0, or the only process.

    Lightning knows the global rank once a Trainer exists; before that it reads
    it from the environment, where the first process of another node of a
    multi-node launch is told apart only by NODE_RANK. A run that failed before
    Lightning was imported asks the launcher's variables, without importing it.
    """
    rank_zero = sys.modules.get("lightning.fabric.utilities.rank_zero")
    if rank_zero is not None:
        rank = rank_zero.rank_zero_only.rank
    else:
        rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))
    return rank == 0 and os.environ.get("NODE_RANK", "0") == "0"


def check_launch(trainer: Any, multirun: bool) -> None:
    """Refuse, before any process starts, the launches that cannot work here (``multirun``: in a sweep's job)."""
    from lightning.pytorch.strategies.launchers import (
        _MultiProcessingLauncher,
        _SubprocessScriptLauncher,
    )

    launcher = trainer.strategy.launcher
    if isinstance(launcher, _MultiProcessingLauncher):
        # spawned processes get a pickled copy of the model: the run's outcome (divergence,
        # throughput, the files) would stay in them
        raise ValueError(
            "DDP by spawning or forking (ddp_spawn, ddp_fork, ddp_notebook) is not supported: use trainer.strategy=ddp"
        )
    if (
        isinstance(launcher, _SubprocessScriptLauncher)
        and trainer.world_size > 1
        and not trainer.strategy.cluster_environment.creates_processes_externally
        and multirun
    ):
        # Lightning starts the other processes by re-running the command line, which in a
        # multirun would start the whole sweep again in each of them
        raise ValueError(
            "DDP inside a multirun needs processes started by the cluster: use "
            "hydra/launcher=slurm with hydra.launcher.tasks_per_node=<devices>, "
            "or run each DDP job on its own (docs/scaling-out.md)"
        )
