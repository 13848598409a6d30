"""``python -m runner.status DIR``: how a sweep or a run stands, read from its folders alone.

Per job, numbered from 0 as Hydra numbers its folders (job 3 is ``3_...``): its
status (what results.json says; else ``running`` while a live process holds the
folder's lock, ``unfinished`` when none does; ``pending`` when the sweep's
``jobs.json`` lists it and it never started), the step it stands at of the
total (:func:`step`), the last validation value of the task's metric, and the
wall time. Exit status 0 when every job finished ``ok`` or ``diverged``, 1
otherwise. Nothing here imports lightning; torch only to read the step of the
checkpoint an unfinished job resumes from.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from runner._config import naming
from runner._run_folder import run_dir
from runner._run_folder.job import Job, read, read_sweep
from runner._run_folder.run_dir import FINISHED, Status


# job() and jobs(): the jobs as this command (and the sweep's log lines, runner._run_folder.sweep) read them
def job(folder: Path, name: str | None = None) -> Job:
    """The state of the run in ``folder``."""
    return read(folder, name)


def jobs(folder: Path) -> list[Job]:
    """Every job of the sweep (or the run) in ``folder``: those with a folder, then those its plan lists that never
    started."""
    return read_sweep(folder)


def as_json(j: Job, states: list[Job]) -> dict[str, Any]:
    """The fields ``--json`` shows of a job among ``states``."""
    return {
        "num": j.num,
        "name": j.name,
        "differs": differs(j, states),
        "status": str(j.status),
        "steps": j.step,
        "total": j.total,
        "diverged_at_step": j.diverged_at,
        "resumes_from_step": j.resumes_from,
        "logged_to_step": j.logged_to,
        "metric": j.metric,
        "value": j.value,
        "wall_s": j.wall_s,
        "error": j.error,
    }


def finished(states: list[Job]) -> bool:
    """Whether every job ended with a result (ok or diverged)."""
    return bool(states) and all(j.status in FINISHED for j in states)


def summary(states: list[Job]) -> str:
    """``36 jobs: 34 ok, 1 diverged, 1 failed: 7_cell=rnn (failed: ValueError: ...)``."""
    counts = Counter(str(j.status) for j in states)
    order = [str(s) for s in Status] + sorted(set(counts) - {str(s) for s in Status})
    text = f"{len(states)} job{'s' if len(states) != 1 else ''}: " + ", ".join(
        f"{counts[s]} {s}" for s in order if counts[s]
    )
    others = [j for j in states if j.status not in FINISHED]
    if others:
        shown = [f"{j.name} ({j.status}{': ' + j.error if j.error else ''})" for j in others[:5]]
        text += ": " + "; ".join(shown) + ("; ..." if len(others) > 5 else "")
    return text


def time_left(states: list[Job], workers: int | None = None) -> float | None:
    """Seconds until the jobs without a result are done, each at the mean wall time of those done like it.

    A job is expected to take as long as the finished seeds of its own
    configuration (its overrides but ``seed``), else the mean of every finished
    job: a sweep's configurations differ several-fold (an LSTM and an expRNN,
    T = 10 and T = 50), and its seeds run one after another, so after a
    configuration's first seed its others are known. A running job needs that
    less the time it has run (never less than none); the pending and
    unfinished ones then go to whichever worker is free first, as Hydra's
    launchers hand them out. ``workers``: the jobs that run at once, by default
    those running now (one under the basic launcher, up to ``n_jobs`` under
    ``hydra/launcher=parallel``); a job that has just ended frees its worker for
    the next (``runner._run_folder.sweep`` counts it).
    """
    done = [j for j in states if j.status not in WAITING and j.status != Status.running and j.wall_s is not None]
    if not done:
        return None
    mean = sum(j.wall_s for j in done) / len(done)
    alike: dict[tuple[str, ...], list[float]] = {}
    for j in done:
        alike.setdefault(_configuration(j), []).append(j.wall_s)

    def expected(job: Job) -> float:
        seeds = alike.get(_configuration(job))
        return sum(seeds) / len(seeds) if seeds else mean

    running = [max(expected(j) - (j.wall_s or 0.0), 0.0) for j in states if j.status == Status.running]
    free = running + [0.0] * max((workers or 1) - len(running), 0)  # when each worker takes its next job
    heapq.heapify(free)
    for job in (j for j in states if j.status in WAITING):
        heapq.heappush(free, heapq.heappop(free) + expected(job))
    return max(free)


WAITING = (Status.pending, Status.unfinished)


def _configuration(job: Job) -> tuple[str, ...]:
    """A job's overrides but its seed: the same for every seed of one configuration."""
    return tuple(sorted(o for o in job.overrides if o.split("=", 1)[0].lstrip("+~") != "seed"))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else (f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s")
    )


def differs(j: Job, states: list[Job]) -> str:
    """The job named by its overrides that differ between the jobs shown (runner._config.naming)."""
    return naming.name(j.overrides, [k.overrides for k in states] if len(states) > 1 else None, default=j.name)


def step(j: Job) -> str:
    """``1000/1000``: the step the job stands at (:attr:`Job.step`) of ``trainer.max_steps``."""
    return f"{'-' if j.step is None else j.step}/{'?' if j.total is None else j.total}"


def standing(j: Job) -> str:
    """The status with the step it names: ``diverged at step 10`` (:attr:`Job.status_text`, as the sweep report
    says it), ``unfinished, resumes from 500 (logged to 719)`` (its checkpoint's step, and the last step
    metrics.csv holds where that is later)."""
    if j.status == Status.diverged:
        return j.status_text
    if j.resumes_from is None:
        return str(j.status)
    logged = f" (logged to {j.logged_to})" if j.logged_to is not None and j.logged_to > j.resumes_from else ""
    return f"{j.status}, resumes from {j.resumes_from}{logged}"


def table(states: list[Job]) -> str:
    rows = [("job", "status", "step", "metric", "wall", "what differs")]
    for j in states:
        value = f"{j.metric} {j.value:.4g}" if j.value is not None else "-"
        number = "-" if j.num is None else str(j.num)  # hydra.job.num: the NUM_ of the job's folder
        rows.append((number, standing(j), step(j), value, duration(j.wall_s), differs(j, states)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runner.status", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a sweep folder (multirun/DATE/TIME) or a run folder")
    parser.add_argument("--json", action="store_true", help="one JSON object: jobs, summary, finished")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"runner.status: error: {args.folder} is not a folder", file=sys.stderr)
        sys.exit(1)
    states = jobs(args.folder)
    if not states:
        print(
            f"runner.status: error: {args.folder} holds no run folder and no sweep plan ({run_dir.JOBS})",
            file=sys.stderr,
        )
        sys.exit(1)
    if args.json:
        content: dict[str, Any] = {
            "jobs": [as_json(j, states) for j in states],
            "summary": summary(states),
            "finished": finished(states),
            "time_left_s": time_left(states),
        }
        print(json.dumps(run_dir.clean(content), indent=2))
    else:
        print(table(states))
        left = time_left(states)
        print(summary(states) + (f"  (about {duration(left)} left)" if left and not finished(states) else ""))
    sys.exit(0 if finished(states) else 1)
