"""Built-in long-term dependency tasks, generated from the seed on the fly (no files)."""

from __future__ import annotations

from runner import DataModule, RegisterDataset, hookimpl
from runner_plugins.tasks.config import SyntheticConfig


def build_adding(config: SyntheticConfig) -> DataModule:
    from runner_plugins.tasks.synthetic import AddingData

    return AddingData(config)


def build_copy(config: SyntheticConfig) -> DataModule:
    from runner_plugins.tasks.synthetic import CopyData

    return CopyData(config)


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    register("adding", build_adding, SyntheticConfig)
    register("copy", build_copy, SyntheticConfig)
