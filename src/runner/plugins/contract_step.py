"""The contract of what acts on every training step, as checks: gradient handlers and optimizers.

Both may keep state from step to step, and a run killed and rerun from its
checkpoint must end bit for bit as one left alone. So besides what one step
must do, each check runs the plugin for a few steps twice: once straight
through, once saved mid-way (its state through ``torch.save`` and
``torch.load(weights_only=True)``, as a checkpoint is), loaded into a newly
built one and run on. Different results fail, naming the plugin and what it
should save. Import the checks from :mod:`runner.testing`.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from runner.plugins import registry
from runner.plugins.contract import ContractError, _expect, _plugin, check_config
from runner.plugins.registry import Registry

SHAPES = ((4, 3), (4,), (2, 3, 2))  # the parameters a check hands a handler: a matrix, a bias, a 3-d tensor
STEPS, CUT = 6, 3  # steps run straight through; the step before which the state is saved and loaded


def _saved(what: str, state: Any) -> Any:
    """``state`` after a trip through a checkpoint file: ``torch.save``, then ``torch.load(weights_only=True)``."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    try:
        return torch.load(buffer, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ContractError(
            f"{what}: its state_dict() holds objects a checkpoint cannot be read back with "
            f"(torch.load(weights_only=True) reads tensors, numbers, strings and containers of them): {exc}"
        ) from None


def _same(a: Any, b: Any) -> bool:
    """Equal bit for bit: tensors, and tuples and lists of them."""
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _check_resumes(
    what: str,
    build: Callable[[], Any],
    run: Callable[[Any, int], Any],
    save: Callable[[Any], Any],
    load: Callable[[Any, Any], None],
    hint: str,
    seed: int,
) -> None:
    """``run(thing, step)`` for :data:`STEPS` steps straight through equals a run saved before :data:`CUT` and resumed.

    Torch's global generator is seeded before each build and, on resume, put back
    as it was at the save, as the runner's checkpoint does.
    """
    import torch

    def through(thing: Any, steps: range) -> list[Any]:
        return [run(thing, step) for step in steps]

    torch.manual_seed(seed)
    whole = through(build(), range(STEPS))
    torch.manual_seed(seed)
    again = through(build(), range(STEPS))
    _expect(
        all(map(_same, whole, again)),
        f"{what}: two built from the same config, with torch's generator seeded alike, give different results: "
        "draw any randomness from torch or from a generator seeded by the config (not Python's random)",
    )
    torch.manual_seed(seed)
    first = build()
    through(first, range(CUT))
    state, rng = _saved(what, save(first)), torch.get_rng_state()
    second = build()
    load(second, state)
    torch.set_rng_state(rng)
    for step, (wanted, got) in enumerate(zip(whole[CUT:], through(second, range(CUT, STEPS)), strict=True), CUT):
        _expect(
            _same(wanted, got),
            f"{what}: does not resume exactly: saved after step {CUT - 1} and loaded into a newly built one, "
            f"it gives other results at step {step} than one that ran on, so a run killed and rerun from its "
            f"checkpoint would not repeat the uninterrupted run. Its result depends on state it does not save: {hint}",
        )


def _grad_state_hint(handler: Any) -> str:
    import torch

    from runner._train.grad_handler import has_state

    if isinstance(handler, torch.nn.Module):
        return "keep every value it depends on in a buffer (self.register_buffer), not in a plain attribute"
    if has_state(handler):
        return "its state_dict() leaves out some of what its result depends on"
    return (
        "give it state_dict() and load_state_dict() (PyTorch's convention), or make it an nn.Module with its "
        "state in buffers; a handler that counts steps can declare the keyword `step` and be given the global step"
    )


def check_grad_handler(
    name: str, overrides: Sequence[str] = (), *, seed: int = 0, plugins: Registry | None = None
) -> dict[float, bool]:
    """Call handler ``name`` on gradients of tiny, ordinary and huge scale; return its answer per scale.

    The answer must be a bool (or a 0-d bool tensor) that is True exactly when
    the gradients changed; the weights and the gradients' shapes never change.
    A handler that declares the keyword ``step`` is given it, as the runner
    does. Then the handler must resume exactly: saved mid-way (its
    ``state_dict()``, or an ``nn.Module``'s buffers) and loaded into a newly
    built one, it gives what one that ran on gives.
    """
    import torch

    from runner._train.grad_handler import has_state, takes_step

    plugins = plugins or registry.load()
    build = _plugin(plugins, "grad", name).builder
    config = check_config("grad", name, overrides, plugins)
    handler = build(config)
    what = f"grad={name}"
    _expect(callable(handler), f"{what}: the builder returned {type(handler).__name__}, which is not callable")
    if isinstance(handler, torch.nn.Module):
        held = [n for n, _ in handler.named_parameters()]
        _expect(not held, f"{what}: the handler holds parameters {held}, which the optimizer would train: use buffers")
    stepped = takes_step(handler)

    def call(handler: Any, params: list, step: int) -> Any:
        return handler(params, step=step) if stepped else handler(params)

    generator = torch.Generator().manual_seed(seed)
    answers = {}
    for step, scale in enumerate((1e-8, 1.0, 1e8)):
        params = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in SHAPES]
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator) * scale
        weights, grads = [p.detach().clone() for p in params], [p.grad.clone() for p in params]
        answer = call(handler, params, step)
        _expect(
            isinstance(answer, bool)
            or (isinstance(answer, torch.Tensor) and answer.dtype == torch.bool and answer.ndim == 0),
            f"{what}: answered {answer!r}, not a bool or a 0-d bool tensor",
        )
        _expect(
            all(torch.equal(p.detach(), w) for p, w in zip(params, weights, strict=True)),
            f"{what}: changed the weights",
        )
        _expect(
            all(p.grad.shape == g.shape and torch.isfinite(p.grad).all() for p, g in zip(params, grads, strict=True)),
            f"{what}: left gradients of another shape or not finite",
        )
        changed = any(not torch.equal(p.grad, g) for p, g in zip(params, grads, strict=True))
        _expect(
            bool(answer) == changed,
            f"{what}: answered {bool(answer)} at scale {scale:g}, but the gradients "
            f"{'changed' if changed else 'did not change'}",
        )
        answers[scale] = bool(answer)

    def run(handler: Any, step: int) -> tuple[list, bool]:
        drawn = torch.Generator().manual_seed(seed + 1 + step)  # the same gradients at a step, however it was reached
        params = [torch.nn.Parameter(torch.zeros(shape)) for shape in SHAPES]
        for p in params:
            p.grad = torch.randn(p.shape, generator=drawn)
        answer = call(handler, params, step)
        return [p.grad for p in params], bool(answer)

    def save(handler: Any) -> Any:
        return handler.state_dict() if has_state(handler) or isinstance(handler, torch.nn.Module) else None

    def load(handler: Any, state: Any) -> None:
        if state is not None:
            handler.load_state_dict(state)

    _check_resumes(what, lambda: build(config), run, save, load, _grad_state_hint(handler), seed)
    return answers


def check_optimizer(name: str, overrides: Sequence[str] = (), *, seed: int = 0, plugins: Registry | None = None) -> Any:
    """Build optimizer ``name`` over a small model and check the optimizer contract; return the optimizer.

    It is a ``torch.optim.Optimizer`` holding every parameter given, once, each
    group with an ``lr``; ``step(closure)`` calls the closure and returns its
    loss, and moves the parameters; the runner's schedule (a torch
    ``LambdaLR``) takes it. Then it resumes exactly: its ``state_dict()`` saved
    mid-way with the weights and loaded into one newly built over a copy of
    them, it moves the weights bit for bit as one that ran on.
    """
    import torch

    plugins = plugins or registry.load()
    build = _plugin(plugins, "optim", name).builder
    config = check_config("optim", name, overrides, plugins)
    what = f"optim={name}"
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = torch.randn(8, 3, generator=generator), torch.randn(8, 2, generator=generator)

    def model() -> list:
        torch.manual_seed(seed)
        layers = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
        return list(layers.parameters())

    def closure_of(params: list, calls: list | None = None):
        def closure() -> Any:
            if calls is not None:
                calls.append(1)
            for p in params:
                p.grad = None
            w1, b1, w2, b2 = params
            loss = ((torch.tanh(inputs @ w1.T + b1) @ w2.T + b2 - targets) ** 2).mean()
            loss.backward()
            return loss

        return closure

    params = model()
    optimizer = build(config, params)
    _expect(
        isinstance(optimizer, torch.optim.Optimizer),
        f"{what}: the builder returned {type(optimizer).__name__}, not a torch.optim.Optimizer "
        "(the runner's learning-rate schedule, torch's LambdaLR, takes nothing else)",
    )
    held = [p for group in optimizer.param_groups for p in group["params"]]
    _expect(
        len(held) == len(params) and {id(p) for p in held} == {id(p) for p in params},
        f"{what}: its param groups hold {len(held)} tensors, not each of the {len(params)} parameters given once",
    )
    _expect(
        all(float(group.get("lr", 0)) > 0 for group in optimizer.param_groups),
        f"{what}: a param group has no positive lr, which the runner's schedule scales and logs",
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.5**epoch)  # as configure_optimizers
    before, calls = [p.detach().clone() for p in params], []
    loss = optimizer.step(closure_of(params, calls))
    _expect(calls, f"{what}: step(closure) did not call the closure, which Lightning passes: call it first")
    _expect(
        isinstance(loss, torch.Tensor) and loss.ndim == 0,
        f"{what}: step(closure) returned {loss!r}, not the closure's loss",
    )
    _expect(
        any(not torch.equal(p.detach(), b) for p, b in zip(params, before, strict=True)),
        f"{what}: step(closure) left every parameter as it was",
    )
    schedule.step()
    _expect(
        all(group["lr"] == group["initial_lr"] * 0.5 for group in optimizer.param_groups),
        f"{what}: the runner's schedule (LambdaLR) did not set its param groups' lr",
    )

    def fresh() -> tuple[list, Any]:
        params = model()
        return params, build(config, params)

    def run(thing: tuple[list, Any], step: int) -> list:
        params, optimizer = thing
        optimizer.step(closure_of(params))
        return [p.detach().clone() for p in params]

    def save(thing: tuple[list, Any]) -> Any:
        params, optimizer = thing
        return {"weights": [p.detach().clone() for p in params], "optimizer": optimizer.state_dict()}

    def load(thing: tuple[list, Any], state: Any) -> None:
        params, optimizer = thing
        with torch.no_grad():
            for p, saved in zip(params, state["weights"], strict=True):
                p.copy_(saved)
        optimizer.load_state_dict(state["optimizer"])

    hint = "keep all of it in self.state and the param groups, which state_dict() saves, as torch's optimizers do"
    _check_resumes(what, fresh, run, save, load, hint, seed)
    return optimizer
