"""The log lines of a sweep's job name it: under ``hydra/launcher=parallel`` the jobs' lines interleave.

Hydra formats every line ``[time][logger][level] - message``; within a job of
a multirun each message starts with ``job k:`` (k from 1, as in the sweep's
``job k/N started`` and ``job k/N ok`` lines, which name the job already).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


class Named(logging.Formatter):
    """Another formatter's lines, with ``name: `` before each message; the record itself is left as it was."""

    def __init__(self, inner: logging.Formatter, name: str) -> None:
        super().__init__()
        self.inner, self.name = inner, name

    def format(self, record: logging.LogRecord) -> str:
        named = logging.makeLogRecord(record.__dict__)
        named.msg, named.args = f"{self.name}: {record.getMessage()}", None
        return self.inner.format(named)


@contextlib.contextmanager
def named(name: str) -> Iterator[None]:
    """Every line the root logger's handlers write during the block names ``name``."""
    handlers = [h for h in logging.getLogger().handlers if h.formatter is not None]
    before = [h.formatter for h in handlers]
    for handler, formatter in zip(handlers, before, strict=True):
        handler.setFormatter(Named(formatter, name))
    try:
        yield
    finally:
        for handler, formatter in zip(handlers, before, strict=True):
            handler.setFormatter(formatter)


def in_sweep() -> contextlib.AbstractContextManager:
    """In a job of a multirun, :func:`named` with ``job k``; elsewhere nothing changes."""
    from hydra.core.hydra_config import HydraConfig

    from runner._config.job import in_multirun

    if not in_multirun():
        return contextlib.nullcontext()
    return named(f"job {HydraConfig.get().job.num}")  # from 0, as the folders and the sweep log
