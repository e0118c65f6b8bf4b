"""``gennorm``: the generalized normal distribution with shape ``beta``.

The same functions and parameters as ``jax.scipy.stats.gennorm``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, beta: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    beta = _u.f(beta)
    return (
        _fnp.log(beta)
        - _np.log(2.0)
        - _sp.gammaln(1.0 / beta)
        - _fnp.abs(y) ** beta
        - _fnp.log(scale)
    )


def pdf(x: Any, beta: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, beta, loc, scale))


def cdf(x: Any, beta: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``1/2 + sign(y) gammainc(1/beta, |y|**beta) / 2``."""
    y, _, _ = _u.standardize(x, loc, scale)
    beta = _u.f(beta)
    return 0.5 + 0.5 * _fnp.sign(y) * _sp.gammainc(1.0 / beta, _fnp.abs(y) ** beta)
