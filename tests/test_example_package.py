"""The example plugin package, installed as a third party installs it, used through the real entry points."""

import json
from importlib.metadata import PackageNotFoundError, distribution

import pytest

from conftest import REPO, results, runner

EXAMPLE = REPO / "examples" / "runner-example-plugins"
try:
    VERSION = distribution("runner-example-plugins").version
except PackageNotFoundError:
    pytest.skip(
        "the example package is not installed: pip install -e examples/runner-example-plugins (.ci/run does)",
        allow_module_level=True,
    )

SMALL = [
    "cell.hidden_size=8",
    "data.seq_len=20",
    "data.batch_size=4",
    "data.num_train=16",
    "data.num_val=8",
    "trainer.max_steps=3",
    "trainer.val_check_interval=3",
]


def test_listed_with_its_distribution(tmp_path):
    out = runner(cwd=tmp_path, module="runner.plugins", isolated=False)
    assert out.returncode == 0, out.stdout
    for option in ("cell=indrnn", "data=temporal_order", "grad=agc"):
        assert f"{option}  (runner-example-plugins {VERSION}, entry point example)" in out.stdout
    assert (
        "    grad.clipping: float = 0.01  # lambda: the largest gradient norm per unit of weight norm\n" in out.stdout
    )


def test_a_multirun_uses_all_three(tmp_path):
    out = runner(
        "-m",
        "cell=indrnn",
        "data=temporal_order",
        "grad=agc",
        "grad.clipping=0.01,1",
        *SMALL,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        isolated=False,
    )
    assert out.returncode == 0, out.stderr
    records = [results(path) for path in sorted((tmp_path / "sweep").glob("*_*"))]
    assert len(records) == 2 and all(r["status"] == "ok" for r in records), json.dumps(records)[:2000]
    assert {(r["cell"], r["data"], r["grad"]) for r in records} == {("indrnn", "temporal_order", "agc")}
    assert [r["config"]["grad"]["clipping"] for r in records] == [0.01, 1.0]
    assert all(r["baseline"]["accuracy"] == 0.25 and "accuracy" in r["val"] for r in records)


def test_its_own_tests_pass_with_the_kit_as_a_pytest_plugin():
    # run from the package's folder: its tests see the runner only as an installed dependency
    out = runner("-q", "-p", "no:cacheprovider", cwd=EXAMPLE, module="pytest", isolated=False)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "passed" in out.stdout and "skipped" not in out.stdout
