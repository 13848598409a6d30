"""The config class of the pixel-sequence tasks: what ``data=smnist`` and ``data=sfmnist`` options a user can set."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import II

PIXELS = 28 * 28  # an MNIST image
TRAIN_IMAGES = 60_000


@dataclass
class PixelConfig:
    root: str | None = None  # the folder of the four .gz IDX files; None: $RUNNER_DATA_DIR/<name>, else the cache
    pixels_per_step: int = 1  # 1: 784 steps, the papers' task; 28: one row a step (28 steps)
    permute: bool = False  # one fixed permutation of the 784 pixels before they are read (Le et al. 2015)
    permutation_seed: int = 0  # draws that permutation: the same for every run and seed unless changed
    num_val: int = 5_000  # validation images carved from the 60,000 training images
    split_seed: int = 0  # draws which images those are: fixed, so that every run holds out the same ones
    batch_size: int = 100  # images per batch
    seed: int = II("seed")  # the training order: the run's seed unless set on its own

    def __post_init__(self) -> None:
        if self.pixels_per_step < 1 or PIXELS % self.pixels_per_step:
            raise ValueError(f"data.pixels_per_step must divide {PIXELS} got {self.pixels_per_step}")
        if not 1 <= self.num_val < TRAIN_IMAGES:
            raise ValueError(f"data.num_val must be in [1, {TRAIN_IMAGES}), got {self.num_val}")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be at least 1, got {self.batch_size}")

    @property
    def seq_len(self) -> int:
        """The steps of one sequence."""
        return PIXELS // self.pixels_per_step
