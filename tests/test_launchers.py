"""Hydra launchers run the same jobs as the basic launcher: joblib (and its preset, parallel) and submitit workers,
and SLURM's sbatch script; a job of a parallel sweep computes with its share of the cores."""

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import pytest

from conftest import TINY, environment, runner
from runner._run_folder import run_dir


def sweep(cells: str = "rnn,gru", seq_lens: str = "6,8") -> list[str]:
    """A multirun over the given cells and lengths, on the tiny config."""
    return [
        "-m",
        f"cell={cells}",
        f"data.seq_len={seq_lens}",
        *[t for t in TINY if not t.startswith("data.seq_len")],
        "logger=csv",
    ]


def sweep_metrics(folder) -> dict[tuple[str, int], dict]:
    """(cell, seq_len) -> final validation metrics of every job in a sweep folder."""
    records = [json.loads(p.read_text()) for p in folder.glob("*/results.json")]
    assert all(r["status"] == "ok" for r in records), records
    return {(r["cell"], r["config"]["data"]["seq_len"]): r["val"] for r in records}


# Run as `python -m launch_probe ARGS`: `python -m runner ARGS`, then whether the launching process imported torch
# (without torch it cannot have started CUDA before the workers, which start their own)
LAUNCH_PROBE = """import atexit, runpy, sys
atexit.register(lambda: print("torch in the launching process:", "torch" in sys.modules))
runpy.run_module("runner", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def launched(tmp_path_factory) -> tuple[Path, dict[str, subprocess.CompletedProcess]]:
    """Sweep folders (named by launch) and finished processes of the same tiny sweep under each launcher."""
    folder = tmp_path_factory.mktemp("launchers")
    (folder / "launch_probe.py").write_text(LAUNCH_PROBE)
    launches = {
        # share_cores=false: torch's default, not the share beside the other launches (tests/test_threads.py)
        "basic": ("runner", [*sweep(), "share_cores=false"], {}),
        "joblib": ("runner", [*sweep(), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], {}),  # 4 jobs, 2 workers
        "parallel": ("launch_probe", [*sweep(), "hydra/launcher=parallel"], {}),  # one worker per core
        # threads=0 is refused: that job fails and the sweep exits 1
        "threads": (
            "runner",
            [*sweep("gru", "8"), "hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "threads=2,null,0"],
            {"OMP_NUM_THREADS": "3"},
        ),
        "submitit": ("runner", [*sweep("gru", "8"), "hydra/launcher=submitit_local"], {}),
    }
    with ThreadPoolExecutor(len(launches)) as pool:
        done = {
            name: pool.submit(
                runner,
                *args,
                f"hydra.sweep.dir={name}",
                cwd=folder,
                module=module,
                env={"OMP_NUM_THREADS": None, **env},
            )
            for name, (module, args, env) in launches.items()
        }
        return folder, {name: future.result() for name, future in done.items()}


def test_joblib_parallel_and_submitit_local_give_the_basic_launchers_results(launched):
    folder, done = launched
    for name in ("basic", "joblib", "parallel", "submitit"):
        assert done[name].returncode == 0, f"{name}: {done[name].stderr}"
    basic = sweep_metrics(folder / "basic")
    assert len(basic) == 4
    assert sweep_metrics(folder / "joblib") == basic
    assert sweep_metrics(folder / "parallel") == basic
    assert sweep_metrics(folder / "submitit") == {("gru", 8): basic["gru", 8]}
    assert list((folder / "submitit" / ".submitit").glob("*/*_log.out"))  # the jobs ran under submitit


def test_the_parallel_launcher_reports_the_sweep_and_leaves_torch_to_the_workers(launched):
    folder, done = launched
    assert len(run_dir.read_jobs(folder / "parallel")) == 4
    assert "4 jobs: 4 ok" in done["parallel"].stdout
    assert "torch in the launching process: False" in done["parallel"].stdout
    assert done["threads"].returncode == 1  # a job failed
    assert "3 jobs: 2 ok, 1 failed" in done["threads"].stdout
    assert "threads must be null or a whole number of at least 1, got 0" in done["threads"].stdout


def threads_of(folder: Path) -> list[int]:
    return [json.loads(p.read_text())["threads"] for p in sorted(folder.glob("*/results.json"))]


def test_a_parallel_job_gets_its_share_of_the_cores_and_a_serial_job_torchs_default(launched):
    folder, _ = launched
    default = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=environment({"OMP_NUM_THREADS": None}, True),
        capture_output=True,
        text=True,
        check=False,
    )
    assert threads_of(folder / "basic") == [int(default.stdout)] * 4
    assert threads_of(folder / "joblib") == [max(1, joblib.cpu_count() // 2)] * 4  # n_jobs=2
    assert threads_of(folder / "parallel") == [1] * 4  # n_jobs=-1: one job per core


def test_threads_wins_then_an_exported_omp_num_threads(launched):
    folder, _ = launched
    records = [json.loads(p.read_text()) for p in (folder / "threads").glob("*/results.json")]
    ran = {r["config"]["threads"]: r.get("threads") for r in records}
    assert ran == {2: 2, None: 3, 0: None}  # the exported 3, not joblib's share; 0 never ran


def test_slurm_launcher_submits_a_job_array_with_the_settings(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fakes = {
        "srun": "#!/bin/sh\nexit 1\n",  # submitit checks that it is on a SLURM node
        "sbatch": f'#!/bin/sh\ncp "$1" {tmp_path}/submitted.sh\necho "sbatch: no cluster here" >&2\nexit 1\n',
    }
    for name, text in fakes.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    out = runner(
        *sweep(),
        "hydra/launcher=slurm",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.mem_gb=32",
        "hydra.launcher.array_parallelism=3",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )
    assert "sbatch: no cluster here" in out.stderr  # submitted: the stand-in refused it
    script = (tmp_path / "submitted.sh").read_text()
    for line in (
        "--array=0-3%3",
        "--partition=gpu",
        "--gpus-per-node=1",
        "--ntasks-per-node=1",
        "--cpus-per-task=4",
        "--mem=32GB",
        "--time=240",
        "--job-name=runner",
    ):
        assert f"#SBATCH {line}\n" in script
