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
    return divide(1.0, x)


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
            raise ValueError(
                f"zero-size array to reduction operation {name} which has no identity"
            )
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
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return _st.squeeze(a, dims)


def broadcast_to(a: Any, shape: Any) -> Any:
    a = _operand(a)
    shape = (int(shape),) if isinstance(shape, (int, _np.integer)) else tuple(shape)
    try:
        _np.broadcast_shapes(_shape(a), shape)
        if len(shape) < _ndim(a):
            raise ValueError
    except ValueError:
        raise ValueError(f"cannot broadcast an array of shape {_shape(a)} to shape {shape}") from None
    return _st.broadcast_to(a, shape)


def atleast_1d(a: Any) -> Any:
    a = _operand(a)
    return reshape(a, (1,)) if _ndim(a) == 0 else a


def atleast_2d(a: Any) -> Any:
    a = _operand(a)
    nd = _ndim(a)
    return reshape(a, (1,) * (2 - nd) + _shape(a)) if nd < 2 else a


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
                f"stack: all input arrays must have the same shape, got {[_shape(y) for y in arrays]}"
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
zeros = _np.zeros
ones = _np.ones
full = _np.full
empty = _np.zeros  # never hand out uninitialised memory
eye = _np.eye
identity = _np.identity
arange = _np.arange
linspace = _np.linspace


def zeros_like(a: Any, dtype: Any = None) -> Any:
    return _np.zeros(_shape(a), dtype or _dtype(a))


def ones_like(a: Any, dtype: Any = None) -> Any:
    return _np.ones(_shape(a), dtype or _dtype(a))


def full_like(a: Any, fill_value: Any, dtype: Any = None) -> Any:
    return _np.full(_shape(a), fill_value, dtype or _dtype(a))


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
                f"(traced by {x.trace.kind})"
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
    index = _normalize_index(x, idx)
    if builtins.all(isinstance(i, Slice) and i == (None, None, None) for i in index):
        return x
    return _st.getitem(x, index)


# --- numpy protocol dispatch for tracers ------------------------------------------------
_UFUNCS = {
    "add": add, "subtract": subtract, "multiply": multiply, "divide": divide,
    "true_divide": divide, "negative": negative, "positive": positive, "power": power,
    "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sin": sin, "cos": cos,
    "tan": tan, "tanh": tanh, "arctan": arctan, "sqrt": sqrt, "absolute": abs, "sign": sign,
    "maximum": maximum, "minimum": minimum, "less": less, "less_equal": less_equal,
    "greater": greater, "greater_equal": greater_equal, "equal": equal, "not_equal": not_equal,
    "logical_and": logical_and, "logical_or": logical_or, "logical_not": logical_not,
    "square": square, "reciprocal": reciprocal, "matmul": matmul,
}
_UFUNC_REDUCE = {"add": sum, "maximum": max, "minimum": min}


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
    elif method == "reduce" and name in _UFUNC_REDUCE and builtins.set(kwargs) <= {"axis", "keepdims"}:
        return _UFUNC_REDUCE[name](*inputs, **kwargs)
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
    elif mod.startswith("numpy") and not mod.startswith("numpy.random"):
        target = _FUNCTIONS.get(name)
    if target is None:
        raise TypeError(
            f"numpy.{name} is not supported on funcgrad traced values. Use the funcgrad.numpy "
            "equivalent if there is one (see docs), or restructure the computation."
        )
    return target(*args, **kwargs)


def _no_array(self: Tracer, dtype: Any = None, copy: Any = None) -> Any:
    raise TracerConversionError(
        f"Cannot convert a traced value {self.aval} (traced by {self.trace.kind}) to a numpy "
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
    kind = self.trace.kind
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
    T.transpose = lambda s, *axes: transpose(s, axes[0] if len(axes) == 1 and not isinstance(
        axes[0], int) else (axes or None))
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


_install_tracer_methods()

_FUNCTIONS: dict[str, Any] = {
    name: obj
    for name, obj in list(globals().items())
    if callable(obj) and not name.startswith("_") and not isinstance(obj, type)
}
_FUNCTIONS.update({"shape": shape, "ndim": ndim, "size": size, "result_type": result_type})
