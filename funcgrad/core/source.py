"""Source locations: which line of the user's code an equation or an error belongs to.

``user_src()`` is the (file, line) of the innermost frame outside the funcgrad package — or,
while an IR interpreter re-emits an existing equation, that equation's original line (set with
:class:`source_context`), so derived equations and their errors keep pointing at the user.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any

__all__ = [
    "user_src",
    "source_context",
    "emit_phase",
    "current_phase",
    "format_src",
    "call_at",
    "current_loc",
    "PKG_DIR",
]

# the funcgrad package directory (this file is funcgrad/core/source.py): frames under it are ours
PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_GENERATED = "<funcgrad-"  # file names of the code that jit generates
_OURS = (PKG_DIR, _GENERATED)


class _State(threading.local):
    # Class-level defaults: reading an attribute never set in this thread is then a plain
    # lookup (``getattr(local, name, None)`` on a missing name raises and catches inside).
    loc: tuple[str, int] | None = None
    phase: str | None = None
    # True while eager reverse mode runs its backward pass with numpy's floating-point
    # warnings raised as errors (see funcgrad.transforms.reverse): concrete primitives then
    # run directly, not through their line's trampoline (a warning raises and the equation is
    # re-run through the trampolines, which name the user's line).
    direct: bool = False


_tls = _State()

# (id(code), instruction offset) -> (code, (file, line)): computing a frame's line number
# decodes the code's line table from its start, so each call site is resolved once. The code
# object is kept in the value, so its id cannot be reused while the entry exists.
_lines: dict[tuple[int, int], tuple[Any, tuple[str, int]]] = {}
_MAX_LINES = 1 << 14


def user_src(_depth: int = 1) -> tuple[str, int] | None:
    """(file, line) of the innermost frame outside funcgrad; or the override set by an
    interpreter that is re-emitting an existing equation (so the original line is kept).
    ``_depth`` frames above this call are known to be funcgrad's and are skipped unchecked."""
    loc = _tls.loc
    if loc is not None:
        return loc
    f: Any = sys._getframe(_depth)
    while f is not None and f.f_code.co_filename.startswith(_OURS):
        f = f.f_back
    if f is None:
        return None
    code = f.f_code
    key = (id(code), f.f_lasti)
    hit = _lines.get(key)
    if hit is not None:
        return hit[1]
    src = (code.co_filename, f.f_lineno)
    if len(_lines) >= _MAX_LINES:
        _lines.clear()
    _lines[key] = (code, src)
    return src


def format_src(src: tuple[str, int] | None) -> str:
    """'in file.py:42, ' for a (file, line) pair; '' when unknown."""
    if not src:
        return ""
    return f"in {os.path.basename(src[0])}:{src[1]}, "


class source_context:
    """Context manager used by IR interpreters: ``ctx.loc = eqn.src`` makes equations emitted
    while handling ``eqn`` point at the user's original line."""

    __slots__ = ("_saved",)

    def __enter__(self) -> source_context:
        self._saved = _tls.loc
        return self

    @property
    def loc(self) -> tuple[str, int] | None:
        return _tls.loc

    @loc.setter
    def loc(self, value: tuple[str, int] | None) -> None:
        # An outer override (an enclosing interpreter) wins: it names the user's line.
        if self._saved is None:
            _tls.loc = value

    def setter(self) -> Any:
        """A function ``set(loc)`` equivalent to ``ctx.loc = loc``, for interpreter loops
        (one call per equation, no property dispatch)."""
        if self._saved is None:
            return functools.partial(setattr, _tls, "loc")
        return _ignore

    def __exit__(self, *exc: Any) -> None:
        _tls.loc = self._saved


def _ignore(_value: Any) -> None:
    pass


def current_loc() -> tuple[str, int] | None:
    """The line an interpreter is re-emitting (set by :class:`source_context`), else None."""
    return _tls.loc


def current_phase() -> str | None:
    """The phase set by the innermost :class:`emit_phase` (``"backward"``), else None."""
    return _tls.phase


class emit_phase:
    """Context manager: equations recorded inside ``with emit_phase("backward"):`` carry
    ``eqn.phase == "backward"`` (reverse mode marks its backward pass this way, so pictures of
    a gradient's IR can tell the two passes apart). Outside, ``eqn.phase`` is ``None``."""

    __slots__ = ("_phase", "_saved")

    def __init__(self, phase: str | None) -> None:
        self._phase = phase

    def __enter__(self) -> emit_phase:
        self._saved = _tls.phase
        _tls.phase = self._phase
        return self

    def __exit__(self, *exc: Any) -> None:
        _tls.phase = self._saved


# Numpy warns (RuntimeWarning: divide by zero, invalid value in log, ...) on behalf of the
# innermost Python frame. Eager primitives run their numpy code from a tiny function compiled
# at the user's file and line, so such a warning names the user's line, and Python's once-per-
# line filtering works per user line rather than once for all of funcgrad.
_trampolines: dict[tuple[str, int], Any] = {}


def call_at(src: tuple[str, int] | None, fn: Any, args: Any, params: Any) -> Any:
    """``fn(*args, **params)``, called from a frame located at ``src`` (the user's line)."""
    if src is None:
        return fn(*args, **params)
    t = _trampolines.get(src)
    if t is None:
        filename, line = src
        code = "\n" * (max(line, 1) - 1) + "def _funcgrad_eager(f, a, p): return f(*a, **p)\n"
        stem = os.path.splitext(os.path.basename(filename))[0]
        g: dict[str, Any] = {"__name__": stem}
        exec(compile(code, filename, "exec"), g)
        t = _trampolines[src] = g["_funcgrad_eager"]
    return t(fn, args, params)
