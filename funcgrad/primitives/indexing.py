"""Advanced (integer-array) indexing and indexed updates.

An index is a static template (:class:`AdvIndex`: ``Slice``, ``None``, ``int`` or
:class:`ArrayRef` entries) plus integer index arrays passed as *operands* — so index arrays may
be traced values (``x[argmax(y)]``, ``vmap`` over indices, ``jit``). Boolean masks are turned
into integer arrays (``nonzero``) by ``funcgrad.numpy`` before they get here. numpy's rules
apply throughout (broadcasting of index arrays, placement of the advanced axes).

Primitives (``I`` = the index arrays):

* ``gather(x, *I)`` — ``x[idx]``; its VJP is ``index_add``;
* ``index_add(g, *I, shape)`` — ``zeros(shape)`` with ``g`` scatter-added
  (``np.add.at``: repeated positions accumulate); its VJP is ``gather``;
* ``index_set(x, v, *I)`` — ``x`` with ``x[idx] = v`` (for repeated positions one value wins,
  the derivative w.r.t. ``v`` goes to that value only);
* ``index_mul(v, *I, shape)`` — ``ones(shape)`` with ``np.multiply.at``;
* ``index_min`` / ``index_max`` (v, *I, shape) — identity-filled, ``np.minimum.at`` /
  ``np.maximum.at``; ties share the derivative equally.

``x.at[idx].add/multiply/min/max(v)`` are ``x + index_add``, ``x * index_mul``,
``minimum(x, index_min)``, ``maximum(x, index_max)``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define
from funcgrad.primitives.elementwise import (
    convert_element_type,
    div,
    eq,
    mul,
    select,
)
from funcgrad.primitives.structural import (
    Slice,
    broadcast_in_dim,
    moveaxis_to_front,
    reshape,
    transpose,
)

__all__ = [
    "ArrayRef",
    "AdvIndex",
    "gather",
    "index_add",
    "index_set",
    "index_mul",
    "index_min",
    "index_max",
]


class ArrayRef(NamedTuple):
    """Template entry: the ``k``-th index operand."""

    k: int

    def __repr__(self) -> str:
        return f"${self.k}"


class AdvIndex(tuple):
    """A hashable index template, printed in numpy syntax (``$k`` = index operand ``k``)."""

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(i) for i in self) + "]"

    def to_numpy(self, arrays: Any) -> tuple[Any, ...]:
        out: list[Any] = []
        for e in self:
            if isinstance(e, ArrayRef):
                out.append(arrays[e.k])
            elif isinstance(e, Slice):
                out.append(slice(*e))
            else:
                out.append(e)
        return tuple(out)

    @property
    def n_arrays(self) -> int:
        return sum(1 for e in self if isinstance(e, ArrayRef))

    def advanced_positions(self) -> list[int]:
        """Template positions of advanced entries (ints count when any array is present)."""
        return [i for i, e in enumerate(self) if isinstance(e, (ArrayRef, int))]

    def adjacent(self) -> bool:
        """numpy puts the broadcast index axes in place only if the advanced entries are
        consecutive; otherwise they go first."""
        adv = self.advanced_positions()
        return not adv or adv == list(range(adv[0], adv[-1] + 1))

    def n_before(self) -> int:
        """Result axes before the advanced block (when adjacent)."""
        adv = self.advanced_positions()
        return adv[0] if adv else 0


# --- helpers -------------------------------------------------------------------------------
def _index_dummy(shape: tuple[int, ...], template: AdvIndex, idx_avals: Any) -> tuple[int, ...]:
    """Result shape of ``x[template]`` computed by numpy on zero-strided dummies."""
    x = np.broadcast_to(np.zeros((), np.bool_), shape)
    arrays = [np.broadcast_to(np.zeros((), np.intp), a.shape) for a in idx_avals]
    return x[template.to_numpy(arrays)].shape


def _check_index_avals(name: str, idx: Any) -> None:
    for a in idx:
        if a.dtype.kind not in "iu":
            raise LocatedTypeError(
                f"{name}: index arrays must be integers, got {a}; boolean masks must be "
                "converted with nonzero() first (funcgrad.numpy does this for concrete masks)"
            )


def _gathered_shape(
    name: str, shape: tuple[int, ...], template: AdvIndex, idx: Any
) -> tuple[int, ...]:
    _check_index_avals(name, idx)
    if len(idx) != template.n_arrays:
        raise LocatedValueError(
            f"{name}: template {template!r} needs {template.n_arrays} index arrays"
        )
    try:
        return _index_dummy(tuple(shape), template, idx)
    except IndexError as e:
        raise LocatedValueError(
            f"{name}: indexing shape {tuple(shape)} with {template!r}: {e}"
        ) from None


def _bshape(idx: Any) -> tuple[int, ...]:
    return np.broadcast_shapes(*[tuple(np.shape(a)) for a in idx]) if len(idx) else ()


# --- gather --------------------------------------------------------------------------------
def gather(x: Any, idx: Any, template: AdvIndex) -> Any:
    return bind(gather_p, x, *idx, template=template)


def _gather_impl(x: Any, *idx: Any, template: AdvIndex) -> Any:
    out = np.asarray(x)[template.to_numpy(idx)]
    return out if idx else np.array(out)  # always a fresh array


def _gather_shape(x: ShapedArray, *idx: ShapedArray, template: AdvIndex) -> ShapedArray:
    return ShapedArray(_gathered_shape("gather", x.shape, template, idx), x.dtype)


def _gather_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    x, *idx = args
    return [index_add(g, idx, params["template"], np.shape(x))] + [None] * len(idx)


def _gather_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    t = tangents[0]
    return [None if t is None else gather(t, ins[1:], params["template"])]


class _Layout(NamedTuple):
    """How a batched indexing operation was rewritten."""

    template: AdvIndex  # template acting on the batched operand (batch axis 0)
    idx: list[Any]  # index operands for it
    raw_dim: int  # batch axis of the raw result
    perm: tuple[int, ...] | None  # transpose raw result -> (batch, per-example layout)


def _batched_layout(
    template: AdvIndex, idx: Any, dims: Any, b: int, x_batched: bool, result_ndim: int
) -> _Layout:
    """Rewrite ``template`` for a batched operand (axis 0, if ``x_batched``) and batched index
    arrays. ``result_ndim`` is the per-example result rank."""
    full = Slice(None, None, None)
    if all(d is None for d in dims):
        new = AdvIndex((full,) + tuple(template))
        raw_dim = 0 if template.n_arrays == 0 or template.adjacent() else len(_bshape(idx))
        return _Layout(new, list(idx), raw_dim, None)
    r = len(np.broadcast_shapes(*[_unbatched_shape(a, d) for a, d in zip(idx, dims)]))
    new_idx = []
    for a, d in zip(idx, dims):
        if d is None:
            new_idx.append(a)
            continue
        a = moveaxis_to_front(a, d)
        s = tuple(np.shape(a))
        new_idx.append(reshape(a, (s[0],) + (1,) * (r - len(s) + 1) + s[1:]))
    if not x_batched:
        raw = template.n_before() if template.adjacent() else 0
        return _Layout(template, new_idx, raw, None)
    ar = np.arange(b, dtype=np.intp).reshape((b,) + (1,) * r)
    new = AdvIndex((ArrayRef(len(new_idx)),) + tuple(template))
    new_idx.append(ar)
    nb = template.n_before()
    if template.adjacent() and nb > 0:
        # raw: (B, bshape, before, after); wanted (B, before, bshape, after)
        perm = (0,) + tuple(range(1 + r, 1 + r + nb)) + tuple(range(1, 1 + r))
        perm += tuple(range(1 + r + nb, 1 + result_ndim))
        return _Layout(new, new_idx, 0, perm)
    return _Layout(new, new_idx, 0, None)


def _gather_batch(prim: Any, args: Any, dims: Any, *, template: AdvIndex) -> tuple[Any, int]:
    x, *idx = args
    dx, *didx = dims
    b = batch_size(args, dims)
    if dx is not None:
        x = moveaxis_to_front(x, dx)
    per_ndim = len(
        _index_dummy(
            tuple(np.shape(x))[1 if dx is not None else 0 :],
            template,
            [ShapedArray(_unbatched_shape(a, d), np.intp) for a, d in zip(idx, didx)],
        )
    )
    lay = _batched_layout(template, idx, didx, b, dx is not None, per_ndim)
    out = gather(x, lay.idx, lay.template)
    if lay.perm is not None:
        out = transpose(out, lay.perm)
    return out, lay.raw_dim


def _unbatched_shape(a: Any, d: int | None) -> tuple[int, ...]:
    s = tuple(np.shape(a))
    return s if d is None else s[:d] + s[d + 1 :]


def _gather_emit(ins: list[str], params: dict[str, Any]) -> str:
    template = params["template"]
    parts = [ins[1 + e.k] if isinstance(e, ArrayRef) else repr(e) for e in template]
    expr = f"{ins[0]}[{', '.join(parts) if parts else '()'}]"
    return expr if template.n_arrays else f"np.array({expr})"  # basic indices make views


gather_p = define(
    "gather",
    _gather_impl,
    _gather_shape,
    vjp_full=_gather_vjp,
    jvp_full=_gather_jvp,
    batch=_gather_batch,
    emit=_gather_emit,
    fresh=True,
)


# --- scatter-style primitives: shared batching ----------------------------------------------
def _to_layout(v: Any, dv: int | None, b: int, lay: _Layout) -> Any:
    """Put an update/cotangent ``v`` (per-example layout, batch at ``dv``) into the raw layout
    of the batched template."""
    if dv is None:
        s = tuple(np.shape(v))
        v = broadcast_in_dim(v, (b,) + s, tuple(range(1, len(s) + 1)))
    else:
        v = moveaxis_to_front(v, dv)
    if lay.perm is not None:
        v = transpose(v, tuple(np.argsort(lay.perm)))
    elif lay.raw_dim != 0:
        nd = len(np.shape(v))
        perm = list(range(1, nd))
        perm.insert(lay.raw_dim, 0)
        v = transpose(v, tuple(perm))
    return v


def _front_or_broadcast(x: Any, d: int | None, b: int) -> Any:
    if d is not None:
        return moveaxis_to_front(x, d)
    s = tuple(np.shape(x))
    return broadcast_in_dim(x, (b,) + s, tuple(range(1, len(s) + 1)))


def _scatter_layout(
    template: AdvIndex, shape: tuple[int, ...], idx: Any, didx: Any, b: int
) -> _Layout:
    per_ndim = len(
        _index_dummy(
            tuple(shape),
            template,
            [ShapedArray(_unbatched_shape(a, d), np.intp) for a, d in zip(idx, didx)],
        )
    )
    return _batched_layout(template, idx, didx, b, True, per_ndim)


# --- index_add -----------------------------------------------------------------------------
def index_add(g: Any, idx: Any, template: AdvIndex, shape: tuple[int, ...]) -> Any:
    return bind(index_add_p, g, *idx, template=template, shape=tuple(shape))


def _index_add_impl(g: Any, *idx: Any, template: AdvIndex, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, template.to_numpy(idx), g)
    return out


def _scatter_shape_check(
    name: str, shape: Any, template: AdvIndex, v: ShapedArray, idx: Any
) -> None:
    want = _gathered_shape(name, shape, template, idx)
    try:
        ok = np.broadcast_shapes(v.shape, want) == tuple(want)
    except ValueError:
        ok = False
    if not ok:
        raise LocatedValueError(
            f"{name}: updates of shape {v.shape} do not broadcast to the indexed shape {want}"
        )


def _index_add_shape(
    g: ShapedArray, *idx: ShapedArray, template: AdvIndex, shape: tuple[int, ...]
) -> ShapedArray:
    _scatter_shape_check("index_add", shape, template, g, idx)
    return ShapedArray(shape, g.dtype)


def _index_add_vjp(ct: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    _, *idx = args
    return [gather(ct, idx, params["template"])] + [None] * len(idx)


def _index_add_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    t = tangents[0]
    if t is None:
        return [None]
    return [index_add(t, ins[1:], params["template"], params["shape"])]


def _index_add_batch(
    prim: Any, args: Any, dims: Any, *, template: AdvIndex, shape: tuple[int, ...]
) -> tuple[Any, int]:
    g, *idx = args
    dg, *didx = dims
    b = batch_size(args, dims)
    lay = _scatter_layout(template, shape, idx, didx, b)
    g = _to_layout(*_full_update(g, dg, template, shape, idx, didx), b, lay)
    return index_add(g, lay.idx, lay.template, (b,) + tuple(shape)), 0


def _full_update(
    v: Any, dv: int | None, template: AdvIndex, shape: Any, idx: Any, didx: Any
) -> tuple[Any, int | None]:
    """Broadcast an update to the full per-example indexed shape; a batched update gets its
    batch axis at the front. Returns ``(update, batch axis)``."""
    want = _index_dummy(
        tuple(shape),
        template,
        [ShapedArray(_unbatched_shape(a, d), np.intp) for a, d in zip(idx, didx)],
    )
    want = tuple(want)
    nd = len(want)
    if dv is None:
        s = tuple(np.shape(v))
        if s != want:
            v = broadcast_in_dim(v, want, tuple(range(nd - len(s), nd)))
        return v, None
    v = moveaxis_to_front(v, dv)
    s = tuple(np.shape(v))
    if s[1:] != want:
        v = broadcast_in_dim(v, (s[0],) + want, (0,) + tuple(range(1 + nd - len(s) + 1, 1 + nd)))
    return v, 0


index_add_p = define(
    "index_add",
    _index_add_impl,
    _index_add_shape,
    vjp_full=_index_add_vjp,
    jvp_full=_index_add_jvp,
    batch=_index_add_batch,
    fresh=True,
)


# --- index_set -------------------------------------------------------------------------------
def index_set(x: Any, v: Any, idx: Any, template: AdvIndex, unique: bool = False) -> Any:
    return bind(index_set_p, x, v, *idx, template=template, unique=bool(unique))


def _index_set_impl(x: Any, v: Any, *idx: Any, template: AdvIndex, unique: bool) -> Any:
    out = np.array(x, copy=True)
    out[template.to_numpy(idx)] = v
    return out


def _index_set_shape(
    x: ShapedArray, v: ShapedArray, *idx: ShapedArray, template: AdvIndex, unique: bool
) -> ShapedArray:
    _scatter_shape_check("index_set", x.shape, template, v, idx)
    return ShapedArray(x.shape, x.dtype)


def _zeros(shape: Any, dtype: Any) -> np.ndarray:
    return np.zeros(tuple(shape), dtype)


def _winners(v: Any, idx: Any, template: AdvIndex, shape: Any) -> Any:
    """Boolean mask over the updates: which ones ``index_set`` actually wrote (with repeated
    positions, one update wins)."""
    vshape = tuple(np.shape(v))
    ids = np.arange(int(np.prod(vshape, dtype=np.int64)), dtype=np.int64).reshape(vshape)
    marks = index_set(np.full(tuple(shape), -1, np.int64), ids, idx, template)
    return eq(gather(marks, idx, template), ids)


def _index_set_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    x, v, *idx = args
    template, unique = params["template"], params["unique"]
    dt = np.result_type(g)
    gv = _zeros(np.shape(v), dt)
    ct_x = index_set(g, gv, idx, template, True) if needs[0] else None
    ct_v = None
    if needs[1]:
        ct_v = gather(g, idx, template)
        if not unique:
            ct_v = select(_winners(v, idx, template, np.shape(x)), ct_v, 0.0)
    return [ct_x, ct_v] + [None] * len(idx)


def _index_set_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    x, v, *idx = ins
    tx, tv = tangents[0], tangents[1]
    template = params["template"]
    dt = outs[0].dtype
    if tx is None:
        tx = _zeros(np.shape(x), dt)
    if tv is None:
        tv = _zeros(np.shape(v), dt)
    return [index_set(tx, tv, idx, template, params["unique"])]


def _index_set_batch(
    prim: Any, args: Any, dims: Any, *, template: AdvIndex, unique: bool
) -> tuple[Any, int]:
    x, v, *idx = args
    dx, dv, *didx = dims
    b = batch_size(args, dims)
    shape = _unbatched_shape(x, dx)
    lay = _scatter_layout(template, shape, idx, didx, b)
    x = _front_or_broadcast(x, dx, b)
    v = _to_layout(*_full_update(v, dv, template, shape, idx, didx), b, lay)
    return index_set(x, v, lay.idx, lay.template, unique), 0


index_set_p = define(
    "index_set",
    _index_set_impl,
    _index_set_shape,
    vjp_full=_index_set_vjp,
    jvp_full=_index_set_jvp,
    batch=_index_set_batch,
    fresh=True,
)


# --- index_mul ---------------------------------------------------------------------------------
def index_mul(v: Any, idx: Any, template: AdvIndex, shape: Any, unique: bool = False) -> Any:
    return bind(index_mul_p, v, *idx, template=template, shape=tuple(shape), unique=bool(unique))


def _index_mul_impl(v: Any, *idx: Any, template: AdvIndex, shape: Any, unique: bool) -> Any:
    out = np.ones(shape, dtype=np.result_type(v))
    np.multiply.at(out, template.to_numpy(idx), v)
    return out


def _index_mul_shape(
    v: ShapedArray, *idx: ShapedArray, template: AdvIndex, shape: Any, unique: bool
) -> ShapedArray:
    _scatter_shape_check("index_mul", shape, template, v, idx)
    return ShapedArray(shape, v.dtype)


def _index_mul_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    # Unique positions: dP = scatter(dv). Repeated: dP_i = P_i * sum_k dv_k / v_k (v != 0).
    v, *idx = args
    template = params["template"]
    if params["unique"]:
        ct = gather(g, idx, template)
    else:
        ct = div(gather(mul(g, ans), idx, template), v)
    return [ct] + [None] * len(idx)


def _index_mul_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    v, *idx = ins
    t = tangents[0]
    if t is None:
        return [None]
    template, shape = params["template"], params["shape"]
    if params["unique"]:
        return [index_add(t, idx, template, shape)]
    return [mul(outs[0], index_add(div(t, v), idx, template, shape))]


def _index_mul_batch(
    prim: Any, args: Any, dims: Any, *, template: AdvIndex, shape: Any, unique: bool
) -> tuple[Any, int]:
    v, *idx = args
    dv, *didx = dims
    b = batch_size(args, dims)
    lay = _scatter_layout(template, shape, idx, didx, b)
    v = _to_layout(*_full_update(v, dv, template, shape, idx, didx), b, lay)
    return index_mul(v, lay.idx, lay.template, (b,) + tuple(shape), unique), 0


index_mul_p = define(
    "index_mul",
    _index_mul_impl,
    _index_mul_shape,
    vjp_full=_index_mul_vjp,
    jvp_full=_index_mul_jvp,
    batch=_index_mul_batch,
    fresh=True,
)


# --- index_min / index_max ---------------------------------------------------------------------
def _identity(dtype: np.dtype, is_min: bool) -> Any:
    if dtype.kind == "f":
        return np.inf if is_min else -np.inf
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.max if is_min else info.min
    if dtype.kind == "b":
        return is_min
    raise LocatedTypeError(f"index_min/index_max: unsupported dtype {dtype}")


def _extremum_prim(name: str, ufunc: Any, is_min: bool) -> Any:
    def impl(v: Any, *idx: Any, template: AdvIndex, shape: Any) -> Any:
        dt = np.result_type(v)
        out = np.full(shape, _identity(dt, is_min), dtype=dt)
        ufunc.at(out, template.to_numpy(idx), v)
        return out

    def shape_rule(
        v: ShapedArray, *idx: ShapedArray, template: AdvIndex, shape: Any
    ) -> ShapedArray:
        _scatter_shape_check(name, shape, template, v, idx)
        return ShapedArray(shape, v.dtype)

    def mask_count(v: Any, ans: Any, idx: Any, template: AdvIndex, shape: Any) -> Any:
        # which updates attain the extremum at their position, and how many tie there
        hit = eq(v, gather(ans, idx, template))
        dt = np.result_type(v)
        m = convert_element_type(hit, dt)
        count = index_add(m, idx, template, shape)
        safe = select(eq(count, 0.0), 1.0, count)
        return m, safe

    def vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
        v, *idx = args
        template, shape = params["template"], params["shape"]
        m, count = mask_count(v, ans, idx, template, shape)
        return [mul(gather(div(g, count), idx, template), m)] + [None] * len(idx)

    def jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
        v, *idx = ins
        t = tangents[0]
        if t is None:
            return [None]
        template, shape = params["template"], params["shape"]
        m, count = mask_count(v, outs[0], idx, template, shape)
        return [div(index_add(mul(t, m), idx, template, shape), count)]

    def batch(
        prim: Any, args: Any, dims: Any, *, template: AdvIndex, shape: Any
    ) -> tuple[Any, int]:
        v, *idx = args
        dv, *didx = dims
        b = batch_size(args, dims)
        lay = _scatter_layout(template, shape, idx, didx, b)
        v = _to_layout(*_full_update(v, dv, template, shape, idx, didx), b, lay)
        return bind(prim, v, *lay.idx, template=lay.template, shape=(b,) + tuple(shape)), 0

    return define(name, impl, shape_rule, vjp_full=vjp, jvp_full=jvp, batch=batch, fresh=True)


index_min_p = _extremum_prim("index_min", np.minimum, True)
index_max_p = _extremum_prim("index_max", np.maximum, False)


def index_min(v: Any, idx: Any, template: AdvIndex, shape: Any) -> Any:
    return bind(index_min_p, v, *idx, template=template, shape=tuple(shape))


def index_max(v: Any, idx: Any, template: AdvIndex, shape: Any) -> Any:
    return bind(index_max_p, v, *idx, template=template, shape=tuple(shape))
