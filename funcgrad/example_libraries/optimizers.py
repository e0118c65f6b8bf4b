"""JAX's ``jax.example_libraries.optimizers``: optimizers as triples of pure functions.

``opt_init, opt_update, get_params = adam(step_size)``; ``state = opt_init(params)``;
``state = opt_update(i, grads, state)``; ``params = get_params(state)``. Parameters are any
pytree of arrays; the state is an :class:`OptimizerState` pytree, so ``opt_update`` can be
``jit``-compiled. ``step_size`` is a number or a schedule ``i -> step size``. (The optax-style
optimizers of ``funcgrad.optim`` are the maintained alternative.)

>>> import numpy as np, funcgrad as fg
>>> opt_init, opt_update, get_params = momentum(0.1, mass=0.9)
>>> state = opt_init({"w": np.array([1.0, -2.0])})
>>> loss = lambda p: (p["w"] ** 2).sum()
>>> for i in range(100):
...     state = opt_update(i, fg.grad(loss)(get_params(state)), state)
>>> bool(np.abs(get_params(state)["w"]).max() < 1e-2)
True
"""

import functools as _functools
from collections import namedtuple as _namedtuple
from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.core.errors import LocatedTypeError as _LocatedTypeError
from funcgrad.core.errors import LocatedValueError as _LocatedValueError
from funcgrad.core.pytree import register_pytree_node as _register_pytree_node
from funcgrad.core.pytree import tree_flatten as _tree_flatten
from funcgrad.core.pytree import tree_leaves as _tree_leaves
from funcgrad.core.pytree import tree_map as _tree_map
from funcgrad.core.pytree import tree_unflatten as _tree_unflatten

__all__ = [
    "Optimizer",
    "OptimizerState",
    "JoinPoint",
    "optimizer",
    "make_schedule",
    "constant",
    "exponential_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "piecewise_constant",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "rmsprop_momentum",
    "adam",
    "adamax",
    "sm3",
    "l2_norm",
    "clip_grads",
    "pack_optimizer_state",
    "unpack_optimizer_state",
]

OptimizerState = _namedtuple("OptimizerState", ["packed_state", "tree_def", "subtree_defs"])
OptimizerState.__doc__ = """The state of a pytree optimizer: the flat per-leaf states
(children) and the structures of the parameters and of each leaf's state (static)."""
_register_pytree_node(
    OptimizerState,
    lambda s: ((s.packed_state,), (s.tree_def, s.subtree_defs)),
    lambda aux, kids: OptimizerState(kids[0], aux[0], aux[1]),
)

Optimizer = _namedtuple("Optimizer", ["init_fn", "update_fn", "params_fn"])
Optimizer.__doc__ = """``(init_fn, update_fn, params_fn)``, what an optimizer returns."""


def optimizer(opt_maker: _Callable[..., _Any]) -> _Callable[..., Optimizer]:
    """Turn a maker of ``(init, update, get_params)`` for one array into one for pytrees:
    each leaf gets its own state (JAX's ``@optimizer`` decorator)."""

    @_functools.wraps(opt_maker)
    def tree_opt_maker(*args: _Any, **kwargs: _Any) -> Optimizer:
        init, update, get_params = opt_maker(*args, **kwargs)

        @_functools.wraps(init)
        def tree_init(x0_tree: _Any) -> OptimizerState:
            x0_flat, tree = _tree_flatten(x0_tree)
            states = [_tree_flatten(init(x0)) for x0 in x0_flat]
            return OptimizerState(tuple(s for s, _ in states), tree, tuple(t for _, t in states))

        @_functools.wraps(update)
        def tree_update(i: _Any, grad_tree: _Any, opt_state: OptimizerState) -> OptimizerState:
            states_flat, tree, subtrees = opt_state
            grad_flat, grad_tree_def = _tree_flatten(grad_tree)
            if grad_tree_def != tree:
                raise _LocatedTypeError(
                    "optimizer update: the gradient has structure "
                    f"{grad_tree_def}, but the parameters have structure {tree}"
                )
            new = [
                _tree_flatten(update(i, g, _tree_unflatten(sub, s)))
                for g, s, sub in zip(grad_flat, states_flat, subtrees)
            ]
            for (_, sub2), sub in zip(new, subtrees):
                if sub2 != sub:
                    raise _LocatedTypeError(
                        f"optimizer update changed the structure of a leaf's state from {sub} "
                        f"to {sub2}"
                    )
            return OptimizerState(tuple(s for s, _ in new), tree, subtrees)

        @_functools.wraps(get_params)
        def tree_get_params(opt_state: OptimizerState) -> _Any:
            states_flat, tree, subtrees = opt_state
            params = [get_params(_tree_unflatten(sub, s)) for s, sub in zip(states_flat, subtrees)]
            return _tree_unflatten(tree, params)

        return Optimizer(tree_init, tree_update, tree_get_params)

    return tree_opt_maker


# --- schedules -----------------------------------------------------------------------------
def constant(step_size: float) -> _Callable[[_Any], _Any]:
    """``i -> step_size``.

    >>> constant(0.1)(7)
    0.1
    """

    def schedule(i: _Any) -> _Any:
        return step_size

    return schedule


def exponential_decay(
    step_size: float, decay_steps: float, decay_rate: float
) -> _Callable[[_Any], _Any]:
    """``i -> step_size · decay_rate ** (i / decay_steps)``.

    >>> float(exponential_decay(1.0, 10, 0.5)(20))
    0.25
    """

    def schedule(i: _Any) -> _Any:
        return step_size * decay_rate ** (i / decay_steps)

    return schedule


def inverse_time_decay(
    step_size: float, decay_steps: float, decay_rate: float, staircase: bool = False
) -> _Callable[[_Any], _Any]:
    """``i -> step_size / (1 + decay_rate · i / decay_steps)`` (``floor`` of the ratio with
    ``staircase=True``).

    >>> float(inverse_time_decay(1.0, 10, 1.0, staircase=True)(15))
    0.5
    """
    if staircase:

        def schedule(i: _Any) -> _Any:
            return step_size / (1 + decay_rate * _fnp.floor(i / decay_steps))

    else:

        def schedule(i: _Any) -> _Any:
            return step_size / (1 + decay_rate * i / decay_steps)

    return schedule


def polynomial_decay(
    step_size: float, decay_steps: int, final_step_size: float, power: float = 1.0
) -> _Callable[[_Any], _Any]:
    """From ``step_size`` to ``final_step_size`` in ``decay_steps`` steps along
    ``(1 - i / decay_steps) ** power``, then constant.

    >>> float(polynomial_decay(1.0, 10, 0.0)(5)), float(polynomial_decay(1.0, 10, 0.0)(50))
    (0.5, 0.0)
    """

    def schedule(step_num: _Any) -> _Any:
        step_num = _fnp.minimum(step_num, decay_steps)
        step_mult = (1 - step_num / decay_steps) ** power
        return step_mult * (step_size - final_step_size) + final_step_size

    return schedule


def piecewise_constant(boundaries: _Any, values: _Any) -> _Callable[[_Any], _Any]:
    """``values[k]`` where ``k`` is the number of boundaries below ``i``
    (``len(values) == len(boundaries) + 1``).

    >>> s = piecewise_constant([10, 20], [1.0, 0.5, 0.1])
    >>> float(s(5)), float(s(15)), float(s(25))
    (1.0, 0.5, 0.1)
    """
    boundaries = _np.array(boundaries)
    values = _np.array(values)
    if not boundaries.ndim == values.ndim == 1:
        raise _LocatedValueError("piecewise_constant: boundaries and values must be sequences")
    if not boundaries.shape[0] == values.shape[0] - 1:
        raise _LocatedValueError(
            "piecewise_constant: values must have exactly one more entry than boundaries"
        )

    def schedule(i: _Any) -> _Any:
        k = _fnp.sum(i > boundaries)
        out = values[0]
        for j in range(1, len(values)):  # a chain of selects: exact values, traceable
            out = _fnp.where(k == j, values[j], out)
        return out

    return schedule


def make_schedule(scalar_or_schedule: _Any) -> _Callable[[_Any], _Any]:
    """A schedule as is; a number as a :func:`constant` schedule."""
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if _np.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise _LocatedTypeError(
        f"step size must be a number or a schedule (i -> step size), got "
        f"{type(scalar_or_schedule).__name__}"
    )


# --- optimizers ----------------------------------------------------------------------------
@optimizer
def sgd(step_size: _Any) -> tuple[_Any, _Any, _Any]:
    """Gradient descent: ``x <- x - step_size(i) · g``."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0

    def update(i: _Any, g: _Any, x: _Any) -> _Any:
        return x - step_size(i) * g

    def get_params(x: _Any) -> _Any:
        return x

    return init, update, get_params


@optimizer
def momentum(step_size: _Any, mass: float) -> tuple[_Any, _Any, _Any]:
    """Heavy-ball momentum: ``v <- mass · v + g``, ``x <- x - step_size(i) · v``."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * velocity, velocity

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def nesterov(step_size: _Any, mass: float) -> tuple[_Any, _Any, _Any]:
    """Nesterov momentum: ``v <- mass · v + g``, ``x <- x - step_size(i) · (mass · v + g)``."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * (mass * velocity + g), velocity

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def adagrad(step_size: _Any, momentum: float = 0.9) -> tuple[_Any, _Any, _Any]:
    """Adagrad with momentum: steps scaled by the root of the summed squared gradients."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0), _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, g_sq, m = state
        g_sq = g_sq + _fnp.square(g)
        safe = _fnp.where(g_sq > 0, g_sq, 1.0)
        g_sq_inv_sqrt = _fnp.where(g_sq > 0, 1.0 / _fnp.sqrt(safe), 0.0)
        m = (1.0 - momentum) * (g * g_sq_inv_sqrt) + momentum * m
        return x - step_size(i) * m, g_sq, m

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def rmsprop(step_size: _Any, gamma: float = 0.9, eps: float = 1e-8) -> tuple[_Any, _Any, _Any]:
    """RMSprop: ``avg <- gamma · avg + (1 - gamma) · g²``, ``x <- x - step · g / √(avg + eps)``."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, avg_sq_grad = state
        avg_sq_grad = avg_sq_grad * gamma + _fnp.square(g) * (1.0 - gamma)
        return x - step_size(i) * g / _fnp.sqrt(avg_sq_grad + eps), avg_sq_grad

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def rmsprop_momentum(
    step_size: _Any, gamma: float = 0.9, eps: float = 1e-8, momentum: float = 0.9
) -> tuple[_Any, _Any, _Any]:
    """RMSprop with momentum on the scaled steps."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0), _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, avg_sq_grad, mom = state
        avg_sq_grad = avg_sq_grad * gamma + _fnp.square(g) * (1.0 - gamma)
        mom = momentum * mom + step_size(i) * g / _fnp.sqrt(avg_sq_grad + eps)
        return x - mom, avg_sq_grad, mom

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def adam(
    step_size: _Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> tuple[_Any, _Any, _Any]:
    """Adam with bias-corrected moment estimates."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0), _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * _fnp.square(g) + b2 * v
        mhat = m / (1 - _fnp.asarray(b1, m.dtype) ** (i + 1))
        vhat = v / (1 - _fnp.asarray(b2, m.dtype) ** (i + 1))
        return x - step_size(i) * mhat / (_fnp.sqrt(vhat) + eps), m, v

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def adamax(
    step_size: _Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> tuple[_Any, _Any, _Any]:
    """AdaMax, Adam's infinity-norm variant."""
    step_size = make_schedule(step_size)

    def init(x0: _Any) -> _Any:
        return x0, _fnp.zeros_like(x0), _fnp.zeros_like(x0)

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = _fnp.maximum(b2 * u, _fnp.abs(g))
        step = step_size(i) / (1 - _fnp.asarray(b1, m.dtype) ** (i + 1))
        return x - step * m / (u + eps), m, u

    def get_params(state: _Any) -> _Any:
        return state[0]

    return init, update, get_params


@optimizer
def sm3(step_size: _Any, momentum: float = 0.9) -> tuple[_Any, _Any, _Any]:
    """SM3 (memory-efficient adaptive steps): one accumulator vector per axis."""
    step_size = make_schedule(step_size)

    def along(ndim: int, v: _Any, axis: int) -> _Any:
        shape = [1] * ndim
        shape[axis] = -1
        return _fnp.reshape(v, tuple(shape))

    def init(x0: _Any) -> _Any:
        x_shape = _np.shape(x0)
        x0 = _fnp.atleast_1d(x0)
        vs = [_fnp.zeros(n, dtype=x0.dtype) for n in x0.shape]
        return x0, _fnp.zeros_like(x0), vs, x_shape

    def update(i: _Any, g: _Any, state: _Any) -> _Any:
        x, m, vs, x_shape = state
        g = _fnp.reshape(g, _np.shape(x))
        vs = [along(x.ndim, v, k) for k, v in enumerate(vs)]
        accum = _functools.reduce(_fnp.minimum, vs) + _fnp.square(g)
        safe = _fnp.where(accum > 0, accum, 1.0)
        accum_inv_sqrt = _fnp.where(accum > 0, 1.0 / _fnp.sqrt(safe), 0.0)
        m = (1.0 - momentum) * (g * accum_inv_sqrt) + momentum * m
        x = x - step_size(i) * m
        vs = [
            _fnp.max(accum, axis=tuple(a for a in range(x.ndim) if a != k)) for k in range(x.ndim)
        ]
        return x, m, vs, x_shape

    def get_params(state: _Any) -> _Any:
        x, _, _, x_shape = state
        return _fnp.reshape(x, tuple(int(d) for d in x_shape))

    return init, update, get_params


# --- utilities -----------------------------------------------------------------------------
def l2_norm(tree: _Any) -> _Any:
    """The 2-norm of all leaves together.

    >>> float(l2_norm({"a": _np.array([3.0]), "b": 4.0}))
    5.0
    """
    leaves = _tree_leaves(tree)
    return _fnp.sqrt(sum(_fnp.sum(_fnp.square(x)) for x in leaves))


def clip_grads(grad_tree: _Any, max_norm: float) -> _Any:
    """Scale ``grad_tree`` down to 2-norm ``max_norm`` when it is longer.

    >>> clip_grads({"g": _np.array([3.0, 4.0])}, 1.0)
    {'g': Array([0.6, 0.8])}
    """
    norm = l2_norm(grad_tree)

    def normalize(g: _Any) -> _Any:
        return _fnp.where(norm < max_norm, g, g * (max_norm / norm))

    return _tree_map(normalize, grad_tree)


class JoinPoint:
    """Marks where a leaf's optimizer state joins the parameter tree in
    :func:`unpack_optimizer_state` (a leaf, not a pytree node)."""

    def __init__(self, subtree: _Any) -> None:
        self.subtree = subtree

    def __iter__(self) -> _Any:
        yield from self.subtree


def unpack_optimizer_state(opt_state: OptimizerState) -> _Any:
    """The state as a pytree shaped like the parameters, each leaf a :class:`JoinPoint`
    holding that parameter's state (for saving with ordinary pytree tools)."""
    states_flat, tree_def, subtree_defs = opt_state
    subtrees = [_tree_unflatten(d, s) for d, s in zip(subtree_defs, states_flat)]
    return _tree_unflatten(tree_def, [JoinPoint(s) for s in subtrees])


def pack_optimizer_state(marked_pytree: _Any) -> OptimizerState:
    """Inverse of :func:`unpack_optimizer_state`.

    >>> import numpy as np
    >>> init, _, _ = adam(0.1)
    >>> s = init({"w": np.ones(2)})
    >>> pack_optimizer_state(unpack_optimizer_state(s)).subtree_defs == s.subtree_defs
    True
    """
    sentinels, tree_def = _tree_flatten(marked_pytree)
    if not all(isinstance(s, JoinPoint) for s in sentinels):
        raise _LocatedTypeError(
            "pack_optimizer_state: every leaf must be a JoinPoint (as made by "
            "unpack_optimizer_state)"
        )
    flat = [_tree_flatten(s.subtree) for s in sentinels]
    return OptimizerState(tuple(f for f, _ in flat), tree_def, tuple(d for _, d in flat))
