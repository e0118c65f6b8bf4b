"""``jax.lax``'s operations under their lax names and signatures, composed from the primitive
table and :mod:`funcgrad.numpy` (so every one works under every transform). Convolutions bind
the ``conv`` primitive (:mod:`funcgrad.primitives.conv`).

Differences from ``jax.lax``: numpy computes in full precision, so ``precision=`` is accepted
and ignored; there are no devices or shardings.
"""

from __future__ import annotations

import builtins
import enum
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as _np

from funcgrad import numpy as _fnp
from funcgrad.core import errors as _errors
from funcgrad.core.pytree import tree_flatten, tree_unflatten
from funcgrad.core.tracer import Tracer
from funcgrad.lax._control_flow import scan
from funcgrad.numpy._indexing import IndexUpdateRef, getitem
from funcgrad.primitives import conv as _conv
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import random_special as _rs
from funcgrad.primitives import structural as _st
from funcgrad.primitives.structural import Index, Slice
from funcgrad.transforms.batching import vmap as _vmap

__all__ = [
    # elementwise
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cbrt",
    "ceil",
    "clamp",
    "convert_element_type",
    "cos",
    "cosh",
    "div",
    "eq",
    "erf",
    "erf_inv",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "ge",
    "gt",
    "integer_pow",
    "is_finite",
    "le",
    "log",
    "log1p",
    "logistic",
    "lt",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "pow",
    "reciprocal",
    "rem",
    "round",
    "RoundingMethod",
    "rsqrt",
    "select",
    "select_n",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "stop_gradient",
    "sub",
    "tan",
    "tanh",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    # shapes
    "broadcast",
    "broadcast_in_dim",
    "broadcast_shapes",
    "broadcast_to_rank",
    "broadcasted_iota",
    "collapse",
    "concatenate",
    "expand_dims",
    "full",
    "full_like",
    "iota",
    "pad",
    "reshape",
    "rev",
    "squeeze",
    "split",
    "transpose",
    "tile",
    # slicing
    "slice",
    "slice_in_dim",
    "index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "dynamic_update_index_in_dim",
    "index_take",
    "GatherDimensionNumbers",
    "ScatterDimensionNumbers",
    "GatherScatterMode",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_sub",
    "scatter_mul",
    "scatter_min",
    "scatter_max",
    # reductions, scans, sorting
    "reduce_sum",
    "reduce_prod",
    "reduce_max",
    "reduce_min",
    "reduce_and",
    "reduce_or",
    "argmax",
    "argmin",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "cumlogsumexp",
    "associative_scan",
    "map",
    "sort",
    "sort_key_val",
    "top_k",
    # products and windows
    "Precision",
    "dot",
    "dot_general",
    "batch_matmul",
    "ConvDimensionNumbers",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv",
    "conv_with_general_padding",
    "conv_transpose",
    "padtype_to_pads",
    "reduce_window",
    "optimization_barrier",
    # added for breadth
    "stack",
    "unstack",
    "reduce",
    "reduce_xor",
    "dtype",
    "approx_max_k",
    "approx_min_k",
    "conv_general_dilated_patches",
    "conv_shape_tuple",
    "conv_general_shape_tuple",
    "conv_general_permutations",
    "reduce_window_shape_tuple",
    "platform_dependent",
    "with_sharding_constraint",
    "reduce_precision",
]

_builtin_max, _builtin_min, _builtin_slice = builtins.max, builtins.min, builtins.slice


def _is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if _is_tracer(x) else _np.shape(x)


def _weak(x: Any) -> bool:
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, _np.generic)


def _dtype(x: Any) -> _np.dtype:
    return x.dtype if _is_tracer(x) else _np.result_type(x)


def _same_dtypes(name: str, *xs: Any) -> None:
    """lax does not promote: strongly typed operands must share one dtype."""
    dts = {_dtype(x) for x in xs if not _weak(x)}
    if len(dts) > 1:
        shown = ", ".join(sorted(str(d) for d in dts))
        raise _errors.LocatedTypeError(
            f"lax.{name} requires arguments to have the same dtypes, got {shown}; convert "
            "with lax.convert_element_type (or use funcgrad.numpy, which promotes)"
        )


def _unary(name: str, fn: Callable[..., Any], doc: str) -> Callable[..., Any]:
    def op(x: Any) -> Any:
        return fn(_fnp.asarray(x) if not _is_tracer(x) else x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _binary(name: str, fn: Callable[..., Any], doc: str) -> Callable[..., Any]:
    def op(x: Any, y: Any) -> Any:
        _same_dtypes(name, x, y)
        return fn(x, y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


# --- elementwise ----------------------------------------------------------------------------
abs = _unary("abs", _fnp.abs, "Elementwise absolute value.")  # noqa: A001
acos = _unary("acos", _fnp.arccos, "Elementwise arc cosine.")
acosh = _unary("acosh", _fnp.arccosh, "Elementwise inverse hyperbolic cosine.")
asin = _unary("asin", _fnp.arcsin, "Elementwise arc sine.")
asinh = _unary("asinh", _fnp.arcsinh, "Elementwise inverse hyperbolic sine.")
atan = _unary("atan", _fnp.arctan, "Elementwise arc tangent.")
atanh = _unary("atanh", _fnp.arctanh, "Elementwise inverse hyperbolic tangent.")
cbrt = _unary("cbrt", _fnp.cbrt, "Elementwise cube root.")
ceil = _unary("ceil", _fnp.ceil, "Elementwise ceiling (no derivative).")
cos = _unary("cos", _fnp.cos, "Elementwise cosine.")
cosh = _unary("cosh", _fnp.cosh, "Elementwise hyperbolic cosine.")
exp = _unary("exp", _fnp.exp, "Elementwise exponential.")
exp2 = _unary("exp2", _fnp.exp2, "Elementwise ``2 ** x``.")
expm1 = _unary("expm1", _fnp.expm1, "Elementwise ``exp(x) - 1``.")
floor = _unary("floor", _fnp.floor, "Elementwise floor (no derivative).")
is_finite = _unary("is_finite", _fnp.isfinite, "Elementwise finiteness test (boolean).")
log = _unary("log", _fnp.log, "Elementwise natural logarithm.")
log1p = _unary("log1p", _fnp.log1p, "Elementwise ``log(1 + x)``.")
neg = _unary("neg", _fnp.negative, "Elementwise negation.")
sign = _unary("sign", _fnp.sign, "Elementwise sign (no derivative).")
sin = _unary("sin", _fnp.sin, "Elementwise sine.")
sinh = _unary("sinh", _fnp.sinh, "Elementwise hyperbolic sine.")
sqrt = _unary("sqrt", _fnp.sqrt, "Elementwise square root.")
square = _unary("square", _fnp.square, "Elementwise square.")
tan = _unary("tan", _fnp.tan, "Elementwise tangent.")
tanh = _unary("tanh", _fnp.tanh, "Elementwise hyperbolic tangent.")
reciprocal = _unary("reciprocal", _fnp.reciprocal, "Elementwise ``1 / x``.")
erf = _unary("erf", _rs.erf, "Elementwise error function.")
erf_inv = _unary("erf_inv", _rs.erf_inv, "Elementwise inverse error function.")
stop_gradient = _unary(
    "stop_gradient", _fnp.stop_gradient, "``x`` with a zero derivative (the value passes)."
)

add = _binary("add", _fnp.add, "Elementwise ``x + y`` (same dtypes).")
sub = _binary("sub", _fnp.subtract, "Elementwise ``x - y`` (same dtypes).")
mul = _binary("mul", _fnp.multiply, "Elementwise ``x * y`` (same dtypes).")
max = _binary("max", _fnp.maximum, "Elementwise maximum (same dtypes).")  # noqa: A001
min = _binary("min", _fnp.minimum, "Elementwise minimum (same dtypes).")  # noqa: A001
atan2 = _binary("atan2", _fnp.arctan2, "Elementwise ``atan(x / y)`` by quadrant.")
eq = _binary("eq", _fnp.equal, "Elementwise ``x == y``.")
ne = _binary("ne", _fnp.not_equal, "Elementwise ``x != y``.")
lt = _binary("lt", _fnp.less, "Elementwise ``x < y``.")
le = _binary("le", _fnp.less_equal, "Elementwise ``x <= y``.")
gt = _binary("gt", _fnp.greater, "Elementwise ``x > y``.")
ge = _binary("ge", _fnp.greater_equal, "Elementwise ``x >= y``.")
nextafter = _binary("nextafter", _rs.nextafter, "The next float after ``x`` towards ``y``.")


def _bitwise(name: str, fn: Any, logical: Any) -> Callable[..., Any]:
    def op(x: Any, y: Any) -> Any:
        _same_dtypes(name, x, y)
        x, y = _fnp.asarray(x), _fnp.asarray(y)
        if _dtype(x).kind != "b":
            raise _errors.LocatedTypeError(
                f"lax.{name}: funcgrad supports boolean operands only, got {_dtype(x)}"
            )
        return logical(x, y)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {fn} of boolean arrays."
    return op


bitwise_and = _bitwise("bitwise_and", "and", _fnp.logical_and)
bitwise_or = _bitwise("bitwise_or", "or", _fnp.logical_or)
bitwise_xor = _bitwise("bitwise_xor", "xor", _fnp.logical_xor)


def bitwise_not(x: Any) -> Any:
    """Elementwise not of a boolean array."""
    x = _fnp.asarray(x)
    if _dtype(x).kind != "b":
        raise _errors.LocatedTypeError(
            f"lax.bitwise_not: funcgrad supports boolean operands only, got {_dtype(x)}"
        )
    return _fnp.logical_not(x)


def erfc(x: Any) -> Any:
    """Elementwise ``1 - erf(x)``."""
    return _fnp.subtract(1.0, erf(x))


def div(x: Any, y: Any) -> Any:
    """Elementwise division; integers round towards zero (C semantics), as in XLA.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.div(np.array([7, -7]), np.array([2, 2]))
    Array([ 3, -3])
    """
    _same_dtypes("div", x, y)
    x, y = _fnp.asarray(x), _fnp.asarray(y)
    if _dtype(x).kind in "iu" and _dtype(y).kind in "iu":
        q = _fnp.floor_divide(x, y)
        # floor -> towards zero: add one where the signs differ and the division is inexact
        fix = _fnp.logical_and(
            _fnp.not_equal(_fnp.multiply(q, y), x), _fnp.less(_fnp.multiply(x, y), 0)
        )
        return _fnp.add(q, _fnp.astype(fix, _dtype(q)))
    return _fnp.divide(x, y)


def rem(x: Any, y: Any) -> Any:
    """Elementwise remainder with the sign of ``x`` (C's ``fmod``), as in XLA."""
    _same_dtypes("rem", x, y)
    return _fnp.fmod(x, y)


def pow(x: Any, y: Any) -> Any:  # noqa: A001
    """Elementwise ``x ** y``."""
    return _fnp.power(x, y)


def integer_pow(x: Any, y: int) -> Any:
    """``x ** y`` for a static Python integer ``y``.

    >>> import funcgrad as fg
    >>> from funcgrad import lax
    >>> fg.grad(lambda x: lax.integer_pow(x, 3))(2.0)
    np.float64(12.0)
    """
    return _ew.integer_pow(_fnp.asarray(x), operator.index(y))


def rsqrt(x: Any) -> Any:
    """Elementwise ``1 / sqrt(x)``."""
    return _fnp.reciprocal(_fnp.sqrt(x))


def logistic(x: Any) -> Any:
    """Elementwise ``1 / (1 + exp(-x))``."""
    x = _fnp.asarray(x)
    return _fnp.multiply(0.5, _fnp.add(_fnp.tanh(_fnp.multiply(0.5, x)), 1.0))


class RoundingMethod(enum.IntEnum):
    """How :func:`round` breaks ties."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x: Any, rounding_method: Any = RoundingMethod.AWAY_FROM_ZERO) -> Any:  # noqa: A001
    """Round to the nearest integer; ties away from zero (default) or to even.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.round(np.array([0.5, 1.5, -2.5]))
    Array([ 1.,  2., -3.])
    """
    x = _fnp.asarray(x)
    if RoundingMethod(int(rounding_method)) is RoundingMethod.TO_NEAREST_EVEN:
        return _fnp.rint(x)
    return _fnp.multiply(_fnp.sign(x), _fnp.floor(_fnp.add(_fnp.abs(x), 0.5)))


def clamp(min: Any, x: Any, max: Any) -> Any:  # noqa: A002
    """``x`` clipped to ``[min, max]`` (lax's argument order: bounds around the operand).

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    Array([0. , 0.5, 1. ])
    """
    return _fnp.minimum(_fnp.maximum(x, min), max)


def convert_element_type(operand: Any, new_dtype: Any) -> Any:
    """``operand`` cast to ``new_dtype`` (float to int truncates towards zero)."""
    return _fnp.astype(_fnp.asarray(operand), _np.dtype(new_dtype))


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """Elementwise ``on_true`` where ``pred`` else ``on_false``; shapes must be equal (a
    scalar ``pred`` is allowed)."""
    pred = _fnp.asarray(pred)
    if _dtype(pred).kind != "b":
        raise _errors.LocatedTypeError(f"lax.select: pred must be boolean, got {_dtype(pred)}")
    _same_dtypes("select", on_true, on_false)
    st, sf = _shape(on_true), _shape(on_false)
    if st != sf or (_shape(pred) not in ((), st)):
        raise _errors.LocatedValueError(
            f"lax.select: pred {_shape(pred)}, on_true {st} and on_false {sf} must have one "
            "shape (pred may be a scalar)"
        )
    return _fnp.where(pred, on_true, on_false)


def select_n(which: Any, *cases: Any) -> Any:
    """``cases[which]`` elementwise: ``which`` is boolean (two cases) or an integer array.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.select_n(np.array([0, 2, 1]), np.zeros(3), np.ones(3), np.full(3, 2.0))
    Array([0., 2., 1.])
    """
    if not cases:
        raise _errors.LocatedValueError("lax.select_n needs at least one case")
    which = _fnp.asarray(which)
    _same_dtypes("select_n", *cases)
    shapes = {_shape(c) for c in cases}
    if len(shapes) > 1 or _shape(which) not in ((), *shapes):
        raise _errors.LocatedValueError(
            f"lax.select_n: cases must share one shape and which must be scalar or of that "
            f"shape; got which {_shape(which)} and cases {sorted(shapes)}"
        )
    if _dtype(which).kind == "b":
        if len(cases) > 2:
            raise _errors.LocatedValueError("lax.select_n: a boolean which selects from 2 cases")
        return cases[0] if len(cases) == 1 else _fnp.where(which, cases[1], cases[0])
    out = cases[-1]
    for i in range(len(cases) - 2, -1, -1):
        out = _fnp.where(_fnp.equal(which, i), cases[i], out)
    return out


def optimization_barrier(operand: Any) -> Any:
    """The identity (funcgrad's compiler does not reorder across anything it must not)."""
    return operand


# --- shapes ----------------------------------------------------------------------------------
def broadcast(operand: Any, sizes: Sequence[int]) -> Any:
    """``operand`` with new leading axes of ``sizes``."""
    x = _fnp.asarray(operand)
    s = _shape(x)
    shape = tuple(int(n) for n in sizes) + s
    return _fnp.broadcast_to(x, shape)


def broadcast_in_dim(
    operand: Any, shape: Sequence[int], broadcast_dimensions: Sequence[int]
) -> Any:
    """Place ``operand``'s axes at ``broadcast_dimensions`` of ``shape`` and broadcast.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.broadcast_in_dim(np.array([1, 2]), (2, 3), (0,))
    Array([[1, 1, 1],
           [2, 2, 2]])
    """
    x = _fnp.asarray(operand)
    bd = tuple(int(d) for d in broadcast_dimensions)
    if list(bd) != sorted(bd) or len(set(bd)) != len(bd):
        raise _errors.LocatedValueError(
            f"lax.broadcast_in_dim: broadcast_dimensions {bd} must be strictly increasing"
        )
    return _st.broadcast_in_dim(x, tuple(int(s) for s in shape), bd)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast of several shapes (numpy's rule)."""
    return tuple(_np.broadcast_shapes(*[tuple(s) for s in shapes]))


def broadcast_to_rank(x: Any, rank: int) -> Any:
    """``x`` with leading axes of size 1 added up to ``rank``."""
    x = _fnp.asarray(x)
    nd = len(_shape(x))
    return _fnp.reshape(x, (1,) * _builtin_max(0, rank - nd) + _shape(x))


def iota(dtype: Any, size: int) -> Any:
    """``arange(size)`` of ``dtype``."""
    return _np.arange(int(size), dtype=_np.dtype(dtype))


def broadcasted_iota(dtype: Any, shape: Sequence[int], dimension: int) -> Any:
    """An array of ``shape`` counting along ``dimension``."""
    shape = tuple(int(s) for s in shape)
    r = _np.arange(shape[dimension], dtype=_np.dtype(dtype))
    out = _np.broadcast_to(
        r.reshape(tuple(-1 if i == dimension else 1 for i in range(len(shape)))), shape
    )
    return _np.array(out)


def full(shape: Sequence[int], fill_value: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value``."""
    return _fnp.full(tuple(shape), fill_value, dtype=dtype)


def full_like(x: Any, fill_value: Any, dtype: Any = None, shape: Any = None) -> Any:
    """An array like ``x`` (or of ``shape``) filled with ``fill_value``."""
    return _fnp.full(
        _shape(x) if shape is None else tuple(shape),
        fill_value,
        dtype=_dtype(x) if dtype is None else dtype,
    )


def reshape(operand: Any, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None) -> Any:
    """``operand`` (transposed by ``dimensions`` first, if given) in shape ``new_sizes``."""
    x = _fnp.asarray(operand)
    if dimensions is not None:
        x = _fnp.transpose(x, tuple(dimensions))
    new = tuple(int(s) for s in new_sizes)
    if int(_np.prod(new, dtype=_np.int64)) != int(_np.prod(_shape(x), dtype=_np.int64)):
        raise _errors.LocatedValueError(
            f"lax.reshape: cannot reshape an array of shape {_shape(x)} into {new}"
        )
    return _fnp.reshape(x, new)


def transpose(operand: Any, permutation: Sequence[int]) -> Any:
    """Axes permuted: result axis ``i`` is operand axis ``permutation[i]``."""
    return _fnp.transpose(operand, tuple(int(p) for p in permutation))


def squeeze(array: Any, dimensions: Sequence[int]) -> Any:
    """``array`` without the size-1 axes ``dimensions``."""
    x = _fnp.asarray(array)
    nd = len(_shape(x))
    dims = tuple(sorted(int(d) % nd for d in dimensions)) if nd else ()
    for d in dims:
        if _shape(x)[d] != 1:
            raise _errors.LocatedValueError(
                f"lax.squeeze: axis {d} of shape {_shape(x)} does not have size 1"
            )
    return _st.squeeze(x, dims)


def expand_dims(array: Any, dimensions: Sequence[int]) -> Any:
    """``array`` with size-1 axes inserted at ``dimensions`` (of the result)."""
    return _fnp.expand_dims(array, tuple(int(d) for d in dimensions))


def concatenate(operands: Sequence[Any], dimension: int) -> Any:
    """Join arrays along ``dimension``."""
    _same_dtypes("concatenate", *operands)
    return _fnp.concatenate(list(operands), axis=int(dimension))


def split(operand: Any, sizes: Sequence[int], axis: int = 0) -> list[Any]:
    """Pieces of ``operand`` of ``sizes`` along ``axis``."""
    x = _fnp.asarray(operand)
    n = _shape(x)[axis]
    if builtins.sum(sizes) != n:
        raise _errors.LocatedValueError(
            f"lax.split: sizes {tuple(sizes)} must sum to the axis length {n}"
        )
    out, start = [], 0
    for s in sizes:
        out.append(slice_in_dim(x, start, start + int(s), axis=axis))
        start += int(s)
    return out


def tile(operand: Any, reps: Sequence[int]) -> Any:
    """``operand`` repeated ``reps[i]`` times along axis ``i``."""
    return _fnp.tile(operand, tuple(reps))


def collapse(operand: Any, start_dimension: int, stop_dimension: int | None = None) -> Any:
    """Merge axes ``start_dimension:stop_dimension`` into one."""
    x = _fnp.asarray(operand)
    s = _shape(x)
    stop = len(s) if stop_dimension is None else stop_dimension
    n = int(_np.prod(s[start_dimension:stop], dtype=_np.int64))
    return _fnp.reshape(x, s[:start_dimension] + (n,) + s[stop:])


def rev(operand: Any, dimensions: Sequence[int]) -> Any:
    """``operand`` reversed along ``dimensions``."""
    x = _fnp.asarray(operand)
    nd = len(_shape(x))
    idx = [Slice(None, None, None)] * nd
    for d in dimensions:
        idx[int(d) % nd] = Slice(None, None, -1)
    if not dimensions:
        return x
    return _st.getitem(x, Index(idx))


def pad(operand: Any, padding_value: Any, padding_config: Sequence[tuple[int, int, int]]) -> Any:
    """Pad with ``(low, high, interior)`` per axis: ``interior`` values between elements,
    negative ``low``/``high`` crop. Differentiable w.r.t. ``operand`` and ``padding_value``.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.pad(np.array([1.0, 2.0, 3.0]), 0.0, [(1, -1, 1)])
    Array([0., 1., 0., 2., 0.])
    """
    x = _fnp.asarray(operand)
    shape = _shape(x)
    cfg = [tuple(int(v) for v in c) for c in padding_config]
    if len(cfg) != len(shape) or any(len(c) != 3 for c in cfg):
        raise _errors.LocatedValueError(
            f"lax.pad: padding_config needs one (low, high, interior) triple per axis of "
            f"shape {shape}, got {padding_config!r}"
        )
    if any(c[2] < 0 for c in cfg):
        raise _errors.LocatedValueError("lax.pad: interior padding must be non-negative")
    pv = _fnp.asarray(padding_value)
    if _shape(pv) != ():
        raise _errors.LocatedValueError("lax.pad: padding_value must be a scalar")
    dt = _dtype(x)
    pv = _fnp.astype(pv, dt) if _dtype(pv) != dt else pv
    # 1. interior + non-negative edges: place x into a grid of padding values
    big = []
    for n, (lo, hi, it) in zip(shape, cfg):
        core = 0 if n == 0 else n + (n - 1) * it
        big.append(_builtin_max(lo, 0) + core + _builtin_max(hi, 0))
    for b, (lo, hi, _) in zip(big, cfg):
        if b + _builtin_min(lo, 0) + _builtin_min(hi, 0) < 0:
            raise _errors.LocatedValueError(
                f"lax.pad: padding {padding_config!r} crops more than shape {shape} has"
            )
    place = Index(
        [
            Slice(_builtin_max(lo, 0), None, it + 1) if n else Slice(0, 0, None)
            for n, (lo, hi, it) in zip(shape, cfg)
        ]
    )
    # basic-index scatter: Slice stop must bound the count exactly
    place = Index(
        [
            Slice(s.start, s.start + (n - 1) * (c[2] + 1) + 1, s.step) if n else s
            for s, n, c in zip(place, shape, cfg)
        ]
    )
    big_t = tuple(big)
    if big_t == shape:
        out = x
    else:
        mask = _np.ones(big_t, _np.bool_)
        mask[place.to_numpy()] = False
        scattered = _st.scatter_add(x, place, big_t) if _np.prod(shape) else _np.zeros(big_t, dt)
        out = _fnp.where(mask, pv, scattered)
    # 2. negative edges crop
    crop = [
        Slice(-lo if lo < 0 else 0, (b + hi) if hi < 0 else b, None)
        for b, (lo, hi, _) in zip(big, cfg)
    ]
    if any(lo < 0 or hi < 0 for lo, hi, _ in cfg):
        out = _st.getitem(out, Index(crop))
    return out


# --- slicing ---------------------------------------------------------------------------------
def slice(  # noqa: A001
    operand: Any,
    start_indices: Sequence[int],
    limit_indices: Sequence[int],
    strides: Sequence[int] | None = None,
) -> Any:
    """``operand[start:limit:stride, ...]`` with static bounds."""
    x = _fnp.asarray(operand)
    shape = _shape(x)
    strides = strides or (1,) * len(shape)
    if not (len(start_indices) == len(limit_indices) == len(strides) == len(shape)):
        raise _errors.LocatedValueError(
            f"lax.slice: start_indices, limit_indices and strides need one entry per axis of "
            f"shape {shape}"
        )
    for s, e, n in zip(start_indices, limit_indices, shape):
        if not 0 <= s <= e <= n:
            raise _errors.LocatedValueError(
                f"lax.slice: bounds {tuple(start_indices)}..{tuple(limit_indices)} are not "
                f"within shape {shape} (0 <= start <= limit <= size)"
            )
    idx = Index(
        Slice(int(s), int(e), int(st)) for s, e, st in zip(start_indices, limit_indices, strides)
    )
    return _st.getitem(x, idx)


def slice_in_dim(
    operand: Any, start_index: int | None, limit_index: int | None, stride: int = 1, axis: int = 0
) -> Any:
    """``slice`` along one axis; ``None`` bounds and negative bounds as in Python."""
    x = _fnp.asarray(operand)
    shape = _shape(x)
    axis = int(axis) % len(shape)
    n = shape[axis]
    s, e, _ = _builtin_slice(start_index, limit_index).indices(n)
    starts = [0] * len(shape)
    limits = list(shape)
    strides = [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = s, _builtin_max(s, e), int(stride)
    return slice(x, starts, limits, strides)


def index_in_dim(operand: Any, index: int, axis: int = 0, keepdims: bool = True) -> Any:
    """Element ``index`` along ``axis`` (kept as a size-1 axis unless ``keepdims=False``)."""
    x = _fnp.asarray(operand)
    axis = int(axis) % len(_shape(x))
    n = _shape(x)[axis]
    i = operator.index(index)
    if not -n <= i < n:
        raise _errors.LocatedIndexError(f"lax.index_in_dim: index {i} out of bounds for size {n}")
    i %= n
    out = slice_in_dim(x, i, i + 1, axis=axis)
    return out if keepdims else _st.squeeze(out, (axis,))


def _start_array(start: Any, n: int, size: int) -> Any:
    """A (possibly traced) start index clamped so the window of ``size`` fits in ``n``."""
    if not _is_tracer(start):
        s = int(_np.asarray(start))
        s = s + n if s < 0 else s  # negative starts count from the end, as in JAX
        return _builtin_min(_builtin_max(s, 0), n - size)
    if start.dtype.kind not in "iu" or start.shape != ():
        raise _errors.LocatedTypeError(
            f"start indices must be integer scalars, got a traced {start.aval}"
        )
    start = _fnp.where(_fnp.less(start, 0), _fnp.add(start, n), start)
    return _fnp.clip(start, 0, n - size)


def _window_index(x: Any, start_indices: Sequence[Any], sizes: Sequence[int]) -> Any:
    """Index tuple selecting ``x[s0:s0+k0, s1:s1+k1, ...]`` (starts clamped, maybe traced)."""
    shape = _shape(x)
    if len(start_indices) != len(shape) or len(sizes) != len(shape):
        raise _errors.LocatedValueError(
            f"need one start index and one size per axis of shape {shape}, got "
            f"{len(start_indices)} and {len(sizes)}"
        )
    for k, n in zip(sizes, shape):
        if not 0 <= int(k) <= n:
            raise _errors.LocatedValueError(f"slice sizes {tuple(sizes)} do not fit shape {shape}")
    starts = [_start_array(s, n, int(k)) for s, n, k in zip(start_indices, shape, sizes)]
    if not builtins.any(_is_tracer(s) for s in starts):
        return tuple(_builtin_slice(s, s + int(k)) for s, k in zip(starts, sizes))
    nd = len(shape)
    idx = []
    for d, (s, k) in enumerate(zip(starts, sizes)):
        r = _np.arange(int(k), dtype=_np.int64).reshape(
            tuple(-1 if i == d else 1 for i in range(nd))
        )
        idx.append(_fnp.add(s, r))
    return tuple(idx)


def dynamic_slice(operand: Any, start_indices: Sequence[Any], slice_sizes: Sequence[int]) -> Any:
    """``operand[s0:s0+k0, ...]`` with start indices that may be traced; negative starts count
    from the end, then starts are clamped so the slice fits (as in JAX).

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.dynamic_slice(np.arange(6), (4,), (3,))
    Array([3, 4, 5])
    """
    x = _fnp.asarray(operand)
    return getitem(x, _window_index(x, list(start_indices), list(slice_sizes)))


def dynamic_slice_in_dim(operand: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
    """``dynamic_slice`` along one axis."""
    x = _fnp.asarray(operand)
    nd = len(_shape(x))
    axis = int(axis) % nd
    starts = [0] * nd
    sizes = list(_shape(x))
    starts[axis], sizes[axis] = start_index, int(slice_size)
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(operand: Any, index: Any, axis: int = 0, keepdims: bool = True) -> Any:
    """Element ``index`` (maybe traced, clamped) along ``axis``."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else _st.squeeze(out, (int(axis) % len(_shape(out)),))


def dynamic_update_slice(operand: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """``operand`` with the block at ``start_indices`` (maybe traced, clamped) replaced by
    ``update``; differentiable w.r.t. both."""
    x = _fnp.asarray(operand)
    u = _fnp.asarray(update)
    _same_dtypes("dynamic_update_slice", x, u)
    if len(_shape(u)) != len(_shape(x)):
        raise _errors.LocatedValueError(
            f"lax.dynamic_update_slice: update {_shape(u)} must have the rank of {_shape(x)}"
        )
    idx = _window_index(x, list(start_indices), list(_shape(u)))
    return IndexUpdateRef(x, idx).set(u)


def dynamic_update_slice_in_dim(operand: Any, update: Any, start_index: Any, axis: int) -> Any:
    """``dynamic_update_slice`` along one axis."""
    x = _fnp.asarray(operand)
    nd = len(_shape(x))
    starts: list[Any] = [0] * nd
    starts[int(axis) % nd] = start_index
    return dynamic_update_slice(x, update, starts)


def dynamic_update_index_in_dim(operand: Any, update: Any, index: Any, axis: int) -> Any:
    """Replace element ``index`` along ``axis`` by ``update`` (with or without that axis)."""
    x = _fnp.asarray(operand)
    u = _fnp.asarray(update)
    axis = int(axis) % len(_shape(x))
    if len(_shape(u)) == len(_shape(x)) - 1:
        u = _fnp.expand_dims(u, axis)
    return dynamic_update_slice_in_dim(x, u, index, axis)


def index_take(src: Any, idxs: Sequence[Any], axes: Sequence[int]) -> Any:
    """Rows of ``src`` picked by the integer arrays ``idxs`` along ``axes`` (indices wrap
    modulo the axis sizes): the result has the index axes first, then ``src``'s other axes
    in order, as JAX's ``index_take``.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.index_take(np.arange(12).reshape(3, 4), (np.array([2, -1]),), (1,))
    Array([[ 2,  6, 10],
           [ 3,  7, 11]])
    """
    x = _fnp.asarray(src)
    shape = _shape(x)
    axes = [int(a) % len(shape) for a in axes]
    if len(idxs) != len(axes) or len(set(axes)) != len(axes):
        raise _errors.LocatedValueError(
            "lax.index_take: give one index array per axis, each axis once"
        )
    idx: list[Any] = [_builtin_slice(None)] * len(shape)
    for i, a in zip(idxs, axes):
        idx[a] = _fnp.remainder(_fnp.asarray(i), shape[a])
    out = getitem(x, tuple(idx))
    r = len(_np.broadcast_shapes(*[_shape(_fnp.asarray(i)) for i in idxs]))
    srt = sorted(axes)
    first = srt[0] if srt == list(range(srt[0], srt[0] + len(srt))) else 0
    if first:  # numpy kept the index axes in place: move them to the front
        nd = len(_shape(out))
        perm = list(range(first, first + r)) + [d for d in range(nd) if not first <= d < first + r]
        out = _fnp.transpose(out, tuple(perm))
    return out


class GatherScatterMode(enum.Enum):
    """Out-of-bounds handling of :func:`gather`/:func:`scatter` (``None`` means
    ``FILL_OR_DROP``, as in JAX)."""

    CLIP = "clip"
    FILL_OR_DROP = "fill"
    PROMISE_IN_BOUNDS = "promise_in_bounds"

    @staticmethod
    def from_any(s: Any) -> GatherScatterMode:
        if isinstance(s, GatherScatterMode):
            return s
        if s is None or s in ("fill", "drop"):
            return GatherScatterMode.FILL_OR_DROP
        if s == "clip":
            return GatherScatterMode.CLIP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        raise _errors.LocatedValueError(
            f"unknown gather/scatter mode {s!r}; use 'clip', 'fill', 'drop' or 'promise_in_bounds'"
        )


class GatherDimensionNumbers(NamedTuple):
    """XLA's gather description (see :func:`gather`)."""

    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """XLA's scatter description (see :func:`scatter`)."""

    update_window_dims: tuple[int, ...]
    inserted_window_dims: tuple[int, ...]
    scatter_dims_to_operand_dims: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    scatter_indices_batching_dims: tuple[int, ...] = ()


def _window_indices(
    shape: tuple[int, ...],
    indices: Any,
    index_map: Sequence[int],
    sizes: Sequence[int],
    drop: bool = False,
) -> tuple[list[Any], Any]:
    """Per operand axis an index array of shape ``batch + sizes`` (broadcastable) selecting
    each window, and a boolean ``batch``-shaped array: is the window in bounds. Starts are
    clamped into bounds; with ``drop`` an out-of-bounds window starts at ``shape[d]`` instead
    (past the end: the caller pads the operand there and crops it off again)."""
    ishape = _shape(indices)
    batch = ishape[:-1]
    nb, nd = len(batch), len(shape)
    starts: dict[int, Any] = {}
    valid: Any = True
    for d in index_map:
        k = int(sizes[d])
        start = _fnp.astype(getitem(indices, (Ellipsis, list(index_map).index(d))), _np.int64)
        ok = _fnp.logical_and(_fnp.greater_equal(start, 0), _fnp.less_equal(start, shape[d] - k))
        valid = _fnp.logical_and(valid, ok)
        starts[d] = _fnp.clip(start, 0, shape[d] - k)
    idx: list[Any] = []
    for d in range(nd):
        k = int(sizes[d])
        r = _np.arange(k, dtype=_np.int64).reshape(
            (1,) * nb + tuple(-1 if i == d else 1 for i in range(nd))
        )
        if d in starts:
            start = starts[d]
            if drop:
                start = _fnp.where(valid, start, shape[d])
            idx.append(_fnp.add(_fnp.reshape(start, batch + (1,) * nd), r))
        else:
            idx.append(r)
    return idx, valid


def gather(
    operand: Any,
    start_indices: Any,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: Sequence[int],
    *,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    mode: Any = None,
    fill_value: Any = None,
) -> Any:
    """XLA's gather: for each index vector (last axis of ``start_indices``) a window of
    ``slice_sizes`` starting there (``start_index_map`` says which operand axes the vector
    addresses); ``collapsed_slice_dims`` (size 1) are dropped and the window axes go to
    ``offset_dims`` of the result. Mode ``"clip"`` clamps windows into bounds;
    ``"fill"`` (the default) returns ``fill_value`` (NaN for floats) for out-of-bounds windows.
    Differentiable w.r.t. ``operand``. Batching dims are not supported.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> dn = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
    ...                                 start_index_map=(0,))
    >>> lax.gather(np.arange(12.0).reshape(4, 3), np.array([[2], [0]]), dn, (1, 3))
    Array([[6., 7., 8.],
           [0., 1., 2.]])
    """
    dn = GatherDimensionNumbers(*[tuple(int(v) for v in f) for f in dimension_numbers])
    if dn.operand_batching_dims or dn.start_indices_batching_dims:
        raise _errors.LocatedNotImplementedError(
            "lax.gather: operand_batching_dims are not supported; use vmap over the gather"
        )
    x = _fnp.asarray(operand)
    ind = _fnp.asarray(start_indices)
    shape = _shape(x)
    m = GatherScatterMode.from_any(mode)
    sizes = tuple(int(s) for s in slice_sizes)
    if len(sizes) != len(shape) or builtins.any(not 0 <= k <= n for k, n in zip(sizes, shape)):
        raise _errors.LocatedValueError(
            f"lax.gather: slice_sizes {sizes} must give one size per axis of {shape}, each "
            "within the axis"
        )
    if _shape(ind)[-1:] != (len(dn.start_index_map),):
        raise _errors.LocatedValueError(
            f"lax.gather: the last axis of start_indices {_shape(ind)} must have length "
            f"len(start_index_map) = {len(dn.start_index_map)}"
        )
    for d in dn.collapsed_slice_dims:
        if sizes[d] != 1:
            raise _errors.LocatedValueError(
                f"lax.gather: collapsed_slice_dims {d} must have slice size 1"
            )
    idx, valid = _window_indices(shape, ind, dn.start_index_map, sizes)
    out = getitem(x, tuple(idx))  # batch + sizes
    nb = len(_shape(ind)) - 1
    if m is GatherScatterMode.FILL_OR_DROP and dn.start_index_map:
        if fill_value is None:
            k = _dtype(x).kind
            fill_value = _np.nan if k in "fc" else (True if k == "b" else _np.iinfo(_dtype(x)).min)
            if k == "u":
                fill_value = _np.iinfo(_dtype(x)).max
        v = _fnp.reshape(valid, _shape(valid) + (1,) * len(shape))
        out = _fnp.where(v, out, _fnp.astype(_fnp.asarray(fill_value), _dtype(x)))
    keep = [d for d in range(len(shape)) if d not in dn.collapsed_slice_dims]
    out = _fnp.reshape(out, _shape(out)[:nb] + tuple(sizes[d] for d in keep))
    rank = nb + len(keep)
    if len(dn.offset_dims) != len(keep):
        raise _errors.LocatedValueError(
            f"lax.gather: offset_dims {dn.offset_dims} must name {len(keep)} result axes "
            "(one per non-collapsed slice axis)"
        )
    perm = [0] * rank
    bi, oi = iter(range(nb)), iter(range(nb, rank))
    for pos in range(rank):
        perm[pos] = next(oi) if pos in dn.offset_dims else next(bi)
    return _fnp.transpose(out, tuple(perm))


def _scatter(
    name: str,
    method: str,
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: ScatterDimensionNumbers,
    mode: Any,
) -> Any:
    dn = ScatterDimensionNumbers(*[tuple(int(v) for v in f) for f in dimension_numbers])
    if dn.operand_batching_dims or dn.scatter_indices_batching_dims:
        raise _errors.LocatedNotImplementedError(
            f"lax.{name}: operand_batching_dims are not supported; use vmap over the scatter"
        )
    x = _fnp.asarray(operand)
    ind = _fnp.asarray(scatter_indices)
    u = _fnp.asarray(updates)
    shape, ushape = _shape(x), _shape(u)
    nb = len(_shape(ind)) - 1
    win_axes = [d for d in range(len(shape)) if d not in dn.inserted_window_dims]
    if len(dn.update_window_dims) != len(win_axes) or len(ushape) != nb + len(win_axes):
        raise _errors.LocatedValueError(
            f"lax.{name}: updates {ushape} must have the {nb} scatter batch axes of the indices "
            f"and {len(win_axes)} window axes (update_window_dims {dn.update_window_dims})"
        )
    batch_axes = [a for a in range(len(ushape)) if a not in dn.update_window_dims]
    u = _fnp.transpose(u, tuple(batch_axes) + tuple(dn.update_window_dims))
    wsizes = _shape(u)[nb:]
    sizes = [1] * len(shape)
    for d, k in zip(win_axes, wsizes):
        sizes[d] = k
    u = _fnp.reshape(u, _shape(u)[:nb] + tuple(sizes))
    m = GatherScatterMode.from_any(mode)
    drop = m is GatherScatterMode.FILL_OR_DROP and bool(dn.scatter_dims_to_operand_dims)
    idx, _ = _window_indices(shape, ind, dn.scatter_dims_to_operand_dims, sizes, drop)
    if not drop:
        return getattr(IndexUpdateRef(x, tuple(idx)), method)(u)
    # out-of-bounds windows land in a margin past the end, which is cropped off again
    margin = [
        (0, sizes[d] if d in dn.scatter_dims_to_operand_dims else 0, 0) for d in range(len(shape))
    ]
    xp = pad(x, _np.zeros((), _dtype(x)), margin)
    out = getattr(IndexUpdateRef(xp, tuple(idx)), method)(u)
    return slice(out, (0,) * len(shape), shape)


def scatter(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """XLA's scatter: ``operand`` with windows of ``updates`` written at the index vectors
    (the inverse layout of :func:`gather`); ``"drop"`` mode (the default) skips out-of-bounds
    windows, ``"clip"`` clamps them."""
    return _scatter("scatter", "set", operand, scatter_indices, updates, dimension_numbers, mode)


def scatter_add(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """:func:`scatter` that adds (repeated indices accumulate).

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> dn = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                  scatter_dims_to_operand_dims=(0,))
    >>> lax.scatter_add(np.zeros(3), np.array([[0], [2], [0]]), np.ones(3), dn)
    Array([2., 0., 1.])
    """
    return _scatter(
        "scatter_add", "add", operand, scatter_indices, updates, dimension_numbers, mode
    )


def scatter_sub(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """:func:`scatter` that subtracts."""
    return _scatter(
        "scatter_sub",
        "add",
        operand,
        scatter_indices,
        _fnp.negative(updates),
        dimension_numbers,
        mode,
    )


def scatter_mul(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """:func:`scatter` that multiplies."""
    return _scatter(
        "scatter_mul", "multiply", operand, scatter_indices, updates, dimension_numbers, mode
    )


def scatter_min(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """:func:`scatter` that keeps the minimum."""
    return _scatter(
        "scatter_min", "min", operand, scatter_indices, updates, dimension_numbers, mode
    )


def scatter_max(
    operand: Any,
    scatter_indices: Any,
    updates: Any,
    dimension_numbers: Any,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: Any = None,
) -> Any:
    """:func:`scatter` that keeps the maximum."""
    return _scatter(
        "scatter_max", "max", operand, scatter_indices, updates, dimension_numbers, mode
    )


# --- reductions, scans, sorting ----------------------------------------------------------------
def _axes(axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(a) for a in axes)


def reduce_sum(operand: Any, axes: Sequence[int]) -> Any:
    """Sum over ``axes``."""
    return _fnp.sum(operand, axis=_axes(axes))


def reduce_prod(operand: Any, axes: Sequence[int]) -> Any:
    """Product over ``axes``."""
    return _fnp.prod(operand, axis=_axes(axes))


def reduce_max(operand: Any, axes: Sequence[int]) -> Any:
    """Maximum over ``axes`` (ties share the derivative)."""
    return _fnp.max(operand, axis=_axes(axes))


def reduce_min(operand: Any, axes: Sequence[int]) -> Any:
    """Minimum over ``axes`` (ties share the derivative)."""
    return _fnp.min(operand, axis=_axes(axes))


def reduce_and(operand: Any, axes: Sequence[int]) -> Any:
    """Logical and over ``axes``."""
    return _fnp.all(operand, axis=_axes(axes))


def reduce_or(operand: Any, axes: Sequence[int]) -> Any:
    """Logical or over ``axes``."""
    return _fnp.any(operand, axis=_axes(axes))


def argmax(operand: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the maximum along ``axis`` (first one on ties), as ``index_dtype``."""
    return _fnp.astype(_fnp.argmax(operand, axis=int(axis)), _np.dtype(index_dtype))


def argmin(operand: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the minimum along ``axis`` (first one on ties), as ``index_dtype``."""
    return _fnp.astype(_fnp.argmin(operand, axis=int(axis)), _np.dtype(index_dtype))


def _cumulative(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def op(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
        x = _fnp.asarray(operand)
        if reverse:
            return rev(fn(rev(x, (axis,)), axis), (axis,))
        return fn(x, axis)

    op.__name__ = op.__qualname__ = name
    return op


cumsum = _cumulative("cumsum", lambda x, a: _fnp.cumsum(x, axis=a))
cumsum.__doc__ = "Cumulative sum along ``axis`` (``reverse=True``: from the end)."
cumprod = _cumulative("cumprod", lambda x, a: _fnp.cumprod(x, axis=a))
cumprod.__doc__ = "Cumulative product along ``axis``."
cummax = _cumulative("cummax", lambda x, a: associative_scan(_fnp.maximum, x, axis=a))
cummax.__doc__ = "Running maximum along ``axis``."
cummin = _cumulative("cummin", lambda x, a: associative_scan(_fnp.minimum, x, axis=a))
cummin.__doc__ = "Running minimum along ``axis``."
cumlogsumexp = _cumulative("cumlogsumexp", lambda x, a: associative_scan(_fnp.logaddexp, x, axis=a))
cumlogsumexp.__doc__ = "Running ``log(sum(exp(x)))`` along ``axis``, computed stably."


def _slice_axis(x: Any, axis: int, start: int | None, stop: int | None, step: int = 1) -> Any:
    nd = len(_shape(x))
    idx = [Slice(None, None, None)] * nd
    idx[axis] = Slice(start, stop, step)
    return _st.getitem(x, Index(idx))


def _interleave(even: Any, odd: Any, axis: int) -> Any:
    """``[e0, o0, e1, o1, ...]`` along ``axis`` (``even`` may be one longer)."""
    ne, no = _shape(even)[axis], _shape(odd)[axis]
    head = even if ne == no else _slice_axis(even, axis, 0, no)
    both = _fnp.stack([head, odd], axis=axis + 1)
    s = _shape(both)
    out = _fnp.reshape(both, s[:axis] + (2 * no,) + s[axis + 2 :])
    if ne != no:
        out = _fnp.concatenate([out, _slice_axis(even, axis, no, ne)], axis=axis)
    return out


def associative_scan(
    fn: Callable[..., Any], elems: Any, reverse: bool = False, axis: int = 0
) -> Any:
    """All prefix combinations ``fn(... fn(fn(e0, e1), e2) ..., ek)`` along ``axis`` of a pytree
    ``elems``, for an associative ``fn`` working on whole slices, in ``O(log n)`` levels
    (the odd/even recursion of parallel prefix sums).

    >>> from funcgrad import lax
    >>> import funcgrad.numpy as fnp, numpy as np
    >>> lax.associative_scan(fnp.add, np.arange(1.0, 6.0))
    Array([ 1.,  3.,  6., 10., 15.])
    """
    leaves, tree = tree_flatten(elems)
    leaves = [_fnp.asarray(v) for v in leaves]
    if not leaves:
        return elems
    nd = len(_shape(leaves[0]))
    ax = int(axis) % nd if nd else 0
    n = _shape(leaves[0])[ax]
    if builtins.any(_shape(v)[ax] != n for v in leaves):
        raise _errors.LocatedValueError(
            "lax.associative_scan: every leaf of elems needs the same length along axis"
        )
    if reverse:
        leaves = [rev(v, (ax,)) for v in leaves]

    def combine(a: list[Any], b: list[Any]) -> list[Any]:
        out = fn(tree_unflatten(tree, a), tree_unflatten(tree, b))
        return [_fnp.asarray(v) for v in tree_flatten(out)[0]]

    def sl(vs: list[Any], start: int | None, stop: int | None, step: int = 1) -> list[Any]:
        return [_slice_axis(v, ax, start, stop, step) for v in vs]

    def go(vs: list[Any]) -> list[Any]:
        m = _shape(vs[0])[ax]
        if m < 2:
            return vs
        pairs = combine(sl(vs, 0, m - 1, 2), sl(vs, 1, None, 2))
        odd = go(pairs)  # prefixes ending at positions 1, 3, 5, ...
        if m % 2 == 0:
            even_rest = combine(sl(odd, 0, len_(odd) - 1), sl(vs, 2, None, 2))
        else:
            even_rest = combine(odd, sl(vs, 2, None, 2))
        even = [
            _fnp.concatenate([_slice_axis(v, ax, 0, 1), e], axis=ax) for v, e in zip(vs, even_rest)
        ]
        return [_interleave(e, o, ax) for e, o in zip(even, odd)]

    def len_(vs: list[Any]) -> int:
        return _shape(vs[0])[ax]

    out = go(leaves)
    if reverse:
        out = [rev(v, (ax,)) for v in out]
    return tree_unflatten(tree, out)


def map(f: Callable[..., Any], xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001
    """``f`` applied to each slice of ``xs`` along the leading axis, results stacked — one
    ``scan`` (``batch_size``: that many slices per step, through ``vmap``)."""
    if batch_size is not None:
        leaves, tree = tree_flatten(xs)
        n = _shape(leaves[0])[0]
        b = int(batch_size)
        nfull = (n // b) * b
        blocks = [
            _fnp.reshape(_slice_axis(v, 0, 0, nfull), (n // b, b) + _shape(v)[1:]) for v in leaves
        ]
        _, ys = scan(lambda c, x: (c, _vmap(f)(tree_unflatten(tree, x))), None, blocks)
        yl, yt = tree_flatten(ys)
        yl = [_fnp.reshape(y, (nfull,) + _shape(y)[2:]) for y in yl]
        if nfull < n:
            rest = map(f, tree_unflatten(tree, [_slice_axis(v, 0, nfull, None) for v in leaves]))
            yl = [_fnp.concatenate([a, r], axis=0) for a, r in zip(yl, tree_flatten(rest)[0])]
        return tree_unflatten(yt, yl)
    _, ys = scan(lambda c, x: (c, f(x)), None, xs)
    return ys


def sort(operand: Any, dimension: int = -1, is_stable: bool = True, num_keys: int = 1) -> Any:
    """Sort along ``dimension``. A sequence of arrays is sorted together, by the first
    ``num_keys`` of them (lexicographically). Derivatives follow the permutation."""
    if isinstance(operand, (list, tuple)):
        ops = [_fnp.asarray(o) for o in operand]
        if not 1 <= num_keys <= len(ops):
            raise _errors.LocatedValueError(
                f"lax.sort: num_keys {num_keys} must be between 1 and the {len(ops)} operands"
            )
        nd = len(_shape(ops[0]))
        d = int(dimension) % nd
        perm = _fnp.argsort(ops[num_keys - 1], axis=d, stable=True)
        for k in range(num_keys - 2, -1, -1):
            key = _fnp.take_along_axis(ops[k], perm, axis=d)
            perm = _fnp.take_along_axis(perm, _fnp.argsort(key, axis=d, stable=True), axis=d)
        return tuple(_fnp.take_along_axis(o, perm, axis=d) for o in ops)
    if num_keys != 1:
        raise _errors.LocatedValueError("lax.sort: num_keys > 1 needs a sequence of operands")
    return _fnp.sort(operand, axis=int(dimension), stable=True)


def sort_key_val(keys: Any, values: Any, dimension: int = -1, is_stable: bool = True) -> Any:
    """``values`` permuted as ``keys`` sort; returns ``(sorted keys, values)``."""
    return sort((keys, values), dimension, is_stable, 1)


def top_k(operand: Any, k: int, *, axis: int = -1) -> tuple[Any, Any]:
    """The ``k`` largest entries along ``axis`` and their indices, largest first (ties: the
    lower index first). Differentiable w.r.t. ``operand``.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> v, i = lax.top_k(np.array([1.0, 3.0, 2.0, 3.0]), 2)
    >>> v, i
    (Array([3., 3.]), Array([1, 3], dtype=int32))
    """
    x = _fnp.asarray(operand)
    nd = len(_shape(x))
    ax = int(axis) % nd
    n = _shape(x)[ax]
    k = operator.index(k)
    if not 0 <= k <= n:
        raise _errors.LocatedValueError(f"lax.top_k: k={k} must be within 0..{n}")
    if _dtype(x).kind == "b":
        key = _fnp.logical_not(x)
    elif _dtype(x).kind == "u":
        key = _fnp.subtract(_np.iinfo(_dtype(x)).max, x)
    else:
        key = _fnp.negative(x)
    order = _fnp.argsort(_fnp.stop_gradient(key), axis=ax, stable=True)
    order = _slice_axis(order, ax, 0, k)
    return _fnp.take_along_axis(x, order, axis=ax), _fnp.astype(order, _np.int32)


# --- products --------------------------------------------------------------------------------
class Precision(enum.Enum):
    """Accepted for compatibility; numpy always computes at full precision."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2


def _cast_preferred(out: Any, preferred_element_type: Any) -> Any:
    if preferred_element_type is None:
        return out
    return _fnp.astype(out, _np.dtype(preferred_element_type))


def dot_general(
    lhs: Any,
    rhs: Any,
    dimension_numbers: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """General tensor contraction: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result has the batch axes, then lhs's free axes, then
    rhs's free axes.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> a, b = np.ones((2, 3, 4)), np.ones((2, 4, 5))
    >>> lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))).shape
    (2, 3, 5)
    """
    (lc, rc), (lb, rb) = dimension_numbers
    lc, rc, lb, rb = (tuple(int(a) for a in t) for t in (lc, rc, lb, rb))
    a, b = _fnp.asarray(lhs), _fnp.asarray(rhs)
    sa, sb = _shape(a), _shape(b)
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise _errors.LocatedValueError(
            "lax.dot_general: contracting and batch dimensions must come in equal-length pairs"
        )
    for i, j in [*zip(lc, rc), *zip(lb, rb)]:
        if sa[i] != sb[j]:
            raise _errors.LocatedValueError(
                f"lax.dot_general: lhs axis {i} (size {sa[i]}) and rhs axis {j} (size {sb[j]}) "
                f"are paired but differ; shapes {sa} and {sb}"
            )
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    la = [""] * len(sa)
    lb_ = [""] * len(sb)
    for i, j in zip(lb, rb):
        la[i] = lb_[j] = next(letters)
    for i, j in zip(lc, rc):
        la[i] = lb_[j] = next(letters)
    for i in range(len(sa)):
        la[i] = la[i] or next(letters)
    for j in range(len(sb)):
        lb_[j] = lb_[j] or next(letters)
    out = [la[i] for i in lb]
    out += [la[i] for i in range(len(sa)) if i not in lb and i not in lc]
    out += [lb_[j] for j in range(len(sb)) if j not in rb and j not in rc]
    spec = f"{''.join(la)},{''.join(lb_)}->{''.join(out)}"
    return _cast_preferred(_fnp.einsum(spec, a, b), preferred_element_type)


def dot(
    lhs: Any,
    rhs: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
    *,
    dimension_numbers: Any = None,
) -> Any:
    """Vector/matrix product of 1-D or 2-D arrays (the last axis of ``lhs`` with the first of
    ``rhs``), or :func:`dot_general` when ``dimension_numbers`` is given."""
    if dimension_numbers is not None:
        return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)
    a, b = _fnp.asarray(lhs), _fnp.asarray(rhs)
    if len(_shape(a)) not in (1, 2) or len(_shape(b)) not in (1, 2):
        raise _errors.LocatedValueError(
            f"lax.dot needs 1-D or 2-D operands, got shapes {_shape(a)} and {_shape(b)}; use "
            "dot_general"
        )
    dn = (((len(_shape(a)) - 1,), (0,)), ((), ()))
    return dot_general(a, b, dn, precision, preferred_element_type)


def batch_matmul(lhs: Any, rhs: Any, precision: Any = None) -> Any:
    """Batched matrix product of arrays of equal rank ``>= 2``: ``(..., m, k) @ (..., k, n)``."""
    a, b = _fnp.asarray(lhs), _fnp.asarray(rhs)
    sa, sb = _shape(a), _shape(b)
    if len(sa) < 2 or len(sa) != len(sb) or sa[:-2] != sb[:-2]:
        raise _errors.LocatedValueError(
            f"lax.batch_matmul needs operands of equal rank >= 2 and equal batch axes, got "
            f"{sa} and {sb}"
        )
    nb = len(sa) - 2
    return dot_general(a, b, (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))))


# --- convolutions ------------------------------------------------------------------------------
class ConvDimensionNumbers(NamedTuple):
    """Axis positions: ``lhs_spec = (batch, feature, *spatial)``, ``rhs_spec = (out feature,
    in feature, *spatial)``, ``out_spec = (batch, feature, *spatial)``."""

    lhs_spec: tuple[int, ...]
    rhs_spec: tuple[int, ...]
    out_spec: tuple[int, ...]


def _spec_from_string(s: str, chars: str) -> tuple[int, ...]:
    a, b = chars
    if a not in s or b not in s or len(set(s)) != len(s):
        raise _errors.LocatedValueError(
            f"convolution dimension spec {s!r} must contain {a!r} and {b!r} once each"
        )
    spatial = [i for i, c in enumerate(s) if c not in chars]
    # spatial axes in the order the rhs spec lists them: the characters' order is kept
    return (s.index(a), s.index(b), *spatial)


def conv_dimension_numbers(
    lhs_shape: Any, rhs_shape: Any, dimension_numbers: Any
) -> ConvDimensionNumbers:
    """:class:`ConvDimensionNumbers` from ``None`` (NCHW, OIHW, NCHW), a triple of strings
    such as ``("NHWC", "HWIO", "NHWC")``, or another ``ConvDimensionNumbers``."""
    nd = len(lhs_shape)
    if dimension_numbers is None:
        iota_ = tuple(range(nd))
        return ConvDimensionNumbers(iota_, iota_, iota_)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(dimension_numbers) != 3:
        raise _errors.LocatedValueError(
            "dimension_numbers must be None, a ConvDimensionNumbers or three strings"
        )
    ls, rs, os_ = dimension_numbers
    if not builtins.all(isinstance(s, str) for s in (ls, rs, os_)):
        return ConvDimensionNumbers(*[tuple(int(v) for v in t) for t in dimension_numbers])
    if not len(ls) == len(rs) == len(os_) == nd:
        raise _errors.LocatedValueError(
            f"dimension_numbers {dimension_numbers!r} must have {nd} letters each"
        )
    # spatial axes are matched by their letters, in the order of the rhs spec
    rsp = [c for c in rs if c not in "OI"]
    lhs_spec = (ls.index("N"), ls.index("C"), *[ls.index(c) for c in rsp])
    rhs_spec = (rs.index("O"), rs.index("I"), *[rs.index(c) for c in rsp])
    out_spec = (os_.index("N"), os_.index("C"), *[os_.index(c) for c in rsp])
    for s, letters in ((ls, "NC"), (rs, "OI"), (os_, "NC")):
        if sorted(c for c in s if c not in letters) != sorted(rsp):
            raise _errors.LocatedValueError(
                f"dimension_numbers {dimension_numbers!r}: spatial letters must agree"
            )
    return ConvDimensionNumbers(lhs_spec, rhs_spec, out_spec)


def padtype_to_pads(
    in_shape: Sequence[int],
    window_shape: Sequence[int],
    window_strides: Sequence[int],
    padding: str,
) -> list[tuple[int, int]]:
    """Explicit ``(lo, hi)`` pads for ``"VALID"``, ``"SAME"`` or ``"SAME_LOWER"``."""
    p = padding.upper() if isinstance(padding, str) else padding
    if p == "VALID":
        return [(0, 0)] * len(in_shape)
    if p in ("SAME", "SAME_LOWER"):
        out = []
        for n, k, s in zip(in_shape, window_shape, window_strides):
            o = -(-n // s)
            total = _builtin_max(0, (o - 1) * s + k - n)
            lo = total // 2 if p == "SAME" else total - total // 2
            out.append((lo, total - lo))
        return out
    raise _errors.LocatedValueError(
        f"unknown padding {padding!r}: use 'VALID', 'SAME', 'SAME_LOWER' or (lo, hi) pairs"
    )


def conv_general_dilated(
    lhs: Any,
    rhs: Any,
    window_strides: Sequence[int],
    padding: Any,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """N-d convolution (cross-correlation, as XLA): strides, ``"SAME"``/``"VALID"`` or
    explicit ``(lo, hi)`` padding (negative crops), input dilation (transposed convolutions),
    kernel dilation (atrous), feature groups, any layout through ``dimension_numbers``
    (``("NHWC", "HWIO", "NHWC")``). Differentiable in both arguments, batchable.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> lax.conv_general_dilated(x, np.ones((1, 1, 2)), (1,), "VALID")
    Array([[[1., 3., 5., 7.]]])
    """
    if batch_group_count != 1:
        raise _errors.LocatedNotImplementedError(
            "lax.conv_general_dilated: batch_group_count != 1 is not supported"
        )
    a, b = _fnp.asarray(lhs), _fnp.asarray(rhs)
    sa, sb = _shape(a), _shape(b)
    if len(sa) != len(sb) or len(sa) < 2:
        raise _errors.LocatedValueError(
            f"lax.conv_general_dilated: lhs {sa} and rhs {sb} need the same rank >= 2"
        )
    dn = conv_dimension_numbers(sa, sb, dimension_numbers)
    nsp = len(sa) - 2
    a = _fnp.transpose(a, dn.lhs_spec)
    b = _fnp.transpose(b, dn.rhs_spec)
    ca, cb = _shape(a), _shape(b)
    strides = tuple(window_strides) if window_strides is not None else (1,) * nsp
    ld = tuple(lhs_dilation) if lhs_dilation is not None else (1,) * nsp
    rd = tuple(rhs_dilation) if rhs_dilation is not None else (1,) * nsp
    if isinstance(padding, str):
        in_d = [_conv._dilated(n, d) for n, d in zip(ca[2:], ld)]
        win_d = [_conv._dilated(k, d) for k, d in zip(cb[2:], rd)]
        pads = padtype_to_pads(in_d, win_d, strides, padding)
    else:
        pads = [tuple(int(v) for v in p) for p in padding]
    out = _conv.conv(a, b, strides, tuple(pads), ld, rd, int(feature_group_count))
    inv = tuple(_np.argsort(dn.out_spec))
    return _cast_preferred(_fnp.transpose(out, inv), preferred_element_type)


def conv(
    lhs: Any,
    rhs: Any,
    window_strides: Sequence[int],
    padding: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """:func:`conv_general_dilated` in layout NCHW/OIHW without dilation."""
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs: Any,
    rhs: Any,
    window_strides: Sequence[int],
    padding: Any,
    lhs_dilation: Any,
    rhs_dilation: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """:func:`conv_general_dilated` in layout NCHW/OIHW with dilations."""
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_transpose(
    lhs: Any,
    rhs: Any,
    strides: Sequence[int],
    padding: Any,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    transpose_kernel: bool = False,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """Transposed ("deconvolution") convolution: the input dilated by ``strides``, as JAX's
    ``conv_transpose`` (``padding`` ``"SAME"``/``"VALID"`` or explicit pairs)."""
    a, b = _fnp.asarray(lhs), _fnp.asarray(rhs)
    sa, sb = _shape(a), _shape(b)
    dn = conv_dimension_numbers(sa, sb, dimension_numbers)
    k_sdims = [sb[i] for i in dn.rhs_spec[2:]]
    nsp = len(k_sdims)
    rd = tuple(rhs_dilation) if rhs_dilation is not None else (1,) * nsp
    eff_k = [_conv._dilated(k, d) for k, d in zip(k_sdims, rd)]
    if isinstance(padding, str):
        p = padding.upper()
        pads = []
        for k, s in zip(eff_k, strides):
            if p == "SAME":
                pad_len = k + s - 2
                lo = k - 1 if s > k - 1 else -(-pad_len // 2)
            elif p == "VALID":
                pad_len = k + s - 2 + _builtin_max(k - s, 0)
                lo = k - 1
            else:
                raise _errors.LocatedValueError(f"conv_transpose: unknown padding {padding!r}")
            pads.append((lo, pad_len - lo))
    else:
        pads = [tuple(int(v) for v in q) for q in padding]
    if transpose_kernel:
        b = rev(b, dn.rhs_spec[2:])
        perm = list(range(len(sb)))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        b = _fnp.transpose(b, tuple(perm))
    return conv_general_dilated(
        a,
        b,
        (1,) * nsp,
        pads,
        lhs_dilation=tuple(strides),
        rhs_dilation=rd,
        dimension_numbers=dn,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


# --- windows -----------------------------------------------------------------------------------
def _reducer_kind(computation: Any) -> str:
    table = {
        add: "add",
        _fnp.add: "add",
        mul: "mul",
        _fnp.multiply: "mul",
        max: "max",
        _fnp.maximum: "max",
        min: "min",
        _fnp.minimum: "min",
    }
    kind = table.get(computation)
    if kind is None:
        raise _errors.LocatedNotImplementedError(
            "lax.reduce_window: computation must be lax.add, lax.mul, lax.max or lax.min (or "
            "the funcgrad.numpy ufuncs add, multiply, maximum, minimum)"
        )
    return kind


def reduce_window(
    operand: Any,
    init_value: Any,
    computation: Callable[..., Any],
    window_dimensions: Sequence[int],
    window_strides: Sequence[int] | None = None,
    padding: Any = "VALID",
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
) -> Any:
    """Reduce each window of ``operand`` with ``computation`` (``lax.add``/``mul``/``max``/
    ``min``) starting from ``init_value``, which also fills the padding — the building block
    of pooling (``reduce_window(x, -inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")``).
    Composed from a gather of the windows and a reduction, so it differentiates and batches
    (the derivative of ``max`` is shared among ties).

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.reduce_window(np.arange(6.0), 0.0, lax.add, (2,), (2,), "VALID")
    Array([1., 5., 9.])
    """
    kind = _reducer_kind(computation)
    x = _fnp.asarray(operand)
    shape = _shape(x)
    nd = len(shape)
    win = tuple(int(w) for w in window_dimensions)
    strides = tuple(int(s) for s in window_strides) if window_strides is not None else (1,) * nd
    bd = tuple(int(d) for d in base_dilation) if base_dilation is not None else (1,) * nd
    wd = tuple(int(d) for d in window_dilation) if window_dilation is not None else (1,) * nd
    if not len(win) == len(strides) == len(bd) == len(wd) == nd:
        raise _errors.LocatedValueError(
            f"lax.reduce_window: window, strides and dilations need one entry per axis of {shape}"
        )
    init = _fnp.astype(_fnp.asarray(init_value), _dtype(x))
    if isinstance(padding, str):
        in_d = [_conv._dilated(n, d) for n, d in zip(shape, bd)]
        win_d = [_conv._dilated(k, d) for k, d in zip(win, wd)]
        pads = padtype_to_pads(in_d, win_d, strides, padding)
    else:
        pads = [tuple(int(v) for v in p) for p in padding]
    xp = pad(x, init, [(lo, hi, d - 1) for (lo, hi), d in zip(pads, bd)])
    ps = _shape(xp)
    out_shape = []
    for n, k, s, d in zip(ps, win, strides, wd):
        kd = _conv._dilated(k, d)
        out_shape.append(0 if n < kd else (n - kd) // s + 1)
    if 0 in win:
        return _fnp.broadcast_to(init, tuple(out_shape))
    if all(s_ == k for s_, k in zip(strides, win)) and all(d == 1 for d in wd):
        # non-overlapping windows (the usual pooling): crop to whole windows and reshape to
        # (out0, win0, out1, win1, ...) — no gather, and a broadcast for the backward pass
        crop = tuple(_builtin_slice(0, o * k) for o, k in zip(out_shape, win))
        blocks = getitem(xp, crop)
        blocks = _fnp.reshape(blocks, tuple(v for o, k in zip(out_shape, win) for v in (o, k)))
        order = tuple(range(0, 2 * nd, 2)) + tuple(range(1, 2 * nd, 2))
        patches = _fnp.transpose(blocks, order)  # (*out, *win)
    else:
        patches = getitem(xp, _window_grid(out_shape, win, strides, wd))  # (*out, *win)
    axes = tuple(range(nd, 2 * nd))
    red = {
        "add": _fnp.sum,
        "mul": _fnp.prod,
        "max": _fnp.max,
        "min": _fnp.min,
    }[kind]
    r = red(patches, axis=axes)
    if r is not None and _dtype(r) != _dtype(x):
        r = _fnp.astype(r, _dtype(x))
    combine = {"add": _fnp.add, "mul": _fnp.multiply, "max": _fnp.maximum, "min": _fnp.minimum}
    ident = _identity(kind, _dtype(x))
    if not (not _is_tracer(init) and _np.asarray(init) == ident):
        r = combine[kind](r, init)
    return r


def _window_grid(out_shape: Any, win: Any, strides: Any, wd: Any) -> tuple[Any, ...]:
    """Broadcasting index arrays selecting every window: shape ``(*out, *win)``."""
    nd = len(out_shape)
    idx = []
    for ax in range(nd):
        o = _np.arange(out_shape[ax], dtype=_np.intp) * strides[ax]
        w = _np.arange(win[ax], dtype=_np.intp) * wd[ax]
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = out_shape[ax], win[ax]
        idx.append((o[:, None] + w[None, :]).reshape(shape))
    return tuple(idx)


def _identity(kind: str, dt: _np.dtype) -> Any:
    if kind == "add":
        return 0
    if kind == "mul":
        return 1
    if dt.kind == "f":
        return -_np.inf if kind == "max" else _np.inf
    if dt.kind in "iu":
        info = _np.iinfo(dt)
        return info.min if kind == "max" else info.max
    return kind == "min"


# --- more of jax.lax's surface -----------------------------------------------------------------
def stack(operands: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays of one shape along a new axis."""
    _same_dtypes("stack", *operands)
    return _fnp.stack(list(operands), axis=int(axis))


def unstack(x: Any, axis: int = 0) -> tuple[Any, ...]:
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = _fnp.asarray(x)
    nd = len(_shape(x))
    ax = int(axis) % nd
    return tuple(index_in_dim(x, i, ax, keepdims=False) for i in range(_shape(x)[ax]))


def reduce(
    operands: Any, init_values: Any, computation: Callable[..., Any], dimensions: Sequence[int]
) -> Any:
    """Reduce ``operands`` (an array or a pytree of arrays of one shape) over ``dimensions``
    with a binary ``computation`` that must be associative and commutative, starting from
    ``init_values``, which should be its identity (XLA may apply it any number of times;
    funcgrad applies it once). Known computations (``lax.add``/``mul``/``max``/``min``)
    use the reductions directly; any other is applied in ``O(log n)`` halving steps.

    >>> from funcgrad import lax
    >>> import numpy as np
    >>> lax.reduce(np.arange(6.0).reshape(2, 3), 0.0, lambda a, b: a + b, (1,))
    Array([ 3., 12.])
    """
    leaves, tree = tree_flatten(operands)
    inits, itree = tree_flatten(init_values)
    if len(inits) != len(leaves):
        raise _errors.LocatedValueError(
            "lax.reduce: init_values must have the structure of operands"
        )
    leaves = [_fnp.asarray(v) for v in leaves]
    dims = tuple(sorted(int(d) % len(_shape(leaves[0])) for d in dimensions)) if leaves else ()
    if len(leaves) == 1 and computation in (
        add,
        mul,
        max,
        min,
        _fnp.add,
        _fnp.multiply,
        _fnp.maximum,
        _fnp.minimum,
    ):
        kind = _reducer_kind(computation)
        red = {"add": _fnp.sum, "mul": _fnp.prod, "max": _fnp.max, "min": _fnp.min}[kind]
        x = leaves[0]
        r = _fnp.astype(red(x, axis=dims), _dtype(x)) if dims else x
        init = _fnp.astype(_fnp.asarray(inits[0]), _dtype(x))
        comb = {"add": _fnp.add, "mul": _fnp.multiply, "max": _fnp.maximum, "min": _fnp.minimum}[
            kind
        ]
        if _is_tracer(init) or _np.asarray(init) != _identity(kind, _dtype(x)):
            r = comb(r, init)
        return tree_unflatten(tree, [r])

    def combine(a: list[Any], b: list[Any]) -> list[Any]:
        out = computation(tree_unflatten(tree, a), tree_unflatten(tree, b))
        return [_fnp.asarray(v) for v in tree_flatten(out)[0]]

    def filled(v: Any, init: Any, shape: tuple[int, ...]) -> Any:
        return _fnp.broadcast_to(_fnp.astype(_fnp.asarray(init), _dtype(v)), shape)

    vs = leaves
    for d in sorted(dims, reverse=True):
        n = _shape(vs[0])[d]
        if n == 0:  # an empty axis reduces to the initial values
            vs = [filled(v, i, _shape(v)[:d] + _shape(v)[d + 1 :]) for v, i in zip(vs, inits)]
            continue
        while n > 1:
            if n % 2:  # pad with the initial value to an even length
                one = _shape(vs[0])[:d] + (1,) + _shape(vs[0])[d + 1 :]
                vs = [_fnp.concatenate([v, filled(v, i, one)], axis=d) for v, i in zip(vs, inits)]
                n += 1
            half = n // 2
            vs = combine(
                [_slice_axis(v, d, 0, half) for v in vs], [_slice_axis(v, d, half, n) for v in vs]
            )
            n = half
        vs = [_st.squeeze(v, (d,)) for v in vs]
        vs = combine([filled(v, i, _shape(v)) for v, i in zip(vs, inits)], vs)
    return tree_unflatten(tree, vs)


def reduce_xor(operand: Any, axes: Sequence[int]) -> Any:
    """Exclusive or (parity) of a boolean array over ``axes``."""
    x = _fnp.asarray(operand)
    if _dtype(x).kind != "b":
        raise _errors.LocatedTypeError(
            f"lax.reduce_xor: funcgrad supports boolean operands only, got {_dtype(x)}"
        )
    return _fnp.equal(_fnp.remainder(_fnp.sum(x, axis=_axes(axes)), 2), 1)


def dtype(x: Any) -> _np.dtype:
    """The dtype funcgrad gives ``x`` (Python scalars: numpy's default for their kind)."""
    return _dtype(x) if not _weak(x) else _np.result_type(x)


def approx_max_k(
    operand: Any,
    k: int,
    reduction_dimension: int = -1,
    recall_target: float = 0.95,
    reduction_input_size_override: int = -1,
    aggregate_to_topk: bool = True,
) -> tuple[Any, Any]:
    """:func:`top_k` along ``reduction_dimension`` (exact: recall 1)."""
    return top_k(operand, k, axis=reduction_dimension)


def approx_min_k(
    operand: Any,
    k: int,
    reduction_dimension: int = -1,
    recall_target: float = 0.95,
    reduction_input_size_override: int = -1,
    aggregate_to_topk: bool = True,
) -> tuple[Any, Any]:
    """The ``k`` smallest entries and their indices, smallest first (exact)."""
    x = _fnp.asarray(operand)
    v, i = top_k(_fnp.negative(x), k, axis=reduction_dimension)
    return _fnp.negative(v), i


def conv_general_permutations(dimension_numbers: Any) -> tuple[tuple[int, ...], ...]:
    """The axis permutations ``(lhs, rhs, out)`` into the canonical layouts (N, C, spatial),
    (O, I, spatial), (N, C, spatial) for string dimension numbers."""
    ls = dimension_numbers[0]
    dn = conv_dimension_numbers(tuple(range(len(ls))), tuple(range(len(ls))), dimension_numbers)
    return tuple(dn)


def conv_general_shape_tuple(
    lhs_shape: Any, rhs_shape: Any, window_strides: Any, padding: Any, dimension_numbers: Any
) -> tuple[int, ...]:
    """The output shape of :func:`conv_general_dilated` (in the output layout)."""
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    ls = tuple(lhs_shape[i] for i in dn.lhs_spec)
    rs = tuple(rhs_shape[i] for i in dn.rhs_spec)
    out = conv_shape_tuple(ls, rs, window_strides, padding)
    shape = [0] * len(out)
    for canon, axis in enumerate(dn.out_spec):
        shape[axis] = out[canon]
    return tuple(shape)


def conv_shape_tuple(
    lhs_shape: Any, rhs_shape: Any, strides: Any, pads: Any, batch_group_count: int = 1
) -> tuple[int, ...]:
    """The output shape of a convolution in layout NCHW/OIHW (``pads``: a padding string or
    ``(lo, hi)`` pairs)."""
    nsp = len(lhs_shape) - 2
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    sp = _conv.conv_out_shape(
        tuple(lhs_shape),
        tuple(rhs_shape),
        tuple(strides),
        tuple(tuple(p) for p in pads),
        (1,) * nsp,
        (1,) * nsp,
    )
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + sp


def reduce_window_shape_tuple(
    operand_shape: Any,
    window_dimensions: Any,
    window_strides: Any,
    padding: Any,
    base_dilation: Any = None,
    window_dilation: Any = None,
) -> tuple[int, ...]:
    """The output shape of :func:`reduce_window` (``padding`` as ``(lo, hi)`` pairs)."""
    nd = len(operand_shape)
    bd = base_dilation or (1,) * nd
    wd = window_dilation or (1,) * nd
    out = []
    for n, k, s, (lo, hi), b, d in zip(
        operand_shape, window_dimensions, window_strides, padding, bd, wd
    ):
        size = _conv._dilated(n, b) + lo + hi
        kd = _conv._dilated(k, d)
        out.append(0 if size < kd else (size - kd) // s + 1)
    return tuple(out)


def conv_general_dilated_patches(
    lhs: Any,
    filter_shape: Sequence[int],
    window_strides: Any,
    padding: Any,
    lhs_dilation: Any = None,
    rhs_dilation: Any = None,
    dimension_numbers: Any = None,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """The patches a convolution with a window of ``filter_shape`` sees, as output features
    (ordered channel-major, then window position): a convolution with a one-hot kernel."""
    x = _fnp.asarray(lhs)
    fs = tuple(int(k) for k in filter_shape)
    dn = conv_dimension_numbers(_shape(x), (1, 1) + fs, dimension_numbers)
    c = _shape(x)[dn.lhs_spec[1]]
    kshape = tuple(((1, 1) + fs)[i] for i in dn.rhs_spec[2:])
    ksize = int(_np.prod(kshape, dtype=_np.int64))
    eye = _np.eye(ksize, dtype=_dtype(x)).reshape((ksize, 1) + kshape)
    w = _np.tile(eye, (c, 1) + (1,) * len(kshape))  # (C*K, 1, *window)
    canon = ConvDimensionNumbers(dn.lhs_spec, tuple(range(len(_shape(x)))), dn.out_spec)
    return conv_general_dilated(
        x,
        w,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        canon,
        feature_group_count=c,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def platform_dependent(
    *args: Any, default: Callable[..., Any] | None = None, **per_platform: Callable[..., Any]
) -> Any:
    """Calls the ``cpu`` branch (funcgrad runs on numpy, on the CPU), else ``default``."""
    f = per_platform.get("cpu", default)
    if f is None:
        raise _errors.LocatedValueError(
            "lax.platform_dependent: give a cpu= branch or default= (funcgrad runs on the CPU)"
        )
    return f(*args)


def with_sharding_constraint(x: Any, shardings: Any) -> Any:
    """The identity: funcgrad has one device, nothing to shard."""
    return x


def reduce_precision(operand: Any, exponent_bits: int, mantissa_bits: int) -> Any:
    """Round to a narrower float format and back: (5, 10) is float16, (8, 23) float32,
    (11, 52) float64 (other formats raise). The derivative passes straight through, as JAX."""
    x = _fnp.asarray(operand)
    fmt = {(5, 10): _np.float16, (8, 23): _np.float32, (11, 52): _np.float64}.get(
        (int(exponent_bits), int(mantissa_bits))
    )
    if fmt is None:
        raise _errors.LocatedNotImplementedError(
            f"lax.reduce_precision: only the IEEE formats (5, 10), (8, 23), (11, 52) are "
            f"supported, got ({exponent_bits}, {mantissa_bits})"
        )
    if _np.finfo(fmt).bits >= _np.finfo(_dtype(x)).bits:
        return x
    rounded = _fnp.astype(_fnp.astype(_fnp.stop_gradient(x), fmt), _dtype(x))
    return _fnp.add(x, _fnp.stop_gradient(_fnp.subtract(rounded, x)))
