"""``laplace``: the Laplace distribution.

The same functions and parameters as ``jax.scipy.stats.laplace``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    return -_fnp.abs(y) - _fnp.log(2.0 * scale)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    neg = y < 0
    return _fnp.where(
        neg, 0.5 * _fnp.exp(_fnp.minimum(y, 0.0)), 1.0 - 0.5 * _fnp.exp(-_fnp.maximum(y, 0.0))
    )
