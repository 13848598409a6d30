"""The generic model's pieces that no end-to-end run pins down exactly."""

import torch

from runner.config import ModelConfig, OptimConfig, Optimizer
from runner.model import SequenceModel
from runner.task import Task
from runner_plugins.cells import CellConfig
from runner_plugins.cells.build import build_cell


def test_lr_schedule_holds_for_decay_after_epochs_then_decays_every_epoch():
    task = Task(inputs="tokens", input_size=5, targets="classes", output_size=5, metrics=("ppl",), monitor="ppl")
    cell = build_cell("lstm", CellConfig(hidden_size=4), 4)
    optim = OptimConfig(name=Optimizer.sgd, lr=1.0, lr_decay=0.5, decay_after=4)  # Zaremba small
    model = SequenceModel(task, cell, 4, lambda params: False, ModelConfig(), optim)
    setup = model.configure_optimizers()
    optimizer, schedule = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(7):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    assert isinstance(optimizer, torch.optim.SGD)
