"""Regenerate the README's figures from the commands that give them, and write them into README.md.

    python benchmarks/readme_figures.py                 # every block
    python benchmarks/readme_figures.py defaults        # one block

Each figure block of README.md sits between ``<!-- figures:NAME -->`` and
``<!-- /figures:NAME -->``; this script replaces what is between them with the
output of ``BLOCKS[NAME]``, which names the commands it ran and the machine it
ran them on. A new block is a function here and a pair of markers there.
Run it on an idle machine: the wall times are measured, not estimated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from importlib.metadata import version
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
CELLS = ("lstm", "gru", "rnn")


def machine() -> str:
    """The CPU model, its core count and the torch version, as a figure's caption names them."""
    model = platform.processor() or platform.machine()
    try:
        names = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        model = names[0] if names else model
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, torch {version('torch')}"


def run(overrides: list[str], folder: Path) -> tuple[dict, float]:
    """``python -m runner overrides`` into ``folder``: its results.json and the command's wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "runner", *overrides, f"hydra.run.dir={folder}"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"readme_figures: {' '.join(overrides)} failed:\n{done.stderr[-2000:]}")
    return json.loads((folder / "results.json").read_text()), seconds


def defaults(extra: list[str], work: Path) -> str:
    """Section "What the defaults give": each cell on the adding problem at T=50 with the default settings."""
    command = ["cell=CELL", "data=adding", "data.seq_len=50", "logger=csv", *extra]
    rows, baseline = [], None
    for cell in CELLS:
        record, seconds = run([o.replace("CELL", cell) for o in command], work / f"defaults_{cell}")
        baseline = record["baseline"]["mse"]
        mse = record["val"]["mse"] if record["status"] == "ok" else None
        note = (
            ""
            if mse is None or mse < 0.9 * baseline
            else (" (stays at the baseline)" if mse < 1.1 * baseline else " (worse than the baseline)")
        )
        shown = f"{mse:.2g}{note}" if mse is not None else record["status"]
        rows.append(f"| {cell} | {shown} | {seconds:.0f} s |")
    return "\n".join(
        [
            f"`python -m runner {' '.join(command)}`, run by `python benchmarks/readme_figures.py defaults`",
            f"on {date.today().isoformat()} ({machine()}); the wall time is the whole command's:",
            "",
            f"| cell | final validation MSE (baseline {baseline:.3g}) | wall time |",
            "| --- | --- | --- |",
            *rows,
        ]
    )


BLOCKS: dict[str, Callable[[list[str], Path], str]] = {"defaults": defaults}


def block(name: str) -> re.Pattern:
    """The markers of block ``name`` and what lies between them."""
    return re.compile(rf"(<!-- figures:{re.escape(name)} -->\n).*?(\n<!-- /figures:{re.escape(name)} -->)", re.S)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with what lies between the markers of block ``name`` replaced by ``content``."""
    return block(name).sub(lambda m: m.group(1) + content + m.group(2), text, count=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("blocks", nargs="*", help=f"the blocks to regenerate, of {', '.join(BLOCKS)} (all)")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument(
        "--extra",
        nargs="*",
        default=[],
        metavar="OVERRIDE",
        help="overrides added to every command (shown in the README with them)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.blocks) - set(BLOCKS)
    if unknown:
        parser.error(f"no block {', '.join(sorted(unknown))}; there are {', '.join(BLOCKS)}")
    text = args.readme.read_text()
    names = args.blocks or list(BLOCKS)
    for name in names:  # before any run: a missing block costs no time
        if not block(name).search(text):
            parser.error(f"no block <!-- figures:{name} --> ... <!-- /figures:{name} --> in {args.readme}")
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            text = replace_block(text, name, BLOCKS[name](args.extra, Path(work)))
            args.readme.write_text(text)  # each block as soon as it is done
            print(f"README block {name!r} written to {args.readme}")


if __name__ == "__main__":
    main()
