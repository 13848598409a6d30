"""Checkpoints written so that a kill, a full disk or a power loss never costs the previous one.

Lightning's own writer serializes the checkpoint first, then writes it in a
temporary file that it moves into place: but the temporary file is in the
system's temporary folder, so on another file system the move is a copy into
the checkpoint itself (a full disk or a kill halfway leaves a truncated one),
and nothing is flushed to the disk. Here the temporary file sits next to the
checkpoint and goes through ``run_dir.write_durably`` (fsync, rename, fsync).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def checkpoint_io():
    """A Lightning ``CheckpointIO`` plugin (``Trainer(plugins=[...])``) that replaces checkpoints durably."""
    import torch
    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    from runner._run_folder.run_dir import write_durably

    class DurableCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
            if storage_options is not None:
                raise TypeError("storage_options is not supported by the runner's checkpoint writer")
            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            write_durably(Path(path), buffer.getbuffer())

    return DurableCheckpointIO()
