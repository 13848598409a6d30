"""MNIST-format images as sequences of pixels, held on the device.

Pixels are scaled to [0, 1] and not normalised further. The sequence of an
image is its 784 pixels in reading order (row by row), or in the order of one
fixed permutation; ``pixels_per_step`` consecutive ones make a step. The class
is read at the last step.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
from torch import Tensor

from runner import Batches, Task, data_folder, device_batches
from runner_plugins.pixels import fetch, idx
from runner_plugins.pixels.config import PIXELS, PixelConfig

CLASSES = 10


def permutation(seed: int) -> Tensor:
    """The fixed order in which the permuted task reads an image's pixels."""
    return torch.randperm(PIXELS, generator=torch.Generator().manual_seed(seed))


class PixelData(L.LightningDataModule):
    def __init__(self, config: PixelConfig, name: str):
        super().__init__()
        self.config, self.name = config, name
        self.splits: dict[str, tuple[Tensor, Tensor]] = {}

    @property
    def folder(self) -> Path:
        return Path(self.config.root).expanduser() if self.config.root else data_folder(self.name)

    def prepare_data(self) -> None:
        fetch.ensure(self.name, self.folder)

    def _read(self, images: str, labels: str) -> tuple[Tensor, Tensor]:
        x = idx.read(self.folder / fetch.FILES[images]).reshape(-1, PIXELS)
        y = idx.read(self.folder / fetch.FILES[labels]).long()
        if len(x) != len(y):
            raise ValueError(f"{self.folder}: {len(x)} images but {len(y)} labels")
        c = self.config
        if c.permute:
            x = x[:, permutation(c.permutation_seed)]
        steps = x.to(torch.float32).div_(255).reshape(len(x), c.seq_len, c.pixels_per_step)
        return steps, y

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        x, y = self._read("train_images", "train_labels")
        held_out = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.config.split_seed))
        val, train = held_out[: self.config.num_val].sort().values, held_out[self.config.num_val :].sort().values
        self.splits = {"train": (x[train], y[train]), "val": (x[val], y[val])}
        self.splits["test"] = self._read("test_images", "test_labels")

    @property
    def task(self) -> Task:
        c = self.config
        details = {"permutation": permutation(c.permutation_seed).tolist()} if c.permute else {}
        return Task(
            inputs="real",
            input_size=c.pixels_per_step,
            targets="classes",
            output_size=CLASSES,
            loss_steps="last",
            metrics=("accuracy",),
            # chance: the ten classes are (nearly) equally frequent in both data sets
            baseline={"loss": math.log(CLASSES), "accuracy": 1 / CLASSES},
            monitor="accuracy",
            monitor_mode="max",
            has_test=True,
            details=details,
        )

    def _loader(self, split: str, shuffle: bool) -> Batches:
        return device_batches(
            self.splits[split],
            self.config.batch_size,
            self.trainer,
            shuffle=shuffle,
            seed=self.config.seed,
            name=f"{split} images",
        )

    def train_dataloader(self) -> Batches:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> Batches:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> Batches:
        return self._loader("test", shuffle=False)
