"""Named axes: the axes that ``vmap(..., axis_name=...)`` binds while it traces its function.

A frame is ``(name, size, token)``. The token is a tracer of the vmap's own trace, an extra
input of the traced function whose batched value is ``arange(size)``: the collectives of
:mod:`funcgrad.primitives.named_axis` take it as an operand. That operand is what sends a
collective to the right trace (dispatch stays data-dependent: a collective of a constant
still lands in the vmap's trace) and what tells a batching rule that the axis being batched
is the named one (the token is batched exactly by its own vmap).

Frames live on a thread-local stack, innermost last; an inner vmap binding the same name
shadows the outer one, as in JAX. A frame exists only while its vmap traces: using the name
afterwards, or outside any vmap, raises :class:`LocatedNameError`.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from funcgrad.core.errors import LocatedNameError

__all__ = ["AxisFrame", "bind_axis", "lookup", "bound_names"]


class AxisFrame:
    """One bound named axis."""

    __slots__ = ("name", "size", "token")

    def __init__(self, name: Hashable, size: int, token: Any) -> None:
        self.name = name
        self.size = size
        self.token = token

    def __repr__(self) -> str:
        return f"AxisFrame({self.name!r}, size={self.size})"


_local = threading.local()


def _stack() -> list[AxisFrame]:
    s = getattr(_local, "frames", None)
    if s is None:
        s = _local.frames = []
    return s


@contextmanager
def bind_axis(name: Hashable, size: int, token: Any) -> Iterator[AxisFrame]:
    """Bind ``name`` (size ``size``) for the duration of the ``with`` block."""
    frame = AxisFrame(name, size, token)
    stack = _stack()
    stack.append(frame)
    try:
        yield frame
    finally:
        stack.remove(frame)


def bound_names() -> tuple[Hashable, ...]:
    """The names bound here, outermost first."""
    return tuple(f.name for f in _stack())


def lookup(name: Hashable, what: str) -> AxisFrame:
    """The innermost frame binding ``name``; a :class:`LocatedNameError` naming the user's
    line if none does."""
    for f in reversed(_stack()):
        if f.name == name:
            return f
    bound = bound_names()
    where = (
        f"the axis names bound here are {', '.join(repr(n) for n in bound)}"
        if bound
        else "no axis name is bound here"
    )
    raise LocatedNameError(
        f"{what}: unbound axis name {name!r} ({where}). Named-axis collectives run inside a "
        f"vmap that binds the name: wrap the computation in vmap(..., axis_name={name!r})."
    )
