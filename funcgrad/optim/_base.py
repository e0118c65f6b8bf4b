"""Part of :mod:`funcgrad.optim`: GradientTransformation, states, checks, chain."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
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
    "apply_updates",
    "sgd_update",
    "global_norm",
    "chain",
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


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply transformations in sequence; the state is the tuple of their states.

    >>> from funcgrad.optim import clip_by_global_norm, sgd
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
