"""python -m runner.report on tiny real multiruns: seeds grouped as replicates, every job still listed."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from conftest import results, runner
from runner.report import aggregate, document

TINY = [
    "data.batch_size=16",
    "data.num_train=64",
    "data.num_val=32",
    "cell.hidden_size=8",
    "trainer.max_steps=6",
    "trainer.val_check_interval=2",
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """2 cells x 3 seeds x 2 step sizes (lr 1e30 diverges), the probe on; and one job that fails at setup."""
    root = tmp_path_factory.mktemp("report")
    out = runner(
        "-m",
        "cell=rnn,gru",
        "seed=range(3)",
        "optim=sgd",
        "optim.lr=0.1,1e30",
        "grad=none",
        "data.seq_len=8",
        *TINY,
        "probe.grad_flow.every=2",
        "trainer.log_every_n_steps=2",
        "logger=csv",
        "hydra.sweep.dir=sweep",
        cwd=root,
    )
    assert out.returncode == 0, out.stderr
    failed = runner(
        "-m",
        "cell=rnn",
        "data.seq_len=1",
        "optim=sgd",
        "optim.lr=0.1",
        "grad=none",
        *TINY,
        "logger=csv",
        "hydra.sweep.dir=failed",
        cwd=root,
    )
    assert failed.returncode == 1, failed.stderr  # a sweep with a failed job exits 1
    return root


def jobs(root, targets=None):
    return document.read([root / "sweep", root / "failed"], targets or {})


def test_seeds_share_a_replicate_id_that_results_json_and_the_report_agree_on(sweep):
    every = jobs(sweep)
    assert len(every) == 13
    configs = aggregate.group(every)
    assert len(configs) == 5  # rnn and gru at two step sizes, and the failed rnn at seq_len 1
    for config in configs:
        assert len({j.replicate for j in config.jobs}) == 1
        assert len({j.seed for j in config.jobs}) == len(config.jobs)
    assert len({c.first.replicate for c in configs}) == 5
    for job in every:
        record = results(job.path)
        assert (record["replicate"], record["replicate_label"]) == (job.replicate, job.label)
        assert "seed=" not in job.label and f"cell={job.facets['cell']}" in job.label


def test_a_configuration_row_has_n_an_interval_and_a_solve_rate(sweep):
    configs = aggregate.group(jobs(sweep))
    trained = [c for c in configs if c.first.variant == "optim=sgd (lr=0.1)" and c.facets["seq_len"] == 8]
    assert {c.facets["cell"] for c in trained} == {"rnn", "gru"}
    for c in trained:
        assert c.n == 3 and c.final.n == 3 and c.final.low < c.final.mean < c.final.high
        assert (c.solved.k, c.solved.n) == (0, 3)  # 6 steps: nowhere near halfway to a perfect score
        assert c.solved.high == pytest.approx(0.5615, abs=1e-4)  # Wilson, 0 of 3
    easy = aggregate.group(jobs(sweep, {"mse": 1e9}))  # a target every run beats
    assert all(c.solved.k == 3 for c in easy if c.first.variant == "optim=sgd (lr=0.1)" and c.facets["seq_len"] == 8)
    blown = [c for c in configs if c.first.variant == "optim=sgd (lr=1e+30)"]
    assert len(blown) == 2 and all(c.diverged.k == 3 and c.final is None and c.solved.k == 0 for c in blown)
    (failed,) = [c for c in configs if c.count("failed")]
    assert failed.n == 0 and failed.count("failed") == 1


def test_report_md_aggregates_and_still_lists_every_job(sweep):
    out = runner(str(sweep / "sweep"), str(sweep / "failed"), "--out", "rep", cwd=sweep, module="runner.report")
    assert out.returncode == 0, out.stderr
    text = (sweep / "rep" / "report.md").read_text()
    assert "13 jobs" in text and "6 ok, 6 diverged, 1 failed" in text and "5 configurations" in text
    configurations = text.split("## Configurations")[1].split("##")[0]
    rows = [r for r in configurations.splitlines() if r.startswith(("| rnn", "| gru"))]
    assert len(rows) == 5
    assert sum("| 3 | val mse |" in r and "| 0/3 [0.00, 0.56] | 0/3 [0.00, 0.56] | 0 |" in r for r in rows) == 2
    assert sum("| 3/3 [0.44, 1.00] |" in r for r in rows) == 2  # the diverged ones
    assert sum("| 0 | – |" in r and "| 1 failed |" in r for r in rows) == 1  # no seed got to train
    resolved = text.split("## Which differences are resolved")[1].split("##")[0]
    assert "| cell | rnn | gru | grad=none, optim=sgd (lr=0.1) | 3 / 3 |" in resolved
    assert "| both diverged in every seed |" in resolved  # lr 1e30: no difference to resolve, and none to seek
    every = text.split("## Every job")[1]
    assert "<details>" in every and len(re.findall(r"^\| (rnn|gru) \|", every, re.M)) == 13
    assert every.count("| diverged at step") == 6 and "| failed: ValueError: data.seq_len must be at least 2" in every
    for name in ("final_adding.png", "solved_adding.png", "curves_adding.png", "grad_flow_adding.png"):
        assert f"]({name})" in text
        assert (sweep / "rep" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_single_seed_sweep_says_it_has_no_interval(sweep, tmp_path):
    single = [j for j in jobs(sweep) if j.seed == 0]
    text = document.write(single, tmp_path, [sweep]).read_text()
    assert "no interval (n = 1)" in text and "seed=range(5)" in text
    rows = [r for r in text.split("## Configurations")[1].split("##")[0].splitlines() if r.startswith("| rnn")]
    assert rows and all("| 1 | val mse |" in r or "| 0 | – |" in r for r in rows)
    resolved = text.split("## Which differences are resolved")[1].split("##")[0]
    rows = [r.split(" | ") for r in resolved.splitlines() if r.startswith("| adding")]
    assert rows and all(r[6] == "1 / 1" and r[8] == "–" for r in rows)  # no bootstrap interval from one seed
    said = ("no interval below 2 seeds a side", "neither beats the baseline", "both diverged in every seed")
    assert all(r[-1].startswith(said) for r in rows) and "both diverged in every seed |" in {r[-1] for r in rows}


def test_jobs_read_back_from_their_folders(sweep):
    ok = [j for j in jobs(sweep) if j.status == "ok"]
    assert len(ok) == 6
    for job in ok:
        expected = {"data": "adding", "seq_len": 8, "grad": "none", "length_key": "data.seq_len"}
        assert job.facets == {**job.facets, **expected}
        assert job.monitor == "mse" and job.baseline == pytest.approx(1 / 6)
        assert job.target == pytest.approx(1 / 12)  # halfway from the baseline to a perfect 0
        assert [step for step, _ in job.curve] == [1, 3, 5]  # a validation every 2 steps, as metrics.csv logs it
        assert job.curve[-1][1] == pytest.approx(job.final)
        assert sorted(job.grad_flow) == [0, 2, 4] and all(len(n) == 8 for n in job.grad_flow.values())
        assert len(job.norms) == 3 and job.clip_rate == 0.0  # logged steps 1, 3, 5; grad=none changes nothing
    assert all(j.final is None and j.note for j in jobs(sweep) if j.status != "ok")


def test_steps_to_target_is_the_first_validation_that_beats_it(sweep):
    folder = next(j.path for j in jobs(sweep) if j.status == "ok")
    job = document.load(folder, {"mse": 1e9})  # any score beats this target: the first validation
    assert job.reached_at == job.curve[0][0] and job.solved
    never = document.load(folder, {"mse": -1.0})  # nothing beats a negative MSE
    assert never.reached_at is None and not never.solved


def test_the_quick_study_sweeps_seeds_as_replicates(tmp_path):
    """The preset long_term_deps_quick, trimmed by overrides to rnn on adding, one seed and 2 steps."""
    preset = resources.files("runner._config.conf") / "experiment" / "long_term_deps_quick.yaml"
    assert "seed: range(3)" in preset.read_text()
    out = runner(
        "-m",
        "experiment=long_term_deps_quick",
        "cell=rnn",
        "data=adding",
        "seed=0",
        "trainer.max_steps=2",
        "data.num_train=64",
        "data.num_val=64",
        "logger=csv",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    (sweep,) = (tmp_path / "multirun" / "long_term_deps_quick").iterdir()
    found = document.read([sweep], {})
    grid = {(j.facets["seq_len"], j.facets["grad"]) for j in found}
    assert len(found) == 6 and grid == {(n, g) for n in (10, 20, 40) for g in ("none", "clip_norm")}
    assert all(j.status == "ok" and j.facets["cell"] == "rnn" and j.grad_flow for j in found)
    assert runner(str(sweep), cwd=tmp_path, module="runner.report").returncode == 0
    assert (sweep / "final_adding.png").exists()


def test_the_copy_task_gets_its_loss_curves_against_the_memoryless_baseline(tmp_path, monkeypatch):
    """Arjovsky, Shah & Bengio 2016 (Figure 1) judge the copy task by its cross-entropy against 10 ln 8 / (T + 20)."""
    import math

    from runner.report import drawing, plots

    out = runner(
        "-m", "data=copy", "data.seq_len=6,12", "cell=gru", "seed=range(2)", *TINY, "logger=csv",
        "hydra.sweep.dir=copy", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    kept = {}
    monkeypatch.setattr(drawing, "save", lambda fig, path: kept.setdefault(path.name, fig) and path)
    configs = aggregate.group(document.read([tmp_path / "copy"], {}))
    titles = [title for title, _ in plots.draw([j for c in configs for j in c.jobs], configs, tmp_path)]
    assert "copy: validation loss against the baseline" in titles
    panels = kept["loss_copy.png"].axes[: len(configs)]
    for ax, config in zip(panels, sorted(configs, key=lambda c: c.facets["seq_len"]), strict=True):
        T = config.facets["seq_len"]
        dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert [line.get_ydata()[0] for line in dashed] == pytest.approx([10 * math.log(8) / (T + 20)])
        mean = next(line for line in ax.get_lines() if line.get_linestyle() == "-")
        losses = [[loss for _, loss in j.loss_curve] for j in config.seeds]
        assert len(losses) == 2 and len(losses[0]) == 3  # validations at steps 2, 4, 6
        assert list(mean.get_ydata()) == pytest.approx([(a + b) / 2 for a, b in zip(*losses, strict=True)])
        assert ax.get_ylim()[0] == 0 and ax.get_yscale() == "linear"
    assert "curves_copy.png" in kept  # the accuracy curves too
