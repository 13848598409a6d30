"""model.cuda_graphs: the graphed passes compute what the eager model computes (src/runner/_train/graphs.py).

The capture itself needs a GPU (benchmarks/device.py checks it there); here, on any machine, the
module the graph records is checked against the model's own forward, and the setting is refused
where a graph cannot run.
"""

import json

import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_map

from conftest import TINY, runner
from runner._config.schema import ModelConfig, ScheduleConfig
from runner._train.graphs import Core
from runner._train.model import SequenceModel, detach
from runner.task import Task
from runner_plugins.cells.build import build_cell
from runner_plugins.cells.config import CellConfig, Impl

LM = Task(
    inputs="tokens", input_size=11, targets="classes", output_size=11, metrics=("ppl",), monitor="ppl", carry_state=True
)
ADDING = Task(
    inputs="real", input_size=2, targets="real", output_size=1, loss_steps="last", metrics=("mse",), monitor="mse"
)


@pytest.mark.parametrize("impl", [Impl.fused, Impl.reference])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("task", [LM, ADDING], ids=["tokens, every step", "real, last step"])
def test_the_recorded_module_is_the_models_forward_with_the_state_flat(kind, impl, task):
    torch.manual_seed(0)
    cell = build_cell(kind, CellConfig(hidden_size=6, num_layers=2, impl=impl), 5 if task is LM else 2)
    model = SequenceModel(
        task, cell, 5 if task is LM else 2, lambda params: False, None, ModelConfig(), ScheduleConfig()
    )
    inputs = torch.randint(0, 11, (3, 4)) if task is LM else torch.rand(3, 4, 2)
    eager, state = model(inputs)
    # None is the zero state (the cell contract): the graphs pass zeros of the state's structure
    zeros, spec = tree_flatten(tree_map(torch.zeros_like, state))
    core = Core(model, spec)
    recorded, *flat_state = core(inputs, *zeros)
    torch.testing.assert_close(recorded, eager, rtol=0, atol=0)
    torch.testing.assert_close(flat_state, tree_flatten(state)[0], rtol=0, atol=0)
    # a carried state, and gradients through the same parameters
    again, _ = model(inputs, detach(state))
    recorded_again, *_ = core(inputs, *tree_flatten(detach(state))[0])
    torch.testing.assert_close(recorded_again, again, rtol=0, atol=0)
    recorded_again.sum().backward()
    assert all(p.grad is not None for p in model.cell.parameters())


def test_cuda_graphs_are_refused_without_a_gpu(tmp_path):
    out = runner(*TINY, "model.cuda_graphs=true", "logger=csv", "hydra.run.dir=run", cwd=tmp_path)
    record = json.loads((tmp_path / "run" / "results.json").read_text())
    assert out.returncode == 1 and record["status"] == "failed"
    assert "model.cuda_graphs=true needs a GPU: add trainer.accelerator=gpu" in record["error"]
