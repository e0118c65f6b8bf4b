"""``dirichlet``: the Dirichlet distribution (scipy's layout: categories on axis 0).

The same functions and parameters as ``jax.scipy.stats.dirichlet``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.core import errors as _errors
from funcgrad.primitives import special as _sp
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, alpha: Any) -> Any:
    """Log density at ``x`` of shape ``(K,)`` or ``(K, N)`` for ``alpha`` of shape ``(K,)``;
    ``x`` may also give only the first ``K - 1`` coordinates (the last is ``1 - sum``)."""
    x, alpha = _u.f(x, alpha)
    if _np.ndim(alpha) != 1:
        raise _errors.LocatedValueError(
            f"dirichlet: alpha must be one-dimensional, got shape {_np.shape(alpha)}"
        )
    k = _np.shape(alpha)[0]
    if _np.ndim(x) == 0 or _np.shape(x)[0] not in (k, k - 1):
        raise _errors.LocatedValueError(
            f"dirichlet: x must have {k} (or {k - 1}) entries on axis 0, got shape {_np.shape(x)}"
        )
    if _np.shape(x)[0] == k - 1:
        x = _fnp.concatenate([x, 1.0 - _fnp.sum(x, axis=0, keepdims=True)], axis=0)
    a = _fnp.reshape(alpha, (k,) + (1,) * (_np.ndim(x) - 1))
    norm = _fnp.sum(_sp.gammaln(alpha)) - _sp.gammaln(_fnp.sum(alpha))
    ok = _fnp.logical_and(_fnp.all(x >= 0, axis=0), _fnp.abs(_fnp.sum(x, axis=0) - 1.0) < 1e-6)
    val = _fnp.sum(_sp.xlogy(a - 1.0, x), axis=0) - norm
    return _fnp.where(ok, val, _u.NEG_INF)


def pdf(x: Any, alpha: Any) -> Any:
    return _fnp.exp(logpdf(x, alpha))
