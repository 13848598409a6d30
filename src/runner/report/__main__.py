"""``python -m runner.report SWEEP...``: the sweep report (report.md and its figures)."""

from runner.report.document import main

main()
