"""Discover plugins from entry points and collect what they register.

Entry points in the group ``runner`` are loaded one at a time, built-ins
first. Whatever goes wrong with one plugin is recorded as a :class:`Failure`
naming it, and every other plugin keeps working: a module that fails to
import, a hook pluggy would not call (unknown name, missing ``@hookimpl``,
an argument not named ``register``), a hook that raises, and anything
registered that is malformed, already taken or has a config class Hydra
cannot use (:mod:`runner.plugin_config`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

import pluggy

from runner import PLUGIN_API, hookspecs
from runner.plugins import schema
from runner.plugins.schema import Problem

GROUP = hookspecs.PROJECT
BUILTIN_DIST = "rnn-runner"  # the distribution that installs the runner and its built-in plugins
HOOKS = {
    "cell": "register_cells",
    "data": "register_datasets",
    "grad": "register_grad_handlers",
    "optim": "register_optimizers",
}
DISABLE_ENV = "RUNNER_DISABLE_PLUGINS"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Origin:
    """Where a plugin comes from: an entry point and the distribution that declares it."""

    entry_point: str
    target: str  # the module the entry point names
    distribution: str | None = None
    version: str | None = None

    @classmethod
    def of(cls, ep: EntryPoint) -> Origin:
        dist = ep.dist
        return cls(ep.name, ep.value, dist.name if dist else None, dist.version if dist else None)

    def __str__(self) -> str:
        where = f"{self.distribution} {self.version}" if self.distribution else "unknown distribution"
        return f"'{self.entry_point}' ({where}, entry point {self.entry_point} = {self.target})"


@dataclass(frozen=True)
class Plugin:
    """One registered cell, dataset, gradient handler or optimizer."""

    kind: str
    name: str
    builder: Callable
    config_class: type
    origin: Origin

    @property
    def source(self) -> str:
        return str(self.origin)


@dataclass(frozen=True)
class Failure:
    """A plugin, or one thing it registers, that could not be used, and why."""

    origin: Origin
    reason: str
    kind: str | None = None  # set when one registered thing failed: cell, data, grad or optim
    name: str | None = None  # ... and its name
    field: str | None = None  # ... and the config field at fault, where one is
    traceback: str | None = None  # where an exception was raised

    @property
    def source(self) -> str:
        return str(self.origin)

    def __str__(self) -> str:
        return f"plugin {self.source}: {what_failed(self.kind, self.name, self.field, self.reason)}"


def what_failed(kind: str | None, name: str | None, field: str | None, reason: str) -> str:
    """``cell 'mycell', field 'width': reason``, as much of it as applies."""
    what = f"{kind} {name!r}" if kind else ""
    if field:
        what += f", field {field!r}"
    return f"{what}: {reason}" if what else reason


@dataclass
class Registry:
    plugins: dict[str, dict[str, Plugin]] = field(default_factory=lambda: {k: {} for k in HOOKS})
    failures: list[Failure] = field(default_factory=list)

    def get(self, kind: str, name: str) -> Plugin:
        try:
            return self.plugins[kind][name]
        except KeyError:
            known = ", ".join(sorted(self.plugins[kind])) or "none"
            failed = [str(f) for f in self.failures if (f.kind, f.name) == (kind, name)]
            why = f" (it failed: {failed[0]})" if failed else ""
            raise KeyError(f"no {kind} named {name!r}{why}; installed: {known}") from None


def _entry_points() -> list[EntryPoint]:
    eps = {(ep.name, ep.value): ep for ep in entry_points(group=GROUP)}.values()
    return sorted(eps, key=lambda ep: (ep.dist is None or ep.dist.name != BUILTIN_DIST, ep.name))


def _disabled() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _hook_problem(name: str, function: Callable) -> str | None:
    """Why pluggy would not call ``function``, marked as hook ``name``, the way the runner needs."""
    if name not in HOOKS.values():
        close = difflib.get_close_matches(name, HOOKS.values(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"{name} is not a hook of the runner (the hooks: {', '.join(HOOKS.values())}){hint}"
    arguments = list(inspect.signature(function).parameters)
    if arguments != ["register"]:
        return (
            f"{name}({', '.join(arguments)}): a hook takes one argument and it must be named `register` "
            "(pluggy passes hook arguments by name)"
        )
    return None


class _Hooks:
    """The hook functions of one plugin module that pluggy can call (pluggy registers objects)."""

    def __init__(self, hooks: dict[str, Callable]):
        vars(self).update(hooks)


def _hooks(pm: pluggy.PluginManager, module: ModuleType, origin: Origin) -> tuple[_Hooks, list[Failure]]:
    """The module's hook functions that pluggy can call, and a failure for each mistake in the rest.

    This is pluggy's ``check_pending`` made per plugin, plus the functions a
    plugin meant as hooks but forgot to mark.
    """
    hooks, failures = {}, []
    for name in dir(module):
        function = getattr(module, name)
        if pm.parse_hookimpl_opts(module, name) is None:
            if name.startswith("register_") and inspect.isfunction(function) and function.__module__ == module.__name__:
                failures.append(
                    Failure(
                        origin,
                        f"{name} is not marked @hookimpl (from runner import hookimpl), so the runner never calls it",
                    )
                )
            continue
        problem = _hook_problem(name, function)
        if problem:
            failures.append(Failure(origin, problem))
        else:
            hooks[name] = function
    return _Hooks(hooks), failures


def _api_problem(module: ModuleType) -> str | None:
    """A module may say which plugin API it was written for (``PLUGIN_API = 1``); another one is refused."""
    wanted = getattr(module, "PLUGIN_API", PLUGIN_API)
    if wanted != PLUGIN_API:
        return f"written for plugin API {wanted!r}, but this runner ({BUILTIN_DIST}) provides plugin API {PLUGIN_API}"
    return None


def _registration_problem(kind: str, name: object, builder: object, config_class: object) -> Problem | None:
    """Why a registration cannot be used, if it cannot."""
    if not isinstance(name, str) or not _NAME.match(name):
        return Problem(None, f"invalid name {name!r} (letters, digits, '_' and '-')")
    if not callable(builder):
        return Problem(None, "the builder is not callable")
    if not (isinstance(config_class, type) and dataclasses.is_dataclass(config_class)):
        return Problem(None, f"config {config_class!r} is not a dataclass")
    return schema.check(config_class, kind)


def _collect(pm: pluggy.PluginManager, origins: dict[str, Origin], registry: Registry) -> None:
    for kind, hook in HOOKS.items():
        for impl in getattr(pm.hook, hook).get_hookimpls():
            origin = origins[impl.plugin_name]

            def register(name, builder, config_class, *, kind=kind, origin=origin) -> None:
                problem = _registration_problem(kind, name, builder, config_class)
                taken = registry.plugins[kind].get(name) if problem is None else None
                if taken is not None:
                    problem = Problem(None, f"the name is already registered by plugin {taken.source}; ignored")
                if problem:
                    registry.failures.append(
                        Failure(origin, problem.reason, kind, str(name), problem.field, problem.traceback)
                    )
                    return
                registry.plugins[kind][name] = Plugin(kind, name, builder, config_class, origin)

            try:
                impl.function(register=register)
            except Exception as exc:  # a broken plugin must not take the others down
                registry.failures.append(
                    Failure(origin, f"{hook} raised {type(exc).__name__}: {exc}", traceback=traceback.format_exc())
                )


@functools.cache
def load() -> Registry:
    """Load every installed plugin once per process."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    disabled = _disabled()
    origins = {}
    for ep in _entry_points():
        origin = Origin.of(ep)
        if ep.name in disabled or origin.distribution in disabled:
            continue
        try:
            module = ep.load()
            problem = _api_problem(module)
            if problem:
                registry.failures.append(Failure(origin, problem))
                continue
            hooks, failures = _hooks(pm, module, origin)
            registry.failures.extend(failures)
            pm.register(hooks, name=str(origin))
            origins[str(origin)] = origin
        except Exception as exc:  # import errors, anything pluggy refuses
            registry.failures.append(
                Failure(origin, f"failed to load: {type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            )
    _collect(pm, origins, registry)
    return registry


def warn_failures(registry: Registry) -> None:
    for failure in registry.failures:
        print(f"runner: warning: {failure}", file=sys.stderr)
    if registry.failures:
        print("runner: warning: details: python -m runner.plugins --traceback", file=sys.stderr)
