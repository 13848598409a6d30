"""``python -m runner``: one run, or a sweep with ``-m`` (Hydra)."""

from runner._train.cli import main

main()
