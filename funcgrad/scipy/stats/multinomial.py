"""``multinomial``: the multinomial distribution (counts on the last axis).

The same functions and parameters as ``jax.scipy.stats.multinomial``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpmf", "pmf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpmf(x: Any, n: Any, p: Any) -> Any:
    """``log(n! / prod(x!) * prod(p**x))`` for integer counts ``x`` summing to ``n``."""
    x, n, p = _u.f(x, n, p)
    total_ok = _fnp.sum(x, axis=-1) == n
    ok = _fnp.logical_and(total_ok, _fnp.all(_fnp.logical_and(x >= 0, _u.is_int(x)), axis=-1))
    val = (
        _sp.gammaln(n + 1.0)
        - _fnp.sum(_sp.gammaln(x + 1.0), axis=-1)
        + _fnp.sum(_sp.xlogy(x, p), axis=-1)
    )
    return _fnp.where(ok, val, _u.NEG_INF)


def pmf(x: Any, n: Any, p: Any) -> Any:
    return _fnp.exp(logpmf(x, n, p))
