"""Images read one pixel (or one row) a step: sequential and permuted MNIST and Fashion-MNIST.

The benchmark of Le, Jaitly & Hinton (2015): a 28 x 28 image is a sequence of
784 pixels, and the class is read from the state after the last one.
"""

from __future__ import annotations

from collections.abc import Callable

from runner import DataModule, RegisterDataset, hookimpl
from runner_plugins.pixels.config import PixelConfig

# the option -> its data set's folder under $RUNNER_DATA_DIR (or the cache)
DATASETS = {"smnist": "mnist", "sfmnist": "fashion-mnist"}


def _builder(option: str) -> Callable[[PixelConfig], DataModule]:
    def build(config: PixelConfig) -> DataModule:
        from runner_plugins.pixels.datamodule import PixelData

        return PixelData(config, DATASETS[option])

    build.__name__ = f"build_{option}"
    return build


@hookimpl
def register_datasets(register: RegisterDataset) -> None:
    for option in DATASETS:
        register(option, _builder(option), PixelConfig)
