"""Gradient handlers change gradients as their rules say and report whether they did."""

import torch

from runner_plugins.grad import (
    ClipNormConfig,
    ClipValueConfig,
    NoneConfig,
    build_clip_norm,
    build_clip_value,
    build_none,
)


def params_with_grads(*grads):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros_like(g))
        p.grad = g.clone()
        params.append(p)
    return params


def total_norm(params):
    return torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in params])).item()


def test_clip_norm_scales_the_global_norm_down_to_max_norm():
    params = params_with_grads(torch.tensor([3.0, 0.0]), torch.tensor([4.0]))  # global norm 5
    assert bool(build_clip_norm(ClipNormConfig(max_norm=1.0))(params))
    assert abs(total_norm(params) - 1.0) < 1e-6
    torch.testing.assert_close(params[0].grad, torch.tensor([0.6, 0.0]))  # direction kept


def test_clip_norm_leaves_small_gradients():
    params = params_with_grads(torch.tensor([0.3, 0.4]))
    assert not bool(build_clip_norm(ClipNormConfig(max_norm=1.0))(params))
    torch.testing.assert_close(params[0].grad, torch.tensor([0.3, 0.4]))


def test_clip_value_clamps_each_entry():
    params = params_with_grads(torch.tensor([-3.0, 0.5]), torch.tensor([2.0]))
    assert bool(build_clip_value(ClipValueConfig(clip_value=1.0))(params))
    torch.testing.assert_close(params[0].grad, torch.tensor([-1.0, 0.5]))
    torch.testing.assert_close(params[1].grad, torch.tensor([1.0]))


def test_none_changes_nothing():
    params = params_with_grads(torch.tensor([30.0]))
    assert build_none(NoneConfig())(params) is False
    assert params[0].grad.item() == 30.0
