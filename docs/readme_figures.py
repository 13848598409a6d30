"""Write the README's study tables and figures from the sweeps that measured them.

    python docs/readme_figures.py --quick multirun/long_term_deps_quick/DATE \
        --exploding multirun/exploding_gradients/DATE

Images go to docs/images/; every table goes between its markers in README.md
(``<!-- study:NAME -->`` ... ``<!-- /study:NAME -->``), so that nothing in those
sections is typed by hand. The text around them is: it must say what the tables say.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from runner.report import aggregate, document, plots, tables

DOCS = Path(__file__).resolve().parent
README = DOCS.parent / "README.md"
IMAGES = DOCS / "images"


def replace(text: str, name: str, body: str) -> str:
    """The README with the block between ``<!-- study:NAME -->`` and ``<!-- /study:NAME -->`` set to ``body``."""
    pattern = re.compile(rf"(<!-- study:{name} -->\n).*?(<!-- /study:{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- study:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + body.strip("\n") + "\n" + m.group(2), text)


def quick(sweep: Path, text: str) -> str:
    configs = aggregate.group(document.read([sweep], {}))
    adding, copy = ([c for c in configs if c.facets["data"] == data] for data in ("adding", "copy"))
    plots.final_vs_length(adding, IMAGES / "final_adding.png")
    plots.solve_rate(adding, IMAGES / "solved_adding.png")
    plots.final_vs_length(copy, IMAGES / "final_copy.png")
    plots.gradient_flow(adding, IMAGES / "grad_flow_adding.png")
    text = replace(text, "quick-final", tables.overview(configs))
    text = replace(text, "quick-solved", tables.solved_lengths(configs))
    return replace(text, "quick-resolved", tables.verdicts(aggregate.comparisons(configs)))


def exploding(sweep: Path, text: str) -> str:
    configs = aggregate.group(document.read([sweep], {}))
    plots.divergence(configs, IMAGES / "exploding_divergence.png")
    return replace(text, "exploding", tables.gradient_norms(configs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", type=Path, help="a sweep of experiment=long_term_deps_quick")
    parser.add_argument("--exploding", type=Path, help="a sweep of experiment=exploding_gradients")
    args = parser.parse_args()
    text = README.read_text()
    if args.quick:
        text = quick(args.quick, text)
    if args.exploding:
        text = exploding(args.exploding, text)
    README.write_text(text)
    print(f"wrote {README} and the images in {IMAGES}")


if __name__ == "__main__":
    main()
