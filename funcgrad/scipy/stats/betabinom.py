"""``betabinom``: the beta-binomial distribution.

The same functions and parameters as ``jax.scipy.stats.betabinom``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpmf", "pmf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpmf(k: Any, n: Any, a: Any, b: Any, loc: Any = 0) -> Any:
    k, n, a, b, loc = _u.f(k, n, a, b, loc)
    k = k - loc
    ok = _fnp.logical_and(_fnp.logical_and(k >= 0, k <= n), _u.is_int(k))
    ks = _u.safe(ok, k, 0.0)
    comb = _sp.gammaln(n + 1.0) - _sp.gammaln(ks + 1.0) - _sp.gammaln(n - ks + 1.0)
    val = comb + _sp.betaln(ks + a, n - ks + b) - _sp.betaln(a, b)
    return _fnp.where(ok, val, _u.NEG_INF)


def pmf(k: Any, n: Any, a: Any, b: Any, loc: Any = 0) -> Any:
    return _fnp.exp(logpmf(k, n, a, b, loc))
