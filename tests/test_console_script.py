"""The ``runner`` command (pyproject.toml's console script): the same Hydra app as ``python -m runner``, and one that
Hydra's shell completion can ask (it completes a script or an executable, never ``python -m``)."""

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import environment, fake_distribution, runner
from test_registry import GOOD as CELL  # a third-party cell, "mycell"

RUNNER = shutil.which("runner", path=str(Path(sys.executable).parent))


def command(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``runner args`` as a shell runs it, with the third-party plugins off (as conftest.runner does)."""
    assert RUNNER, f"no runner command beside {sys.executable}: pip install -e . installs it"
    return subprocess.run(
        [RUNNER, *args], cwd=cwd, env=environment(env, True), capture_output=True, text=True, check=False
    )


def completions(line: str, cwd: Path, env: dict[str, str] | None = None) -> list[str]:
    """What Hydra's bash completion offers for ``line``: it runs ``runner -sc query=bash`` with COMP_LINE set."""
    out = command("-sc", "query=bash", cwd=cwd, env={"COMP_LINE": line, "COMP_POINT": str(len(line)), **(env or {})})
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.split()


def test_the_command_is_the_same_app_as_python_m_runner(tmp_path):
    args = ["cell=gru", "cell.hidden_size=77", "--cfg", "job"]
    out = command(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "hidden_size: 77" in out.stdout and out.stdout == runner(*args, cwd=tmp_path).stdout
    assert command("--help", cwd=tmp_path).stdout == runner("--help", cwd=tmp_path).stdout


def test_hydra_completes_groups_options_and_plugins(tmp_path):
    assert "cell=" in completions("runner cel", tmp_path)
    assert completions("runner cell=", tmp_path) == ["cell=exprnn", "cell=gru", "cell=lstm", "cell=rnn"]
    assert completions("runner cell=lstm data=pt", tmp_path) == ["data=ptb"]
    assert "cell.hidden_size=" in completions("runner cell=lstm cell.hid", tmp_path)
    plugin = fake_distribution(tmp_path / "site", "my-cells", {"my_cells": CELL}, {"mycells": "my_cells"})
    expected = ["cell=exprnn", "cell=gru", "cell=lstm", "cell=mycell", "cell=rnn"]
    assert completions("runner cell=", tmp_path, plugin) == expected


def test_the_installed_bash_completion_answers_a_tab(tmp_path):
    install = command("-sc", "install=bash", cwd=tmp_path)
    assert install.returncode == 0 and install.stdout.rstrip().endswith("-F hydra_bash_completion runner")
    # what bash does on TAB after "runner cell=": it sets COMP_* and calls the installed function
    tab = 'COMP_LINE="runner cell="; COMP_POINT=${#COMP_LINE}; COMP_CWORD=1\n'
    tab += 'hydra_bash_completion; echo "${COMPREPLY[@]}"'
    path = f"{Path(RUNNER).parent}:{environment(None, True)['PATH']}"
    out = subprocess.run(
        ["bash", "-c", f'eval "$(runner -sc install=bash)"\n{tab}'],
        cwd=tmp_path,
        env={**environment(None, True), "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cell=exprnn", "cell=gru", "cell=lstm", "cell=rnn"]
