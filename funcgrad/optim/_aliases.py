"""Part of :mod:`funcgrad.optim`: the optimizers, optax's aliases (sgd, adam, lamb, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.optim._base import (
    AdamState,
    GradientTransformation,
    ScalarOrSchedule,
    SgdState,
    _check_bool,
    _check_float_leaves,
    _check_lr,
    _check_nonnegative,
    _check_positive,
    _check_same_tree,
    _check_state,
    _concrete,
    _dtype,
    _init_count,
    _lr_at,
    _safe_increment,
    _scale_by_lr,
    _zeros_like,
    chain,
)
from funcgrad.optim._transforms import (
    _adam_direction,
    _adam_init,
    _check_adam_args,
    _rms_transform,
    add_decayed_weights,
    add_noise,
    clip_by_block_rms,
    ema,
    scale,
    scale_by_adam,
    scale_by_adamax,
    scale_by_factored_rms,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_param_block_rms,
    scale_by_rss,
    scale_by_trust_ratio,
    trace,
)
from funcgrad.tree_util import (
    tree_map,
)

__all__ = [
    "sgd",
    "noisy_sgd",
    "adam",
    "adamw",
    "adamax",
    "adagrad",
    "rmsprop",
    "lamb",
    "lion",
    "adafactor",
]


# ---------------------------------------------------------------------------------------------
# optimizers (optax's aliases)


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as ``optax.sgd``.

    With momentum ``m``: ``v <- m*v + g``; update ``-lr*v``, or ``-lr*(g + m*v)`` with Nesterov.
    ``momentum=None`` (the default) keeps no momentum buffer (``state.trace is None``).

    >>> opt = sgd(learning_rate=0.1, momentum=0.9)
    >>> state = opt.init(np.array([1.0]))
    >>> u, state = opt.update(np.array([1.0]), state)
    >>> u, state = opt.update(np.array([1.0]), state)
    >>> u  # v = 0.9*1 + 1 = 1.9
    array([-0.19])
    """
    where = "sgd"
    _check_lr(learning_rate, where)
    if momentum is not None:
        _check_nonnegative("momentum", momentum, where)
    _check_bool("nesterov", nesterov, where)
    use_trace = momentum is not None
    acc_dt = None if accumulator_dtype is None else np.dtype(accumulator_dtype)

    def init(params: Any) -> SgdState:
        _check_float_leaves(params, "params", "sgd.init")
        trace_ = _zeros_like(params, acc_dt) if use_trace else None
        return SgdState(count=_init_count(), trace=trace_)

    def update(grads: Any, state: SgdState, params: Any = None) -> tuple[Any, SgdState]:
        del params
        _check_state(state, SgdState, "sgd.update")
        if use_trace:
            if state.trace is None:
                raise LocatedValueError(
                    "sgd.update: this optimizer has momentum but the state has no momentum "
                    "buffer; build the state with this optimizer's init(params)"
                )
            _check_same_tree(grads, state.trace, "grads", "state.trace", "sgd.update")
            # optax.trace: f(g, t) = g + m*t; new_trace = f(g, trace); update = f(g, new_trace)
            # with Nesterov, else new_trace. The trace keeps its own dtype.
            trace_ = tree_map(lambda g, t: (g + momentum * t).astype(_dtype(t)), grads, state.trace)
            if nesterov:
                direction = tree_map(lambda g, t: g + momentum * t, grads, trace_)
            else:
                direction = trace_
        else:
            trace_ = None
            direction = grads
        lr_t = _lr_at(learning_rate, state.count)
        updates = _scale_by_lr(tree_map(lambda d, g: d.astype(_dtype(g)), direction, grads), lr_t)
        return updates, SgdState(count=_safe_increment(state.count), trace=trace_)

    return GradientTransformation(init, update)


def noisy_sgd(
    learning_rate: ScalarOrSchedule, eta: float = 0.01, gamma: float = 0.55, key: Any = None
) -> GradientTransformation:
    """SGD with annealed Gaussian gradient noise (``optax.noisy_sgd``):
    ``chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))``.

    >>> opt = noisy_sgd(0.1, eta=0.0, key=0)
    >>> opt.update(np.array([2.0]), opt.init(np.zeros(1)))[0]
    Array([-0.2])
    """
    return chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam (Kingma & Ba, 2015) with bias correction, as ``optax.adam``.

    ``m <- b1*m + (1-b1)*g``, ``v <- b2*v + (1-b2)*g^2``, ``t <- t+1``,
    update ``-lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t) + eps_root) + eps)``; ``nesterov=True``
    is NAdam. The state is one :class:`AdamState` (optax nests it in a tuple).

    >>> opt = adam(learning_rate=0.5)
    >>> u, _ = opt.update(np.array([3.0]), opt.init(np.array([0.0])))
    >>> np.round(u, 6)  # the first step has magnitude ~lr whatever the gradient scale
    array([-0.5])
    """
    where = "adam"
    _check_lr(learning_rate, where)
    _check_adam_args(b1, b2, eps, eps_root, where)
    _check_bool("nesterov", nesterov, where)
    if _concrete_or_none(eps) == 0 and _concrete_or_none(eps_root) == 0:
        raise LocatedValueError(
            f"{where}: eps must be > 0, got {eps!r} while eps_root is 0 "
            "(a zero gradient would divide 0 by 0)"
        )

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        del params
        direction, new_state = _adam_direction(
            grads, state, b1, b2, eps, "adam.update", eps_root, nesterov
        )
        return _scale_by_lr(direction, _lr_at(learning_rate, state.count)), new_state

    return GradientTransformation(_adam_init(mu_dtype, "adam.init"), update)


def _concrete_or_none(x: Any) -> float | None:
    try:
        return _concrete(x)
    except (TypeError, ValueError):
        return None


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``optax.adamw``.

    The update is ``-lr * (adam_direction + weight_decay * param)``; ``update`` needs
    ``params``. ``mask`` (a tree of bools or a function params -> tree) limits the decay to
    some leaves.

    >>> opt = adamw(learning_rate=0.5, weight_decay=0.1)
    >>> p = np.array([2.0])
    >>> u, _ = opt.update(np.array([3.0]), opt.init(p), p)
    >>> np.round(u, 6)  # -0.5 * (1 + 0.1 * 2)
    array([-0.6])
    """
    where = "adamw"
    _check_lr(learning_rate, where)
    _check_adam_args(b1, b2, eps, eps_root, where)
    _check_nonnegative("weight_decay", weight_decay, where)
    if mask is not None:
        return chain(
            scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
            add_decayed_weights(weight_decay, mask),
            scale_by_learning_rate(learning_rate),
        )

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        if params is None:
            raise LocatedValueError(
                "adamw.update: weight decay needs the current parameters; "
                "pass params: opt.update(grads, state, params)"
            )
        _check_same_tree(grads, params, "grads", "params", "adamw.update")
        direction, new_state = _adam_direction(
            grads, state, b1, b2, eps, "adamw.update", eps_root, nesterov
        )
        # optax.add_decayed_weights: decay is added after Adam's rescaling (decoupled).
        direction = tree_map(
            lambda d, p: (d + weight_decay * p).astype(_dtype(d)), direction, params
        )
        return _scale_by_lr(direction, _lr_at(learning_rate, state.count)), new_state

    return GradientTransformation(_adam_init(mu_dtype, "adamw.init"), update)


def adamax(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """AdaMax, Adam with the infinity norm (``optax.adamax``):
    ``chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))``.

    >>> opt = adamax(0.1)
    >>> np.round(opt.update(np.array([3.0]), opt.init(np.zeros(1)))[0], 6)
    array([-0.1])
    """
    _check_lr(learning_rate, "adamax")
    return chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """AdaGrad (``optax.adagrad``): ``-lr * g / sqrt(sum of g**2 so far + eps)``, the sum
    starting at ``initial_accumulator_value``.

    >>> opt = adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
    >>> opt.update(np.array([-2.0]), opt.init(np.zeros(1)))[0]
    array([1.])
    """
    _check_lr(learning_rate, "adagrad")
    return chain(
        scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate)
    )


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformation:
    """RMSProp as ``optax.rmsprop``.

    ``v <- decay*v + (1-decay)*g^2`` (from ``initial_scale``); update ``-lr * g / sqrt(v + eps)``
    (``eps_in_sqrt=False``: ``/ (sqrt(v) + eps)``, PyTorch's placement). ``centered`` divides
    by the running standard deviation instead; ``momentum`` adds :func:`trace` after the
    learning rate (the state is then a tuple, as in optax).

    >>> opt = rmsprop(learning_rate=0.01, decay=0.75, eps=1e-8)
    >>> u, _ = opt.update(np.array([2.0]), opt.init(np.array([0.0])))
    >>> np.round(u, 6)  # -0.01 * 2 / sqrt(0.25 * 4)
    array([-0.02])
    """
    where = "rmsprop"
    _check_lr(learning_rate, where)
    _check_positive("eps", eps, where)  # eps = 0 divides 0 by 0 on a zero gradient
    base = _rms_transform(
        decay, eps, initial_scale, eps_in_sqrt, bias_correction, centered, where, learning_rate
    )
    if momentum is None:
        return base
    return chain(base, trace(momentum, nesterov))


def lamb(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mask: Any = None,
) -> GradientTransformation:
    """LAMB (You et al. 2019), as ``optax.lamb``: Adam's direction plus weight decay, rescaled
    per leaf by the trust ratio ``|param| / |direction|``. Needs ``params``.

    >>> opt = lamb(0.1)
    >>> p = np.array([3.0, 4.0])
    >>> np.round(opt.update(np.array([1.0, 1.0]), opt.init(p), p)[0], 6)
    array([-0.353553, -0.353553])
    """
    _check_lr(learning_rate, "lamb")
    return chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )


def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any = None,
    weight_decay: float = 1e-3,
    mask: Any = None,
) -> GradientTransformation:
    """Lion (Chen et al. 2023), as ``optax.lion``: the sign of an interpolated momentum, plus
    decoupled weight decay, times ``-learning_rate``. Needs ``params``.

    >>> opt = lion(0.1, weight_decay=0.0)
    >>> p = np.zeros(2)
    >>> opt.update(np.array([-3.0, 0.5]), opt.init(p), p)[0]
    array([ 0.1, -0.1])
    """
    _check_lr(learning_rate, "lion")
    return chain(
        scale_by_lion(b1, b2, mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: float = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: float | None = 1.0,
    momentum: float | None = None,
    dtype_momentum: Any = None,
    weight_decay_rate: float | None = None,
    eps: float = 1e-30,
    factored: bool = True,
    weight_decay_mask: Any = None,
) -> GradientTransformation:
    """Adafactor (Shazeer & Stern 2018), as ``optax.adafactor``: factored second moments,
    update clipping by block RMS, steps relative to the parameter scale. Needs ``params``.
    ``dtype_momentum=None`` keeps the parameters' dtype (optax defaults to float32).

    >>> opt = adafactor(learning_rate=0.1, multiply_by_parameter_scale=False)
    >>> p = np.zeros(2)
    >>> np.round(opt.update(np.array([2.0, -1.0]), opt.init(p), p)[0], 6)
    array([-0.1,  0.1])
    """
    tx = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        tx.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        tx.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        tx.append(scale_by_param_block_rms())
    if momentum is not None:
        tx.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        tx.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    tx.append(scale(-1))
    return chain(*tx)
