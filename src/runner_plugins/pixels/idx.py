"""The IDX format of MNIST (LeCun et al. 1998): a magic number naming the type and rank, the sizes, the values.

Every integer of the header is big-endian; the magic number's third byte is
the element type (0x08: unsigned byte), its fourth the number of dimensions.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import torch

from runner import DataError

UNSIGNED_BYTE = 0x08  # the only type MNIST and Fashion-MNIST use


def read(path: Path) -> torch.Tensor:
    """The array in the IDX file at ``path`` (gzipped when its name ends in ``.gz``), as uint8."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] or data[1]:
        raise DataError(f"{path} is not an IDX file (its magic number does not start with two zero bytes)")
    kind, rank = data[2], data[3]
    if kind != UNSIGNED_BYTE:
        raise DataError(f"{path} holds IDX type 0x{kind:02x}; only unsigned bytes (0x08) are read")
    header = 4 + 4 * rank
    shape = struct.unpack(f">{rank}I", data[4:header])
    expected = header + math.prod(shape)
    if len(data) != expected:
        raise DataError(f"{path} has {len(data)} bytes; its header {shape} says {expected}")
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8).reshape(shape)
