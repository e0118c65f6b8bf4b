"""``vonmises``: the von Mises distribution on [-pi, pi].

The same functions and parameters as ``jax.scipy.stats.vonmises``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, kappa: Any) -> Any:
    x, kappa = _u.f(x, kappa)
    val = kappa * (_fnp.cos(x) - 1.0) - _u.LOG_2PI - _fnp.log(_sp.i0e(kappa))
    return _fnp.where(_fnp.abs(x) <= _np.pi, val, _u.NEG_INF)


def pdf(x: Any, kappa: Any) -> Any:
    return _fnp.exp(logpdf(x, kappa))
