"""``wrapcauchy``: the wrapped Cauchy distribution on [0, 2 pi].

The same functions and parameters as ``jax.scipy.stats.wrapcauchy``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, c: Any) -> Any:
    x, c = _u.f(x, c)
    val = _fnp.log1p(-c * c) - _u.LOG_2PI - _fnp.log(1.0 + c * c - 2.0 * c * _fnp.cos(x))
    inside = _fnp.logical_and(x >= 0, x <= 2.0 * _np.pi)
    return _fnp.where(inside, val, _u.NEG_INF)


def pdf(x: Any, c: Any) -> Any:
    return _fnp.exp(logpdf(x, c))
