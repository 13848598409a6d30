"""The reference cells compute exactly what torch's fused kernels compute, from the same weights."""

import pytest
import torch

from runner_plugins.cells import CONFIGS
from runner_plugins.cells.build import build_cell
from runner_plugins.cells.config import (
    CellConfig,
    Impl,
    Nonlinearity,
    RecurrentInit,
    RNNConfig,
)

KINDS = ["rnn", "lstm", "gru"]
RELU, ORTHOGONAL, IDENTITY = Nonlinearity.relu, RecurrentInit.orthogonal, RecurrentInit.identity
# Every initialisation option and the ReLU RNN: each must leave the fused and the reference cell alike.
OPTIONS = {
    "rnn": [
        {},
        {"nonlinearity": RELU, "recurrent_init": IDENTITY},
        {"recurrent_init": ORTHOGONAL, "recurrent_scale": 0.9},
    ],
    "lstm": [
        {},
        {"forget_bias": 1.0},
        {"recurrent_init": ORTHOGONAL},
        {"recurrent_init": IDENTITY, "recurrent_scale": 0.5},
    ],
    "gru": [{}, {"recurrent_init": ORTHOGONAL}, {"recurrent_scale": 2.0}],
}


def case_id(kind: str, options: dict) -> str:
    return " ".join([kind, *(f"{key}={getattr(value, 'value', value)}" for key, value in options.items())])


CASES = [pytest.param(kind, options, id=case_id(kind, options)) for kind in KINDS for options in OPTIONS[kind]]


def build(kind: str, impl: Impl = Impl.fused, hidden: int = 5, layers: int = 1, input_size: int = 3, **options):
    """The cell ``kind`` built through its own config class, as a run builds it."""
    return build_cell(kind, CONFIGS[kind](hidden_size=hidden, num_layers=layers, impl=impl, **options), input_size)


def pair(kind: str, layers: int, **options):
    fused = build(kind, layers=layers, **options).double()
    reference = build(kind, Impl.reference, layers=layers, **options).double()
    reference.load_state_dict(fused.state_dict())
    return fused, reference


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind, options", CASES)
def test_reference_equals_fused(kind, options, layers):
    torch.manual_seed(0)
    fused, reference = pair(kind, layers, **options)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    initial = fused(x)[1]  # a non-zero starting state, as a carried LM state would be
    initial = tuple(s.detach() for s in initial) if isinstance(initial, tuple) else initial.detach()

    outs = []
    for cell in (fused, reference):
        y, state = cell(x, initial)
        loss = (y**2).sum() + sum((s**3).sum() for s in flat(state))
        grads = torch.autograd.grad(loss, list(cell.parameters()))
        outs.append((y, flat(state), grads))

    (y_f, s_f, g_f), (y_r, s_r, g_r) = outs
    assert y_f.shape == (4, 7, 5)
    torch.testing.assert_close(y_r, y_f, atol=1e-6, rtol=0)
    for a, b in zip(s_r, s_f, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    assert len(g_f) == len(g_r) == 4 * layers
    for a, b in zip(g_r, g_f, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind, options", CASES)
def test_same_seed_same_weights_for_both_impls(kind, options):
    torch.manual_seed(3)
    fused = build(kind, hidden=6, layers=2, input_size=4, **options)
    torch.manual_seed(3)
    reference = build(kind, Impl.reference, hidden=6, layers=2, input_size=4, **options)
    assert fused.state_dict().keys() == reference.state_dict().keys()
    for name, value in fused.state_dict().items():
        assert torch.equal(value, reference.state_dict()[name]), name


@pytest.mark.parametrize("impl", list(Impl))
def test_zero_state_by_default_and_batch_first(impl):
    cell = build("lstm", impl, layers=2)
    x = torch.randn(2, 6, 3)
    y, (h, c) = cell(x)
    zeros = (torch.zeros(2, 2, 5),) * 2
    y0, _ = cell(x, zeros)
    assert y.shape == (2, 6, 5) and h.shape == c.shape == (2, 2, 5)
    torch.testing.assert_close(y, y0)
    assert cell.output_size == 5


@pytest.mark.parametrize("impl", list(Impl))
@pytest.mark.parametrize("nonlinearity, phi", [(Nonlinearity.tanh, torch.tanh), (Nonlinearity.relu, torch.relu)])
def test_rnn_step_is_elmans_equation_with_its_nonlinearity(nonlinearity, phi, impl):
    cell = build("rnn", impl, hidden=4, input_size=2, nonlinearity=nonlinearity).double()
    x = torch.randn(1, 3, 2, dtype=torch.float64)
    y, _ = cell(x)
    W_xh, W_hh = cell.weight_ih_l0, cell.weight_hh_l0
    b = cell.bias_ih_l0 + cell.bias_hh_l0
    h = torch.zeros(1, 4, dtype=torch.float64)
    for t in range(3):  # h_t = phi(W_hh h_{t-1} + W_xh x_t + b), the same weights at every step
        h = phi(h @ W_hh.T + x[:, t] @ W_xh.T + b)
        torch.testing.assert_close(y[:, t], h)


def test_compiled_reference_is_still_exact():
    torch.manual_seed(0)
    fused = build("lstm", hidden=6, layers=2)
    compiled = build_cell("lstm", CONFIGS["lstm"](hidden_size=6, num_layers=2, impl=Impl.reference, compile=True), 3)
    compiled.load_state_dict(fused.state_dict())
    x = torch.randn(2, 5, 3)
    results = []
    for cell in (fused, compiled):
        y, (h, c) = cell(x)
        grads = torch.autograd.grad((y**2).sum() + (c**2).sum(), list(cell.parameters()))
        results.append((y, h, c, *grads))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


def test_compile_is_for_the_reference_cells():
    with pytest.raises(ValueError, match=r"cell\.compile applies to cell\.impl=reference"):
        CellConfig(compile=True)


def test_a_plain_cell_config_builds_every_cell_with_its_defaults():
    """Callers that build a cell from the shared CellConfig (benchmarks, model tests) get torch's cell."""
    torch.manual_seed(1)
    plain = build_cell("rnn", CellConfig(hidden_size=4), 2)
    torch.manual_seed(1)
    own = build_cell("rnn", RNNConfig(hidden_size=4), 2)
    assert plain.nonlinearity == own.nonlinearity == "tanh"
    for name, value in plain.state_dict().items():
        assert torch.equal(value, own.state_dict()[name]), name
