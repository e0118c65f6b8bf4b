"""``uniform``: the uniform distribution on [loc, loc + scale].

The same functions and parameters as ``jax.scipy.stats.uniform``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf", "cdf", "ppf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    x, loc, scale = _u.f(x, loc, scale)
    inside = _fnp.logical_and(x >= loc, x <= loc + scale)
    return _fnp.where(inside, -_fnp.log(scale), _u.NEG_INF)


def pdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, loc, scale))


def cdf(x: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, _, _ = _u.standardize(x, loc, scale)
    return _fnp.clip(y, 0.0, 1.0)


def ppf(q: Any, loc: Any = 0, scale: Any = 1) -> Any:
    q, loc, scale = _u.f(q, loc, scale)
    ok = _fnp.logical_and(q >= 0, q <= 1)
    return _fnp.where(ok, loc + q * scale, _np.nan)
