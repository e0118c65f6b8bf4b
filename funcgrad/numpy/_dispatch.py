"""How traced values behave like arrays: operators and methods installed on
:class:`~funcgrad.core.tracer.Tracer`, and numpy's ``__array_ufunc__`` /
``__array_function__`` protocols dispatching to this package's functions."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as _np

from funcgrad.core.array import install_array_hooks as _install_array_hooks
from funcgrad.core.errors import ConcretizationError, LocatedTypeError, TracerConversionError
from funcgrad.core.tracer import Tracer, _leak_error, bind
from funcgrad.numpy import (
    _array_api,
    _bitwise,
    _core,
    _creation,
    _elementwise,
    _functional,
    _indices,
    _io,
    _linalg,
    _math,
    _poly,
    _products,
    _reductions,
    _sets,
    _shape,
    _sorting,
    _stats,
    _window,
)
from funcgrad.numpy._core import _operand, astype
from funcgrad.numpy._elementwise import (
    _no_out,
    abs,
    add,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cbrt,
    ceil,
    clip,
    conj,
    cos,
    cosh,
    deg2rad,
    degrees,
    divide,
    divmod,
    equal,
    exp,
    exp2,
    expm1,
    fabs,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    greater,
    greater_equal,
    heaviside,
    hypot,
    imag,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    positive,
    power,
    rad2deg,
    radians,
    real,
    reciprocal,
    remainder,
    rint,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
)
from funcgrad.numpy._getitem import _getitem
from funcgrad.numpy._indexing import IndexUpdateHelper
from funcgrad.numpy._products import dot, matmul
from funcgrad.numpy._reductions import (
    all,
    any,
    argmax,
    argmin,
    cumprod,
    cumsum,
    max,
    mean,
    min,
    nanmax,
    nanmin,
    prod,
    std,
    sum,
    trace,
    var,
)
from funcgrad.numpy._shape import (
    diagonal,
    ravel,
    repeat,
    reshape,
    squeeze,
    swapaxes,
    take,
    transpose,
)
from funcgrad.numpy._sorting import argsort
from funcgrad.primitives import elementwise as _ew

__all__ = []


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
        "conjugate": conj,
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


_UFUNCS.update(
    {
        "bitwise_and": _bitwise.bitwise_and,
        "bitwise_or": _bitwise.bitwise_or,
        "bitwise_xor": _bitwise.bitwise_xor,
        "invert": _bitwise.invert,
        "left_shift": _bitwise.left_shift,
        "right_shift": _bitwise.right_shift,
        "bitwise_count": _bitwise.bitwise_count,
        "gcd": _math.gcd,
        "lcm": _math.lcm,
        "copysign": _math.copysign,
        "nextafter": _math.nextafter,
        "spacing": _math.spacing,
        "ldexp": _math.ldexp,
        "frexp": _math.frexp,
        "modf": _math.modf,
        "vecdot": _array_api.vecdot,
        "matvec": _array_api.matvec,
        "vecmat": _array_api.vecmat,
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
    if getattr(_np, name, None) is not ufunc:  # a ufunc compiled by another library
        raise LocatedTypeError(
            f"the ufunc {name!r} (not numpy's: scipy.special and similar libraries compile their "
            "own) cannot run on funcgrad traced values, since funcgrad cannot see inside it or "
            f"differentiate it. Use funcgrad's version (funcgrad.scipy.special.{name} for "
            "scipy.special) or write it with funcgrad.numpy."
        )
    raise LocatedTypeError(
        f"numpy.{name}{'' if method == '__call__' else '.' + method} is not supported on "
        f"funcgrad traced values{' with arguments ' + str(sorted(kwargs)) if kwargs else ''}. "
        "See funcgrad.numpy for the supported functions."
    )


def _array_function(self: Tracer, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    mod = getattr(func, "__module__", "") or ""
    name = func.__name__
    target = None
    if mod.startswith("numpy.linalg"):
        target = getattr(_linalg, name, None)
    elif mod == "numpy" or mod.startswith(("numpy._", "numpy.lib", "numpy.core")):
        target = _FUNCTIONS.get(name)
    if target is None:
        public = "numpy" if mod.startswith(("numpy._", "numpy.lib", "numpy.core")) else mod
        raise LocatedTypeError(
            f"{public}.{name} is not supported on funcgrad traced values. Use the funcgrad.numpy "
            "equivalent if there is one (see docs), or restructure the computation."
        )
    return target(*args, **kwargs)


def _no_array(self: Tracer, dtype: Any = None, copy: Any = None) -> Any:
    if not self._trace.alive:
        raise _leak_error(self)
    hint = ""
    if self.dtype.kind in "iub":
        if self.val is not None and _np.shape(self.val) == self.shape:
            # Integer and boolean values carry no derivative, so a concrete one (eager grad,
            # jvp, jacrev) converts without losing anything: `table[ix]` with a numpy table.
            return _np.array(self.val, dtype=dtype, copy=True)  # never an alias of it
        hint = (
            " If it is an index into a plain numpy array (`table[ix]` with `table` a numpy "
            "constant and `ix` traced), numpy itself converts the index, which needs a "
            "concrete value (eager grad/jvp have one; jit and vmap do not): index a traced "
            "array instead (pass the table as an argument), or use fnp.take(table, ix, "
            "axis=0) / lax.index_take(table, (ix, iy), (0, 1)), which accept traced indices."
        )
    raise TracerConversionError(
        f"Cannot convert a traced value {self.aval} (traced by {self._trace.kind}) to a numpy "
        "array: np.array/np.asarray need concrete data, and converting would silently drop "
        "the derivative. Use funcgrad.numpy instead: fnp.stack([a, b]) instead of "
        "np.array([a, b]), fnp.asarray(x) instead of np.asarray(x)." + hint
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
        f"float()/int() of a traced value {self.aval} would drop its derivative (the math "
        "module's functions, such as math.exp(x), call float(x) too, and so does writing it "
        "into a numpy array, a[i] = x). Keep it as an array: use funcgrad.numpy (fnp.exp "
        "instead of math.exp, a.at[i].set(x) or fnp.stack instead of a[i] = x), or use "
        "funcgrad.stop_gradient and return it as an auxiliary output (has_aux=True) to read "
        "its value."
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
        raise LocatedTypeError("iteration over a 0-d traced value")
    return (self[i] for i in range(self.shape[0]))


def _len(self: Tracer) -> int:
    if not self.shape:
        raise LocatedTypeError("len() of a 0-d traced value")
    return self.shape[0]


def _rpow(self: Tracer, other: Any) -> Any:
    return bind(_ew.pow_p, _operand(other), self)


def _at(self: Tracer) -> Any:
    return IndexUpdateHelper(self)


def _bitop(logical: Any, bitwise: Any, x: Any, y: Any) -> Any:
    """``&``, ``|``, ``^`` as numpy: logical on two booleans (the same values as bitwise, and
    the primitives jit already simplifies), bitwise on integers; floats raise TypeError."""
    if _core._dtype(x) == _np.bool_ and _core._dtype(y) == _np.bool_:
        return logical(x, y)
    return bitwise(x, y)


_PASS = frozenset({Tracer, float, int, bool, complex})  # what _operand returns unchanged


def _arith(prim: Any) -> tuple[Any, Any]:
    """``(op, rop)``: a binary operator and its reflected form for ``prim``; the other operand
    passes through ``_operand`` (lists become arrays, strings are refused) unless traced."""

    def op(s: Tracer, o: Any) -> Any:
        return bind(prim, s, o if type(o) in _PASS else _operand(o))

    def rop(s: Tracer, o: Any) -> Any:
        return bind(prim, o if type(o) in _PASS else _operand(o), s)

    op.__name__ = rop.__name__ = prim.name
    return op, rop


def _pow(s: Tracer, o: Any) -> Any:
    if type(o) is int:  # x ** 2: the integer_pow primitive, as in fnp.power
        return bind(_ew.integer_pow_p, s, y=o)
    return power(s, o)


def _install_tracer_methods() -> None:
    T = Tracer
    # Arithmetic operators bind directly (one frame less than calling fnp.add and friends,
    # which they equal: tests/test_eager_fast_paths.py compares them).
    T.__add__, T.__radd__ = _arith(_ew.add_p)
    T.__sub__, T.__rsub__ = _arith(_ew.sub_p)
    T.__mul__, T.__rmul__ = _arith(_ew.mul_p)
    T.__truediv__, T.__rtruediv__ = _arith(_ew.div_p)
    T.__pow__ = _pow
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
    T.__and__ = lambda s, o: _bitop(logical_and, _bitwise.bitwise_and, s, o)
    T.__rand__ = lambda s, o: _bitop(logical_and, _bitwise.bitwise_and, o, s)
    T.__or__ = lambda s, o: _bitop(logical_or, _bitwise.bitwise_or, s, o)
    T.__ror__ = lambda s, o: _bitop(logical_or, _bitwise.bitwise_or, o, s)
    T.__invert__ = lambda s: logical_not(s) if s.dtype == _np.bool_ else _bitwise.invert(s)
    T.__lshift__ = lambda s, o: _bitwise.left_shift(s, o)
    T.__rlshift__ = lambda s, o: _bitwise.left_shift(o, s)
    T.__rshift__ = lambda s, o: _bitwise.right_shift(s, o)
    T.__rrshift__ = lambda s, o: _bitwise.right_shift(o, s)
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
    T.__mod__ = lambda s, o: remainder(s, o)
    T.__rmod__ = lambda s, o: remainder(o, s)
    T.__floordiv__ = lambda s, o: floor_divide(s, o)
    T.__rfloordiv__ = lambda s, o: floor_divide(o, s)
    T.__divmod__ = lambda s, o: divmod(s, o)
    T.__rdivmod__ = lambda s, o: divmod(o, s)
    T.__xor__ = lambda s, o: _bitop(logical_xor, _bitwise.bitwise_xor, s, o)
    T.__rxor__ = lambda s, o: _bitop(logical_xor, _bitwise.bitwise_xor, o, s)
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
    T.real = property(lambda s: real(s))
    T.imag = property(lambda s: imag(s))
    T.conj = lambda s: conj(s)
    T.conjugate = lambda s: conj(s)


_install_tracer_methods()
_install_array_hooks(_at, _getitem)


# numpy function name -> the funcgrad.numpy function that __array_function__ dispatches to
_FUNCTIONS: dict[str, Any] = {
    name: obj
    for m in (
        _core,
        _elementwise,
        _shape,
        _creation,
        _sorting,
        _reductions,
        _products,
        _bitwise,
        _math,
        _indices,
        _sets,
        _stats,
        _poly,
        _window,
        _functional,
        _array_api,
        _io,
    )
    for name in m.__all__
    if callable(obj := getattr(m, name)) and not isinstance(obj, type)
}
