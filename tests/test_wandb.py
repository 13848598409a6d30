"""logger=wandb with the real wandb client, offline, read back from the files it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import results, runner, start
from test_interrupt import wait_for_checkpoint
from test_resume import KILLABLE, ONE_THREAD

# The .wandb file is a LevelDB-style log (wandb's own Python reader is gone from recent clients):
# a 7-byte file header, then 32 KiB blocks of records, each a 7-byte header (crc32, length,
# type) and a piece of one protobuf Record; FIRST/MIDDLE/LAST pieces make one record.
BLOCK, HEADER, FULL, LAST = 32768, 7, 1, 4


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, pieces, out = HEADER, b"", []
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the rest of a block is padding
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        pieces += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pieces)
            out.append(record)
            pieces = b""
    return out


class OfflineRun:
    """What one offline run directory says: the run record, config, history, summary, exit code, preempting."""

    def __init__(self, run_dir: Path, path: Path | None = None):
        if path is None:
            (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")  # exactly one W&B run per job
        self.path = path
        self.history: list[dict] = []
        self.summary: dict = {}
        self.exit_code = None
        self.preempting = False
        for r in records(self.path):
            kind = r.WhichOneof("record_type")
            if kind == "run":
                self.run = r.run
                self.config = {item.key: json.loads(item.value_json) for item in r.run.config.update}
            elif kind == "history":
                self.history.append({_key(item): json.loads(item.value_json) for item in r.history.item})
            elif kind == "summary":
                self.summary.update({_key(item): json.loads(item.value_json) for item in r.summary.update})
            elif kind == "exit":
                self.exit_code = r.exit.exit_code
            elif kind == "preempting":
                self.preempting = True


def segments(run_dir: Path) -> list[OfflineRun]:
    """The offline W&B folders of a run resumed in segments, the first first (their names start with the time)."""
    return [OfflineRun(run_dir, path) for path in sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))]


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def offline(tmp_path: Path, mode: str | None = "offline") -> dict[str, str | None]:
    """Everything wandb writes lands in tmp_path; no credentials, so nothing can go online."""
    home = tmp_path / "wandb-home"
    return {
        "WANDB_MODE": mode,
        "WANDB_DIR": str(home),
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_API_KEY": None,
        "NETRC": str(home / "netrc"),
        "WANDB_BASE_URL": "http://127.0.0.1:9",
    }


def test_help_and_cfg_do_not_import_wandb(tmp_path):
    out = runner("--cfg", "job", cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1", **offline(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "project: runner" in out.stdout  # the default logger is wandb
    imported = [line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")]
    assert "hydra" in imported and "wandb" not in imported
    listed = runner("--help", cwd=tmp_path).stdout
    assert "logger: csv, wandb" in listed and "probe: default" in listed


def test_without_credentials_a_run_logs_offline_into_its_folder(tmp_path, tiny):
    # no WANDB_MODE and no credentials: offline, in RUN_DIR/wandb, and nowhere else
    out = runner(
        "cell=gru",
        *tiny,
        "trainer.log_every_n_steps=1",
        "probe.grad_flow.every=2",
        "hydra.run.dir=run",
        cwd=tmp_path,
        env=offline(tmp_path, mode=None),
    )
    assert out.returncode == 0, out.stderr
    run_dir = tmp_path / "run"
    record, wb = results(run_dir), OfflineRun(run_dir)
    assert wb.run.project == "runner" and wb.run.job_type == "train"
    assert wb.run.run_group == record["replicate"]  # a single run is grouped with its other seeds
    assert set(wb.run.tags) == {
        "cell=gru",
        "data=adding",
        "seq_len=8",
        "grad=clip_norm",
        "grad.max_norm=1.0",  # the handler's settings by their own names
        "grad.norm_type=2.0",
        f"replicate={record['replicate']}",
    }  # W&B groups seeds by it, as the report does
    assert (wb.config["replicate"], wb.config["replicate_label"]) == (record["replicate"], record["replicate_label"])
    assert wb.run.display_name.startswith("cell=gru,data.seq_len=8")
    said = out.stdout + out.stderr
    assert "is offline (no W&B credentials: `wandb login`" in said and "upload it with: wandb sync" in said
    assert wb.config["cell"]["hidden_size"] == 8 and wb.config["data"]["seed"] == 0  # resolved, not ${seed}
    logged = set().union(*wb.history)
    assert {
        "train/loss",
        "train/mse",
        "grad/norm_before",
        "grad/norm_after",
        "grad/clipped",
        "lr",
        "val/mse",
        "trainer/global_step",
        "grad_flow/curves_table/_type",
    } <= logged
    (table,) = [h for h in wb.history if "grad_flow/table/nrows" in h]
    assert table["grad_flow/table/nrows"] == 2 * 8  # the probe's steps 0 and 2, t = 1..8
    assert wb.summary["status"] == "ok" and wb.summary["steps"] == 4
    assert wb.summary["val/mse"] == record["val"]["mse"] and wb.summary["baseline/mse"] == record["baseline"]["mse"]
    assert wb.exit_code == 0
    assert (run_dir / "metrics.csv").exists()
    assert not list((tmp_path / "wandb-home").glob("**/*.wandb"))


def test_multirun_jobs_get_their_own_runs_in_one_group_even_when_they_fail(tmp_path, tiny):
    tiny = [t for t in tiny if not t.startswith(("data.seq_len", "trainer.max_steps"))]
    # job 0 fails at setup (the adding problem needs 2 steps), job 1 diverges
    out = runner(
        "-m",
        "data.seq_len=1,8",
        "cell=rnn",
        "grad=none",
        "optim=sgd",
        "optim.lr=1e30",
        *tiny,
        "trainer.max_steps=50",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
        env=offline(tmp_path),
    )
    assert out.returncode == 1, out.stderr  # job 0 failed
    failed_dir, diverged_dir = (next((tmp_path / "sweep").glob(f"{i}_*")) for i in (0, 1))
    failed, diverged = OfflineRun(failed_dir), OfflineRun(diverged_dir)
    assert failed.run.run_id != diverged.run.run_id
    sweep_id = (tmp_path / "sweep" / "sweep_id").read_text().strip()
    assert len(sweep_id) == 8 and failed.run.run_group == diverged.run.run_group == f"sweep-{sweep_id}"
    assert failed.run.display_name != diverged.run.display_name
    assert failed.summary["status"] == "failed" and "seq_len must be at least 2" in failed.summary["error"]
    assert failed.exit_code == 1
    assert diverged.summary["status"] == "diverged" and diverged.exit_code == 0
    assert diverged.summary["diverged_at_step"] == results(diverged_dir)["diverged_at_step"]


def test_wandb_that_cannot_start_warns_once_and_training_goes_on(tmp_path, tiny):
    # online without credentials: wandb.init refuses, the run must not care
    out = runner(*tiny, "hydra.run.dir=run", cwd=tmp_path, env=offline(tmp_path, mode="online"))
    assert out.returncode == 0, out.stderr
    assert (out.stdout + out.stderr).count("W&B did not start") == 1
    assert results(tmp_path / "run")["status"] == "ok"
    assert not list((tmp_path / "run").glob("wandb/*/*.wandb"))


def test_logger_csv_turns_wandb_off(tmp_path, tiny):
    out = runner(*tiny, "logger=csv", "hydra.run.dir=run", cwd=tmp_path, env=offline(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "run" / "wandb").exists()
    assert (tmp_path / "run" / "metrics.csv").exists()


def test_a_run_resumed_after_ctrl_c_is_one_w_and_b_run_and_its_interrupted_segment_is_preempted(tmp_path):
    # W&B's resume rules (docs.wandb.ai, "Resume a run"): the same id with resume="allow" continues the run
    env = {**offline(tmp_path), **ONE_THREAD}
    run = [*KILLABLE, "grad=none", "hydra.run.dir=run"]
    proc = start(*run, cwd=tmp_path, output="first.txt", env=env)
    folder = tmp_path / "run"
    wait_for_checkpoint(folder, 40, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130, (tmp_path / "first.txt").read_text()
    interrupted = results(folder)
    again = runner(*run, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    said = again.stdout + again.stderr
    assert "not resumable" not in said + (tmp_path / "first.txt").read_text()  # the runner replays the data itself

    first, second = segments(folder)
    assert first.run.run_id == second.run.run_id  # `wandb sync` of both folders uploads one run
    assert first.run.run_group == second.run.run_group == interrupted["replicate"]
    assert first.preempting and first.exit_code == 130 and first.summary["status"] == "interrupted"
    assert not second.preempting and second.exit_code == 0 and second.summary["status"] == "ok"
    assert f"W&B run {first.run.run_id} continues" in said
    shown = said.split("upload it with: wandb sync ")[1].split()[0]  # the folders of every segment, as a pattern
    assert shown.endswith(f"offline-run-*-{first.run.run_id}")
    folders = sorted(str(f) for f in Path(shown).parent.glob(Path(shown).name))
    plan = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", "--dry-run", *folders],
        env={**os.environ, **{k: v for k, v in offline(tmp_path).items() if v is not None}},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Would sync 2 run(s)" in plan.stdout + plan.stderr
    # grad=none has no settings: no grad.* tag, and no threshold
    assert "grad=none" in second.run.tags
    assert not [tag for tag in second.run.tags if tag.startswith(("threshold=", "grad."))]
    steps = [h["trainer/global_step"] for h in second.history if "train/loss" in h]
    assert min(steps) >= interrupted["steps"] and max(steps) == 299  # the second segment logs from where it resumed

    record = results(folder)
    assert record["wall_s"] == round(interrupted["wall_s"] + record["segment_wall_s"], 3)  # the total over segments
    assert second.summary["wall_s"] == record["wall_s"]
    assert f"ok after 300 steps in {record['wall_s']:.1f} s ({record['segment_wall_s']:.1f} s in this segment)" in said
    kept = json.loads((folder / "segments.json").read_text())
    assert kept["wandb_id"] == first.run.run_id
    assert [(s["from_step"], s["steps"], s["status"]) for s in kept["segments"]] == [
        (0, interrupted["steps"], "interrupted"),
        (interrupted["steps"], 300, "ok"),
    ]

    over = runner(*run, "resume=false", cwd=tmp_path, env=env)  # a run started over is a new W&B run
    assert over.returncode == 0, over.stdout + over.stderr
    assert segments(folder)[-1].run.run_id != first.run.run_id
    assert results(folder)["wall_s"] == results(folder)["segment_wall_s"]


def test_the_jobs_of_a_sweep_that_start_together_read_one_sweep_id(tmp_path):
    # the first to link its file wins, the others read it: never two groups for one sweep, never a half-written id
    code = "import sys; from runner._run_folder import run_dir; print(run_dir.sweep_id(sys.argv[1]))"
    jobs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "sweep")], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    ids = {job.communicate(timeout=60)[0].strip() for job in jobs}
    assert len(ids) == 1 and len(ids.pop()) == 8
    assert [f.name for f in (tmp_path / "sweep").iterdir()] == ["sweep_id"]  # no temporary file left
