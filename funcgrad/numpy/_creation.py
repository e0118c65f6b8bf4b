"""Array creation: zeros/ones/full and their ``_like`` forms, ranges and grids (concrete
numpy arrays; the ``_like`` forms and ``full``'s fill value may be traced)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.numpy._core import _dtype, _is_tracer, _operand, _shape, astype
from funcgrad.numpy._shape import broadcast_to, ravel, reshape

__all__ = [
    "zeros",
    "ones",
    "full",
    "empty",
    "eye",
    "identity",
    "arange",
    "linspace",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "tri",
    "tril_indices",
    "triu_indices",
    "diag_indices",
    "geomspace",
    "logspace",
    "meshgrid",
]


# --- creation (concrete: no tracer involved) -------------------------------------------
def _static_shape(shape: Any) -> Any:
    """Sizes must be concrete: a traced size raises the clear 'use static_argnums' error."""
    if isinstance(shape, (tuple, list)):
        return tuple(operator.index(s) for s in shape)
    return operator.index(shape)


def zeros(shape: Any, dtype: Any = float, order: str = "C") -> Any:
    """numpy.zeros (a concrete array); sizes must be static under jit."""
    return _np.zeros(_static_shape(shape), dtype, order)


def ones(shape: Any, dtype: Any = None, order: str = "C") -> Any:
    """numpy.ones (a concrete array); sizes must be static under jit."""
    return _np.ones(_static_shape(shape), dtype, order)


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C") -> Any:
    """numpy.full; a traced fill value gives a traced array (broadcast of the value)."""
    shape = _static_shape(shape)
    if type(fill_value) is Tracer:
        out = broadcast_to(fill_value, shape if isinstance(shape, tuple) else (shape,))
        return out if dtype is None else astype(out, dtype)
    return _np.full(shape, fill_value, dtype, order)


empty = zeros  # never hand out uninitialised memory


eye = _np.eye


identity = _np.identity


arange = _np.arange


linspace = _np.linspace


def _like_shape(a: Any, shape: Any) -> tuple[int, ...]:
    if shape is None:
        return _shape(a)
    return (operator.index(shape),) if not isinstance(shape, (tuple, list)) else tuple(shape)


def zeros_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None, **kw: Any
) -> Any:
    """Concrete zeros with ``a``'s shape and dtype (``a`` may be traced: only its type is
    used, so the result carries no derivative)."""
    return _np.zeros(_like_shape(a, shape), dtype or _dtype(a))


def ones_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None, **kw: Any
) -> Any:
    return _np.ones(_like_shape(a, shape), dtype or _dtype(a))


empty_like = zeros_like  # never hand out uninitialised memory


def full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: Any = "K",
    subok: bool = True,
    shape: Any = None,
    **kw: Any,
) -> Any:
    """Like ``numpy.full_like``; a traced ``fill_value`` is broadcast (and differentiable)."""
    dt = dtype or _dtype(a)
    if _is_tracer(fill_value):
        return broadcast_to(astype(fill_value, dt), _like_shape(a, shape))
    return _np.full(_like_shape(a, shape), fill_value, dt)


# --- creation, part A (concrete) ----------------------------------------------------------
tri = _np.tri


tril_indices = _np.tril_indices


triu_indices = _np.triu_indices


diag_indices = _np.diag_indices


geomspace = _np.geomspace


logspace = _np.logspace


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    if indexing not in ("xy", "ij"):
        raise LocatedValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    xs = [ravel(_operand(x)) for x in xi]
    nd = len(xs)
    shapes = [_shape(x)[0] for x in xs]
    if indexing == "xy" and nd > 1:
        shapes[0], shapes[1] = shapes[1], shapes[0]
    out = []
    for i, x in enumerate(xs):
        pos = i
        if indexing == "xy" and nd > 1 and i < 2:
            pos = 1 - i
        shp = tuple(_shape(x)[0] if d == pos else 1 for d in range(nd))
        x = reshape(x, shp)
        out.append(x if sparse else broadcast_to(x, tuple(shapes)))
    return tuple(out)
