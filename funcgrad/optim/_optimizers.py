"""Implementation of :mod:`funcgrad.optim`; the public names are gathered there."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.tree_util import (
    all_leaves_equal_structure,
    tree_flatten,
    tree_map,
    tree_paths,
)

__all__ = [
    "GradientTransformation",
    "Schedule",
    "ScalarOrSchedule",
    "EmptyState",
    "SgdState",
    "AdamState",
    "RmsPropState",
    "sgd_update",
    "apply_updates",
    "sgd",
    "adam",
    "adamw",
    "rmsprop",
    "clip_by_global_norm",
    "chain",
    "global_norm",
    "constant",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine_decay",
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
    """State of :func:`rmsprop`: step count and the running mean of squared gradients."""

    count: Any
    nu: Any


# ---------------------------------------------------------------------------------------------
# validation helpers (run on hyperparameters and on shapes/dtypes only, never on leaf values)


def _is_real_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _check_lr(lr: Any, where: str) -> None:
    if callable(lr):
        return
    if not _is_real_number(lr):
        raise LocatedTypeError(
            f"{where}: learning rate must be a float or a schedule (a callable step -> lr), "
            f"got {type(lr).__name__}"
        )
    if not math.isfinite(lr):
        raise LocatedValueError(f"{where}: learning rate must be finite, got {lr!r}")


def _resolve_lr(learning_rate: Any, lr: Any, where: str) -> Any:
    """optax's name ``learning_rate`` (first argument), or funcgrad's older keyword ``lr``."""
    if learning_rate is not None and lr is not None:
        raise LocatedTypeError(f"{where}: give learning_rate or lr, not both")
    if learning_rate is None and lr is None:
        raise LocatedTypeError(f"{where}: missing the learning rate (learning_rate=...)")
    return learning_rate if learning_rate is not None else lr


def _check_real(name: str, value: Any, where: str) -> None:
    if not _is_real_number(value):
        raise LocatedTypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise LocatedValueError(f"{where}: {name} must be finite, got {value!r}")


def _check_unit_interval(name: str, value: Any, where: str) -> None:
    _check_real(name, value, where)
    if not 0.0 <= value < 1.0:
        raise LocatedValueError(f"{where}: {name} must be in [0, 1), got {value!r}")


def _check_positive(name: str, value: Any, where: str) -> None:
    _check_real(name, value, where)
    if not value > 0:
        raise LocatedValueError(f"{where}: {name} must be > 0, got {value!r}")


def _check_nonnegative(name: str, value: Any, where: str) -> None:
    _check_real(name, value, where)
    if not value >= 0:
        raise LocatedValueError(f"{where}: {name} must be >= 0, got {value!r}")


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


def _zeros_like(tree: Any) -> Any:
    # init runs on concrete params, so building fresh arrays here is fine.
    return tree_map(lambda p: np.zeros(np.shape(p), dtype=_dtype(p)), tree)


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
# transformations


def sgd(
    learning_rate: ScalarOrSchedule | None = None,
    momentum: float | None = 0.0,
    nesterov: bool = False,
    *,
    lr: ScalarOrSchedule | None = None,
) -> GradientTransformation:
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as ``optax.sgd``.

    With momentum ``m``: ``v <- m*v + g``; update ``-lr*v``, or ``-lr*(g + m*v)`` with Nesterov.

    >>> import numpy as np
    >>> opt = sgd(0.1, momentum=0.9)
    >>> state = opt.init(np.array([1.0]))
    >>> u, state = opt.update(np.array([1.0]), state)
    >>> u, state = opt.update(np.array([1.0]), state)
    >>> u  # v = 0.9*1 + 1 = 1.9
    array([-0.19])
    """
    where = "sgd"
    lr = _resolve_lr(learning_rate, lr, where)
    _check_lr(lr, where)
    momentum = 0.0 if momentum is None else momentum  # optax's default is None
    _check_nonnegative("momentum", momentum, where)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise LocatedTypeError(f"{where}: nesterov must be a bool, got {type(nesterov).__name__}")
    use_trace = momentum != 0

    def init(params: Any) -> SgdState:
        _check_float_leaves(params, "params", "sgd.init")
        return SgdState(count=_init_count(), trace=_zeros_like(params) if use_trace else None)

    def update(grads: Any, state: SgdState, params: Any = None) -> tuple[Any, SgdState]:
        del params
        _check_state(state, SgdState, "sgd.update")
        if use_trace:
            _check_same_tree(grads, state.trace, "grads", "state.trace", "sgd.update")
            # optax.trace: f(g, t) = g + m*t; new_trace = f(g, trace); update = f(g, new_trace)
            # with Nesterov, else new_trace. The trace keeps its own dtype.
            trace = tree_map(lambda g, t: (g + momentum * t).astype(_dtype(t)), grads, state.trace)
            if nesterov:
                direction = tree_map(lambda g, t: g + momentum * t, grads, trace)
            else:
                direction = trace
        else:
            trace = None
            direction = grads
        lr_t = _lr_at(lr, state.count)
        updates = _scale_by_lr(direction, lr_t)
        return updates, SgdState(count=_safe_increment(state.count), trace=trace)

    return GradientTransformation(init, update)


def _adam_direction(
    grads: Any, state: AdamState, b1: float, b2: float, eps: float, where: str
) -> tuple[Any, AdamState]:
    _check_state(state, AdamState, where)
    _check_same_tree(grads, state.mu, "grads", "state.mu", where)
    _check_same_tree(grads, state.nu, "grads", "state.nu", where)
    # optax.tree.update_moment / update_moment_per_elem_norm; state keeps its init dtype.
    mu = tree_map(lambda g, m: ((1 - b1) * g + b1 * m).astype(_dtype(m)), grads, state.mu)
    nu = tree_map(lambda g, v: ((1 - b2) * (g * g) + b2 * v).astype(_dtype(v)), grads, state.nu)
    count_inc = _safe_increment(state.count)
    # Bias correction; the float64 factor is cast to the moment's dtype (optax does the same).
    mu_hat = tree_map(lambda m: m / (1 - b1**count_inc).astype(_dtype(m)), mu)
    nu_hat = tree_map(lambda v: v / (1 - b2**count_inc).astype(_dtype(v)), nu)
    direction = tree_map(
        lambda m, v, g: (m / (np.sqrt(v) + eps)).astype(_dtype(g)), mu_hat, nu_hat, grads
    )
    return direction, AdamState(count=count_inc, mu=mu, nu=nu)


def adam(
    learning_rate: ScalarOrSchedule | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    *,
    lr: ScalarOrSchedule | None = None,
) -> GradientTransformation:
    """Adam (Kingma & Ba, 2015) with bias correction, as ``optax.adam``.

    ``m <- b1*m + (1-b1)*g``, ``v <- b2*v + (1-b2)*g^2``, ``t <- t+1``,
    update ``-lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)``.

    >>> import numpy as np
    >>> opt = adam(0.5)
    >>> u, _ = opt.update(np.array([3.0]), opt.init(np.array([0.0])))
    >>> np.round(u, 6)  # the first step has magnitude ~lr whatever the gradient scale
    array([-0.5])
    """
    where = "adam"
    lr = _resolve_lr(learning_rate, lr, where)
    _check_lr(lr, where)
    _check_unit_interval("b1", b1, where)
    _check_unit_interval("b2", b2, where)
    _check_positive("eps", eps, where)

    def init(params: Any) -> AdamState:
        _check_float_leaves(params, "params", "adam.init")
        return AdamState(count=_init_count(), mu=_zeros_like(params), nu=_zeros_like(params))

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        del params
        direction, new_state = _adam_direction(grads, state, b1, b2, eps, "adam.update")
        return _scale_by_lr(direction, _lr_at(lr, state.count)), new_state

    return GradientTransformation(init, update)


def adamw(
    learning_rate: ScalarOrSchedule | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    *,
    lr: ScalarOrSchedule | None = None,
) -> GradientTransformation:
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``optax.adamw``.

    The update is ``-lr * (adam_direction + weight_decay * param)``; ``update`` needs ``params``.

    >>> import numpy as np
    >>> opt = adamw(0.5, weight_decay=0.1)
    >>> p = np.array([2.0])
    >>> u, _ = opt.update(np.array([3.0]), opt.init(p), p)
    >>> np.round(u, 6)  # -0.5 * (1 + 0.1 * 2)
    array([-0.6])
    """
    where = "adamw"
    lr = _resolve_lr(learning_rate, lr, where)
    _check_lr(lr, where)
    _check_unit_interval("b1", b1, where)
    _check_unit_interval("b2", b2, where)
    _check_positive("eps", eps, where)
    _check_nonnegative("weight_decay", weight_decay, where)

    def init(params: Any) -> AdamState:
        _check_float_leaves(params, "params", "adamw.init")
        return AdamState(count=_init_count(), mu=_zeros_like(params), nu=_zeros_like(params))

    def update(grads: Any, state: AdamState, params: Any = None) -> tuple[Any, AdamState]:
        if params is None:
            raise LocatedValueError(
                "adamw.update: weight decay needs the current parameters; "
                "pass params: opt.update(grads, state, params)"
            )
        _check_same_tree(grads, params, "grads", "params", "adamw.update")
        direction, new_state = _adam_direction(grads, state, b1, b2, eps, "adamw.update")
        # optax.add_decayed_weights: decay is added after Adam's rescaling (decoupled).
        direction = tree_map(
            lambda d, p: (d + weight_decay * p).astype(_dtype(d)), direction, params
        )
        return _scale_by_lr(direction, _lr_at(lr, state.count)), new_state

    return GradientTransformation(init, update)


def rmsprop(
    learning_rate: ScalarOrSchedule | None = None,
    decay: float = 0.9,
    eps: float = 1e-8,
    *,
    lr: ScalarOrSchedule | None = None,
) -> GradientTransformation:
    """RMSProp as ``optax.rmsprop`` (no momentum, not centered, initial scale 0).

    ``v <- decay*v + (1-decay)*g^2``; update ``-lr * g / sqrt(v + eps)`` (eps inside the
    square root, optax's default; PyTorch puts it outside).

    >>> import numpy as np
    >>> opt = rmsprop(0.01, decay=0.75, eps=1e-8)
    >>> u, _ = opt.update(np.array([2.0]), opt.init(np.array([0.0])))
    >>> np.round(u, 6)  # -0.01 * 2 / sqrt(0.25 * 4)
    array([-0.02])
    """
    where = "rmsprop"
    lr = _resolve_lr(learning_rate, lr, where)
    _check_lr(lr, where)
    _check_unit_interval("decay", decay, where)
    _check_positive("eps", eps, where)

    def init(params: Any) -> RmsPropState:
        _check_float_leaves(params, "params", "rmsprop.init")
        return RmsPropState(count=_init_count(), nu=_zeros_like(params))

    def update(grads: Any, state: RmsPropState, params: Any = None) -> tuple[Any, RmsPropState]:
        del params
        _check_state(state, RmsPropState, "rmsprop.update")
        _check_same_tree(grads, state.nu, "grads", "state.nu", "rmsprop.update")
        nu = tree_map(
            lambda g, v: ((1 - decay) * (g * g) + decay * v).astype(_dtype(v)), grads, state.nu
        )
        direction = tree_map(lambda g, v: (g / np.sqrt(v + eps)).astype(_dtype(g)), grads, nu)
        updates = _scale_by_lr(direction, _lr_at(lr, state.count))
        return updates, RmsPropState(count=_safe_increment(state.count), nu=nu)

    return GradientTransformation(init, update)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Rescale all updates together so their global L2 norm is at most ``max_norm``.

    As ``optax.clip_by_global_norm``: unchanged if ``norm < max_norm``, else
    ``g / norm * max_norm``.

    >>> import numpy as np
    >>> clip = clip_by_global_norm(1.0)
    >>> clip.update({"a": np.array([3.0]), "b": np.array([4.0])}, clip.init(None))[0]
    {'a': array([0.6]), 'b': array([0.8])}
    """
    _check_positive("max_norm", max_norm, "clip_by_global_norm")

    def init(params: Any) -> EmptyState:
        del params
        return EmptyState()

    def update(grads: Any, state: EmptyState, params: Any = None) -> tuple[Any, EmptyState]:
        del params
        _check_state(state, EmptyState, "clip_by_global_norm.update")
        norm = global_norm(grads)
        keep = norm < max_norm
        # np.where evaluates both branches; dividing by max(norm, max_norm) keeps the unused one
        # finite when norm == 0 and is exactly `norm` whenever that branch is selected.
        safe_norm = np.maximum(norm, max_norm)

        def clip(g: Any) -> Any:
            dt = _dtype(g)
            return np.where(keep, g, g / safe_norm.astype(dt) * max_norm).astype(dt)

        return tree_map(clip, grads), state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations in sequence; the state is the tuple of their states.

    >>> import numpy as np
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
# schedules: step -> value, evaluated with numpy functions so they trace


def constant(value: float) -> Schedule:
    """A schedule that always returns ``value``.

    >>> constant(0.1)(1000)
    0.1
    """
    _check_real("value", value, "constant")
    return lambda count: value


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** (step / transition_steps)``, as ``optax.exponential_decay``.

    With ``staircase`` the exponent is floored; ``end_value`` bounds the result (a floor when
    ``decay_rate < 1``, a ceiling otherwise).

    >>> sched = exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
    >>> float(sched(0)), float(sched(10)), float(sched(20))
    (1.0, 0.5, 0.25)
    """
    where = "exponential_decay"
    _check_real("init_value", init_value, where)
    _check_positive("transition_steps", transition_steps, where)
    _check_positive("decay_rate", decay_rate, where)
    if end_value is not None:
        _check_real("end_value", end_value, where)
    clip = np.maximum if decay_rate < 1.0 else np.minimum

    def schedule(count: Any) -> Any:
        p = count / transition_steps
        if staircase:  # a Python bool hyperparameter, not a traced value
            p = np.floor(p)
        value = np.where(count <= 0, init_value, init_value * np.power(decay_rate, p))
        if end_value is not None:
            value = clip(value, end_value)
        return value

    return schedule


def cosine_decay(init_value: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps.

    ``init_value * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))
    + alpha)``, as ``optax.cosine_decay_schedule``.

    >>> sched = cosine_decay(1.0, decay_steps=100, alpha=0.1)
    >>> float(sched(0)), float(sched(50)), float(sched(100)), float(sched(1000))
    (1.0, 0.55, 0.1, 0.1)
    """
    where = "cosine_decay"
    _check_real("init_value", init_value, where)
    _check_positive("decay_steps", decay_steps, where)
    _check_real("alpha", alpha, where)

    def schedule(count: Any) -> Any:
        count = np.minimum(count, decay_steps)
        cosine = 0.5 * (1 + np.cos(np.pi * count / decay_steps))
        return init_value * ((1 - alpha) * cosine + alpha)

    return schedule


def warmup_cosine_decay(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
) -> Schedule:
    """Linear warmup ``init_value -> peak_value`` then cosine decay to ``end_value``.

    As ``optax.warmup_cosine_decay_schedule``: ``decay_steps`` is the total length including
    the warmup; the cosine part runs for ``decay_steps - warmup_steps`` steps.

    >>> sched = warmup_cosine_decay(0.0, 1.0, warmup_steps=10, decay_steps=110, end_value=0.1)
    >>> [round(float(sched(s)), 6) for s in (0, 5, 10, 60, 110, 500)]
    [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """
    where = "warmup_cosine_decay"
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
    decay = cosine_decay(peak_value, decay_steps - warmup_steps, alpha)

    if warmup_steps == 0:  # optax's linear schedule degenerates to a constant; skip it
        return decay

    def warmup(count: Any) -> Any:
        # optax.linear_schedule (polynomial_schedule with power 1)
        count = np.clip(count, 0, warmup_steps)
        frac = 1 - count / warmup_steps
        return (init_value - peak_value) * frac + peak_value

    def schedule(count: Any) -> Any:
        # optax.join_schedules: the second schedule sees the step relative to its boundary.
        return np.where(count < warmup_steps, warmup(count), decay(count - warmup_steps))

    return schedule
