"""``cauchy``: the Cauchy distribution.

The same functions and parameters as ``jax.scipy.stats.cauchy``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    return -_u.LOG_PI - _fnp.log(scale) - _fnp.log1p(y * y)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return 0.5 + _fnp.arctan(y) / _np.pi


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, loc, scale))


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return 0.5 - _fnp.arctan(y) / _np.pi


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(sf(x, loc, scale))


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc + scale * _fnp.tan(_np.pi * (q - 0.5))


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc + scale * _fnp.tan(_np.pi * (0.5 - q))
