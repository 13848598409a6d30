"""What a plugin's config dataclass says, and whether Hydra can make options of it.

:func:`check` runs when a plugin registers (inside the registry's per-plugin
guard), so that a config class Hydra cannot store is that plugin's failure
and not a crash of every command. :func:`fields` describes the fields for
``python -m runner.plugins``, with the help text the plugin gives each one:
``field(metadata={"help": ...})`` or, shorter, a comment at the end of the
field's line.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import sys
import textwrap
import tokenize
import traceback
import typing
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    InterpolationResolutionError,
    MissingMandatoryValue,
    OmegaConfBaseException,
)


@dataclass(frozen=True)
class Problem:
    """Why a config class cannot become Hydra options; ``field`` is the one at fault, where there is one."""

    field: str | None
    reason: str
    traceback: str | None = None  # where the class's own code raised


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _defining_class(config_class: type, name: str) -> type:
    return next(k for k in config_class.__mro__ if name in inspect.get_annotations(k))


def _unresolved(config_class: type) -> Problem | None:
    """A field whose annotation, written as a string (``from __future__ import annotations``), names nothing."""
    for f in dataclasses.fields(config_class):
        if not isinstance(f.type, str):
            continue
        owner = _defining_class(config_class, f.name)
        module = sys.modules.get(owner.__module__)
        try:  # what typing.get_type_hints does, one field at a time so that the failure names the field
            eval(f.type, vars(module) if module else {}, dict(vars(owner)))
        except Exception as exc:
            return Problem(f.name, f"its annotation {f.type!r} cannot be evaluated: {_first_line(exc)}")
    return None


def _key(exc: OmegaConfBaseException) -> str | None:
    key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
    return str(key).split(".", 1)[-1] if key else None


@functools.cache
def _root() -> DictConfig:
    """The run config's own top-level values (``seed``...), which plugin defaults may interpolate."""
    root = OmegaConf.load(str(resources.files("runner._config.conf") / "config.yaml"))
    for key in ("defaults", "hydra"):
        root.pop(key, None)
    return root


def check(config_class: type, kind: str) -> Problem | None:
    """Why Hydra could not store ``config_class`` as an option of group ``kind``, or None.

    Every annotation must resolve; every field type must be one OmegaConf
    supports; the defaults must pass the class's ``__post_init__`` (skipped
    when a field has no default or interpolates a value of the composed config).
    """
    problem = _unresolved(config_class)
    if problem:
        return problem
    try:
        node = OmegaConf.structured(config_class)  # what Hydra's ConfigStore does with it
    except OmegaConfBaseException as exc:
        return Problem(_key(exc), f"Hydra cannot store it: {_first_line(exc)}")
    except Exception as exc:
        return Problem(None, f"Hydra cannot store it: {_first_line(exc)}")
    root = _root().copy()
    root[kind] = node
    try:
        OmegaConf.to_object(root[kind])
    except (MissingMandatoryValue, InterpolationResolutionError):
        pass  # values only a user or the composed config gives: judged when a run starts
    except OmegaConfBaseException as exc:
        return Problem(_key(exc), f"its defaults are not valid: {_first_line(exc)}")
    except Exception as exc:
        return Problem(
            None, f"its defaults fail its own checks (__post_init__): {_first_line(exc)}", traceback.format_exc()
        )
    return None


def _line_comments(config_class: type) -> dict[str, str]:
    """Field name -> the comment ending its line, read from the source of the class body."""
    try:
        source = inspect.getsource(config_class)
    except (OSError, TypeError):  # no source (a class built at run time): no comments to read
        return {}
    comments, depth, line_start, current = {}, 0, True, None
    for token in tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline):
        if token.type == tokenize.INDENT:
            depth += 1
        elif token.type == tokenize.DEDENT:
            depth -= 1
        elif token.type == tokenize.NEWLINE:
            line_start, current = True, None
        elif token.type == tokenize.COMMENT and current and current not in comments:
            comments[current] = token.string.lstrip("#").strip()
        elif token.type == tokenize.NAME and line_start and depth == 1:
            current, line_start = token.string, False
        elif token.type not in (tokenize.NL, tokenize.COMMENT):
            line_start = False
    return comments


def help_texts(config_class: type) -> dict[str, str]:
    """Field name -> help: ``metadata["help"]``, else the line comment (a subclass's wins over its base's)."""
    comments: dict[str, str] = {}
    for klass in reversed(config_class.__mro__):
        if dataclasses.is_dataclass(klass):
            comments.update(_line_comments(klass))
    return {f.name: f.metadata.get("help") or comments.get(f.name, "") for f in dataclasses.fields(config_class)}


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(str(member.value) for member in annotation)  # the values a user may type
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _plain(value: Any) -> Any:
    """A default as a user would type it, and as JSON can hold it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def fields(config_class: type) -> list[dict[str, Any]]:
    """Name, type, default and help of every field of a plugin's config dataclass."""
    try:  # string annotations (``from __future__ import annotations``) become types, enums show their values
        hints = typing.get_type_hints(config_class)
    except Exception:  # an annotation that cannot be evaluated is shown as written
        hints = {}
    helps = help_texts(config_class)
    described = []
    for f in dataclasses.fields(config_class):
        if f.default is not dataclasses.MISSING:
            default = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _plain(f.default_factory())
        else:
            default = "???"  # Hydra's spelling of a value the user must give
        described.append(
            {"name": f.name, "type": _type_name(hints.get(f.name, f.type)), "default": default, "help": helps[f.name]}
        )
    return described
