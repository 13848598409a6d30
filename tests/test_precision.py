"""trainer.precision=bf16-mixed for every cell the CPU runs.

Mixed precision as Micikevicius et al. 2018, in bfloat16.
"""

import json

import pytest
import torch

from conftest import TINY, runner
from runner._train import cpu

LM = [
    "data=ptb",
    "data.batch_size=8",
    "data.bptt=10",
    "cell.hidden_size=32",
    "trainer.max_steps=60",
    "trainer.val_check_interval=60",
    "trainer.limit_val_batches=10",
    "+trainer.limit_test_batches=5",
    "logger=csv",
]
NO_BF16_LSTM = f"oneDNN runs no bfloat16 LSTM on this CPU: {cpu.name()}"


def cells() -> list[str]:
    """The cells to compare: the fused LSTM only where oneDNN can build its bfloat16 kernel."""
    return ["rnn", "lstm", "gru"] if cpu.runs_bf16_lstm() else ["rnn", "gru"]


def test_bf16_mixed_trains_every_cell_to_the_perplexity_of_full_precision(tmp_path):
    chosen = cells()
    out = runner(
        "-m",
        f"cell={','.join(chosen)}",
        "trainer.precision=32-true,bf16-mixed",
        *LM,
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ppl, lstm_state = {}, None
    for folder in (tmp_path / "sweep").iterdir():
        if not (folder / "results.json").exists():
            continue
        record = json.loads((folder / "results.json").read_text())
        assert record["status"] == "ok", record
        precision = record["config"]["trainer"]["precision"]
        ppl[record["cell"], precision] = record["val"]["ppl"]
        checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)
        # mixed precision: the weights the optimizer updates stay in float32
        assert all(w.dtype == torch.float32 for w in checkpoint["state_dict"].values())
        if (record["cell"], precision) == ("lstm", "bf16-mixed"):
            lstm_state = checkpoint["runner"]["state"]
    assert len(ppl) == 2 * len(chosen)
    for cell in chosen:
        full, half = ppl[cell, "32-true"], ppl[cell, "bf16-mixed"]
        assert half < 10_000  # better than guessing among PTB's 10,000 words
        assert abs(half - full) / full < 0.05, (cell, full, half)
    if "lstm" not in chosen:
        pytest.skip(f"the LSTM part: {NO_BF16_LSTM}")
    # the LSTM ran in bfloat16: the state it carries between windows is bfloat16
    assert all(s.dtype == torch.bfloat16 for s in lstm_state)


@pytest.mark.skipif(cpu.runs_bf16_lstm(), reason="this CPU runs the bfloat16 LSTM: nothing to refuse")
def test_a_cpu_without_the_bf16_lstm_kernel_is_named_in_one_line_with_what_to_use(tmp_path):
    out = runner(
        "cell=lstm",
        "trainer.precision=bf16-mixed",
        *TINY,  # the adding problem: the fused LSTM fails in bfloat16 whatever the data
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "logger=csv",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    error = json.loads((tmp_path / "run" / "results.json").read_text())["error"]
    assert "cannot run this cell's fused kernel in bfloat16" in error and "32-true" in error
    assert cpu.name() in error and "\n" not in error
