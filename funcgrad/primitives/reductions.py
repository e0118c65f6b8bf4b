"""Non-linear reductions: reduce_max, reduce_min (the cotangent is shared among ties with
elementwise masks), argmax, argmin. ``reduce_sum`` is linear and lives with its transpose,
``broadcast_in_dim``, in :mod:`.structural`."""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import define
from funcgrad.primitives.elementwise import convert_element_type, div, eq, mul
from funcgrad.primitives.structural import (
    _expand_reduced,
    _front,
    _reduce_batch,
    _reduce_shape,
    reduce_sum,
)


def _extremum_lin_vjp(g: Any, ans: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    # Ties share the gradient equally (as JAX does).
    mask = convert_element_type(eq(x, _expand_reduced(ans, x, axes)), np.result_type(g))
    count = _expand_reduced(reduce_sum(mask, axes), x, axes)
    return mul(_expand_reduced(g, x, axes), div(mask, count))


def _extremum_jvp(t: Any, ans: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    mask = convert_element_type(eq(x, _expand_reduced(ans, x, axes)), np.result_type(t))
    return div(reduce_sum(mul(t, mask), axes), reduce_sum(mask, axes))


reduce_max_p = define(
    "reduce_max",
    lambda x, *, axes: np.max(x, axis=axes),
    _reduce_shape("reduce_max"),
    vjp=(_extremum_lin_vjp,),
    jvp=(_extremum_jvp,),
    batch=_reduce_batch,
    emit="np.maximum.reduce({0}, axis={axes})",
    fresh=True,
)
reduce_min_p = define(
    "reduce_min",
    lambda x, *, axes: np.min(x, axis=axes),
    _reduce_shape("reduce_min"),
    vjp=(_extremum_lin_vjp,),
    jvp=(_extremum_jvp,),
    batch=_reduce_batch,
    emit="np.minimum.reduce({0}, axis={axes})",
    fresh=True,
)


def _argext_shape(x: ShapedArray, *, axis: int) -> ShapedArray:
    if not 0 <= axis < x.ndim:
        raise LocatedValueError(f"argmax/argmin: axis {axis} is out of range for {x}")
    return ShapedArray(x.shape[:axis] + x.shape[axis + 1 :], np.intp)


def _argext_batch(prim: Any, args: Any, dims: Any, *, axis: int) -> Any:
    return bind(prim, _front(args[0], dims[0]), axis=axis + 1), 0


argmax_p = define(
    "argmax",
    lambda x, *, axis: np.argmax(x, axis=axis),
    _argext_shape,
    batch=_argext_batch,
    emit="np.argmax({0}, axis={axis})",
    differentiable=False,
)
argmin_p = define(
    "argmin",
    lambda x, *, axis: np.argmin(x, axis=axis),
    _argext_shape,
    batch=_argext_batch,
    emit="np.argmin({0}, axis={axis})",
    differentiable=False,
)
