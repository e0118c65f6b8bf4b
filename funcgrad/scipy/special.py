"""``funcgrad.scipy.special``: special functions with JAX's names and signatures
(``jax.scipy.special``), differentiable to any order where JAX is.

Values come from ``scipy.special``; derivatives are rules written with other primitives
(see :mod:`funcgrad.primitives.special`). Derivatives without a closed-form rule raise
``NotImplementedError``: ``betainc`` in ``a``/``b`` and ``zeta`` in ``x`` (JAX lacks them
too), the integer orders of ``polygamma``/``expn``, the orders of the Bessel functions, and
the parameters of ``hyp1f1``/``hyp2f1``. ``gammainc``/``gammaincc`` are differentiable in
``a`` through a series (as in JAX; once — the second derivative in ``a`` raises).

>>> import numpy as np, funcgrad as fg
>>> float(fg.grad(erf)(0.0))  # 2 / sqrt(pi)
1.1283791670955126
>>> np.round(logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -2.0]), return_sign=True), 6)
array([ 2.48988, -1.     ])
"""

from __future__ import annotations

import math as _math
from collections.abc import Sequence
from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad import nn as _nn
from funcgrad.core import errors as _errors
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.primitives import special as _sp

__all__ = [
    "bernoulli",
    "beta",
    "betainc",
    "betaln",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfcinv",
    "erfcx",
    "erfinv",
    "exp1",
    "expi",
    "expit",
    "expn",
    "factorial",
    "fresnel",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "gammasgn",
    "hyp1f1",
    "hyp2f1",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "iv",
    "ive",
    "j0",
    "j1",
    "jn",
    "jv",
    "kl_div",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "poch",
    "polygamma",
    "psi",
    "rel_entr",
    "rgamma",
    "sinc",
    "softmax",
    "spence",
    "xlog1py",
    "xlogy",
    "y0",
    "y1",
    "yn",
    "yv",
    "zeta",
]


def __dir__() -> list[str]:
    return list(__all__)


def _f(x: Any) -> Any:
    """An operand as a float array or tracer (ints/bools -> float64, as JAX promotes)."""
    x = x if type(x) is _Tracer else _np.asarray(x)
    if x.dtype.kind == "c":
        raise _errors.LocatedTypeError(
            f"complex inputs are not supported here (got dtype {x.dtype})"
        )
    if x.dtype.kind != "f":
        x = _fnp.astype(x, _np.float64)
    return x


def erf(x: Any) -> Any:
    """The error function. ``erf(0.5)`` -> 0.5204998778130465.

    >>> round(float(erf(0.5)), 12)
    0.520499877813
    """
    return _sp.erf(_f(x))


def erfc(x: Any) -> Any:
    """``1 - erf(x)``, accurate for large ``x``."""
    return _sp.erfc(_f(x))


def erfinv(x: Any) -> Any:
    """Inverse of ``erf`` on (-1, 1)."""
    return _sp.erfinv(_f(x))


def erfcx(x: Any) -> Any:
    """Scaled complementary error function ``exp(x**2) * erfc(x)``."""
    return _sp.erfcx(_f(x))


def gammaln(x: Any) -> Any:
    """``log|Γ(x)|``; its derivative is ``digamma``."""
    return _sp.gammaln(_f(x))


def gamma(x: Any) -> Any:
    """The gamma function Γ(x)."""
    return _sp.gamma(_f(x))


def digamma(x: Any) -> Any:
    """ψ(x) = d/dx log Γ(x)."""
    return _sp.digamma(_f(x))


def polygamma(n: Any, x: Any) -> Any:
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (differentiable in ``x``, not ``n``)."""
    return _sp.polygamma(_f(n), _f(x))


def betaln(a: Any, b: Any) -> Any:
    """``log|B(a, b)|``."""
    return _sp.betaln(_f(a), _f(b))


def beta(a: Any, b: Any) -> Any:
    """The beta function B(a, b)."""
    return _sp.beta(_f(a), _f(b))


def betainc(a: Any, b: Any, x: Any) -> Any:
    """Regularized incomplete beta function I_x(a, b) (differentiable in ``x`` only)."""
    return _sp.betainc(_f(a), _f(b), _f(x))


def gammainc(a: Any, x: Any) -> Any:
    """Regularized lower incomplete gamma P(a, x) (in ``a`` through a series)."""
    return _sp.gammainc(_f(a), _f(x))


def gammaincc(a: Any, x: Any) -> Any:
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    return _sp.gammaincc(_f(a), _f(x))


def expit(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    return _sp.expit(_f(x))


def logit(x: Any) -> Any:
    """``log(x / (1 - x))``, the inverse of ``expit``."""
    x = _f(x)
    return _fnp.log(x) - _fnp.log1p(-x)


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, 0 where ``x == 0``."""
    return _sp.xlogy(_f(x), _f(y))


def xlog1py(x: Any, y: Any) -> Any:
    """``x * log1p(y)``, 0 where ``x == 0``."""
    return _sp.xlog1py(_f(x), _f(y))


def entr(x: Any) -> Any:
    """Elementwise entropy ``-x log x`` (0 at 0, ``-inf`` for x < 0)."""
    return _sp.entr(_f(x))


def _entr_domain(x: Any, y: Any) -> tuple[Any, Any, Any, Any]:
    pos = _fnp.logical_and(x > 0, y > 0)
    zero = _fnp.logical_and(x == 0, y >= 0)
    xs = _fnp.where(pos, x, 1.0)
    ys = _fnp.where(pos, y, 1.0)
    return pos, zero, xs, ys


def rel_entr(x: Any, y: Any) -> Any:
    """``x log(x / y)`` for x, y > 0; 0 for x = 0, y >= 0; ``inf`` otherwise (as scipy)."""
    x, y = _f(x), _f(y)
    pos, zero, xs, ys = _entr_domain(x, y)
    val = _sp.xlogy(xs, xs) - _sp.xlogy(xs, ys)
    return _fnp.where(pos, val, _fnp.where(zero, 0.0, _np.inf))


def kl_div(x: Any, y: Any) -> Any:
    """``x log(x / y) - x + y`` for x, y > 0; ``y`` for x = 0, y >= 0; ``inf`` otherwise."""
    x, y = _f(x), _f(y)
    pos, zero, xs, ys = _entr_domain(x, y)
    val = _sp.xlogy(xs, xs) - _sp.xlogy(xs, ys) - xs + ys
    return _fnp.where(pos, val, _fnp.where(zero, y, _np.inf))


def ndtr(x: Any) -> Any:
    """Standard normal CDF Φ(x) = erfc(-x/√2) / 2."""
    return 0.5 * _sp.erfc(_f(x) * -_math.sqrt(0.5))


def ndtri(p: Any) -> Any:
    """Inverse of ``ndtr``."""
    return _sp.ndtri(_f(p))


def log_ndtr(x: Any, series_order: int = 3) -> Any:
    """``log Φ(x)``, accurate in the far left tail (``series_order`` is accepted for JAX's
    signature; values come from scipy's full-precision routine)."""
    return _sp.log_ndtr(_f(x))


def i0(x: Any) -> Any:
    """Modified Bessel function of order 0."""
    return _sp.i0(_f(x))


def i0e(x: Any) -> Any:
    """Exponentially scaled ``i0``: ``exp(-|x|) i0(x)``."""
    return _sp.i0e(_f(x))


def i1(x: Any) -> Any:
    """Modified Bessel function of order 1."""
    return _sp.i1(_f(x))


def i1e(x: Any) -> Any:
    """Exponentially scaled ``i1``: ``exp(-|x|) i1(x)``."""
    return _sp.i1e(_f(x))


def zeta(x: Any, q: Any = None) -> Any:
    """Hurwitz zeta ζ(x, q) (Riemann's for ``q=None``); differentiable in ``q``."""
    return _sp.zeta(_f(x), _f(1.0 if q is None else q))


def spence(x: Any) -> Any:
    """Spence's function (dilogarithm) as scipy defines it: ∫₁ˣ log t / (1 - t) dt."""
    return _sp.spence(_f(x))


def expi(x: Any) -> Any:
    """Exponential integral Ei(x)."""
    return _sp.expi(_f(x))


def exp1(x: Any) -> Any:
    """Exponential integral E₁(x)."""
    return _sp.exp1(_f(x))


def factorial(n: Any, exact: bool = False) -> Any:
    """``n!`` as Γ(n + 1) (0 for n < 0, as scipy); ``exact=True`` is not supported."""
    if exact:
        raise _errors.LocatedValueError(
            "factorial: exact=True is not supported (as in JAX); use exact=False"
        )
    n = _f(n)
    return _fnp.where(n < 0, 0.0, _sp.gamma(_fnp.where(n < 0, 0.0, n) + 1.0))


def poch(z: Any, m: Any) -> Any:
    """Pochhammer symbol Γ(z + m) / Γ(z)."""
    z, m = _f(z), _f(m)
    return _sp.gamma(z + m) / _sp.gamma(z)


def multigammaln(a: Any, d: int) -> Any:
    """Multivariate log-gamma ``log Γ_d(a)`` = d(d-1)/4 log π + Σⱼ gammaln(a - j/2)."""
    if not isinstance(d, (int, _np.integer)) or isinstance(d, bool) or d < 1:
        raise _errors.LocatedValueError(f"multigammaln: d must be a positive int, got {d!r}")
    a = _f(a)
    out = d * (d - 1) / 4.0 * _math.log(_math.pi)
    for j in range(d):
        out = out + _sp.gammaln(a - j / 2.0)
    return out


def sinc(x: Any) -> Any:
    """Normalized sinc ``sin(πx) / (πx)`` (``numpy.sinc``)."""
    return _fnp.sinc(_f(x))


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def logsumexp(
    a: Any,
    axis: int | Sequence[int] | None = None,
    b: Any = None,
    keepdims: bool = False,
    return_sign: bool = False,
) -> Any:
    """``log(sum(b * exp(a), axis))``, overflow-safe; with ``return_sign=True`` returns
    ``(log|s|, sign(s))`` so that negative weights ``b`` are allowed (as JAX and scipy).
    Without ``return_sign`` a negative sum gives ``nan``."""
    a = _f(a)
    axis = _axis(axis)
    if b is None:
        out = _nn.logsumexp(a, axis=axis, keepdims=keepdims)
        if return_sign:
            return out, _fnp.where(out == -_np.inf, 0.0, 1.0)
        return out
    b = _f(b)
    a, b = _fnp.broadcast_arrays(a, b)
    a = _fnp.where(b != 0, a, -_np.inf)
    m = _fnp.max(a, axis=axis, keepdims=True)
    m = _fnp.stop_gradient(_fnp.where(_fnp.isfinite(m), m, 0.0))
    s = _fnp.sum(b * _fnp.exp(a - m), axis=axis, keepdims=True)
    sign = _fnp.sign(s)
    with _np.errstate(divide="ignore", invalid="ignore"):
        out = (_fnp.log(_fnp.abs(s)) if return_sign else _fnp.log(s)) + m
    if not keepdims:
        ax = tuple(range(_fnp.ndim(a))) if axis is None else axis
        out = _fnp.squeeze(out, axis=ax)
        sign = _fnp.squeeze(sign, axis=ax)
    return (out, sign) if return_sign else out


def softmax(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    """``exp(x) / sum(exp(x), axis)``; ``axis=None`` normalizes over all entries (scipy)."""
    x = _f(x)
    axis = tuple(range(_fnp.ndim(x))) if axis is None else _axis(axis)
    return _nn.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int | Sequence[int] | None = None) -> Any:
    """``x - logsumexp(x, axis, keepdims=True)``; ``axis=None`` uses all entries (scipy)."""
    x = _f(x)
    axis = tuple(range(_fnp.ndim(x))) if axis is None else _axis(axis)
    return _nn.log_softmax(x, axis=axis)


def expn(n: Any, x: Any) -> Any:
    """Generalized exponential integral E_n(x) (differentiable in ``x``)."""
    return _sp.expn(_f(n), _f(x))


def gammasgn(x: Any) -> Any:
    """Sign of Γ(x) (derivative 0)."""
    return _sp.gammasgn(_f(x))


def rgamma(x: Any) -> Any:
    """1 / Γ(x), 0 at the poles."""
    return _sp.rgamma(_f(x))


def hyp1f1(a: Any, b: Any, x: Any) -> Any:
    """Confluent hypergeometric function ₁F₁(a; b; x) (differentiable in ``x``)."""
    return _sp.hyp1f1(_f(a), _f(b), _f(x))


def hyp2f1(a: Any, b: Any, c: Any, x: Any) -> Any:
    """Gauss hypergeometric function ₂F₁(a, b; c; x) (differentiable in ``x``)."""
    return _sp.hyp2f1(_f(a), _f(b), _f(c), _f(x))


def fresnel(x: Any) -> tuple[Any, Any]:
    """Fresnel integrals ``(S(x), C(x))``."""
    x = _f(x)
    return _sp.fresnel_s(x), _sp.fresnel_c(x)


def bernoulli(n: int) -> _np.ndarray:
    """The Bernoulli numbers B_0 ... B_n (a constant array, as scipy).

    >>> bernoulli(4)
    array([ 1.        , -0.5       ,  0.16666667,  0.        , -0.03333333])
    """
    return _np.asarray(_scipy_bernoulli(n), dtype=_np.float64)


def _scipy_bernoulli(n: int) -> _np.ndarray:
    import scipy.special as sc

    return sc.bernoulli(n)


# --- autograd.scipy.special's extra names ------------------------------------------------
psi = digamma


def erfcinv(y: Any) -> Any:
    """Inverse of ``erfc`` on (0, 2): ``erfinv(1 - y)``."""
    return _sp.erfinv(1.0 - _f(y))


def j0(x: Any) -> Any:
    """Bessel function of the first kind of order 0."""
    return _sp.j0(_f(x))


def j1(x: Any) -> Any:
    """Bessel function of the first kind of order 1."""
    return _sp.j1(_f(x))


def y0(x: Any) -> Any:
    """Bessel function of the second kind of order 0."""
    return _sp.y0(_f(x))


def y1(x: Any) -> Any:
    """Bessel function of the second kind of order 1."""
    return _sp.y1(_f(x))


def jv(v: Any, x: Any) -> Any:
    """Bessel function of the first kind of real order ``v`` (differentiable in ``x``)."""
    return _sp.jv(_f(v), _f(x))


def yv(v: Any, x: Any) -> Any:
    """Bessel function of the second kind of real order ``v`` (differentiable in ``x``)."""
    return _sp.yv(_f(v), _f(x))


def jn(n: Any, x: Any) -> Any:
    """Bessel function of the first kind of integer order ``n``."""
    return _sp.jv(_f(n), _f(x))


def yn(n: Any, x: Any) -> Any:
    """Bessel function of the second kind of integer order ``n``."""
    return _sp.yv(_f(n), _f(x))


def iv(v: Any, x: Any) -> Any:
    """Modified Bessel function of the first kind of real order ``v``."""
    return _sp.iv(_f(v), _f(x))


def ive(v: Any, x: Any) -> Any:
    """Exponentially scaled ``iv``: ``exp(-|x|) iv(v, x)``."""
    return _sp.ive(_f(v), _f(x))
