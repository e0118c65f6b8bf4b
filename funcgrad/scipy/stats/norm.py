"""``norm``: the normal distribution.

The same functions and parameters as ``jax.scipy.stats.norm``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density of N(loc, scale**2)."""
    y, loc, scale = _u.standardize(x, loc, scale)
    return -0.5 * y * y - _fnp.log(scale) - 0.5 * _u.LOG_2PI


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return 0.5 * _sp.erfc(y * -_np.sqrt(0.5))


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.log_ndtr(y)


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return 0.5 * _sp.erfc(y * _np.sqrt(0.5))


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.log_ndtr(-y)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc + scale * _sp.ndtri(q)


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc - scale * _sp.ndtri(q)
