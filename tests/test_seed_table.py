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


def test_a_dataset_without_seq_len_gets_one_column_and_a_damaged_record_is_named(tmp_path, capsys):
    job(tmp_path, 0, ["cell=rnn", "seed=0"], 0, 0, 0.2)
    job(tmp_path, 1, ["cell=rnn", "seed=1"], 0, 1, 0.4)
    for number in (0, 1):  # a plugin's task with no length setting
        folder = next(tmp_path.glob(f"{number}_*"))
        record = run_dir.read_results(folder)
        record["config"] = {"data": {"num_train": 64}}
        run_dir.write_results(folder, record)
    job(tmp_path, 2, ["cell=rnn", "seed=2"], 0, 2, 0.9)
    damaged = next(tmp_path.glob("2_*")) / "results.json"
    damaged.write_text(damaged.read_text()[:40])
    text = table(tmp_path)
    assert "| configuration | mean (seeds) |" in text and "**0.3** (0.2 / 0.4)" in text
    assert f"{damaged} cannot be read" in capsys.readouterr().err
