"""The live display.

On a terminal for a single run, never in a pipe or a sweep's jobs; the setting decides when given.
"""

import os
import pty
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from conftest import TINY, runner
from runner.status.jobs import Job, time_left
from test_interrupt import wait_for_checkpoint
from test_resume import KILLABLE

DISPLAY = ["steps/s", "tok/s", "left", "loss"]  # what the live line shows besides step/total and epoch
STEPS = [*TINY, "trainer.max_steps=12", "trainer.val_check_interval=6", "logger=csv"]
ERASE = "\x1b[2K"  # the control sequence that clears a line of the terminal
# a tiny language model: its final validation (3 steps, validated at 2) and its test run after training
PTB = [
    "cell=rnn",
    "data=ptb",
    "data.batch_size=8",
    "data.bptt=5",
    "cell.hidden_size=8",
    "trainer.max_steps=3",
    "trainer.val_check_interval=2",
    "trainer.limit_val_batches=4",
    "+trainer.limit_test_batches=5",
    "logger=csv",
]


def on_terminal(*args: str, cwd, during: Callable[[subprocess.Popen], None] | None = None) -> tuple[int, str]:
    """Run ``python -m runner args`` with a pseudo-terminal as its stdin, stdout and stderr.

    ``during(process)`` runs beside it (in a thread), while its output is read.
    """
    main, child = pty.openpty()
    env = {
        **os.environ,
        "TERM": "xterm",
        "COLUMNS": "200",
        "WANDB_MODE": "disabled",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd,
        env=env,
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    beside = threading.Thread(target=during, args=(process,), daemon=True) if during else None
    if beside:
        beside.start()
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    if beside:
        beside.join(timeout=60)
    return process.wait(timeout=600), out.decode(errors="replace")


def final_frame(out: str) -> str:
    """What the terminal shows of the live display at its end: rich erases each frame before it draws the next."""
    return out[out.rfind(ERASE) :]


def test_live_display_on_a_terminal(tmp_path):
    code, out = on_terminal(*STEPS, "hydra.run.dir=run", cwd=tmp_path)
    assert code == 0, out
    assert "step 12/12  epoch" in out
    for word in [*DISPLAY, "val/mse"]:
        assert word in out, f"{word!r} not in:\n{out}"
    assert "step 12  val/loss" in out  # the log line per validation stays


def test_no_display_when_piped(tmp_path):
    out = runner(*STEPS, "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "step 12  val/loss" in out.stdout + out.stderr
    for word in ["step 12/12", "steps/s", "tok/s"]:
        assert word not in out.stdout + out.stderr


def test_setting_decides_on_a_terminal(tmp_path):
    code, out = on_terminal(*STEPS, "trainer.enable_progress_bar=false", "hydra.run.dir=run", cwd=tmp_path)
    assert code == 0, out
    assert "step 12  val/loss" in out and "steps/s" not in out


def test_no_display_per_job_in_a_sweep_on_a_terminal(tmp_path):
    code, out = on_terminal("-m", *STEPS, "cell=rnn,gru", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert code == 0, out
    assert "steps/s" not in out
    assert "job 0/2 started: cell=rnn" in out and "job 1/2 ok: cell=gru" in out  # from 0, as the folders


def test_the_interrupt_line_stays_below_the_live_display(tmp_path):
    def interrupt(process) -> None:
        wait_for_checkpoint(tmp_path / "run", 40, process)
        process.send_signal(signal.SIGINT)

    code, out = on_terminal(*KILLABLE, "logger=csv", "hydra.run.dir=run", cwd=tmp_path, during=interrupt)
    assert code == 130, out
    last = final_frame(out)
    assert "SIGINT: stopping after this step, once it is saved" in last, last  # not written over by a later frame
    assert "steps/s" in last and out.count("SIGINT: stopping after this step") >= 1


def test_the_final_validation_and_the_test_show_their_own_progress(tmp_path):
    code, out = on_terminal(*PTB, "hydra.run.dir=run", cwd=tmp_path)
    assert code == 0, out
    assert "validation 4/4" in out and "test 5/5" in out and "batches/s" in out
    assert out.index("step 3/3") < out.rindex("validation 4/4") < out.index("test 5/5")
    piped = runner(*PTB, "hydra.run.dir=piped", cwd=tmp_path)  # a log instead: a line as each starts
    said = piped.stdout + piped.stderr
    assert piped.returncode == 0, said
    assert "validating the final weights: 4 batches" in said and "testing: 5 batches" in said
    assert re.search(r"test  test/loss [0-9.]+  test/ppl [0-9.]+", said), said


def test_the_first_line_comes_before_torch_loads_whatever_the_logger(tmp_path):
    # the first seconds go to importing torch and lightning (and wandb): a line comes before them
    for logger, mode in (("csv", "disabled"), ("wandb", "offline")):
        env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "PYTHONUNBUFFERED": "1", "WANDB_MODE": mode}
        lines = subprocess.run(  # stdout and stderr in the order they were written: one pipe for both
            [sys.executable, "-m", "runner", *TINY, f"logger={logger}", f"hydra.run.dir={logger}"],
            cwd=tmp_path,
            env={**env, "WANDB_DIR": str(tmp_path / "wandb-home"), "WANDB_API_KEY": ""},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=True,
        ).stdout.splitlines()
        first = next(i for i, line in enumerate(lines) if "[runner][" in line)
        torch = next(i for i, line in enumerate(lines) if re.fullmatch(r"import time:.*\|\s+torch", line))
        assert first < torch and "run in" in lines[first], lines[first]


def test_every_log_line_of_a_parallel_sweep_names_its_job(tmp_path):
    out = runner(
        "-m",
        *STEPS,
        "cell=rnn,gru",
        "hydra/launcher=parallel",
        "hydra.launcher.n_jobs=2",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    said = out.stdout + out.stderr
    assert out.returncode == 0, said
    lines = [line for line in said.splitlines() if "][runner][" in line]
    assert len([line for line in lines if "val/loss" in line]) == 4  # two validations of each job
    for line in lines:
        assert re.search(r"\] - job [01](/2 \w+)?: ", line), line


def test_the_time_left_of_a_parallel_sweep_counts_its_workers_and_what_the_running_jobs_did():
    def job(status: str, wall_s: float | None = None) -> Job:
        return Job(name=status, status=status, wall_s=wall_s)

    # 6 jobs of 60 s on 2 workers: at the first job's end the second has run 58 s; four remain, two at a time
    sweep = [job("ok", 60.0), job("running", 58.0), *(job("pending") for _ in range(4))]
    assert time_left(sweep, workers=2) == 2 + 60 + 60  # the second's worker frees at 2 s, then 2 rounds each
    # the old estimate, the mean times the jobs to go over the jobs running, said 5 x 60 s: 2.5 times too long
    assert time_left(sweep) == 2 + 4 * 60  # one worker: the basic launcher
