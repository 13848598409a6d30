"""docs/figures.py rewrites exactly its marked blocks, in every page that shows them, from what measured them."""

import os
import re
import subprocess
import sys
from importlib.metadata import version

from conftest import REPO, THIRD_PARTY, TINY, runner
from runner._train import cpu

SCRIPT = REPO / "docs" / "figures.py"
sys.path.insert(0, str(SCRIPT.parent))
import figures  # noqa: E402  (docs/ is not a package)

TINY_ADDING = [o for o in TINY if not o.startswith("data.seq_len")]
# the headline command's PTB model, cut to seconds
TINY_PTB = ["data.bptt=8", "cell.hidden_size=8", "trainer.max_steps=2", "trainer.limit_val_batches=2"]
TINY_PTB += ["+trainer.limit_test_batches=2", "logger=csv"]
MEAN_INTERVAL = re.compile(
    r"^\| (\w+) \| (\S+) \[(\S+), (\S+)\](?: \((?:stays at|worse than) the baseline\))? \| (?:\d+ min )?\d+ s \|$", re.M
)


def assert_names_the_machine(block):
    """The CPU with its vector extensions, the cores and the torch version."""
    avx = [f for f in cpu.vector_extensions() if f.startswith(("avx", "amx"))]
    assert f"({', '.join(avx) or 'no AVX'})" in block
    assert cpu.machine() in block and f"torch {version('torch')}" in block


def run_figures(*args, cwd):
    env = {**os.environ, "WANDB_MODE": "disabled", "RUNNER_DISABLE_PLUGINS": ",".join(THIRD_PARTY)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_defaults_block_is_regenerated_between_its_markers_in_every_page_that_shows_it(tmp_path):
    readme, page, other = tmp_path / "README.md", tmp_path / "page.md", tmp_path / "other.md"
    before, after = "# Title\n\nText before.\n\n", "\n\n## Next\nText after.\n"
    readme.write_text(before + "<!-- figures:defaults -->\nstale 0.0028\n<!-- /figures:defaults -->" + after)
    page.write_text("# Page\n<!-- figures:defaults -->\nstale\n<!-- /figures:defaults -->\n")
    other.write_text("# Other\n<!-- figures:exploding -->\nuntouched\n<!-- /figures:exploding -->\n")
    pages = ["--pages", str(readme), str(page), str(other)]
    out = run_figures("defaults", *pages, "--seeds", "2", "--extra", *TINY_ADDING, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = readme.read_text()
    assert text.startswith(before + "<!-- figures:defaults -->\n") and text.endswith(
        "<!-- /figures:defaults -->" + after
    )
    block = text[len(before) : -len(after)]
    assert "stale" not in block
    command = f"python -m runner cell=CELL data=adding data.seq_len=50 logger=csv {' '.join(TINY_ADDING)} seed=SEED"
    assert f"`{command}`, seeds 0 to 1, run by `python docs/figures.py defaults`" in block
    assert_names_the_machine(block)
    assert f"{os.cpu_count()} cores, torch " in block
    rows = MEAN_INTERVAL.findall(block)  # the mean over the seeds and its interval, for every cell
    assert [row[0] for row in rows] == ["lstm", "gru", "rnn"]
    for _, mean, low, high in rows:
        assert float(low) <= float(mean) <= float(high)
    assert "baseline 0.167" in block  # the adding problem's memoryless MSE at T=50, from results.json
    assert page.read_text() == "# Page\n" + block + "\n"  # the same block, in the other page that shows it
    assert "untouched" in other.read_text()

    # rewriting a rewritten page keeps one pair of markers (the replacement itself, without retraining)
    again = figures.replace_block(text, "defaults", block.split("\n", 1)[1].rsplit("\n", 1)[0])
    assert again == text and again.count("<!-- figures:defaults -->") == 1


def test_missing_markers_unknown_block_or_missing_sweep_is_one_line(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    out = run_figures("defaults", "--pages", str(readme), "--extra", *TINY_ADDING, cwd=tmp_path)
    assert out.returncode != 0 and "no block <!-- figures:defaults -->" in out.stderr and "Traceback" not in out.stderr
    out = run_figures("nosuch", "--pages", str(readme), cwd=tmp_path)
    assert out.returncode != 0 and "no block nosuch" in out.stderr
    out = run_figures("quick-final", "--pages", str(readme), cwd=tmp_path)
    assert out.returncode != 0 and "give --quick SWEEP" in out.stderr and "Traceback" not in out.stderr
    assert readme.read_text() == "# no markers\n"


def test_replace_block_rewrites_every_occurrence_of_that_block_and_nothing_else():
    text = "a\n<!-- figures:x -->\nold\n<!-- /figures:x -->\nb\n<!-- figures:y -->\nold\n<!-- /figures:y -->\n"
    text += "<!-- figures:x -->\n<!-- /figures:x -->\n"  # an empty block is filled too
    new = figures.replace_block(text, "x", "new\n")
    assert new == text.replace("<!-- figures:x -->\nold\n", "<!-- figures:x -->\nnew\n").replace(
        "<!-- figures:x -->\n<!-- /figures:x -->", "<!-- figures:x -->\nnew\n<!-- /figures:x -->"
    )
    assert figures.blocks_in(new) == ["x", "y", "x"]


def test_the_study_blocks_and_their_figure_come_from_a_sweep(tmp_path):
    """Two tiny jobs of experiment=exploding_gradients: its table and figure, and the seed table, from the sweep."""
    out = runner(
        "-m",
        "experiment=exploding_gradients",
        "cell=rnn",
        "grad_setting=none,norm_1",
        "seed=0",
        "trainer.max_steps=2",
        "data.num_train=64",
        "data.num_val=64",
        "logger=csv",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- figures:exploding -->\nstale\n<!-- /figures:exploding -->\n"
        "<!-- figures:initialisations -->\nstale\n<!-- /figures:initialisations -->\n"
    )
    args = ["exploding", "initialisations", "--exploding", "sweep", "--initialisations", "sweep"]
    out = run_figures(*args, "--pages", str(page), "--images", "images", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = page.read_text()
    assert "stale" not in text and figures.blocks_in(text) == ["exploding", "initialisations"]
    rows = [line.split(" | ")[:4] for line in text.splitlines() if line.startswith("| rnn ")]
    assert rows == [["| rnn", "adding", "20", "clip_norm"], ["| rnn", "adding", "20", "none"]]
    assert re.search(r"^\| grad_setting=none \| \*\*", text, re.M) and "| T = 20: mean (seeds) |" in text
    assert (tmp_path / "images" / "exploding_divergence.png").stat().st_size > 0
    # each block names the machine its runs recorded
    assert text.count(f"Measured on {cpu.machine()} (the sweep's results.json)") == 2
    assert_names_the_machine(text)


def test_every_block_of_every_page_is_one_of_the_scripts_and_filled():
    """What the pages show between markers is what the script writes there; every image a page shows exists."""
    shown = set()
    for page in figures.pages():
        text = page.read_text()
        names = figures.blocks_in(text)
        assert len(re.findall(r"^<!-- /figures:", text, re.M)) == len(names), page
        for name in names:
            assert name in figures.BLOCKS, f"{page}: block {name} is not one the script makes"
            body = figures.markers(name).search(text)
            assert body and body.group(0).count("\n| ") >= 3, f"{page}: block {name} is empty"
        shown.update(names)
        for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
            assert (page.parent / image).is_file(), f"{page}: {image}"
    assert shown == set(figures.BLOCKS), "a block no page shows"
    assert {f"--{sweep}" for sweep in figures.IMAGES_OF} <= set(figures.SWEEPS)


def test_the_timings_block_times_the_headline_command_and_the_suite(tmp_path):
    page = tmp_path / "README.md"
    page.write_text("<!-- figures:timings -->\nstale\n<!-- /figures:timings -->\n")
    suite = ["tests/test_stats.py", "-p", "no:xdist", "-q"]
    out = run_figures("timings", "--pages", str(page), "--extra", *TINY_PTB, f"--suite={' '.join(suite)}", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    block = page.read_text()
    assert "stale" not in block and "Measured by `python docs/figures.py timings`" in block
    assert_names_the_machine(block)
    rows = re.findall(r"^\| `(.+)` \| (?:\d+ h )?(?:\d+ min )?\d+ s \|$", block, re.M)
    assert rows == [f"python -m runner cell=lstm data=ptb {' '.join(TINY_PTB)}", f"python -m pytest {' '.join(suite)}"]


def test_a_failing_timed_command_stops_the_script_with_its_output(tmp_path):
    page = tmp_path / "README.md"
    page.write_text("<!-- figures:timings -->\nstale\n<!-- /figures:timings -->\n")
    out = run_figures("timings", "--pages", str(page), "--extra", "cell.hidden_size=0", cwd=tmp_path)
    assert out.returncode != 0 and "cell=lstm data=ptb cell.hidden_size=0 " in out.stderr and "failed" in out.stderr
    assert "hidden_size" in out.stderr.split("failed", 1)[1]
    assert "stale" in page.read_text()


def test_durations_read_as_a_person_says_them():
    assert [figures.duration(s) for s in (29.4, 400, 1800, 3725)] == ["29 s", "6 min 40 s", "30 min", "1 h 2 min"]
