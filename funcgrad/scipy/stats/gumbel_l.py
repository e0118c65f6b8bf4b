"""``gumbel_l``: the left-skewed Gumbel distribution.

The same functions and parameters as ``jax.scipy.stats.gumbel_l``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "logsf", "sf", "ppf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    return y - _fnp.exp(y) - _fnp.log(scale)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return -_fnp.expm1(-_fnp.exp(y))


def logcdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, loc, scale))


def logsf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return -_fnp.exp(y)


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logsf(x, loc, scale))


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc + scale * _fnp.log(-_fnp.log1p(-q))
