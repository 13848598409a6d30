"""The public API stated once: ``runner.__all__``, what the plugins import, and the guide's list of it.

The built-in plugins, the example package and the scaffold's template import
only names of ``runner.__all__``, from ``runner`` itself, as a third party does;
``runner.testing`` (the contract kit) only in their tests.
"""

import ast
import re
import subprocess
import sys

import pytest

import runner
from conftest import REPO
from runner.plugins import scaffold

GUIDE = REPO / "docs" / "plugins.md"
TEMPLATE = REPO / "src" / "runner" / "plugins" / "template"
PLUGIN_CODE = [
    *sorted((REPO / "src" / "runner_plugins").rglob("*.py")),
    *sorted((REPO / "examples" / "runner-example-plugins").rglob("*.py")),
    *sorted(TEMPLATE.glob("*.py.tmpl")),
]


def is_test(path) -> bool:
    """A plugin package's tests, where the contract kit belongs: ``tests/``, ``test_*``, ``*_test``."""
    name = path.name.removesuffix(".tmpl").removesuffix(".py")
    return "tests" in path.parts or name.startswith("test_") or name.endswith("_test")


def python(path) -> str:
    """The file's code. In a template, a ``$placeholder`` becomes what the scaffold writes there when that is
    one line (``$runner_imports``: the names the hook module imports), else a name: the lines stay the template's."""
    text = path.read_text()
    if path.suffix != ".tmpl":
        return text
    values = scaffold._values("my-rnn-plugins", list(scaffold.KINDS))

    def fill(placeholder: re.Match) -> str:
        value = values.get(placeholder[1])
        return value if value is not None and "\n" not in value else f"_{placeholder[1]}"

    return re.sub(r"\$(\w+)", fill, text)


def reaches_below(code: str, *, test: bool = False) -> list[tuple[int, str]]:
    """``(line, what)`` for every use of the runner that is not a name of ``runner.__all__`` taken from ``runner``.

    ``import runner`` is fine, and so is ``runner.X`` for X in ``__all__``;
    ``import runner.X``, ``from runner.X import ...`` and ``from runner import Y``
    with Y outside ``__all__`` reach below. ``runner.testing`` is allowed in tests only.
    """
    public = set(runner.__all__) - ({"testing"} if not test else set())
    allowed_modules = {"runner", "runner.testing"} if test else {"runner"}
    found, aliases = [], set()
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top != "runner":
                    continue
                if alias.name not in allowed_modules:
                    found.append((node.lineno, f"import {alias.name}"))
                elif alias.name == "runner":
                    aliases.add(alias.asname or "runner")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "runner":
                continue
            if node.module not in allowed_modules:
                found.append((node.lineno, f"from {node.module} import ..."))
            elif node.module == "runner":
                found += [(node.lineno, f"from runner import {a.name}") for a in node.names if a.name not in public]
    for node in ast.walk(tree):
        named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
        if named and node.attr not in public:
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return sorted(found)


def test_the_plugins_import_only_the_public_api():
    assert len(PLUGIN_CODE) > 20  # the built-ins, the example package and the template are all there
    below = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in PLUGIN_CODE
        for line, what in reaches_below(python(path), test=is_test(path))
    ]
    assert below == [], "the plugins reach below the public API (runner.__all__):\n" + "\n".join(below)


@pytest.mark.parametrize(
    "code,test,found",
    [
        ("from runner import Task, hookimpl\nimport runner\nrunner.tokenize('a', 'word', '<eos>')\n", False, []),
        ("from runner.testing import check_cell\nfrom runner import testing\n", True, []),
        ("import os\nfrom runner._train import distributed\n", False, [(2, "from runner._train import ...")]),
        ("from runner.task import Task\n", False, [(1, "from runner.task import ...")]),
        ("import runner.hookspecs\n", False, [(1, "import runner.hookspecs")]),
        ("from runner import _train, hookimpl\n", False, [(1, "from runner import _train")]),
        ("import runner as r\n\nr.task.Task\n", False, [(3, "r.task")]),
        ("from runner.testing import check_cell\n", False, [(1, "from runner.testing import ...")]),
        ("from runner import testing\n", False, [(1, "from runner import testing")]),
        (
            "def build(config):\n    from runner._run_folder import run_dir\n",
            False,
            [(2, "from runner._run_folder import ...")],
        ),
        ("from runner_plugins.text import fetch\nfrom runnerx import y\n", False, []),
    ],
)
def test_reaching_below_is_found_by_line(code, test, found):
    assert reaches_below(code, test=test) == found


def test_the_template_is_read_with_the_names_the_scaffold_writes():
    code = python(TEMPLATE / "__init__.py.tmpl")
    names = (
        "Cell, DataModule, GradHandler, Optimizer, RegisterCell, RegisterDataset, RegisterGradHandler, "
        "RegisterOptimizer, hookimpl"
    )
    assert f"\nfrom runner import {names}\n" in code
    assert "\n_hooks" in code  # a placeholder of several lines: a name on its line
    assert len(code.splitlines()) == len((TEMPLATE / "__init__.py.tmpl").read_text().splitlines())


def test_every_public_name_exists_and_import_runner_stays_cheap():
    assert len(runner.__all__) == len(set(runner.__all__))
    assert [name for name in runner.__all__ if not hasattr(runner, name)] == []
    heavy = ("torch", "lightning", "hydra", "pytest", "runner.testing", "urllib.request")
    out = subprocess.run(
        [sys.executable, "-c", f"import sys, runner; print([m for m in {heavy!r} if m in sys.modules])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def documented_api(guide: str) -> list[str]:
    """The names listed (``- `name`: ...``) in the guide's section "The public API", its subsections included."""
    match = re.search(r"^(#+) The public API\n", guide, re.M)
    assert match, "docs/plugins.md has no section 'The public API'"
    section = re.split(rf"^#{{1,{len(match[1])}}} ", guide[match.end() :], maxsplit=1, flags=re.M)[0]
    return re.findall(r"^- `(\w+)`", section, re.M)


def test_the_guide_lists_exactly_the_public_api():
    listed = documented_api(GUIDE.read_text())
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert sorted(listed) == sorted(runner.__all__)
    guide = "## The public API\n\n- `Task`: a task\n\n### Data\n\n- `part`: a part\n\n## Next\n\n- `x`: no\n"
    assert documented_api(guide) == ["Task", "part"]
