"""Implementation of :mod:`funcgrad.nn`; the public names are gathered there."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.primitives.random_special import erf

__all__ = [
    "identity",
    "tanh",
    "relu",
    "relu6",
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "soft_sign",
    "gelu",
    "silu",
    "swish",
    "mish",
    "elu",
    "celu",
    "selu",
    "leaky_relu",
    "glu",
    "hard_tanh",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "softmax",
    "log_softmax",
    "logsumexp",
    "logmeanexp",
    "log1mexp",
    "standardize",
    "one_hot",
    "dot_product_attention",
    "mse",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def _float_operand(x: Any) -> Any:
    """``x`` as an array or tracer with a floating dtype (integers and bools become float64)."""
    x = fnp.asarray(x)
    if x.dtype.kind not in "fc":
        x = fnp.astype(x, np.float64)
    return x


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if type(x) is Tracer else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    return x.dtype if type(x) is Tracer else np.result_type(x)


def _zero(x: Any) -> np.ndarray:
    """A 0-d zero of ``x``'s dtype: broadcasts in ``where`` without changing the dtype (and
    without baking a full-size constant into a jitted function)."""
    return np.zeros((), _dtype(x))


def _safe_max(x: Any, axis: Any) -> Any:
    """``max(x, axis, keepdims=True)`` without gradient, with non-finite maxima replaced by 0.

    Used as the shift of the log-sum-exp trick: a shift of ``+-inf`` (all entries ``-inf``)
    would turn ``x - shift`` into NaN; shifting by 0 instead gives the right ``-inf``.
    """
    m = fnp.stop_gradient(fnp.max(x, axis=axis, keepdims=True))
    return fnp.where(fnp.abs(m) < np.inf, m, _zero(m))


# --- activations -----------------------------------------------------------------------------


def identity(x: Any) -> Any:
    """``x`` unchanged, as an array (``jax.nn.identity``).

    >>> identity([1.0, -2.0])
    Array([ 1., -2.])
    """
    return fnp.asarray(x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent (``jax.nn.tanh``, the same function as ``funcgrad.numpy.tanh``).

    >>> tanh(np.array([0.0]))
    Array([0.])
    """
    return fnp.tanh(x)


def relu(x: Any) -> Any:
    """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0 (as in JAX).

    >>> relu(np.array([-2.0, 0.0, 3.0]))
    Array([0., 0., 3.])
    """
    x = fnp.asarray(x)
    return fnp.where(x > 0, x, _zero(x))


def _split_sign(x: Any) -> tuple[Any, Any, Any]:
    """``(x >= 0, where(x >= 0, x, 0), where(x >= 0, 0, x))``: the "double where" that keeps
    both branches of a sign-split formula finite, with exact derivatives everywhere (also at
    0, where an ``abs``-based formula would use the subgradient 0)."""
    pos = x >= 0
    zero = _zero(x)
    return pos, fnp.where(pos, x, zero), fnp.where(pos, zero, x)


def sigmoid(x: Any) -> Any:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, computed as ``1 / (1 + exp(-x))`` for
    ``x >= 0`` and ``exp(x) / (1 + exp(x))`` for ``x < 0`` so that no ``exp`` overflows
    (``sigmoid(-1e4) == 0``, ``sigmoid(1e4) == 1``, finite gradients).

    >>> sigmoid(np.array([-1e4, 0.0, 1e4]))
    Array([0. , 0.5, 1. ])
    """
    x = _float_operand(x)
    pos, xp, xn = _split_sign(x)
    en = fnp.exp(xn)  # in (0, 1]
    return fnp.where(pos, 1.0 / (1.0 + fnp.exp(-xp)), en / (1.0 + en))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> log_sigmoid(np.array([-1e4, 0.0]))
    Array([-1.00000000e+04, -6.93147181e-01])
    """
    return -softplus(-_float_operand(x))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed as ``x + log1p(exp(-x))`` for ``x >= 0`` and
    ``log1p(exp(x))`` for ``x < 0`` (numpy's ``logaddexp(0, x)``): finite for every finite
    input, with derivative ``sigmoid(x)`` (exact at 0 too, to every order).

    >>> softplus(np.array([-1e4, 0.0, 1e4]))
    Array([0.00000000e+00, 6.93147181e-01, 1.00000000e+04])
    """
    x = _float_operand(x)
    pos, xp, xn = _split_sign(x)
    return fnp.where(pos, xp + fnp.log1p(fnp.exp(-xp)), fnp.log1p(fnp.exp(xn)))


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit, as ``jax.nn.gelu``.

    ``approximate=True`` (the default, as in JAX) uses the tanh approximation
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``. ``approximate=False`` is the exact
    ``0.5 x (1 + erf(x / sqrt(2)))`` (``erf`` is a core primitive: scipy's kernel when the
    ``[scipy]`` extra is installed, Python's ``math.erf`` otherwise).

    >>> np.round(gelu(np.array([-1.0, 0.0, 1.0])), 6)
    array([-0.158808,  0.      ,  0.841192])
    """
    x = _float_operand(x)
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + fnp.tanh(inner))
    return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))


def silu(x: Any) -> Any:
    """Sigmoid linear unit (swish) ``x * sigmoid(x)``.

    >>> np.round(silu(np.array([-1e4, 0.0, 1.0])), 6)
    array([-0.      ,  0.      ,  0.731059])
    """
    x = _float_operand(x)
    return x * sigmoid(x)


swish = silu


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``; its derivative is 0 at both kinks, 0 and 6 (as in JAX).

    >>> relu6(np.array([-1.0, 3.0, 9.0]))
    Array([0., 3., 6.])
    """
    x = _float_operand(x)
    inside = (x > 0) & (x < 6)
    return fnp.where(inside, x, fnp.where(x >= 6, np.array(6, _dtype(x)), _zero(x)))


def elu(x: Any, alpha: Any = 1.0) -> Any:
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    The exponential branch only ever sees ``x <= 0`` (a "double where"), so large positive
    inputs give no overflow and no NaN gradient.

    >>> np.round(elu(np.array([-1.0, 0.0, 2.0])), 6)
    array([-0.632121,  0.      ,  2.      ])
    """
    x = _float_operand(x)
    pos = x > 0
    return fnp.where(pos, x, alpha * fnp.expm1(fnp.where(pos, _zero(x), x)))


def celu(x: Any, alpha: Any = 1.0) -> Any:
    """Continuously differentiable ELU: ``x`` for ``x > 0``, ``alpha * (exp(x / alpha) - 1)``
    otherwise (derivative 1 at 0).

    >>> np.round(celu(np.array([-1.0, 2.0]), alpha=0.5), 6)
    array([-0.432332,  2.      ])
    """
    x = _float_operand(x)
    pos = x > 0
    return fnp.where(pos, x, alpha * fnp.expm1(fnp.where(pos, _zero(x), x) / alpha))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Any:
    """Scaled ELU (Klambauer et al. 2017): ``scale * elu(x, alpha)`` with ``alpha ~ 1.6733``,
    ``scale ~ 1.0507``.

    >>> np.round(selu(np.array([-1.0, 1.0])), 6)
    array([-1.111331,  1.050701])
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def leaky_relu(x: Any, negative_slope: Any = 0.01) -> Any:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise.

    >>> leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.1)
    Array([-0.2,  3. ])
    """
    x = _float_operand(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to ``[-1, 1]`` (derivative 1 on ``[-1, 1]``, 0 outside).

    >>> hard_tanh(np.array([-3.0, 0.5, 3.0]))
    Array([-1. ,  0.5,  1. ])
    """
    x = _float_operand(x)
    one = np.array(1, _dtype(x))
    return fnp.where(x > 1, one, fnp.where(x < -1, -one, x))


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid.

    >>> hard_sigmoid(np.array([-4.0, 0.0, 1.5, 4.0]))
    Array([0.  , 0.5 , 0.75, 1.  ])
    """
    x = _float_operand(x)
    return relu6(x + 3.0) / 6.0


def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (``hard_swish`` is the same function).

    >>> hard_silu(np.array([-4.0, 1.5, 4.0]))
    Array([-0.   ,  1.125,  4.   ])
    """
    x = _float_operand(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``.

    >>> soft_sign(np.array([-3.0, 1.0]))
    Array([-0.75,  0.5 ])
    """
    x = _float_operand(x)
    return x / (fnp.abs(x) + 1.0)


def sparse_plus(x: Any) -> Any:
    """Softplus's piecewise twin: 0 for ``x <= -1``, ``(x + 1)**2 / 4`` on ``(-1, 1)``,
    ``x`` for ``x >= 1`` (continuously differentiable).

    >>> sparse_plus(np.array([-2.0, 0.0, 2.0]))
    Array([0.  , 0.25, 2.  ])
    """
    x = _float_operand(x)
    return fnp.where(x <= -1.0, _zero(x), fnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4.0))


def sparse_sigmoid(x: Any) -> Any:
    """Sigmoid's piecewise-linear twin ``clip(x + 1, 0, 2) / 2``, the derivative of
    :func:`sparse_plus`.

    >>> sparse_sigmoid(np.array([-2.0, 0.0, 0.5, 2.0]))
    Array([0.  , 0.5 , 0.75, 1.  ])
    """
    x = _float_operand(x)
    return 0.5 * fnp.clip(x + 1.0, 0.0, 2.0)


def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU without exponentials.

    >>> squareplus(np.array([0.0, 1.5]))
    Array([1., 2.])
    """
    x = _float_operand(x)
    return (x + fnp.sqrt(x * x + b)) / 2


def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))`` (Misra 2019).

    >>> np.round(mish(np.array([-1.0, 1.0])), 6)
    array([-0.303401,  0.865098])
    """
    x = _float_operand(x)
    return x * fnp.tanh(softplus(x))


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: split ``x`` in two halves along ``axis``, return
    ``first * sigmoid(second)``. The size of ``axis`` must be even.

    >>> glu(np.array([2.0, 4.0, 0.0, 1e4]))
    Array([1., 4.])
    """
    x = _float_operand(x)
    shape = _shape(x)
    if not isinstance(axis, numbers.Integral) or not -len(shape) <= axis < len(shape):
        raise LocatedValueError(f"glu: axis {axis!r} is out of range for shape {shape}")
    if shape[axis] % 2:
        raise LocatedValueError(
            f"glu: the size of axis {axis} must be even (two halves), got shape {shape}"
        )
    first, second = fnp.split(x, 2, axis=axis)
    return first * sigmoid(second)


# --- normalizers -----------------------------------------------------------------------------


def logsumexp(
    x: Any,
    axis: int | Sequence[int] | None = None,
    b: Any = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: Any = None,
) -> Any:
    """``log(sum(b * exp(x), axis))`` with the max-shift trick (the shift is a
    ``stop_gradient`` constant, as in JAX): finite for entries like ``1e4``; ``-inf`` entries
    contribute 0, and a slice of only ``-inf`` gives ``-inf``. As ``jax.nn.logsumexp``: ``b``
    weights the terms (broadcast against ``x``), the boolean mask ``where`` selects them, and
    ``return_sign=True`` returns ``(log|sum|, sign(sum))`` so that negative sums can be
    represented (without it they give NaN).

    >>> logsumexp(np.array([1e4, 1e4]))
    np.float64(10000.69314718056)
    >>> logsumexp(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]), axis=1)
    Array([  0., -inf])
    >>> logsumexp(np.array([0.0, 0.0]), b=np.array([1.0, -3.0]), return_sign=True)
    (np.float64(0.6931471805599453), np.float64(-1.0))
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    xs = _masked(x, where, -np.inf)
    if b is not None:
        b = fnp.asarray(b)
        # terms with weight 0 vanish; keeping them out of the max also keeps inf * 0 away
        xs = fnp.where(b != 0, xs, np.array(-np.inf, _dtype(xs)))
    m = _safe_max(xs, axis)
    e = fnp.exp(xs - m)
    if b is not None:
        e = e * b
    s = fnp.sum(e, axis=axis, keepdims=keepdims)
    if not keepdims:
        ndim = len(_shape(xs))
        m = fnp.squeeze(m, axis=tuple(range(ndim)) if axis is None else axis)
    # log(0) = -inf for an all -inf slice is intended; log of a negative sum is NaN, as in JAX
    with np.errstate(divide="ignore", invalid="ignore"):
        if return_sign:
            sign = fnp.stop_gradient(fnp.sign(s))
            return fnp.log(fnp.abs(s)) + m, sign
        return fnp.log(s) + m


def logmeanexp(
    x: Any, axis: int | Sequence[int] | None = None, where: Any = None, keepdims: bool = False
) -> Any:
    """``log(mean(exp(x), axis))`` = ``logsumexp(x) - log(n)``, over the entries selected by
    the boolean mask ``where`` if given (``jax.nn.logmeanexp``).

    >>> logmeanexp(np.array([0.0, np.log(3.0)]))
    np.float64(0.6931471805599453)
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    lse = logsumexp(_masked(x, where, -np.inf), axis=axis, keepdims=keepdims)
    if where is None:
        shape = _shape(x)
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        count = float(math.prod(shape[a] for a in axes))
    else:
        w = fnp.broadcast_to(fnp.asarray(where), _shape(x))
        count = fnp.sum(fnp.astype(w, _dtype(x)), axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore"):
        return lse - fnp.log(count)


def log1mexp(x: Any) -> Any:
    """``log(1 - exp(-x))`` for ``x > 0``, computed as ``log(-expm1(-x))`` below ``log 2`` and
    ``log1p(-exp(-x))`` above (Maechler 2012), each branch only seeing its own inputs.

    >>> np.round(log1mexp(np.array([1e-10, 1.0, 40.0])), 6)
    array([-23.025851,  -0.458675,  -0.      ])
    """
    x = _float_operand(x)
    c = np.array(math.log(2.0), _dtype(x))
    small = x < c
    xs = fnp.where(small, x, c)
    xb = fnp.where(small, c, x)
    with np.errstate(divide="ignore", invalid="ignore"):  # x <= 0 is outside the domain
        return fnp.where(small, fnp.log(-fnp.expm1(-xs)), fnp.log1p(-fnp.exp(-xb)))


def _masked(x: Any, where: Any, fill: float) -> Any:
    """``x`` with the entries outside the boolean mask ``where`` replaced by ``fill``."""
    if where is None:
        return x
    w = fnp.asarray(where)
    if _dtype(w) != np.bool_:
        raise LocatedTypeError(f"where must be a boolean mask, got dtype {_dtype(w)}")
    return fnp.where(w, x, np.array(fill, _dtype(x)))


def log_softmax(x: Any, axis: int | Sequence[int] | None = -1, where: Any = None) -> Any:
    """``x - logsumexp(x, axis)``, computed as ``shifted - log(sum(exp(shifted)))`` where
    ``shifted = x - stop_gradient(max(x))`` (as ``jax.nn.log_softmax``). With a boolean mask
    ``where``, only those entries take part and the others are ``-inf``.

    >>> log_softmax(np.array([1e4, 0.0, -1e4]))
    Array([     0., -10000., -20000.])
    >>> log_softmax(np.array([1.0, 5.0, 1.0]), where=np.array([True, False, True]))
    Array([-0.69314718,        -inf, -0.69314718])
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    xs = _masked(x, where, -np.inf)
    shifted = xs - _safe_max(xs, axis)
    total = fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True)
    if where is None:
        with np.errstate(divide="ignore"):
            return shifted - fnp.log(total)
    # A slice with no entry selected sums to 0: take log(1) there (the result is masked).
    total = fnp.where(total > 0, total, np.array(1, _dtype(total)))
    return _masked(shifted - fnp.log(total), where, -np.inf)


def softmax(x: Any, axis: int | Sequence[int] | None = -1, where: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)``, max-shifted so that it never overflows. With a boolean
    mask ``where``, only those entries take part and the others are 0.

    >>> softmax(np.array([1e4, 1e4, -1e4]))
    Array([0.5, 0.5, 0. ])
    >>> softmax(np.array([1.0, 5.0, 1.0]), where=np.array([True, False, True]))
    Array([0.5, 0. , 0.5])
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    xs = _masked(x, where, -np.inf)
    unnormalized = fnp.exp(xs - _safe_max(xs, axis))
    total = fnp.sum(unnormalized, axis=axis, keepdims=True)
    if where is None:
        return unnormalized / total
    # A slice with no entry selected sums to 0: divide by 1 there (its result is masked to 0),
    # so that neither the value nor the gradient sees 0/0.
    total = fnp.where(total > 0, total, np.array(1, _dtype(total)))
    return _masked(unnormalized / total, where, 0.0)


def _masked_mean(v: Any, axis: Any, where: Any) -> Any:
    if where is None:
        return fnp.mean(v, axis=axis, keepdims=True)
    w = fnp.asarray(where)
    num = fnp.sum(_masked(v, w, 0.0), axis=axis, keepdims=True)
    count = fnp.sum(fnp.astype(fnp.broadcast_to(w, _shape(v)), _dtype(v)), axis=axis, keepdims=True)
    return num / count


def standardize(
    x: Any,
    axis: int | Sequence[int] | None = -1,
    mean: Any = None,
    variance: Any = None,
    epsilon: Any = 1e-5,
    where: Any = None,
    *,
    algorithm: str = "fast",
) -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis``, as ``jax.nn.standardize``.

    ``mean`` and ``variance`` default to the (``where``-masked) mean and variance of ``x``;
    ``algorithm="fast"`` (JAX's default) computes the variance as ``mean(x**2) - mean(x)**2``
    clipped at 0, ``"stable"`` as ``mean((x - mean)**2)``.

    >>> np.round(standardize(np.array([1.0, 2.0, 3.0]), epsilon=0.0), 6)
    array([-1.224745,  0.      ,  1.224745])
    """
    if algorithm not in ("fast", "stable"):
        raise LocatedValueError(
            f"standardize: unknown algorithm {algorithm!r}; use 'fast' or 'stable'"
        )
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if mean is None:
        mean = _masked_mean(x, axis, where)
    if variance is None:
        if algorithm == "stable":
            d = x - mean
            variance = _masked_mean(d * d, axis, where)
        else:
            variance = fnp.maximum(_masked_mean(x * x, axis, where) - mean * mean, 0.0)
    return (x - mean) / fnp.sqrt(variance + epsilon)


# --- encodings -------------------------------------------------------------------------------


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64, *, axis: int = -1) -> Any:
    """One-hot encode integer ``labels`` into a new axis of size ``num_classes`` (placed at
    ``axis`` of the result, the last one by default).

    Labels are integers (concrete or traced). A label outside ``[0, num_classes)`` (a padding
    label ``-1``, say) gives an all-zero row, as in JAX.

    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    >>> one_hot([1, -1], 3)
    array([[0., 1., 0.],
           [0., 0., 0.]])
    >>> one_hot([0, 2], 3, axis=0)
    array([[1., 0.],
           [0., 0.],
           [0., 1.]])
    """
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
        raise LocatedTypeError(
            f"one_hot: num_classes must be an int, got {type(num_classes).__name__}"
        )
    if num_classes < 1:
        raise LocatedValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    num_classes = int(num_classes)
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    ndim = len(_shape(labels)) + 1
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise LocatedTypeError(f"one_hot: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise LocatedValueError(
            f"one_hot: axis {axis} is out of range for a result with {ndim} dimensions"
        )
    axis = int(axis) % ndim
    if type(labels) is Tracer and labels.val is None:
        if labels.dtype.kind not in "iu":
            raise LocatedTypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
        hit = fnp.expand_dims(labels, -1) == np.arange(num_classes)
        return fnp.moveaxis(fnp.astype(hit, dtype), -1, axis)
    if type(labels) is Tracer:
        labels = labels.val
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise LocatedTypeError(
            f"one_hot: labels must be integers, got dtype {arr.dtype} "
            "(cast with labels.astype(int) if they are whole numbers)"
        )
    # labels outside [0, num_classes) (a padding label -1, say) give all-zero rows, as in JAX
    return np.moveaxis((arr[..., None] == np.arange(num_classes)).astype(dtype), -1, axis)


# --- attention -------------------------------------------------------------------------------


def _as_4d(t: Any, name: str) -> Any:
    t = fnp.asarray(t)
    nd = len(_shape(t))
    if nd > 4:
        raise LocatedValueError(f"dot_product_attention: {name} has {nd} dimensions, at most 4")
    return fnp.reshape(t, (1,) * (4 - nd) + _shape(t)) if nd < 4 else t


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    *,
    scale: float | None = None,
    is_causal: bool = False,
    query_seq_lengths: Any = None,
    key_value_seq_lengths: Any = None,
    local_window_size: int | tuple[int, int] | None = None,
    implementation: str | None = None,
    return_residual: bool = False,
) -> Any:
    """Scaled dot-product attention ``softmax(scale * Q K^T + bias) V`` per head, as
    ``jax.nn.dot_product_attention`` (its ``"xla"`` implementation, in plain array code).

    Shapes: ``query`` ``(B, T, N, H)`` or ``(T, N, H)``; ``key`` and ``value`` ``(B, S, K, H)``
    with ``N`` a multiple of ``K`` (multi-head, grouped-query or multi-query attention).
    ``bias`` (added to the logits) and the boolean ``mask`` (``True`` = attend) broadcast to
    ``(B, N, T, S)``. ``scale`` defaults to ``1 / sqrt(H)``. ``is_causal``, the per-example
    ``query_seq_lengths`` / ``key_value_seq_lengths`` and ``local_window_size`` (``(left,
    right)`` or one int) add masks; masked logits are set to a large negative number, as in JAX
    (a fully masked row attends uniformly). ``return_residual=True`` also returns the
    log-sum-exp of each row, shape ``(B, T, N)``. Unlike JAX, float64 inputs are not rounded to
    float32 inside the softmax.

    >>> q = np.ones((1, 2, 1, 4)); v = np.arange(8.0).reshape(1, 2, 1, 4)
    >>> dot_product_attention(q, q, v, is_causal=True)[0, :, 0]
    Array([[0., 1., 2., 3.],
           [2., 3., 4., 5.]])
    """
    where = "dot_product_attention"
    if implementation not in (None, "xla"):
        raise LocatedValueError(
            f"{where}: implementation {implementation!r} is not available; funcgrad has only "
            "the 'xla' formulation (use implementation=None)"
        )
    out_shape = _shape(query)
    q = _float_operand(_as_4d(query, "query"))
    k = _float_operand(_as_4d(key, "key"))
    v = _float_operand(_as_4d(value, "value"))
    B, S, K, H = _shape(k)
    if _shape(v) != (B, S, K, H):
        raise LocatedValueError(f"{where}: value has shape {_shape(v)}, key has {(B, S, K, H)}")
    qB, T, N, qH = _shape(q)
    if qB != B or qH != H:
        raise LocatedValueError(
            f"{where}: query shape {_shape(q)} does not fit key shape {(B, S, K, H)} "
            "(batch and head dimension must match)"
        )
    if N % K:
        raise LocatedValueError(
            f"{where}: the number of query heads must be a multiple of key/value heads, "
            f"got {N} vs {K}"
        )
    G = N // K
    scale_val = 1.0 / math.sqrt(H) if scale is None else scale
    # logits[b, k, g, t, s] for query head n = k * G + g, as batched matmuls (B, K, G, T, S)
    qt = fnp.transpose(fnp.reshape(q, (B, T, K, G, H)), (0, 2, 3, 1, 4))  # (B, K, G, T, H)
    kt = fnp.expand_dims(fnp.transpose(k, (0, 2, 3, 1)), 2)  # (B, K, 1, H, S)
    vt = fnp.expand_dims(fnp.transpose(v, (0, 2, 1, 3)), 2)  # (B, K, 1, S, H)
    logits = fnp.matmul(qt, kt) * scale_val

    def grouped(t: Any, name: str) -> Any:
        t = _as_4d(t, name)
        try:
            t = fnp.broadcast_to(t, (B, N, T, S))
        except ValueError:
            raise LocatedValueError(
                f"{where}: {name} of shape {_shape(t)} does not broadcast to (B, N, T, S) = "
                f"{(B, N, T, S)}"
            ) from None
        return fnp.reshape(t, (B, K, G, T, S))

    if bias is not None:
        logits = logits + grouped(bias, "bias")
    keep = None

    def both(a: Any, b: Any) -> Any:
        return b if a is None else fnp.logical_and(a, b)

    if mask is not None:
        m = fnp.asarray(mask)
        if _dtype(m) != np.bool_:
            raise LocatedTypeError(f"{where}: mask must be boolean, got dtype {_dtype(m)}")
        keep = grouped(m, "mask")
    t_pos = np.arange(T)[:, None]
    s_pos = np.arange(S)[None, :]
    if is_causal:
        keep = both(keep, t_pos >= s_pos)
    if local_window_size is not None:
        left, right = (
            (local_window_size, local_window_size)
            if isinstance(local_window_size, numbers.Integral)
            else tuple(local_window_size)
        )
        keep = both(keep, (t_pos <= s_pos + left) & (t_pos >= s_pos - right))
    if query_seq_lengths is not None:
        qlen = fnp.reshape(fnp.asarray(query_seq_lengths), (B, 1, 1, 1, 1))
        keep = both(keep, np.arange(T)[:, None] < qlen)
    if key_value_seq_lengths is not None:
        kvlen = fnp.reshape(fnp.asarray(key_value_seq_lengths), (B, 1, 1, 1, 1))
        keep = both(keep, np.arange(S)[None, :] < kvlen)
    if keep is not None:
        big_neg = -0.7 * min(np.finfo(_dtype(logits)).max, np.finfo(np.float32).max)
        logits = fnp.where(keep, logits, np.array(big_neg, _dtype(logits)))
    probs = softmax(logits, axis=-1)
    encoded = fnp.transpose(fnp.matmul(probs, vt), (0, 3, 1, 2, 4))  # (B, T, K, G, H)
    if query_seq_lengths is not None:
        valid = np.arange(T)[None, :] < fnp.reshape(fnp.asarray(query_seq_lengths), (B, 1))
        encoded = encoded * fnp.astype(fnp.reshape(valid, (B, T, 1, 1, 1)), _dtype(encoded))
    out = fnp.reshape(encoded, out_shape)
    if not return_residual:
        return out
    lse = fnp.stop_gradient(logsumexp(logits, axis=-1))  # (B, K, G, T)
    lse = fnp.reshape(fnp.moveaxis(fnp.reshape(lse, (B, N, T)), 1, 2), out_shape[:-1])
    return out, lse


# --- losses ----------------------------------------------------------------------------------


def _check_same_shape(a: Any, b: Any, a_name: str, b_name: str, where: str) -> None:
    sa, sb = _shape(a), _shape(b)
    if sa != sb:
        raise LocatedValueError(
            f"{where}: {a_name} has shape {sa} but {b_name} has shape {sb}; they must match "
            "(broadcasting them is usually a bug: reshape one, e.g. pred[:, 0] or y[:, None])"
        )


def _like_dtype(x: Any, ref: Any) -> Any:
    """``x`` cast to the floating dtype of ``ref`` (so float32 logits give float32 losses)."""
    x = fnp.asarray(x)
    return fnp.astype(x, _dtype(ref)) if _dtype(x) != _dtype(ref) else x


def mse(pred: Any, target: Any, axis: int | Sequence[int] | None = None) -> Any:
    """Mean squared error ``mean((pred - target)**2)`` over all elements (a scalar), or over
    ``axis`` (``axis=-1`` gives one value per example). Shapes must match, except that a
    0-d ``target`` broadcasts.

    >>> mse(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    np.float64(2.0)
    """
    pred = _float_operand(pred)
    if len(_shape(target)) != 0:
        _check_same_shape(pred, target, "pred", "target", "mse")
    if isinstance(axis, list):
        axis = tuple(axis)
    diff = pred - _like_dtype(target, pred)
    return fnp.mean(diff * diff, axis=axis)


def softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """Cross entropy ``-sum(labels * log_softmax(logits), axis=-1)`` between logits and one-hot
    (or probability) labels of the same shape, one value per example, as
    ``optax.softmax_cross_entropy``; average it yourself: ``fnp.mean(...)``.

    >>> softmax_cross_entropy(np.array([[0.0, 1e4], [0.0, 0.0]]), np.array([[1.0, 0], [0, 1]]))
    Array([1.00000000e+04, 6.93147181e-01])
    """
    logits = _float_operand(logits)
    _check_same_shape(logits, labels, "logits", "labels", "softmax_cross_entropy")
    labels = _like_dtype(labels, logits)
    return -fnp.sum(labels * log_softmax(logits, axis=-1), axis=-1)


def sigmoid_binary_cross_entropy(logits: Any, labels: Any) -> Any:
    """Binary cross entropy from logits, elementwise, as ``optax.sigmoid_binary_cross_entropy``:
    ``-labels*log(sigmoid(x)) - (1-labels)*log(1-sigmoid(x))``, computed stably as
    ``softplus(x) - x*labels``. Labels are in ``[0, 1]``.

    >>> np.round(sigmoid_binary_cross_entropy(np.array([1e4, -1e4, 0.0]), np.ones(3)), 6)
    array([0.00000e+00, 1.00000e+04, 6.93147e-01])
    """
    logits = _float_operand(logits)
    _check_same_shape(logits, labels, "logits", "labels", "sigmoid_binary_cross_entropy")
    labels = _like_dtype(labels, logits)
    return softplus(logits) - logits * labels
