"""``bernoulli``: the Bernoulli distribution.

The same functions and parameters as ``jax.scipy.stats.bernoulli``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpmf", "pmf", "cdf", "ppf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    k, p, loc = _u.f(k, p, loc)
    k = k - loc
    ok = _fnp.logical_or(k == 0, k == 1)
    ks = _u.safe(ok, k, 0.0)
    return _fnp.where(ok, _sp.xlogy(ks, p) + _sp.xlog1py(1.0 - ks, -p), _u.NEG_INF)


def pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    return _fnp.exp(logpmf(k, p, loc))


def cdf(k: Any, p: Any, loc: Any = 0) -> Any:
    k, p, loc = _u.f(k, p, loc)
    k = k - loc
    return _fnp.where(k < 0, 0.0, _fnp.where(k < 1, 1.0 - p, 1.0))


def ppf(q: Any, p: Any) -> Any:
    q, p = _u.f(q, p)
    ok = _fnp.logical_and(q >= 0, q <= 1)
    return _fnp.where(ok, _fnp.where(q > 1.0 - p, 1.0, 0.0), _np.nan)
