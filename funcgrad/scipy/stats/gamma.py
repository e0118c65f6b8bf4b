"""``gamma``: the gamma distribution with shape ``a``.

The same functions and parameters as ``jax.scipy.stats.gamma``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    a = _u.f(a)
    ok = y >= 0
    ys = _u.safe(ok, y, 1.0)
    val = _sp.xlogy(a - 1.0, ys) - ys - _sp.gammaln(a) - _fnp.log(scale)
    return _fnp.where(ok, val, _u.NEG_INF)


def pdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, a, loc, scale))


def cdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``gammainc(a, y)``."""
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.gammainc(_u.f(a), _fnp.maximum(y, 0.0))


def logcdf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, a, loc, scale))


def sf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.gammaincc(_u.f(a), _fnp.maximum(y, 0.0))


def logsf(x: Any, a: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(sf(x, a, loc, scale))
