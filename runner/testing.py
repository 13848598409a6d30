"""The contract test kit: checks that any cell, dataset or gradient handler must pass.

Plain helpers, usable from any test framework or a script::

    from runner.testing import check_cell, check_dataset, check_grad_handler
    check_cell("indrnn", ["cell.hidden_size=8"])

Each looks the plugin up by name among the installed ones (or in ``plugins``),
builds it from the config Hydra composes for it, checks the contract of its
hook (see docs/plugins.md) and raises :class:`ContractError`, an
``AssertionError`` saying what broke, when it does not hold.

Installed with the runner, this module is also a pytest plugin (entry point
``pytest11``) that gives every test suite the ``runner_train`` fixture: a tiny
training through the real ``python -m runner``. Importing it needs neither
pytest nor torch; torch is imported when a check runs.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys
import tempfile
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any, Sequence

from runner import registry, run_dir
from runner.registry import Registry
from runner.task import Task

try:
    import pytest
except ImportError:  # the plain helpers work without pytest; only the fixture needs it
    pytest = None

# Settings of the tiny training; the caller's overrides come after them and win.
TINY_TRAINING = ("trainer.max_steps=3", "trainer.val_check_interval=3", "trainer.limit_val_batches=2",
                 "trainer.log_every_n_steps=1")


class ContractError(AssertionError):
    """A plugin does not keep the contract of its hook."""


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise ContractError(message)


def check_config(kind: str, name: str, overrides: Sequence[str] = (), plugins: Registry | None = None) -> Any:
    """Compose ``kind=name`` and ``overrides`` with Hydra, as ``python -m runner`` does; return the typed config.

    Checks that the instance is the plugin's config class, that every plain
    override of the plugin's group arrived in it, and that it survives the trip
    through a saved config (``.hydra/config.yaml``) unchanged.
    """
    from hydra import compose, initialize_config_module
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from runner import config

    plugins = plugins or registry.load()
    plugin = plugins.get(kind, name)
    config.store(plugins)
    with initialize_config_module("runner_conf", version_base="1.3"):
        composed = compose("config", overrides=[f"{kind}={name}", *overrides])
    instance = config.typed(composed[kind])  # runs the config's __post_init__
    _expect(type(instance) is plugin.config_class,
            f"{kind}={name}: Hydra gave back {type(instance).__name__}, not {plugin.config_class.__name__}")
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        path = override.key_or_group.split(".")
        if path[0] != kind or len(path) < 2 or override.is_sweep_override() or override.is_delete():
            continue
        value = functools.reduce(getattr, path[1:], instance)
        wanted = override.value()
        if isinstance(value, Enum):
            same = wanted in (value.name, value.value)
        else:  # Hydra reads `data.train=5` as 5; the config holds "5"
            same = value == wanted or str(value) == str(wanted)
        _expect(same, f"{kind}={name}: override {override.input_line} gave {value!r} in the config")
    saved = OmegaConf.create(OmegaConf.to_yaml(OmegaConf.structured(instance)))
    again = config.typed(OmegaConf.merge(OmegaConf.structured(plugin.config_class), saved))
    _expect(dataclasses.asdict(again) == dataclasses.asdict(instance),
            f"{kind}={name}: the config changes when saved and read back: {instance} -> {again}")
    return instance


def check_cell(name: str, overrides: Sequence[str] = (), *, input_size: int = 3, batch: int = 2, steps: int = 6,
               seed: int = 0, atol: float = 1e-5, plugins: Registry | None = None):
    """Build cell ``name`` and check the cell contract; return the module.

    Batch-first shapes and ``output_size``; ``state=None`` is forward's default;
    running the sequence in two windows, passing the state on, gives the one
    long pass (outputs and final state); the runner's ``detach`` of the state
    stops gradients at the window boundary; every parameter gets a gradient;
    the same seed builds the same cell.
    """
    import torch

    from runner.model import detach

    plugins = plugins or registry.load()
    config = check_config("cell", name, overrides, plugins)
    build = functools.partial(plugins.get("cell", name).builder, config, input_size)
    torch.manual_seed(seed)
    cell = build()
    _expect(isinstance(cell, torch.nn.Module), f"cell={name}: the builder returned {type(cell).__name__}, not a Module")
    size = getattr(cell, "output_size", None)
    _expect(isinstance(size, int) and size > 0, f"cell={name}: output_size is {size!r}, not a positive int")
    cell.eval()  # dropout off: equal inputs must give equal outputs
    x = torch.randn(batch, steps + 2, input_size, generator=torch.Generator().manual_seed(seed))
    x, more = x[:, :steps], x[:, steps:]
    out, state = cell(x)
    _expect(tuple(out.shape) == (batch, steps, size),
            f"cell={name}: outputs of shape {tuple(out.shape)} for inputs {tuple(x.shape)}; "
            f"expected (batch, time, output_size) = {(batch, steps, size)}")
    _expect(torch.equal(cell(x, None)[0], out), f"cell={name}: state=None is not the default state")

    k = steps // 2
    first, carried = cell(x[:, :k])
    second, final = cell(x[:, k:], carried)
    _expect(torch.allclose(torch.cat([first, second], dim=1), out, atol=atol),
            f"cell={name}: two windows with the state passed on differ from one pass over the sequence")
    _expect(torch.allclose(cell(more, final)[0], cell(more, state)[0], atol=atol),
            f"cell={name}: the final state after two windows differs from the one after one pass")

    leaf = x.clone().requires_grad_(True)
    _, carried = cell(leaf[:, :k])
    second, _ = cell(leaf[:, k:], detach(carried))
    (grad,) = torch.autograd.grad(second.sum(), leaf)
    _expect(torch.all(grad[:, :k] == 0),
            f"cell={name}: gradients cross a detached state: put every tensor of the state in a tensor, "
            "tuple, list or dict, where the runner's detach finds it")

    cell.train()
    out, _ = cell(x)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    named = [(n, p) for n, p in cell.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * weights).sum(), [p for _, p in named], allow_unused=True)
    for (pname, _), g in zip(named, grads):
        _expect(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0,
                f"cell={name}: parameter {pname} gets no gradient from the outputs")

    torch.manual_seed(seed)
    twin = build().eval()
    cell.eval()
    _expect(torch.equal(twin(x)[0], cell(x)[0]), f"cell={name}: the same seed builds a different cell")
    return cell


def _ready(build, config):
    datamodule = build(config)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def _check_batch(name: str, task: Task, batch: Any) -> None:
    import torch

    from runner.model import IGNORE

    _expect(isinstance(batch, (tuple, list)) and len(batch) == 2, f"data={name}: a batch is not (inputs, targets)")
    inputs, targets = batch
    n = inputs.shape[0]
    if task.inputs == "tokens":
        _expect(inputs.dtype == torch.long and inputs.ndim == 2,
                f"data={name}: token inputs must be int64 (batch, time), got {inputs.dtype} {tuple(inputs.shape)}")
        _expect(0 <= inputs.min() and inputs.max() < task.input_size,
                f"data={name}: token ids outside [0, input_size={task.input_size})")
    else:
        _expect(inputs.is_floating_point() and inputs.ndim == 3 and inputs.shape[-1] == task.input_size,
                f"data={name}: real inputs must be float (batch, time, {task.input_size}), got {tuple(inputs.shape)}")
    per_step = (n, inputs.shape[1]) if task.loss_steps == "all" else (n,)
    if task.targets == "classes":
        expected = per_step
        _expect(targets.dtype == torch.long, f"data={name}: class targets must be int64, got {targets.dtype}")
        valid = (targets == IGNORE) | ((targets >= 0) & (targets < task.output_size))
        _expect(valid.all(), f"data={name}: class targets outside [0, output_size={task.output_size}) and not -100")
    else:
        expected = per_step if task.output_size == 1 else (*per_step, task.output_size)
        _expect(targets.is_floating_point() and torch.isfinite(targets).all(),
                f"data={name}: real targets must be finite floats")
    _expect(tuple(targets.shape) == expected, f"data={name}: targets of shape {tuple(targets.shape)}; the Task "
            f"(targets={task.targets}, loss_steps={task.loss_steps}) says {expected}")


def check_dataset(name: str, overrides: Sequence[str] = (), *, batches: int = 3,
                  plugins: Registry | None = None) -> Task:
    """Build dataset ``name``, check its Task and its first batches of every split; return the Task.

    The data module is built twice, with torch's global generator in different
    states: equal batches show that the data follow from the config alone.
    """
    import torch

    plugins = plugins or registry.load()
    config = check_config("data", name, overrides, plugins)
    build = plugins.get("data", name).builder
    torch.manual_seed(0)
    datamodule = _ready(build, config)
    task = datamodule.task
    _expect(isinstance(task, Task), f"data={name}: the data module's task is {type(task).__name__}, not a Task")
    unknown = set(task.baseline) - {"loss", *task.metrics}
    _expect(not unknown, f"data={name}: baselines {sorted(unknown)} are not among the task's metrics")
    splits = ("train", "val", "test") if task.has_test else ("train", "val")
    seen = {}
    for split in splits:
        seen[split] = list(islice(getattr(datamodule, f"{split}_dataloader")(), batches))
        _expect(seen[split], f"data={name}: the {split} loader gives no batches")
        for batch in seen[split]:
            _check_batch(name, task, batch)
        if task.carry_state:
            sizes = {inputs.shape[0] for inputs, _ in seen[split]}
            _expect(len(sizes) == 1, f"data={name}: carry_state, but {split} windows have batch sizes {sorted(sizes)}")
    torch.manual_seed(1)
    twin = _ready(build, config)
    for split in splits:
        again = list(islice(getattr(twin, f"{split}_dataloader")(), batches))
        same = len(again) == len(seen[split]) and all(
            torch.equal(a, b) for x, y in zip(again, seen[split]) for a, b in zip(x, y))
        _expect(same, f"data={name}: the {split} batches change with torch's global generator; "
                "draw them from a generator seeded by the config")
    return task


def check_grad_handler(name: str, overrides: Sequence[str] = (), *, seed: int = 0,
                       plugins: Registry | None = None) -> dict[float, bool]:
    """Call handler ``name`` on gradients of tiny, ordinary and huge scale; return its answer per scale.

    The answer must be a bool (or a 0-d bool tensor) that is True exactly when
    the gradients changed; the weights and the gradients' shapes never change.
    """
    import torch

    plugins = plugins or registry.load()
    handler = plugins.get("grad", name).builder(check_config("grad", name, overrides, plugins))
    _expect(callable(handler), f"grad={name}: the builder returned {type(handler).__name__}, which is not callable")
    generator = torch.Generator().manual_seed(seed)
    answers = {}
    for scale in (1e-8, 1.0, 1e8):
        params = [torch.nn.Parameter(torch.randn(shape, generator=generator)) for shape in ((4, 3), (4,), (2, 3, 2))]
        for p in params:
            p.grad = torch.randn(p.shape, generator=generator) * scale
        weights, grads = [p.detach().clone() for p in params], [p.grad.clone() for p in params]
        answer = handler(params)
        _expect(isinstance(answer, bool) or (isinstance(answer, torch.Tensor) and answer.dtype == torch.bool
                                             and answer.ndim == 0),
                f"grad={name}: answered {answer!r}, not a bool or a 0-d bool tensor")
        _expect(all(torch.equal(p.detach(), w) for p, w in zip(params, weights)), f"grad={name}: changed the weights")
        _expect(all(p.grad.shape == g.shape and torch.isfinite(p.grad).all() for p, g in zip(params, grads)),
                f"grad={name}: left gradients of another shape or not finite")
        changed = any(not torch.equal(p.grad, g) for p, g in zip(params, grads))
        _expect(bool(answer) == changed,
                f"grad={name}: answered {bool(answer)} at scale {scale:g}, but the gradients "
                f"{'changed' if changed else 'did not change'}")
        answers[scale] = bool(answer)
    return answers


def train(*overrides: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """Run ``python -m runner`` with :data:`TINY_TRAINING` and ``overrides`` in a new folder under ``cwd``.

    Returns the run's ``results.json``; raises :class:`ContractError` with the
    end of the log when the run left none.
    """
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=cwd))
    command = [sys.executable, "-m", "runner", *TINY_TRAINING, *overrides, f"hydra.run.dir={folder}"]
    done = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    record = run_dir.read_results(folder)
    _expect(record is not None, f"{' '.join(command[1:])} exited {done.returncode} without "
            f"{run_dir.RESULTS}:\n{done.stderr[-3000:]}")
    return record


if pytest is not None:

    @pytest.fixture
    def runner_train(tmp_path: Path):
        """``runner_train("cell=mycell", "data=adding", ...)``: a tiny training; returns results.json."""
        return functools.partial(train, cwd=tmp_path)
