"""``logistic``: the logistic distribution.

The same functions and parameters as ``jax.scipy.stats.logistic``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "sf", "ppf", "isf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    return -y - 2.0 * _fnp.logaddexp(0.0, -y) - _fnp.log(scale)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.expit(y)


def sf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _sp.expit(-y)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc + scale * (_fnp.log(q) - _fnp.log1p(-q))


def isf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    return loc - scale * (_fnp.log(q) - _fnp.log1p(-q))
