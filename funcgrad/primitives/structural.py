"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze, expand_dims, basic
indexing (getitem) and its transpose (scatter_add), concatenate. All are linear, so each JVP is
the primitive applied to the tangent and each VJP is the transposed operation."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.ir import Literal, ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define, registry, ufunc_dtype


def moveaxis_to_front(x: Any, d: int) -> Any:
    """Move axis ``d`` of ``x`` to the front (for batching rules)."""
    if d == 0:
        return x
    perm = (d,) + tuple(i for i in range(np.ndim(x)) if i != d)
    return transpose(x, perm)


def _front(x: Any, d: int | None) -> Any:
    return x if d is None else moveaxis_to_front(x, d)


# --- algebraic identities for jit's simplifier (see funcgrad.transforms.passes.simplify) ---
def _simplify_transpose(e: Any, producer: Any, consts: Any) -> Any:
    x = e.inputs[0]
    perm = e.params["permutation"]
    if perm == tuple(range(len(perm))):
        return x
    p = producer.get(x)
    if p is not None and p.prim is transpose_p:
        inner = p.params["permutation"]
        return (transpose_p, [p.inputs[0]], {"permutation": tuple(inner[j] for j in perm)})
    return None


def _simplify_reshape(e: Any, producer: Any, consts: Any) -> Any:
    x = e.inputs[0]
    if x.aval.shape == e.outputs[0].aval.shape:
        return x
    p = producer.get(x)
    if p is not None and p.prim in (reshape_p, squeeze_p, expand_dims_p):
        return (reshape_p, [p.inputs[0]], e.params)
    return None


def _simplify_broadcast(e: Any, producer: Any, consts: Any) -> Any:
    x = e.inputs[0]
    return x if x.aval.shape == e.outputs[0].aval.shape else None


# --- broadcast_in_dim ------------------------------------------------------------------
def broadcast_in_dim(x: Any, shape: tuple[int, ...], broadcast_dimensions: tuple[int, ...]) -> Any:
    """Place x's axes at ``broadcast_dimensions`` of ``shape`` and broadcast."""
    if tuple(np.shape(x)) == tuple(shape):
        return x
    return bind(
        broadcast_in_dim_p, x, shape=tuple(shape), broadcast_dimensions=tuple(broadcast_dimensions)
    )


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    nd = np.ndim(x)
    return broadcast_in_dim(x, shape, tuple(range(len(shape) - nd, len(shape))))


def _bid_impl(x: Any, *, shape: tuple[int, ...], broadcast_dimensions: tuple[int, ...]) -> Any:
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = np.shape(x)[i]
    return np.broadcast_to(np.reshape(x, expanded), shape)


def _emit_bcast(x: str, xshape: tuple[int, ...], shape: Any, broadcast_dimensions: Any) -> str:
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = xshape[i]
    if tuple(expanded[len(shape) - len(xshape) :]) == tuple(xshape):
        return f"np.broadcast_to({x}, {tuple(shape)})"
    return f"np.broadcast_to({x}.reshape({tuple(expanded)}), {tuple(shape)})"


def _bid_shape(
    x: ShapedArray, *, shape: tuple[int, ...], broadcast_dimensions: tuple[int, ...]
) -> ShapedArray:
    if len(broadcast_dimensions) != x.ndim:
        raise LocatedValueError(f"broadcast_in_dim: {x} needs {x.ndim} broadcast dimensions")
    for i, d in enumerate(broadcast_dimensions):
        if not (0 <= d < len(shape)) or x.shape[i] not in (1, shape[d]):
            raise LocatedValueError(
                f"broadcast_in_dim: cannot broadcast {x} to shape {tuple(shape)}"
            )
    return ShapedArray(shape, x.dtype)


def _bid_transpose(g: Any, ans: Any, x: Any, *, shape: Any, broadcast_dimensions: Any) -> Any:
    xshape = np.shape(x)
    kept = set(broadcast_dimensions)
    axes = [d for d in range(len(shape)) if d not in kept]
    axes += [d for i, d in enumerate(broadcast_dimensions) if xshape[i] == 1 and shape[d] != 1]
    out = reduce_sum(g, tuple(sorted(axes))) if axes else g
    return reshape(out, xshape)


def _bid_batch(prim: Any, args: Any, dims: Any, *, shape: Any, broadcast_dimensions: Any) -> Any:
    (x,), (d,) = args, dims
    x = _front(x, d)
    b = np.shape(x)[0]
    return bind(
        prim,
        x,
        shape=(b,) + tuple(shape),
        broadcast_dimensions=(0,) + tuple(i + 1 for i in broadcast_dimensions),
    ), 0


broadcast_in_dim_p = define(
    "broadcast_in_dim",
    _bid_impl,
    _bid_shape,
    vjp=(_bid_transpose,),
    jvp=(lambda t, ans, x, **p: broadcast_in_dim(t, **p),),
    batch=_bid_batch,
    emit=lambda ins, p, avals: _emit_bcast(ins[0], avals[0].shape, **p),
    simplify=_simplify_broadcast,
    readonly_view=True,
)


# --- reshape / squeeze / expand_dims ------------------------------------------------------
def _emit_reshape(x: str, aval: ShapedArray, shape: tuple[int, ...], general: str) -> str:
    """The ndarray method (~0.1 us; the numpy functions take 1-2 us, which matters in loop
    bodies) when the operand is certainly an array or numpy scalar (not a weak Python
    scalar)."""
    if aval.weak or not x.isidentifier():
        return general.format(x, tuple(shape))
    return f"{x}.reshape({tuple(shape)!r})"


def reshape(x: Any, new_sizes: tuple[int, ...]) -> Any:
    new_sizes = tuple(int(s) for s in new_sizes)
    if tuple(np.shape(x)) == new_sizes:
        return x
    return bind(reshape_p, x, new_sizes=new_sizes)


def _reshape_shape(x: ShapedArray, *, new_sizes: tuple[int, ...]) -> ShapedArray:
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise LocatedValueError(
            f"reshape: cannot reshape {x} ({x.size} elements) into shape {new_sizes}"
        )
    return ShapedArray(new_sizes, x.dtype)


def _back_to_shape(g: Any, ans: Any, x: Any, **p: Any) -> Any:
    return reshape(g, np.shape(x))


def _reshape_batch(prim: Any, args: Any, dims: Any, *, new_sizes: Any) -> Any:
    x = _front(args[0], dims[0])
    return reshape(x, (np.shape(x)[0],) + tuple(new_sizes)), 0


reshape_p = define(
    "reshape",
    lambda x, *, new_sizes: np.reshape(x, new_sizes),
    _reshape_shape,
    vjp=(_back_to_shape,),
    jvp=(lambda t, ans, x, *, new_sizes: reshape(t, new_sizes),),
    batch=_reshape_batch,
    emit=lambda ins, p, avals: _emit_reshape(
        ins[0], avals[0], p["new_sizes"], "np.reshape({0}, {1})"
    ),
    simplify=_simplify_reshape,
)


def squeeze(x: Any, dimensions: tuple[int, ...]) -> Any:
    return bind(squeeze_p, x, dimensions=tuple(dimensions)) if dimensions else x


def _squeeze_shape(x: ShapedArray, *, dimensions: tuple[int, ...]) -> ShapedArray:
    for d in dimensions:
        if not 0 <= d < x.ndim or x.shape[d] != 1:
            raise LocatedValueError(f"squeeze: axis {d} of {x} does not have size 1")
    return ShapedArray(tuple(s for i, s in enumerate(x.shape) if i not in dimensions), x.dtype)


squeeze_p = define(
    "squeeze",
    lambda x, *, dimensions: np.squeeze(x, axis=dimensions),
    _squeeze_shape,
    vjp=(_back_to_shape,),
    jvp=(lambda t, ans, x, *, dimensions: squeeze(t, dimensions),),
    batch=lambda prim, args, dims, *, dimensions: (
        squeeze(_front(args[0], dims[0]), tuple(d + 1 for d in dimensions)),
        0,
    ),
    emit=lambda ins, p, avals: _emit_reshape(
        ins[0],
        avals[0],
        _squeeze_shape(avals[0], dimensions=p["dimensions"]).shape,
        f"np.squeeze({{0}}, axis={p['dimensions']!r})",
    ),
)


def expand_dims(x: Any, dimensions: tuple[int, ...]) -> Any:
    return bind(expand_dims_p, x, dimensions=tuple(dimensions)) if dimensions else x


def _expand_shape(x: ShapedArray, *, dimensions: tuple[int, ...]) -> ShapedArray:
    nd = x.ndim + len(dimensions)
    shape, it = [], iter(x.shape)
    for i in range(nd):
        shape.append(1 if i in dimensions else next(it))
    return ShapedArray(tuple(shape), x.dtype)


expand_dims_p = define(
    "expand_dims",
    lambda x, *, dimensions: np.expand_dims(x, dimensions),
    _expand_shape,
    vjp=(_back_to_shape,),
    jvp=(lambda t, ans, x, *, dimensions: expand_dims(t, dimensions),),
    batch=lambda prim, args, dims, *, dimensions: (
        expand_dims(_front(args[0], dims[0]), tuple(d + 1 for d in dimensions)),
        0,
    ),
    emit=lambda ins, p, avals: _emit_reshape(
        ins[0],
        avals[0],
        _expand_shape(avals[0], dimensions=p["dimensions"]).shape,
        f"np.expand_dims({{0}}, {p['dimensions']!r})",
    ),
)


# --- transpose ---------------------------------------------------------------------------
def transpose(x: Any, permutation: tuple[int, ...]) -> Any:
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return bind(transpose_p, x, permutation=permutation)


def _transpose_shape(x: ShapedArray, *, permutation: tuple[int, ...]) -> ShapedArray:
    if sorted(permutation) != list(range(x.ndim)):
        raise LocatedValueError(f"transpose: {permutation} is not a permutation of the axes of {x}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)


def _emit_transpose(ins: list[str], params: dict[str, Any], avals: list[ShapedArray]) -> str:
    # The ndarray method: ~0.1 us instead of np.transpose's ~0.8 us (it matters in loops).
    perm = params["permutation"]
    if avals[0].ndim == 0 or not ins[0].isidentifier():
        return f"np.transpose({ins[0]}, {perm!r})"
    if perm == tuple(range(len(perm) - 1, -1, -1)):
        return f"{ins[0]}.T"
    return f"{ins[0]}.transpose({perm!r})"


transpose_p = define(
    "transpose",
    lambda x, *, permutation: np.transpose(x, permutation),
    _transpose_shape,
    vjp=(lambda g, ans, x, *, permutation: transpose(g, tuple(np.argsort(permutation))),),
    jvp=(lambda t, ans, x, *, permutation: transpose(t, permutation),),
    batch=lambda prim, args, dims, *, permutation: (
        transpose(_front(args[0], dims[0]), (0,) + tuple(p + 1 for p in permutation)),
        0,
    ),
    emit=_emit_transpose,
    simplify=_simplify_transpose,
)


# --- basic indexing ----------------------------------------------------------------------
class Slice(NamedTuple):
    start: int | None
    stop: int | None
    step: int | None

    def __repr__(self) -> str:
        s = "" if self.start is None else str(self.start)
        s += ":" + ("" if self.stop is None else str(self.stop))
        if self.step is not None:
            s += ":" + str(self.step)
        return s


class Index(tuple):
    """A hashable basic index (ints, Slices, None), printed in numpy syntax."""

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(i) for i in self) + "]"

    def to_numpy(self) -> tuple[Any, ...]:
        return tuple(slice(*i) if isinstance(i, Slice) else i for i in self)


def getitem(x: Any, idx: Index) -> Any:
    return bind(getitem_p, x, idx=idx)


def _index_shape(shape: tuple[int, ...], idx: Index) -> tuple[int, ...]:
    # Index a zero-strided view: numpy's exact rules, no allocation.
    return np.broadcast_to(np.zeros((), np.bool_), shape)[idx.to_numpy()].shape


def _getitem_shape(x: ShapedArray, *, idx: Index) -> ShapedArray:
    try:
        return ShapedArray(_index_shape(x.shape, idx), x.dtype)
    except IndexError as e:
        raise LocatedValueError(f"indexing {x} with {idx!r}: {e}") from None


def _getitem_batch(prim: Any, args: Any, dims: Any, *, idx: Index) -> Any:
    x = _front(args[0], dims[0])
    return getitem(x, Index((Slice(None, None, None),) + tuple(idx))), 0


getitem_p = define(
    "getitem",
    lambda x, *, idx: x[idx.to_numpy()],
    _getitem_shape,
    vjp=(lambda g, ans, x, *, idx: scatter_add(g, idx, np.shape(x)),),
    jvp=(lambda t, ans, x, *, idx: getitem(t, idx),),
    batch=_getitem_batch,
    emit=lambda ins, p: f"{ins[0]}{p['idx']!r}",
)


def scatter_add(g: Any, idx: Index, shape: tuple[int, ...]) -> Any:
    return bind(scatter_add_p, g, idx=idx, shape=tuple(shape))


def _scatter_add_impl(g: Any, *, idx: Index, shape: tuple[int, ...]) -> Any:
    out = np.zeros(shape, dtype=np.result_type(g))
    out[idx.to_numpy()] = g  # basic indices never repeat a position
    return out


def _scatter_add_batch(prim: Any, args: Any, dims: Any, *, idx: Index, shape: Any) -> Any:
    g = _front(args[0], dims[0])
    b = np.shape(g)[0]
    return scatter_add(g, Index((Slice(None, None, None),) + tuple(idx)), (b,) + tuple(shape)), 0


scatter_add_p = define(
    "scatter_add",
    _scatter_add_impl,
    lambda g, *, idx, shape: ShapedArray(shape, g.dtype),
    vjp=(lambda ct, ans, g, *, idx, shape: getitem(ct, idx),),
    jvp=(lambda t, ans, g, *, idx, shape: scatter_add(t, idx, shape),),
    batch=_scatter_add_batch,
    emit=None,
    fresh=True,
)


# --- concatenate -------------------------------------------------------------------------
def concatenate(xs: Any, axis: int) -> Any:
    if len(xs) == 1:
        return xs[0]
    return bind(concatenate_p, *xs, axis=axis)


def _concat_shape(*xs: ShapedArray, axis: int) -> ShapedArray:
    first = xs[0]
    for x in xs[1:]:
        if x.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(x.shape, first.shape)) if i != axis
        ):
            raise LocatedValueError(
                f"concatenate: shapes {', '.join(map(str, xs))} differ outside axis {axis}"
            )
    size = sum(x.shape[axis] for x in xs)
    shape = first.shape[:axis] + (size,) + first.shape[axis + 1 :]
    dtype = first.dtype
    for x in xs[1:]:
        dtype = ufunc_dtype(np.add, ShapedArray((), dtype), x)
    return ShapedArray(shape, dtype)


def _concat_vjp(i: int) -> Any:
    def rule(g: Any, ans: Any, *xs: Any, axis: int) -> Any:
        start = sum(np.shape(x)[axis] for x in xs[:i])
        stop = start + np.shape(xs[i])[axis]
        full = Slice(None, None, None)
        return getitem(g, Index((full,) * axis + (Slice(start, stop, None),)))

    return rule


def _concat_jvp(i: int) -> Any:
    # Tangent contribution of operand i: its tangent placed in the output, zeros elsewhere.
    def rule(t: Any, ans: Any, *xs: Any, axis: int) -> Any:
        start = sum(np.shape(x)[axis] for x in xs[:i])
        stop = start + np.shape(xs[i])[axis]
        idx = Index((Slice(None, None, None),) * axis + (Slice(start, stop, None),))
        return scatter_add(t, idx, np.shape(ans))

    return rule


def _concat_batch(prim: Any, args: Any, dims: Any, *, axis: int) -> Any:
    b = batch_size(args, dims)
    new = []
    for x, d in zip(args, dims):
        if d is None:
            shape = np.shape(x)
            x = broadcast_in_dim(x, (b,) + tuple(shape), tuple(range(1, len(shape) + 1)))
        else:
            x = _front(x, d)
        new.append(x)
    return concatenate(new, axis + 1), 0


class _ConcatRules(tuple):
    """Per-operand rules for a variadic primitive: rule i for operand i, any count."""

    def __new__(cls, make: Any) -> _ConcatRules:
        obj = super().__new__(cls, ())
        obj.make = make  # type: ignore[attr-defined]
        obj.cache = {}  # type: ignore[attr-defined]
        return obj

    def __getitem__(self, i: Any) -> Any:
        r = self.cache.get(i)  # type: ignore[attr-defined]
        if r is None:
            r = self.cache[i] = self.make(i)  # type: ignore[attr-defined]
        return r


concatenate_p = define(
    "concatenate",
    lambda *xs, axis: np.concatenate(xs, axis=axis),
    _concat_shape,
    vjp=_ConcatRules(_concat_vjp),
    jvp=_ConcatRules(_concat_jvp),
    batch=_concat_batch,
    emit=lambda ins, p: f"np.concatenate(({', '.join(ins)},), axis={p['axis']})",
    fresh=True,
)


# --- reduce_sum: the transpose of broadcast_in_dim -----------------------------------------
def _simplify_reduce_sum(e: Any, producer: Any, consts: Any) -> Any:
    """sum(broadcast(x), new axes) = x · (number of copies) — the pair reverse mode makes."""
    x = e.inputs[0]
    axes = e.params["axes"]
    if not axes and x.aval == e.outputs[0].aval:
        return x
    p = producer.get(x)
    if p is None or p.prim is not broadcast_in_dim_p:
        return None
    src = p.inputs[0]
    shape, bdims = p.params["shape"], p.params["broadcast_dimensions"]
    if set(axes) != set(range(len(shape))) - set(bdims):
        return None
    if any(src.aval.shape[i] != shape[d] for i, d in enumerate(bdims)):
        return None
    if src.aval.dtype != e.outputs[0].aval.dtype or src.aval.dtype.kind not in "fc":
        return None
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if n == 1:
        return src
    # mul is an elementwise primitive (a family above this one): found through the table.
    return (registry["mul"], [src, Literal(float(n), ShapedArray((), np.float64, weak=True))], {})


def reduce_sum(x: Any, axes: tuple[int, ...]) -> Any:
    return bind(reduce_sum_p, x, axes=tuple(axes))


def _reduce_shape(name: str) -> Any:
    def rule(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
        for a in axes:
            if not 0 <= a < x.ndim:
                raise LocatedValueError(f"{name}: axis {a} is out of range for {x}")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        if name == "reduce_sum":
            dtype = np.sum(np.zeros((1,), x.dtype)).dtype
        else:
            if any(x.shape[a] == 0 for a in axes):
                raise LocatedValueError(f"{name}: zero-size axis in {x} has no identity")
            dtype = x.dtype
        return ShapedArray(shape, dtype)

    return rule


def _expand_reduced(g: Any, x: Any, axes: tuple[int, ...]) -> Any:
    shape = np.shape(x)
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return broadcast_in_dim(g, shape, kept)


def _reduce_batch(prim: Any, args: Any, dims: Any, *, axes: tuple[int, ...]) -> Any:
    x = _front(args[0], dims[0])
    return bind(prim, x, axes=tuple(a + 1 for a in axes)), 0


reduce_sum_p = define(
    "reduce_sum",
    lambda x, *, axes: np.sum(x, axis=axes),
    _reduce_shape("reduce_sum"),
    vjp=(lambda g, ans, x, *, axes: _expand_reduced(g, x, axes),),
    jvp=(lambda t, ans, x, *, axes: reduce_sum(t, axes),),
    batch=_reduce_batch,
    emit=lambda ins, p, avals: (
        f"np.add.reduce({ins[0]}, axis={p['axes']}"
        + (
            ")"
            if avals[0].dtype.kind in "fc"
            else f", dtype=np.sum(np.zeros(1, np.{avals[0].dtype.name})).dtype)"
        )
    ),
    simplify=_simplify_reduce_sum,
    fresh=True,
    fuse_reduce=("({0} + {1})", 0.0),
)
