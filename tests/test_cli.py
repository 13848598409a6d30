"""The real entry point, end to end, on tiny configs."""

import csv
import json

from conftest import results, runner


def test_help_lists_groups_and_plugin_options(tmp_path):
    out = runner("--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for line in (
        "cell: exprnn, gru, lstm, rnn",
        "data: adding, copy, ptb, sfmnist, smnist, text, tinyshakespeare",
        "grad: clip_norm, clip_value, noise, none",
        "optim: adam, adamw, rmsprop, sgd",
        "schedule: default",
    ):
        assert line in out.stdout


def test_cfg_job_composes_without_importing_torch(tmp_path):
    out = runner("cell=gru", "cell.hidden_size=77", "--cfg", "job", cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr
    assert "hidden_size: 77" in out.stdout
    imported = [line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")]
    assert "hydra" in imported
    assert "torch" not in imported and "lightning" not in imported


def test_typed_override_is_a_clear_error(tmp_path):
    out = runner("cell.hidden_size=abc", cwd=tmp_path)
    assert out.returncode == 1
    assert "cell.hidden_size" in out.stderr and "abc" in out.stderr
    assert not (tmp_path / "outputs").exists()


def test_single_run_leaves_a_record(tmp_path, tiny):
    out = runner("cell=gru", "data=adding", *tiny, "trainer.log_every_n_steps=1", "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run = tmp_path / "run"
    record = results(run)
    assert record["status"] == "ok"
    assert (record["cell"], record["data"], record["grad"]) == ("gru", "adding", "clip_norm")
    assert record["steps"] == 4 and record["wall_s"] > 0
    assert set(record["val"]) == {"loss", "mse"} and record["val"]["mse"] > 0
    assert abs(record["baseline"]["mse"] - 1 / 6) < 1e-9
    assert (run / ".hydra" / "config.yaml").exists()
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    steps = {int(r["step"]) for r in rows if r.get("train/loss")}
    assert len(steps) == 4  # every training step is logged
    assert {"grad/norm_before", "grad/norm_after", "grad/clipped"} <= set(rows[0])
    assert any(r.get("val/mse") for r in rows)


def test_multirun_of_the_card_grid_runs_every_job(tmp_path, tiny):
    tiny = [t for t in tiny if not t.startswith("data.seq_len")]
    out = runner(
        "-m",
        "cell=rnn,lstm,gru",
        "data=adding",
        "data.seq_len=50,100",
        "grad=clip_norm",
        "grad.max_norm=1,5",
        *tiny,
        "trainer.max_steps=2",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/results.json")]
    assert len(records) == 12
    assert all(r["status"] == "ok" for r in records)
    assert {r["cell"] for r in records} == {"rnn", "lstm", "gru"}
    configs = {(p.parent.parent.name) for p in (tmp_path / "sweep").glob("*/.hydra/config.yaml")}
    assert len(configs) == 12


def test_a_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path, tiny):
    tiny = [t for t in tiny if not t.startswith("data.seq_len")]
    out = runner("-m", "data.seq_len=1,8", *tiny, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert out.returncode == 1, out.stderr  # every job ran; one failed, so the multirun says so
    failed, ok = (results(next((tmp_path / "sweep").glob(f"{i}_*"))) for i in (0, 1))
    assert failed["status"] == "failed" and "seq_len must be at least 2" in failed["error"]
    assert ok["status"] == "ok"


def test_a_failing_single_run_exits_non_zero_with_the_reason(tmp_path, tiny):
    out = runner(*tiny, "cell.hidden_size=0", "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 1
    assert "cell.hidden_size must be at least 1, got 0" in out.stderr + out.stdout
    assert results(tmp_path / "run")["status"] == "failed"


def test_a_nan_loss_ends_the_run_as_diverged(tmp_path, tiny):
    out = runner(
        "cell=rnn",
        "grad=none",
        "optim=sgd",
        "optim.lr=1e30",
        *tiny,
        "trainer.max_steps=50",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    record = results(tmp_path / "run")
    assert record["status"] == "diverged"
    assert 0 <= record["diverged_at_step"] < 50
    # on the CPU the flag is read every step: noticed at once, the step itself done
    assert record["diverged_noticed_at_step"] == record["diverged_at_step"] == record["steps"] - 1


def test_a_divergence_read_every_few_steps_still_reports_the_step_it_happened(tmp_path, tiny):
    # what a GPU run does (model.check_finite_every defaults to trainer.log_every_n_steps there):
    # the steps between two reads train on without the host waiting for the device
    blow_up = [
        "cell=rnn",
        "grad=none",
        "optim=sgd",
        "optim.lr=1e30",
        *tiny,
        "trainer.max_steps=50",
        "trainer.val_check_interval=50",
    ]  # a validation also reads the flag
    at_once = runner(*blow_up, "hydra.run.dir=once", cwd=tmp_path)
    deferred = runner(*blow_up, "model.check_finite_every=7", "hydra.run.dir=every7", cwd=tmp_path)
    assert at_once.returncode == deferred.returncode == 0, deferred.stderr
    once, every7 = results(tmp_path / "once"), results(tmp_path / "every7")
    assert every7["status"] == "diverged" and every7["diverged_at_step"] == once["diverged_at_step"]
    noticed = every7["diverged_noticed_at_step"]
    assert noticed % 7 == 6 and 0 <= noticed - every7["diverged_at_step"] < 7 and every7["steps"] == noticed + 1


def test_the_zaremba_presets_compose_as_the_paper_says(tmp_path):
    import yaml

    small = yaml.safe_load(runner("experiment=ptb_small", "--cfg", "job", cwd=tmp_path).stdout)
    assert (small["cell"]["hidden_size"], small["cell"]["num_layers"], small["data"]["bptt"]) == (200, 2, 20)
    assert (small["model"]["init_range"], small["model"]["loss"], small["grad"]["max_norm"]) == (0.1, "sum", 5.0)
    assert (small["optim"]["lr"], small["schedule"]["lr_decay"], small["schedule"]["decay_after"]) == (1.0, 0.5, 4)
    assert small["trainer"]["max_epochs"] == 13
    medium = yaml.safe_load(runner("experiment=ptb_medium", "--cfg", "job", cwd=tmp_path).stdout)
    assert (medium["cell"]["hidden_size"], medium["cell"]["dropout"], medium["model"]["dropout"]) == (650, 0.5, 0.5)
    assert (medium["data"]["bptt"], medium["trainer"]["max_epochs"], medium["schedule"]["decay_after"]) == (35, 39, 6)
    assert abs(medium["schedule"]["lr_decay"] - 1 / 1.2) < 1e-12


def test_a_sweep_with_many_overrides_names_its_job_folders_within_the_file_systems_limit(tmp_path, tiny):
    many = [
        *tiny,
        "logger=csv",
        "model.init_range=0.1",
        "optim.weight_decay=0.0",
        "grad.max_norm=1.0",
        "trainer.log_every_n_steps=1",
        "checkpoint.every_n_steps=500",
        "probe.grad_flow.every=0",
        "model.check_finite_every=1",
        "data.num_val=16",
        "+trainer.limit_test_batches=1",
    ]
    assert len(",".join(sorted(["cell=gru", *many]))) > 255  # Hydra's own name for the job folder: too long
    out = runner("-m", "cell=rnn,gru", *many, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folders = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert [f[:2] for f in folders] == ["0_", "1_"] and all(len(f.encode()) <= 255 for f in folders)
    names = [f[2:] for f in folders]
    assert all(len(n) == 200 + 9 and n[200] == "~" for n in names)  # cut, then "~" and 8 hex digits of the SHA-1
    assert names[0][:200] == names[1][:200].replace("cell=gru", "cell=rnn") and names[0][-8:] != names[1][-8:]
    assert all(results(tmp_path / "sweep" / f)["status"] == "ok" for f in folders)
