"""Implementation of :mod:`funcgrad.nn`; the public names are gathered there."""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.primitives.random_special import erf

__all__ = [
    "relu",
    "sigmoid",
    "log_sigmoid",
    "softplus",
    "gelu",
    "silu",
    "swish",
    "softmax",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "mse",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "glorot_uniform",
    "he_normal",
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


def relu(x: Any) -> Any:
    """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0 (as in JAX).

    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
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
    array([0. , 0.5, 1. ])
    """
    x = _float_operand(x)
    pos, xp, xn = _split_sign(x)
    en = fnp.exp(xn)  # in (0, 1]
    return fnp.where(pos, 1.0 / (1.0 + fnp.exp(-xp)), en / (1.0 + en))


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    >>> log_sigmoid(np.array([-1e4, 0.0]))
    array([-1.00000000e+04, -6.93147181e-01])
    """
    return -softplus(-_float_operand(x))


def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed as ``x + log1p(exp(-x))`` for ``x >= 0`` and
    ``log1p(exp(x))`` for ``x < 0`` (numpy's ``logaddexp(0, x)``): finite for every finite
    input, with derivative ``sigmoid(x)`` (exact at 0 too, to every order).

    >>> softplus(np.array([-1e4, 0.0, 1e4]))
    array([0.00000000e+00, 6.93147181e-01, 1.00000000e+04])
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


# --- normalizers -----------------------------------------------------------------------------


def logsumexp(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x), axis))`` with the max-shift trick (the shift is a ``stop_gradient``
    constant, as in JAX): finite for entries like ``1e4``; ``-inf`` entries contribute 0,
    and a slice of only ``-inf`` gives ``-inf``.

    >>> logsumexp(np.array([1e4, 1e4]))
    np.float64(10000.69314718056)
    >>> logsumexp(np.array([[0.0, -np.inf], [-np.inf, -np.inf]]), axis=1)
    array([  0., -inf])
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    m = _safe_max(x, axis)
    s = fnp.sum(fnp.exp(x - m), axis=axis, keepdims=keepdims)
    if not keepdims:
        ndim = len(_shape(x))
        m = fnp.squeeze(m, axis=tuple(range(ndim)) if axis is None else axis)
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf slice is intended
        return fnp.log(s) + m


def log_softmax(x: Any, axis: int | Sequence[int] = -1, where: Any = None) -> Any:
    """``x - logsumexp(x, axis)``, computed as ``shifted - log(sum(exp(shifted)))`` where
    ``shifted = x - stop_gradient(max(x))`` (as ``jax.nn.log_softmax``). With a boolean mask
    ``where``, only the entries where it is True take part; the others are ``-inf``.

    >>> log_softmax(np.array([1e4, 0.0, -1e4]))
    array([     0., -10000., -20000.])
    >>> log_softmax(np.array([0.0, 0.0, 5.0]), where=np.array([True, True, False]))
    array([-0.69314718, -0.69314718,        -inf])
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if where is not None:
        return _masked_softmax(x, axis, where, log=True)
    shifted = x - _safe_max(x, axis)
    return shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))


def softmax(x: Any, axis: int | Sequence[int] = -1, where: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)``, max-shifted so that it never overflows. With a boolean
    mask ``where``, only the entries where it is True take part; the others are 0.

    >>> softmax(np.array([1e4, 1e4, -1e4]))
    array([0.5, 0.5, 0. ])
    >>> softmax(np.array([0.0, 0.0, 5.0]), where=np.array([True, True, False]))
    array([0.5, 0.5, 0. ])
    """
    x = _float_operand(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if where is not None:
        return _masked_softmax(x, axis, where, log=False)
    unnormalized = fnp.exp(x - _safe_max(x, axis))
    return unnormalized / fnp.sum(unnormalized, axis=axis, keepdims=True)


def _masked_softmax(x: Any, axis: Any, where: Any, log: bool) -> Any:
    """softmax / log_softmax over the entries selected by ``where`` (masked entries get 0 /
    -inf and no gradient: they enter only through ``fnp.where`` selections of constants)."""
    mask = fnp.broadcast_to(fnp.asarray(where, dtype=bool), _shape(x))
    neg_inf = np.array(-np.inf, _dtype(x))
    m = fnp.stop_gradient(fnp.max(fnp.where(mask, x, neg_inf), axis=axis, keepdims=True))
    m = fnp.where(fnp.isfinite(m), m, 0.0)
    shifted = fnp.where(mask, x - m, neg_inf)
    total = fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True)
    if log:
        with np.errstate(divide="ignore"):
            return fnp.where(mask, shifted - fnp.log(total), neg_inf)
    return fnp.where(mask, fnp.exp(shifted) / total, 0.0)


# --- encodings -------------------------------------------------------------------------------


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64, axis: int = -1) -> Any:
    """One-hot encode integer ``labels`` into a new axis of size ``num_classes`` (the last one
    unless ``axis`` says otherwise).

    Labels should be concrete integers (a numpy array, list or int); a label outside
    ``[0, num_classes)`` raises ``ValueError``. Traced labels (inside ``vmap``/``jit``) are
    also accepted; their range cannot be checked, and out-of-range labels then give all-zero
    rows, as in JAX.

    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    >>> one_hot([0, 2], 3, axis=0)
    array([[1., 0.],
           [0., 0.],
           [0., 1.]])
    """
    out = _one_hot_last(labels, num_classes, dtype)
    if axis == -1:
        return out
    nd = len(_shape(out))
    if not -nd <= axis < nd:
        raise LocatedValueError(f"one_hot: axis {axis} is out of range for {nd} dimensions")
    return fnp.moveaxis(out, -1, axis)


def _one_hot_last(labels: Any, num_classes: int, dtype: Any) -> Any:
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
        raise LocatedTypeError(
            f"one_hot: num_classes must be an int, got {type(num_classes).__name__}"
        )
    if num_classes < 1:
        raise LocatedValueError(f"one_hot: num_classes must be >= 1, got {num_classes}")
    num_classes = int(num_classes)
    dtype = np.dtype(dtype)
    if type(labels) is Tracer and labels.val is None:
        if labels.dtype.kind not in "iu":
            raise LocatedTypeError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
        hit = fnp.expand_dims(labels, -1) == np.arange(num_classes)
        return fnp.astype(hit, dtype)
    if type(labels) is Tracer:
        labels = labels.val
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise LocatedTypeError(
            f"one_hot: labels must be integers, got dtype {arr.dtype} "
            "(cast with labels.astype(int) if they are whole numbers)"
        )
    bad = (arr < 0) | (arr >= num_classes)
    if np.any(bad):
        first = arr[bad].flat[0]
        raise LocatedValueError(
            f"one_hot: label {first} is out of range for num_classes={num_classes} "
            f"(labels must be in [0, {num_classes - 1}]; {int(np.sum(bad))} bad label(s))"
        )
    return (arr[..., None] == np.arange(num_classes)).astype(dtype)


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
    array([1.00000000e+04, 6.93147181e-01])
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


# --- initializers ----------------------------------------------------------------------------


def _fans(shape: Sequence[int], where: str) -> tuple[int, int]:
    """JAX's convention: the last two axes are (in, out); leading axes are a receptive field."""
    if len(shape) < 2:
        raise LocatedValueError(
            f"{where}: shape {tuple(shape)} has fewer than 2 dimensions, so fan_in/fan_out are "
            "undefined (the last two axes are (in, out)); initialize biases with np.zeros"
        )
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _check_init_args(rng: Any, shape: Any, dtype: Any, where: str) -> tuple[tuple[int, ...], Any]:
    if not isinstance(rng, np.random.Generator):
        raise LocatedTypeError(
            f"{where}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise LocatedTypeError(f"{where}: shape must be a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise LocatedValueError(f"{where}: negative dimension in shape {shape}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise LocatedTypeError(f"{where}: dtype must be a floating dtype, got {dtype}")
    return shape, dtype


def glorot_uniform(
    rng: np.random.Generator, shape: Sequence[int], dtype: Any = np.float64
) -> np.ndarray:
    """Glorot/Xavier uniform initializer (``jax.nn.initializers.glorot_uniform``): uniform in
    ``[-limit, limit]`` with ``limit = sqrt(6 / (fan_in + fan_out))``, i.e. variance
    ``2 / (fan_in + fan_out)``. ``fan_in = shape[-2] * r``, ``fan_out = shape[-1] * r`` where
    ``r`` is the product of the leading dimensions.

    >>> w = glorot_uniform(np.random.default_rng(0), (64, 32), np.float32)
    >>> w.shape, w.dtype, bool(np.abs(w).max() <= np.sqrt(6 / 96))
    ((64, 32), dtype('float32'), True)
    """
    shape, dtype = _check_init_args(rng, shape, dtype, "glorot_uniform")
    fan_in, fan_out = _fans(shape, "glorot_uniform")
    limit = math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


# Standard deviation of a standard normal truncated to [-2, 2] (as JAX's variance_scaling).
_TRUNC_STD = 0.87962566103423978


def he_normal(
    rng: np.random.Generator, shape: Sequence[int], dtype: Any = np.float64
) -> np.ndarray:
    """He/Kaiming normal initializer (``jax.nn.initializers.he_normal``): a normal truncated at
    two standard deviations, scaled so that the variance is ``2 / fan_in`` (``fan_in =
    shape[-2]`` times the product of the leading dimensions), suited to ReLU layers.

    >>> w = he_normal(np.random.default_rng(0), (256, 128))
    >>> bool(abs(w.var() * 256 / 2 - 1) < 0.05)
    True
    """
    shape, dtype = _check_init_args(rng, shape, dtype, "he_normal")
    fan_in, _ = _fans(shape, "he_normal")
    std = math.sqrt(2.0 / max(fan_in, 1)) / _TRUNC_STD
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while np.any(bad):  # resample the tails: a standard normal truncated to [-2, 2]
        z[bad] = rng.standard_normal(int(np.sum(bad)))
        bad = np.abs(z) > 2.0
    return (z * std).astype(dtype)
