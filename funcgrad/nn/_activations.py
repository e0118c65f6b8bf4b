"""More of ``jax.nn``'s activations (gathered into :mod:`funcgrad.nn`). Each follows JAX's
formula, including its derivative at the kinks (recorded from JAX in the tests)."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (the examples below use it)

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedValueError
from funcgrad.nn._functions import _float_operand, sigmoid, softplus

__all__ = [
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "elu",
    "celu",
    "selu",
    "leaky_relu",
    "glu",
    "soft_sign",
    "sparse_plus",
    "squareplus",
    "mish",
    "standardize",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``; derivative 1 strictly inside ``(0, 6)``, 0 elsewhere (as JAX).

    >>> relu6(np.array([-1.0, 3.0, 9.0]))
    array([0., 3., 6.])
    """
    x = _float_operand(x)
    inside = (x > 0) & (x < 6)
    return fnp.where(inside, x, fnp.stop_gradient(fnp.clip(x, 0.0, 6.0)))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``.

    >>> hard_sigmoid(np.array([-4.0, 0.0, 4.0]))
    array([0. , 0.5, 1. ])
    """
    return relu6(_float_operand(x) + 3.0) / 6.0


def hard_silu(x: Any) -> Any:
    """``x · hard_sigmoid(x)`` (also ``hard_swish``).

    >>> hard_silu(np.array([-4.0, 1.0]))
    array([-0.        ,  0.66666667])
    """
    x = _float_operand(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to ``[-1, 1]``.

    >>> hard_tanh(np.array([-2.0, 0.5, 2.0]))
    array([-1. ,  0.5,  1. ])
    """
    x = _float_operand(x)
    return fnp.where(x > 1, 1.0, fnp.where(x < -1, -1.0, x))


def elu(x: Any, alpha: Any = 1.0) -> Any:
    """``x`` for ``x > 0``, ``alpha · (exp(x) - 1)`` otherwise.

    >>> elu(np.array([-1.0, 2.0])).round(6)
    array([-0.632121,  2.      ])
    """
    x = _float_operand(x)
    safe = fnp.where(x > 0, 0.0, x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(safe))


def celu(x: Any, alpha: Any = 1.0) -> Any:
    """``max(x, 0) + alpha · expm1(min(x, 0) / alpha)``.

    >>> celu(np.array([-1.0, 2.0]), alpha=2.0).round(6)
    array([-0.786939,  2.      ])
    """
    x = _float_operand(x)
    return fnp.maximum(x, 0.0) + alpha * fnp.expm1(fnp.minimum(x, 0.0) / alpha)


def selu(x: Any) -> Any:
    """Scaled ELU with the self-normalizing constants.

    >>> selu(np.array([1.0])).round(6)
    array([1.050701])
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def leaky_relu(x: Any, negative_slope: Any = 1e-2) -> Any:
    """``x`` for ``x >= 0``, ``negative_slope · x`` otherwise.

    >>> leaky_relu(np.array([-2.0, 3.0]))
    array([-0.02,  3.  ])
    """
    x = _float_operand(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half.

    >>> glu(np.array([1.0, 2.0, 0.0, 0.0]))
    array([0.5, 1. ])
    """
    x = _float_operand(x)
    size = x.shape[axis]
    if size % 2:
        raise LocatedValueError(f"glu: axis {axis} has odd size {size}; it must split in two")
    x1, x2 = fnp.split(x, 2, axis)
    return x1 * sigmoid(x2)


def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``.

    >>> soft_sign(np.array([-3.0, 1.0]))
    array([-0.75,  0.5 ])
    """
    x = _float_operand(x)
    return x / (fnp.abs(x) + 1)


def sparse_plus(x: Any) -> Any:
    """0 for ``x <= -1``, ``(x + 1)² / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``.

    >>> sparse_plus(np.array([-2.0, 0.0, 2.0]))
    array([0.  , 0.25, 2.  ])
    """
    x = _float_operand(x)
    return fnp.where(x <= -1.0, 0.0, fnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x² + b)) / 2``.

    >>> squareplus(np.array([0.0]))
    array([1.])
    """
    x = _float_operand(x)
    return (x + fnp.sqrt(fnp.square(x) + b)) / 2


def mish(x: Any) -> Any:
    """``x · tanh(softplus(x))``.

    >>> mish(np.array([1.0])).round(6)
    array([0.865098])
    """
    x = _float_operand(x)
    return x * fnp.tanh(softplus(x))


def standardize(
    x: Any,
    axis: Any = -1,
    mean: Any = None,
    variance: Any = None,
    epsilon: float = 1e-5,
) -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` with the mean and variance over ``axis``
    unless given.

    >>> standardize(np.array([1.0, 3.0]), epsilon=0.0)
    array([-1.,  1.])
    """
    x = _float_operand(x)
    if mean is None:
        mean = fnp.mean(x, axis, keepdims=True)
    if variance is None:
        variance = fnp.mean(fnp.square(x), axis, keepdims=True) - fnp.square(mean)
    return (x - mean) / fnp.sqrt(variance + epsilon)
