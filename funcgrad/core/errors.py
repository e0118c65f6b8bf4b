"""Exception types and the one mechanism that makes every error name the user's line.

Every exception funcgrad raises on bad input is one of the classes below. Each subclasses the
matching builtin (so ``except TypeError`` works) and, when it is created, prefixes its message
with the user's file and line — ``in model.py:42, `` — found by :func:`~.source.user_src`:
the innermost frame outside the funcgrad package, or the line of the equation being
transformed. A message that already starts with a location is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from funcgrad.core.source import format_src, user_src

__all__ = [
    "TracerLeakError",
    "ConcretizationError",
    "TracerConversionError",
    "LocatedTypeError",
    "LocatedValueError",
    "LocatedIndexError",
    "LocatedKeyError",
    "LocatedNotImplementedError",
    "LocatedRuntimeError",
    "LocatedNameError",
    "format_src",
]

_HAS_LOCATION = re.compile(r"^in [^\s,]+:\d+, ")


class _Located(Exception):
    """Mixin: the message starts with the user's ``file.py:LINE``."""

    def __init__(self, *args: Any) -> None:
        if args and isinstance(args[0], str) and not _HAS_LOCATION.match(args[0]):
            where = format_src(user_src())
            if where:
                args = (where + args[0], *args[1:])
        super().__init__(*args)


class LocatedTypeError(_Located, TypeError):
    """A ``TypeError`` whose message names the user's line."""


class LocatedValueError(_Located, ValueError):
    """A ``ValueError`` whose message names the user's line."""


class LocatedIndexError(_Located, IndexError):
    """An ``IndexError`` whose message names the user's line."""


class LocatedKeyError(_Located, KeyError):
    """A ``KeyError`` whose message names the user's line."""


class LocatedNotImplementedError(_Located, NotImplementedError):
    """A ``NotImplementedError`` whose message names the user's line."""


class LocatedRuntimeError(_Located, RuntimeError):
    """A ``RuntimeError`` whose message names the user's line."""


class LocatedNameError(_Located, NameError):
    """A ``NameError`` whose message names the user's line (an axis name that no enclosing
    ``vmap(..., axis_name=...)`` binds)."""


class LocatedAttributeError(_Located, AttributeError):
    """An ``AttributeError`` whose message names the user's line."""


class TracerLeakError(_Located, TypeError):
    """A tracer was used after the transform that created it had returned (a ``TypeError``,
    as JAX's ``UnexpectedTracerError`` is)."""


class ConcretizationError(_Located, TypeError):
    """A concrete Python value (bool, int, ...) was needed from an abstract traced value,
    e.g. ``if x > 0:`` under ``jit``."""


class TracerConversionError(_Located, TypeError):
    """A traced value was handed to code that needs a real numpy array
    (``np.array([tracer])``, ``float(tracer)``, in-place assignment)."""
