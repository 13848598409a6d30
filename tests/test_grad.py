"""Gradient handlers change gradients as their rules say and report whether they did; a stateful one resumes."""

import torch

from conftest import assert_resumes_exactly, results
from runner_plugins.grad import (
    ClipNormConfig,
    ClipValueConfig,
    NoiseConfig,
    NoneConfig,
    build_clip_norm,
    build_clip_value,
    build_noise,
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


def test_noise_of_neelakantan_et_al_2015_has_variance_eta_over_1_plus_t_to_the_gamma():
    handler = build_noise(NoiseConfig(eta=0.3, gamma=0.55, seed=0))
    for step in (0, 9, 999):
        params = params_with_grads(torch.zeros(20_000))
        assert bool(handler(params, step=step))
        wanted = 0.3 / (1 + step) ** 0.55
        assert abs(params[0].grad.var().item() / wanted - 1) < 0.05, step
        assert abs(params[0].grad.mean().item()) < 4 * (wanted / 20_000) ** 0.5


def test_noise_follows_its_seed_and_its_saved_generator():
    def drawn(handler, step):
        params = params_with_grads(torch.zeros(5))
        handler(params, step=step)
        return params[0].grad

    one, two = (build_noise(NoiseConfig(seed=3)) for _ in range(2))
    assert torch.equal(drawn(one, 0), drawn(two, 0))
    assert not torch.equal(drawn(one, 1), drawn(build_noise(NoiseConfig(seed=4)), 1))
    later = build_noise(NoiseConfig(seed=3))
    later.load_state_dict(one.state_dict())  # before its first call, as a run resumed from a checkpoint
    assert torch.equal(drawn(later, 2), drawn(one, 2))


def test_a_run_with_gradient_noise_killed_and_rerun_repeats_the_uninterrupted_run(tmp_path):
    # bit for bit, every row: the noise generator was saved in the checkpoint and the step given again
    record = assert_resumes_exactly("grad=noise", "grad.eta=0.3", cwd=tmp_path)
    assert record["steps"] == 150
    assert results(tmp_path / "whole")["val"] == results(tmp_path / "killed")["val"]
