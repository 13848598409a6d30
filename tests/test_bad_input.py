"""Every bad input gets one clear message, a non-zero exit, no traceback, and damages nothing."""

import shutil

import pytest

from conftest import DATA, results, runner

# (overrides, words the message must contain)
CHOICES = [
    (["cell=lstn"], ["unknown cell 'lstn'", "Installed: exprnn, gru, lstm, rnn", "Did you mean cell=lstm?"]),
    (["data=addng"], ["unknown data 'addng'", "Did you mean data=adding?"]),
    (["grad=clip_nrm"], ["unknown grad 'clip_nrm'", "Did you mean grad=clip_norm?"]),
    (["optim=adamx"], ["unknown optim 'adamx'", "Installed: adam, adamw, rmsprop, sgd", "Did you mean optim=adam?"]),
    (["experiment=ptb_smal"], ["unknown experiment 'ptb_smal'", "Did you mean experiment=ptb_small?"]),
    (["-m", "cell=rnn,gur"], ["unknown cell 'gur'", "Did you mean cell=gru?"]),
]
TYPES = [
    (["cell.hidden_size=abc"], ["cell.hidden_size", "abc"]),
    (["data.seq_len=1.5"], ["data.seq_len", "1.5"]),
    (["grad.max_norm=abc"], ["grad.max_norm", "abc"]),
    (["optim.lr=fast"], ["optim.lr", "fast"]),
    (["seed=abc"], ["seed", "abc"]),
    (["cell.impl=fastest"], ["cell.impl", "fastest", "fused", "reference"]),
    (["cell.hiden_size=3"], ["hiden_size"]),
    (["cell=gru", "+cell.forget_bias=1"], ["GRUConfig has no option 'forget_bias'"]),  # refused, not dropped
]
RANGES = [
    (["data.seq_len=0"], ["data.seq_len must be at least 1, got 0"]),
    (["data.seq_len=-5"], ["data.seq_len must be at least 1, got -5"]),
    (["grad.max_norm=0"], ["grad.max_norm must be positive, got 0"]),
    (["grad.max_norm=-1"], ["grad.max_norm must be positive, got -1"]),
    (["grad=clip_value", "grad.clip_value=0"], ["grad.clip_value must be positive"]),
    (["cell.hidden_size=0"], ["cell.hidden_size must be at least 1, got 0"]),
    (["cell.num_layers=0"], ["cell.num_layers must be at least 1, got 0"]),
    (["cell.dropout=1.0"], ["cell.dropout must be in [0, 1), got 1.0"]),
    (["cell.dropout=-0.1"], ["cell.dropout must be in [0, 1), got -0.1"]),
    (["model.dropout=1.5"], ["model.dropout must be in [0, 1), got 1.5"]),
    (["optim.lr=0"], ["optim.lr must be positive, got 0"]),
    (["optim.lr=-1"], ["optim.lr must be positive, got -1"]),
    (["data.batch_size=0"], ["data.batch_size must be at least 1, got 0"]),
]


def assert_clear_failure(out, words):
    text = out.stdout + out.stderr
    assert out.returncode != 0
    for word in words:
        assert word in text, f"{word!r} not in:\n{text}"
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "overrides,words",
    CHOICES + TYPES + RANGES,
    ids=lambda v: " ".join(v) if isinstance(v, list) and "=" in v[-1] else None,
)
def test_bad_override(tmp_path, tiny, overrides, words):
    out = runner(*tiny, *overrides, "hydra.run.dir=run", "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert_clear_failure(out, words)


@pytest.fixture
def corpus(tmp_path):
    """A small word-level corpus folder for data=text, cut from PTB."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = (DATA / "ptb" / "ptb.valid.txt").read_text().splitlines()
    (folder / "train.txt").write_text("\n".join(lines[:300]) + "\n")
    (folder / "valid.txt").write_text("\n".join(lines[300:400]) + "\n")
    (folder / "test.txt").write_text("\n".join(lines[400:500]) + "\n")
    return folder


def run_text(tmp_path, corpus, *extra):
    return runner(
        "data=text",
        f"data.root={corpus}",
        "data.batch_size=4",
        "data.bptt=8",
        "cell.hidden_size=8",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        *extra,
        "hydra.run.dir=run",
        cwd=tmp_path,
    )


def test_text_corpus_that_is_fine_runs(tmp_path, corpus):
    out = run_text(tmp_path, corpus)
    assert out.returncode == 0, out.stdout + out.stderr
    assert results(tmp_path / "run")["status"] == "ok"


def test_missing_data_file(tmp_path, corpus):
    (corpus / "valid.txt").unlink()
    assert_clear_failure(run_text(tmp_path, corpus), ["valid.txt does not exist"])


def test_empty_data_file(tmp_path, corpus):
    (corpus / "train.txt").write_text("")
    assert_clear_failure(run_text(tmp_path, corpus), ["train.txt is empty"])


def test_binary_garbage_data_file(tmp_path, corpus):
    (corpus / "test.txt").write_bytes(bytes(range(256)) * 40)
    assert_clear_failure(run_text(tmp_path, corpus), ["test.txt is binary, not text"])


def test_wrongly_encoded_data_file(tmp_path, corpus):
    (corpus / "train.txt").write_bytes("le café est très bon\n".encode("latin-1") * 50)
    assert_clear_failure(run_text(tmp_path, corpus), ["train.txt is not UTF-8 text"])


def test_data_root_that_does_not_exist(tmp_path, corpus):
    out = runner("data=text", f"data.root={tmp_path / 'nowhere'}", "hydra.run.dir=run", cwd=tmp_path)
    assert_clear_failure(out, ["nowhere/train.txt does not exist"])


@pytest.fixture
def ptb_copy(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(DATA / "ptb", root / "ptb")
    return root


def run_ptb(tmp_path, root):
    return runner(
        "data=ptb", "trainer.max_steps=1", "hydra.run.dir=run", cwd=tmp_path, env={"RUNNER_DATA_DIR": str(root)}
    )


def test_truncated_ptb_file(tmp_path, ptb_copy):
    train = ptb_copy / "ptb" / "ptb.train.txt"
    train.write_bytes(train.read_bytes()[:100_000])
    out = run_ptb(tmp_path, ptb_copy)
    assert_clear_failure(out, ["ptb.train.txt is not the expected file (SHA-256 mismatch)", "RUNNER_DATA_DIR"])
    assert len(train.read_bytes()) == 100_000  # the user's file is left alone


def test_corrupted_ptb_file_of_the_right_size(tmp_path, ptb_copy):
    valid = ptb_copy / "ptb" / "ptb.valid.txt"
    data = bytearray(valid.read_bytes())
    data[1000:1010] = b"xxxxxxxxxx"
    valid.write_bytes(bytes(data))
    assert_clear_failure(run_ptb(tmp_path, ptb_copy), ["ptb.valid.txt is not the expected file (SHA-256 mismatch)"])


def test_output_folder_that_cannot_be_written(tmp_path, tiny):
    (tmp_path / "taken").write_text("a file, not a folder")
    out = runner(*tiny, "hydra.run.dir=taken/run", cwd=tmp_path)
    assert_clear_failure(out, ["taken/run"])
    assert (tmp_path / "taken").read_text() == "a file, not a folder"


def unfinished_run(tmp_path, tiny):
    """A run folder as a kill leaves it: checkpoints, no results.json."""
    assert runner(*tiny, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    (tmp_path / "run" / "results.json").unlink()
    return tmp_path / "run" / "checkpoints" / "last.ckpt"


def test_checkpoint_of_a_different_configuration(tmp_path, tiny):
    last = unfinished_run(tmp_path, tiny)
    before = last.read_bytes()
    out = runner(*tiny, "cell.hidden_size=9", "hydra.run.dir=run", cwd=tmp_path)
    assert_clear_failure(
        out, ["was written by a different configuration", "cell.hidden_size: 8 in the folder, 9 now", "resume=false"]
    )
    assert last.read_bytes() == before and not (tmp_path / "run" / "results.json").exists()


def test_corrupted_checkpoint(tmp_path, tiny):
    last = unfinished_run(tmp_path, tiny)
    last.write_bytes(b"\x00garbage" * 100)
    out = runner(*tiny, "hydra.run.dir=run", cwd=tmp_path)
    assert_clear_failure(out, ["checkpoint", "last.ckpt cannot be read", "resume=false"])
    assert last.read_bytes() == b"\x00garbage" * 100


def test_finished_run_of_another_configuration_is_not_overwritten(tmp_path, tiny):
    assert runner(*tiny, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    record = (tmp_path / "run" / "results.json").read_text()
    out = runner(*tiny, "cell.hidden_size=9", "hydra.run.dir=run", cwd=tmp_path)
    assert_clear_failure(out, ["different configuration"])
    assert (tmp_path / "run" / "results.json").read_text() == record
