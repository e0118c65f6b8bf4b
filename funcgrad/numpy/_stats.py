"""Statistics: ``cov``, ``corrcoef``, the NaN-ignoring ``nanargmax``/``nanargmin``/
``nanmedian``/``nanquantile``/``nanpercentile``, and the counting functions ``bincount``,
``digitize``, ``histogram``, ``histogram_bin_edges``, ``histogram2d``, ``histogramdd``.

``cov``/``corrcoef`` and the nan-quantiles are differentiable compositions (the quantiles
gather the neighbouring order statistics with traced positions, so they also run under
``jit``/``vmap``). Counts are integers (no derivative); weighted counts are differentiable in
the weights (a scatter-add); ``density=True`` is differentiable in the weights and, with
``range=None``, in the data through the bin edges.

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.bincount(np.array([0, 2, 2]))
Array([1, 0, 2])
"""

from __future__ import annotations

import builtins as _builtins
import operator
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _indexing
from funcgrad.numpy._core import _concrete, _dtype, _ndim, _operand, _shape, asarray, astype
from funcgrad.numpy._creation import linspace, zeros
from funcgrad.numpy._elementwise import (
    add,
    conj,
    divide,
    equal,
    floor,
    greater_equal,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    maximum,
    minimum,
    multiply,
    real,
    sqrt,
    subtract,
    where,
)
from funcgrad.numpy._indices import ravel_multi_index
from funcgrad.numpy._products import dot
from funcgrad.numpy._reductions import (
    _lerp,
    _move_axes_last,
    _quantile_q,
    _quantile_result,
    argmax,
    argmin,
    average,
    diff,
    max,
    min,
)
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import (
    atleast_2d,
    concatenate,
    diagonal,
    flip,
    ravel,
    reshape,
    take_along_axis,
    transpose,
)
from funcgrad.numpy._sorting import searchsorted, sort

__all__ = [
    "cov",
    "corrcoef",
    "nanargmax",
    "nanargmin",
    "nanmedian",
    "nanquantile",
    "nanpercentile",
    "bincount",
    "digitize",
    "histogram_bin_edges",
    "histogram",
    "histogram2d",
    "histogramdd",
]


def _float(x: Any) -> Any:
    dt = _dtype(x)
    return x if dt.kind in "fc" else astype(x, _np.float64)


def cov(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    dtype: Any = None,
) -> Any:
    """numpy's covariance matrix (rows are variables unless ``rowvar=False``); weights and
    ``ddof`` as numpy; differentiable in ``m``, ``y`` and ``aweights``."""
    x = atleast_2d(_float(_operand(m)))
    if _ndim(_operand(m)) > 2:
        raise LocatedValueError("cov: m has more than 2 dimensions")
    if not rowvar and _shape(x)[0] != 1:
        x = transpose(x)
    if y is not None:
        yy = atleast_2d(_float(_operand(y)))
        if not rowvar and _shape(yy)[0] != 1:
            yy = transpose(yy)
        x = concatenate([x, yy], axis=0)
    if dtype is not None:
        x = astype(x, dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        fw = _operand(fweights)
        if type(fw) is not Tracer and _np.any(_np.asarray(fw) < 0):
            raise LocatedValueError("cov: fweights cannot be negative")
        w = astype(fw, _np.float64)
    if aweights is not None:
        aw = _operand(aweights)
        w = aw if w is None else multiply(w, aw)
    avg, w_sum = average(x, axis=1, weights=w, returned=True)
    n = _shape(x)[1]
    if w is None:
        fact: Any = n - ddof
    elif ddof == 0:
        fact = w_sum[0]
    elif aweights is None:
        fact = w_sum[0] - ddof
    else:
        fact = w_sum[0] - ddof * _sum(multiply(w, _operand(aweights))) / w_sum[0]
    xc = subtract(x, reshape(avg, (-1, 1)))
    xw = xc if w is None else multiply(xc, w)
    c = divide(dot(xc, conj(transpose(xw))), fact)
    return reshape(c, ()) if _shape(c) == (1, 1) else c


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, dtype: Any = None) -> Any:
    """Pearson correlation coefficients (``cov`` normalised, real part clipped to [-1, 1]
    as numpy); differentiable."""
    c = cov(x, y, rowvar, dtype=dtype)
    if _ndim(c) == 0:
        return divide(c, c)
    d = sqrt(real(diagonal(c)))
    c = divide(divide(c, reshape(d, (-1, 1))), reshape(d, (1, -1)))
    if _dtype(c).kind == "c":
        return c
    return minimum(maximum(c, -1.0), 1.0)


def _nanarg(f: Any, fill: float, a: Any, axis: Any, keepdims: Any, name: str) -> Any:
    a = _operand(a)
    nan = isnan(a)
    out = f(where(nan, fill, a), axis=axis, keepdims=bool(keepdims))
    from funcgrad.numpy._reductions import all as _all

    all_nan = _all(nan, axis=axis, keepdims=bool(keepdims))
    return where(all_nan, -1, out)


def nanargmax(a: Any, axis: Any = None, out: Any = None, keepdims: Any = None) -> Any:
    """Index of the largest non-NaN value; an all-NaN slice gives -1 (as JAX; numpy raises)."""
    return _nanarg(argmax, -_np.inf, a, axis, keepdims, "nanargmax")


def nanargmin(a: Any, axis: Any = None, out: Any = None, keepdims: Any = None) -> Any:
    """Index of the smallest non-NaN value; an all-NaN slice gives -1 (as JAX; numpy raises)."""
    return _nanarg(argmin, _np.inf, a, axis, keepdims, "nanargmin")


def nanquantile(
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
    """``quantile`` ignoring NaNs (``method="linear"``, concrete ``q``); an all-NaN slice
    gives NaN. Sorting puts NaNs last; the two order statistics around each quantile are
    gathered at traced positions (the count of non-NaN values), so jit/vmap work and the
    gradient goes to those two elements."""
    if out is not None:
        raise LocatedValueError("nanquantile: out= is not supported (arrays are immutable)")
    if method != "linear" or weights is not None:
        raise LocatedNotImplementedError("nanquantile supports method='linear' only")
    qs = _quantile_q(q, "nanquantile")
    x, shape, axes = _move_axes_last(_float(_operand(a)), axis)
    n = _shape(x)[-1]
    if n == 0:
        raise LocatedValueError("nanquantile of an empty axis")
    s = sort(x, axis=-1)
    nv = _sum(logical_not(isnan(x)), axis=-1, keepdims=True)  # (..., 1)
    # pos, lo, hi, t and the gathered values are (..., nq), nq = q.size
    pos = multiply(astype(subtract(nv, 1), _dtype(s)), qs.ravel().astype(_dtype(s)))
    lo_f = floor(maximum(pos, 0.0))
    lo = astype(lo_f, _np.intp)
    hi = minimum(add(lo, 1), maximum(subtract(nv, 1), 0))
    t = subtract(pos, lo_f)
    lo_v = take_along_axis(s, minimum(lo, n - 1), axis=-1)
    hi_v = take_along_axis(s, minimum(hi, n - 1), axis=-1)
    r = where(equal(nv, 0), _np.nan, _lerp(lo_v, hi_v, t))
    return _quantile_result(r, qs.shape, shape, axes, keepdims)


def nanpercentile(
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
    """``percentile`` ignoring NaNs (see ``nanquantile``)."""
    qs = _np.asarray(_concrete(q, "nanpercentile's q"), dtype=_np.float64) / 100.0
    return nanquantile(a, qs, axis, out, overwrite_input, method, keepdims, weights=weights)


def nanmedian(
    a: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    keepdims: bool = False,
) -> Any:
    """``median`` ignoring NaNs (see ``nanquantile``)."""
    return nanquantile(a, 0.5, axis, out, overwrite_input, keepdims=keepdims)


def _scatter_add(length: int, idx: Any, vals: Any, dtype: Any) -> Any:
    return _indexing.IndexUpdateHelper(zeros((length,), dtype))[idx].add(astype(vals, dtype))


def bincount(x: Any, weights: Any = None, minlength: int = 0, *, length: Any = None) -> Any:
    """Counts (or summed ``weights``) of each non-negative integer in 1-D ``x``; integer
    counts, float64 weighted sums (numpy's dtypes), differentiable in ``weights``. The output
    length is ``max(x) + 1`` (at least ``minlength``) from concrete values, or ``length=``
    (JAX) under jit/vmap, where values ``>= length`` are dropped and negatives count as 0."""
    xs = _operand(x)
    if _ndim(xs) != 1:
        raise LocatedValueError("bincount: x must be 1-dimensional")
    if _dtype(xs).kind not in "biu":
        raise TypeError(f"bincount: x must be integer, got {_dtype(xs)}")
    abstract = type(xs) is Tracer and xs.val is None
    if not abstract:
        v = _np.asarray(xs.val if type(xs) is Tracer else xs)
        if v.size and v.min() < 0:
            raise LocatedValueError("bincount: 'x' must not contain negative values")
    if length is None:
        if abstract:
            _concrete(xs, "bincount without length=")
        v = _np.asarray(xs.val if type(xs) is Tracer else xs)
        length = _builtins.max(int(v.max()) + 1 if v.size else 0, operator.index(minlength))
    length = operator.index(length)
    dtype = _np.intp if weights is None else _np.result_type(_dtype(_operand(weights)), _np.float64)
    w = _np.ones(_shape(xs), _np.intp) if weights is None else _operand(weights)
    if length == 0:
        return zeros((0,), dtype)
    keep = less(xs, length)
    idx = where(keep, maximum(xs, 0), 0)
    return _scatter_add(length, idx, where(keep, w, 0), dtype)


def digitize(x: Any, bins: Any, right: bool = False, *, method: Any = None) -> Any:
    """Index of the bin each value falls in (numpy's rule for increasing or decreasing
    ``bins``; traceable). Integer result."""
    xs, b = _operand(x), _operand(bins)
    if _ndim(b) != 1:
        raise LocatedValueError("digitize: bins must be a 1-dimensional array")
    if type(b) is not Tracer:
        d = _np.diff(_np.asarray(b))
        if not (_np.all(d >= 0) or _np.all(d <= 0)):
            raise LocatedValueError("digitize: bins must be monotonically increasing or decreasing")
    side = "left" if right else "right"
    nb = _shape(b)[0]
    if nb == 0:
        return zeros(_shape(xs), _np.intp)
    inc = searchsorted(b, xs, side=side)
    dec = subtract(nb, searchsorted(flip(b), xs, side=side))
    return where(greater_equal(b[-1], b[0]), inc, dec)


def _edges(a: Any, bins: Any, range_: Any, weights: Any, name: str) -> Any:
    if isinstance(bins, str):
        if type(a) is Tracer or type(weights) is Tracer:
            raise LocatedNotImplementedError(
                f"{name}: string bins ({bins!r}) are supported on concrete numpy inputs only"
            )
        return asarray(_np.histogram_bin_edges(a, bins, range_, weights))
    if _np.ndim(bins) == 0 and type(bins) is not Tracer:
        nb = operator.index(bins)
        if nb < 1:
            raise LocatedValueError(f"{name}: bins must be a positive integer, got {nb}")
        if range_ is None:
            if _shape(a)[0] == 0:
                lo, hi = 0.0, 1.0
            else:
                lo, hi = min(a), max(a)
                if type(a) is not Tracer and not (_np.isfinite(lo) and _np.isfinite(hi)):
                    raise LocatedValueError(
                        f"{name}: autodetected range of [{lo}, {hi}] is not finite"
                    )
        else:
            lo, hi = range_
            if type(lo) is not Tracer and type(hi) is not Tracer and lo > hi:
                raise LocatedValueError("max must be larger than min in range parameter.")
        lo, hi = _float(_operand(lo)), _float(_operand(hi))
        same = equal(lo, hi)
        lo, hi = where(same, subtract(lo, 0.5), lo), where(same, add(hi, 0.5), hi)
        return linspace(lo, hi, nb + 1)
    e = _operand(bins)
    if _ndim(e) != 1:
        raise LocatedValueError(f"{name}: bins must be 1-d when given as an array")
    if type(e) is not Tracer and _np.any(_np.diff(_np.asarray(e)) < 0):
        raise LocatedValueError("bins must increase monotonically, when an array")
    return _float(e)


def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None, weights: Any = None) -> Any:  # noqa: A002
    """The bin edges ``histogram`` would use (traced data: ``linspace(min, max)``)."""
    return _edges(ravel(_operand(a)), bins, range, weights, "histogram_bin_edges")


def _bin_index(a: Any, edges: Any) -> tuple[Any, Any]:
    """numpy's bin of each value (the last bin is closed) and whether it lies in range."""
    nb = _shape(edges)[0] - 1
    idx = subtract(searchsorted(edges, a, side="right"), 1)
    idx = where(equal(a, edges[-1]), nb - 1, idx)
    inside = logical_and(greater_equal(a, edges[0]), less_equal(a, edges[-1]))
    return where(inside, idx, 0), inside


def _weights_dtype(weights: Any) -> Any:
    return _np.intp if weights is None else _dtype(_operand(weights))


def histogram(
    a: Any,
    bins: Any = 10,
    range: Any = None,
    weights: Any = None,
    density: Any = None,  # noqa: A002
) -> tuple[Any, Any]:
    """``(counts, edges)`` as numpy (uniform bins: ``linspace(min, max)`` of the data when
    ``range`` is None; a concrete or traced edge array otherwise)."""
    a = ravel(_operand(a))
    edges = _edges(a, bins, range, weights, "histogram")
    nb = _shape(edges)[0] - 1
    idx, inside = _bin_index(a, edges)
    w = _np.ones(_shape(a), _np.intp) if weights is None else ravel(_operand(weights))
    if weights is not None and _shape(w) != _shape(a):
        raise LocatedValueError("histogram: weights should have the same shape as a")
    dt = _weights_dtype(weights)
    counts = _scatter_add(nb, idx, where(inside, w, 0), dt)
    if density:
        counts = _float(counts)
        counts = divide(divide(counts, _sum(counts)), diff(edges))
    return counts, edges


def histogramdd(
    sample: Any,
    bins: Any = 10,
    range: Any = None,
    weights: Any = None,
    density: Any = None,  # noqa: A002
) -> tuple[Any, list[Any]]:
    """``(counts, [edges per dimension])`` for ``(N, D)`` samples."""
    s = _operand(sample)
    if _ndim(s) == 1:
        s = reshape(s, (-1, 1))
    n, dim = _shape(s)
    if isinstance(bins, (list, tuple)) or (_np.ndim(bins) == 1 and type(bins) is not Tracer):
        if len(bins) != dim:
            raise LocatedValueError(
                "histogramdd: the dimension of bins must equal the dimension of the sample x"
            )
        bl = list(bins)
    else:
        bl = [bins] * dim
    rl = list(range) if range is not None else [None] * dim
    edges, idxs = [], []
    inside: Any = True
    for i in _builtins.range(dim):
        col = s[:, i]
        e = _edges(col, bl[i], rl[i], None, "histogramdd")
        ix, ins = _bin_index(col, e)
        edges.append(e)
        idxs.append(ix)
        inside = ins if inside is True else logical_and(inside, ins)
    shape = tuple(_shape(e)[0] - 1 for e in edges)
    flat = ravel_multi_index(idxs, shape, mode="clip")
    w = _np.ones((n,), _np.intp) if weights is None else ravel(_operand(weights))
    counts = _scatter_add(int(_np.prod(shape)), flat, where(inside, w, 0), _weights_dtype(weights))
    counts = astype(reshape(counts, shape), _np.float64)  # numpy's histogramdd counts in float
    if density:
        counts = _float(counts)
        counts = divide(counts, _sum(counts))
        for i, e in enumerate(edges):
            wshape = [1] * dim
            wshape[i] = -1
            counts = divide(counts, reshape(diff(e), tuple(wshape)))
    return counts, edges


def histogram2d(
    x: Any,
    y: Any,
    bins: Any = 10,
    range: Any = None,
    weights: Any = None,
    density: Any = None,  # noqa: A002
) -> tuple[Any, Any, Any]:
    """``(counts, xedges, yedges)`` of two 1-D samples."""
    from funcgrad.numpy._core import stack

    if _np.ndim(bins) == 1 and not isinstance(bins, list) and len(bins) != 2:
        bins = [bins, bins]
    elif isinstance(bins, list) and len(bins) != 2:
        bins = [bins, bins]
    h, e = histogramdd(stack([_operand(x), _operand(y)], axis=1), bins, range, weights, density)
    return h, e[0], e[1]
