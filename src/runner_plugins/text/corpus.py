"""Tokens, vocabulary and ids of a language-modelling corpus.

The vocabulary comes from the training split only; ``<eos>`` ends every line
(word level) and anything not in the vocabulary becomes ``<unk>``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import torch

import runner
from runner import DataError
from runner_plugins.text.config import Level

EOS, UNK = "<eos>", "<unk>"


def read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"data file {path} is empty")
    if b"\x00" in raw:
        raise DataError(f"data file {path} is binary, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"data file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def line_end(level: Level | str) -> str:
    """The token that ends every line: ``<eos>`` between words, the newline itself between characters."""
    return "\n" if Level(level) == Level.char else EOS


def tokenize(text: str, level: Level | str) -> list[str]:
    """The core's tokenization (:func:`runner.tokenize`), which ``runner.lm`` applies to new text too."""
    level = Level(level)  # a config read back from YAML holds the plain string
    return runner.tokenize(text, level.value, line_end(level))


def build_vocab(tokens: list[str], max_size: int | None = None) -> list[str]:
    """Types by falling frequency (ties alphabetical), ``<unk>`` always among them."""
    counts = Counter(tokens)
    types = sorted(counts, key=lambda t: (-counts[t], t))
    if UNK not in counts:
        types = types[: max_size - 1] if max_size else types
        return [*types, UNK]
    if max_size and len(types) > max_size:
        types = [*[t for t in types if t != UNK][: max_size - 1], UNK]
    return types


def encode(tokens: list[str], index: dict[str, int]) -> torch.Tensor:
    unk = index[UNK]
    return torch.tensor([index.get(t, unk) for t in tokens], dtype=torch.long)


def unigram_perplexity(train: torch.Tensor, other: torch.Tensor, vocab_size: int) -> float:
    """The perplexity of a model that ignores context: add-one word frequencies from the training split."""
    counts = torch.bincount(train, minlength=vocab_size).double() + 1
    log_p = torch.log(counts / counts.sum())
    return math.exp(-log_p[other].mean().item())
