"""The built-in plugins, installed as ``runner_plugins``.

They are registered through the ``runner`` entry-point group in
``pyproject.toml``, exactly as a third-party package registers its own, and
use only the public API (``runner.hookimpl``, ``runner.task.Task``).
"""
