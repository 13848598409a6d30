"""The run folder as docs/run-folder.md documents it, read by ``runner.lm`` for any corpus plugin."""

import json

import pytest

from conftest import fake_distribution, runner
from runner._run_folder import run_dir
from runner._run_folder.run_dir import FORMAT, Status

# A third-party corpus plugin, not the built-in text plugin: its own markers, its own vocabulary.
WORDS = """
from dataclasses import dataclass

from runner import hookimpl

SENTENCES = ["one two three four", "five six seven", "one two three four five"]


@dataclass
class WordsConfig:
    repeats: int = 100  # how often the sentences recur in the training text
    bptt: int = 8  # tokens per window


def build(config):
    import lightning as L
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from runner.task import Task, tokenize

    class Words(L.LightningDataModule):
        def setup(self, stage=None):
            tokens = tokenize("\\\\n".join(SENTENCES * config.repeats), "word", "</s>")
            vocab = sorted(set(tokens)) + ["<oov>"]
            ids = torch.tensor([vocab.index(t) for t in tokens])
            n = (len(ids) - 1) // config.bptt * config.bptt
            self.windows = TensorDataset(ids[:n].view(-1, config.bptt), ids[1 : n + 1].view(-1, config.bptt))
            self.task = Task(inputs="tokens", input_size=len(vocab), targets="classes", output_size=len(vocab),
                             metrics=("ppl",), monitor="ppl", vocab=tuple(vocab), tokenization="word",
                             eos="</s>", unk="<oov>")

        def train_dataloader(self):
            return DataLoader(self.windows, batch_size=16, shuffle=True,
                              generator=torch.Generator().manual_seed(0))

        def val_dataloader(self):
            return DataLoader(self.windows, batch_size=64)

    return Words()


@hookimpl
def register_datasets(register):
    register("words", build, WordsConfig)
"""


@pytest.fixture(scope="module")
def words_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("words")
    env = fake_distribution(cwd / "site", "runner-words", {"runner_words": WORDS}, {"words": "runner_words"})
    out = runner(
        "cell=gru",
        "data=words",
        "cell.hidden_size=16",
        "optim.lr=0.02",
        "trainer.max_steps=120",
        "trainer.val_check_interval=60",
        "hydra.run.dir=run",
        cwd=cwd,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return cwd / "run", env


def test_runner_lm_reads_a_third_party_corpus_from_the_run_folder_alone(words_run):
    folder, env = words_run
    task = json.loads((folder / run_dir.TASK).read_text())
    assert (task["format"], task["tokenization"], task["eos"], task["unk"]) == (FORMAT, "word", "</s>", "<oov>")

    def ask(*argv):
        out = runner(*argv, "--json", cwd=folder.parent, env=env, module="runner.lm")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    following = ask("next", str(folder), "one two", "--k", "3")
    assert following["next"][0]["token"] == "three" and following["next"][0]["p"] > 0.5
    scored = ask("score", str(folder), "one two zebra")
    assert scored["tokens"] == ["one", "two", "<oov>", "</s>"]  # the plugin's markers, not the text plugin's
    assert len(scored["log_probs"]) == 4 and all(lp < 0 for lp in scored["log_probs"])
    sampled = ask("sample", str(folder), "--length", "12", "--seed", "3")
    assert sampled == ask("sample", str(folder), "--length", "12", "--seed", "3")  # the seed reproduces it
    assert len(sampled["tokens"]) == 12 and set(sampled["tokens"]) <= set(task["vocab"])


def test_a_run_folder_holds_the_documented_files(tmp_path, tiny):
    out = runner("cell=rnn", "data=adding", *tiny, "hydra.run.dir=run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "run"
    record = run_dir.read_results(folder)
    assert record["format"] == FORMAT and record["status"] == Status.ok == "ok"
    for name in (run_dir.RESULTS, run_dir.TASK, run_dir.METRICS, run_dir.LAST, run_dir.CONFIG, run_dir.HYDRA):
        assert (folder / name).is_file(), name
    assert run_dir.read_task(folder).tokenization is None and run_dir.read_task(folder).baseline["mse"] > 0
    assert run_dir.choices(folder)["cell"] == "rnn" and run_dir.saved_config(folder).cell.hidden_size == 8
    assert run_dir.status(folder) == Status.ok
    assert [step for step, _ in run_dir.metric_curve(folder, "val/mse")] == [1, 3]
    assert run_dir.run_folders([tmp_path]) == [folder]


def test_a_folder_without_a_readable_record_is_unfinished(tmp_path):
    assert run_dir.status(tmp_path) == Status.unfinished
    (tmp_path / run_dir.RESULTS).write_text('{"status": "ok"')  # cut short
    assert run_dir.read_results(tmp_path) is None and run_dir.status(tmp_path) == Status.unfinished


def test_records_keep_no_nan(tmp_path):
    run_dir.write_results(tmp_path, {"status": Status.diverged, "val": {"loss": float("nan")}})
    assert json.loads((tmp_path / run_dir.RESULTS).read_text()) == {
        "format": FORMAT,
        "status": "diverged",
        "val": {"loss": None},
    }


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    import subprocess
    import sys

    hold = (
        "import sys, time; from runner._run_folder import run_dir\n"
        "with run_dir.locked(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        assert run_dir.holder(tmp_path)["pid"] == child.pid and run_dir.status(tmp_path) == Status.running
        with pytest.raises(run_dir.FolderBusy, match=f"in use by process {child.pid}"), run_dir.locked(tmp_path):
            pass
    finally:
        child.kill()
        child.wait()
    assert run_dir.holder(tmp_path) is None and run_dir.status(tmp_path) == Status.unfinished  # no stale lock
    with run_dir.locked(tmp_path):
        assert run_dir.holder(tmp_path)["pid"] == __import__("os").getpid()
