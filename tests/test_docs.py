"""The plugin author guide keeps up with the code: every hook, every Task field, every excerpt."""

import dataclasses
import re

from conftest import REPO
from runner import hookspecs, testing
from runner.task import Task

GUIDE = REPO / "docs" / "plugins.md"
EXCERPT = re.compile(r"```\w*\n# file: (\S+)\n(.*?)```", re.S)


def hooks() -> list[str]:
    marker = f"{hookspecs.PROJECT}_spec"  # the attribute pluggy's HookspecMarker sets
    return [name for name, value in vars(hookspecs).items() if hasattr(value, marker)]


def undocumented_hooks(guide: str) -> list[str]:
    """Hooks without a heading of their own in the guide."""
    return [hook for hook in hooks() if not re.search(rf"^#+ .*`{hook}`", guide, re.M)]


def test_every_hook_has_a_section_in_the_guide():
    assert hooks() == ["register_cells", "register_datasets", "register_grad_handlers"]
    assert undocumented_hooks(GUIDE.read_text()) == []
    assert undocumented_hooks("## Cells: `register_cells`\n") == ["register_datasets", "register_grad_handlers"]


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


def test_linked_files_exist_and_the_readme_links_the_guide():
    guide = GUIDE.read_text()
    for target in re.findall(r"\]\((\.\./[^)#]+)\)", guide):
        assert (GUIDE.parent / target).exists(), target
    assert "(docs/plugins.md)" in (REPO / "README.md").read_text()
