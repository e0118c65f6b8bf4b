"""Shapes and joining: reshape, transpose, squeeze, broadcasting, concatenate/stack/split,
flips and rolls, padding, triangles and diagonals, ``take``/``take_along_axis``."""

from __future__ import annotations

import builtins
import operator
from collections.abc import Sequence
from typing import Any

import numpy as _np

from funcgrad.core.errors import (
    LocatedIndexError,
    LocatedNotImplementedError,
    LocatedTypeError,
    LocatedValueError,
)
from funcgrad.core.tracer import Tracer, bind
from funcgrad.numpy._core import (
    _concrete,
    _dtype,
    _ndim,
    _norm_axes,
    _norm_axis,
    _operand,
    _shape,
)
from funcgrad.numpy._elementwise import _no_out, clip, remainder
from funcgrad.primitives import elementwise as _ew
from funcgrad.primitives import numpy_extra as _nx
from funcgrad.primitives import structural as _st
from funcgrad.primitives.structural import Index, Slice

__all__ = [
    "row_stack",
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "atleast_1d",
    "atleast_2d",
    "concatenate",
    "hstack",
    "vstack",
    "atleast_3d",
    "rollaxis",
    "broadcast_arrays",
    "tile",
    "repeat",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "array_split",
    "split",
    "hsplit",
    "vsplit",
    "dsplit",
    "dstack",
    "column_stack",
    "append",
    "delete",
    "pad",
    "tril",
    "triu",
    "diagonal",
    "diag",
    "diagflat",
    "take_along_axis",
    "take",
]


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
        raise LocatedTypeError(f"reshape got unexpected keyword arguments {sorted(kwargs)}")
    a = _operand(a)
    shape = _shape(a)
    if isinstance(newshape, (int, _np.integer)):
        newshape = (int(newshape),)
    newshape = tuple(int(s) for s in newshape)
    size = 1
    for s in shape:
        size *= s
    if newshape.count(-1) > 1:
        raise LocatedValueError("reshape: can only specify one unknown dimension (-1)")
    if -1 in newshape:
        known = 1
        for s in newshape:
            if s != -1:
                known *= s
        if known == 0 or size % known:
            raise LocatedValueError(f"cannot reshape array of size {size} into shape {newshape}")
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
                raise LocatedValueError(
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
        raise LocatedValueError(
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
        raise LocatedValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    nd = _ndim(arrays[0])
    if nd == 0:
        raise LocatedValueError("zero-dimensional arrays cannot be concatenated")
    for x in arrays:
        if _ndim(x) != nd:
            raise LocatedValueError(
                "concatenate: all the input arrays must have the same number of dimensions, "
                f"got shapes {[_shape(y) for y in arrays]}"
            )
    return _st.concatenate(arrays, _norm_axis(axis, nd))


def hstack(arrays: Sequence[Any]) -> Any:
    arrays = [atleast_1d(x) for x in arrays]
    return concatenate(arrays, axis=0 if _ndim(arrays[0]) == 1 else 1)


def vstack(arrays: Sequence[Any]) -> Any:
    return concatenate([atleast_2d(x) for x in arrays], axis=0)


def row_stack(arrays: Sequence[Any]) -> Any:
    """Alias of ``vstack`` (numpy's older name)."""
    return vstack(arrays)


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
            raise LocatedValueError("negative dimensions are not allowed")
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
        raise LocatedValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    if _ndim(m) < 1:
        raise LocatedValueError("Input must be >= 1-d.")
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
        raise LocatedValueError("len(axes) must be 2.")
    a0, a1 = _norm_axis(axes[0], nd), _norm_axis(axes[1], nd)
    if a0 == a1:
        raise LocatedValueError("Axes must be different.")
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
            raise LocatedValueError("number sections must be larger than 0.")
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
            raise LocatedValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) == 0:
        raise LocatedValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if _ndim(ary) > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) < 2:
        raise LocatedValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    if _ndim(ary) < 3:
        raise LocatedValueError("dsplit only works on arrays of 3 or more dimensions")
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
        raise LocatedValueError("index can't contain negative values")
    if mode == "constant":
        cvals = _np.broadcast_to(_np.asarray(kwargs.pop("constant_values", 0)), (nd, 2))
    elif mode in _PAD_INDEX_MODES:
        if kwargs.pop("reflect_type", "even") != "even":
            raise LocatedNotImplementedError("pad: reflect_type='odd' is not supported")
    else:
        raise LocatedNotImplementedError(
            f"pad mode {mode!r} is not supported by funcgrad.numpy; use one of constant, "
            + ", ".join(_PAD_INDEX_MODES)
        )
    if kwargs:
        raise LocatedTypeError(f"pad got unsupported keyword arguments {sorted(kwargs)}")
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
                raise LocatedValueError(
                    f"can't extend empty axis {ax} using modes other than 'constant'"
                )
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
        raise LocatedValueError("diag requires an array of at least two dimensions")
    i, j = _norm_axis(axis1, nd), _norm_axis(axis2, nd)
    if i == j:
        raise LocatedValueError("axis1 and axis2 cannot be the same")
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


def diag(v: Any, k: int = 0) -> Any:
    """``numpy.diag``: the k-th diagonal of a matrix, or a matrix with ``v`` on it."""
    v = _operand(v)
    nd = _ndim(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise LocatedValueError("Input must be 1- or 2-d.")
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
            raise LocatedIndexError(
                f"arrays used as indices must be of integer type, got {idx.aval}"
            )
        return idx
    i = _np.asarray(idx)
    if i.dtype.kind not in "iu":
        if i.size == 0:
            return i.astype(_np.intp)
        raise LocatedIndexError(f"arrays used as indices must be of integer type, got {i.dtype}")
    return i


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``numpy.take_along_axis``; indices may be concrete or traced integers. The gradient
    scatter-adds (repeated indices accumulate)."""
    a = _operand(arr)
    idx = _index_operand(indices)
    if axis is None:
        return take_along_axis(ravel(a), ravel(idx), 0)
    if _ndim(idx) != _ndim(a):
        raise LocatedValueError("`indices` and `arr` must have the same number of dimensions")
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
        raise LocatedValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap', got {mode!r}")
    ishape = _shape(idx)
    m = 1
    for s in ishape:
        m *= s
    flat = reshape(idx, tuple(m if d == ax else 1 for d in range(nd)))
    shape = _shape(a)
    if m and type(idx) is not Tracer and n == 0:
        raise LocatedIndexError(f"cannot do a non-empty take from an empty axes (axis {ax})")
    got = (
        _nx.take_along_axis(a, flat, ax)
        if m
        else _np.zeros(shape[:ax] + (0,) + shape[ax + 1 :], _dtype(a))
    )
    return reshape(got, shape[:ax] + ishape + shape[ax + 1 :])
