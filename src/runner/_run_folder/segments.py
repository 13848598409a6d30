"""One run however often it was resumed: the segments that trained it, their time and their W&B run.

A segment is one process's part of a run: from its start (or the checkpoint
it resumed from) to its record, or, for a killed one, to its last checkpoint
(a segment killed before its first checkpoint left nothing to continue, and
is not counted).
``segments.json`` (written through :mod:`runner._run_folder.run_dir`) lists
them with their wall time and keeps the W&B run id that every segment
continues, so that ``wall_s`` in ``results.json``, the log's last line and
``python -m runner.status`` count the whole run, and W&B shows one run. A run
that starts over (no checkpoint to continue, or ``resume=false``) starts a
new list, with a new W&B id.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from runner._run_folder import run_dir


class Segments:
    """The earlier segments of a run (read back when it resumes) and the one under way."""

    def __init__(self, folder: Path, from_step: int | None, write: bool = True) -> None:
        """``from_step``: the step of the checkpoint this segment continues, None for a run that starts."""
        self.folder, self.write = Path(folder), write
        self.started = time.perf_counter()
        self.ended: float | None = None  # set by end(): the moment the record, segments.json and the total all read
        saved = run_dir.read_segments(folder) if from_step is not None else None
        # W&B accepts ids of letters and digits; 12 hex digits make a collision in one project unlikely
        self.wandb_id: str = saved["wandb_id"] if saved else secrets.token_hex(6)
        self.earlier: list[dict[str, Any]] = saved["segments"] if saved else []
        if self.earlier and "status" not in self.earlier[-1]:
            # killed: its record may be a best checkpoint's, past last.ckpt; it ends where this one resumes
            self.earlier[-1]["steps"] = min(self.earlier[-1]["steps"], from_step)
        self.current: dict[str, Any] = {"from_step": from_step or 0, "steps": from_step or 0, "wall_s": 0.0}

    @property
    def resumed(self) -> bool:
        """Whether this segment continues a run that earlier segments trained."""
        return bool(self.earlier)

    def end(self) -> None:
        """Stop this segment's clock, at its record."""
        self.ended = time.perf_counter()

    def elapsed(self) -> float:
        """This segment's wall time so far (to :meth:`end`, once ended), in seconds."""
        return round((self.ended or time.perf_counter()) - self.started, 3)

    def total(self) -> float:
        """The wall time of every segment, this one so far included."""
        return round(sum(s["wall_s"] for s in self.earlier) + self.elapsed(), 3)

    def save(self, steps: int | None = None, status: str | None = None) -> None:
        """Record this segment at ``steps`` (at a checkpoint, at the end with its ``status``)."""
        self.current["wall_s"] = self.elapsed()
        if steps is not None:
            self.current["steps"] = steps
        if status is not None:
            self.current["status"] = str(status)
        if self.write:
            run_dir.write_segments(self.folder, {"wandb_id": self.wandb_id, "segments": [*self.earlier, self.current]})
