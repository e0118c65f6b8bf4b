"""Part of :mod:`funcgrad.optim`: masked, multi_transform, inject_hyperparams, ..."""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.optim._base import (
    ApplyIfFiniteState,
    GradientTransformation,
    InjectHyperparamsState,
    MaskedState,
    MultiStepsState,
    MultiTransformState,
    Schedule,
    _check_state,
    _dtype,
    _float_dtype_of,
    _init_count,
    _is_real_number,
    _safe_increment,
    _select_tree,
    _zeros_like,
)
from funcgrad.tree_util import (
    tree_flatten,
    tree_map,
    tree_paths,
    tree_unflatten,
)

__all__ = [
    "masked",
    "multi_transform",
    "inject_hyperparams",
    "MultiSteps",
    "apply_if_finite",
]


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

    >>> from funcgrad.optim import scale
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

    >>> from funcgrad.optim import set_to_zero, sgd
    >>> opt = multi_transform({"a": sgd(0.1), "f": set_to_zero()}, {"w": "a", "b": "f"})
    >>> g = {"w": np.array([1.0]), "b": np.array([1.0])}
    >>> opt.update(g, opt.init(g))[0]
    {'b': Array([0.]), 'w': array([-0.1])}
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

    >>> from funcgrad.optim import sgd
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

    >>> from funcgrad.optim import sgd
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

    >>> from funcgrad.optim import sgd
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
