"""Hydra launchers run the same jobs as the basic launcher: joblib and submitit workers, and SLURM's sbatch script."""

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

from conftest import TINY, runner


def sweep(cells: str = "rnn,gru", seq_lens: str = "6,8") -> list[str]:
    """A multirun over the given cells and lengths, on the tiny config."""
    return ["-m", f"cell={cells}", f"data.seq_len={seq_lens}", *[t for t in TINY if not t.startswith("data.seq_len")],
            "logger=csv"]


def sweep_metrics(folder) -> dict[tuple[str, int], dict]:
    """(cell, seq_len) -> final validation metrics of every job in a sweep folder."""
    records = [json.loads(p.read_text()) for p in folder.glob("*/results.json")]
    assert all(r["status"] == "ok" for r in records), records
    return {(r["cell"], r["config"]["data"]["seq_len"]): r["val"] for r in records}


def test_joblib_and_submitit_local_give_the_basic_launchers_results(tmp_path):
    launches = {
        "basic": sweep(),
        "joblib": [*sweep(), "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],  # 4 jobs, 2 worker processes
        "submitit": [*sweep("gru", "8"), "hydra/launcher=submitit_local"],
    }
    with ThreadPoolExecutor(len(launches)) as pool:
        done = {name: pool.submit(runner, *args, f"hydra.sweep.dir={name}", cwd=tmp_path)
                for name, args in launches.items()}
        done = {name: future.result() for name, future in done.items()}
    for name, out in done.items():
        assert out.returncode == 0, f"{name}: {out.stderr}"
    basic = sweep_metrics(tmp_path / "basic")
    assert len(basic) == 4
    assert sweep_metrics(tmp_path / "joblib") == basic
    assert sweep_metrics(tmp_path / "submitit") == {("gru", 8): basic["gru", 8]}
    assert list((tmp_path / "submitit" / ".submitit").glob("*/*_log.out"))  # the jobs ran under submitit


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
    out = runner(*sweep(), "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.mem_gb=32",
                 "hydra.launcher.array_parallelism=3", "hydra.sweep.dir=sweep", cwd=tmp_path,
                 env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
    assert "sbatch: no cluster here" in out.stderr  # submitted: the stand-in refused it
    script = (tmp_path / "submitted.sh").read_text()
    for line in ("--array=0-3%3", "--partition=gpu", "--gpus-per-node=1", "--ntasks-per-node=1",
                 "--cpus-per-task=4", "--mem=32GB", "--time=240", "--job-name=runner"):
        assert f"#SBATCH {line}\n" in script
