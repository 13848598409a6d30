"""``python src/runner/report/seed_table.py SWEEP_DIR``: each configuration of a sweep, its seeds side by side.

Prints a Markdown table: one row per configuration (a job's overrides without
``seed=`` and ``data.seq_len=``, less those every job shares), one column per
sequence length, each cell the final validation metric of every seed and their
mean. A seed that diverged shows where, and the mean is over those that
finished. It reads only ``results.json`` and ``.hydra/overrides.yaml``; the
the initialisations study's tables (docs/studies/initialisations.md) come from it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from runner._run_folder import run_dir
from runner._run_folder.run_dir import Status

VARYING_BY_COLUMN = ("seed=", "data.seq_len=")


def job_number(folder: Path) -> tuple[int, str]:
    """Hydra names a sweep's job folders ``NUM_OVERRIDES``: sorting by NUM keeps the sweep's order."""
    number = folder.name.split("_")[0]
    return (int(number) if number.isdigit() else -1, folder.name)


def jobs(sweep: Path) -> list[tuple[tuple[str, ...], int, int, str, float | None]]:
    """(overrides, seq_len, seed, status, final metric) of every finished job, in job order."""
    found = []
    for folder in sorted(run_dir.recorded_folders(sweep), key=job_number):
        record = run_dir.read_results(folder)
        if record is None:  # a damaged results.json: named, and the job left out
            print(
                f"seed_table: {folder / run_dir.RESULTS} cannot be read (not JSON: truncated?); skipped",
                file=sys.stderr,
            )
            continue
        kept = tuple(o for o in run_dir.overrides(folder) if not o.startswith(VARYING_BY_COLUMN))
        metric = record["monitor"].removeprefix("val/")
        final = record.get("val", {}).get(metric) if record["status"] == Status.ok else None
        status = (
            f"diverged at {record['diverged_at_step']}" if record["status"] == Status.diverged else record["status"]
        )
        data = record["config"].get("data") or {}
        found.append((kept, data.get("seq_len", data.get("bptt")), record["seed"], status, final))
    return found


def table(sweep: Path) -> str:
    rows: dict[tuple[str, ...], dict[int, list[tuple[int, str, float | None]]]] = defaultdict(lambda: defaultdict(list))
    for overrides, seq_len, seed, status, final in jobs(sweep):
        rows[overrides][seq_len].append((seed, status, final))
    shared = set.intersection(*(set(o) for o in rows)) if rows else set()
    lengths = sorted({seq_len for cells in rows.values() for seq_len in cells}, key=lambda n: (n is None, n or 0))
    lines = [
        "| configuration | " + " | ".join(f"T = {T}: mean (seeds)" if T else "mean (seeds)" for T in lengths) + " |",
        "| --- |" + " --- |" * len(lengths),
    ]
    for overrides, cells in rows.items():
        label = " ".join(o.removeprefix("+") for o in overrides if o not in shared) or "every job"
        lines.append(f"| {label} | " + " | ".join(cell(sorted(cells[T])) for T in lengths) + " |")
    return "\n".join(lines)


def cell(seeds: list[tuple[int, str, float | None]]) -> str:
    finals = [final for _, _, final in seeds if final is not None]
    each = " / ".join(f"{final:.2g}" if final is not None else status for _, status, final in seeds)
    if not finals:
        return f"– ({each})"
    mean = f"**{statistics.fmean(finals):.2g}**"
    return f"{mean} ({each})" if len(finals) == len(seeds) else f"{mean} of {len(finals)} ({each})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", type=Path, help="the sweep folder (hydra.sweep.dir)")
    print(table(parser.parse_args().sweep))


if __name__ == "__main__":
    main()
