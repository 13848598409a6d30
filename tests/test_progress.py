"""The live display.

On a terminal for a single run, never in a pipe or a sweep's jobs; the setting decides when given.
"""

import os
import pty
import subprocess
import sys

from conftest import TINY, runner

DISPLAY = ["steps/s", "tok/s", "left", "loss"]  # what the live line shows besides step/total and epoch
STEPS = [*TINY, "trainer.max_steps=12", "trainer.val_check_interval=6", "logger=csv"]


def on_terminal(*args: str, cwd) -> tuple[int, str]:
    """Run ``python -m runner args`` with a pseudo-terminal as its stdin, stdout and stderr."""
    main, child = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
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
    return process.wait(timeout=600), out.decode(errors="replace")


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
    assert "job 1/2 started: cell=rnn" in out and "job 2/2 ok: cell=gru" in out
