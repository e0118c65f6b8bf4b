"""Part of :mod:`funcgrad.optim`: the building blocks (optax.transforms)."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as _random
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.optim._base import (
    AdamState,
    AddNoiseState,
    EmaState,
    EmptyState,
    FactoredState,
    GradientTransformation,
    RmsPropState,
    ScalarOrSchedule,
    ScaleByLionState,
    ScaleByRssState,
    ScaleByScheduleState,
    Schedule,
    TraceState,
    ZeroNansState,
    _abs_sq,
    _bias_correction,
    _cast,
    _check_bool,
    _check_float_leaves,
    _check_lr,
    _check_nonnegative,
    _check_positive,
    _check_real,
    _check_same_tree,
    _check_state,
    _check_unit_interval,
    _dtype,
    _empty_init,
    _full_like,
    _init_count,
    _is_real_number,
    _lr_at,
    _moment,
    _requires_params,
    _safe_increment,
    _scale_by_lr,
    _zeros_like,
    global_norm,
)
from funcgrad.optim._wrappers import (
    masked,
)
from funcgrad.tree_util import (
    tree_flatten,
    tree_map,
    tree_unflatten,
)

__all__ = [
    "identity",
    "set_to_zero",
    "scale",
    "scale_by_learning_rate",
    "scale_by_schedule",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_lion",
    "scale_by_trust_ratio",
    "scale_by_factored_rms",
    "scale_by_param_block_rms",
    "trace",
    "ema",
    "add_decayed_weights",
    "add_noise",
    "clip",
    "clip_by_global_norm",
    "clip_by_block_rms",
    "zero_nans",
]


# ---------------------------------------------------------------------------------------------
# building blocks (optax.transforms)


def identity() -> GradientTransformation:
    """Leave the updates unchanged (``optax.identity``).

    >>> t = identity()
    >>> t.update(np.array([1.0]), t.init(None))[0]
    array([1.])
    """

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        return grads, state

    return GradientTransformation(_empty_init, update)


def set_to_zero() -> GradientTransformation:
    """Replace every update by zeros (``optax.set_to_zero``): freezes parameters, e.g. as one
    branch of :func:`multi_transform`. NaN and inf updates become 0 too.

    >>> t = set_to_zero()
    >>> t.update(np.array([np.nan, 2.0]), t.init(None))[0]
    Array([0., 0.])
    """

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        return tree_map(fnp.zeros_like, grads), state

    return GradientTransformation(_empty_init, update)


def scale(step_size: Any) -> GradientTransformation:
    """Multiply every update by ``step_size`` (``optax.scale``), keeping each leaf's dtype.

    >>> t = scale(-0.5)
    >>> t.update(np.array([2.0]), t.init(None))[0]
    array([-1.])
    """
    _check_real("step_size", step_size, "scale")

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        return tree_map(lambda g: _cast(step_size, _dtype(g)) * g, grads), state

    return GradientTransformation(_empty_init, update)


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiply the updates by ``step_size_fn(count)`` (``optax.scale_by_schedule``); the
    count starts at 0 and grows by one per update.

    >>> t = scale_by_schedule(lambda count: count + 1.0)
    >>> s = t.init(None)
    >>> u, s = t.update(np.array([2.0]), s)
    >>> t.update(np.array([2.0]), s)[0]
    array([4.])
    """
    if not callable(step_size_fn):
        raise LocatedTypeError(
            f"scale_by_schedule: step_size_fn must be a callable count -> value, "
            f"got {type(step_size_fn).__name__}"
        )

    def init(params: Any) -> ScaleByScheduleState:
        del params
        return ScaleByScheduleState(count=_init_count())

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, ScaleByScheduleState, "scale_by_schedule.update")
        step = step_size_fn(state.count)
        updates = tree_map(lambda g: _cast(step, _dtype(g)) * g, grads)
        return updates, ScaleByScheduleState(count=_safe_increment(state.count))

    return GradientTransformation(init, update)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiply by ``-learning_rate`` (``+`` with ``flip_sign=False``); a schedule is
    evaluated at the step count (``optax.scale_by_learning_rate``).

    >>> t = scale_by_learning_rate(0.1)
    >>> t.update(np.array([2.0]), t.init(None))[0]
    array([-0.2])
    """
    _check_lr(learning_rate, "scale_by_learning_rate")
    m = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: m * learning_rate(count))
    return scale(m * learning_rate)


def _adam_direction(
    grads: Any,
    state: AdamState,
    b1: Any,
    b2: Any,
    eps: Any,
    where: str,
    eps_root: Any = 0.0,
    nesterov: bool = False,
) -> tuple[Any, AdamState]:
    _check_state(state, AdamState, where)
    _check_same_tree(grads, state.mu, "grads", "state.mu", where)
    _check_same_tree(grads, state.nu, "grads", "state.nu", where)
    # optax.tree.update_moment / update_moment_per_elem_norm; state keeps its init dtype.
    mu = _moment(grads, state.mu, b1, 1)
    nu = _moment(grads, state.nu, b2, 2)
    count_inc = _safe_increment(state.count)
    if nesterov:  # NAdam: look one step ahead with the momentum
        mu_next = _bias_correction(mu, b1, _safe_increment(count_inc))
        g_hat = _bias_correction(grads, b1, count_inc)
        mu_hat = tree_map(lambda m, g: b1 * m + (1 - b1) * g, mu_next, g_hat)
    else:
        mu_hat = _bias_correction(mu, b1, count_inc)
    nu_hat = _bias_correction(nu, b2, count_inc)
    direction = tree_map(
        lambda m, v, g: (m / (np.sqrt(v + eps_root) + eps)).astype(_dtype(g)), mu_hat, nu_hat, grads
    )
    return direction, AdamState(count=count_inc, mu=mu, nu=nu)


def _check_adam_args(b1: Any, b2: Any, eps: Any, eps_root: Any, where: str) -> None:
    _check_unit_interval("b1", b1, where)
    _check_unit_interval("b2", b2, where)
    _check_nonnegative("eps", eps, where)
    _check_nonnegative("eps_root", eps_root, where)


def _adam_init(mu_dtype: Any, where: str) -> Callable[[Any], AdamState]:
    mu_dt = None if mu_dtype is None else np.dtype(mu_dtype)

    def init(params: Any) -> AdamState:
        _check_float_leaves(params, "params", where)
        return AdamState(count=_init_count(), mu=_zeros_like(params, mu_dt), nu=_zeros_like(params))

    return init


def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam's rescaling without the learning rate (``optax.scale_by_adam``): the update is
    ``m_hat / (sqrt(v_hat + eps_root) + eps)``; ``nesterov=True`` gives NAdam.

    >>> t = scale_by_adam()
    >>> np.round(t.update(np.array([3.0]), t.init(np.zeros(1)))[0], 6)
    array([1.])
    """
    where = "scale_by_adam"
    _check_adam_args(b1, b2, eps, eps_root, where)
    _check_bool("nesterov", nesterov, where)

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        del params
        return _adam_direction(grads, state, b1, b2, eps, f"{where}.update", eps_root, nesterov)

    return GradientTransformation(_adam_init(mu_dtype, f"{where}.init"), update)


def scale_by_adamax(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """AdaMax's rescaling (``optax.scale_by_adamax``): ``m_hat / u`` with the infinity-norm
    moment ``u <- max(b2 * u, |g| + eps)``.

    >>> t = scale_by_adamax()
    >>> np.round(t.update(np.array([-3.0]), t.init(np.zeros(1)))[0], 6)
    array([-1.])
    """
    where = "scale_by_adamax"
    _check_adam_args(b1, b2, eps, 0.0, where)

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        del params
        _check_state(state, AdamState, f"{where}.update")
        _check_same_tree(grads, state.mu, "grads", "state.mu", f"{where}.update")
        count_inc = _safe_increment(state.count)
        mu = _moment(grads, state.mu, b1, 1)
        nu = tree_map(
            lambda g, t: np.maximum(np.abs(g) + eps, b2 * t).astype(_dtype(t)), grads, state.nu
        )
        mu_hat = _bias_correction(mu, b1, count_inc)
        updates = tree_map(lambda m, v, g: (m / v).astype(_dtype(g)), mu_hat, nu, grads)
        return updates, AdamState(count=count_inc, mu=mu, nu=nu)

    return GradientTransformation(_adam_init(None, f"{where}.init"), update)


def _rms_transform(
    decay: Any,
    eps: Any,
    initial_scale: Any,
    eps_in_sqrt: bool,
    bias_correction: bool,
    centered: bool,
    where: str,
    learning_rate: Any = None,
) -> GradientTransformation:
    """RMSProp's rescaling (optionally centered), then ``-learning_rate`` if one is given."""
    _check_unit_interval("decay", decay, where)
    _check_nonnegative("eps", eps, where)
    _check_real("initial_scale", initial_scale, where)
    for name, flag in (
        ("eps_in_sqrt", eps_in_sqrt),
        ("bias_correction", bias_correction),
        ("centered", centered),
    ):
        _check_bool(name, flag, where)

    def init(params: Any) -> RmsPropState:
        _check_float_leaves(params, "params", f"{where}.init")
        mu = _zeros_like(params) if centered else None
        return RmsPropState(count=_init_count(), nu=_full_like(params, initial_scale), mu=mu)

    def update(grads: Any, state: RmsPropState, params: Any = None) -> tuple[Any, RmsPropState]:
        del params
        _check_state(state, RmsPropState, f"{where}.update")
        _check_same_tree(grads, state.nu, "grads", "state.nu", f"{where}.update")
        nu = _moment(grads, state.nu, decay, 2)
        mu = _moment(grads, state.mu, decay, 1) if centered else None
        count_inc = _safe_increment(state.count)
        nu_hat, mu_hat = nu, mu
        if bias_correction:
            nu_hat = _bias_correction(nu, decay, count_inc)
            mu_hat = _bias_correction(mu, decay, count_inc) if centered else None
        if centered:
            var = tree_map(lambda n, m: n - _abs_sq(m), nu_hat, mu_hat)
        else:
            var = nu_hat
        if eps_in_sqrt:
            direction = tree_map(lambda g, v: (g / np.sqrt(v + eps)).astype(_dtype(g)), grads, var)
        else:
            direction = tree_map(
                lambda g, v: (g / (np.sqrt(v) + eps)).astype(_dtype(g)), grads, var
            )
        if learning_rate is not None:
            direction = _scale_by_lr(direction, _lr_at(learning_rate, state.count))
        return direction, RmsPropState(count=count_inc, nu=nu, mu=mu)

    return GradientTransformation(init, update)


def scale_by_rms(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """RMSProp's rescaling ``g / sqrt(v + eps)`` without the learning rate
    (``optax.scale_by_rms``).

    >>> t = scale_by_rms(decay=0.75)
    >>> np.round(t.update(np.array([2.0]), t.init(np.zeros(1)))[0], 6)
    array([2.])
    """
    return _rms_transform(
        decay, eps, initial_scale, eps_in_sqrt, bias_correction, False, "scale_by_rms"
    )


def scale_by_rss(
    initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """AdaGrad's rescaling (``optax.scale_by_rss``): ``g / sqrt(s + eps)`` with the running sum
    of squares ``s <- s + g**2`` (0 where ``s`` is 0).

    >>> t = scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
    >>> t.update(np.array([-3.0]), t.init(np.zeros(1)))[0]
    array([-1.])
    """
    where = "scale_by_rss"
    _check_nonnegative("initial_accumulator_value", initial_accumulator_value, where)
    _check_nonnegative("eps", eps, where)

    def init(params: Any) -> ScaleByRssState:
        _check_float_leaves(params, "params", f"{where}.init")
        return ScaleByRssState(sum_of_squares=_full_like(params, initial_accumulator_value))

    def update(grads: Any, state: ScaleByRssState, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, ScaleByRssState, f"{where}.update")
        _check_same_tree(grads, state.sum_of_squares, "grads", "state", f"{where}.update")
        sos = tree_map(lambda g, t: (_abs_sq(g) + t).astype(_dtype(t)), grads, state.sum_of_squares)

        def rescale(g: Any, t: Any) -> Any:
            pos = t > 0
            inv = 1 / np.sqrt(np.where(pos, t, 1) + eps)  # no 0/0 in the branch not taken
            return (np.where(pos, inv, 0) * g).astype(_dtype(g))

        return tree_map(rescale, grads, sos), ScaleByRssState(sum_of_squares=sos)

    return GradientTransformation(init, update)


def scale_by_lion(
    b1: float = 0.9, b2: float = 0.99, mu_dtype: Any = None
) -> GradientTransformation:
    """Lion's update direction ``sign((1 - b1) g + b1 m)`` with ``m <- (1 - b2) g + b2 m``
    (``optax.scale_by_lion``).

    >>> t = scale_by_lion()
    >>> t.update(np.array([-3.0, 0.5]), t.init(np.zeros(2)))[0]
    array([-1.,  1.])
    """
    where = "scale_by_lion"
    _check_unit_interval("b1", b1, where)
    _check_unit_interval("b2", b2, where)
    mu_dt = None if mu_dtype is None else np.dtype(mu_dtype)

    def init(params: Any) -> ScaleByLionState:
        _check_float_leaves(params, "params", f"{where}.init")
        return ScaleByLionState(count=_init_count(), mu=_zeros_like(params, mu_dt))

    def update(grads: Any, state: ScaleByLionState, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, ScaleByLionState, f"{where}.update")
        _check_same_tree(grads, state.mu, "grads", "state.mu", f"{where}.update")
        updates = tree_map(
            lambda g, m: np.sign((1 - b1) * g + b1 * m).astype(_dtype(g)), grads, state.mu
        )
        mu = _moment(grads, state.mu, b2, 1)
        return updates, ScaleByLionState(count=_safe_increment(state.count), mu=mu)

    return GradientTransformation(init, update)


def _safe_norm(x: Any, min_norm: Any) -> Any:
    """``max(norm(x), min_norm)`` with a gradient that stays finite at ``x = 0``."""
    norm = np.sqrt(np.sum(_abs_sq(x)))
    small = norm <= min_norm
    x = np.where(small, np.ones_like(x), x)
    return np.where(small, min_norm, np.sqrt(np.sum(_abs_sq(x))))


def scale_by_trust_ratio(
    min_norm: float = 0.0, trust_coefficient: float = 1.0, eps: float = 0.0
) -> GradientTransformation:
    """LAMB's layer-wise trust ratio (``optax.scale_by_trust_ratio``): each update leaf is
    multiplied by ``trust_coefficient * |param| / (|update| + eps)`` (1 when either norm is 0).
    Needs ``params``.

    >>> t = scale_by_trust_ratio()
    >>> t.update(np.array([3.0, 4.0]), t.init(None), np.array([0.0, 10.0]))[0]
    array([6., 8.])
    """
    where = "scale_by_trust_ratio"
    _check_nonnegative("min_norm", min_norm, where)
    _check_real("trust_coefficient", trust_coefficient, where)
    _check_nonnegative("eps", eps, where)

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        _requires_params(params, f"{where}.update")
        _check_same_tree(grads, params, "grads", "params", f"{where}.update")

        def one(u: Any, p: Any) -> Any:
            p_norm = _safe_norm(p, min_norm)
            u_norm = _safe_norm(u, min_norm)
            zero = (p_norm == 0.0) | (u_norm == 0.0)
            ratio = trust_coefficient * p_norm / np.where(zero, 1.0, u_norm + eps)
            return (u * np.where(zero, 1.0, ratio)).astype(_dtype(u))

        return tree_map(one, grads, params), state

    return GradientTransformation(_empty_init, update)


def _factored_dims(shape: tuple[int, ...], factored: bool, min_dim: int) -> tuple[int, int] | None:
    """The two largest axes (second largest, largest) if the leaf is factored, else None."""
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim:
        return None
    return int(order[-2]), int(order[-1])


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float = 1e-30,
) -> GradientTransformation:
    """Adafactor's rescaling (``optax.scale_by_factored_rms``): ``g / sqrt(v)`` where, for
    leaves whose two largest axes are at least ``min_dim_size_to_factor``, ``v`` is the outer
    product of row and column running means of ``g**2 + epsilon`` (memory ``O(n + m)`` instead
    of ``O(nm)``); decay ``1 - (step - step_offset + 1) ** -decay_rate``. Needs ``params``.

    >>> t = scale_by_factored_rms()
    >>> p = np.zeros(2)
    >>> np.round(t.update(np.array([2.0, -1.0]), t.init(p), p)[0], 6)
    array([ 1., -1.])
    """
    where = "scale_by_factored_rms"
    _check_bool("factored", factored, where)
    _check_real("decay_rate", decay_rate, where)
    _check_nonnegative("epsilon", epsilon, where)

    def init(params: Any) -> FactoredState:
        _check_float_leaves(params, "params", f"{where}.init")
        rows, cols, full = [], [], []
        leaves, tdef = tree_flatten(params)
        for p in leaves:
            shape, dt = np.shape(p), _dtype(p)
            dims = _factored_dims(shape, factored, min_dim_size_to_factor)
            if dims is None:
                rows.append(np.zeros((1,), dt))
                cols.append(np.zeros((1,), dt))
                full.append(np.zeros(shape, dt))
            else:
                d1, d0 = dims
                rows.append(np.zeros(shape[:d0] + shape[d0 + 1 :], dt))
                cols.append(np.zeros(shape[:d1] + shape[d1 + 1 :], dt))
                full.append(np.zeros((1,), dt))
        return FactoredState(
            count=_init_count(),
            v_row=tree_unflatten(tdef, rows),
            v_col=tree_unflatten(tdef, cols),
            v=tree_unflatten(tdef, full),
        )

    def update(grads: Any, state: FactoredState, params: Any = None) -> tuple[Any, Any]:
        _requires_params(params, f"{where}.update")
        _check_state(state, FactoredState, f"{where}.update")
        _check_same_tree(grads, params, "grads", "params", f"{where}.update")
        g_leaves, tdef = tree_flatten(grads)
        p_leaves = tree_flatten(params)[0]
        r_leaves = tree_flatten(state.v_row)[0]
        c_leaves = tree_flatten(state.v_col)[0]
        v_leaves = tree_flatten(state.v)[0]
        t = (state.count - step_offset + 1).astype(np.float64)
        beta = 1.0 - t ** (-decay_rate)
        outs, rows, cols, full = [], [], [], []
        for g, p, vr, vc, v in zip(g_leaves, p_leaves, r_leaves, c_leaves, v_leaves):
            dt = _dtype(p)
            b = _cast(beta, dt)
            g2 = _abs_sq(g) + epsilon
            dims = _factored_dims(np.shape(p), factored, min_dim_size_to_factor)
            if dims is None:
                new_v = (b * v + (1 - b) * g2).astype(dt)
                outs.append((g / np.sqrt(new_v)).astype(_dtype(g)))
                rows.append(vr)
                cols.append(vc)
                full.append(new_v)
            else:
                d1, d0 = dims
                new_r = (b * vr + (1 - b) * np.mean(g2, axis=d0)).astype(dt)
                new_c = (b * vc + (1 - b) * np.mean(g2, axis=d1)).astype(dt)
                reduced_d1 = d1 - 1 if d1 > d0 else d1
                row_mean = np.mean(new_r, axis=reduced_d1, keepdims=True)
                row_factor = 1 / np.sqrt(new_r / row_mean)
                col_factor = 1 / np.sqrt(new_c)
                u = g * np.expand_dims(row_factor, d0) * np.expand_dims(col_factor, d1)
                outs.append(u.astype(_dtype(g)))
                rows.append(new_r)
                cols.append(new_c)
                full.append(v)
        new_state = FactoredState(
            count=_safe_increment(state.count),
            v_row=tree_unflatten(tdef, rows),
            v_col=tree_unflatten(tdef, cols),
            v=tree_unflatten(tdef, full),
        )
        return tree_unflatten(tdef, outs), new_state

    return GradientTransformation(init, update)


def _safe_rms(x: Any, min_rms: Any) -> Any:
    rms = np.sqrt(np.mean(_abs_sq(x)))
    small = rms <= min_rms
    x = np.where(small, np.ones_like(x), x)
    return np.where(small, min_rms, np.sqrt(np.mean(_abs_sq(x))))


def scale_by_param_block_rms(min_scale: float = 1e-3) -> GradientTransformation:
    """Multiply each update leaf by the root mean square of its parameter (at least
    ``min_scale``), as ``optax.scale_by_param_block_rms``. Needs ``params``.

    >>> t = scale_by_param_block_rms()
    >>> t.update(np.array([1.0, 1.0]), t.init(None), np.array([3.0, -3.0]))[0]
    array([3., 3.])
    """
    where = "scale_by_param_block_rms"
    _check_nonnegative("min_scale", min_scale, where)

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        _requires_params(params, f"{where}.update")
        return tree_map(
            lambda u, p: (u * _safe_rms(p, min_scale)).astype(_dtype(u)), grads, params
        ), state

    return GradientTransformation(_empty_init, update)


def clip_by_block_rms(threshold: float) -> GradientTransformation:
    """Divide each update leaf by ``max(1, rms(leaf) / threshold)`` (``optax.clip_by_block_rms``).

    >>> t = clip_by_block_rms(1.0)
    >>> t.update(np.array([3.0, -3.0]), t.init(None))[0]
    array([ 1., -1.])
    """
    _check_positive("threshold", threshold, "clip_by_block_rms")

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params

        def one(u: Any) -> Any:
            denom = np.maximum(1.0, np.sqrt(np.mean(_abs_sq(u))) / threshold)
            return (u / denom).astype(_dtype(u))

        return tree_map(one, grads), state

    return GradientTransformation(_empty_init, update)


def clip(max_delta: float) -> GradientTransformation:
    """Clip every update element to ``[-max_delta, max_delta]`` (``optax.clip``).

    >>> t = clip(1.0)
    >>> t.update(np.array([-3.0, 0.5, 2.0]), t.init(None))[0]
    array([-1. ,  0.5,  1. ])
    """
    _check_nonnegative("max_delta", max_delta, "clip")

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        return tree_map(lambda g: np.clip(g, -max_delta, max_delta).astype(_dtype(g)), grads), state

    return GradientTransformation(_empty_init, update)


def zero_nans() -> GradientTransformation:
    """Replace NaNs in the updates by 0 (``optax.zero_nans``); the state records, per leaf,
    whether the last update had a NaN.

    >>> t = zero_nans()
    >>> u, s = t.update(np.array([np.nan, 1.0]), t.init(np.zeros(2)))
    >>> u, bool(s.found_nan)
    (array([0., 1.]), True)
    """

    def init(params: Any) -> ZeroNansState:
        return ZeroNansState(found_nan=tree_map(lambda p: np.array(False), params))

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        found = tree_map(lambda g: np.any(np.isnan(g)), grads)
        updates = tree_map(lambda g: np.where(np.isnan(g), np.zeros_like(g), g), grads)
        return updates, ZeroNansState(found_nan=found)

    return GradientTransformation(init, update)


def trace(
    decay: float, nesterov: bool = False, accumulator_dtype: Any = None
) -> GradientTransformation:
    """Momentum (``optax.trace``): ``t <- g + decay * t``; the update is ``t``, or
    ``g + decay * t`` with ``nesterov=True``.

    >>> t = trace(0.9)
    >>> s = t.init(np.zeros(1))
    >>> _, s = t.update(np.array([1.0]), s)
    >>> t.update(np.array([1.0]), s)[0]
    array([1.9])
    """
    where = "trace"
    _check_nonnegative("decay", decay, where)
    _check_bool("nesterov", nesterov, where)
    acc_dt = None if accumulator_dtype is None else np.dtype(accumulator_dtype)

    def init(params: Any) -> TraceState:
        _check_float_leaves(params, "params", f"{where}.init")
        return TraceState(trace=_zeros_like(params, acc_dt))

    def update(grads: Any, state: TraceState, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, TraceState, f"{where}.update")
        _check_same_tree(grads, state.trace, "grads", "state.trace", f"{where}.update")
        new = tree_map(lambda g, t: g + decay * t, grads, state.trace)
        out = tree_map(lambda g, t: g + decay * t, grads, new) if nesterov else new
        out = tree_map(lambda u, g: u.astype(_dtype(g)), out, grads)
        new = tree_map(lambda n, t: n.astype(_dtype(t)), new, state.trace)
        return out, TraceState(trace=new)

    return GradientTransformation(init, update)


def ema(decay: float, debias: bool = True, accumulator_dtype: Any = None) -> GradientTransformation:
    """Exponential moving average of the updates (``optax.ema``):
    ``e <- (1 - decay) g + decay e``; the update is ``e`` (divided by ``1 - decay**t`` with
    ``debias``).

    >>> t = ema(0.5)
    >>> t.update(np.array([2.0]), t.init(np.zeros(1)))[0]
    array([2.])
    """
    where = "ema"
    _check_unit_interval("decay", decay, where)
    _check_bool("debias", debias, where)
    acc_dt = None if accumulator_dtype is None else np.dtype(accumulator_dtype)

    def init(params: Any) -> EmaState:
        _check_float_leaves(params, "params", f"{where}.init")
        return EmaState(count=_init_count(), ema=_zeros_like(params, acc_dt))

    def update(grads: Any, state: EmaState, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, EmaState, f"{where}.update")
        _check_same_tree(grads, state.ema, "grads", "state.ema", f"{where}.update")
        new = _moment(grads, state.ema, decay, 1)
        count_inc = _safe_increment(state.count)
        out = _bias_correction(new, decay, count_inc) if debias else new
        out = tree_map(lambda u, g: u.astype(_dtype(g)), out, grads)
        return out, EmaState(count=count_inc, ema=new)

    return GradientTransformation(init, update)


def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0, mask: Any = None
) -> GradientTransformation:
    """Add ``weight_decay * param`` to each update (``optax.add_decayed_weights``; decoupled
    weight decay when chained after a rescaling). ``weight_decay`` may be a schedule; ``mask``
    (a tree of bools, or a function params -> tree) limits it to some leaves. Needs
    ``params``.

    >>> t = add_decayed_weights(0.1)
    >>> t.update(np.array([1.0]), t.init(None), np.array([5.0]))[0]
    array([1.5])
    """
    where = "add_decayed_weights"
    if callable(weight_decay):
        scheduled = True
    else:
        scheduled = False
        _check_nonnegative("weight_decay", weight_decay, where)

    def init(params: Any) -> Any:
        del params
        return ScaleByScheduleState(count=_init_count()) if scheduled else EmptyState()

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        _requires_params(params, f"{where}.update")
        _check_same_tree(grads, params, "grads", "params", f"{where}.update")
        if scheduled:
            _check_state(state, ScaleByScheduleState, f"{where}.update")
            wd = weight_decay(state.count)
            state = ScaleByScheduleState(count=_safe_increment(state.count))
        else:
            wd = weight_decay
            if _is_real_number(wd) and wd == 0.0:
                return grads, state
        return tree_map(lambda g, p: (g + wd * p).astype(_dtype(g)), grads, params), state

    tx = GradientTransformation(init, update)
    return tx if mask is None else masked(tx, mask)


def _as_key(key: Any, where: str) -> np.ndarray:
    if key is None:
        raise LocatedValueError(
            f"{where}: pass key=funcgrad.random.PRNGKey(seed) (or an int seed); the noise "
            "needs a random key"
        )
    if isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
        return _random.PRNGKey(int(key))
    if type(key) is Tracer:
        if key.val is None:  # inject_hyperparams rebuilding the transform inside jit: the
            return key  # key only seeds init, the state carries the live one
        key = key.val
    arr = np.asarray(key)
    if arr.shape == () and arr.dtype.kind in "iu":  # an int seed passed as an array
        return _random.PRNGKey(int(arr))
    if arr.shape != (2,) or arr.dtype != np.uint32:
        raise LocatedTypeError(
            f"{where}: key must be a funcgrad.random key (uint32 array of shape (2,)) or an int "
            f"seed, got {type(key).__name__}"
        )
    return arr


def add_noise(eta: float, gamma: float, key: Any = None) -> GradientTransformation:
    """Add Gaussian noise of variance ``eta / (t + 1)**gamma`` to the updates
    (``optax.add_noise``, Neelakantan et al. 2015). ``key`` is a :mod:`funcgrad.random` key or
    an int seed; the noise equals optax's for the same seed.

    >>> t = add_noise(0.01, 0.55, key=0)
    >>> u, _ = t.update(np.zeros(3), t.init(np.zeros(3)))
    >>> u.shape, bool(np.all(np.abs(u) < 1))
    ((3,), True)
    """
    where = "add_noise"
    _check_nonnegative("eta", eta, where)
    _check_real("gamma", gamma, where)
    key0 = _as_key(key, where)

    def init(params: Any) -> AddNoiseState:
        del params
        return AddNoiseState(count=_init_count(), rng_key=key0)

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        del params
        _check_state(state, AddNoiseState, f"{where}.update")
        count_inc = _safe_increment(state.count)
        std = np.sqrt(eta / count_inc.astype(np.float64) ** gamma)
        keys = _random.split(state.rng_key)
        leaves, tdef = tree_flatten(grads)
        leaf_keys = _random.split(keys[1], len(leaves))
        noisy = [
            (
                g + _cast(std, _dtype(g)) * _random.normal(leaf_keys[i], np.shape(g), _dtype(g))
            ).astype(_dtype(g))
            for i, g in enumerate(leaves)
        ]
        return tree_unflatten(tdef, noisy), AddNoiseState(count=count_inc, rng_key=keys[0])

    return GradientTransformation(init, update)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale all updates together so their global L2 norm is at most ``max_norm``.

    As ``optax.clip_by_global_norm``: unchanged if ``norm < max_norm``, else
    ``g / norm * max_norm``.

    >>> clip = clip_by_global_norm(1.0)
    >>> clip.update({"a": np.array([3.0]), "b": np.array([4.0])}, clip.init(None))[0]
    {'a': array([0.6]), 'b': array([0.8])}
    """
    _check_positive("max_norm", max_norm, "clip_by_global_norm")

    def update(grads: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        del params
        _check_state(state, EmptyState, "clip_by_global_norm.update")
        norm = global_norm(grads)
        keep = norm < max_norm
        # np.where evaluates both branches; dividing by max(norm, max_norm) keeps the unused one
        # finite when norm == 0 and is exactly `norm` whenever that branch is selected.
        safe_norm = np.maximum(norm, max_norm)

        def clip_one(g: Any) -> Any:
            dt = _dtype(g)
            return np.where(keep, g, g / safe_norm.astype(dt) * max_norm).astype(dt)

        return tree_map(clip_one, grads), state

    return GradientTransformation(_empty_init, update)
