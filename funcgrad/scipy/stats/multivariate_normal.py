"""``multivariate_normal``: the multivariate normal distribution.

The same functions and parameters as ``jax.scipy.stats.multivariate_normal``.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.core import errors as _errors
from funcgrad.scipy.stats import _util as _u

__all__ = ["logpdf", "pdf"]


def __dir__() -> list[str]:
    return list(__all__)


def logpdf(x: Any, mean: Any, cov: Any, allow_singular: Any = None) -> Any:
    """Log density of N(mean, cov) at ``x`` (last axis = dimension). ``cov`` may be a
    matrix, a vector (diagonal) or a scalar (times the identity); it must be positive
    definite (``allow_singular=True`` is not supported, as in JAX)."""
    if allow_singular:
        raise _errors.LocatedNotImplementedError(
            "multivariate_normal.logpdf: allow_singular=True is not supported"
        )
    x, mean, cov = _u.f(x, mean, cov)
    if _np.ndim(mean) == 0 and _np.ndim(cov) == 0:
        d = x - mean
        return -0.5 * (d * d / cov + _fnp.log(cov) + _u.LOG_2PI)
    dim = _np.shape(mean)[-1] if _np.ndim(mean) else _np.shape(x)[-1]
    if _np.ndim(cov) < 2:
        cov = _fnp.eye(dim) * cov
    if _np.shape(cov)[-2:] != (dim, dim):
        raise _errors.LocatedValueError(
            f"multivariate_normal.logpdf: cov of shape {_np.shape(cov)} does not match a "
            f"mean of dimension {dim}"
        )
    chol = _fnp.linalg.cholesky(cov)
    diff = x - mean
    shape = _np.broadcast_shapes(_np.shape(diff)[:-1], _np.shape(chol)[:-2])
    diff = _fnp.broadcast_to(diff, shape + (dim,))
    z = _fnp.linalg.solve(_fnp.broadcast_to(chol, shape + (dim, dim)), diff[..., None])[..., 0]
    logdet = _fnp.sum(_fnp.log(_fnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    return -0.5 * _fnp.sum(z * z, axis=-1) - logdet - 0.5 * dim * _u.LOG_2PI


def pdf(x: Any, mean: Any, cov: Any, allow_singular: Any = None) -> Any:
    return _fnp.exp(logpdf(x, mean, cov, allow_singular))
