"""The generic model's pieces that no end-to-end run pins down exactly."""

import functools

import torch

from runner._config.schema import ModelConfig, ScheduleConfig
from runner._train.model import SequenceModel
from runner.task import Task
from runner_plugins.cells.build import build_cell
from runner_plugins.cells.config import CellConfig
from runner_plugins.optim import AdamConfig, SGDConfig, build_adam, build_sgd


def test_lr_schedule_holds_for_decay_after_epochs_then_decays_every_epoch():
    task = Task(inputs="tokens", input_size=5, targets="classes", output_size=5, metrics=("ppl",), monitor="ppl")
    cell = build_cell("lstm", CellConfig(hidden_size=4), 4)
    sgd = functools.partial(build_sgd, SGDConfig(lr=1.0))
    schedule = ScheduleConfig(lr_decay=0.5, decay_after=4)  # Zaremba small
    model = SequenceModel(task, cell, 4, lambda params: False, sgd, ModelConfig(), schedule)
    setup = model.configure_optimizers()
    optimizer, schedule = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(7):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    assert isinstance(optimizer, torch.optim.SGD)


def test_logging_steps_are_the_ones_lightning_writes(tmp_path):
    """The model measures gradient norms on exactly the steps Lightning logs (a private rule of Lightning's)."""
    import lightning as L

    from runner_plugins.tasks.config import SyntheticConfig
    from runner_plugins.tasks.synthetic import AddingData

    seen = []

    class Watched(SequenceModel):
        def training_step(self, batch, batch_idx):
            seen.append((self.global_step, self._logs_this_step, self.trainer._logger_connector.should_update_logs))
            return super().training_step(batch, batch_idx)

    data = AddingData(SyntheticConfig(seq_len=5, num_train=64, num_val=16, batch_size=8, seed=0))
    data.setup("fit")
    model = Watched(
        data.task,
        build_cell("rnn", CellConfig(hidden_size=4), 2),
        2,
        lambda params: False,
        functools.partial(build_adam, AdamConfig()),
        ModelConfig(),
        ScheduleConfig(),
    )
    trainer = L.Trainer(
        max_steps=11,
        log_every_n_steps=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=data)
    assert len(seen) == 11
    assert [ours for _, ours, _ in seen] == [lightnings for _, _, lightnings in seen]
    assert [step for step, ours, _ in seen if ours] == [2, 5, 8]
