"""Elementwise primitives (numpy broadcasting between operands).

For an elementwise primitive the Jacobian is diagonal, so one per-operand rule
``lin(c, ans, *args)`` — "multiply ``c`` by ∂ans/∂arg" — serves as both the VJP (c = output
cotangent) and the JVP (c = input tangent); broadcasting is undone by the interpreters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import (
    Primitive,
    broadcast_shapes,
    define,
    is_one_const,
    is_zero_const,
    ufunc_dtype,
)
from funcgrad.primitives.structural import moveaxis_to_front, reshape


def batch_elementwise(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    """Move batch axes to the front; give lower-rank batched operands singleton axes after the
    batch axis so that numpy broadcasting lines the per-example axes up."""
    ranks = [np.ndim(a) - (d is not None) for a, d in zip(args, dims)]
    rank = max(ranks)
    new = []
    for a, d, r in zip(args, dims, ranks):
        if d is None:
            new.append(a)
            continue
        a = moveaxis_to_front(a, d)
        if r < rank:
            shape = np.shape(a)
            a = reshape(a, (shape[0],) + (1,) * (rank - r) + tuple(shape[1:]))
        new.append(a)
    return bind(prim, *new, **params), 0


Lin = Callable[..., Any]


def _shape_rule(name: str, fn: Callable[..., Any], out_dtype: Any = None) -> Callable[..., Any]:
    def rule(*avals: ShapedArray) -> ShapedArray:
        shape = avals[0].shape if len(avals) == 1 else broadcast_shapes(name, *avals)
        dtype = out_dtype if out_dtype is not None else ufunc_dtype(fn, *avals)
        return ShapedArray(shape, dtype)

    return rule


def _elementwise(
    name: str,
    fn: Callable[..., Any],
    lins: tuple[Lin | None, ...] | None,
    emit: str,
    out_dtype: Any = None,
    **kw: Any,
) -> Primitive:
    differentiable = lins is not None
    return define(
        name,
        fn,
        _shape_rule(name, fn, out_dtype),
        vjp=lins,
        jvp=lins,
        batch=batch_elementwise,
        emit=emit,
        ufunc=fn if isinstance(fn, np.ufunc) else None,
        differentiable=differentiable,
        **kw,
    )


def _unary(
    name: str,
    fn: Callable[..., Any],
    lin: Lin | None,
    emit: str | None = None,
    out_dtype: Any = None,
    **kw: Any,
) -> Primitive:
    return _elementwise(
        name,
        fn,
        None if lin is None else (lin,),
        emit or f"np.{fn.__name__}({{0}})",
        out_dtype,
        **kw,
    )


def _binary(
    name: str,
    fn: Callable[..., Any],
    lx: Lin | None,
    ly: Lin | None,
    emit: str | None = None,
    differentiable: bool = True,
    out_dtype: Any = None,
    **kw: Any,
) -> Primitive:
    lins = (lx, ly) if differentiable else None
    return _elementwise(name, fn, lins, emit or f"np.{fn.__name__}({{0}}, {{1}})", out_dtype, **kw)


# The thin op functions below are what rules (and funcgrad.numpy) call.
def add(x: Any, y: Any) -> Any:
    return bind(add_p, x, y)


def sub(x: Any, y: Any) -> Any:
    return bind(sub_p, x, y)


def mul(x: Any, y: Any) -> Any:
    return bind(mul_p, x, y)


def div(x: Any, y: Any) -> Any:
    return bind(div_p, x, y)


def neg(x: Any) -> Any:
    return bind(neg_p, x)


def integer_pow(x: Any, y: int) -> Any:
    return bind(integer_pow_p, x, y=y)


def pow(x: Any, y: Any) -> Any:  # noqa: A001 - numpy's name
    return bind(pow_p, x, y)


def exp(x: Any) -> Any:
    return bind(exp_p, x)


def log(x: Any) -> Any:
    return bind(log_p, x)


def sin(x: Any) -> Any:
    return bind(sin_p, x)


def cos(x: Any) -> Any:
    return bind(cos_p, x)


def sign(x: Any) -> Any:
    return bind(sign_p, x)


def sqrt(x: Any) -> Any:
    return bind(sqrt_p, x)


def select(c: Any, x: Any, y: Any) -> Any:
    return bind(select_p, c, x, y)


def eq(x: Any, y: Any) -> Any:
    return bind(eq_p, x, y)


def gt(x: Any, y: Any) -> Any:
    return bind(gt_p, x, y)


def convert_element_type(x: Any, new_dtype: Any) -> Any:
    return bind(convert_element_type_p, x, new_dtype=np.dtype(new_dtype))


def stop_gradient(x: Any) -> Any:
    return bind(stop_gradient_p, x)


def real(x: Any) -> Any:
    return bind(real_p, x)


def imag(x: Any) -> Any:
    return bind(imag_p, x)


def conj(x: Any) -> Any:
    return bind(conj_p, x)


def _dt(x: Any) -> np.dtype:
    """The dtype of an operand: array, tracer, numpy scalar or Python scalar."""
    dt = getattr(x, "dtype", None)
    return dt if isinstance(dt, np.dtype) else np.result_type(x)


def _is_complex(x: Any) -> bool:
    return _dt(x).kind == "c"


def _as_float(mask: Any, like: Any) -> Any:
    """A boolean mask as 0/1 in ``like``'s real float dtype (float64 when ``like`` is not a
    float; the real dtype of a complex ``like``). ``like`` may be a Python scalar."""
    dt = _dt(like)
    if dt.kind == "c":
        dt = np.finfo(dt).dtype
    return convert_element_type(mask, dt if dt.kind == "f" else np.float64)


# --- algebraic identities for jit's simplifier (see funcgrad.transforms.passes.simplify) ---
def _same_type(x: Any, e: Any) -> bool:
    return x.aval == e.outputs[0].aval


def _drop_identity(is_identity: Callable[..., bool], commutative: bool) -> Callable[..., Any]:
    """Rule for ``x op e -> x`` (and ``e op x -> x`` if commutative) where ``e`` is the
    operation's identity element (0 for add/sub, 1 for mul/div), when types are unchanged."""

    def rule(e: Any, producer: Any, consts: Any) -> Any:
        x, y = e.inputs
        if is_identity(y, consts) and _same_type(x, e):
            return x
        if commutative and is_identity(x, consts) and _same_type(y, e):
            return y
        return None

    return rule


_simplify_add = _drop_identity(is_zero_const, commutative=True)
_simplify_sub = _drop_identity(is_zero_const, commutative=False)
_simplify_mul = _drop_identity(is_one_const, commutative=True)
_simplify_div = _drop_identity(is_one_const, commutative=False)


def _simplify_neg(e: Any, producer: Any, consts: Any) -> Any:
    p = producer.get(e.inputs[0])
    if p is not None and p.prim is neg_p and _same_type(p.inputs[0], e):
        return p.inputs[0]
    return None


def _simplify_convert(e: Any, producer: Any, consts: Any) -> Any:
    x = e.inputs[0]
    return x if x.aval.dtype == e.params["new_dtype"] and _same_type(x, e) else None


def _simplify_integer_pow(e: Any, producer: Any, consts: Any) -> Any:
    x = e.inputs[0]
    return x if e.params["y"] == 1 and _same_type(x, e) else None


# --- arithmetic --------------------------------------------------------------------------
add_p = _binary(
    "add",
    np.add,
    lambda c, ans, x, y: c,
    lambda c, ans, x, y: c,
    "({0} + {1})",
    simplify=_simplify_add,
    fuse="({0} + {1})",
)
sub_p = _binary(
    "sub",
    np.subtract,
    lambda c, ans, x, y: c,
    lambda c, ans, x, y: neg(c),
    "({0} - {1})",
    simplify=_simplify_sub,
    fuse="({0} - {1})",
)
mul_p = _binary(
    "mul",
    np.multiply,
    lambda c, ans, x, y: mul(c, y),
    lambda c, ans, x, y: mul(c, x),
    "({0} * {1})",
    simplify=_simplify_mul,
    fuse="({0} * {1})",
)
div_p = _binary(
    "div",
    np.divide,
    lambda c, ans, x, y: div(c, y),
    lambda c, ans, x, y: neg(mul(c, div(ans, y))),
    "({0} / {1})",
    simplify=_simplify_div,
    fuse="({0} / {1})",
)
neg_p = _unary(
    "neg", np.negative, lambda c, ans, x: neg(c), "(-{0})", simplify=_simplify_neg, fuse="(-{0})"
)


def _integer_pow_impl(x: Any, *, y: int) -> Any:
    if y == 2:
        return np.multiply(x, x)
    return np.power(x, y)


_INTEGER_POW_FNS: dict[int, Any] = {}


def _integer_pow_fn(y: int) -> Any:
    """The impl for one exponent, one object per ``y`` (so ufunc_dtype's cache hits): the
    shape rule's dtype is the impl's (x * x for y == 2 keeps bool, np.power would not)."""
    fn = _INTEGER_POW_FNS.get(y)
    if fn is None:
        fn = _INTEGER_POW_FNS[y] = lambda a: _integer_pow_impl(a, y=y)
    return fn


def _integer_pow_lin(c: Any, ans: Any, x: Any, *, y: int) -> Any:
    if y == 0:
        return mul(c, 0.0)
    if y == 1:
        return c
    if y == 2:
        return mul(c, mul(x, 2.0))
    return mul(c, mul(integer_pow(x, y - 1), float(y)))


integer_pow_p = define(
    "integer_pow",
    _integer_pow_impl,
    lambda x, *, y: ShapedArray(x.shape, ufunc_dtype(_integer_pow_fn(y), x)),
    vjp=(_integer_pow_lin,),
    jvp=(_integer_pow_lin,),
    batch=batch_elementwise,
    emit=lambda ins, p: f"({ins[0]} * {ins[0]})" if p["y"] == 2 else f"({ins[0]} ** {p['y']})",
    simplify=_simplify_integer_pow,
    fresh=True,
    fuse=lambda ins, p: f"({ins[0]} * {ins[0]})" if p["y"] == 2 else f"({ins[0]} ** {p['y']})",
    emit_out=lambda ins, p, out: (
        f"np.multiply({ins[0]}, {ins[0]}, out={out})"
        if p["y"] == 2
        else f"np.power({ins[0]}, {p['y']}, out={out})"
    ),
)


def _replace_zero(x: Any) -> Any:
    return select(eq(x, 0.0), 1.0, x)


def _pow_lin_x(c: Any, ans: Any, x: Any, y: Any) -> Any:
    ym1 = sub(y, 1.0)
    if _dt(y).kind in "iub":
        # An integer exponent 0 has derivative 0, also at x = 0 (as JAX): y·x^(y-1) with the
        # exponent -1 replaced (its factor y is 0 anyway), so no 0·inf.
        ym1 = select(eq(y, 0), 1.0, ym1)
    return mul(c, mul(y, pow(x, ym1)))


pow_p = _binary(
    "pow",
    np.power,
    _pow_lin_x,
    lambda c, ans, x, y: mul(c, mul(ans, log(_replace_zero(x)))),
    "np.power({0}, {1})",
    fresh=True,
    fuse="({0} ** {1})",
)

# --- transcendental ----------------------------------------------------------------------
exp_p = _unary("exp", np.exp, lambda c, ans, x: mul(c, ans), fuse="exp({0})")
log_p = _unary("log", np.log, lambda c, ans, x: div(c, x), fuse="log({0})")
log1p_p = _unary("log1p", np.log1p, lambda c, ans, x: div(c, add(x, 1.0)), fuse="log1p({0})")
expm1_p = _unary("expm1", np.expm1, lambda c, ans, x: mul(c, add(ans, 1.0)), fuse="expm1({0})")
sin_p = _unary("sin", np.sin, lambda c, ans, x: mul(c, cos(x)), fuse="sin({0})")
cos_p = _unary("cos", np.cos, lambda c, ans, x: neg(mul(c, sin(x))), fuse="cos({0})")
tan_p = _unary("tan", np.tan, lambda c, ans, x: mul(c, add(mul(ans, ans), 1.0)), fuse="tan({0})")
tanh_p = _unary(
    "tanh", np.tanh, lambda c, ans, x: mul(c, sub(1.0, mul(ans, ans))), fuse="tanh({0})"
)
arctan_p = _unary(
    "arctan", np.arctan, lambda c, ans, x: div(c, add(mul(x, x), 1.0)), fuse="arctan({0})"
)
sqrt_p = _unary("sqrt", np.sqrt, lambda c, ans, x: div(c, mul(ans, 2.0)), fuse="sqrt({0})")


# |z| is not holomorphic, so for complex z its JVP and VJP differ (JAX's convention: the VJP is
# the transpose of the JVP under the pairing <a, b> = Re(a·b), no conjugation):
#   jvp: t -> Re(conj(z)/|z| · t)        vjp: g (real) -> g · conj(z)/|z|
# At z = 0 the factor is 0 (JAX's choice). For real x both are c·sign(x).
def _abs_scaled(c: Any, x: Any, ans: Any) -> Any:
    """``c · conj(x) / |x|`` (0 where ``x == 0``); ``c`` is multiplied first, as JAX does,
    so exact inputs give exact results (``grad(|z|**2)(3+4j) == 6-8j``)."""
    return div(mul(c, conj(x)), select(eq(ans, 0.0), 1.0, ans))


def _abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    return _abs_scaled(g, x, ans) if _is_complex(x) else mul(g, sign(x))


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    return real(_abs_scaled(t, x, ans)) if _is_complex(x) else mul(t, sign(x))


abs_p = define(
    "abs",
    np.abs,
    _shape_rule("abs", np.abs),
    vjp=(_abs_vjp,),
    jvp=(_abs_jvp,),
    batch=batch_elementwise,
    emit="np.abs({0})",
    ufunc=np.abs,
    fuse="abs({0})",
)
sign_p = _unary("sign", np.sign, None)


# max/min: ties split the gradient evenly, as JAX does.
def _pick(c: Any, x: Any, y: Any) -> Any:
    mask = add(_as_float(gt(x, y), c), mul(_as_float(eq(x, y), c), 0.5))
    return mul(c, mask)


maximum_p = _binary(
    "maximum", np.maximum, lambda c, ans, x, y: _pick(c, x, y), lambda c, ans, x, y: _pick(c, y, x)
)
minimum_p = _binary(
    "minimum", np.minimum, lambda c, ans, x, y: _pick(c, y, x), lambda c, ans, x, y: _pick(c, x, y)
)

# --- comparisons and logic (no derivative) ---------------------------------------------
lt_p = _binary("lt", np.less, None, None, "({0} < {1})", differentiable=False, fuse="({0} < {1})")
le_p = _binary(
    "le", np.less_equal, None, None, "({0} <= {1})", differentiable=False, fuse="({0} <= {1})"
)
gt_p = _binary(
    "gt", np.greater, None, None, "({0} > {1})", differentiable=False, fuse="({0} > {1})"
)
ge_p = _binary(
    "ge", np.greater_equal, None, None, "({0} >= {1})", differentiable=False, fuse="({0} >= {1})"
)
eq_p = _binary(
    "eq", np.equal, None, None, "({0} == {1})", differentiable=False, fuse="({0} == {1})"
)
ne_p = _binary(
    "ne", np.not_equal, None, None, "({0} != {1})", differentiable=False, fuse="({0} != {1})"
)
and_p = _binary("and", np.logical_and, None, None, differentiable=False)
or_p = _binary("or", np.logical_or, None, None, differentiable=False)
not_p = _unary("not", np.logical_not, None)


# --- select (numpy's where) ------------------------------------------------------------
def _select_shape(c: ShapedArray, x: ShapedArray, y: ShapedArray) -> ShapedArray:
    if c.dtype != np.bool_:
        raise LocatedTypeError(
            f"where: the condition must be boolean, got {c}; compare first (x > 0)"
        )
    return ShapedArray(broadcast_shapes("where", c, x, y), ufunc_dtype(np.add, x, y))


select_p = define(
    "select",
    np.where,
    _select_shape,
    vjp=(
        None,
        lambda g, ans, c, x, y: select(c, g, 0.0),
        lambda g, ans, c, x, y: select(c, 0.0, g),
    ),
    jvp=(
        None,
        lambda t, ans, c, x, y: select(c, t, 0.0),
        lambda t, ans, c, x, y: select(c, 0.0, t),
    ),
    batch=batch_elementwise,
    emit="np.where({0}, {1}, {2})",
    fresh=True,
    fuse="where({0}, {1}, {2})",
)


# --- dtype conversion and stop_gradient ------------------------------------------------
def _convert_impl(x: Any, *, new_dtype: np.dtype) -> Any:
    return np.asarray(x).astype(new_dtype) if not isinstance(x, np.generic) else new_dtype.type(x)


convert_element_type_p = define(
    "convert_element_type",
    _convert_impl,
    lambda x, *, new_dtype: ShapedArray(x.shape, new_dtype),
    # The interpreters cast cotangents/tangents to each variable's dtype.
    vjp=(lambda g, ans, x, *, new_dtype: g,),
    jvp=(lambda t, ans, x, *, new_dtype: t,),
    batch=batch_elementwise,
    emit=lambda ins, p: f"np.asarray({ins[0]}).astype(np.{p['new_dtype'].name})",
    simplify=_simplify_convert,
    fresh=True,
)


# --- complex parts ---------------------------------------------------------------------
# real, imag and conj are R-linear but not C-linear, so each has its own JVP (the map itself)
# and VJP (its transpose under <a, b> = Re(a·b), JAX's convention, no conjugation):
#   real: t -> Re t,  g -> g (+0j)      imag: t -> Im t,  g -> -i·g      conj: both conj
# The interpreters cast a real cotangent reaching a complex input to complex, and take the
# real part of a complex cotangent reaching a real input (the transpose of real -> complex).
def _imag_vjp(g: Any, ans: Any, x: Any) -> Any:
    return mul(g, -1j) if _is_complex(x) else None


real_p = define(
    "real",
    np.real,
    _shape_rule("real", np.real),
    vjp=(lambda g, ans, x: g,),
    jvp=(lambda t, ans, x: real(t),),
    batch=batch_elementwise,
    emit="np.real({0})",
)
imag_p = define(
    "imag",
    np.imag,
    _shape_rule("imag", np.imag),
    vjp=(_imag_vjp,),
    jvp=(lambda t, ans, x: imag(t) if _is_complex(x) else None,),
    batch=batch_elementwise,
    emit="np.imag({0})",
    readonly_view=True,
)
conj_p = define(
    "conj",
    np.conjugate,
    _shape_rule("conj", np.conjugate),
    vjp=(lambda g, ans, x: conj(g),),
    jvp=(lambda t, ans, x: conj(t),),
    batch=batch_elementwise,
    emit="np.conjugate({0})",
    ufunc=np.conjugate,
    simplify=lambda e, producer, consts: (
        e.inputs[0] if e.inputs[0].aval.dtype.kind != "c" and _same_type(e.inputs[0], e) else None
    ),
)


stop_gradient_p = define(
    "stop_gradient",
    lambda x: x,
    lambda x: ShapedArray(x.shape, x.dtype),
    batch=batch_elementwise,
    emit="{0}",
    differentiable=False,
)
