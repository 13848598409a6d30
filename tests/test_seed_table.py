"""runner.report.seed_table: every configuration of a sweep with its seeds side by side, and their mean."""

from pathlib import Path

from omegaconf import OmegaConf

from runner._run_folder import run_dir
from runner.report.seed_table import table


def job(sweep: Path, number: int, overrides: list[str], seq_len: int, seed: int, mse: float | None) -> None:
    folder = sweep / f"{number}_{','.join(overrides)}"
    (folder / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(overrides), folder / ".hydra" / "overrides.yaml")
    record = {
        "status": "ok",
        "seed": seed,
        "monitor": "val/mse",
        "config": {"data": {"seq_len": seq_len}},
        "val": {"mse": mse},
    }
    if mse is None:
        record.update(status="diverged", diverged_at_step=774, val={"mse": None})
    run_dir.write_results(folder, record)


def test_one_row_per_configuration_with_each_seed_and_the_mean_of_those_that_finished(tmp_path):
    number = 0
    for variant, finals in [
        ("irnn", {50: [0.01, 0.03], 200: [None, 0.1]}),
        ("tanh_rnn", {50: [0.2, 0.16], 200: [0.17, 0.15]}),
    ]:
        for seq_len, values in finals.items():
            for seed, mse in enumerate(values):
                job(
                    tmp_path,
                    number,
                    [f"+init={variant}", f"data.seq_len={seq_len}", f"seed={seed}", "logger=csv"],
                    seq_len,
                    seed,
                    mse,
                )
                number += 1
    assert table(tmp_path).splitlines() == [
        "| configuration | T = 50: mean (seeds) | T = 200: mean (seeds) |",
        "| --- | --- | --- |",
        "| init=irnn | **0.02** (0.01 / 0.03) | **0.1** of 1 (diverged at 774 / 0.1) |",
        "| init=tanh_rnn | **0.18** (0.2 / 0.16) | **0.16** (0.17 / 0.15) |",
    ]
