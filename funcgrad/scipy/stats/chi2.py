"""``chi2``: the chi-squared distribution with ``df`` degrees of freedom.

The same functions and parameters as ``jax.scipy.stats.chi2``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def __dir__() -> list[str]:
    return list(__all__)


from funcgrad.scipy.stats import gamma as _gamma  # noqa: E402


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _gamma.logpdf(x, _u.f(df) * 0.5, loc, _u.f(scale) * 2.0)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, df, loc, scale))


def cdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _gamma.cdf(x, _u.f(df) * 0.5, loc, _u.f(scale) * 2.0)


def logcdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(cdf(x, df, loc, scale))


def sf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _gamma.sf(x, _u.f(df) * 0.5, loc, _u.f(scale) * 2.0)


def logsf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.log(sf(x, df, loc, scale))
