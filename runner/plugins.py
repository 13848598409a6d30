"""``python -m runner.plugins``: every installed plugin, where it comes from and its config fields.

It only loads the registry: plugin modules import cheaply (torch and lightning
are imported inside builders), so the listing answers without them. Exits 1
when a plugin failed (to import, in its hook, or registering a name already
taken), so that ``python -m runner.plugins`` after a ``pip install`` tells a
plugin author whether the package works.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from enum import Enum
from importlib.metadata import entry_points
from typing import Any

from runner import registry
from runner.registry import Plugin, Registry


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(str(member.value) for member in annotation)  # the values a user may type
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _plain(value: Any) -> Any:
    """A default as a user would type it, and as JSON can hold it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def fields(config_class: type) -> list[dict[str, Any]]:
    """Name, type and default of every field of a plugin's config dataclass."""
    try:  # string annotations (``from __future__ import annotations``) become types, enums show their values
        hints = typing.get_type_hints(config_class)
    except Exception:  # an annotation that cannot be evaluated is shown as written
        hints = {}
    described = []
    for f in dataclasses.fields(config_class):
        if f.default is not dataclasses.MISSING:
            default = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _plain(f.default_factory())
        else:
            default = "???"  # Hydra's spelling of a value the user must give
        described.append({"name": f.name, "type": _type_name(hints.get(f.name, f.type)), "default": default})
    return described


def _origins() -> dict[str, dict[str, str | None]]:
    """Registry source string -> entry point, distribution and version."""
    origins = {}
    for ep in entry_points(group=registry.GROUP):
        dist = ep.dist
        origins[registry.describe(ep)] = {
            "entry_point": ep.name,
            "distribution": dist.name if dist is not None else None,
            "version": dist.version if dist is not None else None,
        }
    return origins


def listing(plugins: Registry) -> dict[str, list[dict[str, Any]]]:
    """The registry as plain data: what ``--json`` prints."""
    origins = _origins()
    unknown = {"entry_point": None, "distribution": None, "version": None}

    def entry(plugin: Plugin) -> dict[str, Any]:
        return {"kind": plugin.kind, "name": plugin.name, **origins.get(plugin.source, unknown),
                "config": plugin.config_class.__qualname__, "fields": fields(plugin.config_class)}

    return {
        "plugins": [entry(p) for kind in registry.HOOKS for p in sorted(plugins.plugins[kind].values(),
                                                                          key=lambda p: p.name)],
        "failures": [{"source": f.source, "reason": f.reason} for f in plugins.failures],
    }


def render(data: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for p in data["plugins"]:
        origin = f"{p['distribution']} {p['version']}" if p["distribution"] else "unknown distribution"
        lines.append(f"{p['kind']}={p['name']}  ({origin}, entry point {p['entry_point']})")
        for f in p["fields"]:
            default = f["default"] if isinstance(f["default"], str) else json.dumps(f["default"])
            lines.append(f"    {p['kind']}.{f['name']}: {f['type']} = {default}")
        if not p["fields"]:
            lines.append("    (no fields)")
    if data["failures"]:
        lines.append("")
        lines.append("failed plugins:")
        lines.extend(f"  {f['source']}: {f['reason']}" for f in data["failures"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.plugins", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the listing as JSON, for scripts")
    args = parser.parse_args(argv)
    data = listing(registry.load())
    print(json.dumps(data, indent=2) if args.json else render(data))
    return 1 if data["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
