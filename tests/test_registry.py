"""Plugins are discovered through entry points; a broken one is named and the rest keep working."""

import textwrap

from conftest import fake_distribution, runner
from runner.plugins.registry import BUILTIN_DIST

GOOD = textwrap.dedent("""
    from dataclasses import dataclass
    from runner import hookimpl

    @dataclass
    class Config:
        width: int = 3

    def build(config, input_size):
        raise NotImplementedError

    @hookimpl
    def register_cells(register):
        register("mycell", build, Config)
""")

BROKEN_IMPORT = "raise ImportError('needs a package that is not installed')\n"

RAISING_HOOK = textwrap.dedent("""
    from runner import hookimpl

    @hookimpl
    def register_datasets(register):
        raise RuntimeError('hook exploded')
""")

DUPLICATE_AND_MALFORMED = textwrap.dedent("""
    from dataclasses import dataclass
    from runner import hookimpl

    @dataclass
    class Config:
        pass

    @hookimpl
    def register_cells(register):
        register("lstm", print, Config)           # taken by the built-in
        register("plaincls", print, dict)         # not a dataclass
""")


def test_builtins_come_from_entry_points(tmp_path):
    from runner.plugins import registry

    plugins = registry.load()
    assert set(plugins.plugins["cell"]) >= {"rnn", "lstm", "gru"}
    assert set(plugins.plugins["data"]) >= {"adding", "copy"}
    assert set(plugins.plugins["grad"]) >= {"none", "clip_norm", "clip_value"}
    assert plugins.get("cell", "lstm").origin.distribution == BUILTIN_DIST == "rnn-runner"
    assert not plugins.failures


def test_third_party_cell_becomes_an_option_with_typed_fields(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": GOOD}, {"mycells": "my_cells"})
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "cell: exprnn, gru, lstm, mycell, rnn" in out.stdout
    out = runner("cell=mycell", "cell.width=abc", "--cfg", "job", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert "width" in out.stderr and "abc" in out.stderr


def test_broken_plugins_are_named_and_the_others_keep_working(tmp_path):
    env = fake_distribution(
        tmp_path / "site",
        "bad-plugins",
        {"bad_import": BROKEN_IMPORT, "bad_hook": RAISING_HOOK, "bad_reg": DUPLICATE_AND_MALFORMED, "my_cells": GOOD},
        {"badimport": "bad_import", "badhook": "bad_hook", "badreg": "bad_reg", "good": "my_cells"},
    )
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    err = out.stderr
    assert "'badimport' (bad-plugins 0.1" in err and "needs a package that is not installed" in err
    assert "'badhook' (bad-plugins 0.1" in err and "hook exploded" in err
    # a duplicate name is an error that names both plugins; the built-in keeps the name
    assert (
        "'badreg' (bad-plugins 0.1, entry point badreg = bad_reg): cell 'lstm': the name is already registered by "
        f"plugin 'cells' ({BUILTIN_DIST}" in err
    )
    assert "cell 'plaincls': config <class 'dict'> is not a dataclass" in err
    assert "cell: exprnn, gru, lstm, mycell, rnn" in out.stdout
    assert "data: adding, copy" in out.stdout


def test_disable_plugins_by_entry_point_name(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": GOOD}, {"mycells": "my_cells"})
    out = runner("--help", cwd=tmp_path, env={**env, "RUNNER_DISABLE_PLUGINS": "mycells"})
    assert "cell: exprnn, gru, lstm, rnn\n" in out.stdout


# A config class Hydra cannot store is its plugin's failure, named down to the field; every command still works.
BAD_CONFIGS = textwrap.dedent("""
    from __future__ import annotations

    from dataclasses import dataclass

    from runner import hookimpl

    @dataclass
    class Typo:
        hidden_size: itn = 8

    @dataclass
    class Complex:
        width: int = 3
        gain: complex = 1j

    @dataclass
    class Strict:
        rate: float = 0.0

        def __post_init__(self):
            if not self.rate > 0:
                raise ValueError(f"cell.rate must be positive, got {self.rate}")

    @hookimpl
    def register_cells(register):
        register("typo", print, Typo)
        register("cplx", print, Complex)
        register("strict", print, Strict)
""")

WHERE = "plugin 'badcfg' (bad-configs 0.1, entry point badcfg = bad_configs)"
CONFIG_FAILURES = [
    f"{WHERE}: cell 'typo', field 'hidden_size': its annotation 'itn' cannot be evaluated: NameError: name 'itn'",
    f"{WHERE}: cell 'cplx', field 'gain': Hydra cannot store it: ValidationError: Unexpected type annotation: complex",
    f"{WHERE}: cell 'strict': its defaults fail its own checks (__post_init__): ValueError: cell.rate must be positive",
]


def test_a_config_class_hydra_cannot_store_fails_its_plugin_only(tmp_path):
    env = fake_distribution(
        tmp_path / "site",
        "bad-configs",
        {"bad_configs": BAD_CONFIGS, "my_cells": GOOD},
        {"badcfg": "bad_configs", "good": "my_cells"},
    )
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "cell: exprnn, gru, lstm, mycell, rnn" in out.stdout
    for failure in CONFIG_FAILURES:
        assert f"runner: warning: {failure}" in out.stderr
    assert "Traceback" not in out.stderr
    out = runner("cell=lstm", "data=adding", "--cfg", "job", cwd=tmp_path, env=env)
    assert out.returncode == 0 and "hidden_size: 128" in out.stdout, out.stderr
    out = runner("cell=typo", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert f"runner: error: cell 'typo' is not available: {CONFIG_FAILURES[0]}" in out.stderr


# Hooks pluggy would never call: a misspelled name, no @hookimpl, an argument not named `register`.
BAD_HOOKS = textwrap.dedent("""
    from dataclasses import dataclass

    from runner import hookimpl

    @dataclass
    class Config:
        width: int = 3

    @hookimpl
    def register_cells(register):  # this one is right and keeps working
        register("goodcell", print, Config)

    @hookimpl
    def register_dataset(register):
        register("lost", print, Config)

    def register_grad_handlers(register):
        register("forgotten", print, Config)
""")

WRONG_ARGUMENT = textwrap.dedent("""
    from runner import hookimpl

    @hookimpl
    def register_datasets(reg):
        pass
""")

NEWER_API = "from runner import hookimpl\nPLUGIN_API = 2\n"


def test_hooks_pluggy_would_not_call_are_named_failures(tmp_path):
    env = fake_distribution(
        tmp_path / "site",
        "bad-hooks",
        {"bad_hooks": BAD_HOOKS, "wrong_arg": WRONG_ARGUMENT, "newer": NEWER_API},
        {"badhooks": "bad_hooks", "wrongarg": "wrong_arg", "newer": "newer"},
    )
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "cell: exprnn, goodcell, gru, lstm, rnn" in out.stdout
    err = out.stderr
    assert (
        "plugin 'badhooks' (bad-hooks 0.1, entry point badhooks = bad_hooks): "
        "register_dataset is not a hook of the runner "
        "(the hooks: register_cells, register_datasets, register_grad_handlers, register_optimizers); "
        "did you mean register_datasets?"
    ) in err
    assert (
        "plugin 'badhooks' (bad-hooks 0.1, entry point badhooks = bad_hooks): register_grad_handlers is not marked "
        "@hookimpl"
    ) in err
    assert (
        "plugin 'wrongarg' (bad-hooks 0.1, entry point wrongarg = wrong_arg): register_datasets(reg): a hook takes one "
        "argument and it must be named `register`"
    ) in err
    assert (
        "plugin 'newer' (bad-hooks 0.1, entry point newer = newer): written for plugin API 2, but this runner "
        f"({BUILTIN_DIST}) provides plugin API 1"
    ) in err
    out = runner(cwd=tmp_path, env=env, module="runner.plugins")
    assert out.returncode == 1
    assert "cell=goodcell  (bad-hooks 0.1, entry point badhooks)" in out.stdout
