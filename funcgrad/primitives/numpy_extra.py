"""Primitives behind the broader ``funcgrad.numpy`` surface (see ``docs/numpy_coverage.md``).

* elementwise: inverse/hyperbolic trigonometry, ``log2``/``log10``/``exp2``, ``logaddexp``,
  ``hypot``, ``arctan2``, ``cbrt``, ``reciprocal``, ``sinc``, ``fmax``/``fmin``,
  ``remainder``/``fmod``, and the piecewise-constant functions (``floor``, ``ceil``, ``rint``,
  ``trunc``, ``round``, ``floor_divide``, ``isnan``, ...) which carry no derivative;
* ``cumsum`` (linear; its transpose is the reversed cumsum) and ``reduce_prod``;
* ``take_along_axis`` — gather along one axis with integer indices that are an *operand*
  (so they may be traced, e.g. an ``argsort`` result under ``jit``/``vmap``) — and its
  transpose ``scatter_add_along_axis`` (``np.add.at``);
* ``argsort`` and ``searchsorted`` (no derivative);
* ``einsum`` — one primitive for every explicit subscript string; its VJP and JVP are einsums
  and its batching rule adds a subscript letter.

Composite functions (``cumprod``, the zero-safe ``prod`` gradient) are written here too, as
array code on these and the core primitives.
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define
from funcgrad.primitives.elementwise import (
    _as_float,
    _binary,
    _unary,
    add,
    batch_elementwise,
    cos,
    div,
    eq,
    exp,
    gt,
    lt_p,
    mul,
    neg,
    or_p,
    select,
    sqrt,
    sub,
)
from funcgrad.primitives.structural import (
    Index,
    Slice,
    _ConcatRules,
    _expand_reduced,
    broadcast_in_dim,
    concatenate,
    getitem,
    moveaxis_to_front,
    reduce_sum,
    reshape,
    transpose,
)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_FULL = Slice(None, None, None)


def _shape(x: Any) -> tuple[int, ...]:
    s = getattr(x, "shape", None)
    return tuple(s) if s is not None else np.shape(x)


def _dtype(x: Any) -> np.dtype:
    d = getattr(x, "dtype", None)
    return d if d is not None else np.result_type(x)


def _front(x: Any, d: int | None) -> Any:
    return x if d is None else moveaxis_to_front(x, d)


def _lead1(x: Any) -> Any:
    """``x`` with a new leading axis of size 1 (an unbatched operand next to batched ones)."""
    return reshape(x, (1,) + _shape(x))


def _check_axis(name: str, x: ShapedArray, axis: int) -> None:
    if not 0 <= axis < x.ndim:
        raise LocatedValueError(f"{name}: axis {axis} is out of range for {x}")


# --- thin op functions used by rules and by funcgrad.numpy --------------------------------
def sinh(x: Any) -> Any:
    return bind(sinh_p, x)


def cosh(x: Any) -> Any:
    return bind(cosh_p, x)


def exp2(x: Any) -> Any:
    return bind(exp2_p, x)


def floor(x: Any) -> Any:
    return bind(floor_p, x)


def trunc(x: Any) -> Any:
    return bind(trunc_p, x)


def floor_divide(x: Any, y: Any) -> Any:
    return bind(floor_divide_p, x, y)


def isnan(x: Any) -> Any:
    return bind(isnan_p, x)


def _safe_div(num: Any, den: Any) -> Any:
    """``num / den`` with 0 where ``den == 0`` (the double-where trick: no NaN in any branch,
    so higher derivatives stay finite too)."""
    zero = eq(den, 0.0)
    return select(zero, 0.0, div(num, select(zero, 1.0, den)))


# --- elementwise, differentiable ---------------------------------------------------------
def _one_minus_sq(x: Any) -> Any:
    return sub(1.0, mul(x, x))


arcsin_p = _unary("arcsin", np.arcsin, lambda c, ans, x: div(c, sqrt(_one_minus_sq(x))))
arccos_p = _unary("arccos", np.arccos, lambda c, ans, x: neg(div(c, sqrt(_one_minus_sq(x)))))
arctanh_p = _unary("arctanh", np.arctanh, lambda c, ans, x: div(c, _one_minus_sq(x)))
sinh_p = _unary("sinh", np.sinh, lambda c, ans, x: mul(c, cosh(x)))
cosh_p = _unary("cosh", np.cosh, lambda c, ans, x: mul(c, sinh(x)))
arcsinh_p = _unary("arcsinh", np.arcsinh, lambda c, ans, x: div(c, sqrt(add(mul(x, x), 1.0))))
arccosh_p = _unary(
    "arccosh", np.arccosh, lambda c, ans, x: div(c, mul(sqrt(sub(x, 1.0)), sqrt(add(x, 1.0))))
)
log2_p = _unary("log2", np.log2, lambda c, ans, x: div(c, mul(x, _LN2)))
log10_p = _unary("log10", np.log10, lambda c, ans, x: div(c, mul(x, _LN10)))
exp2_p = _unary("exp2", np.exp2, lambda c, ans, x: mul(c, mul(ans, _LN2)))
cbrt_p = _unary("cbrt", np.cbrt, lambda c, ans, x: div(c, mul(mul(ans, ans), 3.0)))
reciprocal_p = _unary("reciprocal", np.reciprocal, lambda c, ans, x: neg(mul(c, mul(ans, ans))))


def _sinc_lin(c: Any, ans: Any, x: Any) -> Any:
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, which is 0 at x = 0.
    return mul(c, _safe_div(sub(cos(mul(x, math.pi)), ans), x))


sinc_p = _unary("sinc", np.sinc, _sinc_lin, "np.sinc({0})")

logaddexp_p = _binary(
    "logaddexp",
    np.logaddexp,
    lambda c, ans, x, y: mul(c, exp(sub(x, ans))),
    lambda c, ans, x, y: mul(c, exp(sub(y, ans))),
)
logaddexp2_p = _binary(
    "logaddexp2",
    np.logaddexp2,
    lambda c, ans, x, y: mul(c, exp2(sub(x, ans))),
    lambda c, ans, x, y: mul(c, exp2(sub(y, ans))),
)
hypot_p = _binary(
    "hypot",
    np.hypot,
    lambda c, ans, x, y: mul(c, _safe_div(x, ans)),
    lambda c, ans, x, y: mul(c, _safe_div(y, ans)),
)


def _sq_norm(y: Any, x: Any) -> Any:
    return add(mul(x, x), mul(y, y))


arctan2_p = _binary(
    "arctan2",
    np.arctan2,
    lambda c, ans, y, x: mul(c, div(x, _sq_norm(y, x))),
    lambda c, ans, y, x: neg(mul(c, div(y, _sq_norm(y, x)))),
)


def _fpick(better: Any) -> Any:
    """Share of ``c`` going to operand ``a`` of fmax/fmin(a, b): all of it when ``a`` wins or
    ``b`` is NaN (NaN is ignored), half on ties (as for maximum)."""

    def share(c: Any, a: Any, b: Any) -> Any:
        wins = bind(or_p, isnan(b), better(a, b))
        return mul(c, add(_as_float(wins, c), mul(_as_float(eq(a, b), c), 0.5)))

    return share


_fmax_share = _fpick(gt)
_fmin_share = _fpick(lambda a, b: bind(lt_p, a, b))
fmax_p = _binary(
    "fmax",
    np.fmax,
    lambda c, ans, x, y: _fmax_share(c, x, y),
    lambda c, ans, x, y: _fmax_share(c, y, x),
)
fmin_p = _binary(
    "fmin",
    np.fmin,
    lambda c, ans, x, y: _fmin_share(c, x, y),
    lambda c, ans, x, y: _fmin_share(c, y, x),
)

# remainder(x, y) = x - y * floor(x / y): d/dx = 1, d/dy = -floor(x / y) (away from the jumps)
remainder_p = _binary(
    "remainder",
    np.remainder,
    lambda c, ans, x, y: c,
    lambda c, ans, x, y: neg(mul(c, floor_divide(x, y))),
)
# fmod(x, y) = x - y * trunc(x / y)
fmod_p = _binary(
    "fmod",
    np.fmod,
    lambda c, ans, x, y: c,
    lambda c, ans, x, y: neg(mul(c, trunc(div(x, y)))),
)
# heaviside(x, h): 0 / h / 1 for x < 0 / x == 0 / x > 0 — no derivative in x, d/dh = [x == 0]
heaviside_p = _binary(
    "heaviside",
    np.heaviside,
    None,
    lambda c, ans, x, h: select(eq(x, 0.0), c, 0.0),
)

# --- elementwise, piecewise constant or boolean: no derivative (zero gradient) ----------
floor_p = _unary("floor", np.floor, None)
ceil_p = _unary("ceil", np.ceil, None)
rint_p = _unary("rint", np.rint, None)
trunc_p = _unary("trunc", np.trunc, None)
isnan_p = _unary("isnan", np.isnan, None)
isinf_p = _unary("isinf", np.isinf, None)
isfinite_p = _unary("isfinite", np.isfinite, None)
signbit_p = _unary("signbit", np.signbit, None)
floor_divide_p = _binary(
    "floor_divide", np.floor_divide, None, None, "({0} // {1})", differentiable=False
)
xor_p = _binary("xor", np.logical_xor, None, None, differentiable=False)


def _round_shape(x: ShapedArray, *, decimals: int) -> ShapedArray:
    return ShapedArray(x.shape, np.round(np.ones((1,), x.dtype), decimals).dtype)


round_p = define(
    "round",
    lambda x, *, decimals: np.round(x, decimals),
    _round_shape,
    batch=batch_elementwise,
    emit="np.round({0}, {decimals})",
    differentiable=False,
)


# --- cumsum --------------------------------------------------------------------------------
def cumsum(x: Any, axis: int, reverse: bool = False) -> Any:
    return bind(cumsum_p, x, axis=int(axis), reverse=bool(reverse))


def _cumsum_impl(x: Any, *, axis: int, reverse: bool) -> Any:
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    return np.cumsum(x, axis=axis)


def _cumsum_shape(x: ShapedArray, *, axis: int, reverse: bool) -> ShapedArray:
    _check_axis("cumsum", x, axis)
    return ShapedArray(x.shape, np.cumsum(np.zeros((1,), x.dtype)).dtype)


def _cumsum_emit(ins: list[str], p: dict[str, Any]) -> str:
    a = p["axis"]
    if p["reverse"]:
        return f"np.flip(np.cumsum(np.flip({ins[0]}, {a}), axis={a}), {a})"
    return f"np.cumsum({ins[0]}, axis={a})"


cumsum_p = define(
    "cumsum",
    _cumsum_impl,
    _cumsum_shape,
    vjp=(lambda g, ans, x, *, axis, reverse: cumsum(g, axis, not reverse),),
    jvp=(lambda t, ans, x, *, axis, reverse: cumsum(t, axis, reverse),),
    batch=lambda prim, args, dims, *, axis, reverse: (
        cumsum(_front(args[0], dims[0]), axis + 1, reverse),
        0,
    ),
    emit=_cumsum_emit,
)


# --- products along an axis, by composition (differentiable to any order, zeros included) --
def axis_index(nd: int, axis: int, s: Slice) -> Index:
    return Index((_FULL,) * axis + (s,) + (_FULL,) * (nd - axis - 1))


def _shift(y: Any, k: int, axis: int, fill: float) -> Any:
    """``y`` shifted by ``k`` along ``axis``; the first ``k`` entries become ``fill``."""
    shape = _shape(y)
    n = shape[axis]
    pad_shape = shape[:axis] + (min(k, n),) + shape[axis + 1 :]
    pad = np.full(pad_shape, fill, _dtype(y))
    if k >= n:
        return pad
    return concatenate(
        [pad, getitem(y, axis_index(len(shape), axis, Slice(None, n - k, None)))], axis
    )


def flip_axis(x: Any, axis: int) -> Any:
    return getitem(x, axis_index(len(_shape(x)), axis, Slice(None, None, -1)))


def cumprod(x: Any, axis: int, exclusive: bool = False) -> Any:
    """Inclusive (or exclusive) cumulative product along ``axis`` by a Hillis–Steele scan:
    ``ceil(log2 n)`` rounds of ``y * shift(y)``. Every step is a differentiable primitive, so
    derivatives of all orders are exact, also where ``x`` has zeros."""
    n = _shape(x)[axis]
    y, k = x, 1
    while k < n:
        y = mul(y, _shift(y, k, axis, 1))
        k *= 2
    return _shift(y, 1, axis, 1) if exclusive else y


def prod_others(x: Any, axes: tuple[int, ...]) -> Any:
    """For each element, the product of the *other* elements of its reduction group
    (∂ prod / ∂ x_i), computed without dividing, so it is exact at zeros."""
    shape = _shape(x)
    nd = len(shape)
    kept = [i for i in range(nd) if i not in axes]
    perm = tuple(kept + list(axes))
    n = 1
    for a in axes:
        n *= shape[a]
    y = reshape(transpose(x, perm), tuple(shape[i] for i in kept) + (n,))
    last = len(kept)
    left = cumprod(y, last, exclusive=True)
    right = flip_axis(cumprod(flip_axis(y, last), last, exclusive=True), last)
    out = reshape(mul(left, right), tuple(shape[i] for i in perm))
    return transpose(out, tuple(np.argsort(perm)))


def reduce_prod(x: Any, axes: tuple[int, ...]) -> Any:
    return bind(reduce_prod_p, x, axes=tuple(axes))


def _prod_shape(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    for a in axes:
        _check_axis("prod", x, a)
    shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return ShapedArray(shape, np.prod(np.zeros((1,), x.dtype)).dtype)


reduce_prod_p = define(
    "reduce_prod",
    lambda x, *, axes: np.prod(x, axis=axes),
    _prod_shape,
    vjp=(lambda g, ans, x, *, axes: mul(_expand_reduced(g, x, axes), prod_others(x, axes)),),
    jvp=(lambda t, ans, x, *, axes: reduce_sum(mul(t, prod_others(x, axes)), axes),),
    batch=lambda prim, args, dims, *, axes: (
        reduce_prod(_front(args[0], dims[0]), tuple(a + 1 for a in axes)),
        0,
    ),
    emit="np.prod({0}, axis={axes})",
)


# --- gather / scatter-add along one axis ----------------------------------------------------
def take_along_axis(x: Any, idx: Any, axis: int) -> Any:
    """``np.take_along_axis(x, idx, axis)``; ``idx`` is an integer array (concrete or traced)
    with ``x``'s rank whose other axes broadcast against ``x``'s."""
    return bind(take_along_axis_p, x, idx, axis=int(axis))


def scatter_add_along_axis(g: Any, idx: Any, axis: int, size: int) -> Any:
    """Transpose of :func:`take_along_axis`: zeros with ``size`` entries along ``axis``, and
    ``g`` added at ``idx`` (repeated indices accumulate, as ``np.add.at``)."""
    return bind(scatter_add_along_axis_p, g, idx, axis=int(axis), size=int(size))


def _gather_shape(x: ShapedArray, idx: ShapedArray, *, axis: int) -> ShapedArray:
    if idx.dtype.kind not in "iu":
        raise LocatedTypeError(f"take_along_axis: indices must be integers, got {idx}")
    if idx.ndim != x.ndim:
        raise LocatedValueError(
            f"take_along_axis: indices {idx} must have the same number of dimensions as the "
            f"array {x}"
        )
    _check_axis("take_along_axis", x, axis)
    shape = []
    for d, (a, b) in enumerate(zip(x.shape, idx.shape)):
        if d == axis:
            shape.append(b)
            continue
        try:
            shape.append(np.broadcast_shapes((a,), (b,))[0])
        except ValueError:
            raise LocatedValueError(
                f"take_along_axis: array {x} and indices {idx} do not broadcast on axis {d}"
            ) from None
    return ShapedArray(tuple(shape), x.dtype)


def _gather_batch(prim: Any, args: Any, dims: Any, *, axis: int) -> Any:
    (x, idx), (dx, di) = args, dims
    x = _front(x, dx) if dx is not None else _lead1(x)
    idx = _front(idx, di) if di is not None else _lead1(idx)
    return take_along_axis(x, idx, axis + 1), 0


take_along_axis_p = define(
    "take_along_axis",
    lambda x, idx, *, axis: np.take_along_axis(x, idx, axis),
    _gather_shape,
    vjp=(
        lambda g, ans, x, idx, *, axis: scatter_add_along_axis(g, idx, axis, _shape(x)[axis]),
        None,
    ),
    jvp=(lambda t, ans, x, idx, *, axis: take_along_axis(t, idx, axis), None),
    batch=_gather_batch,
    emit="np.take_along_axis({0}, {1}, {axis})",
)


def _scatter_impl(g: Any, idx: Any, *, axis: int, size: int) -> Any:
    g = np.asarray(g)
    shape = g.shape[:axis] + (size,) + g.shape[axis + 1 :]
    out = np.zeros(shape, g.dtype)
    grids = list(np.ogrid[tuple(slice(n) for n in g.shape)])
    grids[axis] = np.broadcast_to(idx, g.shape)
    np.add.at(out, tuple(grids), g)
    return out


def _scatter_shape(g: ShapedArray, idx: ShapedArray, *, axis: int, size: int) -> ShapedArray:
    if idx.dtype.kind not in "iu":
        raise LocatedTypeError(f"scatter_add_along_axis: indices must be integers, got {idx}")
    _check_axis("scatter_add_along_axis", g, axis)
    try:
        ok = idx.ndim == g.ndim and np.broadcast_shapes(idx.shape, g.shape) == g.shape
    except ValueError:
        ok = False
    if not ok:
        raise LocatedValueError(f"scatter_add_along_axis: indices {idx} do not broadcast to {g}")
    return ShapedArray(g.shape[:axis] + (size,) + g.shape[axis + 1 :], g.dtype)


def _scatter_batch(prim: Any, args: Any, dims: Any, *, axis: int, size: int) -> Any:
    (g, idx), (dg, di) = args, dims
    if dg is None:
        b = batch_size(args, dims)
        shape = _shape(g)
        g = broadcast_in_dim(g, (b,) + shape, tuple(range(1, len(shape) + 1)))
    else:
        g = _front(g, dg)
    idx = _front(idx, di) if di is not None else _lead1(idx)
    return scatter_add_along_axis(g, idx, axis + 1, size), 0


scatter_add_along_axis_p = define(
    "scatter_add_along_axis",
    _scatter_impl,
    _scatter_shape,
    vjp=(lambda ct, ans, g, idx, *, axis, size: take_along_axis(ct, idx, axis), None),
    jvp=(lambda t, ans, g, idx, *, axis, size: scatter_add_along_axis(t, idx, axis, size), None),
    batch=_scatter_batch,
    emit=None,
)


# --- argsort / searchsorted (integer results: no derivative) --------------------------------
def argsort(x: Any, axis: int, kind: str | None = None) -> Any:
    return bind(argsort_p, x, axis=int(axis), kind=kind)


def _argsort_shape(x: ShapedArray, *, axis: int, kind: str | None) -> ShapedArray:
    _check_axis("argsort", x, axis)
    return ShapedArray(x.shape, np.intp)


argsort_p = define(
    "argsort",
    lambda x, *, axis, kind: np.argsort(x, axis=axis, kind=kind),
    _argsort_shape,
    batch=lambda prim, args, dims, *, axis, kind: (
        argsort(_front(args[0], dims[0]), axis + 1, kind),
        0,
    ),
    emit="np.argsort({0}, axis={axis}, kind={kind})",
    differentiable=False,
)


def searchsorted(a: Any, v: Any, side: str = "left", nbatch: int = 0) -> Any:
    return bind(searchsorted_p, a, v, side=side, nbatch=int(nbatch))


def _searchsorted_impl(a: Any, v: Any, *, side: str, nbatch: int) -> Any:
    if nbatch == 0:
        return np.searchsorted(a, v, side=side)
    a, v = np.asarray(a), np.asarray(v)
    out = np.empty(v.shape, np.intp)
    for i in np.ndindex(a.shape[:nbatch]):  # one numpy call per row of the batch
        out[i] = np.searchsorted(a[i], v[i], side=side)
    return out


def _searchsorted_shape(a: ShapedArray, v: ShapedArray, *, side: str, nbatch: int) -> ShapedArray:
    if side not in ("left", "right"):
        raise LocatedValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if a.ndim != nbatch + 1:
        raise LocatedValueError(f"searchsorted: the sorted array must be 1-D, got {a}")
    if v.shape[:nbatch] != a.shape[:nbatch]:
        raise LocatedValueError(f"searchsorted: batch shapes of {a} and {v} differ")
    return ShapedArray(v.shape, np.intp)


def _searchsorted_batch(prim: Any, args: Any, dims: Any, *, side: str, nbatch: int) -> Any:
    b = batch_size(args, dims)
    new = []
    for x, d in zip(args, dims):
        if d is None:
            shape = _shape(x)
            x = broadcast_in_dim(x, (b,) + shape, tuple(range(1, len(shape) + 1)))
        else:
            x = _front(x, d)
        new.append(x)
    return searchsorted(new[0], new[1], side, nbatch + 1), 0


searchsorted_p = define(
    "searchsorted",
    _searchsorted_impl,
    _searchsorted_shape,
    batch=_searchsorted_batch,
    emit=None,
    differentiable=False,
)


# --- einsum ----------------------------------------------------------------------------------
def einsum(spec: str, *operands: Any) -> Any:
    """Explicit-form einsum (``"ij,jk->ik"``; letters only, no ellipsis: funcgrad.numpy
    normalizes the user's subscripts, ellipses and broadcasting before calling this)."""
    return bind(einsum_p, *operands, spec=spec)


def parse_spec(spec: str) -> tuple[list[str], str]:
    ins, out = spec.split("->")
    return ins.split(","), out


def _einsum_sizes(spec: str, shapes: list[tuple[int, ...]]) -> dict[str, int]:
    ins, out = parse_spec(spec)
    if len(ins) != len(shapes):
        raise LocatedValueError(
            f"einsum {spec!r}: {len(ins)} subscripts for {len(shapes)} operands"
        )
    sizes: dict[str, int] = {}
    for sub_, shape in zip(ins, shapes):
        if len(sub_) != len(shape):
            raise LocatedValueError(
                f"einsum {spec!r}: subscripts {sub_!r} do not match an operand of shape {shape}"
            )
        for c, n in zip(sub_, shape):
            if sizes.setdefault(c, n) != n:
                raise LocatedValueError(
                    f"einsum {spec!r}: subscript {c!r} has sizes {sizes[c]} and {n}"
                )
    for c in out:
        if c not in sizes:
            raise LocatedValueError(f"einsum {spec!r}: output subscript {c!r} is not in any input")
    if len(set(out)) != len(out):
        raise LocatedValueError(f"einsum {spec!r}: repeated output subscript")
    return sizes


_einsum_dtypes: dict[tuple[Any, ...], np.dtype] = {}


def _einsum_shape(*ops: ShapedArray, spec: str) -> ShapedArray:
    sizes = _einsum_sizes(spec, [o.shape for o in ops])
    key = (spec, *[o.dtype for o in ops])
    dt = _einsum_dtypes.get(key)
    if dt is None:
        ones = [np.ones((1,) * o.ndim, o.dtype) for o in ops]
        dt = _einsum_dtypes[key] = np.einsum(spec, *ones).dtype
    return ShapedArray(tuple(sizes[c] for c in parse_spec(spec)[1]), dt)


def _einsum_impl(*ops: Any, spec: str) -> Any:
    out = np.einsum(spec, *ops, optimize=len(ops) > 1)
    # One operand: numpy may return a view of it (a transpose, a diagonal); never alias.
    return out.copy() if isinstance(out, np.ndarray) and out.base is not None else out


def _fresh_letters(used: str) -> list[str]:
    return [c for c in string.ascii_letters if c not in used]


def _einsum_vjp(i: int) -> Any:
    def rule(g: Any, ans: Any, *ops: Any, spec: str) -> Any:
        ins, out = parse_spec(spec)
        sizes = _einsum_sizes(spec, [_shape(o) for o in ops])
        target = ins[i]
        fresh = iter(_fresh_letters(spec))
        subs = [out] + [s for j, s in enumerate(ins) if j != i]
        args = [g] + [o for j, o in enumerate(ops) if j != i]
        # A letter repeated in the target (a diagonal, 'ii'): later copies get fresh letters,
        # tied to the first by an identity matrix operand.
        tgt: list[str] = []
        for c in target:
            if c in tgt:
                f = next(fresh)
                subs.append(c + f)
                args.append(np.eye(sizes[c], dtype=_dtype(g)))
                tgt.append(f)
            else:
                tgt.append(c)
        # Letters summed away in this operand only: the cotangent is constant along them.
        have = set("".join(subs))
        kept = [c for c in tgt if c in have]
        ct = einsum(",".join(subs) + "->" + "".join(kept), *args)
        if len(kept) < len(tgt):
            size_of = dict(sizes)
            for s, a in zip(subs, args):
                size_of.update(zip(s, _shape(a)))
            ct = broadcast_in_dim(
                ct, tuple(size_of[c] for c in tgt), tuple(tgt.index(c) for c in kept)
            )
        return ct

    return rule


def _einsum_jvp(i: int) -> Any:
    def rule(t: Any, ans: Any, *ops: Any, spec: str) -> Any:
        return einsum(spec, *ops[:i], t, *ops[i + 1 :])

    return rule


def _einsum_batch(prim: Any, args: Any, dims: Any, *, spec: str) -> Any:
    ins, out = parse_spec(spec)
    b = _fresh_letters(spec)[0]
    new_ops, new_ins = [], []
    for x, d, s in zip(args, dims, ins):
        if d is None:
            new_ops.append(x)
            new_ins.append(s)
        else:
            new_ops.append(_front(x, d))
            new_ins.append(b + s)
    return einsum(",".join(new_ins) + "->" + b + out, *new_ops), 0


einsum_p = define(
    "einsum",
    _einsum_impl,
    _einsum_shape,
    vjp=_ConcatRules(_einsum_vjp),
    jvp=_ConcatRules(_einsum_jvp),
    batch=_einsum_batch,
    emit=lambda ins, p: (
        f"np.einsum({p['spec']!r}, {', '.join(ins)}, optimize=True)"
        if len(ins) > 1
        else f"np.einsum({p['spec']!r}, {ins[0]}).copy()"
    ),
)


__all__ = [
    "argsort",
    "cumprod",
    "cumsum",
    "einsum",
    "flip_axis",
    "prod_others",
    "reduce_prod",
    "scatter_add_along_axis",
    "searchsorted",
    "take_along_axis",
]
