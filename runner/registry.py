"""Discover plugins from entry points and collect what they register.

Entry points in the group ``runner`` are loaded one at a time, built-ins
first: a plugin that fails to import, fails its hook, or registers something
malformed or already taken is recorded as a :class:`Failure` naming it, and
every other plugin keeps working.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import sys
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Callable

import pluggy

from runner import hookspecs

GROUP = hookspecs.PROJECT
BUILTIN_DIST = "runner"
HOOKS = {"cell": "register_cells", "data": "register_datasets", "grad": "register_grad_handlers"}
DISABLE_ENV = "RUNNER_DISABLE_PLUGINS"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Plugin:
    """One registered cell, dataset or gradient handler."""

    kind: str
    name: str
    builder: Callable
    config_class: type
    source: str  # the plugin that registered it, as "entry point (distribution version)"


@dataclass(frozen=True)
class Failure:
    """A plugin that could not be used, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.source}: {self.reason}"


@dataclass
class Registry:
    plugins: dict[str, dict[str, Plugin]] = field(default_factory=lambda: {k: {} for k in HOOKS})
    failures: list[Failure] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def get(self, kind: str, name: str) -> Plugin:
        try:
            return self.plugins[kind][name]
        except KeyError:
            known = ", ".join(sorted(self.plugins[kind])) or "none"
            raise KeyError(f"no {kind} named {name!r}; installed: {known}") from None


def describe(ep: EntryPoint) -> str:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
    return f"'{ep.name}' ({where}, entry point {ep.value})"


def _entry_points() -> list[EntryPoint]:
    eps = {(ep.name, ep.value): ep for ep in entry_points(group=GROUP)}.values()
    return sorted(eps, key=lambda ep: (ep.dist is None or ep.dist.name != BUILTIN_DIST, ep.name))


def _disabled() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _check(kind: str, name: object, builder: object, config_class: object) -> str | None:
    if not isinstance(name, str) or not _NAME.match(name):
        return f"registered a {kind} with an invalid name {name!r} (letters, digits, '_' and '-')"
    if not callable(builder):
        return f"registered {kind} {name!r} with a builder that is not callable"
    if not (isinstance(config_class, type) and dataclasses.is_dataclass(config_class)):
        return f"registered {kind} {name!r} with config {config_class!r}, which is not a dataclass"
    return None


def _collect(pm: pluggy.PluginManager, registry: Registry) -> None:
    for kind, hook in HOOKS.items():
        for impl in getattr(pm.hook, hook).get_hookimpls():
            source = impl.plugin_name

            def register(name, builder, config_class, *, kind=kind, source=source) -> None:
                problem = _check(kind, name, builder, config_class)
                taken = registry.plugins[kind].get(name) if problem is None else None
                if taken is not None:
                    problem = f"{kind} {name!r} is already registered by plugin {taken.source}; ignored"
                if problem:
                    registry.failures.append(Failure(source, problem))
                    return
                registry.plugins[kind][name] = Plugin(kind, name, builder, config_class, source)

            try:
                impl.function(register=register)
            except Exception as exc:  # a broken plugin must not take the others down
                registry.failures.append(Failure(source, f"{hook} raised {type(exc).__name__}: {exc}"))


@functools.cache
def load() -> Registry:
    """Load every installed plugin once per process."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    disabled = _disabled()
    for ep in _entry_points():
        source = describe(ep)
        dist_name = ep.dist.name if ep.dist is not None else None
        if ep.name in disabled or dist_name in disabled:
            continue
        registry.sources.append(source)
        try:
            module = ep.load()
            pm.register(module, name=source)
        except Exception as exc:  # import errors, bad hook signatures, anything
            registry.failures.append(Failure(source, f"failed to load: {type(exc).__name__}: {exc}"))
    _collect(pm, registry)
    return registry


def warn_failures(registry: Registry) -> None:
    for failure in registry.failures:
        print(f"runner: warning: {failure}", file=sys.stderr)
