"""Sphinx configuration of the documentation site: MyST Markdown pages, the furo theme, the API from docstrings.

Built from the repository's root with warnings as errors, as .ci/run does:

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the tree's own code is documented, installed or not

import runner  # noqa: E402  (after the path is set)

project = "runner"
release = version = runner.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]

myst_heading_anchors = 3  # [text](page.md#a-heading) links, as GitHub renders them
autodoc_member_order = "bysource"

html_theme = "furo"
html_title = "runner"


class RepositoryLinks(SphinxTransform):
    """Links from a page to the repository outside ``docs/``, which the pages make so that they read on GitHub too.

    A Markdown file there (``../benchmarks/results/suite.md``) becomes a download, as any other
    file does; a folder (``../examples/runner-example-plugins/``) becomes its name, unlinked.
    """

    default_priority = 5  # before the references are collected and resolved

    def apply(self) -> None:
        here = Path(self.env.doc2path(self.env.docname)).parent
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst":
                continue
            target = node["reftarget"]
            if node.get("refdomain") == "doc" and target not in self.env.found_docs:
                path = Path(self.env.srcdir, target + ".md").resolve()
                if path.is_file():
                    link = addnodes.download_reference("", "", *node.children, reftarget=os.path.relpath(path, here))
                    link.update_all_atts(node, replace=False)
                    node.replace_self(link)
            elif (here / target).is_dir():
                node.replace_self(nodes.inline("", "", *node.children))


def setup(app):
    app.add_transform(RepositoryLinks)
