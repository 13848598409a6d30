"""The adding and copy tasks are generated as their papers define them, from the seed."""

import math

import torch

from runner_plugins.tasks.config import SyntheticConfig
from runner_plugins.tasks.synthetic import AddingData, CopyData


def data(cls, **kw):
    module = cls(SyntheticConfig(**{"seq_len": 20, "num_train": 500, "num_val": 100, "seed": 0, **kw}))
    module.setup("fit")
    return module


def test_adding_marks_one_value_per_half_and_sums_them():
    module = data(AddingData)
    x, y = module.splits["train"].tensors
    assert x.shape == (500, 20, 2) and y.shape == (500,)
    values, marks = x[..., 0], x[..., 1]
    assert torch.all(marks.sum(1) == 2)
    assert torch.all(marks[:, :10].sum(1) == 1) and torch.all(marks[:, 10:].sum(1) == 1)
    assert torch.all((values >= 0) & (values <= 1))
    torch.testing.assert_close(y, (values * marks).sum(1))


def test_adding_baseline_is_what_predicting_one_scores():
    module = data(AddingData, num_train=20_000)
    _, y = module.splits["train"].tensors
    assert abs(((y - 1) ** 2).mean().item() - module.task.baseline["mse"]) < 0.01
    assert abs(module.task.baseline["mse"] - 0.1667) < 1e-3


def test_copy_layout_and_baseline():
    module = data(CopyData, seq_len=30)
    x, y = module.splits["train"].tensors
    assert x.shape == y.shape == (500, 50)
    assert torch.all((x[:, :10] >= 1) & (x[:, :10] <= 8))
    assert torch.all(x[:, 10:39] == 0) and torch.all(x[:, 39] == 9) and torch.all(x[:, 40:] == 0)
    assert torch.all(y[:, :40] == 0)
    assert torch.equal(y[:, -10:], x[:, :10])
    task = module.task
    assert math.isclose(task.baseline["loss"], 10 * math.log(8) / 50)
    assert task.score_last == 10 and task.output_size == 9


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = data(AddingData), data(AddingData), data(AddingData, seed=1)
    assert torch.equal(a.splits["train"].tensors[0], b.splits["train"].tensors[0])
    assert not torch.equal(a.splits["train"].tensors[0], c.splits["train"].tensors[0])
    assert not torch.equal(a.splits["train"].tensors[0][:100], a.splits["val"].tensors[0])


def test_loaders_give_whole_batches():
    module = data(AddingData, batch_size=32)
    x, y = next(iter(module.train_dataloader()))
    assert x.shape == (32, 20, 2) and y.shape == (32,)
    assert len(module.train_dataloader()) == 500 // 32
    assert sum(len(b[1]) for b in module.val_dataloader()) == 100
