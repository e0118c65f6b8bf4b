"""Implementation of :mod:`funcgrad.optim`; the public names are gathered there."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import random as _random
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.tree_util import (
    all_leaves_equal_structure,
    tree_flatten,
    tree_map,
    tree_paths,
    tree_unflatten,
)

__all__ = [
    # base
    "GradientTransformation",
    "Schedule",
    "ScalarOrSchedule",
    "apply_updates",
    "sgd_update",
    "global_norm",
    "chain",
    "identity",
    "set_to_zero",
    # states
    "EmptyState",
    "SgdState",
    "AdamState",
    "RmsPropState",
    "ScaleByScheduleState",
    "ScaleByRssState",
    "ScaleByLionState",
    "FactoredState",
    "TraceState",
    "EmaState",
    "AddNoiseState",
    "ZeroNansState",
    "MaskedState",
    "MultiTransformState",
    "InjectHyperparamsState",
    "MultiStepsState",
    "ApplyIfFiniteState",
    # optimizers
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
    # building blocks
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
    # wrappers
    "masked",
    "multi_transform",
    "inject_hyperparams",
    "MultiSteps",
    "apply_if_finite",
    # schedules
    "constant_schedule",
    "polynomial_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "exponential_decay",
    "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "join_schedules",
]

Schedule = Callable[[Any], Any]
ScalarOrSchedule = float | Schedule

_INT32_MAX = np.int32(np.iinfo(np.int32).max)


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``, as in optax.

    ``init(params) -> state``; ``update(grads, state, params=None) -> (updates, new_state)``.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


class EmptyState(NamedTuple):
    """State of a stateless transformation (e.g. :func:`clip_by_global_norm`)."""


class SgdState(NamedTuple):
    """State of :func:`sgd`: step count and the momentum buffer (``None`` without momentum)."""

    count: Any
    trace: Any


class AdamState(NamedTuple):
    """State of :func:`adam` / :func:`adamw`: step count, first and second moments."""

    count: Any
    mu: Any
    nu: Any


class RmsPropState(NamedTuple):
    """State of :func:`rmsprop` / :func:`scale_by_rms`: step count, the running mean of squared
    gradients and (``centered=True`` only, else ``None``) the running mean of gradients."""

    count: Any
    nu: Any
    mu: Any = None


class ScaleByScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule` (and of schedule-valued hyperparameters): the count."""

    count: Any


class ScaleByRssState(NamedTuple):
    """State of :func:`adagrad` / :func:`scale_by_rss`: the running sum of squared gradients."""

    sum_of_squares: Any


class ScaleByLionState(NamedTuple):
    """State of :func:`lion` / :func:`scale_by_lion`: step count and the momentum."""

    count: Any
    mu: Any


class FactoredState(NamedTuple):
    """State of :func:`adafactor` / :func:`scale_by_factored_rms`: step count, row and column
    second-moment factors (factored leaves) and full second moments (the other leaves)."""

    count: Any
    v_row: Any
    v_col: Any
    v: Any


class TraceState(NamedTuple):
    """State of :func:`trace`: the momentum buffer."""

    trace: Any


class EmaState(NamedTuple):
    """State of :func:`ema`: step count and the moving average."""

    count: Any
    ema: Any


class AddNoiseState(NamedTuple):
    """State of :func:`add_noise` / :func:`noisy_sgd`: step count and the PRNG key."""

    count: Any
    rng_key: Any


class ZeroNansState(NamedTuple):
    """State of :func:`zero_nans`: per leaf, whether the last update contained a NaN."""

    found_nan: Any


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner state (masked-out leaves are ``None``)."""

    inner_state: Any


class MultiTransformState(NamedTuple):
    """State of :func:`multi_transform`: a dict label -> masked inner state."""

    inner_states: Any


class InjectHyperparamsState(NamedTuple):
    """State of :func:`inject_hyperparams`: step count, the dict of current hyperparameter
    values (replace an entry to change it between steps) and the inner state."""

    count: Any
    hyperparams: Any
    inner_state: Any


class MultiStepsState(NamedTuple):
    """State of :class:`MultiSteps`."""

    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


class ApplyIfFiniteState(NamedTuple):
    """State of :func:`apply_if_finite`."""

    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


# ---------------------------------------------------------------------------------------------
# validation helpers (run on hyperparameters and on shapes/dtypes only, never on leaf values)


def _is_real_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _is_real_scalar_array(x: Any) -> bool:
    """A 0-d real array or traced value (how :func:`inject_hyperparams` passes them)."""
    dt = getattr(x, "dtype", None)
    return (
        isinstance(x, (np.ndarray, Tracer))
        and np.shape(x) == ()
        and dt is not None
        and np.dtype(dt).kind in "fiu"
    )


def _concrete(x: Any) -> float | None:
    """The value of a real hyperparameter, or None when it is traced (checked at trace time)."""
    if type(x) is Tracer:
        return None if x.val is None else float(x.val)
    return float(x)


def _check_real(name: str, value: Any, where: str) -> float | None:
    if not (_is_real_number(value) or _is_real_scalar_array(value)):
        raise LocatedTypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    v = _concrete(value)
    if v is not None and not math.isfinite(v):
        raise LocatedValueError(f"{where}: {name} must be finite, got {value!r}")
    return v


def _check_lr(lr: Any, where: str) -> None:
    if callable(lr):
        return
    if not (_is_real_number(lr) or _is_real_scalar_array(lr)):
        raise LocatedTypeError(
            f"{where}: learning rate must be a float or a schedule (a callable step -> lr), "
            f"got {type(lr).__name__}"
        )
    _check_real("learning rate", lr, where)


def _check_unit_interval(name: str, value: Any, where: str) -> None:
    v = _check_real(name, value, where)
    if v is not None and not 0.0 <= v < 1.0:
        raise LocatedValueError(f"{where}: {name} must be in [0, 1), got {value!r}")


def _check_positive(name: str, value: Any, where: str) -> None:
    v = _check_real(name, value, where)
    if v is not None and not v > 0:
        raise LocatedValueError(f"{where}: {name} must be > 0, got {value!r}")


def _check_nonnegative(name: str, value: Any, where: str) -> None:
    v = _check_real(name, value, where)
    if v is not None and not v >= 0:
        raise LocatedValueError(f"{where}: {name} must be >= 0, got {value!r}")


def _check_bool(name: str, value: Any, where: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise LocatedTypeError(f"{where}: {name} must be a bool, got {type(value).__name__}")


def _check_same_tree(a: Any, b: Any, a_name: str, b_name: str, where: str) -> None:
    """Same structure and same leaf shapes, else a ValueError naming the first differing path."""
    diff = all_leaves_equal_structure(a, b)
    if diff:
        raise LocatedValueError(
            f"{where}: {a_name} and {b_name} have different tree structures: {diff}"
        )
    a_leaves = tree_flatten(a)[0]
    b_leaves = tree_flatten(b)[0]
    for i, (x, y) in enumerate(zip(a_leaves, b_leaves)):
        sx, sy = np.shape(x), np.shape(y)
        if sx != sy:
            path = tree_paths(a)[i]
            raise LocatedValueError(
                f"{where}: shape mismatch at {path}: {a_name} has shape {sx}, "
                f"{b_name} has shape {sy}"
            )


def _dtype(x: Any) -> np.dtype:
    dt = getattr(x, "dtype", None)
    return np.dtype(dt) if dt is not None else np.result_type(x)


def _check_float_leaves(tree: Any, name: str, where: str) -> None:
    # Integer leaves would silently change dtype (or be truncated when cast back).
    for path, leaf in zip(tree_paths(tree), tree_flatten(tree)[0]):
        try:
            dt = _dtype(leaf)
        except TypeError as e:
            raise LocatedTypeError(
                f"{where}: {name} leaf at {path} is not an array (got {type(leaf).__name__})"
            ) from e
        if not np.issubdtype(dt, np.inexact):
            raise LocatedTypeError(
                f"{where}: {name} leaf at {path} has dtype {dt}; optimizers need floating-point "
                "arrays (cast it with .astype(np.float32) or np.float64)"
            )


def _cast(x: Any, dtype: np.dtype) -> Any:
    if hasattr(x, "astype"):
        return x.astype(dtype)
    return np.dtype(dtype).type(x)  # a Python scalar hyperparameter, never a traced value


def _zeros_like(tree: Any, dtype: Any = None) -> Any:
    # init runs on concrete params, so building fresh arrays here is fine.
    return tree_map(lambda p: np.zeros(np.shape(p), dtype=dtype or _dtype(p)), tree)


def _full_like(tree: Any, value: Any) -> Any:
    return tree_map(lambda p: np.full(np.shape(p), value, dtype=_dtype(p)), tree)


def _init_count() -> np.ndarray:
    return np.zeros((), dtype=np.int32)


def _safe_increment(count: Any) -> Any:
    # Saturate instead of wrapping to a negative count (as optax.safe_increment); np.where keeps
    # the count a 0-d int32 array and traces.
    return np.where(count < _INT32_MAX, count + 1, _INT32_MAX)


def _lr_at(lr: ScalarOrSchedule, count: Any) -> Any:
    return lr(count) if callable(lr) else lr


def _scale_by_lr(updates: Any, lr_t: Any) -> Any:
    # optax: multiply by -lr cast to each leaf's dtype, so float32 stays float32 even when a
    # schedule returns float64.
    return tree_map(lambda u: _cast(-lr_t, _dtype(u)) * u, updates)


def _check_state(state: Any, cls: type, where: str) -> None:
    if not isinstance(state, cls):
        raise LocatedTypeError(
            f"{where}: expected the {cls.__name__} returned by init(params), "
            f"got {type(state).__name__}"
        )


# ---------------------------------------------------------------------------------------------
# plain updates


def sgd_update(params: Any, grads: Any, lr: Any) -> Any:
    """One plain gradient-descent step, ``w <- w - lr * dL/dw`` leaf by leaf (pure).

    ``lr`` is a finite number (or a traced 0-d value). Each result keeps its parameter's dtype.

    >>> import numpy as np
    >>> sgd_update({"w": np.array([1.0, 2.0])}, {"w": np.array([10.0, -10.0])}, 0.1)
    {'w': array([0., 3.])}
    """
    where = "sgd_update"
    if callable(lr):
        raise LocatedTypeError(
            f"{where}: lr must be a number; to use a schedule, use sgd(schedule)"
        )
    if isinstance(lr, np.ndarray):
        if lr.shape != ():
            raise LocatedValueError(
                f"{where}: lr must be a scalar, got an array of shape {lr.shape}"
            )
        if not np.issubdtype(lr.dtype, np.floating) and not np.issubdtype(lr.dtype, np.integer):
            raise LocatedTypeError(f"{where}: lr must be a real number, got dtype {lr.dtype}")
        if not np.isfinite(lr):
            raise LocatedValueError(f"{where}: learning rate must be finite, got {lr}")
    elif _is_real_number(lr):
        _check_lr(lr, where)
    elif not (getattr(lr, "shape", None) == () and hasattr(lr, "dtype")):
        # Anything else must be a traced 0-d value (it cannot be checked for finiteness).
        raise LocatedTypeError(f"{where}: lr must be a float, got {type(lr).__name__}")
    _check_same_tree(params, grads, "params", "grads", where)
    _check_float_leaves(params, "params", where)
    _check_float_leaves(grads, "grads", where)

    def step(p: Any, g: Any) -> Any:
        new = p - lr * g
        return new.astype(p.dtype) if hasattr(p, "dtype") else new

    return tree_map(step, params, grads)


def apply_updates(params: Any, updates: Any) -> Any:
    """``params + updates`` leaf by leaf, keeping each parameter's dtype (pure).

    >>> import numpy as np
    >>> apply_updates([np.array([1.0], np.float32)], [np.array([0.5])])
    [array([1.5], dtype=float32)]
    """
    _check_same_tree(params, updates, "params", "updates", "apply_updates")

    def add(p: Any, u: Any) -> Any:
        new = p + u
        return new.astype(p.dtype) if hasattr(p, "dtype") else new

    return tree_map(add, params, updates)


def global_norm(tree: Any) -> Any:
    """The L2 norm of all leaves of ``tree`` taken together.

    >>> import numpy as np
    >>> float(global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}))
    5.0
    """

    def sq(x: Any) -> Any:
        if _dtype(x).kind == "c":
            return np.sum(np.square(np.abs(x)))
        return np.sum(np.square(x))

    total: Any = 0.0
    for leaf in tree_flatten(tree)[0]:
        total = total + sq(leaf)
    return np.sqrt(total)


# ---------------------------------------------------------------------------------------------
# small helpers shared by the transformations


def _empty_init(params: Any) -> EmptyState:
    del params
    return EmptyState()


def _bias_correction(tree: Any, decay: Any, count: Any) -> Any:
    # optax.tree.bias_correction: the float64 factor is cast to each leaf's dtype.
    return tree_map(lambda t: t / _cast(1 - decay**count, _dtype(t)), tree)


def _moment(grads: Any, moments: Any, decay: Any, order: int) -> Any:
    """``(1 - decay) * g**order + decay * m``, kept in the moment's dtype."""
    if order == 1:
        return tree_map(
            lambda g, m: ((1 - decay) * g + decay * m).astype(_dtype(m)), grads, moments
        )
    return tree_map(
        lambda g, m: ((1 - decay) * _abs_sq(g) + decay * m).astype(_dtype(m)), grads, moments
    )


def _abs_sq(g: Any) -> Any:
    return np.square(np.abs(g)) if _dtype(g).kind == "c" else g * g


def _requires_params(params: Any, where: str) -> None:
    if params is None:
        raise LocatedValueError(
            f"{where}: this transformation needs the current parameters; "
            "pass them: opt.update(grads, state, params)"
        )


def _select_tree(pred: Any, new: Any, old: Any) -> Any:
    """Leafwise ``where(pred, new, old)`` in the old leaf's dtype (a branch-free ``cond``)."""
    return tree_map(lambda n, o: np.where(pred, n, o).astype(_dtype(o)), new, old)


def _float_dtype_of(tree: Any) -> np.dtype:
    """The widest floating dtype among the leaves (float64 when there are none)."""
    dts = [_dtype(x) for x in tree_flatten(tree)[0] if _dtype(x).kind in "fc"]
    return np.result_type(*dts) if dts else np.dtype(np.float64)


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
    array([0., 0.])
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
    array([-0.2])
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


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations in sequence; the state is the tuple of their states.

    >>> opt = chain(clip_by_global_norm(1.0), sgd(0.5))
    >>> u, _ = opt.update(np.array([3.0, 4.0]), opt.init(np.zeros(2)))
    >>> u
    array([-0.3, -0.4])
    """
    for i, t in enumerate(transforms):
        if not (isinstance(t, tuple) and len(t) == 2 and callable(t[0]) and callable(t[1])):
            raise LocatedTypeError(
                f"chain: argument {i} must be a GradientTransformation (init, update), "
                f"got {type(t).__name__}"
            )
    n = len(transforms)

    def init(params: Any) -> tuple[Any, ...]:
        return tuple(t.init(params) for t in transforms)

    def update(grads: Any, state: tuple[Any, ...], params: Any = None) -> tuple[Any, Any]:
        if type(state) is not tuple:
            raise LocatedTypeError(
                f"chain.update: state must be the tuple returned by init, "
                f"got {type(state).__name__}"
            )
        if len(state) != n:
            raise LocatedValueError(
                f"chain.update: state has {len(state)} entries but the chain has {n} transforms"
            )
        new_states = []
        for t, s in zip(transforms, state):
            grads, s = t.update(grads, s, params)
            new_states.append(s)
        return grads, tuple(new_states)

    return GradientTransformation(init, update)


# ---------------------------------------------------------------------------------------------
# wrappers


def _mask_leaves(mask: Any, tree: Any, where: str) -> tuple[list[bool], Any]:
    """The mask as one Python bool per leaf of ``tree``, and ``tree``'s structure."""
    leaves, tdef = tree_flatten(tree)
    m = mask(tree) if callable(mask) else mask
    m_leaves = tree_flatten(m)[0]
    if len(m_leaves) != len(leaves):
        raise LocatedValueError(
            f"{where}: the mask has {len(m_leaves)} leaves but the parameters have "
            f"{len(leaves)}; give one bool per parameter leaf (the same tree structure: "
            "a prefix of it is not accepted)"
        )
    out = []
    for i, b in enumerate(m_leaves):
        if not isinstance(b, (bool, np.bool_)):
            raise LocatedTypeError(
                f"{where}: mask leaf at {tree_paths(tree)[i]} must be a Python bool, "
                f"got {type(b).__name__}"
            )
        out.append(bool(b))
    return out, tdef


def _mask_tree(tree: Any, keep: list[bool], tdef: Any) -> Any:
    """``tree`` with the masked-out leaves replaced by ``None`` (an empty subtree)."""
    if tree is None:
        return None
    leaves = tree_flatten(tree)[0]
    return tree_unflatten(tdef, [x if k else None for x, k in zip(leaves, keep)])


def masked(inner: GradientTransformation, mask: Any) -> GradientTransformation:
    """Apply ``inner`` only to the leaves where ``mask`` is True; the others pass through
    unchanged (``optax.masked``). ``mask`` is a tree of bools shaped like the parameters, or a
    function params -> such a tree. The inner state holds ``None`` for masked-out leaves.

    >>> opt = masked(scale(10.0), {"w": True, "b": False})
    >>> g = {"w": np.array([1.0]), "b": np.array([1.0])}
    >>> opt.update(g, opt.init(g))[0]
    {'b': array([1.]), 'w': array([10.])}
    """
    where = "masked"

    def init(params: Any) -> MaskedState:
        keep, tdef = _mask_leaves(mask, params, f"{where}.init")
        return MaskedState(inner_state=inner.init(_mask_tree(params, keep, tdef)))

    def update(grads: Any, state: MaskedState, params: Any = None) -> tuple[Any, Any]:
        _check_state(state, MaskedState, f"{where}.update")
        keep, tdef = _mask_leaves(mask, grads, f"{where}.update")
        new_masked, inner_state = inner.update(
            _mask_tree(grads, keep, tdef), state.inner_state, _mask_tree(params, keep, tdef)
        )
        new_leaves = tree_flatten(new_masked, is_leaf=lambda x: x is None)[0]
        old_leaves = tree_flatten(grads)[0]
        out = [n if k else o for n, o, k in zip(new_leaves, old_leaves, keep)]
        return tree_unflatten(tdef, out), MaskedState(inner_state=inner_state)

    return GradientTransformation(init, update)


def multi_transform(
    transforms: Mapping[Hashable, GradientTransformation], param_labels: Any
) -> GradientTransformation:
    """A different transformation per group of parameters (``optax.multi_transform``):
    ``param_labels`` is a tree of labels shaped like the parameters (or a function params ->
    labels), ``transforms`` maps each label to its transformation.

    >>> opt = multi_transform({"a": sgd(0.1), "f": set_to_zero()}, {"w": "a", "b": "f"})
    >>> g = {"w": np.array([1.0]), "b": np.array([1.0])}
    >>> opt.update(g, opt.init(g))[0]
    {'b': array([0.]), 'w': array([-0.1])}
    """
    where = "multi_transform"
    if not isinstance(transforms, Mapping):
        raise LocatedTypeError(
            f"{where}: transforms must be a dict label -> GradientTransformation, "
            f"got {type(transforms).__name__}"
        )

    def labels_of(tree: Any) -> list[Any]:
        labels = param_labels(tree) if callable(param_labels) else param_labels
        flat = tree_flatten(labels)[0]
        missing = sorted({x for x in flat if x not in transforms}, key=repr)
        if missing:
            raise LocatedValueError(
                f"{where}: parameter labels {missing} have no transformation; "
                f"transforms has {sorted(transforms, key=repr)}"
            )
        return flat

    def group_mask(tree: Any, group: Any) -> Any:
        flat = labels_of(tree)
        tdef = tree_flatten(tree)[1]
        return tree_unflatten(tdef, [lab == group for lab in flat])

    def init(params: Any) -> MultiTransformState:
        labels_of(params)
        return MultiTransformState(
            inner_states={
                g: masked(tx, group_mask(params, g)).init(params) for g, tx in transforms.items()
            }
        )

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        _check_state(state, MultiTransformState, f"{where}.update")
        new = {}
        for g, tx in transforms.items():
            grads, new[g] = masked(tx, group_mask(grads, g)).update(
                grads, state.inner_states[g], params
            )
        return grads, MultiTransformState(inner_states=new)

    return GradientTransformation(init, update)


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformation]:
    """Make an optimizer's numeric hyperparameters part of its state (``optax.inject_hyperparams``):
    ``inject_hyperparams(adam)(learning_rate=0.1)`` behaves like ``adam(0.1)``, and its state's
    ``hyperparams`` dict holds the current values — replace ``state.hyperparams["learning_rate"]``
    between steps to change it (also under ``jit``). Schedules given for a hyperparameter are
    evaluated at the step count. ``static_args`` names arguments to pass through unchanged.

    >>> opt = inject_hyperparams(sgd)(learning_rate=0.1)
    >>> state = opt.init(np.zeros(1))
    >>> state.hyperparams["learning_rate"] = np.array(0.5)
    >>> opt.update(np.array([1.0]), state)[0]
    array([-0.5])
    """
    where = "inject_hyperparams"
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    sig = inspect.signature(inner_factory)
    if not static <= set(sig.parameters):
        raise LocatedValueError(
            f"{where}: static_args {sorted(static - set(sig.parameters))} are not parameters of "
            f"{getattr(inner_factory, '__name__', inner_factory)}"
        )

    def wrapped(*args: Any, **kwargs: Any) -> GradientTransformation:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise LocatedTypeError(f"{where}: {e}") from None
        bound.apply_defaults()
        sched, numeric, other = {}, {}, {}
        for name, value in bound.arguments.items():
            if name in static or isinstance(value, (bool, np.bool_)):
                other[name] = value
            elif callable(value):
                sched[name] = value
            elif _is_real_number(value) or isinstance(value, (np.ndarray, np.number, Tracer)):
                numeric[name] = value
            else:
                other[name] = value

        def convert(v: Any, dtype: Any) -> Any:
            if np.dtype(_dtype(v)).kind == "f":
                return fnp.astype(fnp.asarray(v), dtype)
            return fnp.asarray(v)

        def dtype_for(tree: Any) -> Any:
            return (
                np.dtype(hyperparam_dtype)
                if hyperparam_dtype is not None
                else _float_dtype_of(tree)
            )

        def init(params: Any) -> InjectHyperparamsState:
            dt = dtype_for(params)
            count = _init_count()
            hp = {k: convert(v, dt) for k, v in numeric.items()}
            hp.update({k: convert(f(count), dt) for k, f in sched.items()})
            inner = inner_factory(**other, **hp)
            return InjectHyperparamsState(
                count=count, hyperparams=hp, inner_state=inner.init(params)
            )

        def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
            _check_state(state, InjectHyperparamsState, f"{where}.update")
            dt = dtype_for(params if params is not None else grads)
            hp = {k: convert(v, dt) for k, v in state.hyperparams.items()}
            hp.update({k: convert(f(state.count), dt) for k, f in sched.items()})
            updates, inner_state = inner_factory(**other, **hp).update(
                grads, state.inner_state, params
            )
            return updates, InjectHyperparamsState(
                count=_safe_increment(state.count), hyperparams=hp, inner_state=inner_state
            )

        return GradientTransformation(init, update)

    wrapped.__name__ = getattr(inner_factory, "__name__", "inject_hyperparams")
    wrapped.__doc__ = inner_factory.__doc__
    return wrapped


class MultiSteps:
    """Gradient accumulation (``optax.MultiSteps``): average (or sum) the gradients of
    ``every_k_schedule`` mini-steps and apply ``opt`` once with them; the other mini-steps
    return zero updates. Branch-free (``jit``-friendly): the inner update is computed every
    mini-step and kept only on the last one. ``accumulator_dtype=None`` keeps the gradients'
    dtype (optax defaults to float32).

    >>> ms = MultiSteps(sgd(1.0), every_k_schedule=2)
    >>> s = ms.init(np.zeros(1))
    >>> u, s = ms.update(np.array([1.0]), s)
    >>> u, s = ms.update(np.array([3.0]), s)
    >>> u, bool(ms.has_updated(s))
    (array([-2.]), True)
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Schedule,
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable[..., tuple[Any, Any]] | None = None,
        accumulator_dtype: Any = None,
    ) -> None:
        where = "MultiSteps"
        if isinstance(every_k_schedule, numbers.Integral):
            if every_k_schedule < 1:
                raise LocatedValueError(
                    f"{where}: every_k_schedule must be >= 1, got {every_k_schedule}"
                )
            k = int(every_k_schedule)
            self._every_k = lambda step: k
        elif callable(every_k_schedule):
            self._every_k = every_k_schedule
        else:
            raise LocatedTypeError(
                f"{where}: every_k_schedule must be an int or a callable step -> int, "
                f"got {type(every_k_schedule).__name__}"
            )
        self._opt = opt
        self._use_grad_mean = use_grad_mean
        self._acc_dt = None if accumulator_dtype is None else np.dtype(accumulator_dtype)
        self._skip = should_skip_update_fn

    @property
    def inner_opt(self) -> GradientTransformation:
        """The wrapped optimizer."""
        return self._opt

    def init(self, params: Any) -> MultiStepsState:
        """The initial state: counters at 0, zero accumulators, the inner optimizer's state."""
        step = _init_count()
        skip_state: Any = ()
        if self._skip is not None:
            _, skip_state = self._skip(_zeros_like(params), step, params)
        return MultiStepsState(
            mini_step=_init_count(),
            gradient_step=step,
            inner_opt_state=self._opt.init(params),
            acc_grads=_zeros_like(params, self._acc_dt),
            skip_state=skip_state,
        )

    def update(
        self, updates: Any, state: MultiStepsState, params: Any = None
    ) -> tuple[Any, MultiStepsState]:
        """Accumulate one mini-step; every k-th call apply the inner optimizer."""
        _check_state(state, MultiStepsState, "MultiSteps.update")
        k = self._every_k(state.gradient_step)
        skip: Any = False
        skip_state = state.skip_state
        if self._skip is not None:
            skip, skip_state = self._skip(updates, state.gradient_step, params)
        n = state.mini_step
        if self._use_grad_mean:
            acc = tree_map(lambda g, a: a + (g - a) / (n + 1), updates, state.acc_grads)
        else:
            acc = tree_map(lambda g, a: a + g, updates, state.acc_grads)
        acc_cast = tree_map(lambda a, g: a.astype(_dtype(g)), acc, updates)
        final, new_inner = self._opt.update(acc_cast, state.inner_opt_state, params)
        emit = n == k - 1
        new_state = MultiStepsState(
            mini_step=(_safe_increment(n) % k).astype(np.int32),
            gradient_step=np.where(emit, _safe_increment(state.gradient_step), state.gradient_step),
            inner_opt_state=_select_tree(emit, new_inner, state.inner_opt_state),
            acc_grads=tree_map(
                lambda a, old: np.where(emit, np.zeros_like(a), a).astype(_dtype(old)),
                acc,
                state.acc_grads,
            ),
            skip_state=skip_state,
        )
        final = tree_map(lambda u: np.where(emit, u, np.zeros_like(u)), final)
        if self._skip is None:
            return final, new_state
        kept = MultiStepsState(
            state.mini_step,
            state.gradient_step,
            state.inner_opt_state,
            state.acc_grads,
            skip_state,
        )
        out = tree_map(lambda u: np.where(skip, np.zeros_like(u), u), final)
        chosen = MultiStepsState(
            mini_step=np.where(skip, kept.mini_step, new_state.mini_step),
            gradient_step=np.where(skip, kept.gradient_step, new_state.gradient_step),
            inner_opt_state=_select_tree(skip, kept.inner_opt_state, new_state.inner_opt_state),
            acc_grads=_select_tree(skip, kept.acc_grads, new_state.acc_grads),
            skip_state=skip_state,
        )
        return out, chosen

    def has_updated(self, state: MultiStepsState) -> Any:
        """Whether the last ``update`` applied the inner optimizer."""
        return np.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformation:
        """This accumulator as a plain ``(init, update)`` pair."""
        return GradientTransformation(self.init, self.update)


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformation:
    """Skip updates whose gradients contain NaN or inf (``optax.apply_if_finite``): such a step
    returns zero updates and leaves the inner state unchanged, unless more than
    ``max_consecutive_errors`` bad steps came in a row (then it is applied anyway).

    >>> opt = apply_if_finite(sgd(0.1), max_consecutive_errors=2)
    >>> s = opt.init(np.zeros(1))
    >>> u, s = opt.update(np.array([np.inf]), s)
    >>> u, int(s.total_notfinite)
    (array([0.]), 1)
    """
    where = "apply_if_finite"
    if not isinstance(max_consecutive_errors, numbers.Integral) or max_consecutive_errors < 0:
        raise LocatedValueError(
            f"{where}: max_consecutive_errors must be an int >= 0, got {max_consecutive_errors!r}"
        )

    def init(params: Any) -> ApplyIfFiniteState:
        return ApplyIfFiniteState(
            notfinite_count=_init_count(),
            last_finite=np.array(True),
            total_notfinite=_init_count(),
            inner_state=inner.init(params),
        )

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        _check_state(state, ApplyIfFiniteState, f"{where}.update")
        finite: Any = np.array(True)
        for g in tree_flatten(grads)[0]:
            finite = np.logical_and(finite, np.all(np.isfinite(g)))
        notfinite = np.where(finite, np.zeros((), np.int32), _safe_increment(state.notfinite_count))
        apply = np.logical_or(finite, notfinite > max_consecutive_errors)
        # The inner update runs on every step (branch-free, so it traces); on a rejected step
        # its NaN/inf arithmetic is discarded, so do not warn about it.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            new_updates, new_inner = inner.update(grads, state.inner_state, params)
        updates = tree_map(lambda u: np.where(apply, u, np.zeros_like(u)), new_updates)
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite,
            last_finite=finite,
            total_notfinite=np.where(
                finite, state.total_notfinite, _safe_increment(state.total_notfinite)
            ),
            inner_state=_select_tree(apply, new_inner, state.inner_state),
        )

    return GradientTransformation(init, update)


# ---------------------------------------------------------------------------------------------
# schedules: step -> value, evaluated with numpy functions so they trace


def constant_schedule(value: float) -> Schedule:
    """A schedule that always returns ``value`` (``optax.constant_schedule``).

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    _check_real("value", value, "constant_schedule")
    return lambda count: value


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """``(init - end) * (1 - t / transition_steps)**power + end`` with ``t = step -
    transition_begin`` clipped to ``[0, transition_steps]`` (``optax.polynomial_schedule``).

    >>> s = polynomial_schedule(1.0, 0.0, power=2, transition_steps=10)
    >>> float(s(0)), float(s(5)), float(s(20))
    (1.0, 0.25, 0.0)
    """
    where = "polynomial_schedule"
    _check_real("init_value", init_value, where)
    _check_real("end_value", end_value, where)
    _check_real("power", power, where)
    _check_positive("transition_steps", transition_steps, where)
    _check_nonnegative("transition_begin", transition_begin, where)

    def schedule(count: Any) -> Any:
        count = np.clip(count - transition_begin, 0, transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * frac**power + end_value

    return schedule


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Linear from ``init_value`` to ``end_value`` over ``transition_steps`` steps, starting
    at ``transition_begin`` (``optax.linear_schedule``).

    >>> s = linear_schedule(1.0, 0.0, transition_steps=4)
    >>> [float(s(i)) for i in (0, 1, 4, 9)]
    [1.0, 0.75, 0.0, 0.0]
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    """``init_value`` multiplied by each ``scale`` whose boundary the step has reached
    (``optax.piecewise_constant_schedule``).

    >>> s = piecewise_constant_schedule(1.0, {10: 0.1, 20: 0.5})
    >>> [float(s(i)) for i in (0, 10, 25)]
    [1.0, 0.1, 0.05]
    """
    where = "piecewise_constant_schedule"
    _check_real("init_value", init_value, where)
    items = sorted((boundaries_and_scales or {}).items())
    for _, sc in items:
        _check_nonnegative("scale", sc, where)

    def schedule(count: Any) -> Any:
        v: Any = init_value
        for threshold, sc in items:
            v = np.where(count < threshold, v, v * sc)
        return v

    return schedule


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** ((step - transition_begin) / transition_steps)``, as
    ``optax.exponential_decay``.

    With ``staircase`` the exponent is floored; ``end_value`` bounds the result (a floor when
    ``decay_rate < 1``, a ceiling otherwise). Unlike optax, ``transition_steps <= 0`` or
    ``decay_rate == 0`` raise instead of silently giving a constant.

    >>> sched = exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
    >>> float(sched(0)), float(sched(10)), float(sched(20))
    (1.0, 0.5, 0.25)
    """
    where = "exponential_decay"
    _check_real("init_value", init_value, where)
    _check_positive("transition_steps", transition_steps, where)
    _check_positive("decay_rate", decay_rate, where)
    _check_nonnegative("transition_begin", transition_begin, where)
    if end_value is not None:
        _check_real("end_value", end_value, where)
    clip_fn = np.maximum if decay_rate < 1.0 else np.minimum

    def schedule(count: Any) -> Any:
        count = count - transition_begin
        p = count / transition_steps
        if staircase:  # a Python bool hyperparameter, not a traced value
            p = np.floor(p)
        value = np.where(count <= 0, init_value, init_value * np.power(decay_rate, p))
        if end_value is not None:
            value = clip_fn(value, end_value)
        return value

    return schedule


def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps.

    ``init_value * ((1 - alpha) * (0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)))
    ** exponent + alpha)``, as ``optax.cosine_decay_schedule``.

    >>> sched = cosine_decay_schedule(1.0, decay_steps=100, alpha=0.1)
    >>> float(sched(0)), float(sched(50)), float(sched(100)), float(sched(1000))
    (1.0, 0.55, 0.1, 0.1)
    """
    where = "cosine_decay_schedule"
    _check_real("init_value", init_value, where)
    _check_positive("decay_steps", decay_steps, where)
    _check_real("alpha", alpha, where)
    _check_real("exponent", exponent, where)

    def schedule(count: Any) -> Any:
        count = np.minimum(count, decay_steps)
        cosine = 0.5 * (1 + np.cos(np.pi * count / decay_steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: list[Schedule], boundaries: list[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` (seeing the step
    relative to its boundary), ... (``optax.join_schedules``).

    >>> s = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [3])
    >>> [float(s(i)) for i in range(6)]
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    where = "join_schedules"
    schedules, boundaries = list(schedules), list(boundaries)
    if len(schedules) != len(boundaries) + 1:
        raise LocatedValueError(
            f"{where}: need one boundary between each pair of schedules, got "
            f"{len(schedules)} schedules and {len(boundaries)} boundaries"
        )
    for i, f in enumerate(schedules):
        if not callable(f):
            raise LocatedTypeError(f"{where}: schedules[{i}] is not callable")

    def schedule(count: Any) -> Any:
        out = schedules[0](count)
        for boundary, f in zip(boundaries, schedules[1:]):
            out = np.where(count < boundary, out, f(count - boundary))
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
    """Linear warmup ``init_value -> peak_value`` then cosine decay to ``end_value``.

    As ``optax.warmup_cosine_decay_schedule``: ``decay_steps`` is the total length including
    the warmup; the cosine part runs for ``decay_steps - warmup_steps`` steps.

    >>> sched = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110,
    ...                                      end_value=0.1)
    >>> [round(float(sched(s)), 6) for s in (0, 5, 10, 60, 110, 500)]
    [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """
    where = "warmup_cosine_decay_schedule"
    _check_real("init_value", init_value, where)
    _check_real("peak_value", peak_value, where)
    _check_nonnegative("warmup_steps", warmup_steps, where)
    _check_real("decay_steps", decay_steps, where)
    _check_real("end_value", end_value, where)
    if not decay_steps > warmup_steps:
        raise LocatedValueError(
            f"{where}: decay_steps (the total length, warmup included) must be > warmup_steps, "
            f"got decay_steps={decay_steps}, warmup_steps={warmup_steps}"
        )
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    decay = cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)
    if warmup_steps == 0:  # optax's linear schedule degenerates to a constant; skip it
        return decay
    warmup = linear_schedule(init_value, peak_value, warmup_steps)
    return join_schedules([warmup, decay], [warmup_steps])
