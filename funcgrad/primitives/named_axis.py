"""Collectives over named ``vmap`` axes (JAX's ``psum``, ``all_gather``, ``ppermute``, ...).

Each primitive takes the operand followed by one *axis token* per axis name (see
:mod:`funcgrad.core.axis_env`): an int32 scalar per example whose batched value is
``arange(size)``, created by the ``vmap`` that binds the name. Params carry ``axis_name`` (a
tuple of names, for printing and for the rules) and the operation's static arguments.

The batching rules do the work. A rule whose token is batched is run by the ``vmap`` that binds
that name (tokens are batched by their own vmap only), and resolves the collective into
ordinary array code over the batch axis: ``psum`` is a ``reduce_sum`` over it, ``all_gather``
moves it into place, ``ppermute`` is a ``gather`` along it. A rule whose tokens are all
unbatched is running in some other vmap: the collective acts per example, so it is re-bound on
the batched operand (positional params shifted past the batch axis) for the enclosing vmap to
resolve. ``psum`` over several names resolves the name being batched and re-binds the rest.

Derivatives follow JAX: each collective is linear; ``psum`` transposes to ``psum`` (the
objective is the sum over the axis of each member's objective), ``all_gather`` to
``psum_scatter`` and back, ``ppermute`` to the inverse permutation, ``all_to_all`` to the one
with split and concat axes swapped. ``pmax``/``pmin`` (no derivative in JAX) share the
cotangent among the members that attain the extremum, as ``max`` does.

The implementations never run: a collective only exists inside the vmap that binds its name,
whose batching rule replaces it. Reaching ``impl`` means the IR left that vmap (an IR built by
``make_ir`` inside it and run later, say) and raises :class:`LocatedNameError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNameError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import define
from funcgrad.primitives.elementwise import convert_element_type, div, eq, mul, select
from funcgrad.primitives.indexing import AdvIndex, ArrayRef, gather
from funcgrad.primitives.reductions import reduce_max_p, reduce_min_p
from funcgrad.primitives.structural import (
    broadcast_in_dim,
    moveaxis_to_front,
    reduce_sum,
    reduce_sum_p,
    reshape,
    transpose,
)

__all__ = [
    "psum_p",
    "pmax_p",
    "pmin_p",
    "all_gather_p",
    "psum_scatter_p",
    "ppermute_p",
    "all_to_all_p",
    "axis_index_p",
    "psum",
    "pmax",
    "pmin",
    "all_gather",
    "psum_scatter",
    "ppermute",
    "all_to_all",
    "axis_index",
]


# --- the op functions (rules and funcgrad.lax call these) -------------------------------------
def psum(x: Any, tokens: tuple[Any, ...], axis_name: tuple[Any, ...]) -> Any:
    return bind(psum_p, x, *tokens, axis_name=axis_name)


def pmax(x: Any, tokens: tuple[Any, ...], axis_name: tuple[Any, ...]) -> Any:
    return bind(pmax_p, x, *tokens, axis_name=axis_name)


def pmin(x: Any, tokens: tuple[Any, ...], axis_name: tuple[Any, ...]) -> Any:
    return bind(pmin_p, x, *tokens, axis_name=axis_name)


def all_gather(x: Any, token: Any, name: Any, size: int, axis: int, tiled: bool) -> Any:
    return bind(all_gather_p, x, token, axis_name=(name,), axis_size=size, axis=axis, tiled=tiled)


def psum_scatter(
    x: Any, token: Any, name: Any, size: int, scatter_dimension: int, tiled: bool
) -> Any:
    return bind(
        psum_scatter_p,
        x,
        token,
        axis_name=(name,),
        axis_size=size,
        scatter_dimension=scatter_dimension,
        tiled=tiled,
    )


def ppermute(x: Any, token: Any, name: Any, size: int, perm: tuple[tuple[int, int], ...]) -> Any:
    return bind(ppermute_p, x, token, axis_name=(name,), axis_size=size, perm=perm)


def all_to_all(
    x: Any, token: Any, name: Any, size: int, split_axis: int, concat_axis: int, tiled: bool
) -> Any:
    return bind(
        all_to_all_p,
        x,
        token,
        axis_name=(name,),
        axis_size=size,
        split_axis=split_axis,
        concat_axis=concat_axis,
        tiled=tiled,
    )


def axis_index(token: Any, name: Any) -> Any:
    return bind(axis_index_p, token, axis_name=(name,))


# --- shared pieces -------------------------------------------------------------------------
def _outside(name: str) -> Any:
    def impl(*args: Any, axis_name: tuple[Any, ...], **params: Any) -> Any:
        raise LocatedNameError(
            f"{name} over axis {axis_name[0]!r} was evaluated outside the vmap that binds "
            "that name (its IR was kept and run after the vmap returned); call it inside "
            f"vmap(..., axis_name={axis_name[0]!r})"
        )

    return impl


def _check_tokens(name: str, tokens: tuple[ShapedArray, ...], axis_name: tuple[Any, ...]) -> None:
    if len(tokens) != len(axis_name) or any(t.shape != () for t in tokens):
        raise LocatedValueError(
            f"{name}: expected one scalar axis token per axis name {axis_name}, got "
            f"{[str(t) for t in tokens]}"
        )


def _batched_token(dims: Any) -> int | None:
    """Position (among the tokens) of the token batched by the vmap running this rule."""
    hits = [i for i, d in enumerate(dims[1:]) if d is not None]
    if len(hits) > 1:  # pragma: no cover - one vmap binds one name
        raise AssertionError("two axis tokens batched by one vmap")
    return hits[0] if hits else None


def _tok_size(args: Any, dims: Any, i: int) -> int:
    return int(np.shape(args[1 + i])[dims[1 + i]])


def _to_front(x: Any, d: int | None, n: int) -> Any:
    """``x`` with the batch axis first (broadcast along a new first axis if unbatched)."""
    if d is None:
        shape = (n, *np.shape(x))
        return broadcast_in_dim(x, shape, tuple(range(1, len(shape))))
    return moveaxis_to_front(x, d)


def _zeros_like(x: Any) -> Any:
    shape = tuple(np.shape(x))
    return broadcast_in_dim(np.zeros((), np.result_type(x)), shape, ())


def _same_aval(name: str, ordered: bool = False) -> Any:
    def rule(x: ShapedArray, *tokens: ShapedArray, axis_name: tuple[Any, ...], **p: Any) -> Any:
        _check_tokens(name, tokens, axis_name)
        if ordered and x.dtype.kind == "c":
            raise LocatedTypeError(
                f"{name}: complex operands have no order; take {name} of the real part or "
                "of the absolute value"
            )
        return ShapedArray(x.shape, x.dtype, x.weak)

    return rule


# --- psum, pmax, pmin ----------------------------------------------------------------------
def _reduction_batch(reduce_prim: Any, unbatched: Any) -> Any:
    def rule(prim: Any, args: Any, dims: Any, *, axis_name: tuple[Any, ...]) -> Any:
        x, dx = args[0], dims[0]
        toks = tuple(args[1:])
        i = _batched_token(dims)
        if i is None:  # another vmap's axis: per example, the batch axis passes through
            return bind(prim, x, *toks, axis_name=axis_name), dx
        n = _tok_size(args, dims, i)
        y = unbatched(x, n) if dx is None else bind(reduce_prim, x, axes=(dx,))
        if dx is not None and np.result_type(y) != np.result_type(x):
            y = convert_element_type(y, np.result_type(x))  # numpy sums int32 as int64
        rest = axis_name[:i] + axis_name[i + 1 :]
        if rest:
            y = bind(prim, y, *(toks[:i] + toks[i + 1 :]), axis_name=rest)
        return y, None

    return rule


def _psum_lin(g: Any, ans: Any, x: Any, *toks: Any, axis_name: tuple[Any, ...]) -> Any:
    return psum(g, toks, axis_name)


def _ext_mask(ans: Any, x: Any, like: Any) -> Any:
    return convert_element_type(eq(x, ans), np.result_type(like))


def _pext_vjp(g: Any, ans: Any, x: Any, *toks: Any, axis_name: tuple[Any, ...]) -> Any:
    # Members attaining the extremum share the summed cotangent equally (as reduce_max).
    mask = _ext_mask(ans, x, g)
    return mul(div(psum(g, toks, axis_name), psum(mask, toks, axis_name)), mask)


def _pext_jvp(t: Any, ans: Any, x: Any, *toks: Any, axis_name: tuple[Any, ...]) -> Any:
    mask = _ext_mask(ans, x, t)
    return div(psum(mul(t, mask), toks, axis_name), psum(mask, toks, axis_name))


class _OperandOnly(tuple):
    """Per-input rules of a variadic collective: ``rule`` for the operand, none for the
    tokens (integer, not differentiable)."""

    def __new__(cls, rule: Any) -> _OperandOnly:
        return super().__new__(cls, (rule,))

    def __getitem__(self, i: Any) -> Any:
        return tuple.__getitem__(self, 0) if i == 0 else None


def _n_times(x: Any, n: int) -> Any:
    return mul(x, n)


def _itself(x: Any, n: int) -> Any:
    return x


psum_p = define(
    "psum",
    _outside("psum"),
    _same_aval("psum"),
    vjp=_OperandOnly(_psum_lin),
    jvp=_OperandOnly(_psum_lin),
    batch=_reduction_batch(reduce_sum_p, _n_times),
)
pmax_p = define(
    "pmax",
    _outside("pmax"),
    _same_aval("pmax", ordered=True),
    vjp=_OperandOnly(_pext_vjp),
    jvp=_OperandOnly(_pext_jvp),
    batch=_reduction_batch(reduce_max_p, _itself),
)
pmin_p = define(
    "pmin",
    _outside("pmin"),
    _same_aval("pmin", ordered=True),
    vjp=_OperandOnly(_pext_vjp),
    jvp=_OperandOnly(_pext_jvp),
    batch=_reduction_batch(reduce_min_p, _itself),
)


# --- all_gather ----------------------------------------------------------------------------
def _all_gather_shape(
    x: ShapedArray, tok: ShapedArray, *, axis_name: Any, axis_size: int, axis: int, tiled: bool
) -> ShapedArray:
    _check_tokens("all_gather", (tok,), axis_name)
    shape = list(x.shape)
    if tiled:
        if not 0 <= axis < len(shape):
            raise LocatedValueError(
                f"all_gather: axis {axis} is out of range for a tiled gather of {x} (tiled=True "
                "concatenates along an existing axis)"
            )
        shape[axis] *= axis_size
    else:
        if not 0 <= axis <= len(shape):
            raise LocatedValueError(f"all_gather: axis {axis} is out of range for {x}")
        shape.insert(axis, axis_size)
    return ShapedArray(tuple(shape), x.dtype)


def _merge(y: Any, axis: int) -> Any:
    """Merge axes ``axis`` and ``axis + 1`` (the first one major)."""
    s = list(np.shape(y))
    s[axis : axis + 2] = [s[axis] * s[axis + 1]]
    return reshape(y, tuple(s))


def _split_axis(y: Any, axis: int, n: int) -> Any:
    """Split axis ``axis`` into ``(n, size // n)``."""
    s = list(np.shape(y))
    s[axis : axis + 1] = [n, s[axis] // n]
    return reshape(y, tuple(s))


def _move(y: Any, src: int, dst: int) -> Any:
    nd = np.ndim(y)
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return y if src == dst else transpose(y, tuple(perm))


def _all_gather_batch(
    prim: Any, args: Any, dims: Any, *, axis_name: Any, axis_size: int, axis: int, tiled: bool
) -> Any:
    (x, tok), (dx, dt) = args, dims
    if dt is None:
        x = moveaxis_to_front(x, dx)
        return all_gather(x, tok, axis_name[0], axis_size, axis + 1, tiled), 0
    y = _to_front(x, dx, axis_size)  # (n, *per_example)
    y = _move(y, 0, axis)
    return (_merge(y, axis) if tiled else y), None


def _all_gather_vjp(g: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return psum_scatter(g, tok, p["axis_name"][0], p["axis_size"], p["axis"], p["tiled"])


def _all_gather_jvp(t: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return all_gather(t, tok, p["axis_name"][0], p["axis_size"], p["axis"], p["tiled"])


all_gather_p = define(
    "all_gather",
    _outside("all_gather"),
    _all_gather_shape,
    vjp=(_all_gather_vjp, None),
    jvp=(_all_gather_jvp, None),
    batch=_all_gather_batch,
)


# --- psum_scatter --------------------------------------------------------------------------
def _psum_scatter_shape(
    x: ShapedArray,
    tok: ShapedArray,
    *,
    axis_name: Any,
    axis_size: int,
    scatter_dimension: int,
    tiled: bool,
) -> ShapedArray:
    _check_tokens("psum_scatter", (tok,), axis_name)
    sd = scatter_dimension
    if not 0 <= sd < len(x.shape):
        raise LocatedValueError(f"psum_scatter: scatter_dimension {sd} is out of range for {x}")
    m = x.shape[sd]
    shape = list(x.shape)
    if tiled:
        if m % axis_size:
            raise LocatedValueError(
                f"psum_scatter: dimension {sd} of {x} has size {m}, which the size "
                f"{axis_size} of axis {axis_name[0]!r} does not divide (tiled=True gives each "
                "member an equal chunk)"
            )
        shape[sd] = m // axis_size
    else:
        if m != axis_size:
            raise LocatedValueError(
                f"psum_scatter: dimension {sd} of {x} has size {m}, but axis "
                f"{axis_name[0]!r} has size {axis_size}; without tiled=True they must be "
                "equal (one slice per member)"
            )
        del shape[sd]
    return ShapedArray(tuple(shape), x.dtype)


def _psum_scatter_batch(
    prim: Any,
    args: Any,
    dims: Any,
    *,
    axis_name: Any,
    axis_size: int,
    scatter_dimension: int,
    tiled: bool,
) -> Any:
    (x, tok), (dx, dt) = args, dims
    sd = scatter_dimension
    if dt is None:
        x = moveaxis_to_front(x, dx)
        return psum_scatter(x, tok, axis_name[0], axis_size, sd + 1, tiled), 0
    y = mul(x, axis_size) if dx is None else reduce_sum(x, (dx,))  # the sum over members
    # Member k keeps slice (or chunk) k of dimension sd: that dimension becomes the batch axis.
    return (_split_axis(y, sd, axis_size) if tiled else y), sd


def _psum_scatter_vjp(g: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return all_gather(g, tok, p["axis_name"][0], p["axis_size"], p["scatter_dimension"], p["tiled"])


def _psum_scatter_jvp(t: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return psum_scatter(
        t, tok, p["axis_name"][0], p["axis_size"], p["scatter_dimension"], p["tiled"]
    )


psum_scatter_p = define(
    "psum_scatter",
    _outside("psum_scatter"),
    _psum_scatter_shape,
    vjp=(_psum_scatter_vjp, None),
    jvp=(_psum_scatter_jvp, None),
    batch=_psum_scatter_batch,
)


# --- ppermute ------------------------------------------------------------------------------
def _ppermute_batch(
    prim: Any, args: Any, dims: Any, *, axis_name: Any, axis_size: int, perm: Any
) -> Any:
    (x, tok), (dx, dt) = args, dims
    if dt is None:
        return ppermute(x, tok, axis_name[0], axis_size, perm), dx
    src = np.full(axis_size, -1, np.int64)
    for s, d in perm:
        src[d] = s
    if dx is None and bool(np.all(src >= 0)):
        return x, None  # every member receives the same value
    if bool(np.all(src == np.arange(axis_size))):
        return x, dx
    y = _to_front(x, dx, axis_size)
    out = gather(y, (np.maximum(src, 0),), AdvIndex((ArrayRef(0),)))
    if bool(np.all(src >= 0)):
        return out, 0
    # Members that no pair sends to receive zeros (JAX's documented semantics).
    mask = (src >= 0).reshape((axis_size,) + (1,) * (np.ndim(y) - 1))
    return select(np.broadcast_to(mask, np.shape(y)), out, _zeros_like(y)), 0


def _inverse(perm: Any) -> tuple[tuple[int, int], ...]:
    return tuple((d, s) for s, d in perm)


def _ppermute_vjp(g: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return ppermute(g, tok, p["axis_name"][0], p["axis_size"], _inverse(p["perm"]))


def _ppermute_jvp(t: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return ppermute(t, tok, p["axis_name"][0], p["axis_size"], p["perm"])


ppermute_p = define(
    "ppermute",
    _outside("ppermute"),
    _same_aval("ppermute"),
    vjp=(_ppermute_vjp, None),
    jvp=(_ppermute_jvp, None),
    batch=_ppermute_batch,
)


# --- all_to_all ----------------------------------------------------------------------------
def _all_to_all_shape(
    x: ShapedArray,
    tok: ShapedArray,
    *,
    axis_name: Any,
    axis_size: int,
    split_axis: int,
    concat_axis: int,
    tiled: bool,
) -> ShapedArray:
    _check_tokens("all_to_all", (tok,), axis_name)
    nd = len(x.shape)
    if not (0 <= split_axis < nd and 0 <= concat_axis < nd):
        raise LocatedValueError(
            f"all_to_all: split_axis {split_axis} and concat_axis {concat_axis} must be axes of {x}"
        )
    m = x.shape[split_axis]
    shape = list(x.shape)
    if tiled:
        if m % axis_size:
            raise LocatedValueError(
                f"all_to_all: the size {m} of split_axis {split_axis} of {x} is not divisible by "
                f"the size {axis_size} of axis {axis_name[0]!r}"
            )
        shape[split_axis] = m // axis_size
        shape[concat_axis] *= axis_size
    else:
        if m != axis_size:
            raise LocatedValueError(
                f"all_to_all requires the size of the mapped axis {axis_name[0]!r} ({axis_size}) "
                f"to equal x.shape[split_axis] ({m}) for x of shape {x.shape}"
            )
        del shape[split_axis]
        shape.insert(concat_axis, axis_size)
    return ShapedArray(tuple(shape), x.dtype)


def _all_to_all_batch(
    prim: Any,
    args: Any,
    dims: Any,
    *,
    axis_name: Any,
    axis_size: int,
    split_axis: int,
    concat_axis: int,
    tiled: bool,
) -> Any:
    (x, tok), (dx, dt) = args, dims
    n = axis_size
    if dt is None:
        x = moveaxis_to_front(x, dx)
        return all_to_all(x, tok, axis_name[0], n, split_axis + 1, concat_axis + 1, tiled), 0
    b = _to_front(x, dx, n)  # (E, *per_example): E indexes the sending member
    s = split_axis + 1
    if tiled:
        b = _split_axis(b, s, n)  # chunk index at s, chunk contents at s + 1
    # Receiving member k takes slice k of the split axis: it becomes the batch axis; the sending
    # axis E goes to concat_axis of the per-example result.
    rest = [a for a in range(1, np.ndim(b)) if a != s]
    rest.insert(concat_axis, 0)
    y = transpose(b, (s, *rest))
    if tiled:
        y = _merge(y, concat_axis + 1)
    return y, 0


def _all_to_all_vjp(g: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return all_to_all(
        g, tok, p["axis_name"][0], p["axis_size"], p["concat_axis"], p["split_axis"], p["tiled"]
    )


def _all_to_all_jvp(t: Any, ans: Any, x: Any, tok: Any, **p: Any) -> Any:
    return all_to_all(
        t, tok, p["axis_name"][0], p["axis_size"], p["split_axis"], p["concat_axis"], p["tiled"]
    )


all_to_all_p = define(
    "all_to_all",
    _outside("all_to_all"),
    _all_to_all_shape,
    vjp=(_all_to_all_vjp, None),
    jvp=(_all_to_all_jvp, None),
    batch=_all_to_all_batch,
)


# --- axis_index ----------------------------------------------------------------------------
def _axis_index_shape(tok: ShapedArray, *, axis_name: Any) -> ShapedArray:
    _check_tokens("axis_index", (tok,), axis_name)
    return ShapedArray((), np.dtype(np.int32))


def _axis_index_batch(prim: Any, args: Any, dims: Any, *, axis_name: Any) -> Any:
    # The token's batched value is arange(size) (or a per-example copy of it).
    return convert_element_type(args[0], np.int32), dims[0]


axis_index_p = define(
    "axis_index",
    _outside("axis_index"),
    _axis_index_shape,
    batch=_axis_index_batch,
    differentiable=False,
)
