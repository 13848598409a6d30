"""The cells' initialisation options: each sets exactly the weights it names, to what the literature says.

Forget-gate bias (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba &
Sutskever 2015), orthogonal recurrent weights (Saxe, McClelland & Ganguli
2014), the identity with ReLU units: the IRNN (Le, Jaitly & Hinton 2015).
"""

import dataclasses
import math

import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from torch import nn

from conftest import runner
from runner._config import schema
from runner.plugins import registry
from runner_plugins.cells import CONFIGS
from runner_plugins.cells.build import build_cell
from runner_plugins.cells.config import (
    Impl,
    LSTMConfig,
    Nonlinearity,
    RecurrentInit,
    RNNConfig,
)
from runner_plugins.tasks.config import SyntheticConfig
from runner_plugins.tasks.synthetic import AddingData

H, LAYERS, GATES = 4, 2, {"rnn": 1, "lstm": 4, "gru": 3}
IMPLS = list(Impl)


def build(kind: str, impl: Impl = Impl.fused, seed: int = 0, **options) -> nn.Module:
    torch.manual_seed(seed)
    return build_cell(kind, CONFIGS[kind](hidden_size=H, num_layers=LAYERS, impl=impl, **options), 3)


def changed(before: nn.Module, after: nn.Module) -> dict[str, list[int]]:
    """Parameter name -> the H-row blocks (gate blocks) that differ between two cells."""
    out = {}
    for name, value in before.state_dict().items():
        blocks = [
            i
            for i, (a, b) in enumerate(zip(value.split(H), after.state_dict()[name].split(H), strict=True))
            if not torch.equal(a, b)
        ]
        if blocks:
            out[name] = blocks
    return out


def recurrent(kind: str) -> dict[str, list[int]]:
    return {f"weight_hh_l{layer}": list(range(GATES[kind])) for layer in range(LAYERS)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(
    "options",
    [
        {"recurrent_init": RecurrentInit.orthogonal},
        {"recurrent_init": RecurrentInit.identity},
        {"recurrent_scale": 0.5},
    ],
    ids=["orthogonal", "identity", "scale"],
)
def test_recurrent_options_change_every_gate_block_of_W_hh_and_nothing_else(kind, options, impl):
    assert changed(build(kind, impl), build(kind, impl, **options)) == recurrent(kind)


@pytest.mark.parametrize("impl", IMPLS)
def test_forget_bias_changes_only_the_forget_gate_biases(impl):
    forget = [1]  # torch's gate order: i, f, g, o
    expected = {f"{bias}_l{layer}": forget for layer in range(LAYERS) for bias in ("bias_ih", "bias_hh")}
    assert changed(build("lstm", impl), build("lstm", impl, forget_bias=1.0)) == expected


@pytest.mark.parametrize("impl", IMPLS)
def test_the_relu_nonlinearity_changes_no_weight(impl):
    assert changed(build("rnn", impl), build("rnn", impl, nonlinearity=Nonlinearity.relu)) == {}


@pytest.mark.parametrize("value", [0.0, 1.0, -2.5])
def test_forget_bias_is_the_sum_of_the_two_biases_the_gate_sees(value):
    cell = build("lstm", forget_bias=value)
    for layer in range(LAYERS):
        b_ih, b_hh = (getattr(cell, f"{name}_l{layer}").split(H)[1] for name in ("bias_ih", "bias_hh"))
        assert torch.equal(b_ih + b_hh, torch.full((H,), value))
        assert torch.equal(b_hh, torch.zeros(H))


@pytest.mark.parametrize("scale", [1.0, 0.5])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_identity_init_is_the_identity_times_the_scale_per_gate_block(kind, scale):
    cell = build(kind, recurrent_init=RecurrentInit.identity, recurrent_scale=scale)
    for layer in range(LAYERS):
        for block in getattr(cell, f"weight_hh_l{layer}").split(H):
            assert torch.equal(block, scale * torch.eye(H))


@pytest.mark.parametrize("scale", [1.0, 1.5])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_orthogonal_init_gives_W_Wt_the_identity_per_gate_block_saxe_2014(kind, scale):
    cell = build(kind, recurrent_init=RecurrentInit.orthogonal, recurrent_scale=scale)
    blocks = [b for layer in range(LAYERS) for b in getattr(cell, f"weight_hh_l{layer}").split(H)]
    for block in blocks:
        torch.testing.assert_close(block @ block.T, scale**2 * torch.eye(H), atol=1e-5, rtol=0)
    assert not torch.allclose(blocks[0], blocks[1])  # a fresh matrix per block, not one copied


def test_recurrent_scale_multiplies_torchs_default_W_hh():
    default, scaled = build("gru"), build("gru", recurrent_scale=0.5)
    torch.testing.assert_close(scaled.weight_hh_l1, 0.5 * default.weight_hh_l1, atol=0, rtol=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RNNConfig(recurrent_scale=0.0), "cell.recurrent_scale must be positive and finite, got 0.0"),
        (lambda: RNNConfig(recurrent_scale=math.inf), "cell.recurrent_scale must be positive and finite"),
        (lambda: LSTMConfig(forget_bias=math.nan), "cell.forget_bias must be finite, got nan"),
    ],
)
def test_out_of_range_options_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "kind, option",
    [
        ("gru", "cell.forget_bias=1"),
        ("rnn", "cell.forget_bias=1"),
        ("lstm", "cell.nonlinearity=relu"),
        ("gru", "cell.nonlinearity=relu"),
    ],
)
def test_an_option_of_another_cell_is_refused_by_name(tmp_path, kind, option):
    out = runner(f"cell={kind}", option, "--cfg", "job", cwd=tmp_path)
    key = option.split("=")[0].removeprefix("cell.")
    assert out.returncode != 0
    assert f"Key '{key}' not in '{CONFIGS[kind].__name__}'" in out.stderr


@pytest.mark.parametrize(
    "variant, kind, expected",
    [
        ("tanh_rnn", "rnn", {"nonlinearity": "tanh", "recurrent_init": "default"}),
        ("irnn", "rnn", {"nonlinearity": "relu", "recurrent_init": "identity", "recurrent_scale": 1.0}),
        ("lstm_forget_bias_0", "lstm", {"forget_bias": 0.0, "recurrent_init": "default"}),
        ("lstm_forget_bias_1", "lstm", {"forget_bias": 1.0, "recurrent_init": "default"}),
        ("gru", "gru", {"recurrent_init": "default"}),
    ],
)
def test_the_initialisations_experiment_composes_each_configuration(variant, kind, expected):
    schema.store(registry.load())
    with initialize_config_module("runner._config.conf", version_base="1.3"):
        cfg = compose(
            "config", overrides=["experiment=initialisations", f"+initialisations={variant}"], return_hydra_config=True
        )
    assert cfg.hydra.runtime.choices.cell == kind
    cell = OmegaConf.to_container(cfg.cell)
    assert {key: cell[key] for key in expected} == expected
    assert cell["hidden_size"] == 32
    assert set(cfg.hydra.sweeper.params) == {"+initialisations", "data.seq_len", "seed"}


def adding_mse(irnn: bool, seed: int, T: int = 20, hidden: int = 32, steps: int = 500, batch: int = 32) -> tuple:
    """Train an RNN on the adding problem (Adam 5e-3, clipping at 1).

    Returns its validation MSE and the variance of the targets.
    """
    data = AddingData(SyntheticConfig(seq_len=T, seed=seed))
    x, y = data.generate(batch * steps, torch.Generator().manual_seed(seed))
    x_val, y_val = data.generate(500, torch.Generator().manual_seed(seed + 1))
    options = {"nonlinearity": Nonlinearity.relu, "recurrent_init": RecurrentInit.identity} if irnn else {}
    torch.manual_seed(seed)
    cell, head = build_cell("rnn", RNNConfig(hidden_size=hidden, **options), 2), nn.Linear(hidden, 1)
    params = [*cell.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=5e-3)
    for inputs, targets in zip(x.split(batch), y.split(batch), strict=True):
        loss = (head(cell(inputs)[0][:, -1]).squeeze(-1) - targets).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
    with torch.no_grad():
        mse = (head(cell(x_val)[0][:, -1]).squeeze(-1) - y_val).pow(2).mean().item()
    return mse, y_val.var().item()  # the variance: what always answering the mean scores


@pytest.fixture
def one_thread():
    """Such small matrices train many times faster on one thread than on threads contending for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_irnn_learns_the_adding_problem_where_the_tanh_rnn_does_not_le_2015(seed, one_thread):
    irnn, baseline = adding_mse(irnn=True, seed=seed)
    tanh, _ = adding_mse(irnn=False, seed=seed)
    assert irnn < baseline / 3, (irnn, baseline)
    assert tanh > 0.9 * baseline, (tanh, baseline)


def test_each_cell_lists_the_options_that_apply_to_it():
    """What ``--help`` and ``python -m runner.plugins`` show: the fields of each cell's registered config."""
    plugins = registry.load()
    names = {
        kind: [f.name for f in dataclasses.fields(plugins.get("cell", kind).config_class)]
        for kind in ("rnn", "lstm", "gru")
    }
    shared = ["hidden_size", "num_layers", "dropout", "impl", "compile", "recurrent_init", "recurrent_scale"]
    assert names == {"rnn": [*shared, "nonlinearity"], "lstm": [*shared, "forget_bias"], "gru": shared}
