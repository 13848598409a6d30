"""``python -m runner.plugins new``: the package it writes installs, lists, passes its own tests and trains.

The package is installed by pip from its own pyproject (a wheel into a folder of
its own, put on PYTHONPATH), so the test venv stays as it was.
"""

import subprocess
import sys

from conftest import results, runner


def install(package, site):
    """``pip install`` the package into ``site``, offline; return the environment that sees it."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--target",
            str(site),
            str(package),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return {"PYTHONPATH": str(site)}


def test_a_new_package_with_every_kind_installs_lists_passes_its_tests_and_trains(tmp_path):
    out = runner("new", "my-rnn-plugins", "--dir", str(tmp_path), cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 0, out.stderr
    package = tmp_path / "my-rnn-plugins"
    assert f"wrote {package}" in out.stdout
    assert '"rnn-runner>=' in (package / "pyproject.toml").read_text()
    env = install(package, tmp_path / "site")

    out = runner(cwd=tmp_path, module="runner.plugins", env=env)
    assert out.returncode == 0, out.stdout
    for option in ("cell=mgu", "data=parity", "grad=clip_per_tensor", "optim=signum"):
        assert f"{option}  (my-rnn-plugins 0.1.0, entry point my_rnn_plugins)" in out.stdout
    assert "    cell.hidden_size: int = 128  # units per layer (the size of h)\n" in out.stdout
    assert "    grad.max_norm: float = 1.0  # the largest L2 norm each parameter's gradient may keep\n" in out.stdout

    # its own tests: the contract kit (check_plugins, check_cell), the equations, and a tiny training
    out = runner("-q", "-p", "no:cacheprovider", cwd=package, module="pytest", env=env)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "7 passed" in out.stdout

    out = runner(
        "cell=mgu",
        "data=parity",
        "grad=clip_per_tensor",
        "optim=signum",
        "cell.hidden_size=8",
        "data.seq_len=12",
        "data.batch_size=4",
        "data.num_train=16",
        "data.num_val=8",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "logger=csv",
        "hydra.run.dir=run",
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    record = results(tmp_path / "run")
    assert (record["status"], record["cell"], record["data"], record["grad"], record["optim"]) == (
        "ok",
        "mgu",
        "parity",
        "clip_per_tensor",
        "signum",
    )
    assert record["baseline"]["accuracy"] == 0.5 and 0 <= record["val"]["accuracy"] <= 1


def test_a_package_of_one_kind_trains_with_built_ins_for_the_others(tmp_path):
    out = runner("new", "clip-only", "--kinds", "grad", "--dir", str(tmp_path), cwd=tmp_path, module="runner.plugins")
    assert out.returncode == 0, out.stderr
    package = tmp_path / "clip-only"
    assert sorted(p.name for p in (package / "src" / "clip_only").iterdir()) == ["__init__.py", "clip_per_tensor.py"]
    tests = (package / "tests" / "test_plugins.py").read_text()
    assert '"cell=gru"' in tests and '"data=adding"' in tests  # the stand-ins of the tiny training
    env = install(package, tmp_path / "site")
    out = runner("-q", "-p", "no:cacheprovider", cwd=package, module="pytest", env=env)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "3 passed" in out.stdout
