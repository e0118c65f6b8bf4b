"""``geom``: the geometric distribution on k = 1, 2, ....

The same functions and parameters as ``jax.scipy.stats.geom``.
"""

from __future__ import annotations

from typing import Any

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpmf", "pmf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpmf(k: Any, p: Any, loc: Any = 0) -> Any:
    k, p, loc = _u.f(k, p, loc)
    k = k - loc
    ok = _fnp.logical_and(k >= 1, _u.is_int(k))
    ks = _u.safe(ok, k, 1.0)
    return _fnp.where(ok, _sp.xlog1py(ks - 1.0, -p) + _fnp.log(p), _u.NEG_INF)


def pmf(k: Any, p: Any, loc: Any = 0) -> Any:
    return _fnp.exp(logpmf(k, p, loc))
