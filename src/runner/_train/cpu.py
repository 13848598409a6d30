"""What this CPU can run: its vector extensions, and whether oneDNN runs a fused LSTM in bfloat16.

oneDNN builds its bfloat16 LSTM only on CPUs with AVX-512 (the BF16 or AMX
extensions, or AVX-512 core emulating them); on an AVX2-only CPU it stops with
"could not create a primitive descriptor". The tanh RNN and the GRU run there.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

ONEDNN_REFUSED = "could not create a primitive descriptor"


@functools.cache
def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def vector_extensions() -> list[str]:
    """The SIMD extensions the CPU reports (``avx2``, ``avx512f``, ``amx_bf16`` ...), from /proc/cpuinfo."""
    flags = _cpuinfo().get("flags", "").split()
    return sorted(f for f in set(flags) if f.startswith(("avx", "amx", "sse4", "fma")))


def name() -> str:
    """The CPU's model name and its AVX family extensions, as figures name their machine."""
    model = _cpuinfo().get("model name") or platform.processor() or platform.machine()
    avx = [f for f in vector_extensions() if f.startswith(("avx", "amx"))]
    return f"{model} ({', '.join(avx) or 'no AVX'})"


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
