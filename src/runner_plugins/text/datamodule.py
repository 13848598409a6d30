"""A corpus as parallel token streams, read in truncated-BPTT windows."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from runner import DataError, Task, check_batch, data_folder, device, part, rank_and_size
from runner_plugins.text import corpus, fetch
from runner_plugins.text.config import Level, TextConfig

SPLITS = ("train", "valid", "test")


class Windows(Dataset):
    """``batch_size`` contiguous streams side by side, cut into windows of ``bptt`` steps.

    Stream j is the j-th slice of the split; window i of every stream follows
    window i-1, so the hidden state can be carried from one to the next.
    ``streams`` picks a DDP process's own contiguous streams out of the batch.
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, bptt: int, streams: slice = slice(None)):
        length = (len(ids) - 1) // batch_size
        if length < 1:
            raise DataError(f"a split of {len(ids)} tokens is too short for {batch_size} streams")
        self.inputs = ids[: batch_size * length].view(batch_size, length)[streams]
        self.targets = ids[1 : batch_size * length + 1].view(batch_size, length)[streams]
        self.bptt = bptt

    def __len__(self) -> int:
        return math.ceil(self.inputs.shape[1] / self.bptt)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        window = slice(i * self.bptt, (i + 1) * self.bptt)
        return self.inputs[:, window], self.targets[:, window]


class TextData(L.LightningDataModule):
    def __init__(self, config: TextConfig, name: str | None = None):
        super().__init__()
        self.config, self.name = config, name
        self.ids: dict[str, torch.Tensor] = {}
        self.vocab: list[str] = []

    @property
    def folder(self) -> Path:
        if self.config.root is not None:
            return Path(self.config.root).expanduser()
        if self.name is None:
            raise DataError("data=text needs data.root: a folder with train.txt, valid.txt and test.txt")
        return data_folder(self.name)

    def prepare_data(self) -> None:
        if self.name in fetch.SOURCES:
            fetch.ensure(self.name, self.folder)

    def setup(self, stage: str | None = None) -> None:
        if self.ids:
            return
        c = self.config
        texts = {
            split: corpus.read_text(self.folder / f)
            for split, f in zip(SPLITS, (c.train, c.valid, c.test), strict=True)
            if f
        }
        tokens = {split: corpus.tokenize(text, c.level) for split, text in texts.items()}
        if c.valid is None or c.test is None:
            tokens.update(self._cut(tokens["train"]))
        self.vocab = corpus.build_vocab(tokens["train"], c.max_vocab)
        index = {token: i for i, token in enumerate(self.vocab)}
        self.ids = {split: corpus.encode(tokens[split], index) for split in SPLITS}

    def _cut(self, train: list[str]) -> dict[str, list[str]]:
        """Valid and test from the end of a single file, in order (no shuffling of text)."""
        n = len(train)
        a = int(n * self.config.split[0])
        b = a + int(n * self.config.split[1])
        return {"train": train[:a], "valid": train[a:b], "test": train[b:]}

    @property
    def task(self) -> Task:
        V = len(self.vocab)
        unigram = corpus.unigram_perplexity(self.ids["train"], self.ids["valid"], V)
        return Task(
            inputs="tokens",
            input_size=V,
            targets="classes",
            output_size=V,
            loss_steps="all",
            metrics=("ppl",),
            baseline={"loss": math.log(unigram), "ppl": unigram},
            monitor="ppl",
            carry_state=True,
            has_test=True,
            vocab=tuple(self.vocab),
            tokenization=Level(self.config.level).value,
            eos=corpus.line_end(self.config.level),
            unk=corpus.UNK,
        )

    def _loader(self, split: str) -> DataLoader:
        rank, size = rank_and_size(self.trainer)
        check_batch(self.config.batch_size, size)
        streams = part(self.config.batch_size, rank, size)
        ids = self.ids[split].to(device(self.trainer))  # the corpus stays on the device
        windows = Windows(ids, self.config.batch_size, self.config.bptt, streams)
        return DataLoader(windows, batch_size=None, shuffle=False)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
