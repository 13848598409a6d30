"""trainer.precision=bf16-mixed (Micikevicius et al. 2018's mixed precision, in bfloat16) for every cell."""

import json

import torch

from conftest import runner

LM = ["data=ptb", "data.batch_size=8", "data.bptt=10", "cell.hidden_size=32", "trainer.max_steps=60",
      "trainer.val_check_interval=60", "trainer.limit_val_batches=10", "+trainer.limit_test_batches=5", "logger=csv"]


def test_bf16_mixed_trains_every_cell_to_the_perplexity_of_full_precision(tmp_path):
    out = runner("-m", "cell=rnn,lstm,gru", "trainer.precision=32-true,bf16-mixed", *LM, "hydra.sweep.dir=sweep",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
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
    assert len(ppl) == 6
    for cell in ("rnn", "lstm", "gru"):
        full, half = ppl[cell, "32-true"], ppl[cell, "bf16-mixed"]
        assert half < 10_000  # better than guessing among PTB's 10,000 words
        assert abs(half - full) / full < 0.05, (cell, full, half)
    # the LSTM ran in bfloat16: the state it carries between windows is bfloat16
    assert all(s.dtype == torch.bfloat16 for s in lstm_state)
