"""``python -m runner.plugins``: the installed plugins; ``... new NAME`` writes a plugin package."""

import sys

from runner.plugins.listing import main

sys.exit(main())
