"""Numerics behind the random samplers, each a primitive with its numpy forward pass:

* ``erf_inv`` — the inverse error function with XLA's (hence JAX's) approximation: Giles,
  "Approximating the erfinv function" (GPU Computing Gems, 2011), a degree-8 polynomial in
  float32 and degree-22/18/16 polynomials in float64, so that ``normal`` draws the same numbers
  as JAX. Derivative ``sqrt(pi)/2 * exp(erf_inv(x)**2)``.
* ``erf`` — the error function (forward pass: the C library's ``erf`` through :mod:`math`);
  derivative ``2/sqrt(pi) * exp(-x**2)``. Used for ``truncated_normal``'s bounds.
* ``random_normal(keys, shape, dtype)`` — JAX's ``normal`` as one primitive: threefry bits ->
  floats in ``[0, 1)`` -> uniform on ``(nextafter(-1, 0), 1)`` -> ``sqrt(2) * erf_inv(u)``, the
  same operations as the composition in ``funcgrad.random`` (so the same numbers), run by the
  numba kernels of ``_random_numba`` or by numpy, as ``config.random_backend`` says.
* ``nextafter`` — the next float after ``x`` towards ``y`` (no derivative).
* ``random_gamma(keys, a, log_space)`` — Marsaglia & Tsang's rejection sampler ("A simple
  method for generating gamma variables", ACM TOMS 2000) with JAX's key schedule: one key per
  element (``split(key, a.size)``), each element running its own loop; ``a < 1`` is boosted
  (``Gamma(a) = Gamma(a + 1) * U**(1/a)``). All elements run together in numpy, masked.
  Its derivative in ``a`` is the implicit reparameterisation gradient
  ``dx/da = -(dF/da) / (dF/dx)`` at fixed CDF ``F(x; a)`` (Figurnov et al. 2018), as in JAX.
* ``random_gamma_grad(a, x)`` — that ``dx/da``: ``dF/da`` from the series
  ``P(a, x) = x**a e**-x sum_n x**n / Gamma(a + n + 1)`` differentiated term by term, divided by
  the density. Its derivative rules use ``random_gamma_grad_partials(a, x)`` (the same series
  differentiated once more), so second derivatives of samples work; a third raises.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives import _erf_inv_coeffs as _coef
from funcgrad.primitives.base import broadcast_shapes, define, ufunc_dtype
from funcgrad.primitives.elementwise import batch_elementwise, div, eq, exp, mul, select
from funcgrad.primitives.random_bits import (
    _check_keys,
    _front_batch,
    _numba_kernels,
    _static_shape,
    bits_np,
    scratch,
    split_np,
    unit_float_np,
)

__all__ = [
    "erf_inv",
    "erf",
    "nextafter",
    "random_gamma",
    "random_gamma_grad",
    "random_normal",
    "erf_inv_np",
    "normal_np",
    "gamma_np",
]


# --- erf_inv -------------------------------------------------------------------------------------
_ERFINV32_LT5 = _coef.ERFINV32_LT5
_ERFINV32_GE5 = _coef.ERFINV32_GE5
_ERFINV64_LT625 = _coef.ERFINV64_LT625
_ERFINV64_LT16 = _coef.ERFINV64_LT16
_ERFINV64_GE16 = _coef.ERFINV64_GE16


def _zero_d(dt: np.dtype, values: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Constants as 0-d arrays: a ufunc converts a numpy scalar operand on every call, which
    costs as much as the arithmetic on a thousand elements; a 0-d array is used as is."""
    return tuple(np.array(v, dt) for v in values)


class _ErfInvSet:
    """XLA's erf_inv for one float dtype: ``w = -log1p(-x*x)``; below ``cut`` the polynomial
    ``main`` in ``w - shift``; above it the ``tails`` in ``sqrt(w) - s`` (first bound > w)."""

    def __init__(self, dt: Any, main: tuple, cut: float, shift: float, tails: list) -> None:
        self.dt = np.dtype(dt)
        self.main = main
        self.main0d = _zero_d(self.dt, main)
        self.cut = self.dt.type(cut)
        self.shift0d = np.array(shift, self.dt)
        self.tails = tails


_ERFINV_SETS = {
    np.dtype(np.float64): _ErfInvSet(
        np.float64, _ERFINV64_LT625, 6.25, 3.125,
        [(16.0, _ERFINV64_LT16, 3.25), (np.inf, _ERFINV64_GE16, 5.0)],
    ),
    np.dtype(np.float32): _ErfInvSet(
        np.float32, _ERFINV32_LT5, 5.0, 2.5, [(np.inf, _ERFINV32_GE5, 3.0)]
    ),
}  # fmt: skip


def _horner(coeffs: tuple[float, ...], w: np.ndarray) -> np.ndarray:
    dt = w.dtype.type
    p = np.full_like(w, dt(coeffs[0]))
    for c in coeffs[1:]:
        p *= w
        p += dt(c)
    return p


def _erf_inv_core(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """XLA's erf_inv of a float32/float64 array ``x`` (at least 1-d) into ``out``: about 50
    ufunc calls, every one with ``out=`` and 0-d constant operands. The operations (and their
    order) are exactly those of the straightforward evaluation, so results are bit-identical
    to it; the rare tail values (``|x| > 0.998`` in float64) are patched afterwards."""
    e = _ERFINV_SETS[x.dtype]
    mul, add = np.multiply, np.add
    w = mul(x, x, scratch("w", x.shape, x.dtype))
    np.negative(w, w)
    np.log1p(w, w)
    np.negative(w, w)
    z = np.subtract(w, e.shift0d, scratch("z", x.shape, x.dtype))
    c = e.main0d
    mul(z, c[0], out)
    add(out, c[1], out)
    for ci in c[2:]:
        mul(out, z, out)
        add(out, ci, out)
    mul(out, x, out)
    if not w.max(initial=-np.inf) < e.cut:  # a tail value, or a NaN
        _erf_inv_tails(x, w, out, e)
    return out


def _erf_inv_tails(x: np.ndarray, w: np.ndarray, out: np.ndarray, e: _ErfInvSet) -> None:
    """Overwrite ``out`` where ``w >= cut`` (or NaN) with the tail polynomials; ``|x| == 1``
    gives ``±inf``, ``|x| > 1`` NaN. ``x``, ``w``, ``out``: C-contiguous, the same shape."""
    dt = x.dtype.type
    xs, ws, outs = x.reshape(-1), w.reshape(-1), out.reshape(-1)
    idx = np.flatnonzero(~(ws < e.cut))
    if x.dtype == np.float64 and idx.size <= 16:  # a few tail values: Python floats
        outs[idx] = [
            xv * math.inf if abs(xv) == 1 else _tail_py(xv, wv, e.tails)
            for xv, wv in zip(xs[idx].tolist(), ws[idx].tolist())
        ]
        return
    wf = ws[idx]
    xf = xs[idx]
    with np.errstate(all="ignore"):
        sw = np.sqrt(wf)
        res = np.full(wf.shape, np.nan, x.dtype)
        left = np.ones(wf.shape, bool)
        for bound, coeffs, s in e.tails:
            m = left & (wf < dt(bound))
            if m.any():
                res[m] = _horner(coeffs, sw[m] - dt(s)) * xf[m]
            left &= ~m
        edge = np.abs(xf) == 1
        res[edge] = xf[edge] * np.inf
    outs[idx] = res


def _tail_py(x: float, w: float, tails: list[tuple[float, tuple, float]]) -> float:
    """One tail value with Python floats (the same IEEE double operations as the array path)."""
    sw = math.sqrt(w) if w >= 0 else math.nan
    for bound, coeffs, s in tails:
        if w < bound:
            z = sw - s
            p = coeffs[0]
            for c in coeffs[1:]:
                p = p * z + c
            return p * x
    return math.nan


def erf_inv_np(x: Any) -> np.ndarray:
    """XLA's erf_inv in numpy (float16 computed in float32, as XLA does)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    orig = x.dtype
    if orig != np.float64:
        x = x.astype(np.float32)
    xs = np.ascontiguousarray(np.atleast_1d(x))
    with np.errstate(all="ignore"):
        out = _erf_inv_core(xs, np.empty_like(xs))
    out = out.reshape(x.shape)
    return out.astype(orig) if orig != out.dtype else out


def erf_inv(x: Any) -> Any:
    """The inverse error function (XLA's approximation, float32 or float64)."""
    return bind(erf_inv_p, x)


def _float_unary_shape(name: str) -> Any:
    def rule(x: ShapedArray) -> ShapedArray:
        if x.dtype.kind not in "fiub":
            raise LocatedTypeError(f"{name}: expected a real array, got {x}")
        dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
        return ShapedArray(x.shape, dt, x.weak)

    return rule


_SQRT_PI_2 = math.sqrt(math.pi) / 2


def _erf_inv_lin(t: Any, ans: Any, x: Any) -> Any:
    return mul(t, mul(exp(mul(ans, ans)), _SQRT_PI_2))


erf_inv_p = define(
    "erf_inv",
    erf_inv_np,
    _float_unary_shape("erf_inv"),
    vjp=(_erf_inv_lin,),
    jvp=(_erf_inv_lin,),
    batch=batch_elementwise,
    fresh=True,
)


# --- random_normal -------------------------------------------------------------------------------
class _NormalConsts:
    """The constants of ``normal`` for one dtype, as 0-d arrays (numpy) and plain values."""

    def __init__(self, dt: Any) -> None:
        dt = np.dtype(dt)
        one = np.array(1.0, dt)
        self.lo = np.nextafter(np.array(-1.0, dt), np.array(0.0, dt))  # 0-d
        self.scale = np.subtract(one, self.lo)  # maxval - minval, rounded in dt (0-d)
        self.sqrt2 = np.array(np.sqrt(2), dt)
        self.one = one
        nbits, nmant, one_bits = _FLOAT_LAYOUT_BITS[dt]
        u = np.dtype(f"uint{nbits}")
        self.shift = np.array(nbits - nmant, u)
        self.one_bits = np.array(one_bits, u)
        e = _ERFINV_SETS[dt]
        tails = list(e.tails) + [e.tails[-1]] * (2 - len(e.tails))
        (b1, c1, s1), (_, c2, s2) = tails
        self.numba = (
            dt.type(self.scale), dt.type(self.lo), dt.type(self.sqrt2),
            np.array(e.main, dt), e.cut, dt.type(e.shift0d),
            np.array(c1, dt), dt.type(b1), dt.type(s1), np.array(c2, dt), dt.type(s2),
        )  # fmt: skip


_FLOAT_LAYOUT_BITS = {np.dtype(np.float32): (32, 23, 0x3F800000),
                      np.dtype(np.float64): (64, 52, 0x3FF0000000000000)}  # fmt: skip
_NORMAL_CONSTS = {dt: _NormalConsts(dt) for dt in _FLOAT_LAYOUT_BITS}


def normal_np(keys: Any, *, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``random_normal``: standard normal draws ``dtype[*keys.shape[:-1], *shape]``."""
    keys = np.asarray(keys, np.uint32)
    dtype = np.dtype(dtype)
    c = _NORMAL_CONSTS.get(dtype)
    if c is None:
        raise LocatedTypeError(f"random_normal: dtype must be float32 or float64, got {dtype}")
    full = keys.shape[:-1] + tuple(shape)
    n = 1
    for d in shape:
        n *= d
    nb = _numba_kernels()
    if nb is not None:
        return nb.normal(keys.reshape(-1, 2), n, dtype, c.numba).reshape(full)
    bits = bits_np(keys, dtype.itemsize * 8, tuple(shape))  # a fresh array: used in place
    np.right_shift(bits, c.shift, bits)
    np.bitwise_or(bits, c.one_bits, bits)
    u = np.atleast_1d(bits.view(dtype))
    np.subtract(u, c.one, u)  # floats in [0, 1): the mantissa bits of 1.x, minus 1
    # uniform on (lo, 1): u * (1 - lo) + lo; JAX's max(lo, .) is a no-op here (u * scale >= 0)
    np.multiply(u, c.scale, u)
    np.add(u, c.lo, u)
    out = _erf_inv_core(u, np.empty_like(u))  # |u| < 1: finite, no floating-point warnings
    np.multiply(out, c.sqrt2, out)
    return out.reshape(full)


def random_normal(keys: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Standard normal draws ``dtype[*keys.shape[:-1], *shape]`` (float32 or float64) from
    keys ``uint32[..., 2]``: JAX's ``normal`` for each key."""
    return bind(random_normal_p, keys, shape=tuple(shape), dtype=np.dtype(dtype))


def _normal_shape(k: ShapedArray, *, shape: tuple[int, ...], dtype: np.dtype) -> ShapedArray:
    _check_keys("normal", k)
    if dtype not in _NORMAL_CONSTS:
        raise LocatedTypeError(f"random_normal: dtype must be float32 or float64, got {dtype}")
    return ShapedArray(k.shape[:-1] + _static_shape("normal", shape), dtype)


random_normal_p = define(
    "random_normal",
    normal_np,
    _normal_shape,
    batch=_front_batch,
    differentiable=False,
    fresh=True,
)


# --- erf -----------------------------------------------------------------------------------------
_erf_ufunc = np.frompyfunc(math.erf, 1, 1)
_erf_kernel: list[Any] = []  # scipy's vectorised erf when the [scipy] extra is installed


def _erf_np(x: Any) -> Any:
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if not _erf_kernel:
        try:  # imported on first use, so `import funcgrad` does not pay for scipy
            from scipy.special import erf as fast
        except ImportError:  # the core needs numpy only: Python's math.erf, elementwise
            fast = None
        _erf_kernel.append(fast)
    if _erf_kernel[0] is not None:
        return np.asarray(_erf_kernel[0](x.astype(np.float64)), np.float64).astype(dt)
    return np.asarray(_erf_ufunc(x.astype(np.float64)), np.float64).astype(dt)


def erf(x: Any) -> Any:
    """The error function."""
    return bind(erf_p, x)


def _erf_lin(t: Any, ans: Any, x: Any) -> Any:
    return mul(t, mul(exp(mul(mul(x, x), -1.0)), 1.0 / _SQRT_PI_2))


erf_p = define(
    "erf",
    _erf_np,
    _float_unary_shape("erf"),
    vjp=(_erf_lin,),
    jvp=(_erf_lin,),
    batch=batch_elementwise,
    fresh=True,
)


# --- nextafter -----------------------------------------------------------------------------------
def nextafter(x: Any, y: Any) -> Any:
    """The next representable float after ``x`` towards ``y`` (elementwise, no derivative)."""
    return bind(nextafter_p, x, y)


def _nextafter_shape(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    return ShapedArray(broadcast_shapes("nextafter", x, y), ufunc_dtype(np.nextafter, x, y))


nextafter_p = define(
    "nextafter",
    np.nextafter,
    _nextafter_shape,
    batch=batch_elementwise,
    differentiable=False,
    ufunc=np.nextafter,
)


# --- random_gamma --------------------------------------------------------------------------------
def _scalar_uniform_np(keys: np.ndarray, dt: np.dtype, lo: Any = 0.0, hi: Any = 1.0) -> np.ndarray:
    """One ``uniform(key, (), dt, lo, hi)`` per key of ``keys[N, 2]``."""
    nbits = dt.itemsize * 8
    f = unit_float_np(bits_np(keys, nbits, ()), dt)
    lo = dt.type(lo)
    hi = dt.type(hi)
    return np.maximum(lo, f * (hi - lo) + lo)


def _scalar_normal_np(keys: np.ndarray, dt: np.dtype) -> np.ndarray:
    if dt in _NORMAL_CONSTS:  # the fused kernels (same numbers)
        return normal_np(keys, shape=(), dtype=dt)
    lo = np.nextafter(dt.type(-1.0), dt.type(0.0))
    u = _scalar_uniform_np(keys, dt, lo, 1.0)
    return dt.type(np.sqrt(2)) * erf_inv_np(u)


def _gamma_one_np(keys: np.ndarray, alpha: np.ndarray, log_space: bool) -> np.ndarray:
    """Marsaglia–Tsang per element, JAX's key schedule (``keys[N, 2]``, ``alpha[N]``)."""
    dt = alpha.dtype
    c = dt.type
    one, third = c(1), c(1.0 / 3.0)
    with np.errstate(all="ignore"):
        boost = alpha >= one
        al = np.where(boost, alpha, alpha + one)
        d = al - third
        cc = third / np.sqrt(d)
        ks = split_np(keys, (2,))
        key, sub = ks[:, 0].copy(), ks[:, 1]
        n = alpha.shape[0]
        V = np.ones(n, dt)
        active = np.arange(n)
        while active.size:
            k3 = split_np(key[active], (3,))
            key[active] = k3[:, 0]
            xk, uk = k3[:, 1].copy(), k3[:, 2]
            ca = cc[active]
            x = np.zeros(active.size, dt)
            v = np.full(active.size, c(-1), dt)
            need = np.arange(active.size)
            while need.size:  # redraw x until v = 1 + c x > 0
                k2 = split_np(xk[need], (2,))
                xk[need] = k2[:, 0]
                xn = _scalar_normal_np(k2[:, 1], dt)
                x[need] = xn
                v[need] = one + xn * ca[need]
                need = need[v[need] <= 0]
            X = x * x
            Vn = v * v * v
            U = _scalar_uniform_np(uk, dt)
            V[active] = Vn
            da = d[active]
            reject = (U >= one - c(0.0331) * (X * X)) & (
                np.log(U) >= X * c(0.5) + da * ((one - Vn) + np.log(Vn))
            )
            active = active[reject]
        u = _scalar_uniform_np(sub, dt)
        if log_space:
            log_samples = np.log1p(-u)
            log_boost = np.where(boost | (log_samples == 0), c(0), log_samples * (one / alpha))
            return (np.log(d) + np.log(V)) + log_boost
        samples = one - u
        boosted = np.where(boost, one, np.power(samples, one / alpha))
        return (d * V) * boosted


def gamma_np(keys: Any, a: Any, *, log_space: bool) -> np.ndarray:
    """``random_gamma`` in numpy: ``keys[*K, 2]``, ``a[*K, *rest]`` -> samples shaped like ``a``."""
    keys = np.asarray(keys, np.uint32)
    a = np.asarray(a)
    per_key = int(np.prod(a.shape[keys.ndim - 1 :], dtype=np.int64))
    sub = split_np(keys.reshape(-1, 2), (per_key,)).reshape(-1, 2)
    out = _gamma_one_np(sub, a.reshape(-1), log_space)
    return out.reshape(a.shape)


def random_gamma(keys: Any, a: Any, log_space: bool = False) -> Any:
    """Gamma(a, 1) samples (their logs if ``log_space``); ``keys[*K, 2]``, ``a[*K, ...]``."""
    return bind(random_gamma_p, keys, a, log_space=bool(log_space))


def _gamma_shape(k: ShapedArray, a: ShapedArray, *, log_space: bool) -> ShapedArray:
    if k.dtype != np.uint32 or k.ndim < 1 or k.shape[-1] != 2:
        raise LocatedTypeError(f"gamma: expected a uint32 key array with last axis 2, got {k}")
    if a.dtype.kind != "f":
        raise LocatedTypeError(f"gamma: the shape parameter a must be a float array, got {a}")
    if a.shape[: k.ndim - 1] != k.shape[:-1]:
        raise LocatedValueError(f"gamma: a {a} must start with the key batch shape {k.shape[:-1]}")
    return ShapedArray(a.shape, a.dtype)


def _gamma_grad_of(ans: Any, a: Any, log_space: bool) -> Any:
    """``d sample / d a``; in log space ``(dx/da) / x`` with ``x = exp(log sample)`` (0 -> tiny)."""
    if not log_space:
        return random_gamma_grad(a, ans)
    x = exp(ans)
    x = select(eq(x, 0.0), np.finfo(np.dtype(x.dtype)).tiny, x)
    return div(random_gamma_grad(a, x), x)


def _gamma_lin(t: Any, ans: Any, k: Any, a: Any, *, log_space: bool) -> Any:
    return mul(t, _gamma_grad_of(ans, a, log_space))


random_gamma_p = define(
    "random_gamma",
    gamma_np,
    _gamma_shape,
    vjp=(None, _gamma_lin),
    jvp=(None, _gamma_lin),
    batch=_front_batch,
    fresh=True,
)


# --- random_gamma_grad ---------------------------------------------------------------------------
def _digamma_trigamma_np(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Digamma and trigamma for z > 0: recurrence up to z >= 10, then asymptotic series
    (truncation error < 1e-14 there)."""
    z = np.array(z, np.float64)
    psi = np.zeros_like(z)
    tri = np.zeros_like(z)
    for _ in range(10):
        small = z < 10
        if not small.any():
            break
        zs = z[small]
        psi[small] -= 1.0 / zs
        tri[small] += 1.0 / (zs * zs)
        z[small] += 1.0
    r = 1.0 / (z * z)
    psi += np.log(z) - 0.5 / z
    psi -= r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132)))))
    tri += 1 / z + r / 2 + r / z * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30 - r * 5 / 66))))
    return psi, tri


def _gamma_grad_series(a: Any, x: Any, partials: bool) -> tuple[np.ndarray, ...]:
    """``g = dx/da`` at fixed ``P(a, x)`` and, if ``partials``, ``dg/da`` and ``dg/dx``.

    ``g = -x/a * S`` with ``S = sum_n r_n (log x - psi(a + n + 1))``, ``r_0 = 1``,
    ``r_{n+1} = r_n x / (a + n + 1)`` (``dP/da`` over the density; their common factor
    ``x**a e**-x / Gamma(a + 1)`` cancels). Term by term: ``dr_n/dx = n r_n / x``,
    ``dr_n/da = r_n (psi(a + 1) - psi(a + n + 1))``, ``d psi(a + n + 1)/da`` = trigamma."""
    a, x = np.broadcast_arrays(np.asarray(a), np.asarray(x))
    dt = np.result_type(a.dtype, x.dtype, np.float32)
    af = a.astype(np.float64).ravel()
    xf = x.astype(np.float64).ravel()
    with np.errstate(all="ignore"):
        logx = np.log(xf)
        psi0, tri = _digamma_trigamma_np(af + 1.0)
        psi = psi0.copy()
        r = np.ones_like(af)
        lp = logx - psi
        s = lp.copy()
        sx = np.ones_like(af)  # x * dS/dx
        sa = -tri  # dS/da
        n_min = float(np.max(xf - af, initial=0.0))
        for n in range(1, 100000):
            denom = af + n
            psi = psi + 1.0 / denom
            r = r * xf / denom
            lp = logx - psi
            term = r * lp
            s = s + term
            if partials:
                tri = tri - 1.0 / (denom * denom)
                sx = sx + r * (n * lp + 1.0)
                sa = sa + r * ((psi0 - psi) * lp - tri)
            if n > n_min and np.all(np.abs(term) <= 1e-17 * np.abs(s)):
                break
        g = -s * xf / af
        out = [np.where(xf == 0, 0.0, g)]
        if partials:
            out.append(np.where(xf == 0, 0.0, (s / af - sa) * xf / af))  # dg/da
            out.append(np.where(xf == 0, 0.0, -(sx + s) / af))  # dg/dx
    return tuple(o.reshape(a.shape).astype(dt) for o in out)


def _gamma_grad_np(a: Any, x: Any) -> np.ndarray:
    return _gamma_grad_series(a, x, False)[0]


def random_gamma_grad(a: Any, x: Any) -> Any:
    """``d x / d a`` of a Gamma(a, 1) sample ``x`` at fixed CDF (implicit reparameterisation)."""
    return bind(random_gamma_grad_p, a, x)


def _gamma_grad_shape(a: ShapedArray, x: ShapedArray) -> ShapedArray:
    if a.dtype.kind != "f" or x.dtype.kind != "f":
        raise LocatedTypeError(f"random_gamma_grad: expected float arrays, got {a} and {x}")
    return ShapedArray(
        broadcast_shapes("random_gamma_grad", a, x), np.result_type(a.dtype, x.dtype)
    )


def _no_third_derivative(*_: Any, **__: Any) -> Any:
    raise LocatedNotImplementedError(
        "random_gamma_grad_partials has no derivative: third derivatives of gamma, beta and "
        "dirichlet samples with respect to their parameters are not implemented"
    )


def _partials_shape(a: ShapedArray, x: ShapedArray) -> list[ShapedArray]:
    return [_gamma_grad_shape(a, x)] * 2


random_gamma_grad_partials_p = define(
    "random_gamma_grad_partials",
    lambda a, x: list(_gamma_grad_series(a, x, True)[1:]),
    _partials_shape,
    vjp=(_no_third_derivative, _no_third_derivative),
    jvp=(_no_third_derivative, _no_third_derivative),
    batch=lambda prim, args, dims: (batch_elementwise(prim, args, dims)[0], [0, 0]),
    multiple_results=True,
    fresh=True,
)


def _partial(i: int) -> Any:
    def rule(t: Any, ans: Any, a: Any, x: Any) -> Any:
        return mul(t, bind(random_gamma_grad_partials_p, a, x)[i])

    return rule


random_gamma_grad_p = define(
    "random_gamma_grad",
    _gamma_grad_np,
    _gamma_grad_shape,
    vjp=(_partial(0), _partial(1)),
    jvp=(_partial(0), _partial(1)),
    batch=batch_elementwise,
    fresh=True,
)
