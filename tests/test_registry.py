"""Plugins are discovered through entry points; a broken one is named and the rest keep working."""

import textwrap

from conftest import fake_distribution, runner

GOOD = textwrap.dedent('''
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
''')

BROKEN_IMPORT = "raise ImportError('needs a package that is not installed')\n"

RAISING_HOOK = textwrap.dedent('''
    from runner import hookimpl

    @hookimpl
    def register_datasets(register):
        raise RuntimeError('hook exploded')
''')

DUPLICATE_AND_MALFORMED = textwrap.dedent('''
    from dataclasses import dataclass
    from runner import hookimpl

    @dataclass
    class Config:
        pass

    @hookimpl
    def register_cells(register):
        register("lstm", print, Config)           # taken by the built-in
        register("plaincls", print, dict)         # not a dataclass
''')


def test_builtins_come_from_entry_points(tmp_path):
    from runner import registry

    plugins = registry.load()
    assert set(plugins.plugins["cell"]) >= {"rnn", "lstm", "gru"}
    assert set(plugins.plugins["data"]) >= {"adding", "copy"}
    assert set(plugins.plugins["grad"]) >= {"none", "clip_norm", "clip_value"}
    assert "runner" in plugins.get("cell", "lstm").source
    assert not plugins.failures


def test_third_party_cell_becomes_an_option_with_typed_fields(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": GOOD}, {"mycells": "my_cells"})
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "cell: gru, lstm, mycell, rnn" in out.stdout
    out = runner("cell=mycell", "cell.width=abc", "--cfg", "job", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert "width" in out.stderr and "abc" in out.stderr


def test_broken_plugins_are_named_and_the_others_keep_working(tmp_path):
    env = fake_distribution(
        tmp_path / "site", "bad-plugins",
        {"bad_import": BROKEN_IMPORT, "bad_hook": RAISING_HOOK, "bad_reg": DUPLICATE_AND_MALFORMED, "my_cells": GOOD},
        {"badimport": "bad_import", "badhook": "bad_hook", "badreg": "bad_reg", "good": "my_cells"},
    )
    out = runner("--help", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    err = out.stderr
    assert "'badimport' (bad-plugins 0.1" in err and "needs a package that is not installed" in err
    assert "'badhook' (bad-plugins 0.1" in err and "hook exploded" in err
    # a duplicate name is an error that names both plugins; the built-in keeps the name
    assert "'badreg' (bad-plugins 0.1" in err and "'lstm' is already registered by plugin 'cells' (runner" in err
    assert "'plaincls'" in err and "not a dataclass" in err
    assert "cell: gru, lstm, mycell, rnn" in out.stdout
    assert "data: adding, copy" in out.stdout


def test_disable_plugins_by_entry_point_name(tmp_path):
    env = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": GOOD}, {"mycells": "my_cells"})
    out = runner("--help", cwd=tmp_path, env={**env, "RUNNER_DISABLE_PLUGINS": "mycells"})
    assert "cell: gru, lstm, rnn\n" in out.stdout
