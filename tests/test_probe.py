"""The gradient-flow probe: ||dL/dh_t|| per time step, from fused and reference cells alike."""

from __future__ import annotations

import csv

import pytest
import torch

from conftest import runner
from runner._config.schema import GradFlowConfig, ProbeConfig
from runner._train.probe import GradFlow, Unroll, callbacks
from runner_plugins.cells.build import FUSED, REFERENCE

TANH_ADDING = [
    "cell=rnn",
    "data=adding",
    "data.seq_len=20",
    "data.batch_size=16",
    "data.num_train=64",
    "data.num_val=32",
    "cell.hidden_size=16",
    "trainer.max_steps=2",
    "trainer.val_check_interval=2",
    "trainer.precision=64-true",
    "logger=csv",
]


def curves(run_dir) -> dict[int, list[float]]:
    """step -> [norm at t = 1..T] from grad_flow.csv."""
    out: dict[int, list[float]] = {}
    with (run_dir / "grad_flow.csv").open() as f:
        for row in csv.DictReader(f):
            norms = out.setdefault(int(row["step"]), [])
            assert int(row["t"]) == len(norms) + 1
            norms.append(float(row["norm"]))
    return out


def test_tanh_rnn_gradient_vanishes_towards_early_steps_alike_in_fused_and_reference(tmp_path):
    found = {}
    for impl in ("fused", "reference"):
        out = runner(
            *TANH_ADDING, f"cell.impl={impl}", "probe.grad_flow.every=1", f"hydra.run.dir={impl}", cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
        found[impl] = curves(tmp_path / impl)
    fused, reference = found["fused"], found["reference"]
    assert sorted(fused) == [0, 1] and all(len(norms) == 20 for norms in fused.values())
    for step in fused:
        assert reference[step] == pytest.approx(fused[step], rel=1e-9)
        norms = fused[step]
        # the adding problem's loss sits at the last step: what reaches step 1 has crossed 19 tanh layers
        assert norms[0] < 1e-3 * norms[-1]
        assert norms[0] < norms[9] < norms[-1]


def test_probe_off_by_default_and_on_with_every(tmp_path):
    assert callbacks(ProbeConfig(), tmp_path) == []
    (probe,) = callbacks(ProbeConfig(GradFlowConfig(every=3)), tmp_path)
    assert isinstance(probe, GradFlow) and probe.every == 3 and probe.folder == tmp_path


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unrolled_cells_compute_the_same_function_and_gradient_flow(kind):
    """Two layers, so that the probe must pick the top layer out of the state."""
    torch.manual_seed(0)
    fused = FUSED[kind](3, 6, 2, batch_first=True).double()
    reference = REFERENCE[kind](3, 6, 2).double()
    reference.load_state_dict(fused.state_dict())
    x = torch.randn(4, 12, 3, dtype=torch.float64)
    weights = torch.randn(4, 12, 6, dtype=torch.float64)  # a loss on every step: both routes out of h_t count
    found = []
    for cell in (fused, reference):
        unroll = Unroll()
        h, _ = unroll(cell, x, None)
        assert torch.allclose(h, cell(x)[0], atol=1e-12)  # stepping changes nothing the model computes
        ((h * weights).sum() ** 2).backward()
        found.append(unroll.norms())
    assert len(found[0]) == 12
    assert found[1] == pytest.approx(found[0], rel=1e-9)


def test_the_gradient_of_the_last_step_is_the_direct_one():
    """At t = T nothing flows back through the state: dL/dh_T is the loss's own gradient."""
    torch.manual_seed(1)
    cell = FUSED["rnn"](2, 5, 1, batch_first=True).double()
    x = torch.randn(3, 7, 2, dtype=torch.float64)
    unroll = Unroll()
    h, _ = unroll(cell, x, None)
    (h[:, -1] ** 2).sum().backward()
    assert unroll.norms()[-1] == pytest.approx(float((2 * h[:, -1]).detach().norm()), rel=1e-12)
