"""Elementwise math: arithmetic, comparisons, logic, exponentials and logarithms,
trigonometric and hyperbolic functions, rounding, ``where``, ``clip``, ``stop_gradient``."""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np
from numpy import float64

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer, bind
from funcgrad.numpy._core import _concrete, _dtype, _operand, astype, result_type
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import numpy_extra as _nx

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "maximum",
    "minimum",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "negative",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arctan",
    "sqrt",
    "abs",
    "absolute",
    "sign",
    "positive",
    "square",
    "reciprocal",
    "power",
    "where",
    "clip",
    "stop_gradient",
    "arcsin",
    "arccos",
    "arctanh",
    "sinh",
    "cosh",
    "arcsinh",
    "arccosh",
    "log2",
    "log10",
    "exp2",
    "cbrt",
    "sinc",
    "asin",
    "acos",
    "atan",
    "atanh",
    "asinh",
    "acosh",
    "fabs",
    "logaddexp",
    "logaddexp2",
    "hypot",
    "arctan2",
    "atan2",
    "fmax",
    "fmin",
    "remainder",
    "mod",
    "fmod",
    "heaviside",
    "floor",
    "ceil",
    "rint",
    "trunc",
    "isnan",
    "isinf",
    "isfinite",
    "signbit",
    "floor_divide",
    "logical_xor",
    "pow",
    "divmod",
    "round",
    "around",
    "float_power",
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "real_if_close",
    "iscomplex",
    "iscomplexobj",
    "isreal",
    "isrealobj",
    "deg2rad",
    "rad2deg",
    "radians",
    "degrees",
    "nan_to_num",
    "isclose",
]


# --- elementwise -----------------------------------------------------------------------
def _unary(prim: Any) -> Any:
    def f(x: Any) -> Any:
        return bind(prim, x if type(x) is Tracer else _operand(x))

    f.__name__ = prim.name
    return f


def _binary(prim: Any, name: str) -> Any:
    def f(x: Any, y: Any) -> Any:
        return bind(
            prim, x if type(x) is Tracer else _operand(x), y if type(y) is Tracer else _operand(y)
        )

    f.__name__ = name
    return f


add = _binary(_ew.add_p, "add")


subtract = _binary(_ew.sub_p, "subtract")


multiply = _binary(_ew.mul_p, "multiply")


divide = _binary(_ew.div_p, "divide")


true_divide = divide


maximum = _binary(_ew.maximum_p, "maximum")


minimum = _binary(_ew.minimum_p, "minimum")


less = _binary(_ew.lt_p, "less")


less_equal = _binary(_ew.le_p, "less_equal")


greater = _binary(_ew.gt_p, "greater")


greater_equal = _binary(_ew.ge_p, "greater_equal")


equal = _binary(_ew.eq_p, "equal")


not_equal = _binary(_ew.ne_p, "not_equal")


logical_and = _binary(_ew.and_p, "logical_and")


logical_or = _binary(_ew.or_p, "logical_or")


logical_not = _unary(_ew.not_p)


negative = _unary(_ew.neg_p)


exp = _unary(_ew.exp_p)


log = _unary(_ew.log_p)


log1p = _unary(_ew.log1p_p)


expm1 = _unary(_ew.expm1_p)


sin = _unary(_ew.sin_p)


cos = _unary(_ew.cos_p)


tan = _unary(_ew.tan_p)


tanh = _unary(_ew.tanh_p)


arctan = _unary(_ew.arctan_p)


sqrt = _unary(_ew.sqrt_p)


abs = _unary(_ew.abs_p)  # noqa: A001 - numpy's name


absolute = abs


sign = _unary(_ew.sign_p)


def positive(x: Any) -> Any:
    return _operand(x)


def square(x: Any) -> Any:
    return bind(_ew.integer_pow_p, _operand(x), y=2)


def reciprocal(x: Any) -> Any:
    return bind(_nx.reciprocal_p, _operand(x))


def power(x: Any, y: Any) -> Any:
    """``x ** y``; a Python int exponent becomes the ``integer_pow`` primitive."""
    if isinstance(y, int) and not isinstance(y, bool) and type(x) is Tracer:
        return bind(_ew.integer_pow_p, x, y=y)
    return bind(_ew.pow_p, _operand(x), _operand(y))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Three-argument ``numpy.where`` (select); the one-argument form needs concrete data."""
    if x is None or y is None:
        if x is None and y is None:
            return _np.where(_concrete(condition, "where(condition) with one argument"))
        raise LocatedValueError("where: give both x and y, or neither")
    c = _operand(condition)
    if _dtype(c) != _np.bool_:
        c = not_equal(c, 0)
    return bind(_ew.select_p, c, _operand(x), _operand(y))


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Any:
    out = _operand(a)
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def stop_gradient(x: Any) -> Any:
    return bind(_ew.stop_gradient_p, _operand(x))


# --- numpy surface, part A (primitives in funcgrad/primitives/numpy_extra.py) -------------
# Coverage table with derivative notes: docs/numpy_coverage.md.

arcsin = _unary(_nx.arcsin_p)


arccos = _unary(_nx.arccos_p)


arctanh = _unary(_nx.arctanh_p)


sinh = _unary(_nx.sinh_p)


cosh = _unary(_nx.cosh_p)


arcsinh = _unary(_nx.arcsinh_p)


arccosh = _unary(_nx.arccosh_p)


log2 = _unary(_nx.log2_p)


log10 = _unary(_nx.log10_p)


exp2 = _unary(_nx.exp2_p)


cbrt = _unary(_nx.cbrt_p)


sinc = _unary(_nx.sinc_p)


asin, acos, atan, atanh, asinh, acosh = arcsin, arccos, arctan, arctanh, arcsinh, arccosh


fabs = abs


logaddexp = _binary(_nx.logaddexp_p, "logaddexp")


logaddexp2 = _binary(_nx.logaddexp2_p, "logaddexp2")


hypot = _binary(_nx.hypot_p, "hypot")


arctan2 = _binary(_nx.arctan2_p, "arctan2")


atan2 = arctan2


fmax = _binary(_nx.fmax_p, "fmax")


fmin = _binary(_nx.fmin_p, "fmin")


remainder = _binary(_nx.remainder_p, "remainder")


mod = remainder


fmod = _binary(_nx.fmod_p, "fmod")


heaviside = _binary(_nx.heaviside_p, "heaviside")


# Piecewise constant / boolean: no derivative (the gradient through them is exactly zero).
floor = _unary(_nx.floor_p)


ceil = _unary(_nx.ceil_p)


rint = _unary(_nx.rint_p)


trunc = _unary(_nx.trunc_p)


isnan = _unary(_nx.isnan_p)


isinf = _unary(_nx.isinf_p)


isfinite = _unary(_nx.isfinite_p)


signbit = _unary(_nx.signbit_p)


floor_divide = _binary(_nx.floor_divide_p, "floor_divide")


logical_xor = _binary(_nx.xor_p, "logical_xor")


pow = power  # noqa: A001 - numpy 2 alias


def divmod(x: Any, y: Any) -> tuple[Any, Any]:  # noqa: A001 - numpy's name
    return floor_divide(x, y), remainder(x, y)


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise LocatedTypeError(
            f"{name}: out= is not supported by funcgrad (arrays are immutable); use the "
            "returned value"
        )


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001
    """``numpy.round`` (half to even); piecewise constant, so its gradient is zero."""
    _no_out(out, "round")
    return bind(_nx.round_p, _operand(a), decimals=operator.index(decimals))


around = round


def float_power(x: Any, y: Any) -> Any:
    x, y = _operand(x), _operand(y)
    dt = result_type(x, y, float64)
    return power(astype(x, dt), astype(y, dt))


def deg2rad(x: Any) -> Any:
    return multiply(_operand(x), _np.pi / 180.0)


def rad2deg(x: Any) -> Any:
    return multiply(_operand(x), 180.0 / _np.pi)


radians, degrees = deg2rad, rad2deg


def nan_to_num(
    x: Any,
    copy: bool = True,
    nan: float = 0.0,  # noqa: F811 - numpy's keyword shadows the constant `nan`
    posinf: Any = None,
    neginf: Any = None,
) -> Any:
    """NaN → ``nan``, ±inf → ``posinf``/``neginf`` (default: the dtype's largest finite
    values). The gradient passes through finite entries and is zero at replaced ones."""
    x = _operand(x)
    dt = _dtype(x)
    if dt.kind not in "fc":
        return x
    info = _np.finfo(dt)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(equal(x, _np.inf), hi, out)
    return where(equal(x, -_np.inf), lo, out)


def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Any:
    """``numpy.isclose`` (boolean result: no derivative)."""
    x, y = _operand(a), _operand(b)
    close = less_equal(abs(subtract(x, y)), add(atol, multiply(rtol, abs(y))))
    out = logical_or(logical_and(close, isfinite(y)), equal(x, y))
    if equal_nan:
        out = logical_or(out, logical_and(isnan(x), isnan(y)))
    return out


# --- complex numbers ---------------------------------------------------------------------
def real(val: Any) -> Any:
    """Real part (``numpy.real``); a real input is returned unchanged.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda z: fnp.real(z * z))(3 + 4j)  # JAX's convention: df/dx - i df/dy
    np.complex128(6+8j)
    """
    return bind(_ew.real_p, _operand(val))


def imag(val: Any) -> Any:
    """Imaginary part (``numpy.imag``); zeros for a real input.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda z: fnp.imag(z * z))(3 + 4j)
    np.complex128(8-6j)
    """
    return bind(_ew.imag_p, _operand(val))


def conj(x: Any) -> Any:
    """Complex conjugate (``numpy.conj``); a real input is returned unchanged.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda z: fnp.real(z * fnp.conj(z)))(3 + 4j)
    np.complex128(6-8j)
    """
    return bind(_ew.conj_p, _operand(x))


conjugate = conj


def angle(z: Any, deg: bool = False) -> Any:
    """Argument of complex numbers, ``arctan2(imag(z), real(z))`` (``numpy.angle``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> float(fnp.angle(1j, deg=True))
    90.0
    """
    z = _operand(z)
    if _dtype(z).kind not in "fc":
        z = astype(z, float64)
    a = arctan2(imag(z), real(z))
    return multiply(a, 180.0 / _np.pi) if deg else a


def real_if_close(a: Any, tol: float = 100) -> Any:
    """``numpy.real_if_close``: the real part if every imaginary part is within ``tol``
    machine epsilons of 0 (``tol`` > 1) or ``tol`` itself (``tol`` <= 1), else ``a``. The
    choice depends on the values, so ``a`` must be concrete (not inside ``jit``/``vmap``).

    >>> import funcgrad.numpy as fnp
    >>> fnp.real_if_close(fnp.asarray([1.0 + 1e-18j, 2.0]))
    Array([1., 2.])
    """
    a = _operand(a)
    dt = _dtype(a)
    if dt.kind != "c":
        return a
    vals = _concrete(a, "real_if_close")
    limit = tol * _np.finfo(dt).eps if tol > 1 else tol
    return real(a) if bool(_np.all(_np.abs(_np.imag(vals)) < limit)) else a


def iscomplex(x: Any) -> Any:
    """Elementwise: is the imaginary part nonzero? (``numpy.iscomplex``)

    >>> import funcgrad.numpy as fnp
    >>> fnp.iscomplex(fnp.asarray([1.0 + 1j, 2.0 + 0j]))
    Array([ True, False])
    """
    x = _operand(x)
    if _dtype(x).kind != "c":
        return bind(_ew.ne_p, imag(x), 0) if type(x) is Tracer else _np.iscomplex(x)
    return not_equal(imag(x), 0.0)


def isreal(x: Any) -> Any:
    """Elementwise: is the imaginary part zero? (``numpy.isreal``)

    >>> import funcgrad.numpy as fnp
    >>> fnp.isreal(fnp.asarray([1.0 + 1j, 2.0 + 0j]))
    Array([False,  True])
    """
    x = _operand(x)
    if _dtype(x).kind != "c":
        return bind(_ew.eq_p, imag(x), 0) if type(x) is Tracer else _np.isreal(x)
    return equal(imag(x), 0.0)


def iscomplexobj(x: Any) -> bool:
    """Is the dtype of ``x`` complex? (``numpy.iscomplexobj``; a Python bool, never traced)

    >>> import funcgrad.numpy as fnp
    >>> fnp.iscomplexobj(1j), fnp.iscomplexobj(fnp.asarray([1.0]))
    (True, False)
    """
    dt = getattr(x, "dtype", None)
    if not isinstance(dt, _np.dtype):
        dt = _np.asarray(x).dtype
    return dt.kind == "c"


def isrealobj(x: Any) -> bool:
    """``not iscomplexobj(x)`` (``numpy.isrealobj``).

    >>> import funcgrad.numpy as fnp
    >>> fnp.isrealobj(2.0)
    True
    """
    return not iscomplexobj(x)
