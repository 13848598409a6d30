"""A language model learns PTB, and ``python -m runner.lm`` answers next, score and sample on the run."""

import json
import math
import shutil

import pytest
import torch

from conftest import DATA, results, runner
from runner.lm import cli
from runner.lm.language_model import LanguageModel, draw
from runner.task import Task

# a small LSTM, a few hundred steps: seconds of training, yet far below uniform guessing (10,000)
LEARN = [
    "cell=lstm",
    "data=ptb",
    "data.batch_size=20",
    "data.bptt=20",
    "cell.hidden_size=64",
    "optim=adam",
    "optim.lr=0.01",
    "trainer.max_steps=300",
    "trainer.val_check_interval=300",
    "trainer.limit_val_batches=40",
    "+trainer.limit_test_batches=10",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("lm")
    out = runner(*LEARN, "hydra.run.dir=run", cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    return cwd / "run"


def ask(capsys, *argv: str):
    """``runner.lm`` in this process (the entry point itself is run once below), its --json answer."""
    cli.main([*argv, "--json"])
    return json.loads(capsys.readouterr().out)


def test_a_few_hundred_steps_learn_ptb(run_dir):
    record = results(run_dir)
    assert record["status"] == "ok" and record["steps"] == 300
    assert record["val"]["ppl"] < 1000  # uniform guessing over 10,000 words: 10,000
    assert record["val"]["ppl"] < 0.8 * record["baseline"]["ppl"]  # the unigram model, about 685
    assert record["test"]["ppl"] < record["baseline"]["ppl"]
    assert record["train_tokens_per_s"] > 0
    task = json.loads((run_dir / "task.json").read_text())
    assert len(task["vocab"]) == 10_000 and task["tokenization"] == "word" and task["eos"] == "<eos>"


def test_next_gives_the_likeliest_words_with_their_probabilities(run_dir, capsys):
    answer = ask(capsys, "next", str(run_dir), "the stock market", "--k", "5")
    assert answer["prompt"] == ["the", "stock", "market"]
    ps = [entry["p"] for entry in answer["next"]]
    assert len(ps) == 5 and ps == sorted(ps, reverse=True) and 0 < sum(ps) <= 1
    # the chain rule ties the commands together: P(w | the stock market) is the last factor of score
    best = answer["next"][0]
    scored = ask(capsys, "score", str(run_dir), f"the stock market {best['token']}")
    assert math.exp(scored["log_probs"][3]) == pytest.approx(best["p"], rel=1e-4)


def after_line_ends(lm: LanguageModel, tokens: int = 20_000) -> torch.Tensor:
    """The model's mean next-word distribution after ``<eos>`` as it reads PTB's validation text, its state carried
    from the start of the text as validation carries it: what "after a line end" means in the corpus."""
    ids = lm.ids(lm.task.tokenize((DATA / "ptb" / "ptb.valid.txt").read_text())[:tokens])
    with torch.no_grad():
        logits, _ = lm.model(torch.tensor([ids]), None)
    at = [i for i, token in enumerate(ids) if token == lm.start]
    return torch.softmax(logits[0, at].float(), -1).mean(0)


def test_a_query_starts_after_a_line_end_as_the_corpus_reads_it(run_dir, capsys):
    """``next ""`` is the model's distribution after ``<eos>`` in running text, not after a zero state.

    The model trained with its state carried across windows (truncated BPTT) rarely saw a zero state: from one, it
    predicts far from what it predicts after a line end in the corpus.
    """
    lm = LanguageModel.load(run_dir)
    corpus = after_line_ends(lm)
    answer = ask(capsys, "next", str(run_dir), "", "--k", str(len(lm.vocab)))
    assert answer["prompt"] == [] and answer["unknown"] == []
    asked = torch.zeros(len(lm.vocab))
    for entry in answer["next"]:
        asked[lm.index[entry["token"]]] = entry["p"]
    assert float(asked.sum()) == pytest.approx(1, abs=1e-4)
    with torch.no_grad():
        zero_state = torch.softmax(lm.model(torch.tensor([[lm.start]]), None)[0][0, -1], -1)
    distance = float((asked - corpus).abs().sum() / 2)  # total variation
    assert distance < 0.03 and distance < float((zero_state - corpus).abs().sum() / 2) / 4
    # the chain rule starts there: score's first factor is next's probability of the first word
    scored = ask(capsys, "score", str(run_dir), "the company said")
    assert math.exp(scored["log_probs"][0]) == pytest.approx(float(asked[lm.index["the"]]), rel=1e-4)


def test_words_outside_the_vocabulary_are_named(run_dir, capsys):
    assert ask(capsys, "next", str(run_dir), "the zyzzyva of qwxz", "--k", "1")["unknown"] == ["zyzzyva", "qwxz"]
    assert ask(capsys, "score", str(run_dir), "the market rose")["unknown"] == []
    cli.main(["next", str(run_dir), "the zyzzyva of qwxz", "--k", "1"])
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "after a line end and 'the <unk> of <unk>':"
    assert said[-1] == "2 words not in the vocabulary, read as <unk>: zyzzyva, qwxz"
    cli.main(["score", str(run_dir), "the zyzzyva"])
    assert capsys.readouterr().out.splitlines()[-1] == "1 word not in the vocabulary, read as <unk>: zyzzyva"
    sampled = ask(capsys, "sample", str(run_dir), "--prompt", "a qwxz", "--length", "2", "--seed", "0")
    assert sampled["prompt"] == ["a", "<unk>"] and sampled["unknown"] == ["qwxz"]


def test_score_is_the_chain_rule_over_the_line(run_dir, capsys):
    answer = ask(capsys, "score", str(run_dir), "the cat sat on the zyzzyva")
    assert answer["tokens"] == ["the", "cat", "sat", "on", "the", "<unk>", "<eos>"]
    assert answer["unknown"] == ["zyzzyva"]
    assert all(lp < 0 for lp in answer["log_probs"])
    assert answer["total_log_prob"] == pytest.approx(sum(answer["log_probs"]))
    assert answer["probability"] == pytest.approx(math.exp(answer["total_log_prob"]))
    assert answer["perplexity"] == pytest.approx(math.exp(-answer["total_log_prob"] / 7))
    # the model learned word order: a sentence scores better than its words reversed
    shuffled = ask(capsys, "score", str(run_dir), "on the the sat cat the zyzzyva")
    assert answer["total_log_prob"] > shuffled["total_log_prob"]


def test_sample_is_reproducible_and_follows_the_temperature(run_dir, capsys):
    one = ask(capsys, "sample", str(run_dir), "--seed", "3", "--length", "20")
    assert len(one["tokens"]) == 20 and one["seed"] == 3
    assert ask(capsys, "sample", str(run_dir), "--seed", "3", "--length", "20") == one
    assert ask(capsys, "sample", str(run_dir), "--seed", "4", "--length", "20")["tokens"] != one["tokens"]
    # near zero temperature, sampling is the likeliest next word
    cold = ask(
        capsys, "sample", str(run_dir), "--prompt", "the stock market", "--temperature", "0.001", "--length", "1"
    )
    assert cold["prompt"] == ["the", "stock", "market"]
    assert cold["tokens"] == [ask(capsys, "next", str(run_dir), "the stock market", "--k", "1")["next"][0]["token"]]


def test_the_readable_reports(run_dir, capsys):
    cli.main(["next", str(run_dir), "the stock market", "--k", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "after a line end and 'the stock market':" and len(lines) == 4
    assert lines[1].lstrip().startswith("1. ")
    cli.main(["score", str(run_dir), "the cat sat"])
    out = capsys.readouterr().out
    assert "<eos>" in out and "log P(sentence) = " in out and "perplexity" in out and "over 4 tokens" in out
    cli.main(["sample", str(run_dir), "--seed", "1", "--length", "5"])
    assert capsys.readouterr().out.rstrip().endswith("(seed 1, temperature 1.0)")


def test_the_entry_point(run_dir, tmp_path):
    out = runner("score", str(run_dir), "the cat sat on the mat", cwd=tmp_path, module="runner.lm")
    assert out.returncode == 0, out.stderr
    assert "perplexity" in out.stdout
    out = runner("sample", str(tmp_path), cwd=tmp_path, module="runner.lm")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == f"runner.lm: error: {tmp_path} is not a run folder (no .hydra/config.yaml)\n"


@pytest.mark.parametrize(
    "folder,message",
    [
        ("empty", "is not a run folder (no .hydra/config.yaml)"),
        ("untrained", "holds no trained model yet (no checkpoints/best.ckpt or last.ckpt)"),
        ("no_task", "holds no task.json"),
        ("damaged", "is not a readable checkpoint"),
    ],
)
def test_a_folder_without_a_trained_model_is_one_clear_line(run_dir, tmp_path, capsys, folder, message):
    target = tmp_path / folder
    target.mkdir()
    if folder != "empty":
        shutil.copytree(run_dir / ".hydra", target / ".hydra")
    if folder in ("untrained", "damaged"):
        shutil.copy(run_dir / "task.json", target / "task.json")
    if folder in ("no_task", "damaged"):
        shutil.copytree(run_dir / "checkpoints", target / "checkpoints")
    if folder == "damaged":
        for ckpt in (target / "checkpoints").iterdir():
            ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(SystemExit) as exit:
        cli.main(["next", str(target), "the"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("runner.lm: error: ") and message in err and err.count("\n") == 1


class Uniform(torch.nn.Module):
    """A model that knows nothing: every token equally likely, whatever came before."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, inputs, state=None):
        return torch.zeros(*inputs.shape, self.vocab_size), state


def text_task(tokenization: str, vocab: list[str], eos: str) -> Task:
    return Task(
        inputs="tokens",
        input_size=len(vocab),
        targets="classes",
        output_size=len(vocab),
        vocab=tuple(vocab),
        tokenization=tokenization,
        eos=eos,
        unk="<unk>",
    )


def test_character_level_lines_end_with_a_newline():
    vocab = ["a", "b", "\n", "<unk>"]
    model = LanguageModel(Uniform(len(vocab)), text_task("char", vocab, "\n"))
    scored = model.score("ab!")
    assert scored.tokens == ["a", "b", "<unk>", "\n"] and scored.unknown == ["!"]
    assert scored.log_probs == pytest.approx([-math.log(4)] * 4)
    assert scored.perplexity == pytest.approx(4)  # knowing nothing is guessing among the 4 types
    prompt, drawn, _ = model.sample(30, seed=7, prompt="ba")
    assert prompt == ["b", "a"] and len(drawn) == 30 and set(drawn) <= set(vocab)
    assert model.render(["a", "\n", "b"]) == "a\nb"
    words = LanguageModel(Uniform(3), text_task("word", ["x", "<eos>", "<unk>"], "<eos>"))
    assert words.render(["x", "<eos>", "x"]) == "x\nx"


def test_a_checkpoint_without_the_training_statistics_loads(run_dir, tmp_path, capsys):
    """Checkpoints of older versions lack the clipping-statistics buffer; the weights are what counts."""
    shutil.copytree(run_dir, tmp_path / "run")
    for ckpt in (tmp_path / "run" / "checkpoints").iterdir():
        saved = torch.load(ckpt, weights_only=True)
        del saved["state_dict"]["clip_counts"]
        torch.save(saved, ckpt)
    assert ask(capsys, "next", str(tmp_path / "run"), "the") == ask(capsys, "next", str(run_dir), "the")


def test_draw_follows_each_rows_distribution_and_never_draws_a_token_of_probability_zero():
    probs = torch.tensor([[0.1, 0.0, 0.6, 0.3], [0.0, 0.0, 0.0, 1.0]]).repeat(100_000, 1)
    drawn = draw(probs, torch.Generator().manual_seed(0)).squeeze(1)
    first, second = (torch.bincount(drawn[i::2], minlength=4) / 100_000 for i in (0, 1))
    assert first.tolist() == pytest.approx([0.1, 0.0, 0.6, 0.3], abs=0.005) and first[1] == 0
    assert second.tolist() == [0.0, 0.0, 0.0, 1.0]
