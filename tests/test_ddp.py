"""DDP on the CPU: two gloo processes started by Lightning train as one process with the same global batch."""

import csv
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import lightning as L
import pytest
import torch

from conftest import TINY, results, runner
from runner._train import distributed
from runner_plugins.tasks.config import SyntheticConfig
from runner_plugins.tasks.synthetic import AddingData
from runner_plugins.text.config import TextConfig
from runner_plugins.text.datamodule import TextData

DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


def losses(run_dir):
    rows = csv.DictReader((run_dir / "metrics.csv").open())
    return [(int(r["step"]), float(r["train/loss"])) for r in rows if r["train/loss"]]


def test_two_processes_train_as_one_and_only_rank_zero_writes(tmp_path):
    common = [*TINY, "trainer.max_steps=6", "trainer.log_every_n_steps=1", "logger=csv"]
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: the test waits for the slower only
        one = pool.submit(runner, *common, "hydra.run.dir=one", cwd=tmp_path)
        two = pool.submit(runner, *common, *DDP, "hydra.run.dir=two", cwd=tmp_path)
        one, two = one.result(), two.result()
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    single, ddp = results(tmp_path / "one"), results(tmp_path / "two")
    assert ddp["status"] == "ok" and ddp["steps"] == single["steps"] == 6

    # the same global batch of 16: every step's loss (over both halves) and the final validation
    curve, reference = losses(tmp_path / "two"), losses(tmp_path / "one")
    assert [s for s, _ in curve] == [s for s, _ in reference] == list(range(6))  # each step logged once
    for (_, a), (_, b) in zip(curve, reference, strict=True):
        assert a == pytest.approx(b, rel=1e-5)
    assert ddp["val"]["mse"] == pytest.approx(single["val"]["mse"], rel=1e-5)

    # the second process ran and logged to its own file; the record and files are rank 0's
    run = tmp_path / "two"
    assert "ok after 6 steps" in (run / "train_ddp_process_1.log").read_text()
    assert f"in {ddp['wall_s']:.1f} s" in (run / "runner.log").read_text()  # rank 1's run took less time
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    assert not list(run.glob(".*.tmp"))


def process(rank: int, size: int) -> SimpleNamespace:
    """What a data module reads of its trainer: the process's rank, the number of processes, its device."""
    return SimpleNamespace(global_rank=rank, world_size=size, strategy=SimpleNamespace(root_device=torch.device("cpu")))


def text_data(folder, batch_size: int, rank: int, size: int) -> TextData:
    module = TextData(TextConfig(root=str(folder), level="char", batch_size=batch_size, bptt=5))
    module.setup("fit")
    module.trainer = process(rank, size)
    return module


def streams(module: TextData, split: str) -> torch.Tensor:
    """The loader's windows put back together: (streams, time)."""
    loader = module.train_dataloader() if split == "train" else module.val_dataloader()
    return torch.cat([inputs for inputs, _ in loader], dim=1)


def test_language_model_streams_are_split_between_processes(tmp_path):
    for name in ("train", "valid", "test"):
        (tmp_path / f"{name}.txt").write_text("the quick brown fox jumps over the lazy dog\n" * 8)
    for split in ("train", "valid"):
        whole = streams(text_data(tmp_path, 6, 0, 1), split)
        parts = [streams(text_data(tmp_path, 6, rank, 2), split) for rank in (0, 1)]
        assert [p.shape[0] for p in parts] == [3, 3]  # each process its own contiguous streams
        assert torch.equal(torch.cat(parts), whole)  # together the single-process streams, none twice
    with pytest.raises(ValueError, match="does not split evenly over 4 processes"):
        text_data(tmp_path, 6, 0, 4).train_dataloader()


def synthetic(rank: int, size: int, num_val: int = 13) -> AddingData:
    module = AddingData(SyntheticConfig(seq_len=4, batch_size=8, num_train=32, num_val=num_val, seed=0))
    module.setup("fit")
    module.trainer = process(rank, size) if size > 1 else None
    return module


def test_synthetic_batches_are_split_between_processes():
    for loader in ("train_dataloader", "val_dataloader"):
        whole = list(getattr(synthetic(0, 1), loader)())
        loaders = [getattr(synthetic(rank, 2), loader)() for rank in (0, 1)]
        parts = [list(batches) for batches in loaders]
        assert [len(p) for p in parts] == [len(b) for b in loaders] == [len(whole)] * 2
        for i, (x, _) in enumerate(whole):  # batch i of one process = the two halves of batch i
            assert torch.equal(torch.cat([parts[0][i][0], parts[1][i][0]]), x)
    # 13 validation sequences in batches of 8: the last batch of 5 splits 2 + 3
    assert [len(b[1]) for b in synthetic(0, 2).val_dataloader()] == [4, 2]
    with pytest.raises(ValueError, match="1 val sequences cannot be shared by 2 processes"):
        synthetic(0, 2, num_val=1).val_dataloader()


def test_launches_that_cannot_work_are_refused():
    trainer = L.Trainer(strategy="ddp", accelerator="cpu", devices=2, logger=False, enable_checkpointing=False)
    distributed.check_launch(trainer, multirun=False)  # a single run: Lightning re-runs the command line per process
    with pytest.raises(ValueError, match="DDP inside a multirun needs processes started by the cluster"):
        distributed.check_launch(trainer, multirun=True)
    spawn = L.Trainer(strategy="ddp_spawn", accelerator="cpu", devices=2, logger=False, enable_checkpointing=False)
    with pytest.raises(ValueError, match=r"use trainer\.strategy=ddp"):
        distributed.check_launch(spawn, multirun=False)
