"""The expRNN (Lezcano-Casado & Martinez-Rubio 2019): W_hh = exp(A) stays orthogonal, modReLU units.

The contract kit's checks of the cell (shapes, windows, determinism) run in test_contract.py with
every other installed cell.
"""

import pytest
import torch

from runner_plugins.cells.config import ExpRNNConfig, SkewInit
from runner_plugins.cells.exprnn import ExpRNN, skew


def orthogonality_error(W: torch.Tensor) -> float:
    return float((W.T @ W - torch.eye(len(W))).abs().max())


@pytest.mark.parametrize("init", list(SkewInit))
def test_w_hh_starts_orthogonal_as_a_rotation_of_planes(init):
    torch.manual_seed(0)
    cell = ExpRNN(3, 64, init)
    A = skew(cell.log_weight_hh.detach())
    assert torch.equal(A, -A.T)
    W = cell.recurrent_weight().detach()
    assert orthogonality_error(W) < 1e-5
    angles = torch.linalg.eigvals(W).angle().abs()
    if init == SkewInit.henaff:  # angles ~ U(-pi, pi): they spread over the half circle
        assert angles.max() > 2.0 and angles.min() < 1.0
    else:  # Cayley: each plane turns by s = -tan(u / 2), u ~ U(0, pi/2): by less than 1 radian
        assert (angles < 1 + 1e-6).all() and angles.max() > 0.5


def test_w_hh_stays_orthogonal_through_training():
    """RMSprop at a large step for 300 steps on a task that pulls W_hh hard: never further than 1e-5."""
    torch.manual_seed(0)
    cell, head = ExpRNN(2, 32), torch.nn.Linear(32, 1)
    optimizer = torch.optim.RMSprop([*cell.parameters(), *head.parameters()], lr=1e-2, alpha=0.9)
    start = cell.recurrent_weight().detach().clone()
    for _ in range(300):
        x = torch.randn(16, 20, 2)
        outputs, _ = cell(x)
        loss = ((head(outputs[:, -1]).squeeze(-1) - x[:, 0, 0]) ** 2).mean()  # recall the first input
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert orthogonality_error(cell.recurrent_weight().detach()) < 1e-5
    assert (cell.recurrent_weight().detach() - start).abs().max() > 0.1  # it did move, over the rotations


def test_the_step_is_the_equation():
    torch.manual_seed(0)
    cell = ExpRNN(3, 6)
    x = torch.randn(2, 5, 3)
    outputs, state = cell(x)
    W_hh, W_xh, b = cell.recurrent_weight(), cell.weight_ih, cell.bias
    h = torch.zeros(2, 6)
    for t in range(5):
        z = x[:, t] @ W_xh.T + h @ W_hh.T
        h = torch.sign(z) * torch.relu(z.abs() + b)  # modReLU
        assert torch.allclose(outputs[:, t], h, atol=1e-6)
    assert torch.allclose(state, h.unsqueeze(0), atol=1e-6)


def test_modrelu_keeps_the_sign_and_shifts_the_magnitude():
    cell = ExpRNN(1, 4)
    with torch.no_grad():
        cell.bias.copy_(torch.tensor([-0.5, -0.5, 0.5, 0.0]))
    z = torch.tensor([[0.2, -2.0, -1.0, 3.0]])
    assert torch.allclose(cell.modrelu(z), torch.tensor([[0.0, -1.5, -1.5, 3.0]]))


def test_the_recurrent_gradient_keeps_its_norm():
    """The linear part of the recurrence is norm-preserving: ||W_hh^T g|| = ||g|| for every g."""
    cell = ExpRNN(1, 10)
    g = torch.randn(100, 10)
    W = cell.recurrent_weight().detach()
    assert torch.allclose((g @ W).norm(dim=1), g.norm(dim=1), atol=1e-5)


def test_the_config_refuses_a_state_too_small_for_a_rotation():
    with pytest.raises(ValueError, match=r"cell\.hidden_size must be at least 2"):
        ExpRNNConfig(hidden_size=1)
