"""What this CPU can run: its cores, its vector extensions, and whether oneDNN runs a fused LSTM in bfloat16.

oneDNN builds its bfloat16 LSTM only on CPUs with AVX-512 (the BF16 or AMX
extensions, or AVX-512 core emulating them); on an AVX2-only CPU it stops with
"could not create a primitive descriptor". The tanh RNN and the GRU run there.
"""

from __future__ import annotations

import functools
import os
import platform
from importlib.metadata import version
from pathlib import Path

ONEDNN_REFUSED = "could not create a primitive descriptor"
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # this process's cgroup, as a container sees it


@functools.cache
def _processors() -> list[dict[str, str]]:
    """Each processor's fields in /proc/cpuinfo (none where there is no such file)."""
    try:
        blocks = Path("/proc/cpuinfo").read_text().strip().split("\n\n")
    except OSError:
        return []
    return [
        {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in block.splitlines())}
        for block in blocks
    ]


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none)."""
    return next(iter(_processors()), {})


def cores() -> int:
    """The physical cores this process may run on: its CPU affinity, within a container's CPU quota.

    Physical, the hyper-threads of a core counted once, as torch's default
    thread count is: two threads on the two hyper-threads of one core contend
    for its vector units.
    """
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    physical = {
        # no core id (ARM's /proc/cpuinfo): each processor is a core of its own
        (fields.get("physical id"), fields.get("core id", fields["processor"]))
        for fields in _processors()
        if fields.get("processor", "").isdigit() and int(fields["processor"]) in allowed
    }
    return min(len(physical) or len(allowed), quota() or len(allowed))


def quota(cpu_max: Path = CPU_MAX) -> int | None:
    """The CPUs a cgroup v2 quota allows (``cpu.max``: quota and period), rounded up; None: no quota."""
    try:
        limit, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(1, -(-int(limit) // int(period)))


def vector_extensions() -> list[str]:
    """The SIMD extensions the CPU reports (``avx2``, ``avx512f``, ``amx_bf16`` ...), from /proc/cpuinfo."""
    flags = _cpuinfo().get("flags", "").split()
    return sorted(f for f in set(flags) if f.startswith(("avx", "amx", "sse4", "fma")))


def name() -> str:
    """The CPU's model name and its AVX family extensions, as figures name their machine."""
    model = _cpuinfo().get("model name") or platform.processor() or platform.machine()
    avx = [f for f in vector_extensions() if f.startswith(("avx", "amx"))]
    return f"{model} ({', '.join(avx) or 'no AVX'})"


def machine() -> str:
    """The CPU with its vector extensions, its core count and the torch version: what a measurement ran on.

    The extensions matter: torch picks its kernels by them (oneDNN's AVX2 and
    AVX-512 paths), so one seed's result differs from one CPU to another.
    """
    return f"{name()}, {os.cpu_count()} cores, torch {version('torch')}"


@functools.cache
def runs_bf16_lstm() -> bool:
    """Whether torch's fused LSTM runs a forward and backward pass under CPU bfloat16 autocast here."""
    import torch

    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = lstm(torch.zeros(2, 3, 4))
        out.float().sum().backward()
    except RuntimeError as exc:
        if ONEDNN_REFUSED in str(exc):
            return False
        raise
    return True


def explain(exc: BaseException, precision: str) -> str | None:
    """One line for oneDNN refusing a bfloat16 primitive on this CPU, with what to use instead; else None."""
    if ONEDNN_REFUSED not in str(exc) or not precision.startswith("bf16"):
        return None
    return (
        f"trainer.precision={precision}: this CPU, {name()}, cannot run this cell's fused kernel in "
        "bfloat16 (oneDNN needs AVX-512 for it; the fused LSTM fails, rnn and gru run). "
        "Use trainer.precision=32-true, cell.impl=reference, or a CPU with AVX-512"
    )
