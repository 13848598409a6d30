"""Text corpora: the real PTB and tiny Shakespeare files, vocabulary, <unk>, BPTT windows, the loss."""

import csv

import pytest
import torch

from conftest import DATA, runner
from runner_plugins.text.config import Level, PTBConfig, ShakespeareConfig, TextConfig
from runner_plugins.text.corpus import EOS, UNK, encode, tokenize
from runner_plugins.text.datamodule import TextData, Windows


@pytest.fixture(scope="module")
def ptb() -> TextData:
    data = TextData(PTBConfig(), "ptb")  # found as conftest.DATA was
    data.prepare_data()
    data.setup("fit")
    return data


def test_ptb_has_mikolovs_vocabulary_and_token_counts(ptb):
    assert ptb.folder == DATA / "ptb"
    assert len(ptb.vocab) == 10_000
    assert UNK in ptb.vocab and EOS in ptb.vocab
    assert {split: len(ids) for split, ids in ptb.ids.items()} == {"train": 929_589, "valid": 73_760, "test": 82_430}
    task = ptb.task
    assert (task.input_size, task.output_size, task.vocab) == (10_000, 10_000, tuple(ptb.vocab))
    # a model that ignores context is far better than uniform guessing, and far from a good LM
    assert 500 < task.baseline["ppl"] < 1000


def test_ptb_lines_end_with_eos(ptb):
    first = (DATA / "ptb" / "ptb.valid.txt").read_text().splitlines()[:2]
    words = [*first[0].split(), EOS, *first[1].split(), EOS]
    assert [ptb.vocab[i] for i in ptb.ids["valid"][: len(words)]] == words


def test_out_of_vocabulary_words_become_unk(tmp_path, ptb):
    (tmp_path / "train.txt").write_text("a b a c\nb a\n")
    (tmp_path / "valid.txt").write_text("a zebra\n")
    (tmp_path / "test.txt").write_text("yak b\n")
    data = TextData(TextConfig(root=str(tmp_path)))
    data.setup()
    assert data.vocab == ["a", EOS, "b", "c", UNK]  # from the training split only, by frequency
    assert [data.vocab[i] for i in data.ids["valid"]] == ["a", UNK, EOS]
    assert [data.vocab[i] for i in data.ids["test"]] == [UNK, "b", EOS]
    # user text goes through the same vocabulary
    index = {t: i for i, t in enumerate(ptb.vocab)}
    ids = encode(tokenize("the xyzzy market", Level.word), index)
    assert [ptb.vocab[i] for i in ids] == ["the", UNK, "market", EOS]


def test_max_vocab_keeps_the_most_frequent_types(tmp_path):
    for name, text in (("train.txt", "a a a b b c\n"), ("valid.txt", "c b\n"), ("test.txt", "a\n")):
        (tmp_path / name).write_text(text)
    data = TextData(TextConfig(root=str(tmp_path), max_vocab=3))
    data.setup()
    assert data.vocab == ["a", "b", UNK]
    assert [data.vocab[i] for i in data.ids["valid"]] == [UNK, "b", UNK]


def test_windows_carry_each_stream_contiguously():
    ids = torch.arange(103)
    windows = Windows(ids, batch_size=4, bptt=6)
    length = 102 // 4  # 25 steps per stream: four windows of 6 and one of 1
    assert [windows[i][0].shape for i in range(len(windows))] == [(4, 6)] * 4 + [(4, 1)]
    inputs = torch.cat([windows[i][0] for i in range(len(windows))], dim=1)
    targets = torch.cat([windows[i][1] for i in range(len(windows))], dim=1)
    for j in range(4):  # stream j is the j-th slice of the split, in order, across the windows
        assert torch.equal(inputs[j], ids[j * length : (j + 1) * length])
        assert torch.equal(targets[j], ids[j * length + 1 : (j + 1) * length + 1])  # the next token


def test_ptb_loaders_walk_the_whole_split_in_windows(ptb):
    batches = list(ptb.val_dataloader())
    length = (73_760 - 1) // ptb.config.batch_size
    assert all(x.shape == (ptb.config.batch_size, ptb.config.bptt) for x, _ in batches[:-1])
    stream = torch.cat([x[1] for x, _ in batches])  # the second stream, window after window
    assert torch.equal(stream, ptb.ids["valid"][length : 2 * length])


def test_tinyshakespeare_is_read_character_by_character():
    data = TextData(ShakespeareConfig(), "tinyshakespeare")
    data.prepare_data()
    data.setup("fit")
    text = (DATA / "tinyshakespeare" / "input.txt").read_text()
    assert len(data.vocab) == len(set(text)) + 1  # the characters and <unk>
    assert "\n" in data.vocab and " " in data.vocab
    assert sum(len(ids) for ids in data.ids.values()) == len(text)
    decoded = "".join(data.vocab[i] for split in ("train", "valid", "test") for i in data.ids[split])
    assert decoded == text  # valid and test are the end of the file, in order
    assert len(data.ids["train"]) == int(len(text) * 0.9)
    inputs, _ = next(iter(data.train_dataloader()))
    assert inputs.shape == (32, 100)
    assert data.task.baseline["ppl"] < len(data.vocab)


def test_a_summed_loss_is_the_mean_loss_times_the_unroll(tmp_path):
    """model.loss=sum with lr/bptt takes exactly the steps model.loss=mean takes with lr (plain SGD)."""
    lines = (DATA / "ptb" / "ptb.valid.txt").read_text().splitlines()
    for name, part in (("train.txt", lines[:200]), ("valid.txt", lines[200:240]), ("test.txt", lines[240:280])):
        (tmp_path / name).write_text("\n".join(part) + "\n")
    bptt = 8

    def losses(loss: str, lr: float) -> list[float]:
        out = runner(
            "data=text",
            f"data.root={tmp_path}",
            "data.batch_size=4",
            f"data.bptt={bptt}",
            "cell=lstm",
            "cell.hidden_size=8",
            "optim=sgd",
            f"optim.lr={lr}",
            "grad=none",
            f"model.loss={loss}",
            "trainer.max_steps=4",
            "trainer.val_check_interval=4",
            "trainer.log_every_n_steps=1",
            f"hydra.run.dir={loss}",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        with (tmp_path / loss / "metrics.csv").open() as f:
            return [float(row["train/loss"]) for row in csv.DictReader(f) if row.get("train/loss")]

    mean, summed = losses("mean", 1.0), losses("sum", 1.0 / bptt)
    assert len(mean) == 4
    assert summed == pytest.approx(mean, rel=1e-5)
    assert mean[-1] != pytest.approx(mean[0], rel=1e-3)  # the steps did change the model
