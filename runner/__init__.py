"""runner: a plugin-based experiment runner for recurrent sequence models."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("runner")
"""Marker for plugin hook implementations: ``@hookimpl def register_cells(register): ...``."""
