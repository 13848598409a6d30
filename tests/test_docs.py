"""The pages keep up with the code: every hook, Task field and excerpt of the plugin guide, and on every page
(the README and the site in docs/) every command, config override, option, file and link they show."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import shlex
from functools import cache
from pathlib import Path

import pytest

from conftest import REPO
from runner import hookspecs, testing
from runner.task import Task

GUIDE = REPO / "docs" / "plugins.md"
README = REPO / "README.md"
PAGES = [README, *sorted(p for p in (REPO / "docs").rglob("*.md") if "_build" not in p.relative_to(REPO).parts)]
EXCERPT = re.compile(r"```\w*\n# file: (\S+)\n(.*?)```", re.S)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PLACEHOLDER = re.compile(r"(?<![$\w])[A-Z][A-Z_]+\b")  # DATE, RUN_DIR, NAME: not $HOME
# What a page shows being refused: a job with it must fail to compose or type (its sweep's other jobs must not).
REFUSED = {"optim.lr=0"}
# Commands that name plugins the reader is to write: the guide's illustrations, not runnable here.
ILLUSTRATIONS = {("cell=mycell", "data=mytask", "grad=mytrick")}
HYDRA_FLAGS = {"-m", "--multirun", "--help", "-h", "--hydra-help", "--info"}
OTHER_TOOLS = {"--signal"}  # sbatch's (the SLURM launcher's signal), named where the page explains requeueing
CONFIG_ROOTS = {"seed", "threads", "share_cores", "tune_malloc", "resume", "checkpoint"}


def hooks() -> list[str]:
    marker = f"{hookspecs.PROJECT}_spec"  # the attribute pluggy's HookspecMarker sets
    return [name for name, value in vars(hookspecs).items() if hasattr(value, marker)]


def undocumented_hooks(guide: str) -> list[str]:
    """Hooks without a heading of their own in the guide."""
    return [hook for hook in hooks() if not re.search(rf"^#+ .*`{hook}`", guide, re.M)]


def test_every_hook_has_a_section_in_the_guide():
    assert hooks() == ["register_cells", "register_datasets", "register_grad_handlers", "register_optimizers"]
    assert undocumented_hooks(GUIDE.read_text()) == []
    assert undocumented_hooks("## Cells: `register_cells`\n") == [
        "register_datasets",
        "register_grad_handlers",
        "register_optimizers",
    ]


def test_every_task_field_and_kit_check_is_explained():
    guide = GUIDE.read_text()
    for field in dataclasses.fields(Task):
        assert f"`{field.name}`" in guide, field.name
    for name in dir(testing):
        if name.startswith("check_"):
            assert f"`{name}(" in guide, name


def test_excerpts_are_copied_from_the_example_package():
    excerpts = EXCERPT.findall(GUIDE.read_text())
    assert len(excerpts) >= 6
    for path, code in excerpts:
        assert code in (REPO / path).read_text(), f"the excerpt of {path} is not in that file any more"


# What the pages show -----------------------------------------------------------------------------


def spans(text: str) -> list[str]:
    """The inline code of a page, outside its code blocks."""
    return INLINE.findall(FENCE.sub("", text))


def shown_commands(text: str) -> list[str]:
    """Every ``python ...`` command a page shows: in shell and console blocks (``$ `` prompts too) and inline."""
    parts = []
    for lang, body in FENCE.findall(text):
        if lang in ("bash", "console", "sh", "text", ""):
            for line in body.replace("\\\n", " ").splitlines():
                parts += re.split(r"&&|;|\|\|", line.removeprefix("$ "))
    parts += spans(text)
    found = [m.group(0).strip() for part in parts if (m := re.search(r"\bpython3? (-m \S+|\S+\.py)\b.*", part))]
    return [c[:-1] if c.endswith(")") and c.count("(") < c.count(")") else c for c in found]  # (cd x && python ...)


def arguments(command: str) -> tuple[str, list[str]]:
    """(the module or script a command runs, its arguments), comments left out."""
    words = shlex.split(command, comments=True)
    words = words[next(i for i, w in enumerate(words) if w.startswith("python")) :]  # after VAR=value prefixes
    return (words[2], words[3:]) if words[1] == "-m" else (words[1], words[2:])


def test_the_pages_show_the_commands_these_checks_read():
    """The checks below would pass on pages they cannot read: they read these."""
    found = [arguments(c) for page in PAGES for c in shown_commands(page.read_text())]
    ran = {target for target, _ in found}
    assert {"runner", "runner.report", "runner.status", "runner.lm", "runner.plugins", "docs/figures.py"} <= ran
    assert sum(target == "runner" for target, _ in found) >= 50
    assert arguments("RUNNER_DATA_DIR=d python benchmarks/suite.py --quick  # note") == (
        "benchmarks/suite.py",
        ["--quick"],
    )
    page = (
        "```bash\n$ python -m runner seed=range(3) && (cd x && python -m runner.status x)\n```\n`python -m runner b=2`"
    )
    assert shown_commands(page) == [
        "python -m runner seed=range(3)",
        "python -m runner.status x",
        "python -m runner b=2",
    ]


@cache
def registered() -> None:
    """The plugins' config classes stored as Hydra options, as ``python -m runner`` stores them when it starts."""
    from runner._config import schema
    from runner.plugins import registry

    schema.store(registry.load())


def composer():
    """A function composing and typing overrides as ``python -m runner`` does before it trains, plugins included."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf, open_dict

    registered()

    def typed(overrides: list[str]):
        with initialize_config_module(config_module="runner._config.conf", version_base="1.3"):
            config = compose(config_name="config", overrides=overrides, return_hydra_config=True)
        with open_dict(config):
            del config["hydra"]
        OmegaConf.to_object(config)  # the dataclasses' own range checks
        return config

    return typed


def jobs(overrides: list[str]) -> list[list[str]]:
    """The jobs of a sweep's overrides that between them take every value of every swept key once."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    values = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override():
            values.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            values.append([override.input_line])
    longest = max((len(v) for v in values), default=1)
    return [[v[i % len(v)] for v in values] for i in range(longest)]


def runner_commands() -> list[tuple[str, list[str]]]:
    """(page, overrides) of every ``python -m runner`` command shown, without Hydra's flags and placeholders."""
    found = {}
    for page in PAGES:
        for command in shown_commands(page.read_text()):
            target, args = arguments(command)
            if target != "runner" or any(PLACEHOLDER.search(a) or a == "..." for a in args):
                continue  # placeholders (DATE) or an elision (python -m runner ...): not a command to run
            if "--cfg" in args:
                del args[args.index("--cfg") : args.index("--cfg") + 2]
            found.setdefault(tuple(a for a in args if a not in HYDRA_FLAGS), page.relative_to(REPO))
    return [(str(page), list(overrides)) for overrides, page in found.items()]


def test_the_illustrations_left_out_are_on_a_page():
    assert {tuple(overrides) for _, overrides in runner_commands()} >= ILLUSTRATIONS


@pytest.mark.parametrize(
    ("page", "overrides"),
    [(page, overrides) for page, overrides in runner_commands() if tuple(overrides) not in ILLUSTRATIONS],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_every_runner_command_a_page_shows_composes(page, overrides):
    typed = composer()
    for job in jobs(overrides):
        if REFUSED & set(job):
            with pytest.raises(Exception):  # noqa: B017  (whichever check refuses it)
                typed(job)
        else:
            typed(job)


def test_a_command_that_does_not_compose_fails_the_check():
    typed = composer()
    assert jobs(["-m", "cell=rnn,gru", "seed=range(3)"][1:]) == [
        ["cell=rnn", "seed=0"],
        ["cell=gru", "seed=1"],
        ["cell=rnn", "seed=2"],
    ]
    for wrong in (["cell=lstmm"], ["cell=gru", "cell.forget_bias=1"], ["optim.lr=0"], ["trainer.max_stepz=3"]):
        with pytest.raises(Exception):  # noqa: B017
            typed(wrong)


@cache
def config_keys() -> tuple[set[str], dict[str, set[str]]]:
    """(every dotted key of every option of every group and of the top level, the options of each group)."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    typed = composer()
    with initialize_config_module(config_module="runner._config.conf", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        options = {g: set(loader.get_group_options(g)) for g in loader.list_groups("") if g != "hydra"}
    keys = set()

    def walk(node, prefix):
        for key, value in node.items():
            keys.add(prefix + key)
            if OmegaConf.is_dict(value):
                walk(value, f"{prefix}{key}.")

    for group, names in options.items():
        for name in names:
            try:
                walk(
                    typed([f"+{group}={name}" if group in ("grad_setting", "initialisations") else f"{group}={name}"]),
                    "",
                )
            except Exception:  # an experiment that needs other choices: its keys are found with those
                continue
    return keys, options


def template_names() -> str:
    """The text of the plugin template, whose plugins (``cell=mgu``) a page may name though none is installed."""
    return " ".join(p.read_text() for p in (REPO / "src" / "runner" / "plugins" / "template").iterdir())


def override_problems(span: str, keys: set[str], options: dict[str, set[str]], template: str) -> list[str]:
    """What is wrong with the config overrides or keys of one inline span (``cell.forget_bias=1``, ``data.bptt``)."""
    problems = []
    for token in span.split():
        key, eq, value = token.partition("=")
        added = key.startswith("+")
        key = key.lstrip("+~")
        root = key.split(".")[0]
        if not re.fullmatch(r"[\w./]+", key):
            continue  # code, not a key: model.eval()
        if (root not in options and root not in CONFIG_ROOTS) or PLACEHOLDER.search(token) or "=" in value:
            continue  # not one of the runner's keys, a placeholder, or a run's name (cell=rnn,data.seq_len=20)
        if key in options and not eq:
            continue  # a group's name
        if eq and key in options:
            unknown = [v for v in value.split(",") if v != "..." and v not in options[key] and v not in template]
            problems += [f"{key}={v}: no such option" for v in unknown]
        elif not added and key not in keys and not key.endswith(".py"):
            problems.append(f"{key}: no such key")
    return problems


def test_every_config_key_and_option_a_page_names_exists():
    keys, options = config_keys()
    template = template_names()
    assert {"cell.forget_bias", "data.bptt", "trainer.precision", "checkpoint.every_n_steps"} <= keys
    assert override_problems("cell.forgot_bias=1 data=ptbb grad=clip_norm cell=mgu", keys, options, template) == [
        "cell.forgot_bias: no such key",
        "data=ptbb: no such option",
    ]
    problems = []
    for page in PAGES:
        for span in spans(page.read_text()):
            if not span.startswith(("hydra", "python")):
                problems += [f"{page.name}: {p}" for p in override_problems(span, keys, options, template)]
    assert problems == []


def code_of(target: str) -> Path | None:
    """The file or package folder a command runs: ``runner.lm`` -> src/runner/lm/, ``benchmarks/suite.py``."""
    if target.endswith(".py"):
        return REPO / target
    spec = importlib.util.find_spec(target)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    return origin.parent if origin.name in ("__init__.py", "__main__.py") else origin


def defines(code: Path, option: str) -> bool:
    files = [code] if code.is_file() else sorted(code.rglob("*.py"))
    return any(f'"{option}"' in f.read_text() for f in files)


def test_every_command_and_option_a_page_shows_exists():
    """Each module or script a page runs is there, and so is every ``--option`` it gives it or names on its own."""
    problems = []
    ours = [REPO / "src", REPO / "benchmarks", REPO / "docs" / "figures.py"]
    for page in PAGES:
        text = page.read_text()
        for command in shown_commands(text):
            target, args = arguments(command)
            if target in ("runner", "pytest", "venv", "pip"):
                continue  # runner: composed above; the others are not this project's
            code = code_of(target)
            if code is None or not code.exists():
                problems.append(f"{page.name}: {target} does not exist")
                continue
            for option in (a.split("=")[0] for a in args if a.startswith("--")):
                if not defines(code, option):
                    problems.append(f"{page.name}: {target} has no option {option}")
        for span in spans(text):
            option = span.split()[0].split("=")[0]
            known = HYDRA_FLAGS | OTHER_TOOLS | {"--cfg"}
            if (
                re.fullmatch(r"--[a-z][\w-]*", option)
                and option not in known
                and not any(defines(c, option) for c in ours)
            ):
                problems.append(f"{page.name}: no command has the option {option}")
    assert problems == []
    assert not defines(REPO / "src" / "runner" / "lm", "--no-such-option")


def slug(heading: str) -> str:
    """A heading's anchor, as GitHub and MyST (``myst_heading_anchors``) make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.*)$", FENCE.sub("", page.read_text()), re.M)}


def test_every_file_and_link_a_page_names_exists():
    problems = []
    for page in PAGES:
        text = page.read_text()
        for link in LINK.findall(text):
            if re.match(r"\w+:", link):
                continue  # https:, mailto:
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists():
                problems.append(f"{page.name}: link {link}")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target):
                problems.append(f"{page.name}: no heading #{anchor} in {path or page.name}")
        for span in spans(text):
            path = span.split()[0]
            in_repo = re.match(r"(src|benchmarks|docs|tests|examples)/|\.ci/", path) and not re.search(r"[{A-Z]", path)
            if in_repo and not (REPO / path).exists():
                problems.append(f"{page.name}: {path}")
    assert problems == []
    assert slug("Asking a trained model: `runner.lm`") == "asking-a-trained-model-runnerlm"


# The README --------------------------------------------------------------------------------------


def test_the_readme_is_short_links_every_page_and_gives_ci_s_test_command():
    readme = README.read_text()
    assert len(readme.splitlines()) <= 300
    linked = {(REPO / link.partition("#")[0]).resolve() for link in LINK.findall(readme)}
    site = [p for p in PAGES[1:] if p.name != "index.md"]
    assert [p.relative_to(REPO) for p in site if p.resolve() not in linked] == []
    assert "(docs/plugins.md)" in readme
    test_command = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1].split("  #")[0]
    assert f"```bash\n{test_command}\n```" in readme


def test_the_readme_layout_names_every_folder_of_the_source_tree():
    table = re.search(r"^## Layout\n(.*?)^## ", README.read_text(), re.S | re.M).group(1)
    listed = set(re.findall(r"^\| `(src/[^`]+)/` \|", table, re.M))
    tree = {
        str(p.relative_to(REPO))
        for p in (REPO / "src").rglob("*")
        if p.is_dir() and "__pycache__" not in p.parts and not p.name.endswith(".egg-info")
    }
    assert listed == tree


def test_the_site_builds_with_every_page_in_its_table_of_contents():
    """Sphinx builds the pages a toctree names (CI builds it with warnings as errors); every page is named."""
    index = (REPO / "docs" / "index.md").read_text()
    named = {
        line.strip() for block in re.findall(r"```\{toctree\}\n(.*?)```", index, re.S) for line in block.splitlines()
    }
    pages = {str(p.relative_to(REPO / "docs").with_suffix("")) for p in PAGES[1:] if p.name != "index.md"}
    assert pages <= named
    ci = (REPO / ".ci" / "run").read_text()
    assert "sphinx-build -W --keep-going -b html docs docs/_build/html" in ci
    assert ci.index("ruff check") < ci.index("sphinx-build") < ci.index("python -m pytest")


def test_the_api_page_documents_the_hooks_and_task_from_their_docstrings():
    api = (REPO / "docs" / "api.md").read_text()
    for directive in ("automodule:: runner\n", "automodule:: runner.hookspecs\n", "autoclass:: runner.task.Task\n"):
        assert directive in api
    assert all(getattr(hookspecs, hook).__doc__ for hook in hooks()) and Task.__doc__
    fields = [f.name for f in dataclasses.fields(Task)]
    assert re.findall(r":ivar (\w+):", Task.__doc__) == [f for f in fields if f":ivar {f}:" in Task.__doc__]
    assert set(re.findall(r":ivar (\w+):", Task.__doc__)) <= set(fields)
