"""results.json: the one-file record of how a run ended."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

FILE = "results.json"
STATUSES = ("ok", "diverged", "failed")


def clean(value: Any) -> Any:
    """JSON has no NaN or infinity: such a metric is recorded as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def write(run_dir: Path, record: dict[str, Any]) -> Path:
    """Write atomically: a reader never sees half a file, a kill never leaves one."""
    path = Path(run_dir) / FILE
    tmp = path.with_name(f".{FILE}.tmp")
    tmp.write_text(json.dumps(clean(record), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def read(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / FILE).read_text())
