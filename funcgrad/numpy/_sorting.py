"""Sorting and searching: sort, argsort, searchsorted, select, interp."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as _np
from numpy import bool_, float64

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import bind
from funcgrad.numpy._core import (
    _dtype,
    _ndim,
    _norm_axis,
    _operand,
    _shape,
    astype,
    result_type,
)
from funcgrad.numpy._elementwise import (
    add,
    clip,
    divide,
    equal,
    greater,
    less,
    multiply,
    subtract,
    where,
)
from funcgrad.numpy._shape import broadcast_to, ravel, take
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import numpy_extra as _nx

__all__ = ["partition", "argpartition", "argsort", "sort", "searchsorted", "select", "interp"]


def _sort_kind(kind: Any, stable: Any) -> Any:
    return "stable" if stable else kind


def argsort(
    a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
) -> Any:
    """``numpy.argsort`` (integer result: no derivative)."""
    if order is not None:
        raise LocatedNotImplementedError("argsort: order= (structured arrays) is not supported")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    return _nx.argsort(a, _norm_axis(axis, _ndim(a)), _sort_kind(kind, stable))


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    """``numpy.sort`` as ``take_along_axis(a, argsort(a))``: the gradient flows back through
    the permutation (ties: to the element numpy's stable order puts first)."""
    if order is not None:
        raise LocatedNotImplementedError("sort: order= (structured arrays) is not supported")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    return _nx.take_along_axis(a, _nx.argsort(a, ax, "stable"), ax)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """``numpy.searchsorted`` (integer result: no derivative)."""
    a = _operand(a)
    if sorter is not None:
        a = take(a, sorter)
    return _nx.searchsorted(a, _operand(v), side)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    if len(condlist) != len(choicelist):
        raise LocatedValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise LocatedValueError("select with an empty condition list is not possible")
    conds = [_operand(c) for c in condlist]
    for i, c in enumerate(conds):
        if _dtype(c) != bool_:
            raise LocatedTypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    choices = [_operand(c) for c in choicelist]
    dt = result_type(*choices, default)  # a Python scalar default is weakly typed, as numpy
    out = astype(_operand(default), dt)
    for c, x in zip(reversed(conds), reversed(choices)):
        out = bind(_ew.select_p, c, astype(x, dt), out)
    shape = _np.broadcast_shapes(*[_shape(x) for x in conds + choices], _shape(out))
    return broadcast_to(out, shape)


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """``numpy.interp``: piecewise-linear interpolation, differentiable in ``x``, ``xp`` and
    ``fp`` (the derivative in ``x`` jumps at the knots)."""
    if period is not None:
        raise LocatedNotImplementedError("interp: period= is not supported")
    x, xp, fp = _operand(x), _operand(xp), _operand(fp)
    if _ndim(xp) != 1 or _shape(xp) != _shape(fp):
        raise LocatedValueError("fp and xp are not of the same length.")
    n = _shape(xp)[0]
    if n == 0:
        raise LocatedValueError("array of sample points is empty")
    rt = result_type(x, xp, fp, float64)
    x, xp, fp = astype(x, rt), astype(xp, rt), astype(fp, rt)
    if n == 1:
        y = broadcast_to(fp[0], _shape(x))
    else:
        j = clip(subtract(searchsorted(xp, x, side="right"), 1), 0, n - 2)
        x0, x1 = take(xp, j), take(xp, add(j, 1))
        y0, y1 = take(fp, j), take(fp, add(j, 1))
        y = add(multiply(divide(subtract(y1, y0), subtract(x1, x0)), subtract(x, x0)), y0)
        y = where(equal(x, xp[n - 1]), fp[n - 1], y)
    y = where(less(x, xp[0]), fp[0] if left is None else left, y)
    return where(greater(x, xp[n - 1]), fp[n - 1] if right is None else right, y)


def _check_kth(a: Any, kth: Any, axis: Any, name: str) -> int:
    nd = _ndim(a)
    if nd == 0:
        raise LocatedValueError(f"{name}: a 0-d array cannot be partitioned")
    ax = _norm_axis(axis, nd)
    n = _shape(a)[ax]
    for k in _np.atleast_1d(_np.asarray(kth)).tolist():
        if not isinstance(k, int) or not -n <= k < n:
            raise LocatedValueError(f"{name}: kth={k!r} is out of bounds for an axis of size {n}")
    return ax


def partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """``numpy.partition``: the element at ``kth`` in its sorted place, smaller ones before,
    larger ones after. funcgrad returns the fully sorted array (which satisfies that contract
    for every ``kth``); the gradient follows the permutation."""
    if order is not None:
        raise LocatedNotImplementedError("partition: order= (structured arrays) is not supported")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    return sort(a, axis=_check_kth(a, kth, axis, "partition"))


def argpartition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Any:
    """``numpy.argpartition``: indices that partition ``a`` around ``kth`` (here: a stable
    ``argsort``, which satisfies the contract for every ``kth``). Integer result."""
    if order is not None:
        raise LocatedNotImplementedError(
            "argpartition: order= (structured arrays) is not supported"
        )
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    return argsort(a, axis=_check_kth(a, kth, axis, "argpartition"), stable=True)
