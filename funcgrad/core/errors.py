"""Exception types and message helpers. Every error says what was wrong and what to do."""

from __future__ import annotations

import os

__all__ = [
    "TracerLeakError",
    "ConcretizationError",
    "TracerConversionError",
    "format_src",
]


class TracerLeakError(RuntimeError):
    """A tracer was used after the transform that created it had returned."""


class ConcretizationError(TypeError):
    """A concrete Python value (bool, int, ...) was needed from an abstract traced value,
    e.g. ``if x > 0:`` under ``jit``."""


class TracerConversionError(TypeError):
    """A traced value was handed to code that needs a real numpy array
    (``np.array([tracer])``, ``float(tracer)``, in-place assignment)."""


def format_src(src: tuple[str, int] | None) -> str:
    """'in file.py:42, ' for a (file, line) pair; '' when unknown."""
    if not src:
        return ""
    return f"in {os.path.basename(src[0])}:{src[1]}, "
