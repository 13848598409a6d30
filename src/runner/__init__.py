"""runner: a plugin-based experiment runner for recurrent sequence models.

Installed as the distribution ``rnn-runner``; imported as ``runner``.
"""

import pluggy

__version__ = "0.1.0"

PLUGIN_API = 1
"""The version of the plugin contract (the hooks of :mod:`runner.hookspecs` and what they promise).

It changes only when a plugin written for the previous one would need changes;
a plugin module may declare ``PLUGIN_API = 1`` and is refused by name by a runner
with another one.
"""

hookimpl = pluggy.HookimplMarker("runner")
"""Marker for plugin hook implementations: ``@hookimpl def register_cells(register): ...``."""
