"""``python -m runner.plugins``: every installed plugin, where it comes from and its config fields.

It only loads the registry: plugin modules import cheaply (torch and lightning
are imported inside builders), so the listing answers without them. Exits 1
when a plugin failed (to import, in its hook, or with what it registered), so
that ``python -m runner.plugins`` after a ``pip install`` tells a plugin author
whether the package works; ``--traceback`` shows where a failure was raised.

``python -m runner.plugins new NAME`` writes a new plugin package to start
from (:mod:`runner.scaffold`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import runner
from runner.plugins import registry, scaffold, schema
from runner.plugins.registry import Failure, Plugin, Registry

SCHEMA = 1  # of the --json output; grows by one when a key changes meaning or goes away


def _plugin(plugin: Plugin) -> dict[str, Any]:
    origin = plugin.origin
    return {
        "kind": plugin.kind,
        "name": plugin.name,
        "entry_point": origin.entry_point,
        "distribution": origin.distribution,
        "version": origin.version,
        "config": plugin.config_class.__qualname__,
        "fields": schema.fields(plugin.config_class),
    }


def _failure(failure: Failure) -> dict[str, Any]:
    origin = failure.origin
    return {
        "source": failure.source,
        "distribution": origin.distribution,
        "version": origin.version,
        "entry_point": origin.entry_point,
        "kind": failure.kind,
        "name": failure.name,
        "field": failure.field,
        "reason": failure.reason,
        "traceback": failure.traceback,
    }


def listing(plugins: Registry) -> dict[str, Any]:
    """The registry as plain data: what ``--json`` prints."""
    return {
        "schema": SCHEMA,
        "runner": {
            "distribution": registry.BUILTIN_DIST,
            "version": runner.__version__,
            "plugin_api": runner.PLUGIN_API,
        },
        "plugins": [
            _plugin(p) for kind in registry.HOOKS for p in sorted(plugins.plugins[kind].values(), key=lambda p: p.name)
        ],
        "failures": [_failure(f) for f in plugins.failures],
    }


def _failure_line(f: dict[str, Any]) -> str:
    return f"  {f['source']}: {registry.what_failed(f['kind'], f['name'], f['field'], f['reason'])}"


def render(data: dict[str, Any], tracebacks: bool = False) -> str:
    about = data["runner"]
    lines = [f"runner {about['version']} (distribution {about['distribution']}), plugin API {about['plugin_api']}", ""]
    for p in data["plugins"]:
        origin = f"{p['distribution']} {p['version']}" if p["distribution"] else "unknown distribution"
        lines.append(f"{p['kind']}={p['name']}  ({origin}, entry point {p['entry_point']})")
        for f in p["fields"]:
            default = f["default"] if isinstance(f["default"], str) else json.dumps(f["default"])
            comment = f"  # {f['help']}" if f["help"] else ""
            lines.append(f"    {p['kind']}.{f['name']}: {f['type']} = {default}{comment}")
        if not p["fields"]:
            lines.append("    (no fields)")
    if data["failures"]:
        lines += ["", "failed plugins:", *map(_failure_line, data["failures"])]
        if tracebacks:
            for f in data["failures"]:
                if f["traceback"]:
                    lines += ["", f"{f['source']}:", f["traceback"].rstrip()]
        else:
            lines.append("(where they were raised: python -m runner.plugins --traceback)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.plugins", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the listing as JSON, for scripts")
    parser.add_argument("--traceback", action="store_true", help="print where each failure was raised")
    commands = parser.add_subparsers(dest="command", metavar="new")
    new = commands.add_parser(
        "new",
        help="write a new plugin package to start from",
        description="Write a new plugin package, complete with tests, to start from.",
    )
    new.add_argument("name", help="the distribution name, e.g. my-rnn-plugins (the package is my_rnn_plugins)")
    new.add_argument(
        "--kinds",
        default=",".join(scaffold.KINDS),
        help=f"which plugins to write, comma-separated from {', '.join(scaffold.KINDS)} (default: all)",
    )
    new.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write the package folder (default: here)")
    args = parser.parse_args(argv)
    if args.command == "new":
        kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
        try:
            folder = scaffold.write(args.name, kinds, args.dir)
        except (ValueError, FileExistsError) as exc:
            parser.exit(2, f"python -m runner.plugins new: error: {exc}\n")
        print(scaffold.next_steps(folder))
        return 0
    data = listing(registry.load())
    print(json.dumps(data, indent=2) if args.json else render(data, args.traceback))
    return 1 if data["failures"] else 0
