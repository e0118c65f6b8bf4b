"""``poisson``: the Poisson distribution.

The same functions and parameters as ``jax.scipy.stats.poisson``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpmf", "pmf", "cdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    k, mu, loc = _u.f(k, mu, loc)
    k = k - loc
    ok = _fnp.logical_and(k >= 0, _u.is_int(k))
    ks = _u.safe(ok, k, 0.0)
    val = _sp.xlogy(ks, mu) - _sp.gammaln(ks + 1.0) - mu
    return _fnp.where(ok, val, _u.NEG_INF)


def pmf(k: Any, mu: Any, loc: Any = 0) -> Any:
    return _fnp.exp(logpmf(k, mu, loc))


def cdf(k: Any, mu: Any, loc: Any = 0) -> Any:
    """``gammaincc(floor(k) + 1, mu)`` (0 for k < 0); differentiable in ``mu``."""
    k, mu, loc = _u.f(k, mu, loc)
    k = _fnp.floor(k - loc)
    ok = k >= 0
    return _fnp.where(ok, _sp.gammaincc(_u.safe(ok, k, 0.0) + 1.0, mu), 0.0)
