"""benchmarks/readme_figures.py rewrites exactly its marked README blocks from the commands it runs."""

import os
import subprocess
import sys

from conftest import REPO, THIRD_PARTY, TINY

SCRIPT = REPO / "benchmarks" / "readme_figures.py"
TINY_ADDING = [o for o in TINY if not o.startswith("data.seq_len")]


def figures(*args, cwd):
    env = {**os.environ, "WANDB_MODE": "disabled", "RUNNER_DISABLE_PLUGINS": ",".join(THIRD_PARTY)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_defaults_block_is_regenerated_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nText before.\n\n", "\n\n## Next\nText after.\n"
    readme.write_text(before + "<!-- figures:defaults -->\nstale 0.0028\n<!-- /figures:defaults -->" + after)
    out = figures("defaults", "--readme", str(readme), "--extra", *TINY_ADDING, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = readme.read_text()
    assert text.startswith(before + "<!-- figures:defaults -->\n") and text.endswith(
        "<!-- /figures:defaults -->" + after
    )
    block = text[len(before) : -len(after)]
    assert "stale" not in block
    assert f"python -m runner cell=CELL data=adding data.seq_len=50 logger=csv {' '.join(TINY_ADDING)}" in block
    assert f"{os.cpu_count()} cores, torch " in block
    rows = [line for line in block.splitlines() if line.startswith("| ") and " s |" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| lstm", "| gru", "| rnn"]
    assert "baseline 0.167" in block  # the adding problem's memoryless MSE at T=50, from results.json

    again = figures("defaults", "--readme", str(readme), "--extra", *TINY_ADDING, cwd=tmp_path)
    assert again.returncode == 0 and readme.read_text().count("<!-- figures:defaults -->") == 1


def test_missing_markers_or_unknown_block_is_one_line(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    out = figures("defaults", "--readme", str(readme), "--extra", *TINY_ADDING, cwd=tmp_path)
    assert out.returncode != 0 and "no block <!-- figures:defaults -->" in out.stderr and "Traceback" not in out.stderr
    out = figures("nosuch", "--readme", str(readme), cwd=tmp_path)
    assert out.returncode != 0 and "no block nosuch" in out.stderr and readme.read_text() == "# no markers\n"
