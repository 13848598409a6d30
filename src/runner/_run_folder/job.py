"""A job of a sweep, or the one run of a run folder, as read back from its folder: :class:`Job`.

The sweep report (``runner.report``), the status command (``runner.status``)
and the sweep's log lines read a job as this one class; every file is read
through :mod:`runner._run_folder.run_dir`. What a job scores, and whether lower
or higher is better, comes from what the run recorded of its Task
(``results.json``, else ``task.json``), never from the metric's name.
Nothing here imports torch or lightning.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from omegaconf import OmegaConf

from runner._config import identity, replicates
from runner._config.job import JobConfig
from runner._run_folder import run_dir
from runner._run_folder.run_dir import Status
from runner.task import PERFECT, Task

# The one fallback for the direction: folders older than results.json's ``monitor_mode`` and
# task.json (the runner's first commits) record none, and get the Task's default.
DEFAULT_MODE: Literal["min", "max"] = next(f.default for f in dataclasses.fields(Task) if f.name == "monitor_mode")
NORM = "grad/norm_before"  # metrics.csv: the gradient's global L2 norm before the handler
NORM_AFTER = "grad/norm_after"  # metrics.csv: the same norm after the handler
CHANGED = "grad/clipped"  # metrics.csv: 1 where the handler changed the gradient on that step
CLIP_RATE = "grad/clip_rate"  # metrics.csv: the fraction of all steps so far that the handler changed
LOSS = "val/loss"  # metrics.csv: the validation loss, whatever metric the run watches
BLOWN_UP = 10  # a run that ended ok but scores worse than this many times its baseline (lower is better)
UNREADABLE = (OSError, ValueError, UnicodeDecodeError, csv.Error)  # a damaged file: truncated, garbage, a bad row


@dataclass
class Job:
    """One job of a sweep (or the one run of a run folder) as its folder shows it.

    A pending job, which its sweep's plan lists and which never started, has
    no folder (``path`` is None) and only its number and overrides.
    """

    path: Path | None = None  # the run folder
    name: str = ""  # the folder below the sweep folder (a run folder's own name), or a pending job's overrides
    status: Status | str = Status.pending  # a status this runner does not know stays the string results.json holds
    num: int | None = None  # the job's number in its sweep (hydra.job.num); None for a single run
    overrides: list[str] = field(default_factory=list)  # the job's command-line overrides
    choices: dict[str, Any] = field(default_factory=dict)  # the option chosen in each config group
    config: dict[str, Any] = field(default_factory=dict)  # the composed config, resolved
    record: dict[str, Any] = field(default_factory=dict)  # results.json; empty while there is none
    task: Task | None = None  # task.json; None before training started (and in folders older than it)
    replicate: str = ""  # runner._config.replicates: the same for every seed of one configuration
    label: str = ""  # the configuration's overrides, seeds left out
    experiment: dict[str, Any] = field(default_factory=dict)  # runner._config.identity.replicate_key: what it ran
    problems: list[str] = field(default_factory=list)  # the files of its folder that could not be read, and why
    wall_s: float | None = None  # to the record; a running job: until now; a killed one: until its last write
    # What the sweep report makes of the job among those it compares (runner.report.document.load and read):
    # they depend on the other jobs and on --target, which the folder cannot know.
    facets: dict[str, Any] = field(default_factory=dict)  # runner.report.facets
    axes: dict[str, str] = field(default_factory=dict)  # runner.report.axes: what varies, in words, by axis
    variant: str = ""  # the axes besides cell, data, length and grad that tell it apart ('' when none)
    target: float | None = None  # the score that counts as solved
    reached_at: int | None = None  # the first validation step at which the metric beat the target

    # -- what it scores, and which way is better ------------------------------------------------------------------
    @property
    def monitor(self) -> str | None:
        """The validation metric that scored the run, as results.json records it (``mse``).

        None where the run recorded no score: it failed before training, or has not ended.
        """
        monitor = self.record.get("monitor")
        return monitor.removeprefix("val/") if monitor else None

    @property
    def metric(self) -> str | None:
        """The metrics.csv column of the metric the run watches (``val/mse``): the recorded one, else its Task's."""
        return self.record.get("monitor") or (f"val/{self.task.monitor}" if self.task else None)

    @property
    def monitor_mode(self) -> Literal["min", "max"]:
        """``min`` where lower is better, ``max`` where higher is: the Task's ``monitor_mode``.

        As results.json records it, else task.json (a run not ended), else :data:`DEFAULT_MODE`.
        """
        return self.record.get("monitor_mode") or (self.task.monitor_mode if self.task else DEFAULT_MODE)

    @property
    def higher_is_better(self) -> bool:
        return self.monitor_mode == "max"

    def beats(self, value: float, target: float) -> bool:
        """Whether ``value`` is at or beyond ``target`` in the metric's direction."""
        return value >= target if self.higher_is_better else value <= target

    @property
    def perfect(self) -> float | None:
        """The best score the monitored metric can take (:data:`runner.task.PERFECT`); None when unknown."""
        return PERFECT.get(self.monitor) if self.monitor else None

    # -- what results.json says -------------------------------------------------------------------------------
    def _score(self, key: str) -> float | None:
        return (self.record.get(key) or {}).get(self.monitor)

    @property
    def final(self) -> float | None:
        """The monitored metric at the end of training; None where the run did not get there (or it was not finite)."""
        return self._score("val")

    @property
    def best(self) -> float | None:
        """The best validation value of the monitored metric."""
        return self._score("best_val")

    @property
    def baseline(self) -> float | None:
        """What a memoryless predictor scores on the monitored metric."""
        return self._score("baseline")

    @property
    def seed(self) -> Any:
        return self.config.get("seed")

    @property
    def error(self) -> str | None:
        """Why a failed run failed (``ValueError: ...``)."""
        return self.record.get("error")

    @property
    def note(self) -> str:
        """Where a run diverged, the first line of why it failed; '' otherwise."""
        if self.status == Status.diverged:
            return f"at step {self.diverged_at}"
        if self.status == Status.failed:
            return (str(self.error).splitlines() or [""])[0][:120]
        return ""

    @property
    def status_text(self) -> str:
        """``ok``, ``diverged at step 12``, ``failed: ValueError: ...``"""
        note = self.note
        if not note:
            return str(self.status)
        return f"{self.status} {note}" if self.status == Status.diverged else f"{self.status}: {note}"

    @property
    def solved(self) -> bool:
        """Ended ok with a final metric at or beyond the target."""
        return (
            self.status == Status.ok and None not in (self.final, self.target) and self.beats(self.final, self.target)
        )

    @property
    def blown_up(self) -> bool:
        """Ended ok but scores worse than :data:`BLOWN_UP` times the memoryless baseline, or not finitely.

        Only where lower is better and the baseline is positive (an error, a loss): a run that far past
        what a constant prediction scores has been thrown off, though its loss stayed finite.
        """
        if self.status != Status.ok or not self.monitor or self.higher_is_better:
            return False
        if self.final is None:
            return True
        return self.baseline is not None and self.baseline > 0 and self.final > BLOWN_UP * self.baseline

    # -- how far it got ---------------------------------------------------------------------------------------
    @property
    def total(self) -> int | None:
        """``trainer.max_steps``; None when epochs bound the run."""
        max_steps = (self.config.get("trainer") or {}).get("max_steps")
        return max_steps if isinstance(max_steps, int) and max_steps > 0 else None

    @property
    def steps(self) -> int | None:
        """Optimizer steps done: as results.json says, else the step of metrics.csv's last row."""
        if "steps" in self.record:
            return self.record["steps"]
        return self.logged_to

    @property
    def logged_to(self) -> int | None:
        """The step of metrics.csv's last row; None without one."""
        return run_dir.last_step(self.path) if self.path else None

    @property
    def diverged_at(self) -> int | None:
        """results.json's ``diverged_at_step``: the step (Lightning's ``global_step`` during it, from 0; its
        metrics.csv row's) whose loss was first not finite. The one step the status, the log and the report show."""
        return self.record.get("diverged_at_step")

    @cached_property
    def resumes_from(self) -> int | None:
        """For a job that stopped without a result (unfinished or interrupted): the step of its ``last.ckpt``, where
        rerunning the command continues (0: from the start); None for other jobs.

        Reading the checkpoint imports torch, so only a job that will resume pays for it.
        """
        if self.path is None or self.status not in (Status.unfinished, Status.interrupted):
            return None
        return run_dir.checkpoint_step(self.path)

    @property
    def step(self) -> int | None:
        """Where the job stands, one number for every reader: the step at which it diverged, the step it resumes
        from, else the optimizer steps done."""
        if self.diverged_at is not None:
            return self.diverged_at
        return self.resumes_from if self.resumes_from is not None else self.steps

    @property
    def value(self) -> float | None:
        """The latest score of the watched metric: the final validation where results.json holds one, else the last
        validation in metrics.csv."""
        if self.record.get("val") and self.metric:
            return self.record["val"].get(self.metric.removeprefix("val/"))
        return self.curve[-1][1] if self.curve else None

    # -- metrics.csv and grad_flow.csv, read when asked: the status command needs little of them ----------------
    @cached_property
    def _logged(self) -> dict[str, list[tuple[int, float]]]:
        columns = list(dict.fromkeys(c for c in (self.metric, LOSS, NORM, NORM_AFTER, CHANGED, CLIP_RATE) if c))
        if self.path is not None:
            try:
                return run_dir.metric_columns(self.path, columns)
            except UNREADABLE as exc:
                self.problems.append(_unreadable(self.path / run_dir.METRICS, exc, "its curves and gradient norms"))
        return {column: [] for column in columns}

    @property
    def curve(self) -> list[tuple[int, float]]:
        """(step, value) of the watched metric at every validation, where finite."""
        return [(step, v) for step, v in self._logged.get(self.metric, []) if math.isfinite(v)]

    @property
    def loss_curve(self) -> list[tuple[int, float]]:
        """(step, validation loss) at every validation, where finite: the curve Arjovsky et al. 2016 draw."""
        return [(step, v) for step, v in self._logged.get(LOSS, []) if math.isfinite(v)]

    @property
    def loss_baseline(self) -> float | None:
        """What a memoryless predictor's loss is (the copy task's 10 ln 8 / (T + 20))."""
        return (self.record.get("baseline") or {}).get("loss")

    @property
    def norms(self) -> list[float]:
        """The gradient norms before the handler on the logged steps; inf stays (a norm that overflowed)."""
        return [v for _, v in self._logged[NORM] if not math.isnan(v)]

    @property
    def clip_rate(self) -> float | None:
        """The fraction of all steps the gradient handler changed, as last logged."""
        return self._logged[CLIP_RATE][-1][1] if self._logged[CLIP_RATE] else None

    @property
    def clips(self) -> bool | None:
        """Whether the handler clips: it changed the gradient on some logged step, and never made it longer.

        A handler that adds noise changes the gradient too, but lengthens it: its rate of change is no clip
        rate. None where no logged step says (a handler that never acted, or no norms logged).
        """
        before, after = dict(self._logged[NORM]), dict(self._logged[NORM_AFTER])
        changed = [step for step, c in self._logged[CHANGED] if c > 0 and math.isfinite(before.get(step, math.nan))]
        if not changed:
            return None
        return all(after.get(step, 0.0) <= before[step] * (1 + 1e-5) for step in changed)

    @cached_property
    def grad_flow(self) -> dict[int, list[float]]:
        """Probed step -> ||dL/dh_t|| for t = 1..T; empty where the probe did not run (or its file is damaged)."""
        flow: dict[int, list[float]] = {}
        try:
            rows = run_dir.grad_flow(self.path) if self.path else []
        except UNREADABLE as exc:
            self.problems.append(_unreadable(self.path / run_dir.GRAD_FLOW, exc, "its gradient flow"))
            return {}
        for step, _, norm in rows:
            flow.setdefault(step, []).append(norm)
        return flow


def _unreadable(path: Path, exc: BaseException, lost: str) -> str:
    """One line naming a damaged file, why it cannot be read and what is left out."""
    return f"{path}: cannot be read ({why(exc)}); {lost} left out"


def why(exc: BaseException) -> str:
    """An exception on one line: its type and its message, whitespace folded, cut to 200 characters."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message[:200]}" if message else type(exc).__name__


def read(folder: Path, name: str | None = None) -> Job:
    """The job whose run folder is ``folder`` (one with a saved config), named ``name`` or by the folder."""
    folder = Path(folder)
    composed = run_dir.saved_config(folder)
    (choices, num), overrides = run_dir.hydra_job(folder), run_dir.overrides(folder)
    problems = []
    record = run_dir.read_results(folder) or {}
    if not record and (folder / run_dir.RESULTS).exists():  # read_results says None for a damaged file
        problems.append(f"{folder / run_dir.RESULTS}: cannot be read (not JSON: truncated?); counted as unfinished")
    try:
        task = run_dir.read_task(folder)
    except (*UNREADABLE, TypeError) as exc:  # TypeError: fields that are no Task's
        task = None
        problems.append(_unreadable(folder / run_dir.TASK, exc, "the task it declared"))
    job_config = JobConfig(composed, choices, overrides)
    described = replicates.describe(job_config)
    job = Job(
        path=folder,
        name=name or folder.name,
        status=_current(record, folder),
        num=num,
        overrides=overrides,
        choices=choices,
        config=OmegaConf.to_container(composed, resolve=True),
        record=record,
        task=task,
        replicate=described["replicate"],
        label=described["replicate_label"],
        experiment=identity.replicate_key(job_config.config, choices, job_config.seed_followers),
        problems=problems,
    )
    job.wall_s = _wall_s(job, folder)
    return job


def _current(record: dict[str, Any], folder: Path) -> Status | str:
    """The recorded status; without one, running or killed (run_dir.status). An interrupted run's record stays
    while the rerun that continues it trains: running while a live process holds the folder's lock."""
    if not record.get("status"):
        return run_dir.status(folder)
    if record["status"] == Status.interrupted and run_dir.holder(folder) is not None:
        return Status.running
    return _status(record["status"])


def _status(recorded: str) -> Status | str:
    """The enum for a status this runner knows; another (a newer runner's) stays as written (docs/run-folder.md)."""
    try:
        return Status(recorded)
    except ValueError:
        return recorded


def _wall_s(job: Job, folder: Path) -> float:
    if "wall_s" in job.record:
        return job.record["wall_s"]
    start = run_dir.started(folder)
    if job.status == Status.running:
        return time.time() - start
    last = run_dir.last_written(folder)  # killed: until the last thing it wrote
    return (start if last is None else last) - start


def read_sweep(folder: Path) -> list[Job]:
    """Every job of the sweep (or the one run) in ``folder``, by number.

    Those with a run folder (named by their path below ``folder``), then those
    the sweep's plan (``jobs.json``) lists that never started.
    """
    folder = Path(folder)
    found = [
        read(run, str(run.relative_to(folder)) if run != folder else folder.name)
        for run in run_dir.run_folders([folder])
    ]
    started = {j.num for j in found}
    found += [
        Job(num=p["num"], name=",".join(p["overrides"]), status=Status.pending, overrides=list(p["overrides"]))
        for p in run_dir.read_jobs(folder) or []
        if p["num"] not in started
    ]
    return sorted(found, key=lambda j: (j.num is None, j.num or 0, j.name))
