"""``beta``: the beta distribution.

The same functions and parameters as ``jax.scipy.stats.beta``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    ok = _fnp.logical_and(y >= 0, y <= 1)
    ys = _u.safe(ok, y, 0.5)
    val = _sp.xlogy(a - 1.0, ys) + _sp.xlog1py(b - 1.0, -ys) - _sp.betaln(a, b)
    return _fnp.where(ok, val - _fnp.log(scale), _u.NEG_INF)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, a, b, loc, scale))


def cdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``betainc(a, b, y)``: differentiable in ``x``, ``loc``, ``scale``, not in ``a``/``b``."""
    y, _, _ = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    return _sp.betainc(a, b, _fnp.clip(y, 0.0, 1.0))


def logcdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, a, b, loc, scale))


def sf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    return _sp.betainc(b, a, 1.0 - _fnp.clip(y, 0.0, 1.0))


def logsf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(sf(x, a, b, loc, scale))
