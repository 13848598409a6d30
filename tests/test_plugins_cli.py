"""``python -m runner.plugins``: what is installed, from where, with which fields; fast and torch-free."""

import json
import re
import textwrap

import runner as runner_package
from conftest import fake_distribution, runner

THIRD_PARTY = textwrap.dedent("""
    from __future__ import annotations

    from dataclasses import dataclass, field
    from enum import Enum

    from runner import hookimpl

    class Mode(str, Enum):
        fast = "fast"
        slow = "slow"

    @dataclass
    class Config:
        width: int  # units per layer; no default: the user must give it
        mode: Mode = Mode.slow
        scale: float | None = field(default=None, metadata={"help": "the gain; None: 1/sqrt(width)"})
        sizes: list[int] = field(default_factory=lambda: [2, 3])  # a "#" inside the comment is kept

    def build(config, input_size):
        raise NotImplementedError

    @hookimpl
    def register_cells(register):
        register("mycell", build, Config)
""")


def imported_modules(stderr: str) -> list[str]:
    return [line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]


def test_lists_builtins_with_origin_and_typed_fields_without_torch(tmp_path):
    out = runner(cwd=tmp_path, module="runner.plugins", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    version = runner_package.__version__
    assert text.startswith(f"runner {version} (distribution rnn-runner), plugin API {runner_package.PLUGIN_API}\n")
    assert f"cell=lstm  (rnn-runner {version}, entry point cells)" in text
    assert re.search(r"^    cell\.hidden_size: int = 128(  # .+)?$", text, re.M)
    assert re.search(r"^    cell\.impl: fused \| reference = fused(  # .+)?$", text, re.M)  # an enum's values
    assert "    data.seed: int = ${seed}  # the run's seed unless set on its own\n" in text
    assert "    data.max_vocab: int | None = null  # keep the most frequent types, the rest become <unk>\n" in text
    assert "    data.split: list[float] = [0.9, 0.05, 0.05]  # train, valid, test fractions of one file\n" in text
    assert "grad=none  (rnn-runner" in text and "(no fields)" in text
    assert f"optim=rmsprop  (rnn-runner {version}, entry point optim)" in text  # the fourth seam
    assert re.search(
        r"^    optim\.alpha: float = 0\.99  # .*decay of Tieleman & Hinton 2012; the 'decay 0\.9'", text, re.M
    )
    assert "    optim.centered: bool = false  # divide by the running variance" in text
    assert "failed plugins" not in text
    imported = imported_modules(out.stderr)
    assert "pluggy" in imported
    assert not {"torch", "lightning"} & set(imported)


def test_json_for_scripts(tmp_path):
    out = runner("--json", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["schema"] == 1 and data["failures"] == []
    assert data["runner"] == {
        "distribution": "rnn-runner",
        "version": runner_package.__version__,
        "plugin_api": runner_package.PLUGIN_API,
    }
    found = {(p["kind"], p["name"]): p for p in data["plugins"]}
    assert {("cell", "rnn"), ("data", "ptb"), ("grad", "clip_value")} <= set(found)
    clip = found["grad", "clip_norm"]
    assert (clip["distribution"], clip["version"], clip["entry_point"]) == (
        "rnn-runner",
        runner_package.__version__,
        "grad",
    )
    assert [f["name"] for f in clip["fields"]] == ["max_norm", "norm_type"]
    assert clip["fields"][1] == {
        "name": "norm_type",
        "type": "float",
        "default": 2.0,
        "help": "'inf' for the largest absolute entry",
    }


def test_third_party_plugins_and_failures_are_listed(tmp_path):
    env = fake_distribution(
        tmp_path / "site",
        "my-cells",
        {"my_cells": THIRD_PARTY, "broken": "import nothing_here\n"},
        {"mycells": "my_cells", "broken": "broken"},
    )
    out = runner(cwd=tmp_path, module="runner.plugins", env=env)
    assert out.returncode == 1  # a plugin that does not load is an error a plugin author must see
    assert "cell=mycell  (my-cells 0.1, entry point mycells)" in out.stdout
    for line in (
        "cell.width: int = ???  # units per layer; no default: the user must give it",
        "cell.mode: fast | slow = slow",
        "cell.scale: float | None = null  # the gain; None: 1/sqrt(width)",
        'cell.sizes: list[int] = [2, 3]  # a "#" inside the comment is kept',
    ):
        assert f"    {line}\n" in out.stdout
    assert (
        "failed plugins:\n  'broken' (my-cells 0.1, entry point broken = broken): failed to load: "
        "ModuleNotFoundError: No module named 'nothing_here'\n"
    ) in out.stdout
    assert "Traceback" not in out.stdout and "python -m runner.plugins --traceback" in out.stdout
    data = json.loads(runner("--json", cwd=tmp_path, module="runner.plugins", env=env).stdout)
    failure = data["failures"][0]
    assert len(data["failures"]) == 1 and failure["traceback"].startswith("Traceback")
    assert {k: v for k, v in failure.items() if k != "traceback"} == {
        "source": "'broken' (my-cells 0.1, entry point broken = broken)",
        "distribution": "my-cells",
        "version": "0.1",
        "entry_point": "broken",
        "kind": None,
        "name": None,
        "field": None,
        "reason": "failed to load: ModuleNotFoundError: No module named 'nothing_here'",
    }
    mycell = next(p for p in data["plugins"] if p["name"] == "mycell")
    assert mycell["fields"][0] == {
        "name": "width",
        "type": "int",
        "default": "???",
        "help": "units per layer; no default: the user must give it",
    }
    out = runner("--traceback", cwd=tmp_path, module="runner.plugins", env=env)
    assert out.returncode == 1
    assert "'broken' (my-cells 0.1, entry point broken = broken):\nTraceback (most recent call last):" in out.stdout
    assert "import nothing_here" in out.stdout  # the line that raised


BAD_FIELD = textwrap.dedent("""
    from dataclasses import dataclass

    from runner import hookimpl

    @dataclass
    class Config:
        gain: complex = 1j

    @hookimpl
    def register_grad_handlers(register):
        register("cplxclip", print, Config)
""")


def test_a_registration_failure_is_listed_with_its_kind_name_and_field(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-grads", {"my_grads": BAD_FIELD}, {"mygrads": "my_grads"})
    out = runner("--json", cwd=tmp_path, module="runner.plugins", env=env)
    assert out.returncode == 1
    data = json.loads(out.stdout)
    (failure,) = data["failures"]
    assert (failure["kind"], failure["name"], failure["field"]) == ("grad", "cplxclip", "gain")
    assert failure["reason"] == "Hydra cannot store it: ValidationError: Unexpected type annotation: complex"
    assert "cplxclip" not in {p["name"] for p in data["plugins"]}


def test_new_refuses_a_bad_or_taken_name_unknown_kinds_and_an_existing_folder(tmp_path):
    out = runner("new", "my plugins", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 2 and "'my plugins' is not a valid distribution name" in out.stderr
    out = runner("new", "Runner", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 2 and "would be named 'runner', which Python already knows" in out.stderr
    out = runner("new", "my-plugins", "--kinds", "cell,optimizer", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 2 and "kinds must be among cell, data, grad, optim, got cell, optimizer" in out.stderr
    (tmp_path / "my-plugins").mkdir()
    out = runner("new", "my-plugins", cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 2 and "my-plugins exists already" in out.stderr
    assert list((tmp_path / "my-plugins").iterdir()) == []
