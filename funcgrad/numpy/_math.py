"""More elementwise and 1-D math: ``copysign``, ``frexp``, ``ldexp``, ``modf``,
``nextafter``, ``spacing``, ``i0``, ``gcd``/``lcm``, ``isposinf``/``isneginf``,
``sort_complex``, ``unwrap``, ``ediff1d``, ``trapezoid``, ``array_equal``/``array_equiv``.

Differentiable ones are compositions of traced primitives (``copysign`` is a ``where`` on sign
bits; ``ldexp``/``frexp``'s mantissa multiply by powers of two; ``modf``'s fraction is
``x - trunc(x)``), so grad/jvp/vmap/jit all apply.

>>> import funcgrad.numpy as fnp
>>> fnp.copysign(2.0, -1.0)
np.float64(-2.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as _np

from funcgrad.core.tracer import Tracer
from funcgrad.numpy._core import _dtype, _ndim, _norm_axis, _operand, _shape, asarray, astype
from funcgrad.numpy._elementwise import (
    abs,
    equal,
    exp2,
    floor_divide,
    greater,
    isinf,
    isnan,
    less,
    logical_and,
    logical_or,
    multiply,
    negative,
    remainder,
    signbit,
    subtract,
    trunc,
    where,
)
from funcgrad.numpy._reductions import all as _all
from funcgrad.numpy._reductions import cumsum, diff
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import broadcast_arrays, concatenate, moveaxis, ravel
from funcgrad.numpy._sorting import sort
from funcgrad.primitives import bitwise as _bw
from funcgrad.primitives import random_special as _rs

__all__ = [
    "copysign",
    "frexp",
    "ldexp",
    "modf",
    "nextafter",
    "spacing",
    "i0",
    "gcd",
    "lcm",
    "isposinf",
    "isneginf",
    "sort_complex",
    "unwrap",
    "ediff1d",
    "trapezoid",
    "array_equal",
    "array_equiv",
]


def _float_like(*xs: Any) -> Any:
    """Cast operands to the float dtype numpy's float ufuncs would compute in."""
    dt = _np.result_type(*[_dtype(x) for x in xs], _np.float16)
    if dt.kind not in "fc":
        dt = _np.dtype(_np.float64)
    return [
        x if _dtype(x) == dt else astype(x, dt) if type(x) is Tracer else _np.asarray(x, dt)[()]
        for x in xs
    ]


def _scalar(out: Any) -> Any:
    """numpy returns a scalar, not a 0-d array, for scalar inputs (``where`` does not)."""
    return out[()] if isinstance(out, _np.ndarray) and out.ndim == 0 else out


def copysign(x1: Any, x2: Any, /) -> Any:
    """``abs(x1)`` with the sign bit of ``x2``; d/dx1 = ±1 (the sign it keeps or flips)."""
    x1, x2 = _float_like(_operand(x1), _operand(x2))
    return _scalar(where(equal(signbit(x1), signbit(x2)), x1, negative(x1)))


def _pow2(e: Any, dt: Any) -> Any:
    return exp2(astype(e, dt))


def ldexp(x1: Any, x2: Any, /) -> Any:
    """``x1 * 2**x2`` (integer ``x2``), differentiable in ``x1``. Multiplies by two powers of
    two, so results in the subnormal range are as exact as numpy's."""
    x2 = _operand(x2)
    if _dtype(x2).kind not in "biu":
        raise TypeError(f"ldexp: the exponent must be integer, got {_dtype(x2)}")
    (x1,) = _float_like(_operand(x1))
    dt = _dtype(x1)
    half = floor_divide(x2, 2)
    return multiply(multiply(x1, _pow2(half, dt)), _pow2(subtract(x2, half), dt))


def frexp(x: Any, /) -> tuple[Any, Any]:
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``, ``0.5 <= |mantissa| < 1``;
    the mantissa is differentiable (``2**-exponent``), the int32 exponent is not."""
    (x,) = _float_like(_operand(x))
    e = _bw.frexp_exponent(x)
    return ldexp(x, negative(e)), e


def modf(x: Any, /, out: Any = None) -> tuple[Any, Any]:
    """``(fractional, integral)`` parts, both with the sign of ``x``; d fractional/dx = 1."""
    if out is not None:
        raise TypeError("modf: out= is not supported (arrays are immutable)")
    (x,) = _float_like(_operand(x))
    inf = isinf(x)
    finite = where(inf, 0.0, x)  # no inf - inf (numpy's modf does not warn)
    return _scalar(where(inf, copysign(0.0, x), subtract(finite, trunc(finite)))), trunc(x)


def nextafter(x1: Any, x2: Any, /) -> Any:
    """The next float after ``x1`` towards ``x2`` (no derivative)."""
    x1, x2 = _float_like(_operand(x1), _operand(x2))
    return _rs.nextafter(x1, x2)


def spacing(x: Any, /) -> Any:
    """Distance from ``x`` to the adjacent float away from zero (no derivative)."""
    return _bw.spacing(_operand(x))


def i0(x: Any) -> Any:
    """Modified Bessel function of the first kind, order 0; d/dx = i1(x). Uses the
    scipy-backed primitive (scipy must be installed)."""
    try:
        from funcgrad.primitives import special as _sp
    except ImportError as err:  # pragma: no cover - scipy is in every test environment
        raise ImportError("funcgrad.numpy.i0 needs scipy: pip install scipy") from err
    (x,) = _float_like(_operand(x))
    return _sp.i0(x)


def gcd(x1: Any, x2: Any, /) -> Any:
    """Greatest common divisor of integers (no derivative)."""
    return _bw.gcd(_operand(x1), _operand(x2))


def lcm(x1: Any, x2: Any, /) -> Any:
    """Least common multiple of integers (no derivative)."""
    return _bw.lcm(_operand(x1), _operand(x2))


def isposinf(x: Any, /, out: Any = None) -> Any:
    """``x == +inf`` (boolean)."""
    x = _operand(x)
    return logical_and(isinf(x), greater(x, 0))


def isneginf(x: Any, /, out: Any = None) -> Any:
    """``x == -inf`` (boolean)."""
    x = _operand(x)
    return logical_and(isinf(x), less(x, 0))


def sort_complex(a: Any) -> Any:
    """Sort along the last axis by real part, then imaginary part; the result is complex."""
    a = _operand(a)
    dt = _np.result_type(_dtype(a), _np.complex64)
    return sort(astype(a, dt), axis=-1)


def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: Any = 2 * math.pi) -> Any:
    """numpy's ``unwrap``: remove jumps larger than ``discont`` (default ``period/2``) by adding
    multiples of ``period``. The corrections are piecewise constant, so d/dp = 1."""
    p = _operand(p)
    (p,) = _float_like(p)
    ax = _norm_axis(axis, _ndim(p))
    dd = diff(p, axis=ax)
    half = period / 2
    if discont is None:
        discont = half
    ddmod = subtract(remainder(dd + half, period), half)
    ddmod = where(logical_and(equal(ddmod, -half), greater(dd, 0)), half, ddmod)
    correct = where(less(abs(dd), discont), 0.0, subtract(ddmod, dd))
    csum = cumsum(correct, axis=ax)
    first = [slice(None)] * _ndim(p)
    first[ax] = slice(0, 1)
    rest = [slice(None)] * _ndim(p)
    rest[ax] = slice(1, None)
    return concatenate([p[tuple(first)], p[tuple(rest)] + csum], axis=ax)


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """Differences of the flattened array, with optional values before and after."""
    a = ravel(_operand(ary))
    parts = [diff(a)]
    if to_begin is not None:
        parts.insert(0, astype(ravel(asarray(to_begin)), _dtype(a)))
    if to_end is not None:
        parts.append(astype(ravel(asarray(to_end)), _dtype(a)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """Trapezoidal rule along ``axis``; differentiable in ``y``, ``x`` and ``dx``."""
    y = _operand(y)
    ax = _norm_axis(axis, _ndim(y))
    y = moveaxis(y, ax, -1)
    if x is None:
        d = _operand(dx)
    else:
        x = _operand(x)
        d = diff(x) if _ndim(x) == 1 else moveaxis(diff(x, axis=axis), ax, -1)
    return _sum(multiply(d, y[..., 1:] + y[..., :-1]), axis=-1) * 0.5


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    """True when shapes and all elements agree (a traced 0-d bool under transforms)."""
    a1, a2 = _operand(a1), _operand(a2)
    if _shape(a1) != _shape(a2):
        return _np.bool_(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return _all(eq)


def array_equiv(a1: Any, a2: Any) -> Any:
    """True when the arrays broadcast to each other and all elements agree."""
    a1, a2 = _operand(a1), _operand(a2)
    try:
        _np.broadcast_shapes(_shape(a1), _shape(a2))
    except ValueError:
        return _np.bool_(False)
    return _all(equal(*broadcast_arrays(a1, a2)))
