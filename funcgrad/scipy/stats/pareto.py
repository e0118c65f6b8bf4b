"""``pareto``: the Pareto distribution with shape ``b``.

The same functions and parameters as ``jax.scipy.stats.pareto``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    y, loc, scale = _u.standardize(x, loc, scale)
    b = _u.f(b)
    ok = y >= 1
    ys = _u.safe(ok, y, 1.0)
    return _fnp.where(ok, _fnp.log(b) - _fnp.log(scale) - (b + 1.0) * _fnp.log(ys), _u.NEG_INF)


def pdf(x: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    return _fnp.exp(logpdf(x, b, loc, scale))
