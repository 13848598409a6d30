"""How right a sweep's "time left" is: each job's end line's estimate against the time the sweep then took.

Runs ``python -m runner -m ARGS`` (a sweep; add ``hydra/launcher=parallel`` to measure the parallel
launcher), reads its ``job k/N <status>: ...  (sweep: 2m10s left)`` lines with their timestamps, and
prints, for each, the estimate, the time the sweep actually had left (to its last job's end), and
their ratio, and the sweep's wall time. The sweep goes to a temporary folder unless a
``hydra.sweep.dir=DIR`` among ARGS keeps it (to report on it afterwards). Timings are only meaningful
on a quiet machine::

    python benchmarks/sweep_eta.py cell=rnn,gru,lstm data.seq_len=20,40 trainer.max_steps=300 \
        logger=csv hydra/launcher=parallel hydra.launcher.n_jobs=2
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime

LINE = re.compile(
    r"^\[(?P<time>[\d-]+ [\d:,]+)\]\[runner\]\[INFO\] - job (?P<job>\d+/\d+) \w+: .*\(sweep: (?P<left>\S+) left\)"
)


def seconds(duration: str) -> float | None:
    """``2m10s``, ``1h02m`` or ``45s`` (runner.status.jobs.duration) in seconds; None for ``?``."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    if duration == "?" or parts is None:
        return None
    h, m, s = (int(p or 0) for p in parts.groups())
    return 3600 * h + 60 * m + s


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        keep = any(arg.startswith("hydra.sweep.dir=") for arg in argv)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "runner", "-m", *argv, *([] if keep else [f"hydra.sweep.dir={folder}/sweep"])],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
    ends = [
        (datetime.strptime(m["time"], "%Y-%m-%d %H:%M:%S,%f"), m["job"], seconds(m["left"]))
        for m in map(LINE.match, (out.stdout + out.stderr).splitlines())
        if m
    ]
    if not ends:
        sys.exit(f"no job end lines in the sweep's output:\n{out.stdout}{out.stderr}")
    last = max(when for when, _, _ in ends)
    print(f"{'job':>6}  {'estimate':>9}  {'actual':>8}  ratio")
    for when, job, estimate in ends:
        actual = (last - when).total_seconds()
        ratio = f"{estimate / actual:.2f}" if estimate is not None and actual > 0 else "-"
        shown = "?" if estimate is None else f"{estimate:.0f}s"
        print(f"{job:>6}  {shown:>9}  {actual:7.0f}s  {ratio}")
    print(f"the sweep took {wall:.0f} s ({wall / 60:.1f} min), exit code {out.returncode}")


if __name__ == "__main__":
    main(sys.argv[1:])
