"""Conversion and argument helpers shared by every topic: ``asarray``/``array``, ``astype``,
``stack`` (``asarray`` of a list of traced values stacks them), ``shape``/``ndim``/``size``,
``result_type``, axis normalisation, and numpy's dtype and constant names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as _np
from numpy import (  # re-exported
    bool_,
    e,
    float16,
    float32,
    float64,
    inf,
    int8,
    int16,
    int32,
    int64,
    nan,
    newaxis,
    pi,
    uint8,
)

from funcgrad.core.array import Array as _Array
from funcgrad.core.errors import ConcretizationError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import unsupported_dtype
from funcgrad.core.tracer import Tracer, bind
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import structural as _st

__all__ = [
    "bool_",
    "e",
    "float16",
    "float32",
    "float64",
    "inf",
    "int8",
    "int16",
    "int32",
    "int64",
    "nan",
    "newaxis",
    "pi",
    "uint8",
    "ndarray",
    "dtype",
    "float_",
    "asarray",
    "array",
    "astype",
    "stack",
    "shape",
    "ndim",
    "size",
    "result_type",
    "indices",
]


ndarray = _np.ndarray


dtype = _np.dtype


float_ = float64


def _is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def asarray(a: Any, dtype: Any = None) -> Any:
    """Like ``numpy.asarray``; tracers (and lists holding tracers) stay traced. Only numbers:
    strings and objects raise a TypeError (as ``jax.numpy.asarray`` does)."""
    if type(a) is Tracer:
        return a if dtype is None or _np.dtype(dtype) == a.dtype else astype(a, dtype)
    if isinstance(a, (list, tuple)) and _contains_tracer(a):
        return stack([asarray(x) for x in a]) if dtype is None else astype(stack(list(a)), dtype)
    out = _numeric(_np.asarray(a, dtype=dtype))
    return out.view(_Array) if out.ndim and type(out) is _np.ndarray else out


def _numeric(x: Any) -> Any:
    if x.dtype.kind not in "biufc":
        raise LocatedTypeError(
            f"expected numbers (an array, a scalar or a list of them), got "
            f"{type(x).__name__ if isinstance(x, _np.generic) else 'an array'} of dtype "
            f"{x.dtype}: {unsupported_dtype(x.dtype)}"
        )
    return x


array = asarray


def _contains_tracer(a: Any) -> bool:
    stack_ = [a]
    while stack_:
        x = stack_.pop()
        if type(x) is Tracer:
            return True
        if isinstance(x, (list, tuple)):
            stack_.extend(x)
    return False


def _operand(x: Any) -> Any:
    """Tracers, numpy arrays/scalars and Python scalars pass through; sequences become arrays.
    Anything that is not numbers (strings, objects) is refused with a clear TypeError."""
    if type(x) is Tracer or isinstance(x, (float, int, bool, complex)):
        return x
    if isinstance(x, (_np.ndarray, _np.generic)):
        return _numeric(x)
    return asarray(x)


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if type(x) is Tracer else _np.shape(x)


def _ndim(x: Any) -> int:
    return len(_shape(x))


def _dtype(x: Any) -> Any:
    return x.dtype if type(x) is Tracer else _np.result_type(x)


def _norm_axis(axis: int, ndim: int) -> int:
    if not isinstance(axis, (int, _np.integer)):
        raise LocatedTypeError(f"axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise _np.exceptions.AxisError(
            f"axis {axis} is out of bounds for array of dimension {ndim}"
        )
    return int(axis) % ndim if ndim else 0


def _norm_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(sorted(_norm_axis(a, ndim) for a in axis))
        if len(set(axes)) != len(axes):
            raise LocatedValueError(f"duplicate value in axis {axis}")
        return axes
    return (_norm_axis(axis, ndim),)


def astype(x: Any, dtype: Any) -> Any:
    dt = _np.dtype(dtype)
    if _dtype(x) == dt:
        return x
    return bind(_ew.convert_element_type_p, _operand(x), new_dtype=dt)


def stack(arrays: Sequence[Any], axis: int = 0) -> Any:
    arrays = [_operand(x) for x in arrays]
    if not arrays:
        raise LocatedValueError("need at least one array to stack")
    shape = _shape(arrays[0])
    for x in arrays:
        if _shape(x) != shape:
            raise LocatedValueError(
                "stack: all input arrays must have the same shape, got "
                f"{[_shape(y) for y in arrays]}"
            )
    ax = _norm_axis(axis, len(shape) + 1)
    return _st.concatenate([_st.expand_dims(x, (ax,)) for x in arrays], ax)


def shape(a: Any) -> tuple[int, ...]:
    return _shape(a)


def ndim(a: Any) -> int:
    return _ndim(a)


def size(a: Any) -> int:
    n = 1
    for s in _shape(a):
        n *= s
    return n


def result_type(*args: Any) -> Any:
    return _np.result_type(*[a.dtype if type(a) is Tracer else a for a in args])


def _concrete(x: Any, what: str) -> Any:
    if type(x) is Tracer:
        if x.val is None:
            raise ConcretizationError(
                f"{what} needs concrete values, but got an abstract traced value {x.aval} "
                f"(traced by {x._trace.kind}). Sizes, bounds and indices must be static: "
                "mark the argument static with jit(f, static_argnums=...), or use fnp.where "
                "/ funcgrad.lax for value-dependent choices."
            )
        return x.val
    return x


indices = _np.indices
