"""Implementation of :mod:`funcgrad.nn.initializers`; the public names are gathered there."""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
import funcgrad.random as fr
from funcgrad.core.errors import LocatedTypeError, LocatedValueError

__all__ = [
    "Initializer",
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "truncated_normal",
    "variance_scaling",
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "lecun_uniform",
    "lecun_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "delta_orthogonal",
]

Initializer = Callable[..., Any]
"""``init(key, shape, dtype=None) -> array``: what every factory here returns."""

Axes = int | Sequence[int]

# Standard deviations of a standard normal truncated to [-2, 2], and of the complex normal whose
# modulus is truncated to 2 (JAX's constants, so that the draws match).
_TRUNC_STD = 0.87962566103423978
_COMPLEX_TRUNC_STD = 0.95311164380491208


def _shape_of(shape: Any, where: str) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise LocatedTypeError(f"{where}: shape must be a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise LocatedValueError(f"{where}: negative dimension in shape {shape}")
    return shape


def _dtype_of(dtype: Any, where: str, complex_ok: bool = True) -> np.dtype:
    dt = np.dtype(np.float64 if dtype is None else dtype)
    kinds = "fc" if complex_ok else "f"
    if dt.kind not in kinds:
        allowed = "floating or complex" if complex_ok else "floating"
        raise LocatedTypeError(f"{where}: dtype must be a {allowed} dtype, got {dt}")
    return dt


def zeros(key: Any, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of zeros; ``key`` is ignored (``jax.nn.initializers.zeros``).

    >>> zeros(None, (2,), np.float32)
    array([0., 0.], dtype=float32)
    """
    del key
    return np.zeros(_shape_of(shape, "zeros"), _dtype_of(dtype, "zeros"))


def ones(key: Any, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
    """An array of ones; ``key`` is ignored (``jax.nn.initializers.ones``).

    >>> ones(None, (2,))
    array([1., 1.])
    """
    del key
    return np.ones(_shape_of(shape, "ones"), _dtype_of(dtype, "ones"))


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer filling arrays with ``value``.

    >>> constant(-7.0)(None, (2,))
    array([-7., -7.])
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> np.ndarray:
        del key
        return np.full(_shape_of(shape, "constant"), value, _dtype_of(dtype, "constant"))

    return init


def uniform(scale: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer drawing uniformly from ``[0, scale)``.

    >>> uniform(10.0)(fr.PRNGKey(0), (2,)).round(6)
    array([4.184571, 2.162955])
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        dt = _dtype_of(dtype, "uniform", complex_ok=False)
        return fr.uniform(key, _shape_of(shape, "uniform"), dt) * np.array(scale, dt)

    return init


def normal(stddev: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer drawing from a normal with mean 0 and standard deviation ``stddev``.

    >>> normal(1.0)(fr.PRNGKey(0), (2,)).round(6)
    array([-0.205842, -0.784766])
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        dt = _dtype_of(dtype, "normal", complex_ok=False)
        return fr.normal(key, _shape_of(shape, "normal"), dt) * np.array(stddev, dt)

    return init


def truncated_normal(
    stddev: Any = 1e-2, dtype: Any = None, lower: Any = -2.0, upper: Any = 2.0
) -> Initializer:
    """An initializer drawing ``stddev * z`` with ``z`` a standard normal truncated to
    ``(lower, upper)`` (no variance correction: ``stddev`` is that of the untruncated normal).

    >>> w = truncated_normal(1.0)(fr.PRNGKey(0), (1000,))
    >>> bool(np.all(np.abs(w) < 2.0))
    True
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        dt = _dtype_of(dtype, "truncated_normal", complex_ok=False)
        z = fr.truncated_normal(key, lower, upper, _shape_of(shape, "truncated_normal"), dt)
        return z * np.array(stddev, dt)

    return init


def _axes_size(shape: tuple[int, ...], axes: Axes) -> int:
    if isinstance(axes, numbers.Integral):
        return shape[axes]
    return math.prod(shape[i] for i in axes)


def _fans(
    shape: tuple[int, ...], in_axis: Axes, out_axis: Axes, batch_axis: Axes, where: str
) -> tuple[float, float]:
    """JAX's convention: ``in_axis``/``out_axis`` (default the last two axes) are the input and
    output sizes, ``batch_axis`` is ignored, every other axis is a receptive field."""
    if isinstance(in_axis, numbers.Integral) and in_axis == -2 and len(shape) < 2:
        raise LocatedValueError(
            f"{where}: shape {shape} has fewer than 2 dimensions, so fan_in/fan_out are undefined "
            "(the last two axes are (in, out)); pass in_axis/out_axis, or initialize biases "
            "with zeros"
        )
    try:
        in_size = _axes_size(shape, in_axis)
        out_size = _axes_size(shape, out_axis)
        batch_size = _axes_size(shape, batch_axis)
    except IndexError:
        raise LocatedValueError(
            f"{where}: in_axis={in_axis}, out_axis={out_axis} or batch_axis={batch_axis} is out "
            f"of range for shape {shape}"
        ) from None
    if in_size * out_size * batch_size == 0:
        raise LocatedValueError(f"{where}: cannot compute fans of the empty shape {shape}")
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


def variance_scaling(
    scale: Any,
    mode: str,
    distribution: str,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: Any = None,
) -> Initializer:
    """An initializer with variance ``scale / n``, where ``n`` is ``fan_in``, ``fan_out``,
    their mean (``"fan_avg"``) or geometric mean (``"fan_geo_avg"``), as
    ``jax.nn.initializers.variance_scaling``.

    ``distribution``: ``"truncated_normal"`` (a normal truncated at two standard deviations,
    rescaled so that the truncated variance is right), ``"normal"`` or ``"uniform"`` (on
    ``[-sqrt(3 * var), sqrt(3 * var))``; for complex dtypes a disk). Fans: see
    :func:`glorot_uniform`.

    >>> init = variance_scaling(2.0, "fan_in", "normal")
    >>> w = init(fr.PRNGKey(0), (400, 300))
    >>> bool(abs(w.var() * 400 / 2 - 1) < 0.02)
    True
    """
    where = "variance_scaling"
    if mode not in _MODES:
        raise LocatedValueError(f"{where}: mode must be one of {_MODES}, got {mode!r}")
    if distribution not in _DISTRIBUTIONS:
        raise LocatedValueError(
            f"{where}: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}"
        )
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        shape = _shape_of(shape, where)
        dt = _dtype_of(dtype, where)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis, where)
        n = {
            "fan_in": fan_in,
            "fan_out": fan_out,
            "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": (fan_in * fan_out) ** 0.5,
        }[mode]
        var = np.array(scale / n, dt)
        real = np.array(0, dt).real.dtype
        if distribution == "truncated_normal":
            if dt.kind == "f":
                std = np.sqrt(var) / np.array(_TRUNC_STD, dt)
                return fr.truncated_normal(key, -2, 2, shape, dt) * std
            # complex: modulus of a unit complex normal truncated to 2, uniform phase
            std = np.sqrt(var) / np.array(_COMPLEX_TRUNC_STD, dt)
            k_r, k_t = fr.split(key)
            t = (1 - np.exp(np.array(-4.0, dt))) * fnp.astype(fr.uniform(k_r, shape, real), dt)
            r = fnp.sqrt(-fnp.log(1 - t))
            theta = 2 * np.pi * fnp.astype(fr.uniform(k_t, shape, real), dt)
            return r * fnp.exp(1j * theta) * std
        if distribution == "normal":
            return fr.normal(key, shape, real if dt.kind == "c" else dt) * np.sqrt(var)
        if dt.kind == "f":
            return fr.uniform(key, shape, dt, -1) * np.sqrt(3 * var)
        k_r, k_t = fr.split(key)
        r = fnp.astype(fnp.sqrt(2 * fr.uniform(k_r, shape, real)), dt)
        theta = 2 * np.pi * fnp.astype(fr.uniform(k_t, shape, real), dt)
        return r * fnp.exp(1j * theta) * np.sqrt(var)

    return init


def glorot_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """Glorot/Xavier uniform: ``variance_scaling(1.0, "fan_avg", "uniform")``.

    Uniform on ``[-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``. Fans follow
    JAX: ``fan_in = shape[in_axis] * r``, ``fan_out = shape[out_axis] * r`` where ``r`` is the
    product of the other (receptive-field) axes.

    >>> w = glorot_uniform()(fr.PRNGKey(0), (64, 32), np.float32)
    >>> w.shape, w.dtype, bool(np.abs(w).max() <= np.sqrt(6 / 96))
    ((64, 32), dtype('float32'), True)
    """
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """Glorot/Xavier normal: ``variance_scaling(1.0, "fan_avg", "truncated_normal")``.

    >>> glorot_normal()(fr.PRNGKey(0), (3, 2)).shape
    (3, 2)
    """
    return variance_scaling(
        1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype
    )


def lecun_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """LeCun uniform: ``variance_scaling(1.0, "fan_in", "uniform")``.

    >>> bool(np.abs(lecun_uniform()(fr.PRNGKey(0), (3, 2))).max() <= 1.0)
    True
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """LeCun normal: ``variance_scaling(1.0, "fan_in", "truncated_normal")``.

    >>> lecun_normal()(fr.PRNGKey(0), (3, 2)).dtype
    dtype('float64')
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """He/Kaiming uniform: ``variance_scaling(2.0, "fan_in", "uniform")``.

    >>> bool(np.abs(he_uniform()(fr.PRNGKey(0), (6, 2))).max() <= 1.0)
    True
    """
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(
    in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None
) -> Initializer:
    """He/Kaiming normal: ``variance_scaling(2.0, "fan_in", "truncated_normal")``, for ReLU
    layers (variance ``2 / fan_in``).

    >>> w = he_normal()(fr.PRNGKey(0), (256, 128))
    >>> bool(abs(w.var() * 256 / 2 - 1) < 0.05)
    True
    """
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """An initializer of (scaled) Haar-random orthogonal matrices: the array reshaped to
    ``(-1, shape[column_axis])`` has orthonormal columns (or rows, whichever are fewer).

    >>> w = orthogonal()(fr.PRNGKey(0), (4, 3))
    >>> bool(np.allclose(w.T @ w, np.eye(3)))
    True
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        shape = _shape_of(shape, "orthogonal")
        dt = _dtype_of(dtype, "orthogonal", complex_ok=False)
        if len(shape) < 2:
            raise LocatedValueError(
                f"orthogonal: needs at least a 2-D shape, got {shape} (initialize biases "
                "with zeros)"
            )
        if not -len(shape) <= column_axis < len(shape):
            raise LocatedValueError(
                f"orthogonal: column_axis {column_axis} is out of range for shape {shape}"
            )
        if 0 in shape:
            return np.zeros(shape, dt)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        q = fr.orthogonal(key, n_rows, (), dt, n_cols)
        rest = tuple(np.delete(np.array(shape), column_axis))
        q = fnp.moveaxis(fnp.reshape(q, rest + (n_cols,)), -1, column_axis)
        return np.array(scale, dt) * q

    return init


def delta_orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """Delta-orthogonal convolution kernels (Xiao et al. 2018): shape ``(*spatial, in, out)``
    with 1 to 3 spatial axes; zero everywhere except the spatial centre, which holds an
    orthogonal ``(in, out)`` matrix (``in <= out``).

    >>> w = delta_orthogonal()(fr.PRNGKey(0), (3, 2, 2))
    >>> bool(np.allclose(w[1].T @ w[1], np.eye(2))), float(np.abs(w[0]).max())
    (True, 0.0)
    """
    default = dtype

    def init(key: Any, shape: Sequence[int], dtype: Any = default) -> Any:
        shape = _shape_of(shape, "delta_orthogonal")
        dt = _dtype_of(dtype, "delta_orthogonal", complex_ok=False)
        if len(shape) not in (3, 4, 5):
            raise LocatedValueError(
                f"delta_orthogonal: needs a 3-D, 4-D or 5-D kernel shape (*spatial, in, out), "
                f"got {shape}"
            )
        if shape[-1] < shape[-2]:
            raise LocatedValueError(
                f"delta_orthogonal: fan_in (shape[-2] = {shape[-2]}) must be <= fan_out "
                f"(shape[-1] = {shape[-1]})"
            )
        ortho = orthogonal(scale, column_axis, dt)(key, shape[-2:])
        centre = np.zeros(shape[:-2] + (1, 1), bool)
        centre[tuple((k - 1) // 2 for k in shape[:-2])] = True
        return fnp.where(centre, ortho, np.zeros((), dt))

    return init
