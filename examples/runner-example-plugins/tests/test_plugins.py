"""The example plugins' own tests: the runner's contract kit, then what each plugin computes.

Run with ``python -m pytest`` in this folder once the package is installed;
the ``runner_train`` fixture comes from the runner's pytest plugin.
"""

import torch
from runner_example_plugins.agc import AdaptiveClip
from runner_example_plugins.indrnn import IndRNN
from runner_example_plugins.temporal_order import BEGIN, END, X, Y, generate

from runner.testing import check_cell, check_plugins

SMALL_DATA = ["data.seq_len=20", "data.batch_size=4", "data.num_train=16", "data.num_val=8"]


def test_the_plugins_keep_the_runner_contract():
    checked = check_plugins(
        "runner-example-plugins", {"cell=indrnn": ["cell.hidden_size=8"], "data=temporal_order": SMALL_DATA}
    )
    assert sorted(checked) == ["cell=indrnn", "data=temporal_order", "grad=agc"]
    assert checked["grad=agc"][1e-8] is False and checked["grad=agc"][1e8] is True
    check_cell("indrnn", ["cell.hidden_size=8", "cell.num_layers=2"])


def test_indrnn_follows_its_equation():
    cell = IndRNN(input_size=2, hidden_size=3, recurrent_max=1.0)
    with torch.no_grad():
        cell.recurrent[0].copy_(torch.tensor([0.9, -2.0, 0.3]))  # -2 lies outside the bound: used as -1
    x = torch.randn(1, 4, 2)
    out, state = cell(x)
    W, b, u = cell.inputs[0].weight, cell.inputs[0].bias, torch.tensor([0.9, -1.0, 0.3])
    h = torch.zeros(3)
    for t in range(4):
        h = torch.relu(W @ x[0, t] + u * h + b)
        assert torch.allclose(out[0, t], h, atol=1e-6)
    assert torch.allclose(state[0, 0], h, atol=1e-6)


def test_temporal_order_marks_two_windows_and_labels_their_order():
    inputs, classes = generate(500, 100, torch.Generator().manual_seed(0))
    assert (inputs[:, 0] == BEGIN).all() and (inputs[:, -1] == END).all()
    marked = (inputs == X) | (inputs == Y)
    assert (marked.sum(1) == 2).all()
    assert marked[:, 10:20].sum(1).eq(1).all() and marked[:, 50:60].sum(1).eq(1).all()
    first, second = inputs[:, 10:20][marked[:, 10:20]], inputs[:, 50:60][marked[:, 50:60]]
    assert torch.equal(classes, 2 * (first - X) + (second - X))
    assert set(classes.tolist()) == {0, 1, 2, 3}


def test_agc_clips_each_unit_to_its_share_of_the_weight_norm():
    weight = torch.nn.Parameter(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))  # unit norms 5 and 0 (counted as eps)
    weight.grad = torch.tensor([[0.3, 0.4], [0.0, 1.0]])  # unit norms 0.5 and 1
    clipped = AdaptiveClip(clipping=0.2, eps=1e-3)([weight])
    assert clipped
    assert torch.allclose(weight.grad[0], torch.tensor([0.3, 0.4]))  # 0.5 <= 0.2 * 5: kept
    assert torch.allclose(weight.grad[1], torch.tensor([0.0, 0.2 * 1e-3]))  # scaled to 0.2 * eps


def test_a_tiny_training_with_all_three(runner_train):
    record = runner_train("cell=indrnn", "data=temporal_order", "grad=agc", "cell.hidden_size=8", *SMALL_DATA)
    assert record["status"] == "ok"
    assert (record["cell"], record["data"], record["grad"]) == ("indrnn", "temporal_order", "agc")
    assert record["baseline"]["accuracy"] == 0.25 and 0 <= record["val"]["accuracy"] <= 1
