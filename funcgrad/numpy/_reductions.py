"""Reductions: sum, mean, max/min, var/std, prod, cumulative sums and products, nan-aware
forms, all/any, median/quantile/percentile, average, diff, trace, allclose."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as _np
from numpy import bool_, float64

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import bind
from funcgrad.numpy._core import (
    _concrete,
    _dtype,
    _ndim,
    _norm_axes,
    _norm_axis,
    _operand,
    _shape,
    astype,
    result_type,
    size,
)
from funcgrad.numpy._elementwise import (
    _no_out,
    add,
    conj,
    divide,
    isclose,
    isnan,
    logical_not,
    multiply,
    not_equal,
    real,
    sqrt,
    square,
    subtract,
    where,
)
from funcgrad.numpy._shape import (
    atleast_1d,
    broadcast_to,
    concatenate,
    diagonal,
    moveaxis,
    ravel,
    reshape,
    take,
)
from funcgrad.numpy._sorting import sort
from funcgrad.primitives import numpy_extra as _nx
from funcgrad.primitives import reductions as _red
from funcgrad.primitives import structural as _st
from funcgrad.primitives.structural import Slice

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "var",
    "std",
    "argmax",
    "argmin",
    "prod",
    "cumsum",
    "cumprod",
    "cumulative_sum",
    "cumulative_prod",
    "nancumsum",
    "nancumprod",
    "all",
    "any",
    "ptp",
    "diff",
    "gradient",
    "median",
    "quantile",
    "percentile",
    "average",
    "nansum",
    "nanprod",
    "nanmean",
    "nanvar",
    "nanstd",
    "nanmax",
    "nanmin",
    "trace",
    "allclose",
]


# --- reductions ------------------------------------------------------------------------
def _keep(out: Any, x_shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    if not keepdims:
        return out
    return _st.reshape(out, tuple(1 if i in axes else s for i, s in enumerate(x_shape)))


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    a = _operand(a)
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    return _keep(bind(_st.reduce_sum_p, a, axes=axes), shape, axes, keepdims)


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    n = 1
    for i in axes:
        n *= shape[i]
    total = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
    if _dtype(total).kind not in "fc":
        total = astype(total, float64)
    return divide(total, float(n))


def _extremum(prim: Any, a: Any, axis: Any, keepdims: bool, name: str) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    for i in axes:
        if shape[i] == 0:
            raise LocatedValueError(
                f"zero-size array to reduction operation {name} which has no identity"
            )
    return _keep(bind(prim, a, axes=axes), shape, axes, keepdims)


def max(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return _extremum(_red.reduce_max_p, a, axis, keepdims, "maximum")


def min(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return _extremum(_red.reduce_min_p, a, axis, keepdims, "minimum")


amax, amin = max, min


def var(a: Any, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    n = 1
    for i in axes:
        n *= shape[i]
    centered = subtract(a, mean(a, axis=axes, dtype=dtype, keepdims=True))
    return divide(sum(_abs2(centered), axis=axes, keepdims=keepdims), float(n - ddof))


def _abs2(x: Any) -> Any:
    """``|x|**2``: ``x*x`` for reals, ``Re(x·conj(x))`` (a real array) for complex (numpy's
    variance of complex numbers)."""
    if _dtype(x).kind == "c":
        return real(multiply(x, conj(x)))
    return square(x)


def std(a: Any, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _argext(prim: Any, a: Any, axis: Any, keepdims: bool) -> Any:
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    shape = _shape(a)
    ax = _norm_axis(axis, len(shape))
    out = bind(prim, a, axis=ax)
    return _keep(out, shape, (ax,), keepdims)


def argmax(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _argext(_red.argmax_p, a, axis, keepdims)


def argmin(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _argext(_red.argmin_p, a, axis, keepdims)


# --- reductions, part A ------------------------------------------------------------------
def _masked(a: Any, where_: Any, fill: Any) -> Any:
    return a if where_ is None or where_ is True else where(where_, a, fill)


def prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = None,
) -> Any:
    """``numpy.prod``. Its gradient is the product of the *other* elements (computed without
    division), so it is exact when inputs contain zeros, at every order."""
    _no_out(out, "prod")
    a = _masked(_operand(a), where, 1)
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    r = _keep(bind(_nx.reduce_prod_p, a, axes=axes), shape, axes, keepdims)
    return r if initial is None else multiply(r, initial)


def _as_reduced_dtype(a: Any, dtype: Any, like: Any) -> Any:
    if dtype is not None:
        return astype(a, dtype)
    return astype(a, like(_np.ones((1,), _dtype(a))).dtype)


def _scan_axis(a: Any, axis: Any) -> tuple[Any, int]:
    if axis is None:
        return ravel(a), 0
    return a, _norm_axis(axis, _ndim(a))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumsum``; its VJP is the reversed cumsum."""
    _no_out(out, "cumsum")
    a, ax = _scan_axis(_operand(a), axis)
    if dtype is not None:
        a = astype(a, dtype)
    return _nx.cumsum(a, ax)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumprod`` as a log-depth scan of multiplications: exact derivatives at every
    order, zeros included; values equal numpy's up to floating-point rounding (the
    multiplication order differs)."""
    _no_out(out, "cumprod")
    a, ax = _scan_axis(_operand(a), axis)
    a = _as_reduced_dtype(a, dtype, _np.cumprod)
    return _nx.cumprod(a, ax)


def _with_initial(r: Any, axis: int, value: int) -> Any:
    shape = list(_shape(r))
    shape[axis] = 1
    return concatenate([_np.full(shape, value, _dtype(r)), r], axis=axis)


def _cumulative_axis(x: Any, axis: Any, name: str) -> int:
    if axis is None:
        if _ndim(x) != 1:
            raise LocatedValueError(
                f"{name}: axis must be specified for arrays with more than one axis"
            )
        return 0
    return _norm_axis(axis, _ndim(x))


def cumulative_sum(
    x: Any,
    /,
    *,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    include_initial: bool = False,
) -> Any:
    x = atleast_1d(_operand(x))
    ax = _cumulative_axis(x, axis, "cumulative_sum")
    r = cumsum(x, ax, dtype, out)
    return _with_initial(r, ax, 0) if include_initial else r


def cumulative_prod(
    x: Any,
    /,
    *,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    include_initial: bool = False,
) -> Any:
    x = atleast_1d(_operand(x))
    ax = _cumulative_axis(x, axis, "cumulative_prod")
    r = cumprod(x, ax, dtype, out)
    return _with_initial(r, ax, 1) if include_initial else r


def _is_float(x: Any) -> bool:
    return _dtype(x).kind in "fc"


def _nan_fill(a: Any, fill: Any) -> Any:
    return where(isnan(a), fill, a) if _is_float(a) else a


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumsum(_nan_fill(_operand(a), 0), axis, dtype, out)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumprod(_nan_fill(_operand(a), 1), axis, dtype, out)


def _bool_reduce(
    prim: Any, a: Any, axis: Any, out: Any, keepdims: bool, where_: Any, empty: bool, name: str
) -> Any:
    _no_out(out, name)
    a = _operand(a)
    b = a if _dtype(a) == bool_ else not_equal(a, 0)
    b = _masked(b, where_, empty)
    shape = _shape(b)
    axes = _norm_axes(axis, len(shape))
    if builtins.any(shape[i] == 0 for i in axes):
        r = _np.full(tuple(s for i, s in enumerate(shape) if i not in axes), empty)
    else:
        r = bind(prim, b, axes=axes)
    return _keep(r, shape, axes, keepdims)


def all(  # noqa: A001 - numpy's name
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None
) -> Any:
    return _bool_reduce(_red.reduce_min_p, a, axis, out, keepdims, where, True, "all")


def any(  # noqa: A001 - numpy's name
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None
) -> Any:
    return _bool_reduce(_red.reduce_max_p, a, axis, out, keepdims, where, False, "any")


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    _no_out(out, "ptp")
    return subtract(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """``numpy.diff`` by slicing (boolean arrays: ``!=``, as numpy)."""
    a = _operand(a)
    nd = _ndim(a)
    if nd == 0:
        raise LocatedValueError("diff requires input that is at least one dimensional")
    if n < 0:
        raise LocatedValueError(f"order must be non-negative but got {n!r}")
    ax = _norm_axis(axis, nd)
    parts = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        ex = _operand(extra)
        if _ndim(ex) == 0:
            shp = list(_shape(a))
            shp[ax] = 1
            ex = broadcast_to(ex, tuple(shp))
        parts.append(ex)
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    for _ in range(n):
        m = _shape(a)[ax]
        hi = _st.getitem(a, _nx.axis_index(nd, ax, Slice(1, None, None)))
        lo = _st.getitem(a, _nx.axis_index(nd, ax, Slice(None, builtins.max(m - 1, 0), None)))
        a = not_equal(hi, lo) if _dtype(a) == bool_ else subtract(hi, lo)
    return a


def _gradient_axis(f: Any, ax: int, h: Any, edge_order: int) -> Any:
    nd = _ndim(f)
    n = _shape(f)[ax]
    if n < edge_order + 1:
        raise LocatedValueError(
            "Shape of array too small to calculate a numerical gradient, at least "
            f"(edge_order + 1) = {edge_order + 1} elements are required."
        )

    def part(start: Any, stop: Any) -> Any:
        return _st.getitem(f, _nx.axis_index(nd, ax, Slice(start, stop, None)))

    def along(c: Any) -> Any:  # a 1-D coefficient array placed along ``ax``
        c = _np.asarray(c, dtype=float64)
        return c.reshape(tuple(-1 if i == ax else 1 for i in range(nd)))

    if _np.ndim(h) == 0:
        dx = _np.full(n - 1, float(h))
    else:
        x = _np.asarray(h, dtype=float64)
        if x.shape != (n,):
            raise LocatedValueError(
                f"gradient: coordinates of shape {x.shape} must match the axis length {n}"
            )
        dx = _np.diff(x)
    pieces = []
    d1, d2 = dx[:-1], dx[1:]
    # interior: second-order central differences (non-uniform spacing as numpy)
    a = -d2 / (d1 * (d1 + d2))
    b = (d2 - d1) / (d1 * d2)
    c = d1 / (d2 * (d1 + d2))
    if n > 2:
        inner = add(
            add(multiply(along(a), part(0, n - 2)), multiply(along(b), part(1, n - 1))),
            multiply(along(c), part(2, None)),
        )
    if edge_order == 1:
        first = divide(subtract(part(1, 2), part(0, 1)), dx[0])
        last = divide(subtract(part(n - 1, None), part(n - 2, n - 1)), dx[-1])
    else:
        e1, e2 = dx[0], dx[1]
        first = add(
            add(
                multiply(-(2.0 * e1 + e2) / (e1 * (e1 + e2)), part(0, 1)),
                multiply((e1 + e2) / (e1 * e2), part(1, 2)),
            ),
            multiply(-e1 / (e2 * (e1 + e2)), part(2, 3)),
        )
        e1, e2 = dx[-2], dx[-1]
        last = add(
            add(
                multiply(e2 / (e1 * (e1 + e2)), part(n - 3, n - 2)),
                multiply(-(e2 + e1) / (e1 * e2), part(n - 2, n - 1)),
            ),
            multiply((2.0 * e2 + e1) / (e2 * (e1 + e2)), part(n - 1, None)),
        )
    pieces = [first] + ([inner] if n > 2 else []) + [last]
    return concatenate(pieces, axis=ax)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """``numpy.gradient``: second-order central differences inside, first- or second-order
    one-sided differences at the edges; spacing as scalars or coordinate arrays per axis (both
    concrete). Returns an array for one axis, else a tuple (numpy 2). Differentiable w.r.t.
    ``f``."""
    f = _operand(f)
    nd = _ndim(f)
    if nd == 0:
        raise LocatedValueError("gradient requires an array of at least one dimension")
    if edge_order not in (1, 2):
        raise LocatedValueError("'edge_order' greater than 2 not supported")
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(_norm_axis(a, nd) for a in axis)
    else:
        axes = (_norm_axis(axis, nd),)
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and _np.ndim(varargs[0]) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise LocatedTypeError("invalid number of arguments")
    if not _np.issubdtype(_dtype(f), _np.inexact):
        f = astype(f, float64)
    out = [_gradient_axis(f, ax, h, edge_order) for ax, h in zip(axes, spacing)]
    return out[0] if len(out) == 1 else tuple(out)


def _move_axes_last(a: Any, axis: Any) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """Move the reduced ``axis`` (None, int or tuple) to one trailing axis."""
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    x = _st.transpose(a, tuple(kept + list(axes)))
    x = reshape(x, tuple(shape[i] for i in kept) + (-1,)) if len(axes) != 1 else x
    return x, shape, axes


def median(
    a: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    keepdims: bool = False,
) -> Any:
    """``numpy.median`` via ``sort``: the gradient goes to the middle element (split evenly
    between the two middle elements for even sizes); NaN anywhere gives NaN, as numpy."""
    _no_out(out, "median")
    x, shape, axes = _move_axes_last(_operand(a), axis)
    n = _shape(x)[-1]
    s = sort(x, axis=-1)
    nd = _ndim(s)
    mid = _st.getitem(s, _nx.axis_index(nd, nd - 1, Slice((n - 1) // 2, n // 2 + 1, None)))
    r = mean(mid, axis=-1)
    if _is_float(s) and n:
        last = _st.getitem(s, _nx.axis_index(nd, nd - 1, Slice(n - 1, n, None)))
        r = where(isnan(reshape(last, _shape(r))), _np.nan, r)
    return _keep(r, shape, axes, keepdims)


def quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    """``numpy.quantile`` with ``method="linear"`` and concrete ``q``, via ``sort``; the
    gradient goes to the two order statistics around each quantile."""
    _no_out(out, "quantile")
    if method != "linear" or weights is not None:
        raise LocatedNotImplementedError("funcgrad.numpy.quantile supports method='linear' only")
    qs = _quantile_q(q, "quantile")
    x, shape, axes = _move_axes_last(_operand(a), axis)
    weak_q = isinstance(q, (int, float)) and not isinstance(q, bool)
    x = astype(
        x,
        _np.result_type(
            result_type(x, float64) if not _is_float(x) else _dtype(x), q if weak_q else qs
        ),
    )
    n = _shape(x)[-1]
    s = sort(x, axis=-1)
    pos = qs.ravel() * (n - 1)
    lo = _np.floor(pos).astype(_np.intp)
    hi = _np.minimum(lo + 1, n - 1)
    t = (pos - lo).astype(_dtype(s))
    lo_v, hi_v = take(s, lo, axis=-1), take(s, hi, axis=-1)  # (..., len(q))
    r = _lerp(lo_v, hi_v, t)
    return _quantile_result(r, qs.shape, shape, axes, keepdims)


def _quantile_q(q: Any, name: str) -> _np.ndarray:
    """``q`` of ``quantile``-like function ``name`` as a float64 array, checked in [0, 1]."""
    qs = _np.asarray(_concrete(q, f"{name}'s q"), dtype=float64)
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise LocatedValueError("Quantiles must be in the range [0, 1]")
    return qs


def _lerp(lo_v: Any, hi_v: Any, t: Any) -> Any:
    """``lo_v + t * (hi_v - lo_v)`` as numpy's quantile computes it (from ``hi_v`` down when
    ``t >= 0.5``, so ``t = 1`` gives ``hi_v`` exactly)."""
    d = subtract(hi_v, lo_v)
    return where(t >= 0.5, subtract(hi_v, multiply(d, 1 - t)), add(lo_v, multiply(d, t)))


def _quantile_result(
    r: Any, q_shape: tuple[int, ...], shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool
) -> Any:
    """Lay out ``r`` of shape ``(kept..., q.size)`` (from ``_move_axes_last``) as numpy's
    quantile result: ``q_shape + kept shape`` (reduced axes kept as 1 when ``keepdims``)."""
    if keepdims:
        kshape = tuple(1 if i in axes else sz for i, sz in enumerate(shape))
    else:
        kshape = tuple(sz for i, sz in enumerate(shape) if i not in axes)
    r = moveaxis(reshape(r, kshape + (int(_np.prod(q_shape, dtype=_np.int64)),)), -1, 0)
    return reshape(r, tuple(q_shape) + kshape)


def percentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    if isinstance(q, (int, float)) and not isinstance(q, bool):
        qs: Any = float(q) / 100.0  # a Python scalar stays weakly typed, as in numpy
    else:
        qs = _np.asarray(_concrete(q, "percentile's q"), dtype=float64) / 100.0
    return quantile(a, qs, axis, out, overwrite_input, method, keepdims, weights=weights)


def average(
    a: Any,
    axis: Any = None,
    weights: Any = None,
    returned: bool = False,
    *,
    keepdims: bool = False,
) -> Any:
    """``numpy.average``: ``sum(a * w) / sum(w)`` (1-D weights along ``axis`` broadcast)."""
    a = _operand(a)
    nd = _ndim(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = size(a) // builtins.max(size(avg), 1) if size(a) else 0
        return avg, _np.full(_shape(avg), n, _dtype(avg))
    w = _operand(weights)
    if _shape(w) != _shape(a):
        if axis is None:
            raise LocatedTypeError("Axis must be specified when shapes of a and weights differ.")
        if _ndim(w) != 1:
            raise LocatedTypeError("1D weights expected when shapes of a and weights differ.")
        ax = _norm_axis(axis, nd)
        if _shape(w)[0] != _shape(a)[ax]:
            raise LocatedValueError("Length of weights not compatible with specified axis.")
        w = reshape(w, tuple(_shape(w)[0] if i == ax else 1 for i in range(nd)))
    rdt = result_type(a, w)
    if rdt.kind in "iub":
        rdt = result_type(rdt, float64)
    scl = sum(astype(w, rdt), axis=axis, keepdims=keepdims)
    avg = divide(sum(multiply(astype(a, rdt), astype(w, rdt)), axis=axis, keepdims=keepdims), scl)
    if not returned:
        return avg
    return avg, broadcast_to(scl, _shape(avg))


def nansum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    _no_out(out, "nansum")
    return sum(_nan_fill(_operand(a), 0), axis=axis, dtype=dtype, keepdims=keepdims)


def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    return prod(_nan_fill(_operand(a), 1), axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def _nan_count(a: Any, axis: Any, keepdims: bool) -> Any:
    return sum(astype(logical_not(isnan(a)), _dtype(a)), axis=axis, keepdims=keepdims)


def nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """Mean over the non-NaN entries; NaN entries get zero gradient."""
    _no_out(out, "nanmean")
    a = _operand(a)
    if not _is_float(a):
        return mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    if dtype is not None:
        a = astype(a, dtype)
    return divide(nansum(a, axis=axis, keepdims=keepdims), _nan_count(a, axis, keepdims))


def nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    _no_out(out, "nanvar")
    a = _operand(a)
    if not _is_float(a):
        return var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    if dtype is not None:
        a = astype(a, dtype)
    centered = _nan_fill(subtract(a, nanmean(a, axis=axis, keepdims=True)), 0)
    ssq = sum(_abs2(centered), axis=axis, keepdims=keepdims)
    return divide(ssq, subtract(real(_nan_count(a, axis, keepdims)), ddof))


def nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    return sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims))


def _nan_extremum(f: Any, fill: float, a: Any, axis: Any, out: Any, keepdims: bool) -> Any:
    _no_out(out, f.__name__)
    a = _operand(a)
    if not _is_float(a):
        return f(a, axis=axis, keepdims=keepdims)
    r = f(where(isnan(a), fill, a), axis=axis, keepdims=keepdims)
    return where(all(isnan(a), axis=axis, keepdims=keepdims), _np.nan, r)


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return _nan_extremum(max, -_np.inf, a, axis, out, keepdims)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return _nan_extremum(min, _np.inf, a, axis, out, keepdims)


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    _no_out(out, "trace")
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Any:
    return all(isclose(a, b, rtol, atol, equal_nan))
