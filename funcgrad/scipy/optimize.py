"""``funcgrad.scipy.optimize``: ``minimize(fun, x0, args, method="BFGS")`` as in
``jax.scipy.optimize``, with gradients from ``funcgrad.value_and_grad`` (jit-compiled).

BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 3.5/3.6). The result is
an ``OptimizeResults`` named tuple with JAX's fields and status codes (0 converged,
1 maximum iterations, 3 line search failed, 5 the line search hit its iteration limit).

Unlike JAX's (a ``while_loop``), the loop runs in Python on concrete values: call
``minimize`` outside ``jit``/``grad``/``vmap`` (inside them it raises ``TypeError``).

>>> import numpy as np, funcgrad.numpy as fnp
>>> r = minimize(lambda x: fnp.sum((x - np.array([1.0, -2.0])) ** 2), np.zeros(2), method="BFGS")
>>> bool(r.success), np.round(r.x, 6)
(True, array([ 1., -2.]))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as _np

from funcgrad.core import errors as _errors
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.transforms.jit import jit as _jit
from funcgrad.transforms.reverse import value_and_grad as _value_and_grad

__all__ = ["OptimizeResults", "minimize"]


def __dir__() -> list[str]:
    return list(__all__)


class OptimizeResults(NamedTuple):
    """Result of :func:`minimize` (``jax.scipy.optimize.OptimizeResults``)."""

    x: _np.ndarray
    success: bool
    status: int
    fun: float
    jac: _np.ndarray
    hess_inv: _np.ndarray | None
    nfev: int
    njev: int
    nit: int


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    args: tuple[Any, ...] = (),
    *,
    method: str,
    tol: float | None = None,
    options: dict[str, Any] | None = None,
) -> OptimizeResults:
    """Minimize the scalar function ``fun(x, *args)`` of a 1-D array ``x`` from ``x0``.

    ``method`` must be ``"BFGS"`` (case-insensitive). ``tol`` sets the gradient tolerance
    ``gtol`` (default 1e-5, on the ``norm``-norm of the gradient, default ``inf``);
    ``options``: ``maxiter`` (default ``200 * x0.size``), ``gtol``, ``norm``,
    ``line_search_maxiter`` (default 10).
    """
    if method.lower() != "bfgs":
        raise _errors.LocatedValueError(
            f"minimize: method {method!r} is not supported; use method='BFGS'"
        )
    if type(x0) is _Tracer or any(type(a) is _Tracer for a in args):
        raise _errors.LocatedTypeError(
            "minimize runs its loop on concrete values and cannot be traced by jit/grad/vmap in "
            "funcgrad; call it outside the transform"
        )
    x = _np.asarray(x0, dtype=_np.float64 if _np.asarray(x0).dtype.kind != "f" else None)
    if x.ndim != 1:
        raise _errors.LocatedValueError(
            f"minimize: x0 must be one-dimensional, got shape {x.shape}"
        )
    opts = dict(options or {})
    known = {"maxiter", "gtol", "norm", "line_search_maxiter"}
    if set(opts) - known:
        raise _errors.LocatedValueError(
            f"minimize: unknown options {sorted(set(opts) - known)}; known: {sorted(known)}"
        )
    maxiter = int(opts.get("maxiter", 200 * x.size))
    gtol = float(opts.get("gtol", 1e-5 if tol is None else tol))
    norm = opts.get("norm", _np.inf)
    ls_maxiter = int(opts.get("line_search_maxiter", 10))

    vg = _jit(_value_and_grad(lambda x, *a: fun(x, *a)))
    counts = {"n": 0}

    def evaluate(x: _np.ndarray) -> tuple[float, _np.ndarray]:
        counts["n"] += 1
        f, g = vg(x, *args)
        return float(f), _np.asarray(g, dtype=x.dtype)

    f, g = evaluate(x)
    n = x.size
    h = _np.eye(n, dtype=x.dtype)
    status = 1
    nit = 0
    while nit < maxiter:
        if _np.linalg.norm(g, ord=norm) < gtol:
            status = 0
            break
        p = -h @ g
        if not g @ p < 0:  # not a descent direction: restart from the gradient
            h = _np.eye(n, dtype=x.dtype)
            p = -g
        ok, alpha, f_new, g_new, ls_status = _line_search(evaluate, x, f, g, p, ls_maxiter)
        if not ok:
            status = ls_status
            break
        s = alpha * p
        x_new = x + s
        y = g_new - g
        sy = float(s @ y)
        if sy > 1e-12 * float(_np.linalg.norm(s) * _np.linalg.norm(y)) and sy > 0:
            rho = 1.0 / sy
            hy = h @ y
            h = (
                h
                - rho * (_np.outer(s, hy) + _np.outer(hy, s))
                + (rho * rho * float(y @ hy) + rho) * _np.outer(s, s)
            )
        x, f, g = x_new, f_new, g_new
        nit += 1
    else:
        status = 0 if _np.linalg.norm(g, ord=norm) < gtol else 1
    return OptimizeResults(
        x=x,
        success=status == 0,
        status=status,
        fun=f,
        jac=g,
        hess_inv=h,
        nfev=counts["n"],
        njev=counts["n"],
        nit=nit,
    )


def _line_search(
    evaluate: Callable[[Any], tuple[float, Any]],
    x: _np.ndarray,
    f0: float,
    g0: _np.ndarray,
    p: _np.ndarray,
    maxiter: int,
    c1: float = 1e-4,
    c2: float = 0.9,
) -> tuple[bool, float, float, _np.ndarray, int]:
    """Strong-Wolfe step length along ``p``: (ok, alpha, f, g, status if not ok)."""
    d0 = float(g0 @ p)
    a_prev, f_prev, d_prev = 0.0, f0, d0
    a = 1.0
    for i in range(maxiter):
        f, g = evaluate(x + a * p)
        d = float(g @ p)
        if not _np.isfinite(f) or f > f0 + c1 * a * d0 or (i > 0 and f >= f_prev):
            return _zoom(evaluate, x, f0, d0, p, a_prev, f_prev, d_prev, a, f, d, maxiter, c1, c2)
        if abs(d) <= -c2 * d0:
            return True, a, f, g, 0
        if d >= 0:
            return _zoom(evaluate, x, f0, d0, p, a, f, d, a_prev, f_prev, d_prev, maxiter, c1, c2)
        a_prev, f_prev, d_prev = a, f, d
        a *= 2.0
    return False, a, f0, g0, 5


def _zoom(
    evaluate: Callable[[Any], tuple[float, Any]],
    x: _np.ndarray,
    f0: float,
    d0: float,
    p: _np.ndarray,
    lo: float,
    f_lo: float,
    d_lo: float,
    hi: float,
    f_hi: float,
    d_hi: float,
    maxiter: int,
    c1: float,
    c2: float,
) -> tuple[bool, float, float, _np.ndarray, int]:
    for _ in range(maxiter * 3):
        # cubic interpolation between the bracket ends, bisection as a fallback
        a = _cubic_min(lo, f_lo, d_lo, hi, f_hi, d_hi)
        width = abs(hi - lo)
        if a is None or not (min(lo, hi) + 0.1 * width <= a <= max(lo, hi) - 0.1 * width):
            a = 0.5 * (lo + hi)
        f, g = evaluate(x + a * p)
        d = float(g @ p)
        if not _np.isfinite(f) or f > f0 + c1 * a * d0 or f >= f_lo:
            hi, f_hi, d_hi = a, f, d
        else:
            if abs(d) <= -c2 * d0:
                return True, a, f, g, 0
            if d * (hi - lo) >= 0:
                hi, f_hi, d_hi = lo, f_lo, d_lo
            lo, f_lo, d_lo = a, f, d
        if abs(hi - lo) < 1e-14 * max(1.0, abs(lo)):
            break
    if lo > 0 and f_lo < f0:  # sufficient decrease without curvature: accept
        f, g = evaluate(x + lo * p)
        return True, lo, f, g, 0
    return False, lo, f0, _np.zeros_like(x), 3


def _cubic_min(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float | None:
    if not all(_np.isfinite(v) for v in (fa, fb, da, db)):
        return None
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0:
        return None
    d2 = _np.copysign(_np.sqrt(disc), b - a)
    den = db - da + 2.0 * d2
    if den == 0:
        return None
    return float(b - (b - a) * (db + d2 - d1) / den)
