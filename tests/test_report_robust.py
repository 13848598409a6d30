"""python -m runner.report where a plugin's task has no seq_len, its handler no threshold, and files are damaged;
comparisons along every axis that varies, named as the config names it."""

from __future__ import annotations

import shutil

import pytest

from conftest import fake_distribution, runner
from runner._run_folder.job import Job
from runner.report import aggregate, axes, document, drawing, plots, tables

TINY = [
    "data.batch_size=16",
    "data.num_train=64",
    "data.num_val=32",
    "cell.hidden_size=8",
    "trainer.max_steps=6",
    "trainer.val_check_interval=3",
    "trainer.log_every_n_steps=1",
    "logger=csv",
]

# A dataset whose sequences have a fixed length and no seq_len setting (as sequential 8x8 digits have), and a
# handler that adds gradient noise (Neelakantan et al. 2015): it changes every gradient and clips none.
PLUGIN = """
from dataclasses import dataclass

import lightning as L
import torch
from omegaconf import II
from torch.utils.data import DataLoader, TensorDataset

from runner import Task, hookimpl


@dataclass
class ParityConfig:
    num_train: int = 64
    num_val: int = 32
    batch_size: int = 16
    seed: int = II("seed")


class Parity(L.LightningDataModule):
    def __init__(self, config):
        super().__init__()
        self.config = config

    @property
    def task(self):
        return Task(inputs="real", input_size=1, targets="real", output_size=1, loss_steps="last",
                    metrics=("mse",), baseline={"loss": 0.25, "mse": 0.25}, monitor="mse")

    def setup(self, stage=None):
        g = torch.Generator().manual_seed(self.config.seed)
        x = torch.randint(0, 2, (self.config.num_train + self.config.num_val, 6, 1), generator=g).float()
        n = self.config.num_train
        self.train, self.val = TensorDataset(x[:n], x[:n].sum(1) % 2), TensorDataset(x[n:], x[n:].sum(1) % 2)

    def train_dataloader(self):
        order = torch.Generator().manual_seed(self.config.seed)
        return DataLoader(self.train, batch_size=self.config.batch_size, shuffle=True, drop_last=True, generator=order)

    def val_dataloader(self):
        return DataLoader(self.val, batch_size=self.config.batch_size)


@dataclass
class NoiseConfig:
    eta: float = 0.01  # the variance of the noise added to every gradient entry


def build_noise(config):
    def add_noise(parameters):
        for p in parameters:
            p.grad.add_(torch.randn_like(p.grad) * config.eta**0.5)
        return True

    return add_noise


@hookimpl
def register_datasets(register):
    register("parity", Parity, ParityConfig)


@hookimpl
def register_grad_handlers(register):
    register("jitter", build_noise, NoiseConfig)
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A plugin sweep (rnn, gru x none, noise x 2 seeds) and an adding sweep with one threshold (rnn, gru x
    none, clip_norm x two step sizes, the second so large that every run diverges x 2 seeds)."""
    root = tmp_path_factory.mktemp("robust")
    env = fake_distribution(root / "site", "noisy-plugins", {"noisy_plugins": PLUGIN}, {"noisy": "noisy_plugins"})
    plugin = runner(
        "-m", "cell=rnn,gru", "seed=0,1", "data=parity", "grad=none,jitter", *TINY, "hydra.sweep.dir=plugin",
        cwd=root, env=env,
    )  # fmt: skip
    assert plugin.returncode == 0, plugin.stderr
    adding = runner(
        "-m", "cell=rnn,gru", "seed=0,1", "+grad_setting=none,norm_1", "optim=sgd", "optim.lr=0.1,1e30",
        "data.seq_len=5", *TINY, "hydra.sweep.dir=adding",
        cwd=root,
    )  # fmt: skip
    assert adding.returncode == 0, adding.stderr
    return root


def report(root, folder, *args):
    out = runner(str(root / folder), *args, cwd=root, module="runner.report")
    assert out.returncode == 0, out.stderr
    return (root / folder / "report.md").read_text(), out.stderr


def test_a_plugin_task_without_seq_len_and_a_handler_without_threshold_get_a_report(root):
    text, stderr = report(root, "plugin")
    assert "Traceback" not in stderr and "8 jobs" in text and "8 ok" in text
    assert "threshold" not in text and "clip rate" not in text  # the noise handler clips nothing
    assert "## Gradient norms\n" in text and "## Gradient norms and clipping" not in text
    assert "seq_len" not in text.split("## Final metric by cell")[1].split("## Configurations")[0].split("\n", 3)[3]
    for name in ("final_parity.png", "curves_parity.png", "divergence_parity.png"):
        assert (root / "plugin" / name).stat().st_size > 10_000, name  # drawn, not an empty file
    assert "parity: final metric](final_parity.png)" in text  # no "against sequence length" where there is none
    rows = [r for r in text.split("## Which differences are resolved")[1].splitlines() if r.startswith("| parity")]
    assert {tuple(r.split(" | ")[2:6]) for r in rows} == {
        ("cell", "rnn", "gru", "grad=none"),
        ("cell", "rnn", "gru", "grad=jitter"),
        ("grad", "jitter", "none", "cell=rnn"),
        ("grad", "jitter", "none", "cell=gru"),
    }


def test_a_handler_that_lengthens_the_gradient_does_not_clip(root):
    configs = {c.setting: c for c in aggregate.group(document.read([root / "plugin"], {})) if c.facets["cell"] == "rnn"}
    assert configs["jitter"].clips is False and configs["jitter"].clip_rate.mean == 1.0  # changed every step
    assert configs["none"].clips is None  # it never changed a gradient
    assert not tables.clipping(list(configs.values()))


def test_clipping_against_none_within_one_cell_and_runs_that_all_diverged(root):
    text, _ = report(root, "adding")
    rows = [r.split(" | ") for r in text.split("## Which differences are resolved")[1].splitlines()]
    rows = [r for r in rows if r[0] == "| adding"]
    grad = [r for r in rows if r[2] == "grad"]  # clip_norm against none, within one cell and step size
    assert {(r[3], r[4], r[5]) for r in grad} == {
        ("clip_norm", "none", f"cell={cell}, optim=sgd (lr={lr})") for cell in ("rnn", "gru") for lr in ("0.1", "1e+30")
    }
    optim = [r for r in rows if r[2] == "optim"]
    assert {(r[3], r[4]) for r in optim} == {("optim=sgd (lr=0.1)", "optim=sgd (lr=1e+30)")} and len(optim) == 4
    blown = [r for r in rows if "lr=1e+30" in r[5] and r[2] != "optim"]
    assert len(blown) == 4 and all(r[-1] == "both diverged in every seed |" for r in blown)
    assert "P = 0.50" not in text and "not resolved with 2 and 2 seeds |" not in "".join(" | ".join(r) for r in blown)
    configurations = text.split("## Configurations")[1].split("##")[0]
    rows = [r for r in configurations.splitlines() if r.startswith(("| rnn", "| gru"))]
    assert len(rows) == 8 and all("| optim=sgd (lr=" in r for r in rows)  # never blank where settings differ


def test_damaged_files_are_named_and_skipped(root, tmp_path):
    sweep = tmp_path / "damaged"
    shutil.copytree(root / "plugin", sweep)
    folders = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit())
    with (folders[0] / "metrics.csv").open("ab") as f:
        f.write(b"\xff\xfe garbage \x81\n")
    record = (folders[1] / "results.json").read_text()
    (folders[1] / "results.json").write_text(record[: len(record) // 2])
    (folders[2] / ".hydra" / "config.yaml").write_text("cell: [\n")
    (folders[3] / "task.json").write_text('{"inputs": "re')
    out = runner(str(sweep), cwd=tmp_path, module="runner.report")
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("runner.report: ") for line in lines)
    assert f"{folders[0]}/metrics.csv: cannot be read (UnicodeDecodeError" in out.stderr
    assert f"{folders[1]}/results.json: cannot be read" in out.stderr and "unfinished" in out.stderr
    assert f"{folders[2]}: skipped" in out.stderr and f"{folders[3]}/task.json: cannot be read" in out.stderr
    text = (sweep / "report.md").read_text()
    assert "## Files that could not be read" in text and "7 jobs" in text and "1 unfinished" in text


def job(choices: dict, config: dict, label: str = "") -> Job:
    return Job(experiment={"choices": choices, "config": config}, label=label)


def test_any_group_or_setting_that_varies_is_an_axis_named_by_the_config():
    base = {"cell": "rnn", "data": "adding", "grad": "none"}
    jobs = [
        job({**base, "optim": "sgd"}, {"optim": {"lr": 0.1}, "trainer": {"max_steps": 30}, "data": {"seq_len": 5}}),
        job({**base, "optim": "rmsprop"}, {"optim": {"lr": 0.1, "alpha": 0.99}, "trainer": {"max_steps": 30}}),
        job({**base, "optim": "sgd"}, {"optim": {"lr": 0.1}, "trainer": {"max_steps": 60}, "data": {"seq_len": 5}}),
    ]
    named = axes.describe(jobs)
    assert named[0] == {
        "cell": "rnn",
        "data": "adding",
        "grad": "none",
        "optim": "optim=sgd",
        "trainer.max_steps": "trainer.max_steps=30",
    }
    assert named[1]["optim"] == "optim=rmsprop" and named[2]["trainer.max_steps"] == "trainer.max_steps=60"
    assert axes.differing(named[0], named[2]) == ["trainer.max_steps"]
    assert axes.length(jobs[0]) == ("data.seq_len", 5) and axes.length(jobs[1]) is None
    lrs = [job({**base, "optim": "sgd"}, {"optim": {"lr": lr}}) for lr in (0.1, 0.01)]
    assert [n["optim"] for n in axes.describe(lrs)] == ["optim=sgd (lr=0.1)", "optim=sgd (lr=0.01)"]


@pytest.fixture
def figures(monkeypatch):
    """Each figure the report draws, kept open instead of saved (name -> matplotlib Figure)."""
    kept = {}
    monkeypatch.setattr(drawing, "save", lambda fig, path: kept.setdefault(path.name, fig) and path)
    return kept


def test_the_divergence_plot_puts_each_gradient_setting_in_a_place_of_its_own(root, figures, tmp_path):
    configs = aggregate.group(document.read([root / "adding"], {}))
    plots.divergence(configs, tmp_path / "divergence.png")
    rates, finals = figures["divergence.png"].axes[:2]
    assert [t.get_text() for t in finals.get_xticklabels()] == ["clip_norm", "none"]  # no log ticks to overlap
    assert rates.get_xscale() == "linear" and "gradient setting" in finals.get_xlabel()
    # every line (cell and step size) at its own x within each place, none drawn on top of another
    xs = [x for line in rates.get_lines() for x in line.get_xdata() if line.get_marker() == "o"]
    assert len(xs) == 8 and len(set(xs)) == 8 and all(-0.5 < x < 1.5 for x in xs)
    assert sorted(round(x) for x in xs) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_a_panel_where_every_seed_diverged_says_so(root, figures, tmp_path):
    configs = aggregate.group(document.read([root / "adding"], {}))
    plots.learning_curves([c for c in configs if "1e+30" in c.first.variant], tmp_path / "curves.png")
    said = [t.get_text() for ax in figures["curves.png"].axes for t in ax.texts]
    assert len(said) == 2 and all(text.startswith("every seed diverged") for text in said)


def test_the_final_metric_interval_is_the_band_its_legend_shows(root, figures, tmp_path):
    configs = [c for c in aggregate.group(document.read([root / "adding"], {})) if "lr=0.1" in c.first.variant]
    plots.final_vs_length(configs, tmp_path / "final.png")  # one length: each mean's interval a short band
    fig = figures["final.png"]
    assert not [c for ax in fig.axes for c in ax.containers]  # no error bars
    assert all(ax.collections for ax in fig.axes)  # bands
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "mean, its 95 % t interval (band)" in labels
    assert [ax.get_xlabel() for ax in fig.axes] == ["data.seq_len (time steps)"] * 2  # what varies, no "copy:"
