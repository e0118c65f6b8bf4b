"""Array creation: zeros/ones/full and their ``_like`` forms, ranges and grids (concrete
numpy arrays; the ``_like`` forms and ``full``'s fill value may be traced)."""

from __future__ import annotations

import functools as _functools
import operator
from typing import Any

import numpy as _np

from funcgrad.core.array import Array as _Array
from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _elementwise as _ew
from funcgrad.numpy._core import _dtype, _is_tracer, _operand, _shape, astype
from funcgrad.numpy._shape import broadcast_to, concatenate, moveaxis, ravel, reshape

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


def _num(num: Any, name: str) -> int:
    n = operator.index(num)
    if n < 0:
        raise LocatedValueError(f"{name}: number of samples, {n}, must be non-negative.")
    return n


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """``numpy.linspace``; traced ``start``/``stop`` give a traced (differentiable) result,
    ``num`` must be static. Endpoints are exact, as in numpy.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jvp(lambda b: fnp.linspace(0.0, b, 3), (2.0,), (1.0,))
    (Array([0., 1., 2.]), Array([0. , 0.5, 1. ]))
    """
    if not (_is_tracer(start) or _is_tracer(stop)):
        return _np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    n = _num(num, "linspace")
    start, stop = _operand(start), _operand(stop)
    dt = _np.result_type(_dtype(start), _dtype(stop), float)
    start, stop = astype(start, dt), astype(stop, dt)
    shape = _np.broadcast_shapes(_shape(start), _shape(stop))
    start, stop = broadcast_to(start, shape), broadcast_to(stop, shape)
    div = n - 1 if endpoint else n
    steps = _np.arange(n, dtype=_np.finfo(dt).dtype).reshape((n,) + (1,) * len(shape))
    delta = _ew.subtract(stop, start)
    if div > 0:
        step = _ew.divide(delta, float(div))
        y = _ew.add(start, _ew.multiply(steps, step))
    else:  # one sample (or none): numpy's step is NaN and the sample is start
        step = _np.full(shape, _np.nan, dt)[()]
        y = _ew.add(start, _ew.multiply(steps, delta))
    if endpoint and n > 1:
        y = concatenate([y[:-1], reshape(stop, (1,) + shape)], axis=0)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None:
        target = _np.dtype(dtype)
        if target.kind in "iu" and dt.kind == "f":
            y = _ew.floor(y)  # numpy rounds towards -inf for integer dtypes
        y = astype(y, target)
    return (y, step) if retstep else y


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


def logspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    base: Any = 10.0,
    dtype: Any = None,
    axis: int = 0,
) -> Any:
    """``numpy.logspace``: ``base ** linspace(start, stop)``; traced arguments allowed."""
    if not any(_is_tracer(a) for a in (start, stop, base)):
        return _np.logspace(start, stop, num, endpoint, base, dtype, axis)
    y = linspace(start, stop, num, endpoint, axis=axis)
    if _is_tracer(base) or _np.ndim(base):
        base = _operand(base)
        nd = len(_shape(y))
        base = (
            reshape(base, _shape(base)[: axis % nd] + (1,) + _shape(base)[axis % nd :])
            if (_shape(base))
            else base
        )
    out = _ew.power(base, y)
    return out if dtype is None else astype(out, dtype)


def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0
) -> Any:
    """``numpy.geomspace``; traced real ``start``/``stop`` of the same sign allowed (the
    endpoints are exact, as in numpy)."""
    if not (_is_tracer(start) or _is_tracer(stop)):
        return _np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = _operand(start), _operand(stop)
    if _np.result_type(_dtype(start), _dtype(stop)).kind == "c":
        raise LocatedNotImplementedError("geomspace: complex traced endpoints are not supported")
    s0 = start.val if _is_tracer(start) else start
    s1 = stop.val if _is_tracer(stop) else stop
    if s0 is not None and s1 is not None:
        if _np.any(_np.asarray(s0) == 0) or _np.any(_np.asarray(s1) == 0):
            raise LocatedValueError("Geometric sequence cannot include zero")
        if _np.any(_np.sign(s0) != _np.sign(s1)):
            raise LocatedNotImplementedError(
                "geomspace: endpoints of different signs (a complex result) are not supported "
                "for traced values"
            )
    n = _num(num, "geomspace")
    # abstract endpoints cannot be checked: zero or mixed signs give NaN, never a wrong number
    sign0 = _ew.sign(start)
    ok = _ew.logical_and(_ew.equal(sign0, _ew.sign(stop)), _ew.not_equal(sign0, 0))
    sign = _ew.where(ok, sign0, _np.nan)
    y = _ew.multiply(
        sign, _ew.exp(linspace(_ew.log(_ew.abs(start)), _ew.log(_ew.abs(stop)), n, endpoint))
    )
    shape = _shape(y)[1:]
    if n > 0:
        parts = [reshape(broadcast_to(start, shape), (1,) + shape)]
        if n > 1:
            last = stop if endpoint else None
            mid = y[1:-1] if endpoint else y[1:]
            parts.append(mid)
            if last is not None:
                parts.append(reshape(broadcast_to(stop, shape), (1,) + shape))
        y = concatenate(parts, axis=0)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    return y if dtype is None else astype(y, dtype)


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
        y = x if sparse else broadcast_to(x, tuple(shapes))
        # copy=True (numpy's default): concrete grids are writeable arrays, not broadcast views
        out.append(_np.array(y) if copy and not _is_tracer(y) else y)
    return tuple(out)


def _user_arrays(fn: Any) -> Any:
    """``fn`` whose concrete array results are funcgrad's :class:`Array` (a view, no copy)."""

    @_functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        t = type(out)
        if t is _np.ndarray:
            return out.view(_Array) if out.ndim else out
        if t is tuple or t is list:
            return t(x.view(_Array) if type(x) is _np.ndarray and x.ndim else x for x in out)
        return out

    return wrapped


for _name in __all__:
    globals()[_name] = _user_arrays(globals()[_name])
del _name
