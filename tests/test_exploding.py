"""src/runner/_config/conf/experiment/exploding_gradients in miniature: without clipping the tanh RNN's loss blows up
under plain SGD, with clipping it does not (Pascanu, Mikolov & Bengio 2013)."""

from __future__ import annotations

import pytest

from conftest import results, runner
from runner.report import aggregate, document

SMALL = [
    "cell=rnn",
    "seed=0,1",
    "trainer.max_steps=60",
    "trainer.val_check_interval=30",
    "data.num_train=640",
    "data.num_val=64",
    "logger=csv",
]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("exploding")
    out = runner(
        "-m",
        "experiment=exploding_gradients",
        "grad_setting=none,norm_1,value_0.1",
        *SMALL,
        "hydra.sweep.dir=sweep",
        cwd=root,
    )
    assert out.returncode == 0, out.stderr
    return root


def configurations(root) -> dict[str, aggregate.Configuration]:
    return {c.setting: c for c in aggregate.group(document.read([root / "sweep"], {}))}


def test_unclipped_runs_diverge_and_clipped_ones_do_not(study):
    configs = configurations(study)
    assert set(configs) == {"none", "clip_norm", "clip_value"}
    assert configs["none"].diverged.k >= 1
    for name in ("clip_norm", "clip_value"):
        assert configs[name].diverged.k == 0 and configs[name].n == 2
        assert configs[name].final.max < 1  # finite, and near the baseline of 1/6 after 60 steps
        assert configs[name].clip_rate.mean > 0  # the threshold acted


def test_every_step_is_logged_so_the_norm_that_blew_up_is_measured(study):
    configs = configurations(study)
    for job in configs["clip_norm"].seeds:
        assert len(job.norms) == 60  # trainer.log_every_n_steps=1 in the preset
    blown = [j for j in configs["none"].seeds if j.status == "diverged"]
    assert max(max(j.norms) for j in blown) > 1e6  # the gradient before the loss went non-finite
    assert max(max(j.norms) for j in configs["clip_norm"].seeds) < 1e6


def test_divergence_is_deterministic_under_the_seed(study):
    first = next(d for d in (study / "sweep").iterdir() if "grad_setting=none" in d.name and "seed=0" in d.name)
    out = runner(
        "experiment=exploding_gradients",
        "grad_setting=none",
        *[o for o in SMALL if o != "seed=0,1"],
        "seed=0",
        "hydra.run.dir=again",
        cwd=study,
    )
    assert out.returncode == 0, out.stderr
    again = results(study / "again")
    assert again["status"] == results(first)["status"]
    assert again.get("diverged_at_step") == results(first).get("diverged_at_step")


def test_the_report_shows_divergence_against_the_threshold(study):
    out = runner(str(study / "sweep"), cwd=study, module="runner.report")
    assert out.returncode == 0, out.stderr
    text = (study / "sweep" / "report.md").read_text()
    norms = text.split("## Gradient norms and clipping")[1].split("##")[0]
    assert len([r for r in norms.splitlines() if r.startswith("| rnn")]) == 3
    assert "](divergence_adding.png)" in text
    assert (study / "sweep" / "divergence_adding.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
