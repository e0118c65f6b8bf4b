"""optax's names for more transformations and schedules (gathered into :mod:`funcgrad.optim`):
``scale``, ``scale_by_adam``, ``scale_by_schedule``, ``add_decayed_weights``, ``clip``,
``zero_nans``, ``set_to_zero``, ``adagrad``, ``adamax`` and the ``*_schedule`` functions.
Each follows optax's formula (checked against optax's recorded outputs in the tests)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.optim._optimizers import (
    EmptyState,
    GradientTransformation,
    ScalarOrSchedule,
    Schedule,
    _check_float_leaves,
    _check_lr,
    _dtype,
    _init_count,
    _lr_at,
    _safe_increment,
    _scale_by_lr,
    _zeros_like,
    chain,
    constant,
)
from funcgrad.tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = [
    "ScaleByAdamState",
    "ScaleByScheduleState",
    "ZeroNansState",
    "ScaleByRssState",
    "ScaleByAdamaxState",
    "scale",
    "scale_by_adam",
    "scale_by_schedule",
    "add_decayed_weights",
    "clip",
    "zero_nans",
    "set_to_zero",
    "adagrad",
    "adamax",
    "lion",
    "ema",
    "masked",
    "multi_transform",
    "apply_if_finite",
    "ScaleByLionState",
    "EmaState",
    "MaskedState",
    "MultiTransformState",
    "ApplyIfFiniteState",
    "constant_schedule",
    "linear_schedule",
    "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "piecewise_constant_schedule",
    "join_schedules",
]


class ScaleByAdamState(NamedTuple):
    """State of :func:`scale_by_adam`: step count, first and second moments."""

    count: Any
    mu: Any
    nu: Any


class ScaleByScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule`: the step count."""

    count: Any


class ZeroNansState(NamedTuple):
    """State of :func:`zero_nans`: per leaf, whether the last update had a NaN."""

    found_nan: Any


class ScaleByRssState(NamedTuple):
    """State of :func:`adagrad`'s scaling: the running sum of squared gradients."""

    sum_of_squares: Any


class ScaleByAdamaxState(NamedTuple):
    """State of :func:`adamax`: step count, first moment, infinity norm."""

    count: Any
    mu: Any
    nu: Any


def _cast_like(x: Any, ref: Any) -> Any:
    return x.astype(_dtype(ref)) if hasattr(x, "astype") else np.asarray(x, _dtype(ref))


def scale(step_size: float) -> GradientTransformation:
    """Multiply updates by ``step_size``.

    >>> import numpy as np
    >>> scale(-0.5).update(np.array([2.0]), EmptyState())[0]
    array([-1.])
    """

    def init(params: Any) -> EmptyState:
        return EmptyState()

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        return tree_map(lambda g: _cast_like(step_size * g, g), updates), state

    return GradientTransformation(init, update)


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0
) -> GradientTransformation:
    """Adam's rescaling without the learning rate: ``m̂ / (sqrt(v̂ + eps_root) + eps)``."""

    def init(params: Any) -> ScaleByAdamState:
        _check_float_leaves(params, "params", "scale_by_adam.init")
        return ScaleByAdamState(_init_count(), _zeros_like(params), _zeros_like(params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        mu = tree_map(lambda g, m: _cast_like((1 - b1) * g + b1 * m, m), updates, state.mu)
        nu = tree_map(lambda g, v: _cast_like((1 - b2) * g * g + b2 * v, v), updates, state.nu)
        count = _safe_increment(state.count)
        out = tree_map(
            lambda m, v, g: _cast_like(
                (m / (1 - b1**count)) / (np.sqrt(v / (1 - b2**count) + eps_root) + eps), g
            ),
            mu,
            nu,
            updates,
        )
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiply updates by ``step_size_fn(count)``."""

    def init(params: Any) -> ScaleByScheduleState:
        return ScaleByScheduleState(_init_count())

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        s = step_size_fn(state.count)
        out = tree_map(lambda g: _cast_like(s * g, g), updates)
        return out, ScaleByScheduleState(_safe_increment(state.count))

    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay: float = 0.0, mask: Any = None) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (``update`` needs ``params``)."""
    if mask is not None:
        raise LocatedNotImplementedError(
            "add_decayed_weights(mask=...) is not supported yet; chain it only where needed"
        )

    def init(params: Any) -> EmptyState:
        return EmptyState()

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        if params is None:
            raise LocatedValueError(
                "add_decayed_weights needs the parameters: opt.update(grads, state, params)"
            )
        out = tree_map(lambda g, p: _cast_like(g + weight_decay * p, g), updates, params)
        return out, state

    return GradientTransformation(init, update)


def clip(max_delta: float) -> GradientTransformation:
    """Clip every update entry to ``[-max_delta, max_delta]``.

    >>> import numpy as np
    >>> clip(1.0).update(np.array([-3.0, 0.5]), EmptyState())[0]
    array([-1. ,  0.5])
    """

    def init(params: Any) -> EmptyState:
        return EmptyState()

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        return tree_map(lambda g: np.clip(g, -max_delta, max_delta), updates), state

    return GradientTransformation(init, update)


def zero_nans() -> GradientTransformation:
    """Replace NaNs in the updates by 0, recording per leaf whether there were any."""

    def init(params: Any) -> ZeroNansState:
        return ZeroNansState(tree_map(lambda p: np.array(False), params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        found = tree_map(lambda g: np.any(np.isnan(g)), updates)
        out = tree_map(lambda g: np.where(np.isnan(g), np.zeros((), _dtype(g)), g), updates)
        return out, ZeroNansState(found)

    return GradientTransformation(init, update)


def set_to_zero() -> GradientTransformation:
    """Updates of zero (freezes parameters, e.g. in a ``multi_transform``)."""

    def init(params: Any) -> EmptyState:
        return EmptyState()

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        return tree_map(lambda g: g * np.zeros((), _dtype(g)), updates), state

    return GradientTransformation(init, update)


def _scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    _check_lr(learning_rate, "learning rate")

    def init(params: Any) -> ScaleByScheduleState:
        return ScaleByScheduleState(_init_count())

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        out = _scale_by_lr(updates, _lr_at(learning_rate, state.count))
        return out, ScaleByScheduleState(_safe_increment(state.count))

    return GradientTransformation(init, update)


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """Adagrad as ``optax.adagrad``: updates ``-lr · g / sqrt(sum of g² + eps)`` (the sum
    starts at ``initial_accumulator_value``)."""

    def init(params: Any) -> ScaleByRssState:
        _check_float_leaves(params, "params", "adagrad.init")
        return ScaleByRssState(
            tree_map(lambda p: np.full(np.shape(p), initial_accumulator_value, _dtype(p)), params)
        )

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        ss = tree_map(lambda g, s: g * g + s, updates, state.sum_of_squares)
        inv = tree_map(
            lambda s: np.where(s > 0, 1.0 / np.sqrt(np.where(s > 0, s, 1.0) + eps), 0.0), ss
        )
        out = tree_map(lambda a, g: _cast_like(a * g, g), inv, updates)
        return out, ScaleByRssState(ss)

    return chain(GradientTransformation(init, update), _scale_by_learning_rate(learning_rate))


def adamax(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """AdaMax as ``optax.adamax``: ``m̂ / max(b2 · u, |g| + eps)``, times ``-lr``."""

    def init(params: Any) -> ScaleByAdamaxState:
        _check_float_leaves(params, "params", "adamax.init")
        return ScaleByAdamaxState(_init_count(), _zeros_like(params), _zeros_like(params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        count = _safe_increment(state.count)
        mu = tree_map(lambda g, m: _cast_like((1 - b1) * g + b1 * m, m), updates, state.mu)
        nu = tree_map(lambda g, u: np.maximum(b2 * u, np.abs(g) + eps), updates, state.nu)
        out = tree_map(lambda m, u, g: _cast_like((m / (1 - b1**count)) / u, g), mu, nu, updates)
        return out, ScaleByAdamaxState(count, mu, nu)

    return chain(GradientTransformation(init, update), _scale_by_learning_rate(learning_rate))


class ScaleByLionState(NamedTuple):
    """State of :func:`lion`: step count and the momentum."""

    count: Any
    mu: Any


class EmaState(NamedTuple):
    """State of :func:`ema`: step count and the (not debiased) moving average."""

    count: Any
    ema: Any


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner transformation's state (over the masked leaves)."""

    inner_state: Any


class MultiTransformState(NamedTuple):
    """State of :func:`multi_transform`: one inner state per label."""

    inner_states: Any


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`."""

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    weight_decay: float = 1e-3,
) -> GradientTransformation:
    """Lion as ``optax.lion``: ``sign((1 - b1)·g + b1·m)`` plus decoupled weight decay, times
    ``-lr``; the momentum ``m <- (1 - b2)·g + b2·m``. ``update`` needs ``params``."""

    def init(params: Any) -> ScaleByLionState:
        _check_float_leaves(params, "params", "lion.init")
        return ScaleByLionState(_init_count(), _zeros_like(params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        out = tree_map(lambda g, m: np.sign((1 - b1) * g + b1 * m), updates, state.mu)
        mu = tree_map(lambda g, m: _cast_like((1 - b2) * g + b2 * m, m), updates, state.mu)
        return out, ScaleByLionState(_safe_increment(state.count), mu)

    return chain(
        GradientTransformation(init, update),
        add_decayed_weights(weight_decay),
        _scale_by_learning_rate(learning_rate),
    )


def ema(decay: float, debias: bool = True) -> GradientTransformation:
    """Exponential moving average of the updates: ``e <- (1 - decay)·g + decay·e``, divided by
    ``1 - decay**t`` with ``debias``."""

    def init(params: Any) -> EmaState:
        return EmaState(_init_count(), _zeros_like(params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        new = tree_map(lambda g, e: _cast_like((1 - decay) * g + decay * e, e), updates, state.ema)
        count = _safe_increment(state.count)
        out = new
        if debias:
            out = tree_map(lambda e: _cast_like(e / (1 - decay**count), e), new)
        return out, EmaState(count, new)

    return GradientTransformation(init, update)


def _mask_leaves(mask: Any, tree: Any) -> list[bool]:
    m = mask(tree) if callable(mask) else mask
    leaves, tdef = tree_flatten(tree)
    m_leaves, m_def = tree_flatten(m)
    if m_def != tdef:
        raise LocatedValueError(
            f"masked: the mask has structure {m_def}, the parameters {tdef}; give one bool per "
            "parameter leaf"
        )
    return [bool(b) for b in m_leaves]


def masked(inner: GradientTransformation, mask: Any) -> GradientTransformation:
    """Apply ``inner`` to the leaves where ``mask`` (a pytree of bools like the parameters, or
    a function of the parameters returning one) is True; other updates pass unchanged."""

    def pick(tree: Any, keep: list[bool]) -> list[Any]:
        return [x for x, k in zip(tree_flatten(tree)[0], keep) if k]

    def init(params: Any) -> MaskedState:
        keep = _mask_leaves(mask, params)
        return MaskedState(inner.init(pick(params, keep)))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        keep = _mask_leaves(mask, updates if params is None else params)
        sub_params = None if params is None else pick(params, keep)
        new_sub, inner_state = inner.update(pick(updates, keep), state.inner_state, sub_params)
        leaves, tdef = tree_flatten(updates)
        it = iter(new_sub)
        out = [next(it) if k else x for x, k in zip(leaves, keep)]
        return tree_unflatten(tdef, out), MaskedState(inner_state)

    return GradientTransformation(init, update)


def multi_transform(
    transforms: dict[Any, GradientTransformation], param_labels: Any
) -> GradientTransformation:
    """A different transformation per group of parameters: ``param_labels`` (a pytree of
    labels like the parameters, or a function of the parameters returning one) names each
    leaf's key in ``transforms``."""

    def label_mask(label: Any) -> Any:
        def mask(params: Any) -> Any:
            labels = param_labels(params) if callable(param_labels) else param_labels
            return tree_map(lambda lab: lab == label, labels)

        return mask

    def check(params: Any) -> None:
        labels = param_labels(params) if callable(param_labels) else param_labels
        missing = set(tree_flatten(labels)[0]) - set(transforms)
        if missing:
            raise LocatedValueError(
                f"multi_transform: labels {sorted(map(str, missing))} have no transformation"
            )

    parts = {k: masked(tx, label_mask(k)) for k, tx in transforms.items()}

    def init(params: Any) -> MultiTransformState:
        check(params)
        return MultiTransformState({k: p.init(params) for k, p in parts.items()})

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        new_states = {}
        for k, p in parts.items():
            updates, new_states[k] = p.update(updates, state.inner_states[k], params)
        return updates, MultiTransformState(new_states)

    return GradientTransformation(init, update)


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformation:
    """Apply ``inner`` only when every update is finite; otherwise return zero updates and keep
    ``inner``'s state — unless more than ``max_consecutive_errors`` non-finite steps came in a
    row, then apply anyway (as optax)."""

    def init(params: Any) -> ApplyIfFiniteState:
        zero = np.zeros((), np.int32)
        return ApplyIfFiniteState(zero, np.array(True), zero, inner.init(params))

    def update(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        finite = np.array(True)
        for g in tree_flatten(updates)[0]:
            finite = np.logical_and(finite, np.all(np.isfinite(g)))
        notfinite = np.where(finite, np.zeros((), np.int32), _safe_increment(state.notfinite_count))
        apply = np.logical_or(finite, notfinite > max_consecutive_errors)
        new_updates, new_inner = inner.update(updates, state.inner_state, params)
        out = tree_map(
            lambda u, g: np.where(apply, u, np.zeros((), _dtype(g))), new_updates, updates
        )
        inner_state = tree_map(lambda a, b: np.where(apply, a, b), new_inner, state.inner_state)
        total = np.where(finite, state.total_notfinite, _safe_increment(state.total_notfinite))
        return out, ApplyIfFiniteState(notfinite, finite, total, inner_state)

    return GradientTransformation(init, update)


# --- schedules ---------------------------------------------------------------------------------
constant_schedule = constant


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """From ``init_value`` to ``end_value`` linearly over ``transition_steps`` steps, starting
    at ``transition_begin``.

    >>> float(linear_schedule(1.0, 0.0, 10)(5))
    0.5
    """
    if transition_steps <= 0:
        return lambda count: init_value

    def schedule(count: Any) -> Any:
        c = np.clip(count - transition_begin, 0, transition_steps)
        return (init_value - end_value) * (1 - c / transition_steps) + end_value

    return schedule


def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """``init_value · ((1 - alpha) · (½(1 + cos(π · min(t, T) / T)))**exponent + alpha)``.

    >>> round(float(cosine_decay_schedule(1.0, 10)(5)), 12)
    0.5
    """
    if decay_steps <= 0:
        raise LocatedValueError("cosine_decay_schedule: decay_steps must be positive")

    def schedule(count: Any) -> Any:
        c = np.minimum(count, decay_steps)
        cosine = 0.5 * (1 + np.cos(math.pi * c / decay_steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """``schedules[i](t - boundaries[i-1])`` between consecutive boundaries.

    >>> s = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 4)], [10])
    >>> float(s(5)), float(s(12))
    (1.0, 0.5)
    """

    def schedule(count: Any) -> Any:
        out = schedules[0](count)
        for boundary, s in zip(boundaries, schedules[1:]):
            out = np.where(count < boundary, out, s(count - boundary))
        return out

    return schedule


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """Linear warmup from ``init_value`` to ``peak_value`` in ``warmup_steps`` steps, then cosine
    decay to ``end_value`` at step ``decay_steps``."""
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    """``init_value`` multiplied by ``scale`` from each ``boundary`` on.

    >>> s = piecewise_constant_schedule(1.0, {5: 0.5, 10: 0.1})
    >>> float(s(4)), float(s(5)), float(s(12))
    (1.0, 0.5, 0.05)
    """
    items = sorted((boundaries_and_scales or {}).items())

    def schedule(count: Any) -> Any:
        v = init_value
        for threshold, factor in items:
            indicator = np.maximum(0.0, np.sign(threshold - count))
            v = v * indicator + (1 - indicator) * factor * v
        return v

    return schedule
