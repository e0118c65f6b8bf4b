"""``t``: Student's t distribution.

The same functions and parameters as ``jax.scipy.stats.t``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density of Student's t with ``df`` degrees of freedom."""
    y, loc, scale = _u.standardize(x, loc, scale)
    df = _u.f(df)
    half = (df + 1.0) * 0.5
    norm = _sp.gammaln(half) - _sp.gammaln(df * 0.5) - 0.5 * (_fnp.log(df) + _u.LOG_PI)
    return norm - _fnp.log(scale) - half * _fnp.log1p(y * y / df)


def pdf(x: Any, df: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, df, loc, scale))
