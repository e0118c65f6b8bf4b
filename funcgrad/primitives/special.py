"""Special-function primitives (values from ``scipy.special``), elementwise with broadcasting.

This family is *not* imported by :mod:`funcgrad.primitives` (the core stays numpy-only): it
imports scipy at the top and registers its primitives when first imported — by
``funcgrad.scipy`` (which first checks that scipy is installed and otherwise raises an
``ImportError`` naming ``pip install 'funcgrad[scipy]'``) or by ``nn.gelu(approximate=False)``.

Each primitive is elementwise, so one rule per operand ``lin(c, ans, *args)`` ("multiply ``c``
by ∂ans/∂arg") is both its VJP and its JVP. The rules are written with other primitives
(``erf' = 2/√π·exp(-x²)``, ``gammaln' = digamma``, ``digamma' = polygamma(1, ·)``,
``polygamma(n, ·)' = polygamma(n + 1, ·)``, ...), so derivatives of every order work. Where
no rule exists for an argument (``betainc`` in ``a``/``b`` and ``zeta`` in ``x``, which JAX
lacks too; integer orders ``n``; hypergeometric parameters; the second derivative of
``gammainc`` in ``a``) the rule raises ``NotImplementedError`` rather than return a wrong
number. ``gammainc``/``gammaincc`` in ``a`` use ``gammainc_da``, a series (as JAX's).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special as _sc

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import Primitive, broadcast_shapes, define, ufunc_dtype
from funcgrad.primitives.elementwise import (
    add,
    batch_elementwise,
    div,
    eq,
    exp,
    log,
    log1p_p,
    mul,
    neg,
    select,
    sign,
    sub,
)
from funcgrad.primitives.elementwise import cos as _cos
from funcgrad.primitives.elementwise import sin as _sin
from funcgrad.primitives.random_special import erf, erf_p  # noqa: F401  (re-exported)

__all__ = [
    "erf",
    "erfc",
    "erfinv",
    "erfcx",
    "gammaln",
    "gamma",
    "digamma",
    "polygamma",
    "betaln",
    "beta",
    "betainc",
    "gammainc",
    "gammainc_da",
    "gammaincc",
    "expit",
    "xlogy",
    "xlog1py",
    "entr",
    "ndtri",
    "log_ndtr",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "zeta",
    "spence",
    "expi",
    "exp1",
    "expn",
    "gammasgn",
    "rgamma",
    "hyp1f1",
    "hyp2f1",
    "fresnel_s",
    "fresnel_c",
    "j0",
    "j1",
    "y0",
    "y1",
    "jv",
    "yv",
    "iv",
    "ive",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)

Lin = Callable[..., Any]


def _special(name: str, fn: Callable[..., Any], lins: tuple[Lin | None, ...]) -> Primitive:
    def shape_rule(*avals: ShapedArray) -> ShapedArray:
        for a in avals:
            if a.dtype.kind == "c":
                raise LocatedTypeError(
                    f"{name}: complex inputs are not supported (got {a}); pass real floats"
                )
        shape = avals[0].shape if len(avals) == 1 else broadcast_shapes(name, *avals)
        return ShapedArray(shape, ufunc_dtype(fn, *avals))

    def impl(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args)

    return define(
        name,
        impl,
        shape_rule,
        vjp=lins,
        jvp=lins,
        batch=batch_elementwise,
        emit=None,
        fresh=True,
    )


def _no_derivative(fname: str, arg: str) -> Lin:
    def rule(c: Any, ans: Any, *args: Any) -> Any:
        if isinstance(c, (np.ndarray, np.generic, float, int)) and not np.any(c):
            return None  # a concrete zero tangent (jvp of the other arguments) contributes 0
        raise LocatedNotImplementedError(
            f"{fname}: the derivative with respect to {arg!r} is not implemented (it has no "
            "closed form in terms of the available functions); differentiate only with "
            f"respect to the other arguments, or wrap {arg} in stop_gradient"
        )

    return rule


def _sq(x: Any) -> Any:
    return mul(x, x)


# --- error functions ---------------------------------------------------------------------
def erfc(x: Any) -> Any:
    return bind(erfc_p, x)


def erfinv(x: Any) -> Any:
    return bind(erfinv_p, x)


def erfcx(x: Any) -> Any:
    return bind(erfcx_p, x)


def _gauss(x: Any) -> Any:
    """2/√π · exp(-x²)"""
    return mul(exp(neg(_sq(x))), _TWO_OVER_SQRT_PI)


# erf itself is a core primitive (primitives/random_special.py: numpy-only, scipy's kernel
# when installed); erfc, erfinv, erfcx and the rest live here.
erfc_p = _special("erfc", _sc.erfc, (lambda c, ans, x: neg(mul(c, _gauss(x))),))
erfinv_p = _special(
    "erfinv", _sc.erfinv, (lambda c, ans, x: mul(c, mul(exp(_sq(ans)), _SQRT_PI_OVER_2)),)
)
# erfcx(x) = exp(x²) erfc(x);  erfcx' = 2x·erfcx(x) - 2/√π
erfcx_p = _special(
    "erfcx",
    _sc.erfcx,
    (lambda c, ans, x: mul(c, sub(mul(mul(x, ans), 2.0), _TWO_OVER_SQRT_PI)),),
)


# --- gamma family ------------------------------------------------------------------------
def gammaln(x: Any) -> Any:
    return bind(gammaln_p, x)


def gamma(x: Any) -> Any:
    return bind(gamma_p, x)


def digamma(x: Any) -> Any:
    return bind(digamma_p, x)


def polygamma(n: Any, x: Any) -> Any:
    return bind(polygamma_p, n, x)


def betaln(a: Any, b: Any) -> Any:
    return bind(betaln_p, a, b)


def beta(a: Any, b: Any) -> Any:
    return bind(beta_p, a, b)


def betainc(a: Any, b: Any, x: Any) -> Any:
    return bind(betainc_p, a, b, x)


def gammainc(a: Any, x: Any) -> Any:
    return bind(gammainc_p, a, x)


def gammaincc(a: Any, x: Any) -> Any:
    return bind(gammaincc_p, a, x)


gammaln_p = _special("gammaln", _sc.gammaln, (lambda c, ans, x: mul(c, digamma(x)),))
gamma_p = _special("gamma", _sc.gamma, (lambda c, ans, x: mul(c, mul(ans, digamma(x))),))
digamma_p = _special("digamma", _sc.digamma, (lambda c, ans, x: mul(c, polygamma(1.0, x)),))
polygamma_p = _special(
    "polygamma",
    _sc.polygamma,
    (
        _no_derivative("polygamma", "n"),
        lambda c, ans, n, x: mul(c, polygamma(add(n, 1.0), x)),
    ),
)


def _dbetaln(a: Any, b: Any) -> Any:
    return sub(digamma(a), digamma(add(a, b)))


betaln_p = _special(
    "betaln",
    _sc.betaln,
    (
        lambda c, ans, a, b: mul(c, _dbetaln(a, b)),
        lambda c, ans, a, b: mul(c, _dbetaln(b, a)),
    ),
)
beta_p = _special(
    "beta",
    _sc.beta,
    (
        lambda c, ans, a, b: mul(c, mul(ans, _dbetaln(a, b))),
        lambda c, ans, a, b: mul(c, mul(ans, _dbetaln(b, a))),
    ),
)


def _log1m(x: Any) -> Any:
    """log(1 - x)"""
    return bind(log1p_p, neg(x))


def _dbetainc_dx(a: Any, b: Any, x: Any) -> Any:
    # x^(a-1) (1-x)^(b-1) / B(a, b)
    lg = add(mul(sub(a, 1.0), log(x)), mul(sub(b, 1.0), _log1m(x)))
    return exp(sub(lg, betaln(a, b)))


betainc_p = _special(
    "betainc",
    _sc.betainc,
    (
        _no_derivative("betainc", "a"),
        _no_derivative("betainc", "b"),
        lambda c, ans, a, b, x: mul(c, _dbetainc_dx(a, b, x)),
    ),
)


def _dgammainc_dx(a: Any, x: Any) -> Any:
    # x^(a-1) e^(-x) / Γ(a)
    return exp(sub(sub(mul(sub(a, 1.0), log(x)), x), gammaln(a)))


def gammainc_da(a: Any, x: Any) -> Any:
    """∂P(a, x)/∂a (the regularized lower incomplete gamma's derivative in ``a``)."""
    return bind(gammainc_da_p, a, x)


def _gammainc_da_impl(a: Any, x: Any) -> Any:
    """∂P/∂a from the series P(a, x) = Σₖ tₖ, tₖ = x^(a+k) e^(-x) / Γ(a+k+1), so
    ∂P/∂a = Σₖ tₖ (log x - ψ(a+k+1)); summed in log space until the terms are negligible
    past their peak (k ≈ x - a). Where P is 1 to double precision (x > a + 40√a + 40) the
    derivative is 0; absolute accuracy ~1e-14."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape)
    with np.errstate(all="ignore"):
        bad = ~(np.isfinite(a) & np.isfinite(x)) | (a <= 0) | (x < 0)
        active = ~bad & (x > 0) & (x < a + 40.0 * np.sqrt(a) + 40.0)
    out[bad] = np.nan
    if not active.any():
        return out
    aa, xx = a[active], x[active]
    logx = np.log(xx)
    lg = _sc.gammaln(aa + 1.0)  # log Γ(a+k+1), advanced by recurrence
    dg = _sc.digamma(aa + 1.0)  # ψ(a+k+1)
    acc = np.zeros_like(aa)
    peak = float(np.max(xx - aa))
    k = 0
    while True:
        t = np.exp((aa + k) * logx - xx - lg)
        acc += t * (logx - dg)
        k += 1
        if (k > peak and float(np.max(t)) < 1e-18) or k > 10_000_000:
            break
        lg = lg + np.log(aa + k)
        dg = dg + 1.0 / (aa + k)
    out[active] = acc
    return out


gammainc_da_p = define(
    "gammainc_da",
    _gammainc_da_impl,
    lambda a, x: ShapedArray(broadcast_shapes("gammainc", a, x), np.dtype(np.float64)),
    # ∂/∂x ∂P/∂a = ∂/∂a [x^(a-1) e^(-x) / Γ(a)] = x^(a-1) e^(-x) / Γ(a) · (log x - ψ(a))
    vjp=(
        _no_derivative("gammainc (second derivative in a)", "a"),
        lambda c, ans, a, x: mul(c, mul(_dgammainc_dx(a, x), sub(log(x), digamma(a)))),
    ),
    jvp=(
        _no_derivative("gammainc (second derivative in a)", "a"),
        lambda c, ans, a, x: mul(c, mul(_dgammainc_dx(a, x), sub(log(x), digamma(a)))),
    ),
    batch=batch_elementwise,
    fresh=True,
)

gammainc_p = _special(
    "gammainc",
    _sc.gammainc,
    (
        lambda c, ans, a, x: mul(c, gammainc_da(a, x)),
        lambda c, ans, a, x: mul(c, _dgammainc_dx(a, x)),
    ),
)
gammaincc_p = _special(
    "gammaincc",
    _sc.gammaincc,
    (
        lambda c, ans, a, x: neg(mul(c, gammainc_da(a, x))),
        lambda c, ans, a, x: neg(mul(c, _dgammainc_dx(a, x))),
    ),
)


# --- logistic, x log y, entropy -----------------------------------------------------------
def expit(x: Any) -> Any:
    return bind(expit_p, x)


def xlogy(x: Any, y: Any) -> Any:
    return bind(xlogy_p, x, y)


def xlog1py(x: Any, y: Any) -> Any:
    return bind(xlog1py_p, x, y)


def entr(x: Any) -> Any:
    return bind(entr_p, x)


expit_p = _special("expit", _sc.expit, (lambda c, ans, x: mul(c, mul(ans, sub(1.0, ans))),))


def _x_over(x: Any, y: Any) -> Any:
    """x / y, and 0 where x == 0 (so that 0·log 0 has derivative 0 in y, as JAX's xlogy)."""
    zero = eq(x, 0.0)
    return select(zero, mul(x, 0.0), div(x, select(zero, add(mul(y, 0.0), 1.0), y)))


xlogy_p = _special(
    "xlogy",
    _sc.xlogy,
    (
        lambda c, ans, x, y: mul(c, log(y)),
        lambda c, ans, x, y: mul(c, _x_over(x, y)),
    ),
)
xlog1py_p = _special(
    "xlog1py",
    _sc.xlog1py,
    (
        lambda c, ans, x, y: mul(c, _log1m(neg(y))),
        lambda c, ans, x, y: mul(c, _x_over(x, add(y, 1.0))),
    ),
)
# entr(x) = -x log x;  entr' = -(1 + log x)
entr_p = _special("entr", _sc.entr, (lambda c, ans, x: neg(mul(c, add(log(x), 1.0))),))


# --- normal distribution ------------------------------------------------------------------
def ndtri(p: Any) -> Any:
    return bind(ndtri_p, p)


def log_ndtr(x: Any) -> Any:
    return bind(log_ndtr_p, x)


# ndtri' = √(2π) exp(ndtri²/2);  log_ndtr' = φ(x) / Φ(x) = exp(-x²/2 - log Φ(x)) / √(2π)
ndtri_p = _special(
    "ndtri", _sc.ndtri, (lambda c, ans, p: mul(c, mul(exp(mul(_sq(ans), 0.5)), _SQRT_2PI)),)
)
log_ndtr_p = _special(
    "log_ndtr",
    _sc.log_ndtr,
    (lambda c, ans, x: mul(c, div(exp(sub(mul(_sq(x), -0.5), log_ndtr(x))), _SQRT_2PI)),),
)


# --- Bessel functions ---------------------------------------------------------------------
def i0(x: Any) -> Any:
    return bind(i0_p, x)


def i0e(x: Any) -> Any:
    return bind(i0e_p, x)


def i1(x: Any) -> Any:
    return bind(i1_p, x)


def i1e(x: Any) -> Any:
    return bind(i1e_p, x)


def _over_x(v: Any, x: Any) -> Any:
    """v / x with the limit 1/2 at x = 0 (for v = I1(x) or I1e(x), both ~ x/2 near 0)."""
    zero = eq(x, 0.0)
    safe = select(zero, add(mul(x, 0.0), 1.0), x)
    return select(zero, add(mul(x, 0.0), 0.5), div(v, safe))


i0_p = _special("i0", _sc.i0, (lambda c, ans, x: mul(c, i1(x)),))
i1_p = _special("i1", _sc.i1, (lambda c, ans, x: mul(c, sub(i0(x), _over_x(ans, x))),))
# i0e = e^{-|x|} I0;  i0e' = i1e - sign(x) i0e
i0e_p = _special("i0e", _sc.i0e, (lambda c, ans, x: mul(c, sub(i1e(x), mul(sign(x), ans))),))
# i1e' = i0e - i1e/x - sign(x) i1e
i1e_p = _special(
    "i1e",
    _sc.i1e,
    (lambda c, ans, x: mul(c, sub(sub(i0e(x), _over_x(ans, x)), mul(sign(x), ans))),),
)


# --- zeta, spence, exponential integrals --------------------------------------------------
def zeta(x: Any, q: Any) -> Any:
    return bind(zeta_p, x, q)


def spence(x: Any) -> Any:
    return bind(spence_p, x)


def expi(x: Any) -> Any:
    return bind(expi_p, x)


def exp1(x: Any) -> Any:
    return bind(exp1_p, x)


# Hurwitz zeta: ∂/∂q ζ(x, q) = -x ζ(x + 1, q)
zeta_p = _special(
    "zeta",
    _sc.zeta,
    (
        _no_derivative("zeta", "x"),
        lambda c, ans, x, q: neg(mul(c, mul(x, zeta(add(x, 1.0), q)))),
    ),
)


def _dspence(x: Any) -> Any:
    # scipy's spence(z) = ∫_1^z log(t) / (1 - t) dt, so spence' = log(x) / (1 - x) (-1 at x = 1)
    one = eq(x, 1.0)
    safe = select(one, add(mul(x, 0.0), 2.0), x)
    return select(one, add(mul(x, 0.0), -1.0), div(log(safe), sub(1.0, safe)))


spence_p = _special("spence", _sc.spence, (lambda c, ans, x: mul(c, _dspence(x)),))
expi_p = _special("expi", _sc.expi, (lambda c, ans, x: mul(c, div(exp(x), x)),))
exp1_p = _special("exp1", _sc.exp1, (lambda c, ans, x: neg(mul(c, div(exp(neg(x)), x))),))


def expn(n: Any, x: Any) -> Any:
    return bind(expn_p, n, x)


def gammasgn(x: Any) -> Any:
    return bind(gammasgn_p, x)


def hyp1f1(a: Any, b: Any, x: Any) -> Any:
    return bind(hyp1f1_p, a, b, x)


def hyp2f1(a: Any, b: Any, c: Any, x: Any) -> Any:
    return bind(hyp2f1_p, a, b, c, x)


def fresnel_s(x: Any) -> Any:
    return bind(fresnel_s_p, x)


def fresnel_c(x: Any) -> Any:
    return bind(fresnel_c_p, x)


# E_n' = -E_{n-1} for n >= 1, with E_0(x) = exp(-x) / x;  E_0' = -exp(-x) (x + 1) / x²
def _dexpn(n: Any, x: Any) -> Any:
    small = eq(n, 0.0)
    one = eq(n, 1.0)
    prev = expn(select(small, add(mul(n, 0.0), 1.0), sub(n, 1.0)), x)  # n - 1, kept >= 0
    e0 = div(exp(neg(x)), x)
    d0 = neg(div(mul(e0, add(x, 1.0)), x))
    return select(small, d0, neg(select(one, e0, prev)))


expn_p = _special(
    "expn",
    _sc.expn,
    (_no_derivative("expn", "n"), lambda c, ans, n, x: mul(c, _dexpn(n, x))),
)
# the sign of Γ is piecewise constant: derivative 0 (like sign)
gammasgn_p = define(
    "gammasgn",
    lambda x: _sc.gammasgn(x),
    lambda x: ShapedArray(x.shape, ufunc_dtype(_sc.gammasgn, x)),
    batch=batch_elementwise,
    differentiable=False,
    fresh=True,
)
# d/dx 1F1(a; b; x) = a/b 1F1(a+1; b+1; x);  d/dx 2F1(a, b; c; x) = ab/c 2F1(a+1, b+1; c+1; x)
hyp1f1_p = _special(
    "hyp1f1",
    _sc.hyp1f1,
    (
        _no_derivative("hyp1f1", "a"),
        _no_derivative("hyp1f1", "b"),
        lambda c, ans, a, b, x: mul(c, mul(div(a, b), hyp1f1(add(a, 1.0), add(b, 1.0), x))),
    ),
)
hyp2f1_p = _special(
    "hyp2f1",
    _sc.hyp2f1,
    (
        _no_derivative("hyp2f1", "a"),
        _no_derivative("hyp2f1", "b"),
        _no_derivative("hyp2f1", "c"),
        lambda g, ans, a, b, c, x: mul(
            g, mul(div(mul(a, b), c), hyp2f1(add(a, 1.0), add(b, 1.0), add(c, 1.0), x))
        ),
    ),
)


def _half_pi_sq(x: Any) -> Any:
    return mul(_sq(x), math.pi / 2.0)


# S' = sin(πx²/2), C' = cos(πx²/2)
fresnel_s_p = _special(
    "fresnel_s",
    lambda x: _sc.fresnel(x)[0],
    (lambda c, ans, x: mul(c, _sin(_half_pi_sq(x))),),
)
fresnel_c_p = _special(
    "fresnel_c",
    lambda x: _sc.fresnel(x)[1],
    (lambda c, ans, x: mul(c, _cos(_half_pi_sq(x))),),
)


def rgamma(x: Any) -> Any:
    return bind(rgamma_p, x)


rgamma_p = _special("rgamma", _sc.rgamma, (lambda c, ans, x: neg(mul(c, mul(ans, digamma(x)))),))


# --- Bessel functions of the first and second kind, and modified of real order -----------
def j0(x: Any) -> Any:
    return bind(j0_p, x)


def j1(x: Any) -> Any:
    return bind(j1_p, x)


def y0(x: Any) -> Any:
    return bind(y0_p, x)


def y1(x: Any) -> Any:
    return bind(y1_p, x)


def jv(v: Any, x: Any) -> Any:
    return bind(jv_p, v, x)


def yv(v: Any, x: Any) -> Any:
    return bind(yv_p, v, x)


def iv(v: Any, x: Any) -> Any:
    return bind(iv_p, v, x)


def ive(v: Any, x: Any) -> Any:
    return bind(ive_p, v, x)


# J0' = -J1, Y0' = -Y1;  J1' = J0 - J1/x, Y1' = Y0 - Y1/x (J1/x -> 1/2 at 0)
j0_p = _special("j0", _sc.j0, (lambda c, ans, x: neg(mul(c, j1(x))),))
j1_p = _special("j1", _sc.j1, (lambda c, ans, x: mul(c, sub(j0(x), _over_x(ans, x))),))
y0_p = _special("y0", _sc.y0, (lambda c, ans, x: neg(mul(c, y1(x))),))
y1_p = _special("y1", _sc.y1, (lambda c, ans, x: mul(c, sub(y0(x), div(ans, x))),))


def _half_sum(f: Any, v: Any, x: Any, sign_: float) -> Any:
    """(f(v - 1, x) + sign_ · f(v + 1, x)) / 2"""
    return mul(add(f(sub(v, 1.0), x), mul(f(add(v, 1.0), x), sign_)), 0.5)


# Z_v' = (Z_{v-1} - Z_{v+1}) / 2 for Z = J, Y;  I_v' = (I_{v-1} + I_{v+1}) / 2;
# ive = e^{-|x|} I_v:  ive' = (ive_{v-1} + ive_{v+1}) / 2 - sign(x) ive
jv_p = _special(
    "jv",
    _sc.jv,
    (_no_derivative("jv", "v"), lambda c, ans, v, x: mul(c, _half_sum(jv, v, x, -1.0))),
)
yv_p = _special(
    "yv",
    _sc.yv,
    (_no_derivative("yv", "v"), lambda c, ans, v, x: mul(c, _half_sum(yv, v, x, -1.0))),
)
iv_p = _special(
    "iv",
    _sc.iv,
    (_no_derivative("iv", "v"), lambda c, ans, v, x: mul(c, _half_sum(iv, v, x, 1.0))),
)
ive_p = _special(
    "ive",
    _sc.ive,
    (
        _no_derivative("ive", "v"),
        lambda c, ans, v, x: mul(c, sub(_half_sum(ive, v, x, 1.0), mul(sign(x), ans))),
    ),
)
