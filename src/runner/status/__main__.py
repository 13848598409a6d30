"""``python -m runner.status FOLDER``: where a run or a sweep stands."""

from runner.status.jobs import main

main()
