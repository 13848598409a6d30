"""Runs on one machine share its cores: each registers while it trains and computes with the cores // the runs alive."""

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from conftest import TINY, results, runner, start
from runner._train import cpu, threads


@pytest.fixture(autouse=True)
def torch_threads(monkeypatch):
    """Each test starts without OMP_NUM_THREADS and leaves torch's threads as it found them."""
    monkeypatch.delenv(threads.VARIABLE, raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def ended_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(child.stdout)


def test_a_run_registers_by_pid_and_start_time_and_the_files_of_ended_runs_are_removed(tmp_path):
    folder = tmp_path / "alive"
    mine = threads.register(folder)
    assert mine.name == f"{os.getpid()}-{threads.started(os.getpid())}"
    parent = threads.register(folder, os.getppid())
    gone = folder / f"{ended_pid()}-1"  # a run that ended without removing its file
    reused = (
        folder / f"{os.getppid()}-{int(threads.started(os.getppid())) + 1}"
    )  # its pid since given to another process
    gone.touch(), reused.touch()
    (folder / "notes.txt").touch()  # not a run's file: left alone
    assert threads.alive(folder) == {os.getpid(), os.getppid()}
    assert sorted(p.name for p in folder.iterdir()) == sorted([mine.name, parent.name, "notes.txt"])
    assert threads.alive(tmp_path / "none yet") == set()


def test_the_alive_folder_is_beside_the_data_cache():
    assert threads.alive_folder({"XDG_CACHE_HOME": "/c"}) == threads.Path("/c/runner/alive")
    assert threads.alive_folder({}) == threads.Path.home() / ".cache" / "runner" / "alive"


def test_the_cores_are_divided_among_the_runs_alive_at_least_one_each():
    assert [threads.share(4, runs) for runs in (0, 1, 2, 3, 4, 5)] == [4, 4, 2, 1, 1, 1]
    assert 1 <= cpu.cores() <= len(os.sched_getaffinity(0))


def test_a_containers_cpu_quota_bounds_the_cores(tmp_path):
    cpu_max = tmp_path / "cpu.max"
    answers = {}
    for text in ("200000 100000", "150000 100000", "50000 100000", "max 100000"):
        cpu_max.write_text(text + "\n")
        answers[text] = cpu.quota(cpu_max)
    assert answers == {"200000 100000": 2, "150000 100000": 2, "50000 100000": 1, "max 100000": None}
    assert cpu.quota(tmp_path / "none") is None  # cgroup v1, or no cgroup at all


def test_two_registered_runs_get_half_the_cores_each_and_the_whole_again_when_one_ends(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "cores", lambda: 4)
    folder = tmp_path / "alive"
    other = threads.register(folder, os.getppid())  # another run, alive as long as this test
    shared = threads.Threads(None, True, folder)
    assert torch.get_num_threads() == 2
    trainer = SimpleNamespace(global_step=0)
    shared.setup(trainer, None, "fit")
    assert threads.alive(folder) == {os.getpid(), os.getppid()} and torch.get_num_threads() == 2

    other.unlink()  # the other run ends
    trainer.global_step = 7
    shared.on_train_batch_start(trainer, None, None, 7)
    assert torch.get_num_threads() == 2, "looked again before CHECK_EVERY_S"
    shared.next_look = 0.0  # a second later
    shared.on_train_batch_start(trainer, None, None, 7)
    assert torch.get_num_threads() == 4
    threads.register(folder, os.getppid())
    trainer.global_step = 9
    shared.next_look = 0.0
    shared.on_test_batch_start(trainer, None, None, 0)  # validation and test keep the share too
    assert torch.get_num_threads() == 2

    shared.teardown(trainer, None, "fit")
    assert threads.alive(folder) == {os.getppid()}
    assert shared.record() == {
        "threads": 2,
        "threads_shared": {"cores": 4, "min": 2, "max": 4, "changes": 2, "history": [[0, 2], [7, 4], [9, 2]]},
    }


def test_a_failing_trainer_unregisters_its_run(tmp_path):
    shared = threads.Threads(None, True, tmp_path)
    shared.setup(SimpleNamespace(global_step=0), None, "fit")
    assert threads.alive(tmp_path) == {os.getpid()}
    shared.on_exception(SimpleNamespace(global_step=0), None, RuntimeError("boom"))
    assert threads.alive(tmp_path) == set()


def test_share_cores_false_keeps_torchs_default_and_a_fixed_count_wins_over_sharing(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "cores", lambda: 4)
    threads.register(tmp_path, os.getppid())
    before = torch.get_num_threads()
    off = threads.Threads(None, False, tmp_path)
    assert torch.get_num_threads() == before and off.record() == {"threads": before}
    off.next_look = 0.0
    off.on_train_batch_start(SimpleNamespace(global_step=1), None, None, 1)
    assert torch.get_num_threads() == before  # never adjusted

    fixed = threads.Threads(3, True, tmp_path)  # threads=3
    assert torch.get_num_threads() == 3 and fixed.record() == {"threads": 3}
    monkeypatch.setenv(threads.VARIABLE, "1")
    exported = threads.Threads(None, True, tmp_path)  # an exported OMP_NUM_THREADS
    assert torch.get_num_threads() == 1 and exported.record() == {"threads": 1}
    exported.setup(SimpleNamespace(global_step=0), None, "fit")  # a fixed run registers too: others count it
    assert threads.alive(tmp_path) == {os.getpid(), os.getppid()}


def test_the_history_kept_in_results_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu, "cores", lambda: 2)
    other = threads.register(tmp_path, os.getppid())
    shared = threads.Threads(None, True, tmp_path)
    for step in range(1, 2 * threads.HISTORY + 1):  # the other run ends and starts again, and again
        other.unlink() if other.exists() else other.touch()
        shared.adjust(step)
    record = shared.record()["threads_shared"]
    assert record["changes"] == 2 * threads.HISTORY and len(record["history"]) == threads.HISTORY
    assert (record["min"], record["max"]) == (1, 2)


def test_a_run_records_its_share_beside_another_run_and_leaves_the_folder(tmp_path):
    cache = tmp_path / "cache"
    alive = threads.alive_folder({"XDG_CACHE_HOME": str(cache)})
    threads.register(alive)  # this test's process: a run alive beside it
    env = {"XDG_CACHE_HOME": str(cache), threads.VARIABLE: None}
    out = runner("data=adding", *TINY, "logger=csv", "hydra.run.dir=shared", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    record = results(tmp_path / "shared")
    half = max(1, cpu.cores() // 2)
    assert record["threads"] == half
    assert record["threads_shared"] == {
        "cores": cpu.cores(),
        "min": half,
        "max": half,
        "changes": 0,
        "history": [[0, half]],
    }
    assert threads.alive(alive) == {os.getpid()}  # the run's own file went with it

    out = runner("data=adding", *TINY, "logger=csv", "share_cores=false", "hydra.run.dir=off", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    default = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env={k: v for k, v in os.environ.items() if k != threads.VARIABLE},
        capture_output=True,
        text=True,
        check=True,
    )
    record = results(tmp_path / "off")
    assert record["threads"] == int(default.stdout) and "threads_shared" not in record


def test_the_runs_a_test_starts_register_where_every_test_and_run_looks(tmp_path):
    """The suite's runs share the cores: the environment a test passes on keeps the one alive folder."""
    long = [o for o in TINY if not o.startswith("trainer.max_steps")] + ["trainer.max_steps=100000"]
    run = start("data=adding", *long, "logger=csv", "hydra.run.dir=run", cwd=tmp_path, output="out.txt")
    deadline = time.monotonic() + 120
    while run.poll() is None and run.pid not in threads.alive(threads.alive_folder()) and time.monotonic() < deadline:
        time.sleep(0.05)
    registered = run.pid in threads.alive(threads.alive_folder())
    run.send_signal(signal.SIGTERM)  # stops after a step (exit status 143), unregistered
    run.wait(timeout=120)
    assert registered, (tmp_path / "out.txt").read_text()
    assert run.pid not in threads.alive(threads.alive_folder())
