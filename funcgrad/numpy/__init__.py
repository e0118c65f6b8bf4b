"""``funcgrad.numpy``: numpy's names, signatures, broadcasting and dtype rules, built on the
primitive table, so every function here works on tracers (and so under every transform).

On plain numpy inputs outside any transform these are ordinary numpy calls.
Plain ``numpy`` functions also work on traced values: tracers implement
``__array_ufunc__``/``__array_function__`` and dispatch to the functions below.

>>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
>>> fg.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2))(np.zeros(3))
array([0., 0., 0.])
"""

from __future__ import annotations

import builtins
import operator
import string
from collections.abc import Sequence
from typing import Any

import numpy as _np
from numpy import (  # re-exported dtypes and constants
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

from funcgrad.errors import ConcretizationError, TracerConversionError
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import linalg as _la
from funcgrad.primitives import numpy_extra as _nx
from funcgrad.primitives import structural as _st
from funcgrad.primitives.structural import Index, Slice
from funcgrad.tracer import Tracer, bind

ndarray = _np.ndarray
dtype = _np.dtype
float_ = float64


def _is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def asarray(a: Any, dtype: Any = None) -> Any:
    """Like ``numpy.asarray``; tracers (and lists holding tracers) stay traced."""
    if type(a) is Tracer:
        return a if dtype is None or _np.dtype(dtype) == a.dtype else astype(a, dtype)
    if isinstance(a, (list, tuple)) and _contains_tracer(a):
        return stack([asarray(x) for x in a]) if dtype is None else astype(stack(list(a)), dtype)
    return _np.asarray(a, dtype=dtype)


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
    """Tracers, numpy arrays/scalars and Python scalars pass through; sequences become arrays."""
    if type(x) is Tracer or isinstance(x, (_np.ndarray, _np.generic, float, int, bool)):
        return x
    return asarray(x)


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if type(x) is Tracer else _np.shape(x)


def _ndim(x: Any) -> int:
    return len(_shape(x))


def _dtype(x: Any) -> Any:
    return x.dtype if type(x) is Tracer else _np.result_type(x)


def _norm_axis(axis: int, ndim: int) -> int:
    if not isinstance(axis, (int, _np.integer)):
        raise TypeError(f"axis must be an int, got {type(axis).__name__}")
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
            raise ValueError(f"duplicate value in axis {axis}")
        return axes
    return (_norm_axis(axis, ndim),)


# --- elementwise -----------------------------------------------------------------------
def _unary(prim: Any) -> Any:
    def f(x: Any) -> Any:
        return bind(prim, _operand(x))

    f.__name__ = prim.name
    return f


def _binary(prim: Any, name: str) -> Any:
    def f(x: Any, y: Any) -> Any:
        return bind(prim, _operand(x), _operand(y))

    f.__name__ = name
    return f


add = _binary(_ew.add_p, "add")
subtract = _binary(_ew.sub_p, "subtract")
multiply = _binary(_ew.mul_p, "multiply")
divide = _binary(_ew.div_p, "divide")
true_divide = divide
maximum = _binary(_ew.maximum_p, "maximum")
minimum = _binary(_ew.minimum_p, "minimum")
less = _binary(_ew.lt_p, "less")
less_equal = _binary(_ew.le_p, "less_equal")
greater = _binary(_ew.gt_p, "greater")
greater_equal = _binary(_ew.ge_p, "greater_equal")
equal = _binary(_ew.eq_p, "equal")
not_equal = _binary(_ew.ne_p, "not_equal")
logical_and = _binary(_ew.and_p, "logical_and")
logical_or = _binary(_ew.or_p, "logical_or")
logical_not = _unary(_ew.not_p)
negative = _unary(_ew.neg_p)
exp = _unary(_ew.exp_p)
log = _unary(_ew.log_p)
log1p = _unary(_ew.log1p_p)
expm1 = _unary(_ew.expm1_p)
sin = _unary(_ew.sin_p)
cos = _unary(_ew.cos_p)
tan = _unary(_ew.tan_p)
tanh = _unary(_ew.tanh_p)
arctan = _unary(_ew.arctan_p)
sqrt = _unary(_ew.sqrt_p)
abs = _unary(_ew.abs_p)  # noqa: A001 - numpy's name
absolute = abs
sign = _unary(_ew.sign_p)


def positive(x: Any) -> Any:
    return _operand(x)


def square(x: Any) -> Any:
    return bind(_ew.integer_pow_p, _operand(x), y=2)


def reciprocal(x: Any) -> Any:
    return bind(_nx.reciprocal_p, _operand(x))


def power(x: Any, y: Any) -> Any:
    """``x ** y``; a Python int exponent becomes the ``integer_pow`` primitive."""
    if isinstance(y, int) and not isinstance(y, bool) and type(x) is Tracer:
        return bind(_ew.integer_pow_p, x, y=y)
    return bind(_ew.pow_p, _operand(x), _operand(y))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Three-argument ``numpy.where`` (select); the one-argument form needs concrete data."""
    if x is None or y is None:
        if x is None and y is None:
            return _np.where(_concrete(condition, "where(condition) with one argument"))
        raise ValueError("where: give both x and y, or neither")
    c = _operand(condition)
    if _dtype(c) != _np.bool_:
        c = not_equal(c, 0)
    return bind(_ew.select_p, c, _operand(x), _operand(y))


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Any:
    out = _operand(a)
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def astype(x: Any, dtype: Any) -> Any:
    dt = _np.dtype(dtype)
    if _dtype(x) == dt:
        return x
    return bind(_ew.convert_element_type_p, _operand(x), new_dtype=dt)


def stop_gradient(x: Any) -> Any:
    return bind(_ew.stop_gradient_p, _operand(x))


# --- reductions ------------------------------------------------------------------------
def _keep(out: Any, x_shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    if not keepdims:
        return out
    return _st.reshape(out, tuple(1 if i in axes else s for i, s in enumerate(x_shape)))


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    a = _operand(a)
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    return _keep(bind(_st.reduce_sum_p, a, axes=axes), shape, axes, keepdims)


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    n = 1
    for i in axes:
        n *= shape[i]
    total = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
    if _dtype(total).kind not in "fc":
        total = astype(total, float64)
    return divide(total, float(n))


def _extremum(prim: Any, a: Any, axis: Any, keepdims: bool, name: str) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    for i in axes:
        if shape[i] == 0:
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    return _keep(bind(prim, a, axes=axes), shape, axes, keepdims)


def max(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return _extremum(_st.reduce_max_p, a, axis, keepdims, "maximum")


def min(a: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    return _extremum(_st.reduce_min_p, a, axis, keepdims, "minimum")


amax, amin = max, min


def var(a: Any, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    a = _operand(a)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    n = 1
    for i in axes:
        n *= shape[i]
    centered = subtract(a, mean(a, axis=axes, dtype=dtype, keepdims=True))
    return divide(sum(square(centered), axis=axes, keepdims=keepdims), float(n - ddof))


def std(a: Any, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _argext(prim: Any, a: Any, axis: Any, keepdims: bool) -> Any:
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    shape = _shape(a)
    ax = _norm_axis(axis, len(shape))
    out = bind(prim, a, axis=ax)
    return _keep(out, shape, (ax,), keepdims)


def argmax(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _argext(_st.argmax_p, a, axis, keepdims)


def argmin(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _argext(_st.argmin_p, a, axis, keepdims)


# --- shapes ----------------------------------------------------------------------------
def reshape(a: Any, *args: Any, **kwargs: Any) -> Any:
    """``reshape(a, newshape)``; ``-1`` infers one dimension (numpy 2's ``shape=`` also works)."""
    if "newshape" in kwargs or "shape" in kwargs:
        newshape = kwargs.pop("newshape", None) or kwargs.pop("shape")
    elif len(args) == 1:
        newshape = args[0]
    else:
        newshape = args
    if kwargs:
        raise TypeError(f"reshape got unexpected keyword arguments {sorted(kwargs)}")
    a = _operand(a)
    shape = _shape(a)
    if isinstance(newshape, (int, _np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(s) for s in newshape)
    size = 1
    for s in shape:
        size *= s
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension (-1)")
    if -1 in newshape:
        known = 1
        for s in newshape:
            if s != -1:
                known *= s
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape {newshape}")
        newshape = tuple(size // known if s == -1 else s for s in newshape)
    return _st.reshape(a, newshape)


def ravel(a: Any) -> Any:
    return reshape(a, (-1,))


def transpose(a: Any, axes: Any = None) -> Any:
    a = _operand(a)
    nd = _ndim(a)
    perm = tuple(range(nd))[::-1] if axes is None else tuple(_norm_axis(x, nd) for x in axes)
    return _st.transpose(a, perm)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    a = _operand(a)
    nd = _ndim(a)
    perm = list(range(nd))
    i, j = _norm_axis(axis1, nd), _norm_axis(axis2, nd)
    perm[i], perm[j] = perm[j], perm[i]
    return _st.transpose(a, tuple(perm))


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    a = _operand(a)
    nd = _ndim(a)
    src = [_norm_axis(s, nd) for s in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [
        _norm_axis(d, nd)
        for d in (destination if isinstance(destination, (tuple, list)) else [destination])
    ]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _st.transpose(a, tuple(order))


def expand_dims(a: Any, axis: Any) -> Any:
    a = _operand(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = _ndim(a) + len(axes)
    return _st.expand_dims(a, tuple(sorted(_norm_axis(x, nd) for x in axes)))


def squeeze(a: Any, axis: Any = None) -> Any:
    a = _operand(a)
    shape = _shape(a)
    if axis is None:
        dims = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = _norm_axes(axis, len(shape))
        for d in dims:
            if shape[d] != 1:
                raise ValueError(
                    "cannot select an axis to squeeze out which has size not equal to one"
                )
    return _st.squeeze(a, dims)


def broadcast_to(a: Any, shape: Any) -> Any:
    a = _operand(a)
    shape = (int(shape),) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    try:
        _np.broadcast_shapes(_shape(a), shape)
        if len(shape) < _ndim(a):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"cannot broadcast an array of shape {_shape(a)} to shape {shape}"
        ) from None
    return _st.broadcast_to(a, shape)


def atleast_1d(*arys: Any) -> Any:
    out = [_operand(a) for a in arys]
    out = [reshape(a, (1,)) if _ndim(a) == 0 else a for a in out]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*arys: Any) -> Any:
    out = [_operand(a) for a in arys]
    out = [reshape(a, (1,) * (2 - _ndim(a)) + _shape(a)) if _ndim(a) < 2 else a for a in out]
    return out[0] if len(out) == 1 else tuple(out)


def concatenate(arrays: Sequence[Any], axis: int | None = 0) -> Any:
    arrays = [_operand(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    nd = _ndim(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for x in arrays:
        if _ndim(x) != nd:
            raise ValueError(
                "concatenate: all the input arrays must have the same number of dimensions, "
                f"got shapes {[_shape(y) for y in arrays]}"
            )
    return _st.concatenate(arrays, _norm_axis(axis, nd))


def stack(arrays: Sequence[Any], axis: int = 0) -> Any:
    arrays = [_operand(x) for x in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shape = _shape(arrays[0])
    for x in arrays:
        if _shape(x) != shape:
            raise ValueError(
                "stack: all input arrays must have the same shape, got "
                f"{[_shape(y) for y in arrays]}"
            )
    ax = _norm_axis(axis, len(shape) + 1)
    return _st.concatenate([_st.expand_dims(x, (ax,)) for x in arrays], ax)


def hstack(arrays: Sequence[Any]) -> Any:
    arrays = [atleast_1d(x) for x in arrays]
    return concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def vstack(arrays: Sequence[Any]) -> Any:
    return concatenate([atleast_2d(x) for x in arrays], axis=0)


# --- products --------------------------------------------------------------------------
def matmul(a: Any, b: Any) -> Any:
    return _la.matmul(_operand(a), _operand(b))


def dot(a: Any, b: Any) -> Any:
    """``numpy.dot`` for scalars, vectors and matrices (N-D: the last axis of ``a`` with the
    second-to-last of ``b``)."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2 or na <= 1:
        return matmul(a, b) if nb <= 2 else _dot_nd(a, b)
    return _dot_nd(a, b)


def _dot_nd(a: Any, b: Any) -> Any:
    # dot(a, b)[i.., j.., k] = sum_m a[i.., m] b[j.., m, k]
    bs = _shape(b)
    bm = moveaxis(b, -2, 0)  # (m, j.., k)
    b2 = reshape(bm, (bs[-2], -1))
    out = matmul(a, b2)
    return reshape(out, _shape(a)[:-1] + bs[:-2] + bs[-1:])


def vdot(a: Any, b: Any) -> Any:
    return sum(multiply(ravel(a), ravel(b)))


def inner(a: Any, b: Any) -> Any:
    a, b = _operand(a), _operand(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return multiply(a, b)
    return dot(a, swapaxes(b, -1, -2)) if _ndim(b) >= 2 else dot(a, b)


def outer(a: Any, b: Any) -> Any:
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


# --- creation (concrete: no tracer involved) -------------------------------------------
def _static_shape(shape: Any) -> Any:
    """Sizes must be concrete: a traced size raises the clear 'use static_argnums' error."""
    if isinstance(shape, (tuple, list)):
        return tuple(operator.index(s) for s in shape)
    return operator.index(shape)


def zeros(shape: Any, dtype: Any = float, order: str = "C") -> Any:
    """numpy.zeros (a concrete array); sizes must be static under jit."""
    return _np.zeros(_static_shape(shape), dtype, order)


def ones(shape: Any, dtype: Any = None, order: str = "C") -> Any:
    """numpy.ones (a concrete array); sizes must be static under jit."""
    return _np.ones(_static_shape(shape), dtype, order)


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C") -> Any:
    """numpy.full; a traced fill value gives a traced array (broadcast of the value)."""
    shape = _static_shape(shape)
    if type(fill_value) is Tracer:
        out = broadcast_to(fill_value, shape if isinstance(shape, tuple) else (shape,))
        return out if dtype is None else astype(out, dtype)
    return _np.full(shape, fill_value, dtype, order)


empty = zeros  # never hand out uninitialised memory
eye = _np.eye
identity = _np.identity
arange = _np.arange
linspace = _np.linspace


def _like_shape(a: Any, shape: Any) -> tuple[int, ...]:
    if shape is None:
        return _shape(a)
    return (operator.index(shape),) if not isinstance(shape, (tuple, list)) else tuple(shape)


def zeros_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None, **kw: Any
) -> Any:
    """Concrete zeros with ``a``'s shape and dtype (``a`` may be traced: only its type is
    used, so the result carries no derivative)."""
    return _np.zeros(_like_shape(a, shape), dtype or _dtype(a))


def ones_like(
    a: Any, dtype: Any = None, order: Any = "K", subok: bool = True, shape: Any = None, **kw: Any
) -> Any:
    return _np.ones(_like_shape(a, shape), dtype or _dtype(a))


empty_like = zeros_like  # never hand out uninitialised memory


def full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: Any = "K",
    subok: bool = True,
    shape: Any = None,
    **kw: Any,
) -> Any:
    """Like ``numpy.full_like``; a traced ``fill_value`` is broadcast (and differentiable)."""
    dt = dtype or _dtype(a)
    if _is_tracer(fill_value):
        return broadcast_to(astype(fill_value, dt), _like_shape(a, shape))
    return _np.full(_like_shape(a, shape), fill_value, dt)


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


# --- indexing --------------------------------------------------------------------------
def _normalize_index(x: Any, idx: Any) -> Index:
    """A basic index (ints, slices, None, Ellipsis) as a hashable Index without Ellipsis."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    shape = _shape(x)
    n_real = builtins.sum(1 for i in idx if i is not None and i is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, but {n_real} "
            "were indexed"
        )
    out: list[Any] = []
    seen_ellipsis = False
    dim = 0
    for i in idx:
        if i is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            k = len(shape) - n_real
            out += [Slice(None, None, None)] * k
            dim += k
        elif i is None:
            out.append(None)
        elif isinstance(i, slice):
            out.append(Slice(_int_or_none(i.start), _int_or_none(i.stop), _int_or_none(i.step)))
            dim += 1
        elif isinstance(i, (int, _np.integer)) and not isinstance(i, (bool, _np.bool_)):
            n = shape[dim]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            out.append(int(i) % n)
            dim += 1
        elif type(i) is Tracer and i.dtype.kind in "iu" and i.shape == () and i.val is not None:
            out.append(int(i.val) % shape[dim])
            dim += 1
        else:
            raise TypeError(
                f"funcgrad supports basic indexing of traced values (ints, slices, None, "
                f"Ellipsis); got an index of type {type(i).__name__}. Integer-array and "
                "boolean-mask indexing of traced values is not implemented yet; use "
                "fnp.where for masking."
            )
    return Index(out)


def _int_or_none(v: Any) -> int | None:
    if v is None:
        return None
    if type(v) is Tracer:
        v = _concrete(v, "a slice bound")
    return operator.index(v)


def _getitem(x: Any, idx: Any) -> Any:
    from funcgrad.numpy import _indexing  # integer-array / boolean-mask indexing (part B)

    if _indexing.is_advanced(idx):
        return _indexing.getitem(x, idx)
    index = _normalize_index(x, idx)
    if builtins.all(isinstance(i, Slice) and i == (None, None, None) for i in index):
        return x
    return _st.getitem(x, index)


# --- numpy surface, part A (primitives in funcgrad/primitives/numpy_extra.py) -------------
# Coverage table with derivative notes: docs/numpy_coverage.md.

arcsin = _unary(_nx.arcsin_p)
arccos = _unary(_nx.arccos_p)
arctanh = _unary(_nx.arctanh_p)
sinh = _unary(_nx.sinh_p)
cosh = _unary(_nx.cosh_p)
arcsinh = _unary(_nx.arcsinh_p)
arccosh = _unary(_nx.arccosh_p)
log2 = _unary(_nx.log2_p)
log10 = _unary(_nx.log10_p)
exp2 = _unary(_nx.exp2_p)
cbrt = _unary(_nx.cbrt_p)
sinc = _unary(_nx.sinc_p)
asin, acos, atan, atanh, asinh, acosh = arcsin, arccos, arctan, arctanh, arcsinh, arccosh
fabs = abs
logaddexp = _binary(_nx.logaddexp_p, "logaddexp")
logaddexp2 = _binary(_nx.logaddexp2_p, "logaddexp2")
hypot = _binary(_nx.hypot_p, "hypot")
arctan2 = _binary(_nx.arctan2_p, "arctan2")
atan2 = arctan2
fmax = _binary(_nx.fmax_p, "fmax")
fmin = _binary(_nx.fmin_p, "fmin")
remainder = _binary(_nx.remainder_p, "remainder")
mod = remainder
fmod = _binary(_nx.fmod_p, "fmod")
heaviside = _binary(_nx.heaviside_p, "heaviside")
# Piecewise constant / boolean: no derivative (the gradient through them is exactly zero).
floor = _unary(_nx.floor_p)
ceil = _unary(_nx.ceil_p)
rint = _unary(_nx.rint_p)
trunc = _unary(_nx.trunc_p)
isnan = _unary(_nx.isnan_p)
isinf = _unary(_nx.isinf_p)
isfinite = _unary(_nx.isfinite_p)
signbit = _unary(_nx.signbit_p)
floor_divide = _binary(_nx.floor_divide_p, "floor_divide")
logical_xor = _binary(_nx.xor_p, "logical_xor")
pow = power  # noqa: A001 - numpy 2 alias


def divmod(x: Any, y: Any) -> tuple[Any, Any]:  # noqa: A001 - numpy's name
    return floor_divide(x, y), remainder(x, y)


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= is not supported by funcgrad (arrays are immutable); use the "
            "returned value"
        )


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001
    """``numpy.round`` (half to even); piecewise constant, so its gradient is zero."""
    _no_out(out, "round")
    return bind(_nx.round_p, _operand(a), decimals=operator.index(decimals))


around = round


def float_power(x: Any, y: Any) -> Any:
    x, y = _operand(x), _operand(y)
    dt = result_type(x, y, float64)
    return power(astype(x, dt), astype(y, dt))


def deg2rad(x: Any) -> Any:
    return multiply(_operand(x), _np.pi / 180.0)


def rad2deg(x: Any) -> Any:
    return multiply(_operand(x), 180.0 / _np.pi)


radians, degrees = deg2rad, rad2deg


def nan_to_num(
    x: Any,
    copy: bool = True,
    nan: float = 0.0,  # noqa: F811 - numpy's keyword shadows the constant `nan`
    posinf: Any = None,
    neginf: Any = None,
) -> Any:
    """NaN → ``nan``, ±inf → ``posinf``/``neginf`` (default: the dtype's largest finite
    values). The gradient passes through finite entries and is zero at replaced ones."""
    x = _operand(x)
    dt = _dtype(x)
    if dt.kind not in "fc":
        return x
    info = _np.finfo(dt)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(equal(x, _np.inf), hi, out)
    return where(equal(x, -_np.inf), lo, out)


# --- reductions, part A ------------------------------------------------------------------
def _masked(a: Any, where_: Any, fill: Any) -> Any:
    return a if where_ is None or where_ is True else where(where_, a, fill)


def prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = None,
) -> Any:
    """``numpy.prod``. Its gradient is the product of the *other* elements (computed without
    division), so it is exact when inputs contain zeros, at every order."""
    _no_out(out, "prod")
    a = _masked(_operand(a), where, 1)
    if dtype is not None:
        a = astype(a, dtype)
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    r = _keep(bind(_nx.reduce_prod_p, a, axes=axes), shape, axes, keepdims)
    return r if initial is None else multiply(r, initial)


def _as_reduced_dtype(a: Any, dtype: Any, like: Any) -> Any:
    if dtype is not None:
        return astype(a, dtype)
    return astype(a, like(_np.ones((1,), _dtype(a))).dtype)


def _scan_axis(a: Any, axis: Any) -> tuple[Any, int]:
    if axis is None:
        return ravel(a), 0
    return a, _norm_axis(axis, _ndim(a))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumsum``; its VJP is the reversed cumsum."""
    _no_out(out, "cumsum")
    a, ax = _scan_axis(_operand(a), axis)
    if dtype is not None:
        a = astype(a, dtype)
    return _nx.cumsum(a, ax)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumprod`` as a log-depth scan of multiplications: exact derivatives at every
    order, zeros included; values equal numpy's up to floating-point rounding (the
    multiplication order differs)."""
    _no_out(out, "cumprod")
    a, ax = _scan_axis(_operand(a), axis)
    a = _as_reduced_dtype(a, dtype, _np.cumprod)
    return _nx.cumprod(a, ax)


def _with_initial(r: Any, axis: int, value: int) -> Any:
    shape = list(_shape(r))
    shape[axis] = 1
    return concatenate([_np.full(shape, value, _dtype(r)), r], axis=axis)


def _cumulative_axis(x: Any, axis: Any, name: str) -> int:
    if axis is None:
        if _ndim(x) != 1:
            raise ValueError(f"{name}: axis must be specified for arrays with more than one axis")
        return 0
    return _norm_axis(axis, _ndim(x))


def cumulative_sum(
    x: Any,
    /,
    *,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    include_initial: bool = False,
) -> Any:
    x = atleast_1d(_operand(x))
    ax = _cumulative_axis(x, axis, "cumulative_sum")
    r = cumsum(x, ax, dtype, out)
    return _with_initial(r, ax, 0) if include_initial else r


def cumulative_prod(
    x: Any,
    /,
    *,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    include_initial: bool = False,
) -> Any:
    x = atleast_1d(_operand(x))
    ax = _cumulative_axis(x, axis, "cumulative_prod")
    r = cumprod(x, ax, dtype, out)
    return _with_initial(r, ax, 1) if include_initial else r


def _is_float(x: Any) -> bool:
    return _dtype(x).kind in "fc"


def _nan_fill(a: Any, fill: Any) -> Any:
    return where(isnan(a), fill, a) if _is_float(a) else a


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumsum(_nan_fill(_operand(a), 0), axis, dtype, out)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return cumprod(_nan_fill(_operand(a), 1), axis, dtype, out)


def _bool_reduce(
    prim: Any, a: Any, axis: Any, out: Any, keepdims: bool, where_: Any, empty: bool, name: str
) -> Any:
    _no_out(out, name)
    a = _operand(a)
    b = a if _dtype(a) == bool_ else not_equal(a, 0)
    b = _masked(b, where_, empty)
    shape = _shape(b)
    axes = _norm_axes(axis, len(shape))
    if builtins.any(shape[i] == 0 for i in axes):
        r = _np.full(tuple(s for i, s in enumerate(shape) if i not in axes), empty)
    else:
        r = bind(prim, b, axes=axes)
    return _keep(r, shape, axes, keepdims)


def all(  # noqa: A001 - numpy's name
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None
) -> Any:
    return _bool_reduce(_st.reduce_min_p, a, axis, out, keepdims, where, True, "all")


def any(  # noqa: A001 - numpy's name
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = None
) -> Any:
    return _bool_reduce(_st.reduce_max_p, a, axis, out, keepdims, where, False, "any")


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    _no_out(out, "ptp")
    return subtract(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """``numpy.diff`` by slicing (boolean arrays: ``!=``, as numpy)."""
    a = _operand(a)
    nd = _ndim(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    ax = _norm_axis(axis, nd)
    parts = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        ex = _operand(extra)
        if _ndim(ex) == 0:
            shp = list(_shape(a))
            shp[ax] = 1
            ex = broadcast_to(ex, tuple(shp))
        parts.append(ex)
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    for _ in range(n):
        m = _shape(a)[ax]
        hi = _st.getitem(a, _nx.axis_index(nd, ax, Slice(1, None, None)))
        lo = _st.getitem(a, _nx.axis_index(nd, ax, Slice(None, builtins.max(m - 1, 0), None)))
        a = not_equal(hi, lo) if _dtype(a) == bool_ else subtract(hi, lo)
    return a


def _move_axes_last(a: Any, axis: Any) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """Move the reduced ``axis`` (None, int or tuple) to one trailing axis."""
    shape = _shape(a)
    axes = _norm_axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    x = _st.transpose(a, tuple(kept + list(axes)))
    x = reshape(x, tuple(shape[i] for i in kept) + (-1,)) if len(axes) != 1 else x
    return x, shape, axes


def median(
    a: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    keepdims: bool = False,
) -> Any:
    """``numpy.median`` via ``sort``: the gradient goes to the middle element (split evenly
    between the two middle elements for even sizes); NaN anywhere gives NaN, as numpy."""
    _no_out(out, "median")
    x, shape, axes = _move_axes_last(_operand(a), axis)
    n = _shape(x)[-1]
    s = sort(x, axis=-1)
    nd = _ndim(s)
    mid = _st.getitem(s, _nx.axis_index(nd, nd - 1, Slice((n - 1) // 2, n // 2 + 1, None)))
    r = mean(mid, axis=-1)
    if _is_float(s) and n:
        last = _st.getitem(s, _nx.axis_index(nd, nd - 1, Slice(n - 1, n, None)))
        r = where(isnan(reshape(last, _shape(r))), _np.nan, r)
    return _keep(r, shape, axes, keepdims)


def quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    """``numpy.quantile`` with ``method="linear"`` and concrete ``q``, via ``sort``; the
    gradient goes to the two order statistics around each quantile."""
    _no_out(out, "quantile")
    if method != "linear" or weights is not None:
        raise NotImplementedError("funcgrad.numpy.quantile supports method='linear' only")
    qs = _np.asarray(_concrete(q, "quantile's q"), dtype=float64)
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise ValueError("Quantiles must be in the range [0, 1]")
    x, shape, axes = _move_axes_last(_operand(a), axis)
    weak_q = isinstance(q, (int, float)) and not isinstance(q, bool)
    x = astype(
        x,
        _np.result_type(
            result_type(x, float64) if not _is_float(x) else _dtype(x), q if weak_q else qs
        ),
    )
    n = _shape(x)[-1]
    s = sort(x, axis=-1)
    pos = qs.ravel() * (n - 1)
    lo = _np.floor(pos).astype(_np.intp)
    hi = _np.minimum(lo + 1, n - 1)
    t = (pos - lo).astype(_dtype(s))
    lo_v, hi_v = take(s, lo, axis=-1), take(s, hi, axis=-1)  # (..., len(q))
    d = subtract(hi_v, lo_v)
    r = where(t >= 0.5, subtract(hi_v, multiply(d, 1 - t)), add(lo_v, multiply(d, t)))
    if keepdims:
        kshape = tuple(1 if i in axes else sz for i, sz in enumerate(shape))
    else:
        kshape = tuple(sz for i, sz in enumerate(shape) if i not in axes)
    r = moveaxis(reshape(r, kshape + (qs.size,)), -1, 0)
    return reshape(r, qs.shape + kshape)


def percentile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
) -> Any:
    if isinstance(q, (int, float)) and not isinstance(q, bool):
        qs: Any = float(q) / 100.0  # a Python scalar stays weakly typed, as in numpy
    else:
        qs = _np.asarray(_concrete(q, "percentile's q"), dtype=float64) / 100.0
    return quantile(a, qs, axis, out, overwrite_input, method, keepdims, weights=weights)


def average(
    a: Any,
    axis: Any = None,
    weights: Any = None,
    returned: bool = False,
    *,
    keepdims: bool = False,
) -> Any:
    """``numpy.average``: ``sum(a * w) / sum(w)`` (1-D weights along ``axis`` broadcast)."""
    a = _operand(a)
    nd = _ndim(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = size(a) // builtins.max(size(avg), 1) if size(a) else 0
        return avg, _np.full(_shape(avg), n, _dtype(avg))
    w = _operand(weights)
    if _shape(w) != _shape(a):
        if axis is None:
            raise TypeError("Axis must be specified when shapes of a and weights differ.")
        if _ndim(w) != 1:
            raise TypeError("1D weights expected when shapes of a and weights differ.")
        ax = _norm_axis(axis, nd)
        if _shape(w)[0] != _shape(a)[ax]:
            raise ValueError("Length of weights not compatible with specified axis.")
        w = reshape(w, tuple(_shape(w)[0] if i == ax else 1 for i in range(nd)))
    rdt = result_type(a, w)
    if rdt.kind in "iub":
        rdt = result_type(rdt, float64)
    scl = sum(astype(w, rdt), axis=axis, keepdims=keepdims)
    avg = divide(sum(multiply(astype(a, rdt), astype(w, rdt)), axis=axis, keepdims=keepdims), scl)
    if not returned:
        return avg
    return avg, broadcast_to(scl, _shape(avg))


def nansum(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    _no_out(out, "nansum")
    return sum(_nan_fill(_operand(a), 0), axis=axis, dtype=dtype, keepdims=keepdims)


def nanprod(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    return prod(_nan_fill(_operand(a), 1), axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def _nan_count(a: Any, axis: Any, keepdims: bool) -> Any:
    return sum(astype(logical_not(isnan(a)), _dtype(a)), axis=axis, keepdims=keepdims)


def nanmean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
) -> Any:
    """Mean over the non-NaN entries; NaN entries get zero gradient."""
    _no_out(out, "nanmean")
    a = _operand(a)
    if not _is_float(a):
        return mean(a, axis=axis, dtype=dtype, keepdims=keepdims)
    if dtype is not None:
        a = astype(a, dtype)
    return divide(nansum(a, axis=axis, keepdims=keepdims), _nan_count(a, axis, keepdims))


def nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    _no_out(out, "nanvar")
    a = _operand(a)
    if not _is_float(a):
        return var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    if dtype is not None:
        a = astype(a, dtype)
    centered = _nan_fill(subtract(a, nanmean(a, axis=axis, keepdims=True)), 0)
    ssq = sum(square(centered), axis=axis, keepdims=keepdims)
    return divide(ssq, subtract(_nan_count(a, axis, keepdims), ddof))


def nanstd(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: bool = False,
) -> Any:
    return sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims))


def _nan_extremum(f: Any, fill: float, a: Any, axis: Any, out: Any, keepdims: bool) -> Any:
    _no_out(out, f.__name__)
    a = _operand(a)
    if not _is_float(a):
        return f(a, axis=axis, keepdims=keepdims)
    r = f(where(isnan(a), fill, a), axis=axis, keepdims=keepdims)
    return where(all(isnan(a), axis=axis, keepdims=keepdims), _np.nan, r)


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return _nan_extremum(max, -_np.inf, a, axis, out, keepdims)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    return _nan_extremum(min, _np.inf, a, axis, out, keepdims)


# --- shapes, part A --------------------------------------------------------------------
def _one_or_tuple(xs: list[Any]) -> Any:
    return xs[0] if len(xs) == 1 else tuple(xs)


def atleast_3d(*arys: Any) -> Any:
    out = []
    for a in arys:
        a = _operand(a)
        s = _shape(a)
        if len(s) == 0:
            a = reshape(a, (1, 1, 1))
        elif len(s) == 1:
            a = reshape(a, (1, s[0], 1))
        elif len(s) == 2:
            a = reshape(a, s + (1,))
        out.append(a)
    return _one_or_tuple(out)


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    a = _operand(a)
    n = _ndim(a)
    ax = _norm_axis(axis, n)
    st = start + n if start < 0 else start
    if not 0 <= st < n + 1:
        raise _np.exceptions.AxisError(f"start arg requires {-n} <= start < {n + 1}, got {start}")
    if ax < st:
        st -= 1
    if ax == st:
        return a
    order = [i for i in range(n) if i != ax]
    order.insert(st, ax)
    return _st.transpose(a, tuple(order))


def broadcast_arrays(*args: Any) -> tuple[Any, ...]:
    xs = [_operand(a) for a in args]
    shape = _np.broadcast_shapes(*[_shape(x) for x in xs])
    return tuple(broadcast_to(x, shape) for x in xs)


def tile(A: Any, reps: Any) -> Any:
    a = _operand(A)
    reps_t = (
        (operator.index(reps),)
        if not isinstance(reps, (tuple, list))
        else tuple(operator.index(r) for r in reps)
    )
    d = builtins.max(len(reps_t), _ndim(a))
    shape = (1,) * (d - _ndim(a)) + _shape(a)
    reps_t = (1,) * (d - len(reps_t)) + reps_t
    big = tuple(v for r, s in zip(reps_t, shape) for v in (r, s))
    x = _st.broadcast_in_dim(reshape(a, shape), big, tuple(range(1, 2 * d, 2)))
    return reshape(x, tuple(r * s for r, s in zip(reps_t, shape)))


def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """``numpy.repeat``: an int count by broadcasting; per-element counts (concrete) by
    gathering."""
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    shape = _shape(a)
    reps = _np.asarray(_concrete(repeats, "repeat's repeats"))
    if reps.ndim == 0 or reps.size == 1:
        r = int(reps.reshape(()))
        if r < 0:
            raise ValueError("negative dimensions are not allowed")
        big = shape[: ax + 1] + (r,) + shape[ax + 1 :]
        dims = tuple(i for i in range(len(shape) + 1) if i != ax + 1)
        x = _st.broadcast_in_dim(a, big, dims)
        return reshape(x, shape[:ax] + (shape[ax] * r,) + shape[ax + 1 :])
    idx = _np.repeat(_np.arange(shape[ax]), reps)
    return take(a, idx, axis=ax)


def flip(m: Any, axis: Any = None) -> Any:
    m = _operand(m)
    nd = _ndim(m)
    axes = _norm_axes(axis, nd)
    if not axes:
        return m
    return _st.getitem(
        m, Index(Slice(None, None, -1) if i in axes else Slice(None, None, None) for i in range(nd))
    )


def fliplr(m: Any) -> Any:
    if _ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    if _ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    a = _operand(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    nd = _ndim(a)
    shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    pairs = _np.broadcast_arrays(_np.asarray(shifts), _np.asarray(axes))
    total: dict[int, int] = {}
    for s, ax in zip(pairs[0].ravel(), pairs[1].ravel()):
        k = _norm_axis(int(ax), nd)
        total[k] = total.get(k, 0) + int(s)
    for ax, s in total.items():
        n = _shape(a)[ax]
        s = s % n if n else 0
        if s:
            tail = _st.getitem(a, _nx.axis_index(nd, ax, Slice(n - s, None, None)))
            head = _st.getitem(a, _nx.axis_index(nd, ax, Slice(None, n - s, None)))
            a = _st.concatenate([tail, head], ax)
    return a


def rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    m = _operand(m)
    nd = _ndim(m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    a0, a1 = _norm_axis(axes[0], nd), _norm_axis(axes[1], nd)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return _st.transpose(flip(m, a1), tuple(perm))
    return flip(_st.transpose(m, tuple(perm)), a1)


def _split_at(a: Any, bounds: list[int], ax: int) -> list[Any]:
    nd = _ndim(a)
    n = _shape(a)[ax]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        lo_, hi_ = builtins.min(lo, n), builtins.min(builtins.max(hi, lo), n)
        out.append(_st.getitem(a, _nx.axis_index(nd, ax, Slice(lo_, hi_, None))))
    return out


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    a = _operand(ary)
    ax = _norm_axis(axis, _ndim(a))
    n = _shape(a)[ax]
    if isinstance(indices_or_sections, (int, _np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = n // k, n % k
        sizes = [each + 1] * extra + [each] * (k - extra)
        bounds = [0] + list(_np.cumsum(sizes))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
        bounds = [b + n if b < 0 else b for b in bounds]
    return _split_at(a, [int(b) for b in bounds], ax)


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    if isinstance(indices_or_sections, (int, _np.integer)):
        n = _shape(ary)[_norm_axis(axis, _ndim(ary))]
        if n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if _ndim(ary) > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def dstack(tup: Sequence[Any]) -> Any:
    arrs = [atleast_3d(x) for x in tup]
    return concatenate(arrs, axis=2)


def column_stack(tup: Sequence[Any]) -> Any:
    arrs = []
    for x in tup:
        x = _operand(x)
        arrs.append(reshape(x, (-1, 1)) if _ndim(x) < 2 else x)
    return concatenate(arrs, axis=1)


def append(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    a = _operand(arr)
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    keep = _np.delete(_np.arange(_shape(a)[ax]), _concrete(obj, "delete's obj"))
    return take(a, keep, axis=ax)


_PAD_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """``numpy.pad`` in modes constant, edge, reflect, symmetric and wrap. The index-based
    modes gather with numpy's own index map (``np.pad(np.arange(n), ...)``)."""
    a = _operand(array)
    nd = _ndim(a)
    widths = _np.broadcast_to(_np.asarray(pad_width, dtype=_np.intp), (nd, 2))
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    if mode == "constant":
        cvals = _np.broadcast_to(_np.asarray(kwargs.pop("constant_values", 0)), (nd, 2))
    elif mode in _PAD_INDEX_MODES:
        if kwargs.pop("reflect_type", "even") != "even":
            raise NotImplementedError("pad: reflect_type='odd' is not supported")
    else:
        raise NotImplementedError(
            f"pad mode {mode!r} is not supported by funcgrad.numpy; use one of constant, "
            + ", ".join(_PAD_INDEX_MODES)
        )
    if kwargs:
        raise TypeError(f"pad got unsupported keyword arguments {sorted(kwargs)}")
    dt = _dtype(a)
    for ax in range(nd):
        lo, hi = int(widths[ax, 0]), int(widths[ax, 1])
        if not lo and not hi:
            continue
        if mode == "constant":
            parts = []
            for w, c in ((lo, cvals[ax, 0]), (0, None), (hi, cvals[ax, 1])):
                if c is None:
                    parts.append(a)
                elif w:
                    shp = list(_shape(a))
                    shp[ax] = w
                    parts.append(_np.full(shp, c, dt))
            a = _st.concatenate(parts, ax)
        else:
            n = _shape(a)[ax]
            if n == 0:
                raise ValueError(f"can't extend empty axis {ax} using modes other than 'constant'")
            a = take(a, _np.pad(_np.arange(n), (lo, hi), mode=mode), axis=ax)
    return a


def _tri_mask(shape: tuple[int, ...], k: int, lower: bool) -> Any:
    n, m = shape[-2], shape[-1]
    mask = _np.tri(n, m, k, dtype=bool)
    return mask if lower else ~_np.tri(n, m, k - 1, dtype=bool)


def _tri(m: Any, k: int, lower: bool) -> Any:
    m = _operand(m)
    s = _shape(m)
    if len(s) < 2:
        m = broadcast_to(m, (s[0], s[0])) if len(s) == 1 else m
        s = _shape(m)
    zero = _np.zeros((), _dtype(m))
    return bind(_ew.select_p, _tri_mask(s, operator.index(k), lower), m, zero)


def tril(m: Any, k: int = 0) -> Any:
    return _tri(m, k, True)


def triu(m: Any, k: int = 0) -> Any:
    return _tri(m, k, False)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """``numpy.diagonal`` as one strided slice of the flattened matrix axes."""
    a = _operand(a)
    nd = _ndim(a)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    i, j = _norm_axis(axis1, nd), _norm_axis(axis2, nd)
    if i == j:
        raise ValueError("axis1 and axis2 cannot be the same")
    rest = [d for d in range(nd) if d not in (i, j)]
    x = _st.transpose(a, tuple(rest + [i, j]))
    s = _shape(x)
    n, m = s[-2], s[-1]
    k = operator.index(offset)
    length = builtins.max(0, builtins.min(n, m - k) if k >= 0 else builtins.min(n + k, m))
    flat = reshape(x, s[:-2] + (n * m,))
    start = k if k >= 0 else -k * m
    stop = start + (length - 1) * (m + 1) + 1 if length else start
    return _st.getitem(flat, _nx.axis_index(len(s) - 1, len(s) - 2, Slice(start, stop, m + 1)))


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    _no_out(out, "trace")
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v: Any, k: int = 0) -> Any:
    """``numpy.diag``: the k-th diagonal of a matrix, or a matrix with ``v`` on it."""
    v = _operand(v)
    nd = _ndim(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    k = operator.index(k)
    n = _shape(v)[0]
    size_ = n + builtins.abs(k)
    start = k if k >= 0 else -k * size_
    idx = Index((Slice(start, start + (n - 1) * (size_ + 1) + 1 if n else start, size_ + 1),))
    return reshape(_st.scatter_add(v, idx, (size_ * size_,)), (size_, size_))


def diagflat(v: Any, k: int = 0) -> Any:
    return diag(ravel(v), k)


# --- gathering and sorting ----------------------------------------------------------------
def _index_operand(idx: Any) -> Any:
    if type(idx) is Tracer:
        if idx.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be of integer type, got {idx.aval}")
        return idx
    i = _np.asarray(idx)
    if i.dtype.kind not in "iu":
        if i.size == 0:
            return i.astype(_np.intp)
        raise IndexError(f"arrays used as indices must be of integer type, got {i.dtype}")
    return i


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``numpy.take_along_axis``; indices may be concrete or traced integers. The gradient
    scatter-adds (repeated indices accumulate)."""
    a = _operand(arr)
    idx = _index_operand(indices)
    if axis is None:
        return take_along_axis(ravel(a), ravel(idx), 0)
    if _ndim(idx) != _ndim(a):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return _nx.take_along_axis(a, idx, _norm_axis(axis, _ndim(a)))


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """``numpy.take`` (indices concrete or traced integers)."""
    _no_out(out, "take")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    nd = _ndim(a)
    ax = _norm_axis(axis, nd)
    idx = _index_operand(indices)
    n = _shape(a)[ax]
    if mode == "wrap":
        idx = remainder(idx, n)
    elif mode == "clip":
        idx = clip(idx, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap', got {mode!r}")
    ishape = _shape(idx)
    m = 1
    for s in ishape:
        m *= s
    flat = reshape(idx, tuple(m if d == ax else 1 for d in range(nd)))
    shape = _shape(a)
    if m and type(idx) is not Tracer and n == 0:
        raise IndexError(f"cannot do a non-empty take from an empty axes (axis {ax})")
    got = (
        _nx.take_along_axis(a, flat, ax)
        if m
        else _np.zeros(shape[:ax] + (0,) + shape[ax + 1 :], _dtype(a))
    )
    return reshape(got, shape[:ax] + ishape + shape[ax + 1 :])


def _sort_kind(kind: Any, stable: Any) -> Any:
    return "stable" if stable else kind


def argsort(
    a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
) -> Any:
    """``numpy.argsort`` (integer result: no derivative)."""
    if order is not None:
        raise NotImplementedError("argsort: order= (structured arrays) is not supported")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    return _nx.argsort(a, _norm_axis(axis, _ndim(a)), _sort_kind(kind, stable))


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None) -> Any:
    """``numpy.sort`` as ``take_along_axis(a, argsort(a))``: the gradient flows back through
    the permutation (ties: to the element numpy's stable order puts first)."""
    if order is not None:
        raise NotImplementedError("sort: order= (structured arrays) is not supported")
    a = _operand(a)
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    return _nx.take_along_axis(a, _nx.argsort(a, ax, "stable"), ax)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """``numpy.searchsorted`` (integer result: no derivative)."""
    a = _operand(a)
    if sorter is not None:
        a = take(a, sorter)
    return _nx.searchsorted(a, _operand(v), side)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [_operand(c) for c in condlist]
    for i, c in enumerate(conds):
        if _dtype(c) != bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    choices = [_operand(c) for c in choicelist]
    dt = result_type(*choices, default)  # a Python scalar default is weakly typed, as numpy
    out = astype(_operand(default), dt)
    for c, x in zip(reversed(conds), reversed(choices)):
        out = bind(_ew.select_p, c, astype(x, dt), out)
    shape = _np.broadcast_shapes(*[_shape(x) for x in conds + choices], _shape(out))
    return broadcast_to(out, shape)


# --- products, part A ----------------------------------------------------------------------
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``numpy.tensordot`` by transposing and reshaping to one matmul."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, _np.integer)):
        k = int(axes)
        if k < 0:
            raise ValueError("tensordot: axes must be non-negative")
        ax_a, ax_b = list(range(na - k, na)), list(range(k))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, _np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, _np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError("shape-mismatch for sum")
        ax_a = [_norm_axis(i, na) for i in ax_a]
        ax_b = [_norm_axis(i, nb) for i in ax_b]
    sa, sb = _shape(a), _shape(b)
    for i, j in zip(ax_a, ax_b):
        if sa[i] != sb[j]:
            raise ValueError("shape-mismatch for sum")
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [j for j in range(nb) if j not in ax_b]
    k = 1
    for i in ax_a:
        k *= sa[i]
    a2 = reshape(_st.transpose(a, tuple(free_a + ax_a)), (-1, k))
    b2 = reshape(_st.transpose(b, tuple(ax_b + free_b)), (k, -1))
    return reshape(matmul(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b))


def _einsum_normalize(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[str, list[Any]]:
    """Explicit letters-only subscripts (ellipses expanded, implicit output made explicit)
    and, per operand, the shape each one must be broadcast to (or None)."""
    spec = subscripts.replace(" ", "")
    ins_s, out_s = (spec.split("->") + [None])[:2] if "->" in spec else (spec, None)
    ins = ins_s.split(",")
    if len(ins) != len(shapes):
        raise ValueError(
            f"einsum: {len(ins)} operand subscripts in {subscripts!r} for {len(shapes)} operands"
        )
    for s in ins + ([out_s] if out_s is not None else []):
        if s.count("...") > 1 or builtins.any(
            c not in string.ascii_letters for c in s.replace("...", "")
        ):
            raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
    free = [c for c in string.ascii_letters if c not in spec]
    n_ell = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n_ell = builtins.max(n_ell, len(shp) - (len(s) - 3))
    ell = "".join(free[:n_ell])
    new_ins = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            k = len(shp) - (len(s) - 3)
            if k < 0:
                raise ValueError(f"einsum: operand of shape {shp} has too few axes for {s!r}")
            s = s.replace("...", ell[n_ell - k :])
        if len(s) != len(shp):
            raise ValueError(f"einsum: subscripts {s!r} do not match an operand of rank {len(shp)}")
        new_ins.append(s)
    if out_s is None:
        counts = "".join(ins).replace("...", "")
        out_s = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    else:
        out_s = out_s.replace("...", ell)
    sizes: dict[str, int] = {}
    for s, shp in zip(new_ins, shapes):
        for c, n in zip(s, shp):
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise ValueError(
                    f"einsum: operands could not be broadcast together: subscript {c!r} has "
                    f"sizes {sizes[c]} and {n}"
                )
            if n != 1 or c not in sizes:
                sizes[c] = n
    targets = []
    for s, shp in zip(new_ins, shapes):
        want = tuple(sizes[c] for c in s)
        targets.append(None if want == tuple(shp) else want)
    return ",".join(new_ins) + "->" + out_s, targets


def einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    """``numpy.einsum`` with a subscript string (explicit or implicit output, ellipses,
    broadcasting, repeated letters for diagonals/traces). One ``einsum`` primitive: its VJP
    and JVP are einsums, its batching rule adds a letter."""
    _no_out(out, "einsum")
    if kwargs.get("dtype") is not None or kwargs.get("casting", "safe") != "safe":
        raise NotImplementedError("einsum: dtype= and casting= are not supported")
    if not operands or not isinstance(operands[0], str):
        raise NotImplementedError(
            "einsum: only the subscript-string form einsum('ij,jk->ik', a, b) is supported"
        )
    ops = [_operand(o) for o in operands[1:]]
    ops = [o if _is_tracer(o) or isinstance(o, _np.ndarray) else _np.asarray(o) for o in ops]
    spec, targets = _einsum_normalize(operands[0], [_shape(o) for o in ops])
    ops = [o if t is None else _st.broadcast_to(o, t) for o, t in zip(ops, targets)]
    return _nx.einsum(spec, *ops)


def kron(a: Any, b: Any) -> Any:
    a, b = _operand(a), _operand(b)
    nd = builtins.max(_ndim(a), _ndim(b))
    sa = (1,) * (nd - _ndim(a)) + _shape(a)
    sb = (1,) * (nd - _ndim(b)) + _shape(b)
    a2 = reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    """``numpy.cross`` of 3-vectors (2-vectors are deprecated in numpy 2 and not supported)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(_operand(a), axisa, -1)
    b = moveaxis(_operand(b), axisb, -1)
    if _shape(a)[-1] != 3 or _shape(b)[-1] != 3:
        raise ValueError("funcgrad.numpy.cross supports 3-vectors only (dimension must be 3)")
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    c = stack(
        broadcast_arrays(
            subtract(multiply(a1, b2), multiply(a2, b1)),
            subtract(multiply(a2, b0), multiply(a0, b2)),
            subtract(multiply(a0, b1), multiply(a1, b0)),
        ),
        axis=-1,
    )
    return moveaxis(c, -1, axisc)


def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Any:
    """``numpy.isclose`` (boolean result: no derivative)."""
    x, y = _operand(a), _operand(b)
    close = less_equal(abs(subtract(x, y)), add(atol, multiply(rtol, abs(y))))
    out = logical_or(logical_and(close, isfinite(y)), equal(x, y))
    if equal_nan:
        out = logical_or(out, logical_and(isnan(x), isnan(y)))
    return out


def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Any:
    return all(isclose(a, b, rtol, atol, equal_nan))


def interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    """``numpy.interp``: piecewise-linear interpolation, differentiable in ``x``, ``xp`` and
    ``fp`` (the derivative in ``x`` jumps at the knots)."""
    if period is not None:
        raise NotImplementedError("interp: period= is not supported")
    x, xp, fp = _operand(x), _operand(xp), _operand(fp)
    if _ndim(xp) != 1 or _shape(xp) != _shape(fp):
        raise ValueError("fp and xp are not of the same length.")
    n = _shape(xp)[0]
    if n == 0:
        raise ValueError("array of sample points is empty")
    rt = result_type(x, xp, fp, float64)
    x, xp, fp = astype(x, rt), astype(xp, rt), astype(fp, rt)
    if n == 1:
        y = broadcast_to(fp[0], _shape(x))
    else:
        j = clip(subtract(searchsorted(xp, x, side="right"), 1), 0, n - 2)
        x0, x1 = take(xp, j), take(xp, add(j, 1))
        y0, y1 = take(fp, j), take(fp, add(j, 1))
        y = add(multiply(divide(subtract(y1, y0), subtract(x1, x0)), subtract(x, x0)), y0)
        y = where(equal(x, xp[n - 1]), fp[n - 1], y)
    y = where(less(x, xp[0]), fp[0] if left is None else left, y)
    return where(greater(x, xp[n - 1]), fp[n - 1] if right is None else right, y)


def _convolve_full(a: Any, v: Any) -> Any:
    n, m = _shape(a)[0], _shape(v)[0]
    ap = pad(a, (m - 1, m - 1))
    k, j = _np.ogrid[: n + m - 1, :m]
    windows = take(ap, k - j + m - 1)  # windows[k, j] = a[k - j]
    return matmul(windows, v)


def _conv_mode(full: Any, n: int, m: int, mode: str) -> Any:
    lo, hi = builtins.min(n, m), builtins.max(n, m)
    if mode == "full":
        return full
    if mode == "same":
        s = (lo - 1) // 2
        return full[s : s + hi]
    if mode == "valid":
        return full[lo - 1 : hi]
    raise ValueError(f"mode must be one of 'full', 'same', or 'valid', got {mode!r}")


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``numpy.convolve`` of 1-D arrays, as a gather of sliding windows and a matmul."""
    a, v = _operand(a), _operand(v)
    if _ndim(a) != 1 or _ndim(v) != 1:
        raise ValueError("object too deep for desired array")
    n, m = _shape(a)[0], _shape(v)[0]
    if n == 0 or m == 0:
        raise ValueError("a cannot be empty" if n == 0 else "v cannot be empty")
    return _conv_mode(_convolve_full(a, v), n, m, mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """``numpy.correlate`` of real 1-D arrays: ``convolve(a, v[::-1], mode)`` (numpy swaps
    the operands and reverses the result when ``v`` is the longer one)."""
    a, v = _operand(a), _operand(v)
    if _ndim(a) == 1 and _ndim(v) == 1 and _shape(a)[0] < _shape(v)[0]:
        return flip(convolve(v, flip(a), mode))
    return convolve(a, flip(v), mode)


# --- creation, part A (concrete) ----------------------------------------------------------
tri = _np.tri
tril_indices = _np.tril_indices
triu_indices = _np.triu_indices
diag_indices = _np.diag_indices
indices = _np.indices
geomspace = _np.geomspace
logspace = _np.logspace


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> Any:
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    xs = [ravel(_operand(x)) for x in xi]
    nd = len(xs)
    shapes = [_shape(x)[0] for x in xs]
    if indexing == "xy" and nd > 1:
        shapes[0], shapes[1] = shapes[1], shapes[0]
    out = []
    for i, x in enumerate(xs):
        pos = i
        if indexing == "xy" and nd > 1 and i < 2:
            pos = 1 - i
        shp = tuple(_shape(x)[0] if d == pos else 1 for d in range(nd))
        x = reshape(x, shp)
        out.append(x if sparse else broadcast_to(x, tuple(shapes)))
    return tuple(out)


def _ufunc_reduce(f: Any) -> Any:
    def reduce(
        a: Any, axis: Any = 0, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        _no_out(out, "reduce")
        if dtype is not None:
            a = astype(a, dtype)
        return f(a, axis=axis, keepdims=keepdims)

    return reduce


def _ufunc_accumulate(f: Any) -> Any:
    def accumulate(a: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        return f(a, axis=axis, dtype=dtype, out=out)

    return accumulate


def _no_inplace_sort(self: Tracer, *args: Any, **kwargs: Any) -> None:
    raise TracerConversionError(
        "x.sort() sorts in place, which traced values cannot do; use x = fnp.sort(x) "
        "(or np.sort(x))"
    )


def _install_extra_tracer_methods() -> None:
    """Operators and methods for part A of the numpy surface (kept apart from the core list)."""
    T = Tracer
    T.__mod__ = lambda s, o: remainder(s, o)
    T.__rmod__ = lambda s, o: remainder(o, s)
    T.__floordiv__ = lambda s, o: floor_divide(s, o)
    T.__rfloordiv__ = lambda s, o: floor_divide(o, s)
    T.__divmod__ = lambda s, o: divmod(s, o)
    T.__rdivmod__ = lambda s, o: divmod(o, s)
    T.__xor__ = lambda s, o: logical_xor(s, o)
    T.__rxor__ = lambda s, o: logical_xor(o, s)
    T.__round__ = lambda s, ndigits=None: round(s, ndigits or 0)
    T.prod = prod
    T.cumsum = cumsum
    T.cumprod = cumprod
    T.all = all
    T.any = any
    T.repeat = repeat
    T.take = take
    T.diagonal = diagonal
    if "trace" not in T.__dict__:  # the tracer's own Trace lives in the `_trace` slot
        T.trace = trace
    T.round = round
    T.argsort = argsort
    T.sort = _no_inplace_sort


# --- numpy protocol dispatch for tracers ------------------------------------------------
_UFUNCS = {
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "divide": divide,
    "true_divide": divide,
    "negative": negative,
    "positive": positive,
    "power": power,
    "exp": exp,
    "log": log,
    "log1p": log1p,
    "expm1": expm1,
    "sin": sin,
    "cos": cos,
    "tan": tan,
    "tanh": tanh,
    "arctan": arctan,
    "sqrt": sqrt,
    "absolute": abs,
    "sign": sign,
    "maximum": maximum,
    "minimum": minimum,
    "less": less,
    "less_equal": less_equal,
    "greater": greater,
    "greater_equal": greater_equal,
    "equal": equal,
    "not_equal": not_equal,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "logical_not": logical_not,
    "square": square,
    "reciprocal": reciprocal,
    "matmul": matmul,
}
_UFUNC_REDUCE = {"add": sum, "maximum": max, "minimum": min}
# numpy surface, part A
_UFUNCS.update(
    {
        "arcsin": arcsin,
        "arccos": arccos,
        "arctanh": arctanh,
        "sinh": sinh,
        "cosh": cosh,
        "arcsinh": arcsinh,
        "arccosh": arccosh,
        "log2": log2,
        "log10": log10,
        "exp2": exp2,
        "cbrt": cbrt,
        "logaddexp": logaddexp,
        "logaddexp2": logaddexp2,
        "hypot": hypot,
        "arctan2": arctan2,
        "reciprocal": reciprocal,
        "float_power": float_power,
        "fmax": fmax,
        "fmin": fmin,
        "remainder": remainder,
        "fmod": fmod,
        "floor_divide": floor_divide,
        "divmod": divmod,
        "heaviside": heaviside,
        "floor": floor,
        "ceil": ceil,
        "rint": rint,
        "trunc": trunc,
        "isnan": isnan,
        "isinf": isinf,
        "isfinite": isfinite,
        "signbit": signbit,
        "deg2rad": deg2rad,
        "rad2deg": rad2deg,
        "radians": radians,
        "degrees": degrees,
        "logical_xor": logical_xor,
        "fabs": fabs,
    }
)
_UFUNC_REDUCE = {
    name: _ufunc_reduce(f)
    for name, f in {
        **_UFUNC_REDUCE,
        "multiply": prod,
        "logical_and": all,
        "logical_or": any,
        "fmax": nanmax,
        "fmin": nanmin,
    }.items()
}
_UFUNC_ACCUMULATE = {"add": _ufunc_accumulate(cumsum), "multiply": _ufunc_accumulate(cumprod)}


def _array_ufunc(self: Tracer, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if kwargs.get("out") is not None:
        raise TracerConversionError(
            f"numpy.{ufunc.__name__} with out= (or an in-place operator such as +=) would write "
            "a traced value into a numpy array, which cannot be traced. Write it functionally: "
            "a = a + x, or use x.at[idx].set(v) for indexed updates."
        )
    kwargs.pop("out", None)
    name = ufunc.__name__
    if method == "__call__":
        f = _UFUNCS.get(name)
        if f is not None and not kwargs:
            return f(*inputs)
    elif (
        method == "reduce"
        and name in _UFUNC_REDUCE
        and builtins.set(kwargs) <= {"axis", "keepdims", "dtype"}
    ):
        return _UFUNC_REDUCE[name](*inputs, **kwargs)
    elif (
        method == "accumulate"
        and name in _UFUNC_ACCUMULATE
        and builtins.set(kwargs) <= {"axis", "dtype"}
    ):
        return _UFUNC_ACCUMULATE[name](*inputs, **kwargs)
    raise TypeError(
        f"numpy.{name}{'' if method == '__call__' else '.' + method} is not supported on "
        f"funcgrad traced values{' with arguments ' + str(sorted(kwargs)) if kwargs else ''}. "
        "See funcgrad.numpy for the supported functions."
    )


def _array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    mod = getattr(func, "__module__", "") or ""
    name = func.__name__
    target = None
    if mod.startswith("numpy.linalg"):
        from funcgrad.numpy import linalg as _fl

        target = getattr(_fl, name, None)
    elif mod == "numpy" or mod.startswith(("numpy._", "numpy.lib", "numpy.core")):
        target = _FUNCTIONS.get(name)
    if target is None:
        public = "numpy" if mod.startswith(("numpy._", "numpy.lib", "numpy.core")) else mod
        raise TypeError(
            f"{public}.{name} is not supported on funcgrad traced values. Use the funcgrad.numpy "
            "equivalent if there is one (see docs), or restructure the computation."
        )
    return target(*args, **kwargs)


def _no_array(self: Tracer, dtype: Any = None, copy: Any = None) -> Any:
    if not self._trace.alive:
        from funcgrad.tracer import _leak_error

        raise _leak_error(self)
    raise TracerConversionError(
        f"Cannot convert a traced value {self.aval} (traced by {self._trace.kind}) to a numpy "
        "array: np.array/np.asarray need concrete data, and converting would silently drop "
        "the derivative. Use funcgrad.numpy instead: fnp.stack([a, b]) instead of "
        "np.array([a, b]), fnp.asarray(x) instead of np.asarray(x)."
    )


def _setitem(self: Tracer, idx: Any, value: Any) -> None:
    raise TracerConversionError(
        "Traced values are immutable: in-place assignment x[idx] = v is not supported. "
        "Use the functional update x = x.at[idx].set(v) (or .add/.multiply) instead."
    )


def _bool(self: Tracer) -> bool:
    if self.val is not None:
        return builtins.bool(self.val)
    kind = self._trace.kind
    if kind == "jit":
        hint = (
            "Use funcgrad.lax.cond / lax.switch / lax.while_loop (or fnp.where) for "
            "value-dependent control flow, or mark the argument as static with "
            "jit(f, static_argnums=...) / static_argnames."
        )
    else:
        hint = "Use fnp.where or funcgrad.lax.cond for value-dependent choices."
    raise ConcretizationError(
        f"Value-dependent Python control flow under {kind}: `if`, `while`, `and`/`or` or bool() "
        f"need a concrete value, but this traced value {self.aval} is abstract. {hint}"
    )


def _float(self: Tracer) -> float:
    raise TracerConversionError(
        f"float()/int() of a traced value {self.aval} would drop its derivative. Keep it as an "
        "array (use it in array operations directly), or use funcgrad.stop_gradient and "
        "return it as an auxiliary output (has_aux=True) to read its value."
    )


def _index(self: Tracer) -> int:
    if self.dtype.kind in "iub" and self.shape == () and self.val is not None:
        return int(self.val)
    raise TracerConversionError(
        f"a traced value {self.aval} cannot be used as a Python integer here "
        "(it is abstract or not an integer); use static_argnums for sizes and indices"
    )


def _format(self: Tracer, spec: str) -> str:
    if self.val is not None:
        return format(self.val, spec)
    return format(repr(self), spec)


def _iter(self: Tracer) -> Any:
    if not self.shape:
        raise TypeError("iteration over a 0-d traced value")
    return (self[i] for i in range(self.shape[0]))


def _len(self: Tracer) -> int:
    if not self.shape:
        raise TypeError("len() of a 0-d traced value")
    return self.shape[0]


def _rpow(self: Tracer, other: Any) -> Any:
    return bind(_ew.pow_p, _operand(other), self)


def _at(self: Tracer) -> Any:
    from funcgrad.numpy._indexing import IndexUpdateHelper

    return IndexUpdateHelper(self)


def _install_tracer_methods() -> None:
    T = Tracer
    T.__add__ = lambda s, o: add(s, o)
    T.__radd__ = lambda s, o: add(o, s)
    T.__sub__ = lambda s, o: subtract(s, o)
    T.__rsub__ = lambda s, o: subtract(o, s)
    T.__mul__ = lambda s, o: multiply(s, o)
    T.__rmul__ = lambda s, o: multiply(o, s)
    T.__truediv__ = lambda s, o: divide(s, o)
    T.__rtruediv__ = lambda s, o: divide(o, s)
    T.__pow__ = lambda s, o: power(s, o)
    T.__rpow__ = _rpow
    T.__matmul__ = lambda s, o: matmul(s, o)
    T.__rmatmul__ = lambda s, o: matmul(o, s)
    T.__neg__ = lambda s: negative(s)
    T.__pos__ = lambda s: s
    T.__abs__ = lambda s: abs(s)
    T.__lt__ = lambda s, o: less(s, o)
    T.__le__ = lambda s, o: less_equal(s, o)
    T.__gt__ = lambda s, o: greater(s, o)
    T.__ge__ = lambda s, o: greater_equal(s, o)
    T.__eq__ = lambda s, o: equal(s, o)  # type: ignore[assignment,method-assign]
    T.__ne__ = lambda s, o: not_equal(s, o)  # type: ignore[assignment,method-assign]
    T.__and__ = lambda s, o: logical_and(s, o)
    T.__or__ = lambda s, o: logical_or(s, o)
    T.__invert__ = lambda s: logical_not(s)
    T.__getitem__ = _getitem
    T.__setitem__ = _setitem
    T.__bool__ = _bool
    T.__float__ = _float
    T.__int__ = _index
    T.__index__ = _index
    T.__complex__ = _float
    T.__format__ = _format
    T.__iter__ = _iter
    T.__len__ = _len
    T.__array__ = _no_array
    T.__array_ufunc__ = _array_ufunc
    T.__array_function__ = _array_function
    T.T = property(lambda s: transpose(s))
    T.mT = property(lambda s: swapaxes(s, -1, -2))
    T.reshape = lambda s, *shape, **kw: reshape(s, *shape, **kw)
    T.transpose = lambda s, *axes: transpose(
        s, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None)
    )
    T.swapaxes = swapaxes
    T.squeeze = squeeze
    T.ravel = ravel
    T.flatten = ravel
    T.astype = astype
    T.sum = sum
    T.mean = mean
    T.max = max
    T.min = min
    T.var = var
    T.std = std
    T.argmax = argmax
    T.argmin = argmin
    T.clip = clip
    T.dot = dot
    T.at = property(_at)


_install_tracer_methods()
_install_extra_tracer_methods()

_FUNCTIONS: dict[str, Any] = {
    name: obj
    for name, obj in list(globals().items())
    if callable(obj) and not name.startswith("_") and not isinstance(obj, type)
}
_FUNCTIONS.update({"shape": shape, "ndim": ndim, "size": size, "result_type": result_type})

from funcgrad.numpy import fft, linalg  # noqa: E402  (fnp.fft, fnp.linalg, as jnp's)
