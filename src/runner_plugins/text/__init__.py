"""Text corpora as language-modelling tasks: any folder of text files, Penn Treebank, tiny Shakespeare."""

from __future__ import annotations

from collections.abc import Callable

from runner import DataModule, RegisterDataset, hookimpl
from runner_plugins.text.config import PTBConfig, ShakespeareConfig, TextConfig


def _builder(name: str | None) -> Callable[[TextConfig], DataModule]:
    def build(config: TextConfig) -> DataModule:
        from runner_plugins.text.datamodule import TextData

        return TextData(config, name)

    build.__name__ = f"build_{name or 'text'}"
    return build


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    register("text", _builder(None), TextConfig)
    register("ptb", _builder("ptb"), PTBConfig)
    register("tinyshakespeare", _builder("tinyshakespeare"), ShakespeareConfig)
