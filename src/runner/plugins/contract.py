"""The contract of each hook, as checks: what any config, cell and dataset must do.

Each check looks the plugin up by name among the installed ones (or in
``plugins``), builds it from the config Hydra composes for it, as a run does,
and raises :class:`ContractError`, an ``AssertionError`` saying what broke,
when the contract (docs/plugins.md) does not hold. What acts on every training
step (gradient handlers, optimisers) is checked in :mod:`runner.plugins.contract_step`.
Import the checks from :mod:`runner.testing`, the kit's public face; torch is
imported when a check runs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterator, Sequence
from enum import Enum
from itertools import islice
from typing import Any

from runner.plugins import registry
from runner.plugins.registry import Registry
from runner.task import Task


class ContractError(AssertionError):
    """A plugin does not keep the contract of its hook."""


def _expect(condition: object, message: str) -> None:
    if not condition:
        raise ContractError(message)


def _plugin(plugins: Registry, kind: str, name: str):
    try:
        return plugins.get(kind, name)
    except KeyError as exc:  # not installed, or it failed to register: the registry says which
        raise ContractError(f"{kind}={name}: {exc.args[0]}") from None


def check_config(kind: str, name: str, overrides: Sequence[str] = (), plugins: Registry | None = None) -> Any:
    """Compose ``kind=name`` and ``overrides`` with Hydra, as ``python -m runner`` does; return the typed config.

    Checks that the instance is the plugin's config class, that every plain
    override of the plugin's group arrived in it, and that it survives the trip
    through a saved config (``.hydra/config.yaml``) unchanged.
    """
    from hydra import compose, initialize_config_module
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from runner._config import schema

    plugins = plugins or registry.load()
    plugin = _plugin(plugins, kind, name)
    schema.store(plugins)
    try:
        with initialize_config_module("runner._config.conf", version_base="1.3"):
            composed = compose("config", overrides=[f"{kind}={name}", *overrides])
    except (HydraException, OmegaConfBaseException) as exc:
        raise ContractError(f"{kind}={name}: the config does not compose with {list(overrides)}: {exc}") from exc
    try:
        instance = schema.typed(composed[kind])  # runs the config's __post_init__
    except Exception as exc:
        raise ContractError(
            f"{kind}={name}: the config rejects {list(overrides)}: {type(exc).__name__}: {exc}"
        ) from exc
    _expect(
        type(instance) is plugin.config_class,
        f"{kind}={name}: Hydra gave back {type(instance).__name__}, not {plugin.config_class.__name__}",
    )
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
    again = schema.typed(OmegaConf.merge(OmegaConf.structured(plugin.config_class), saved))
    _expect(
        dataclasses.asdict(again) == dataclasses.asdict(instance),
        f"{kind}={name}: the config changes when saved and read back: {instance} -> {again}",
    )
    return instance


def check_cell(
    name: str,
    overrides: Sequence[str] = (),
    *,
    input_size: int = 3,
    batch: int = 2,
    steps: int = 6,
    seed: int = 0,
    atol: float = 1e-5,
    plugins: Registry | None = None,
):
    """Build cell ``name`` and check the cell contract; return the module.

    In eval mode: batch-first shapes and ``output_size``; two passes over the
    same inputs agree (dropout follows ``self.training``); ``state=None`` is
    forward's default; running the sequence in two windows, passing the state
    on, gives the one long pass (outputs and final state); the runner's
    ``detach`` of the state stops gradients at the window boundary; float64
    inputs give float64 outputs and state, and inputs on another device (an
    accelerator, else torch's ``meta`` device) keep them there. In train mode:
    every parameter gets a gradient. Then: the same seed builds the same cell.
    """
    import torch

    from runner._train.model import detach

    plugins = plugins or registry.load()
    config = check_config("cell", name, overrides, plugins)
    build = functools.partial(_plugin(plugins, "cell", name).builder, config, input_size)
    torch.manual_seed(seed)
    cell = build()
    _expect(isinstance(cell, torch.nn.Module), f"cell={name}: the builder returned {type(cell).__name__}, not a Module")
    size = getattr(cell, "output_size", None)
    _expect(isinstance(size, int) and size > 0, f"cell={name}: output_size is {size!r}, not a positive int")
    cell.eval()  # dropout off: equal inputs must give equal outputs
    x = torch.randn(batch, steps + 2, input_size, generator=torch.Generator().manual_seed(seed))
    x, more = x[:, :steps], x[:, steps:]
    out, state = cell(x)
    _expect(
        tuple(out.shape) == (batch, steps, size),
        f"cell={name}: outputs of shape {tuple(out.shape)} for inputs {tuple(x.shape)}; "
        f"expected (batch, time, output_size) = {(batch, steps, size)}",
    )
    _expect(
        torch.equal(cell(x)[0], out),
        f"cell={name}: two passes over the same inputs differ in eval mode: "
        "dropout (or any noise) must be off when self.training is False, e.g. F.dropout(x, p, self.training)",
    )
    _expect(torch.equal(cell(x, None)[0], out), f"cell={name}: state=None is not the default state")

    k = steps // 2
    first, carried = cell(x[:, :k])
    second, final = cell(x[:, k:], carried)
    _expect(
        torch.allclose(torch.cat([first, second], dim=1), out, atol=atol),
        f"cell={name}: two windows with the state passed on differ from one pass over the sequence",
    )
    _expect(
        torch.allclose(cell(more, final)[0], cell(more, state)[0], atol=atol),
        f"cell={name}: the final state after two windows differs from the one after one pass",
    )

    leaf = x.clone().requires_grad_(True)
    _, carried = cell(leaf[:, :k])
    second, _ = cell(leaf[:, k:], detach(carried))
    (grad,) = torch.autograd.grad(second.sum(), leaf)
    _expect(
        torch.all(grad[:, :k] == 0),
        f"cell={name}: gradients cross a detached state: put every tensor of the state in a tensor, "
        "tuple, list or dict, where the runner's detach finds it",
    )
    _check_dtype_and_device(name, cell, x)

    cell.train()
    out, _ = cell(x)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed + 1))
    named = [(n, p) for n, p in cell.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * weights).sum(), [p for _, p in named], allow_unused=True)
    for (pname, _), g in zip(named, grads, strict=True):
        _expect(
            g is not None and torch.isfinite(g).all() and g.abs().sum() > 0,
            f"cell={name}: parameter {pname} gets no gradient from the outputs",
        )

    torch.manual_seed(seed)
    twin = build().eval()
    cell.eval()
    _expect(torch.equal(twin(x)[0], cell(x)[0]), f"cell={name}: the same seed builds a different cell")
    return cell


def _tensors(state: Any) -> Iterator[Any]:
    """Every tensor of a cell's state, found where the runner's detach finds them."""
    import torch

    if isinstance(state, torch.Tensor):
        yield state
    elif isinstance(state, (tuple, list, dict)):
        for part in state.values() if isinstance(state, dict) else state:
            yield from _tensors(part)


def _second_device():
    """An accelerator where there is one; else ``meta``: tensors without values, on which device mix-ups fail."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("meta")


def _check_dtype_and_device(name: str, cell: Any, x: Any) -> None:
    """The cell computes in its inputs' dtype (float64 tried) and on their device (a second one tried)."""
    import torch

    hint = "make the zero state with x.new_zeros(...), which follows the inputs' dtype and device"
    device = _second_device()
    for dtype, where, inputs in (
        (torch.float64, "float64 inputs", x.double()),
        (x.dtype, f"inputs on the {device.type} device", x.to(device)),
    ):
        moved = copy.deepcopy(cell).to(device=inputs.device, dtype=dtype)
        try:
            out, state = moved(inputs)
        except Exception as exc:
            if inputs.device.type == "meta" and "device" not in str(exc):
                continue  # an operation that needs values, which meta tensors lack: this device cannot tell
            raise ContractError(f"cell={name}: fails on {where} ({type(exc).__name__}: {exc}); {hint}") from exc
        for what, t in (("outputs", out), *(("state", t) for t in _tensors(state))):
            _expect(
                t.dtype == dtype and t.device.type == inputs.device.type,
                f"cell={name}: on {where} it returns {what} of {t.dtype} on {t.device.type}; {hint}",
            )


def _ready(build, config):
    datamodule = build(config)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def _check_batch(name: str, task: Task, batch: Any) -> None:
    import torch

    from runner._train.model import IGNORE

    _expect(isinstance(batch, (tuple, list)) and len(batch) == 2, f"data={name}: a batch is not (inputs, targets)")
    inputs, targets = batch
    n = inputs.shape[0]
    if task.inputs == "tokens":
        _expect(
            inputs.dtype == torch.long and inputs.ndim == 2,
            f"data={name}: token inputs must be int64 (batch, time), got {inputs.dtype} {tuple(inputs.shape)}",
        )
        _expect(
            inputs.min() >= 0 and inputs.max() < task.input_size,
            f"data={name}: token ids outside [0, input_size={task.input_size})",
        )
    else:
        _expect(
            inputs.is_floating_point() and inputs.ndim == 3 and inputs.shape[-1] == task.input_size,
            f"data={name}: real inputs must be float (batch, time, {task.input_size}), got {tuple(inputs.shape)}",
        )
    per_step = (n, inputs.shape[1]) if task.loss_steps == "all" else (n,)
    if task.targets == "classes":
        expected = per_step
        _expect(targets.dtype == torch.long, f"data={name}: class targets must be int64, got {targets.dtype}")
        valid = (targets == IGNORE) | ((targets >= 0) & (targets < task.output_size))
        _expect(valid.all(), f"data={name}: class targets outside [0, output_size={task.output_size}) and not -100")
    else:
        expected = per_step if task.output_size == 1 else (*per_step, task.output_size)
        _expect(
            targets.is_floating_point() and torch.isfinite(targets).all(),
            f"data={name}: real targets must be finite floats",
        )
    _expect(
        tuple(targets.shape) == expected,
        f"data={name}: targets of shape {tuple(targets.shape)}; the Task "
        f"(targets={task.targets}, loss_steps={task.loss_steps}) says {expected}",
    )


def check_dataset(
    name: str, overrides: Sequence[str] = (), *, batches: int = 3, plugins: Registry | None = None
) -> Task:
    """Build dataset ``name``, check its Task and its first batches of every split; return the Task.

    The data module is built twice, with torch's global generator in different
    states: equal batches show that the data follow from the config alone.
    """
    import torch

    plugins = plugins or registry.load()
    config = check_config("data", name, overrides, plugins)
    build = _plugin(plugins, "data", name).builder
    torch.manual_seed(0)
    datamodule = _ready(build, config)
    try:
        task = datamodule.task
    except (TypeError, ValueError) as exc:  # what runner.task.Task raises for fields that do not fit together
        raise ContractError(f"data={name}: the data module's task is not a valid Task: {exc}") from exc
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
            torch.equal(a, b) for x, y in zip(again, seen[split], strict=True) for a, b in zip(x, y, strict=True)
        )
        _expect(
            same,
            f"data={name}: the {split} batches change with torch's global generator; "
            "draw them from a generator seeded by the config",
        )
    return task
