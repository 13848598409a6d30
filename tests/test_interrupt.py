"""Never lose work: Ctrl-C and SIGTERM stop after a checkpoint, one process writes a folder, full disks fail cleanly."""

import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY, environment, results, runner, start
from runner._run_folder.sweep import job_folder
from test_resume import KILLABLE, ONE_THREAD

RUN = [*KILLABLE, "logger=csv"]


def checkpoint_step(folder: Path) -> int:
    last = folder / "checkpoints" / "last.ckpt"
    return torch.load(last, weights_only=True)["global_step"] if last.exists() else -1


def wait_for_checkpoint(folder: Path, step: int, proc) -> None:
    """Until last.ckpt holds at least ``step`` steps: a point mid-run, whatever the machine's speed."""
    deadline = time.time() + 300
    while checkpoint_step(folder) < step:
        assert proc.poll() is None, "the run ended before its checkpoint"
        assert time.time() < deadline
        time.sleep(0.05)


def equal(x, y) -> bool:
    """Equal nested state, tensors bit for bit."""
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and torch.equal(x, y)
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)):
        return isinstance(y, (list, tuple)) and len(x) == len(y) and all(map(equal, x, y))
    return x == y


def same_checkpoints(a: Path, b: Path) -> None:
    """The same training state: weights, optimizer and position (the files differ in the folder names)."""
    for name in ("last.ckpt", "best.ckpt"):
        x, y = (torch.load(f / "checkpoints" / name, weights_only=True) for f in (a, b))
        for part in ("global_step", "loops", "state_dict", "optimizer_states", "lr_schedulers"):
            assert equal(x[part], y[part]), f"{name}: {part} differs"


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    cwd = tmp_path_factory.mktemp("whole")
    out = runner(*RUN, "hydra.run.dir=run", cwd=cwd, env=ONE_THREAD)
    assert out.returncode == 0, out.stderr
    return cwd / "run"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_stopped_by_a_signal_checkpoints_and_resumes_to_the_uninterrupted_result(tmp_path, whole, signum, code):
    proc = start(*RUN, "hydra.run.dir=run", cwd=tmp_path, output="first.txt", env=ONE_THREAD)
    folder = tmp_path / "run"
    wait_for_checkpoint(folder, 40, proc)
    proc.send_signal(signum)
    assert proc.wait(timeout=120) == code
    said = (tmp_path / "first.txt").read_text()
    record = results(folder)
    assert record["status"] == "interrupted" and record["signal"] == signum.name
    assert 40 < record["steps"] < 300
    assert checkpoint_step(folder) == record["steps"]  # saved at the step it stopped, not at the last periodic one
    line = [line for line in said.splitlines() if "interrupted" in line]
    assert len(line) == 1 and f"at step {record['steps']}" in line[0] and "hydra.run.dir=run" in line[0]
    assert "Traceback" not in said

    again = runner(*RUN, "hydra.run.dir=run", cwd=tmp_path, env=ONE_THREAD)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stderr + again.stdout
    a, b = results(whole), results(folder)
    assert b["status"] == "ok" and b["steps"] == 300
    assert a["val"] == b["val"] and a["best_val"] == b["best_val"]  # bitwise: the floats are equal
    assert (whole / "metrics.csv").read_text() == (folder / "metrics.csv").read_text()


def test_a_second_process_on_a_running_folder_is_refused_and_changes_nothing(tmp_path, whole):
    first = start(*RUN, "hydra.run.dir=run", cwd=tmp_path, output="first.txt", env=ONE_THREAD)
    folder = tmp_path / "run"
    wait_for_checkpoint(folder, 15, first)
    second = runner(*RUN, "hydra.run.dir=run", cwd=tmp_path, env=ONE_THREAD)
    assert first.poll() is None, "the first run ended before the second started"
    assert second.returncode == 1
    refusal = [line for line in (second.stdout + second.stderr).splitlines() if "in use by process" in line]
    assert len(refusal) == 1 and f"process {first.pid} on {socket.gethostname()}" in refusal[0]
    assert "Traceback" not in second.stderr

    assert first.wait(timeout=300) == 0
    a, b = results(whole), results(folder)
    timings = ("wall_s", "segment_wall_s", "train_tokens_per_s")
    assert {k: v for k, v in a.items() if k not in timings} == {k: v for k, v in b.items() if k not in timings}
    assert (whole / "metrics.csv").read_text() == (folder / "metrics.csv").read_text()
    same_checkpoints(whole, folder)


def test_a_sweep_rerun_skips_the_job_another_process_runs_and_ctrl_c_stops_a_sweep(tmp_path):
    # job 1 trains long enough to be running while a rerun passes it (it is stopped long before its end)
    common = [k for k in RUN if not k.startswith("trainer.max_steps")]
    sweep = ["-m", "trainer.max_steps=4,3000,5", *common, "hydra.sweep.dir=sweep"]
    jobs = [
        tmp_path / "sweep" / f"{n}_{job_folder(','.join(sorted([*common, f'trainer.max_steps={steps}'])))}"
        for n, steps in enumerate((4, 3000, 5))
    ]  # as src/runner/_config/conf/config.yaml names them
    first = start(*sweep, cwd=tmp_path, output="first.txt", env=ONE_THREAD)
    wait_for_checkpoint(jobs[1], 15, first)

    rerun = runner(*sweep, cwd=tmp_path, env=ONE_THREAD)
    assert first.poll() is None, "job 1 ended before the rerun passed it"
    assert rerun.returncode == 0, rerun.stderr
    said = rerun.stdout + rerun.stderr
    assert "already finished" in said
    assert f"skipped, running elsewhere: {jobs[1]} is in use by process {first.pid}" in said
    assert not (jobs[1] / "results.json").exists()  # the rerun wrote nothing into the running job's folder
    done = results(jobs[2])
    assert done["status"] == "ok"  # the sweep went on after the skipped job

    first.send_signal(signal.SIGINT)  # Ctrl-C: job 1 is recorded as interrupted, the sweep stops
    assert first.wait(timeout=120) == 130
    stopped = results(jobs[1])
    assert stopped["status"] == "interrupted" and "hydra.sweep.dir=sweep" in stopped["continue"]
    assert results(jobs[2]) == done  # not run again: the sweep stopped at job 1

    again = start(*sweep, cwd=tmp_path, output="again.txt", env=ONE_THREAD)  # the same sweep continues job 1
    wait_for_checkpoint(jobs[1], stopped["steps"] + 15, again)
    again.send_signal(signal.SIGTERM)
    assert again.wait(timeout=120) == 143
    said = (tmp_path / "again.txt").read_text()
    assert "already finished" in said and f"resuming from {jobs[1]}" in said
    assert results(jobs[1])["status"] == "interrupted" and results(jobs[1])["steps"] > stopped["steps"]
    assert results(jobs[2]) == done


CTRL_C_AT = textwrap.dedent("""
    import os
    import signal

    from hydra.experimental.callback import Callback


    class CtrlC(Callback):
        \"\"\"Ctrl-C between two jobs of a sweep, at the hook that $CTRL_C_AT names.\"\"\"

        def press(self, hook, config):
            if os.environ.get("CTRL_C_AT") == f"{hook} {config.hydra.job.num}":
                os.kill(os.getpid(), signal.SIGINT)

        def on_job_end(self, config, job_return, **kwargs):
            self.press("on_job_end", config)

        def on_job_start(self, config, **kwargs):
            self.press("on_job_start", config)
""")


@pytest.mark.parametrize(
    "at, program", [("on_job_end 0", "python -m runner"), ("on_job_start 1", "runner")]
)  # the second through the console script, whose continue command is `runner ...`
def test_ctrl_c_between_two_jobs_of_a_sweep_is_one_line_and_the_command_that_continues(tmp_path, at, program):
    (tmp_path / "ctrl_c.py").write_text(CTRL_C_AT)
    installed = {"python": sys.executable, "runner": shutil.which("runner", path=str(Path(sys.executable).parent))}

    def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
        """``args`` (a command as printed) as a shell runs it, with this Python and its ``runner``."""
        env = environment({"PYTHONPATH": str(tmp_path), **env}, True)
        return subprocess.run(
            [installed[args[0]], *args[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    common = [k for k in TINY if not k.startswith("trainer.max_steps")]
    sweep = ["-m", *common, "trainer.max_steps=4,5", "logger=csv", "+hydra.callbacks.ctrl_c._target_=ctrl_c.CtrlC"]
    stopped = run([*program.split(), *sweep, "hydra.sweep.dir=sweep"], {"CTRL_C_AT": at})
    said = stopped.stdout + stopped.stderr
    assert stopped.returncode == 130, said
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    lines = [line for line in said.splitlines() if "interrupted" in line]
    assert len(lines) == 1, said
    (line,) = lines
    assert line.startswith(f"interrupted (SIGINT) outside training, nothing lost. Continue with: {program} -m "), said
    assert results(next((tmp_path / "sweep").glob("0_*")))["status"] == "ok", said
    assert not list((tmp_path / "sweep").glob("1_*/results.json")), said

    command = shlex.split(line.partition("Continue with: ")[2])  # the same command, into the same sweep folder
    assert "hydra.sweep.dir=sweep" in command
    again = run(command, {})
    assert again.returncode == 0, again.stdout + again.stderr
    said_again = again.stdout + again.stderr
    assert "already finished" in said_again, said_again  # job 0 is skipped, job 1 runs
    assert [results(f)["status"] for f in sorted((tmp_path / "sweep").glob("[01]_*"))] == ["ok", "ok"], said_again


SLOW_DISK = '''
import os, time

_fsync = os.fsync


def fsync(fd):
    """Once the file SLOW exists, flushing a checkpoint takes a minute: time to press Ctrl-C again."""
    if os.readlink(f"/proc/self/fd/{fd}").endswith(".last.ckpt.tmp") and os.path.exists(os.environ["SLOW"]):
        time.sleep(60)
    _fsync(fd)


os.fsync = fsync
'''


def test_a_second_ctrl_c_while_saving_stops_at_once_and_keeps_the_previous_checkpoint(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_DISK)
    slow = tmp_path / "slow"
    proc = start(
        *RUN,
        "hydra.run.dir=run",
        cwd=tmp_path,
        output="first.txt",
        env={**ONE_THREAD, "PYTHONPATH": str(site), "SLOW": str(slow)},
    )
    folder = tmp_path / "run"
    wait_for_checkpoint(folder, 40, proc)
    slow.touch()
    proc.send_signal(signal.SIGINT)
    saving = folder / "checkpoints" / ".last.ckpt.tmp"
    while not saving.exists():  # the checkpoint is being written
        assert proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130  # long before the write would have ended
    assert not saving.exists()
    record = results(folder)
    assert record["status"] == "interrupted" and record["steps"] == checkpoint_step(folder) >= 40


FULL_DISK = '''
import errno, os

_fsync, _failing, _after = os.fsync, os.environ["FAIL_WRITE"], int(os.environ["FAIL_AFTER"])
_count = 0


def fsync(fd):
    """The disk fills up: flushing the given file fails after its first few writes."""
    global _count
    name = os.readlink(f"/proc/self/fd/{fd}")
    if name.endswith(f".{_failing}.tmp"):
        _count += 1
        if _count > _after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
    _fsync(fd)


os.fsync = fsync
'''


def full_disk(tmp_path: Path, failing: str, after: int) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FULL_DISK)
    return {**ONE_THREAD, "PYTHONPATH": str(site), "FAIL_WRITE": failing, "FAIL_AFTER": str(after)}


def test_a_full_disk_at_a_checkpoint_fails_the_run_in_one_line_and_keeps_the_previous_checkpoint(tmp_path):
    out = runner(*RUN, "hydra.run.dir=run", cwd=tmp_path, env=full_disk(tmp_path, "last.ckpt", after=3))
    assert out.returncode == 1
    errors = [line for line in (out.stdout + out.stderr).splitlines() if "No space left on device" in line]
    assert len(errors) == 1 and "failed" in errors[0] and "checkpoints/last.ckpt'" in errors[0]
    folder = tmp_path / "run"
    assert results(folder)["status"] == "failed"
    assert checkpoint_step(folder) == 45  # the third checkpoint (every 15 steps), whole and loadable
    assert list((folder / "checkpoints").glob(".*.tmp")) == []


def test_a_full_disk_at_the_record_fails_the_run_in_one_line_and_keeps_the_checkpoint(tmp_path, tiny):
    out = runner(*tiny, "hydra.run.dir=run", cwd=tmp_path, env=full_disk(tmp_path, "results.json", after=0))
    assert out.returncode == 1
    errors = [line for line in (out.stdout + out.stderr).splitlines() if "No space left on device" in line]
    assert len(errors) == 1 and "cannot write" in errors[0] and "last.ckpt is intact" in errors[0]
    folder = tmp_path / "run"
    assert not (folder / "results.json").exists() and not (folder / ".results.json.tmp").exists()
    assert checkpoint_step(folder) == 4
    again = runner(*tiny, "hydra.run.dir=run", cwd=tmp_path)  # space again: the same command finishes the record
    assert again.returncode == 0 and results(folder)["status"] == "ok"


SUBMITIT = '''
import os, signal, sys


def requeue(signum, frame):
    """Stands for submitit's handler (SignalHandler.checkpoint_and_try_requeue): it requeues, then exits."""
    open(os.environ["REQUEUED"], "w").write(signal.Signals(signum).name)
    sys.exit(255)


signal.signal(signal.SIGUSR2, requeue)  # as submitit installs it before it calls the job
'''


def test_the_cluster_time_limit_signal_checkpoints_then_goes_to_submitit_which_requeues(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SUBMITIT)
    env = {**ONE_THREAD, "PYTHONPATH": str(site), "REQUEUED": str(tmp_path / "requeued")}
    proc = start(*RUN, "hydra.run.dir=run", cwd=tmp_path, output="first.txt", env=env)
    folder = tmp_path / "run"
    wait_for_checkpoint(folder, 40, proc)
    proc.send_signal(signal.SIGUSR2)
    assert proc.wait(timeout=120) == 255
    record = results(folder)
    assert record["status"] == "interrupted" and record["signal"] == "SIGUSR2"
    assert checkpoint_step(folder) == record["steps"] > 40  # saved before submitit requeued the job
    assert (tmp_path / "requeued").read_text() == "SIGUSR2"
