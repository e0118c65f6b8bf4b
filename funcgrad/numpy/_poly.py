"""Polynomials (coefficient arrays, highest power first, as numpy): ``polyval``,
``polyadd``/``polysub``/``polymul``/``polydiv``, ``polyder``/``polyint``, ``poly``,
``polyfit``, ``vander``, ``roots``, and ``trim_zeros``.

All but ``roots`` are differentiable compositions (Horner's rule, ``convolve``, long division
with ``.at`` updates, least squares through the pseudo-inverse). ``polydiv`` follows JAX: the
remainder keeps the dividend's length (numpy trims its leading zeros, a value-dependent
shape); ``trim_leading_zeros=True`` trims concrete values as numpy does.

>>> import funcgrad.numpy as fnp
>>> fnp.polyval([1.0, 0.0, -2.0], 3.0)
np.float64(7.0)
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _indexing, _linalg
from funcgrad.numpy._core import _concrete, _dtype, _ndim, _operand, _shape, asarray, astype
from funcgrad.numpy._creation import zeros
from funcgrad.numpy._elementwise import add, divide, multiply, negative, power, sqrt, subtract
from funcgrad.numpy._products import convolve, dot, outer
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import concatenate, reshape, transpose

__all__ = [
    "polyval",
    "polyadd",
    "polysub",
    "polymul",
    "polydiv",
    "polyder",
    "polyint",
    "poly",
    "polyfit",
    "vander",
    "roots",
    "trim_zeros",
]


def _poly1d(p: Any, name: str) -> Any:
    p = _operand(p)
    if _ndim(p) == 0:
        p = reshape(p, (1,))
    if _ndim(p) != 1:
        raise LocatedValueError(f"{name}: polynomial coefficients must be 1-d")
    return p


def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """Evaluate ``p`` at ``x`` by Horner's rule (differentiable in both)."""
    p = _poly1d(p, "polyval")
    x = _operand(x)
    n = _shape(p)[0]
    dt = _np.result_type(_dtype(p), _dtype(x))
    y = zeros(_shape(x), dt)
    for i in range(n):
        y = add(multiply(y, x), p[i])
    return y


def _pad_front(a: Any, n: int) -> Any:
    k = _shape(a)[0]
    return a if k == n else concatenate([zeros((n - k,), _dtype(a)), a])


def polyadd(a1: Any, a2: Any) -> Any:
    """Sum of two polynomials."""
    a1, a2 = _poly1d(a1, "polyadd"), _poly1d(a2, "polyadd")
    n = max(_shape(a1)[0], _shape(a2)[0])
    return add(_pad_front(a1, n), _pad_front(a2, n))


def polysub(a1: Any, a2: Any) -> Any:
    """Difference of two polynomials."""
    a1, a2 = _poly1d(a1, "polysub"), _poly1d(a2, "polysub")
    n = max(_shape(a1)[0], _shape(a2)[0])
    return subtract(_pad_front(a1, n), _pad_front(a2, n))


def polymul(a1: Any, a2: Any, *, trim_leading_zeros: bool = False) -> Any:
    """Product of two polynomials (``convolve``)."""
    a1, a2 = _poly1d(a1, "polymul"), _poly1d(a2, "polymul")
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if _shape(a1)[0] == 0 or _shape(a2)[0] == 0:
        return zeros((1,), _np.result_type(_dtype(a1), _dtype(a2)))
    return convolve(a1, a2)


def polydiv(u: Any, v: Any, *, trim_leading_zeros: bool = False) -> tuple[Any, Any]:
    """Quotient and remainder of ``u / v`` (long division; differentiable). The remainder has
    ``len(u)`` entries (JAX) unless ``trim_leading_zeros=True`` (numpy's trimmed form)."""
    u, v = _poly1d(u, "polydiv"), _poly1d(v, "polydiv")
    dt = _np.result_type(_dtype(u), _dtype(v), _np.float64)
    u, v = astype(u, dt), astype(v, dt)
    m, n = _shape(u)[0] - 1, _shape(v)[0] - 1
    scale = divide(1.0, v[0])
    q = zeros((max(m - n + 1, 1),), dt)
    r = u
    for k in range(m - n + 1):
        d = multiply(scale, r[k])
        q = _indexing.IndexUpdateHelper(q)[k].set(d)
        r = _indexing.IndexUpdateHelper(r)[k : k + n + 1].add(negative(multiply(d, v)))
    if trim_leading_zeros:
        rv = _np.asarray(_concrete(r, "polydiv(trim_leading_zeros=True)"))
        i = 0
        while i < rv.shape[0] - 1 and _np.allclose(rv[i], 0, rtol=1e-14):
            i += 1
        r = r[i:]
    return q, r


def polyder(p: Any, m: int = 1) -> Any:
    """Derivative of order ``m``."""
    m = operator.index(m)
    if m < 0:
        raise LocatedValueError("polyder: order of derivative must be positive (see polyint)")
    p = _poly1d(p, "polyder")
    for _ in range(m):
        n = _shape(p)[0] - 1
        if n <= 0:
            return p[:0]
        p = multiply(p[:-1], _np.arange(n, 0, -1))
    return p


def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """Antiderivative of order ``m`` with integration constants ``k`` (default 0)."""
    m = operator.index(m)
    if m < 0:
        raise LocatedValueError("polyint: order of integral must be positive (see polyder)")
    p = _poly1d(p, "polyint")
    ks = _operand(0.0 if k is None else k)
    ks = reshape(ks, (1,)) if _ndim(ks) == 0 else ks
    if _shape(ks)[0] == 1 and m > 1:
        ks = concatenate([ks] * m)
    if _shape(ks)[0] < m:
        raise LocatedValueError("polyint: k must be a scalar or a rank-1 array of length m")
    dt = _np.result_type(_dtype(p), _dtype(ks), _np.float64)
    p = astype(p, dt)
    for i in range(m):
        n = _shape(p)[0]
        p = concatenate([divide(p, _np.arange(n, 0, -1)), astype(reshape(ks[i], (1,)), dt)])
    return p


def poly(seq_of_zeros: Any) -> Any:
    """Coefficients of the monic polynomial with the given roots (differentiable). A square
    matrix gives its characteristic polynomial (concrete matrices only)."""
    z = _operand(seq_of_zeros)
    if _ndim(z) == 2 and _shape(z)[0] == _shape(z)[1] and _shape(z)[0] != 0:
        if type(z) is Tracer:
            raise LocatedNotImplementedError(
                "poly of a traced square matrix needs general eigenvalues, which funcgrad does "
                "not differentiate; pass its eigenvalues instead"
            )
        return asarray(_np.poly(z))
    if _ndim(z) not in (0, 1):
        raise LocatedValueError("poly: input must be 1d or non-empty square 2d array")
    z = reshape(z, (-1,))
    dt = _np.result_type(_dtype(z), _np.float64)
    a = asarray(_np.ones((1,), dt))
    for i in range(_shape(z)[0]):
        a = convolve(
            a, concatenate([_np.ones((1,), dt), reshape(negative(astype(z[i], dt)), (1,))])
        )
    if dt.kind == "c" and type(z) is not Tracer:
        zv = _np.asarray(z)
        pos = _np.sort(zv[zv.imag > 0])
        neg = _np.sort(_np.conjugate(zv[zv.imag < 0]))
        if len(pos) == len(neg) and _np.all(neg == pos):
            return asarray(_np.asarray(a).real.copy())
    return a


def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:  # noqa: N803
    """Vandermonde matrix ``x[:, None] ** powers`` (differentiable in ``x``)."""
    x = _operand(x)
    if _ndim(x) != 1:
        raise LocatedValueError("vander: x must be a one-dimensional array or sequence")
    n = _shape(x)[0] if N is None else operator.index(N)
    pw = _np.arange(n) if increasing else _np.arange(n - 1, -1, -1)
    if n == 0:
        return zeros((_shape(x)[0], 0), _dtype(x))
    return power(reshape(x, (-1, 1)), pw)


def polyfit(
    x: Any,
    y: Any,
    deg: int,
    rcond: Any = None,
    full: bool = False,
    w: Any = None,
    cov: Any = False,
) -> Any:
    """Least-squares polynomial fit, numpy's algorithm (column-scaled Vandermonde matrix,
    ``lstsq``); differentiable in ``x``, ``y`` and ``w``."""
    order = operator.index(deg) + 1
    x, y = _operand(x), _operand(y)
    dt = _np.result_type(_dtype(x), _dtype(y), _np.float64)
    x, y = astype(x, dt), astype(y, dt)
    if deg < 0:
        raise LocatedValueError("polyfit: expected deg >= 0")
    if _ndim(x) != 1 or _shape(x)[0] == 0:
        raise LocatedValueError("polyfit: expected a non-empty 1-D vector for x")
    if _ndim(y) not in (1, 2) or _shape(y)[0] != _shape(x)[0]:
        raise LocatedValueError("polyfit: expected a 1-D or 2-D y with len(x) rows")
    if rcond is None:
        rcond = _shape(x)[0] * float(_np.finfo(dt).eps)
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = _operand(w)
        lhs = multiply(lhs, reshape(w, (-1, 1)))
        rhs = multiply(rhs, w if _ndim(rhs) == 1 else reshape(w, (-1, 1)))
    scale = sqrt(_sum(multiply(lhs, lhs), axis=0))
    lhs = divide(lhs, scale)
    c, resids, rank, s = _linalg.lstsq(lhs, rhs, rcond)
    c = divide(c, scale) if _ndim(c) == 1 else transpose(divide(transpose(c), scale))
    if full:
        return c, resids, rank, s, rcond
    if cov:
        vbase = _linalg.inv(dot(transpose(lhs), lhs))
        vbase = divide(vbase, outer(scale, scale))
        if cov == "unscaled":
            fac: Any = 1.0
        else:
            if _shape(x)[0] <= order:
                raise LocatedValueError(
                    "the number of data points must exceed order to scale the covariance matrix"
                )
            fac = divide(resids, _shape(x)[0] - order)
        if _ndim(y) == 1:
            return c, multiply(vbase, fac)
        return c, multiply(reshape(vbase, (*_shape(vbase), 1)), fac)
    return c


def roots(p: Any, *, strip_zeros: bool = True) -> Any:
    """Roots of a polynomial (numpy's companion-matrix eigenvalues) for concrete coefficients
    only: funcgrad has no differentiable general eigenvalue solver, so traced coefficients
    raise (use ``stop_gradient`` and ``numpy.roots`` on the values if no derivative is
    needed)."""
    if type(p) is Tracer:
        raise LocatedNotImplementedError(
            "roots of traced coefficients is not supported (no differentiable general "
            "eigenvalue solver); compute roots outside the transform, or use "
            "numpy.roots on concrete values"
        )
    pv = _np.atleast_1d(_np.asarray(p))
    if pv.ndim != 1:
        raise LocatedValueError("roots: input must be a rank-1 array")
    if not strip_zeros:
        nz = _np.flatnonzero(pv)
        lead = int(nz[0]) if nz.size else pv.size
        r = _np.roots(pv)  # numpy drops leading zeros; JAX appends a NaN root for each
        return asarray(
            _np.concatenate(
                [r, _np.full(lead, complex(_np.nan, _np.nan), _np.result_type(r, complex))]
            )
        )
    return asarray(_np.roots(pv))


def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """Strip leading (``'f'``) and/or trailing (``'b'``) zeros of a 1-D array; the positions
    are read from concrete values, the result is a slice (differentiable)."""
    f = _operand(filt)
    if _ndim(f) != 1:
        raise LocatedValueError("trim_zeros: only 1-D input is supported")
    v = _np.asarray(_concrete(f, "trim_zeros"))
    nz = _np.flatnonzero(v)
    if nz.size == 0:
        return f[:0]
    t = trim.lower()
    start = nz[0] if "f" in t else 0
    stop = nz[-1] + 1 if "b" in t else v.shape[0]
    return f[int(start) : int(stop)]
