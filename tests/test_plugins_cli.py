"""``python -m runner.plugins``: what is installed, from where, with which fields; fast and torch-free."""

import json
import textwrap

from conftest import fake_distribution, runner

import runner as runner_package

THIRD_PARTY = textwrap.dedent('''
    from __future__ import annotations

    from dataclasses import dataclass, field
    from enum import Enum

    from runner import hookimpl

    class Mode(str, Enum):
        fast = "fast"
        slow = "slow"

    @dataclass
    class Config:
        width: int                     # no default: the user must give it
        mode: Mode = Mode.slow
        scale: float | None = None
        sizes: list[int] = field(default_factory=lambda: [2, 3])

    def build(config, input_size):
        raise NotImplementedError

    @hookimpl
    def register_cells(register):
        register("mycell", build, Config)
''')


def imported_modules(stderr: str) -> list[str]:
    return [line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]


def test_lists_builtins_with_origin_and_typed_fields_without_torch(tmp_path):
    out = runner(cwd=tmp_path, module="runner.plugins", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"cell=lstm  (runner {runner_package.__version__}, entry point cells)" in text
    assert "    cell.hidden_size: int = 128\n" in text
    assert "    cell.impl: fused | reference = fused\n" in text
    assert "    data.seed: int = ${seed}\n" in text
    assert "    data.max_vocab: int | None = null\n" in text
    assert "    data.split: list[float] = [0.9, 0.05, 0.05]\n" in text
    assert "grad=none  (runner" in text and "(no fields)" in text
    assert "failed plugins" not in text
    imported = imported_modules(out.stderr)
    assert "pluggy" in imported
    assert not {"torch", "lightning"} & set(imported)


def test_json_for_scripts(tmp_path):
    out = runner("--json", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["failures"] == []
    found = {(p["kind"], p["name"]): p for p in data["plugins"]}
    assert {("cell", "rnn"), ("data", "ptb"), ("grad", "clip_value")} <= set(found)
    clip = found["grad", "clip_norm"]
    assert (clip["distribution"], clip["version"], clip["entry_point"]) == ("runner", runner_package.__version__, "grad")
    assert clip["fields"] == [{"name": "max_norm", "type": "float", "default": 1.0},
                              {"name": "norm_type", "type": "float", "default": 2.0}]


def test_third_party_plugins_and_failures_are_listed(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": THIRD_PARTY, "broken": "import nothing_here\n"},
                            {"mycells": "my_cells", "broken": "broken"})
    out = runner(cwd=tmp_path, module="runner.plugins", env=env)
    assert out.returncode == 1  # a plugin that does not load is an error a plugin author must see
    assert "cell=mycell  (my-cells 0.1, entry point mycells)" in out.stdout
    for line in ("cell.width: int = ???", "cell.mode: fast | slow = slow", "cell.scale: float | None = null",
                 "cell.sizes: list[int] = [2, 3]"):
        assert f"    {line}\n" in out.stdout
    assert "failed plugins:\n  'broken' (my-cells 0.1, entry point broken): failed to load: ModuleNotFoundError" \
        in out.stdout
    data = json.loads(runner("--json", cwd=tmp_path, module="runner.plugins", env=env).stdout)
    assert [f["source"] for f in data["failures"]] == ["'broken' (my-cells 0.1, entry point broken)"]
    mycell = next(p for p in data["plugins"] if p["name"] == "mycell")
    assert mycell["fields"][0] == {"name": "width", "type": "int", "default": "???"}
