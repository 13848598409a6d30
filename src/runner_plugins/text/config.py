"""The config classes of the built-in text corpora: what ``text`` options a user can set."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Level(str, Enum):
    word = "word"  # whitespace-separated words, <eos> ending every line
    char = "char"  # every character, newlines included


@dataclass
class TextConfig:
    root: str | None = None  # the corpus folder; None: $RUNNER_DATA_DIR/<name>, else the user cache
    level: Level = Level.word  # word: whitespace-separated words; char: every character
    train: str = "train.txt"  # the training file in root; the vocabulary comes from it
    valid: str | None = "valid.txt"  # None: cut valid and test from the end of the train file by `split`
    test: str | None = "test.txt"  # None: cut from the end of the train file by `split`
    split: list[float] = field(default_factory=lambda: [0.9, 0.05, 0.05])  # train, valid, test fractions of one file
    batch_size: int = 20  # parallel streams
    bptt: int = 35  # steps per truncated-BPTT window
    max_vocab: int | None = None  # keep the most frequent types, the rest become <unk>

    def __post_init__(self) -> None:
        for name in ("batch_size", "bptt"):
            if getattr(self, name) < 1:
                raise ValueError(f"data.{name} must be at least 1, got {getattr(self, name)}")
        if self.max_vocab is not None and self.max_vocab < 2:
            raise ValueError(f"data.max_vocab must be at least 2, got {self.max_vocab}")
        if len(self.split) != 3 or any(f <= 0 for f in self.split) or abs(sum(self.split) - 1) > 1e-6:
            raise ValueError(f"data.split must be three positive fractions summing to 1, got {list(self.split)}")


@dataclass
class PTBConfig(TextConfig):
    """Mikolov's Penn Treebank: 10k words, <unk> already in the files."""

    train: str = "ptb.train.txt"
    valid: str | None = "ptb.valid.txt"
    test: str | None = "ptb.test.txt"


@dataclass
class ShakespeareConfig(TextConfig):
    """Karpathy's tiny Shakespeare, one file, read character by character."""

    level: Level = Level.char
    train: str = "input.txt"
    valid: str | None = None
    test: str | None = None
    batch_size: int = 32
    bptt: int = 100
