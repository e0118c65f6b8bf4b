"""autograd's ``autograd.misc.fixed_points``: a fixed point with an implicit derivative.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> from funcgrad.misc.fixed_points import fixed_point
>>> newton = lambda a: lambda x: 0.5 * (x + a / x)
>>> sqrt = lambda a: fixed_point(newton, a, 1.0, lambda x, y: fnp.abs(x - y), 1e-12)
>>> round(float(sqrt(2.0)), 12), round(float(fg.grad(sqrt)(2.0)), 8)
(1.414213562373, 0.35355339)
"""

from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

from funcgrad.core.ir import ShapedArray as _ShapedArray
from funcgrad.extend import defvjp as _defvjp
from funcgrad.extend import primitive as _primitive
from funcgrad.transforms.reverse import vjp as _vjp

__all__ = ["fixed_point"]


def _result_type(f: _Any, a: _Any, x0: _Any, distance: _Any, tol: _Any) -> _ShapedArray:
    if hasattr(x0, "shape") and hasattr(x0, "dtype"):
        return _ShapedArray(tuple(x0.shape), _np.dtype(x0.dtype))
    x = _np.asarray(x0)
    return _ShapedArray(x.shape, x.dtype)


def fixed_point(f: _Any, a: _Any, x0: _Any, distance: _Any, tol: _Any) -> _Any:
    """``x* = f(a)(x*)``, found by iterating ``x <- f(a)(x)`` from ``x0`` until
    ``distance(x, x_previous) <= tol``. Differentiable with respect to ``a`` (a pytree of arrays)
    by the implicit function theorem: the cotangent ``w`` solves ``w = g + (d f(a)/dx)ᵀ w`` (itself
    a fixed point, so higher orders work), then ``a̅ = (d f(a)(x*)/da)ᵀ w``. The iteration must
    converge (contraction near ``x*``); ``f`` must not close over differentiated values."""
    step = f(a)
    previous, x = x0, step(x0)
    while distance(x, previous) > tol:
        previous, x = x, step(x)
    return x


fixed_point = _primitive(fixed_point, shape_rule=_result_type)


def _fixed_point_vjp(
    ans: _Any, f: _Callable[..., _Any], a: _Any, x0: _Any, distance: _Any, tol: _Any
) -> _Callable[[_Any], _Any]:
    _, pull_a = _vjp(lambda a_: f(a_)(ans), a)

    def adjoint_map(packed: _Any) -> _Callable[[_Any], _Any]:
        a_, x_star, x_bar = packed
        _, pull_x = _vjp(lambda x: f(a_)(x), x_star)
        return lambda w: x_bar + pull_x(w)[0]

    def vjp_a(g: _Any) -> _Any:
        w = fixed_point(adjoint_map, (a, ans, g), _np.zeros(_np.shape(ans)), distance, tol)
        return pull_a(w)[0]

    return vjp_a


_defvjp(fixed_point, None, _fixed_point_vjp, None)
