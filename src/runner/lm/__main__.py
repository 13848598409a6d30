"""``python -m runner.lm``: ask a trained language model (next words, scores, samples)."""

from runner.lm.cli import main

main()
