"""autograd's ``autograd.misc.optimizers``: plain loops ``sgd``, ``rmsprop``, ``adam``.

Each takes ``grad(x, i)`` (the gradient at parameters ``x`` in iteration ``i``), the initial
parameters ``x0`` (any pytree of arrays), an optional ``callback(x, i, g)`` called before each
step, ``num_iters`` and its step size and constants, with autograd's defaults; it returns the
final parameters with ``x0``'s structure. Written with ``funcgrad.numpy``, so the loops can be
differentiated too (meta-optimization). For ``jit``-able optimizers see ``funcgrad.optim``.

>>> import numpy as np
>>> x = adam(lambda x, i: 2.0 * (x - 3.0), np.zeros(2), num_iters=2000, step_size=0.01)
>>> np.round(x, 4)
array([3., 3.])
"""

import functools as _functools
from collections.abc import Callable as _Callable
from typing import Any as _Any

import funcgrad.numpy as _fnp
from funcgrad.misc.flatten import flatten as _flatten

__all__ = ["sgd", "rmsprop", "adam"]


def _on_pytrees(step_loop: _Callable[..., _Any]) -> _Callable[..., _Any]:
    """Run a loop written for one flat vector on any pytree of parameters."""

    @_functools.wraps(step_loop)
    def run(
        grad: _Callable[[_Any, int], _Any],
        x0: _Any,
        callback: _Callable[..., _Any] | None = None,
        *args: _Any,
        **kwargs: _Any,
    ) -> _Any:
        flat0, unflatten = _flatten(x0)

        def flat_grad(x: _Any, i: int) -> _Any:
            return _flatten(grad(unflatten(x), i))[0]

        flat_cb = None
        if callback is not None:

            def flat_cb(x: _Any, i: int, g: _Any) -> None:
                callback(unflatten(x), i, unflatten(g))

        return unflatten(step_loop(flat_grad, flat0, flat_cb, *args, **kwargs))

    return run


@_on_pytrees
def sgd(
    grad: _Callable[[_Any, int], _Any],
    x: _Any,
    callback: _Callable[..., _Any] | None = None,
    num_iters: int = 200,
    step_size: float = 0.1,
    mass: float = 0.9,
) -> _Any:
    """Stochastic gradient descent with momentum: ``v <- mass·v - (1 - mass)·g``,
    ``x <- x + step_size·v``."""
    velocity = _fnp.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_on_pytrees
def rmsprop(
    grad: _Callable[[_Any, int], _Any],
    x: _Any,
    callback: _Callable[..., _Any] | None = None,
    num_iters: int = 100,
    step_size: float = 0.1,
    gamma: float = 0.9,
    eps: float = 10**-8,
) -> _Any:
    """RMSprop: a running mean of squared gradients (starting at 1) scales each step."""
    avg_sq_grad = _fnp.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (_fnp.sqrt(avg_sq_grad) + eps)
    return x


@_on_pytrees
def adam(
    grad: _Callable[[_Any, int], _Any],
    x: _Any,
    callback: _Callable[..., _Any] | None = None,
    num_iters: int = 100,
    step_size: float = 0.001,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 10**-8,
) -> _Any:
    """Adam (Kingma & Ba): bias-corrected first and second moment estimates."""
    m = _fnp.zeros(len(x))
    v = _fnp.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g**2) + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (_fnp.sqrt(vhat) + eps)
    return x
