"""Regenerate every generated block of every page (README.md and docs/) from what measured it.

    python docs/figures.py defaults timings          # run the blocks' commands: on an idle machine
    python docs/figures.py --quick multirun/long_term_deps_quick/DATE --exploding multirun/exploding_gradients/DATE \\
        --initialisations multirun/initialisations/run
    python docs/figures.py --pixel multirun/pixel_mnist_cpu/DATE --permuted multirun/permuted_mnist_cpu/DATE \\
        --copy multirun/copy_arjovsky_cpu/DATE --adding multirun/adding_arjovsky_cpu/DATE

A generated block sits between the lines ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->``,
in any page and as often as the pages show it; this script replaces what lies between
every pair of those markers with the output of ``BLOCKS[NAME]``, and writes the
block's images into docs/images/. A block either runs its own commands (``defaults``,
``timings``: the wall times are measured, so run them on an idle machine) or reads a
sweep named by an option (``--quick SWEEP``). Every block names the machine its
figures were measured on: the CPU with its vector extensions and the torch version
(a sweep's, as its results.json record them). Without names, every block whose sweep
is given is regenerated, and the blocks that run their own commands. A new block is a
function here and a pair of markers in a page; the text around the markers is written
by hand and must say what they say.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from runner._train.cpu import machine

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
IMAGES = DOCS / "images"
CELLS = ("lstm", "gru", "rnn")
SCRIPT = "python docs/figures.py"
SEEDS = 3  # of each cell in the defaults block
HEADLINE = ["cell=lstm", "data=ptb"]  # the tour's first command, whose wall time the README states
SUITE = ["-n", "2"]  # the README's test command: python -m pytest -n 2
SWEEPS = {  # the option naming a sweep -> what it must be a sweep of
    "--quick": "experiment=long_term_deps_quick",
    "--exploding": "experiment=exploding_gradients",
    "--initialisations": "experiment=initialisations",
    "--pixel": "experiment=pixel_mnist_cpu",
    "--permuted": "experiment=permuted_mnist_cpu",
    "--copy": "experiment=copy_arjovsky_cpu",
    "--adding": "experiment=adding_arjovsky_cpu",
}
# What the papers report at full scale, by the option that names the cell in the presets (test accuracy, %)
REPORTED = {
    "pixel": {
        "tanh_rnn": "35.0 (Le et al. 2015)",
        "irnn": "97.0 (Le et al. 2015)",
        "lstm_forget_bias_1": "98.2 (Arjovsky et al. 2016)",
        "gru": "not reported there",
        "exprnn": "95.1, their unitary RNN (Arjovsky et al. 2016)",
    },
    "permuted": {
        "tanh_rnn": "35.0 (Le et al. 2015)",
        "irnn": "82.0 (Le et al. 2015)",
        "lstm_forget_bias_1": "88 (Arjovsky et al. 2016)",
        "gru": "not reported there",
        "exprnn": "91.4, their unitary RNN (Arjovsky et al. 2016)",
    },
}
GROUP = {"pixel": "+initialisations", "permuted": "+initialisations", "copy": "+arjovsky", "adding": "+arjovsky"}


def pages() -> list[Path]:
    """Every page that may hold a block: the README and the site's Markdown, the build left out."""
    site = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.relative_to(DOCS).parts)
    return [REPO / "README.md", *site]


def markers(name: str) -> re.Pattern:
    """The markers of block ``name`` and what lies between them."""
    name = re.escape(name)
    return re.compile(rf"^(<!-- figures:{name} -->\n)(?:.*?\n)?(<!-- /figures:{name} -->)$", re.S | re.M)


OPENING = re.compile(r"^<!-- figures:([\w.-]+) -->$", re.M)  # a marker is a line of its own


def blocks_in(text: str) -> list[str]:
    """The names of the blocks in ``text``, in order, once each time they appear."""
    return OPENING.findall(text)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with what lies between every pair of markers of block ``name`` replaced by ``content``."""
    body = content.strip("\n")
    return markers(name).sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


@dataclass
class Inputs:
    """What the blocks are made from: the sweeps given, the overrides added to commands, a scratch folder."""

    sweeps: dict[str, Path]
    extra: list[str]
    work: Path
    seeds: int = SEEDS
    suite: list[str] = field(default_factory=lambda: list(SUITE))  # pytest's arguments for the suite's wall time
    read: dict[str, list] = field(default_factory=dict)  # the configurations of each sweep read so far

    def configs(self, sweep: str) -> list:
        """The configurations of a sweep (its seeds grouped), as the report reads them; read once."""
        from runner.report import aggregate, document

        if sweep not in self.read:
            self.read[sweep] = aggregate.group(document.read([self.sweeps[sweep]], {}))
        return self.read[sweep]


def timed(command: list[str], cwd: Path) -> float:
    """The wall time in seconds of ``command``, which must succeed."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        said = done.stdout + done.stderr
        log = Path(tempfile.mkstemp(prefix="figures-", suffix=".log")[1])
        log.write_text(said)
        raise SystemExit(f"figures: {' '.join(command)} failed (its whole output: {log}):\n{said[-2000:]}")
    return seconds


def run(overrides: list[str], folder: Path) -> tuple[dict, float]:
    """``python -m runner overrides`` into ``folder``: its results.json and the command's wall time in seconds."""
    seconds = timed([sys.executable, "-m", "runner", *overrides, f"hydra.run.dir={folder}"], folder.parent)
    return json.loads((folder / "results.json").read_text()), seconds


def defaults(inputs: Inputs) -> str:
    """What the defaults give over seeds: each cell on the adding problem at T=50, mean and 95 % interval."""
    from runner.report import stats
    from runner.report.markdown import mean_interval

    command = ["cell=CELL", "data=adding", "data.seq_len=50", "logger=csv", *inputs.extra]
    rows, baseline = [], None
    for cell in CELLS:
        finals, seconds, failed = [], [], []
        for seed in range(inputs.seeds):
            overrides = [o.replace("CELL", cell) for o in command] + [f"seed={seed}"]
            record, wall = run(overrides, inputs.work / f"defaults_{cell}_{seed}")
            baseline = record["baseline"]["mse"]
            seconds.append(wall)
            if record["status"] == "ok":
                finals.append(record["val"]["mse"])
            else:
                failed.append(f"seed {seed} {record['status']}")
        final = stats.summarize(finals)
        note = "" if final is None or final.mean < 0.9 * baseline else _against_baseline(final.mean, baseline)
        shown = "; ".join([mean_interval(final) + note, *failed])
        rows.append(f"| {cell} | {shown} | {duration(stats.summarize(seconds).mean)} |")
    return "\n".join(
        [
            f"`python -m runner {' '.join(command)} seed=SEED`, seeds 0 to {inputs.seeds - 1}, run by "
            f"`{SCRIPT} defaults` on {date.today().isoformat()} ({machine()}); the interval is Student's t 95 % "
            "interval of the mean over the seeds (`runner.report.stats`), the wall time the whole command's:",
            "",
            f"| cell | final validation MSE, mean [95 % interval] (baseline {baseline:.3g}) | wall time, mean |",
            "| --- | --- | --- |",
            *rows,
        ]
    )


def _against_baseline(mse: float, baseline: float) -> str:
    return " (stays at the baseline)" if mse < 1.1 * baseline else " (worse than the baseline)"


def duration(seconds: float) -> str:
    """``29 s``, ``6 min 40 s``, ``1 h 2 min``."""
    minutes, s = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return " ".join(([f"{minutes} min"] if minutes else []) + ([f"{s} s"] if s or not minutes else []))


def timings(inputs: Inputs) -> str:
    """How long the README's commands take here: the tour's first run and the test suite."""
    headline = ["python", "-m", "runner", *HEADLINE, *inputs.extra]
    run_seconds = timed([sys.executable, *headline[1:], f"hydra.run.dir={inputs.work / 'headline'}"], inputs.work)
    suite = ["python", "-m", "pytest", *inputs.suite]
    suite_seconds = timed([sys.executable, *suite[1:]], REPO)
    return "\n".join(
        [
            f"Measured by `{SCRIPT} timings` on {date.today().isoformat()} ({machine()}), "
            f"{len(os.sched_getaffinity(0))} cores free to use; the wall time is the whole command's:",
            "",
            "| command | wall time |",
            "| --- | --- |",
            f"| `{' '.join(headline)}` | {duration(run_seconds)} |",
            f"| `{' '.join(suite)}` | {duration(suite_seconds)} |",
        ]
    )


def measured_on(sweep: Path) -> str:
    """The line naming the machines a sweep's runs recorded (``machine`` in results.json)."""
    from runner._run_folder import run_dir

    records = [run_dir.read_results(folder) or {} for folder in run_dir.recorded_folders(sweep)]
    machines = sorted({record.get("machine") or "not recorded" for record in records})
    return f"Measured on {'; '.join(machines)} (the sweep's results.json), written by `{SCRIPT}`."


def quick_images(inputs: Inputs, images: Path) -> None:
    """The long-term-dependency study's figures: final metric and solve rate against the length, gradient flow."""
    from runner.report import plots

    configs = inputs.configs("quick")
    adding, copy = ([c for c in configs if c.facets["data"] == data] for data in ("adding", "copy"))
    plots.final_vs_length(adding, images / "final_adding.png")
    plots.solve_rate(adding, images / "solved_adding.png")
    plots.final_vs_length(copy, images / "final_copy.png")
    plots.gradient_flow(adding, images / "grad_flow_adding.png")


def exploding_images(inputs: Inputs, images: Path) -> None:
    """The exploding-gradients study's figure: divergence rate and final metric against the threshold."""
    from runner.report import plots

    plots.divergence(inputs.configs("exploding"), images / "exploding_divergence.png")


def quick_final(inputs: Inputs) -> str:
    from runner.report import tables

    return tables.overview(inputs.configs("quick"))


def quick_solved(inputs: Inputs) -> str:
    from runner.report import tables

    return tables.solved_lengths(inputs.configs("quick"))


def quick_resolved(inputs: Inputs) -> str:
    from runner.report import aggregate, tables

    return tables.verdicts(aggregate.comparisons(inputs.configs("quick")))


def option(config, sweep: str) -> str:
    """The option of the preset's group that names a configuration's cell (``irnn``, ``copy_lstm``)."""
    return next(o.split("=", 1)[1] for o in config.first.overrides if o.startswith(GROUP[sweep] + "="))


def pixels(inputs: Inputs, sweep: str) -> str:
    """A pixel twin's cells: validation and test accuracy over the seeds, beside what the papers report."""
    from runner.report import stats
    from runner.report.markdown import markdown_table, mean_interval

    rows = []
    for c in inputs.configs(sweep):
        tests = [j.record["test"]["accuracy"] for j in c.seeds if (j.record.get("test") or {}).get("accuracy")]
        name = option(c, sweep)
        rows.append(
            [f"`{name}`", c.n, mean_interval(c.final), mean_interval(stats.summarize(tests)), REPORTED[sweep][name]]
        )
    head = ["cell", "seeds", "val accuracy, mean [95 % CI]", "test accuracy, mean [95 % CI]", "reported, % (MNIST)"]
    return markdown_table(head, rows)


def synthetic(inputs: Inputs, sweep: str) -> str:
    """A copy or adding twin's cells at each length: the final metric over the seeds, the seeds that solved it."""
    from runner.report.markdown import fmt, markdown_table, mean_interval

    rows = [
        [f"`{option(c, sweep)}`", c.facets["seq_len"], c.n, mean_interval(c.final), fmt(c.scored.baseline),
         f"{c.solved.k}/{c.n}"]
        for c in sorted(inputs.configs(sweep), key=lambda c: (option(c, sweep), c.facets["seq_len"]))
    ]  # fmt: skip
    metric = inputs.configs(sweep)[0].scored.monitor
    return markdown_table(["cell", "T", "seeds", f"val {metric}, mean [95 % CI]", "baseline", "solved"], rows)


def copy_images(inputs: Inputs, images: Path) -> None:
    """The copy twin's validation loss against the memoryless baseline, as Arjovsky et al. 2016 draw it."""
    from runner.report import plots

    plots.learning_curves(inputs.configs("copy"), images / "copy_arjovsky_loss.png", loss=True)


def exploding(inputs: Inputs) -> str:
    from runner.report import tables

    return tables.gradient_norms(inputs.configs("exploding"))


def initialisations(inputs: Inputs) -> str:
    """Each configuration of the initialisations study with its seeds side by side (``runner.report.seed_table``)."""
    from runner.report import seed_table

    return seed_table.table(inputs.sweeps["initialisations"])


@dataclass(frozen=True)
class Block:
    make: Callable[[Inputs], str]
    sweep: str | None = None  # the option naming the sweep it reads (its dest); None: it runs its own commands


BLOCKS: dict[str, Block] = {
    "defaults": Block(defaults),
    "timings": Block(timings),
    "quick-final": Block(quick_final, "quick"),
    "quick-solved": Block(quick_solved, "quick"),
    "quick-resolved": Block(quick_resolved, "quick"),
    "exploding": Block(exploding, "exploding"),
    "initialisations": Block(initialisations, "initialisations"),
    "pixel": Block(lambda inputs: pixels(inputs, "pixel"), "pixel"),
    "permuted": Block(lambda inputs: pixels(inputs, "permuted"), "permuted"),
    "copy-arjovsky": Block(lambda inputs: synthetic(inputs, "copy"), "copy"),
    "adding-arjovsky": Block(lambda inputs: synthetic(inputs, "adding"), "adding"),
}
IMAGES_OF: dict[str, Callable[[Inputs, Path], None]] = {
    "quick": quick_images,
    "exploding": exploding_images,
    "copy": copy_images,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("blocks", nargs="*", help=f"the blocks to regenerate, of {', '.join(BLOCKS)}")
    for option, what in SWEEPS.items():
        parser.add_argument(option, type=Path, metavar="SWEEP", help=f"a sweep folder of {what}")
    parser.add_argument(
        "--extra", nargs="*", default=[], metavar="OVERRIDE", help="overrides added to every command a block runs"
    )
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds of each cell in defaults (default {SEEDS})")
    parser.add_argument(
        "--suite",
        type=shlex.split,
        default=SUITE,
        metavar="ARGS",
        help=f"pytest's arguments for the suite timings measures, one string (default --suite='{' '.join(SUITE)}')",
    )
    parser.add_argument("--pages", nargs="+", type=Path, help="the pages to write (default: README.md and docs/)")
    parser.add_argument("--images", type=Path, default=IMAGES, help="where the images go (default: docs/images)")
    args = parser.parse_args(argv)
    given = {option.removeprefix("--"): getattr(args, option.removeprefix("--")) for option in SWEEPS}
    sweeps = {name: folder for name, folder in given.items() if folder is not None}
    unknown = [name for name in args.blocks if name not in BLOCKS]
    if unknown:
        parser.error(f"no block {', '.join(unknown)}; there are {', '.join(BLOCKS)}")
    names = args.blocks or [name for name, block in BLOCKS.items() if block.sweep is None or block.sweep in sweeps]
    for name in names:
        sweep = BLOCKS[name].sweep
        if sweep is not None and sweep not in sweeps:
            parser.error(f"block {name} is made from a sweep of {SWEEPS['--' + sweep]}: give --{sweep} SWEEP")
    texts = {page: page.read_text() for page in args.pages or pages()}
    for name in names:  # before anything runs: a missing block costs no time
        if not any(markers(name).search(text) for text in texts.values()):
            where = ", ".join(map(str, texts))
            parser.error(f"no block <!-- figures:{name} --> ... <!-- /figures:{name} --> in {where}")
    with tempfile.TemporaryDirectory() as work:
        inputs = Inputs(sweeps, args.extra, Path(work), args.seeds, args.suite)
        for sweep in dict.fromkeys(BLOCKS[name].sweep for name in names):
            if sweep in IMAGES_OF:
                args.images.mkdir(parents=True, exist_ok=True)
                IMAGES_OF[sweep](inputs, args.images)
                print(f"images of --{sweep} written to {args.images}")
        for name in names:
            sweep = BLOCKS[name].sweep
            content = BLOCKS[name].make(inputs)
            if sweep is not None:
                content = f"{content.rstrip()}\n\n{measured_on(inputs.sweeps[sweep])}"
            for page, text in texts.items():
                if markers(name).search(text):
                    texts[page] = replace_block(text, name, content)
                    page.write_text(texts[page])  # each block as soon as it is done
                    print(f"block {name!r} written to {page}")


if __name__ == "__main__":
    main()
