"""JAX's ``jax.nn.initializers`` in JAX's factory form: ``glorot_uniform()`` returns
``init(key, shape, dtype=float64) -> array`` drawing from a ``funcgrad.random`` key, with the
same numbers JAX draws (``funcgrad.random`` reproduces JAX's bits; x64 dtypes by default).

(``funcgrad.nn.glorot_uniform`` and ``funcgrad.nn.he_normal`` are the older numpy-Generator
form, ``glorot_uniform(rng, shape)``; these are the JAX-compatible ones.)

>>> import funcgrad.random as fr
>>> w = glorot_uniform()(fr.PRNGKey(0), (3, 2))
>>> w.shape, w.dtype
((3, 2), dtype('float64'))
"""

import math as _math
from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

import funcgrad.numpy as _fnp
import funcgrad.random as _random
from funcgrad.core.errors import LocatedValueError as _LocatedValueError

__all__ = [
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "truncated_normal",
    "variance_scaling",
    "glorot_uniform",
    "xavier_uniform",
    "glorot_normal",
    "xavier_normal",
    "lecun_uniform",
    "lecun_normal",
    "he_uniform",
    "kaiming_uniform",
    "he_normal",
    "kaiming_normal",
    "orthogonal",
    "delta_orthogonal",
]

_F64 = _np.float64


def _shape(shape: _Any) -> tuple[int, ...]:
    return tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))


def zeros(key: _Any, shape: _Any, dtype: _Any = _F64) -> _Any:
    """Zeros.

    >>> zeros(None, (2,))
    array([0., 0.])
    """
    return _np.zeros(_shape(shape), dtype)


def ones(key: _Any, shape: _Any, dtype: _Any = _F64) -> _Any:
    """Ones.

    >>> ones(None, (2,))
    array([1., 1.])
    """
    return _np.ones(_shape(shape), dtype)


def constant(value: _Any, dtype: _Any = _F64) -> _Callable[..., _Any]:
    """Every entry ``value``.

    >>> constant(0.5)(None, (2,))
    array([0.5, 0.5])
    """

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        return _fnp.full(_shape(shape), value, dtype)

    return init


def uniform(scale: float = 1e-2, dtype: _Any = _F64) -> _Callable[..., _Any]:
    """Uniform in ``[0, scale)``."""

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        return _random.uniform(key, _shape(shape), dtype) * _np.asarray(scale, dtype)

    return init


def normal(stddev: float = 1e-2, dtype: _Any = _F64) -> _Callable[..., _Any]:
    """Normal with standard deviation ``stddev``."""

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        return _random.normal(key, _shape(shape), dtype) * _np.asarray(stddev, dtype)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype: _Any = _F64, lower: float = -2.0, upper: float = 2.0
) -> _Callable[..., _Any]:
    """A standard normal truncated to ``(lower, upper)``, times ``stddev``."""

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        draws = _random.truncated_normal(key, lower, upper, _shape(shape), dtype)
        return draws * _np.asarray(stddev, dtype)

    return init


def _size(shape: tuple[int, ...], axes: _Any) -> int:
    if isinstance(axes, int):
        return shape[axes]
    return _math.prod(shape[a] for a in axes)


def _fans(shape: tuple[int, ...], in_axis: _Any, out_axis: _Any, batch_axis: _Any) -> _Any:
    if len(shape) <= 1:
        raise _LocatedValueError(
            f"can't compute input and output sizes of a {len(shape)}-dimensional weights "
            "tensor: variance-scaling initializers need at least 2 dimensions"
        )
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive = _math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive, out_size * receptive


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: _Any = -2,
    out_axis: _Any = -1,
    batch_axis: _Any = (),
    dtype: _Any = _F64,
) -> _Callable[..., _Any]:
    """Variance ``scale / n`` with ``n`` the fan in, fan out or their mean (``mode`` =
    ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``), drawn from ``"truncated_normal"``,
    ``"normal"`` or ``"uniform"``."""
    if mode not in ("fan_in", "fan_out", "fan_avg"):
        raise _LocatedValueError(f"variance_scaling: invalid mode {mode!r}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise _LocatedValueError(f"variance_scaling: invalid distribution {distribution!r}")

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        shape = _shape(shape)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = _np.asarray(scale / n, dtype)
        if distribution == "truncated_normal":
            # divide by the standard deviation of a standard normal truncated to (-2, 2)
            stddev = _np.sqrt(variance) / _np.asarray(0.87962566103423978, dtype)
            return _random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "normal":
            return _random.normal(key, shape, dtype) * _np.sqrt(variance)
        return _random.uniform(key, shape, dtype, -1) * _np.sqrt(3 * variance)

    return init


def _named(scale: float, mode: str, distribution: str, doc: str) -> _Callable[..., _Any]:
    def factory(
        in_axis: _Any = -2, out_axis: _Any = -1, batch_axis: _Any = (), dtype: _Any = _F64
    ) -> _Callable[..., _Any]:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__doc__ = doc
    return factory


glorot_uniform = _named(1.0, "fan_avg", "uniform", "Uniform with variance 2 / (fan_in + fan_out).")
glorot_uniform.__name__ = "glorot_uniform"
xavier_uniform = glorot_uniform
glorot_normal = _named(
    1.0, "fan_avg", "truncated_normal", "Truncated normal, variance 2 / (fan_in + fan_out)."
)
glorot_normal.__name__ = "glorot_normal"
xavier_normal = glorot_normal
lecun_uniform = _named(1.0, "fan_in", "uniform", "Uniform with variance 1 / fan_in.")
lecun_uniform.__name__ = "lecun_uniform"
lecun_normal = _named(1.0, "fan_in", "truncated_normal", "Truncated normal, variance 1 / fan_in.")
lecun_normal.__name__ = "lecun_normal"
he_uniform = _named(2.0, "fan_in", "uniform", "Uniform with variance 2 / fan_in.")
he_uniform.__name__ = "he_uniform"
kaiming_uniform = he_uniform
he_normal = _named(2.0, "fan_in", "truncated_normal", "Truncated normal, variance 2 / fan_in.")
he_normal.__name__ = "he_normal"
kaiming_normal = he_normal


def orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: _Any = _F64
) -> _Callable[..., _Any]:
    """A (semi-)orthogonal matrix, reshaped so that ``column_axis`` holds the columns, times
    ``scale``: the Q of a QR decomposition of normal draws, with the signs fixed by R's
    diagonal (so it is unique)."""

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        shape = _shape(shape)
        if len(shape) < 2:
            raise _LocatedValueError("orthogonal initializer requires at least a 2D shape")
        n_cols = shape[column_axis]
        n_rows = _math.prod(shape) // n_cols
        matrix_shape = (n_cols, n_rows) if n_rows < n_cols else (n_rows, n_cols)
        q, r = _fnp.linalg.qr(_random.normal(key, matrix_shape, dtype))
        q = q * _fnp.sign(_fnp.diag(r))
        if n_rows < n_cols:
            q = q.T
        rest = tuple(d for i, d in enumerate(shape) if i != column_axis % len(shape))
        q = _fnp.reshape(q, rest + (n_cols,))
        return _fnp.moveaxis(q, -1, column_axis) * _np.asarray(scale, dtype)

    return init


def delta_orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: _Any = _F64
) -> _Callable[..., _Any]:
    """For convolution kernels (3, 4 or 5 dimensions, spatial first): zero except the
    spatial centre, which holds an orthogonal matrix (Xiao et al. 2018)."""

    def init(key: _Any, shape: _Any, dtype: _Any = dtype) -> _Any:
        shape = _shape(shape)
        if len(shape) not in (3, 4, 5):
            raise _LocatedValueError("delta orthogonal initializer requires a 3D, 4D or 5D shape")
        if shape[-1] < shape[-2]:
            raise _LocatedValueError("delta_orthogonal: fan_in must be at most fan_out")
        ortho = orthogonal(scale, column_axis, dtype)(key, shape[-2:])
        spatial = shape[:-2]
        pads = [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in spatial] + [(0, 0), (0, 0)]
        return _fnp.pad(_fnp.reshape(ortho, (1,) * len(spatial) + shape[-2:]), pads)

    return init
