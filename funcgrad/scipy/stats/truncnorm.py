"""``truncnorm``: the normal distribution truncated to [a, b] (standardized units).

The same functions and parameters as ``jax.scipy.stats.truncnorm``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def __dir__() -> list[str]:
    return list(__all__)


def _ndtr(x: Any) -> Any:
    return 0.5 * _sp.erfc(x * -_np.sqrt(0.5))


def _mass(lo: Any, hi: Any, right: Any) -> Any:
    """Phi(hi) - Phi(lo), computed in the tail (mirrored) where ``right``, for precision."""
    return _fnp.where(right, _ndtr(-lo) - _ndtr(-hi), _ndtr(hi) - _ndtr(lo))


def _log_mass(a: Any, b: Any) -> Any:
    return _fnp.log(_mass(a, b, a > 0))


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    val = -0.5 * y * y - 0.5 * _u.LOG_2PI - _fnp.log(scale) - _log_mass(a, b)
    return _fnp.where(_fnp.logical_and(y >= a, y <= b), val, _u.NEG_INF)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, a, b, loc, scale))


def cdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    yc = _fnp.clip(y, a, b)
    return _mass(a, yc, a > 0) / _mass(a, b, a > 0)


def logcdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, a, b, loc, scale))


def sf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    a, b = _u.f(a, b)
    yc = _fnp.clip(y, a, b)
    return _mass(yc, b, a > 0) / _mass(a, b, a > 0)


def logsf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(sf(x, a, b, loc, scale))
