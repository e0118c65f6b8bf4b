"""Index-producing and index-consuming functions: ``nonzero``, ``argwhere``, ``flatnonzero``,
``extract``, ``compress``, ``count_nonzero``, ``choose``, ``lexsort``, ``*_indices_from``,
``mask_indices``, ``ravel_multi_index``, ``unravel_index``, ``ix_``, ``s_``, ``index_exp``,
``mgrid``, ``ogrid``, the functional updates ``put``, ``place``, ``put_along_axis``,
``fill_diagonal``, ``insert``, and the shape helpers ``resize``, ``block``, ``concat``,
``unstack``, ``copy``.

Output shapes that depend on values (``nonzero``, ``extract``, ``compress`` ...) work on
concrete values (outside transforms, and under ``grad``, whose traced values are concrete);
under ``jit``/``vmap`` pass ``size=`` (and ``fill_value=``) as in JAX: the first ``size``
results are returned, padded with ``fill_value``. Selected *values* are gathered from the input,
so they stay differentiable. The update functions are functional (JAX's ``inplace=False``):
they return a new array.

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.nonzero(np.array([0, 3, 0, 5]), size=3, fill_value=-1)
(Array([ 1,  3, -1]),)
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as _np

from funcgrad.core.errors import (
    ConcretizationError,
    LocatedIndexError,
    LocatedTypeError,
    LocatedValueError,
)
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _indexing
from funcgrad.numpy._core import (
    _dtype,
    _ndim,
    _norm_axis,
    _operand,
    _shape,
    asarray,
    astype,
    stack,
)
from funcgrad.numpy._creation import arange, zeros
from funcgrad.numpy._elementwise import (
    floor_divide,
    less,
    logical_not,
    multiply,
    not_equal,
    remainder,
    where,
)
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import (
    broadcast_arrays,
    broadcast_to,
    concatenate,
    moveaxis,
    ravel,
    reshape,
    take,
    take_along_axis,
)
from funcgrad.primitives import numpy_extra as _nx

__all__ = [
    "nonzero",
    "argwhere",
    "flatnonzero",
    "extract",
    "compress",
    "count_nonzero",
    "choose",
    "lexsort",
    "diag_indices_from",
    "tril_indices_from",
    "triu_indices_from",
    "mask_indices",
    "ravel_multi_index",
    "unravel_index",
    "ix_",
    "s_",
    "index_exp",
    "mgrid",
    "ogrid",
    "put",
    "place",
    "put_along_axis",
    "fill_diagonal",
    "insert",
    "resize",
    "block",
    "concat",
    "unstack",
    "copy",
]


def _abstract(x: Any) -> bool:
    return type(x) is Tracer and x.val is None


def value_count(mask: Any, name: str) -> int:
    """The number of True entries of a concrete mask; an abstract one asks for ``size=``."""
    if _abstract(mask):
        raise ConcretizationError(
            f"{name}: the size of the result depends on the values of an abstract traced array "
            f"{mask.aval} (traced by {mask._trace.kind}); pass size=N (and fill_value=...) for a "
            "fixed-size result, as in JAX, or call it outside jit/vmap"
        )
    m = mask.val if type(mask) is Tracer else mask
    return int(_np.count_nonzero(m))


def true_positions(mask1d: Any, size: int) -> tuple[Any, Any]:
    """Positions of the first ``size`` True entries of a 1-D mask, in order (traceable), and
    which of the ``size`` slots hold one (the rest hold position 0)."""
    n = _shape(mask1d)[0]
    if n == 0:
        return zeros((size,), _np.intp), zeros((size,), bool)
    order = _nx.argsort(logical_not(mask1d), 0, "stable")  # True entries first, in order
    if size <= n:
        pos = order[:size]
    else:
        pos = concatenate([order, zeros((size - n,), _dtype(order))])
    valid = less(arange(size), _sum(astype(mask1d, _np.intp)))
    return where(valid, pos, 0), valid


def _size(size: Any, mask: Any, name: str) -> int:
    if size is None:
        return value_count(mask, name)
    s = operator.index(size)
    if s < 0:
        raise LocatedValueError(f"{name}: size must be >= 0, got {s}")
    return s


def _unravel(flat: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    out = []
    for d in reversed(shape):
        out.append(remainder(flat, d) if d else flat)
        flat = floor_divide(flat, d) if d else flat
    return tuple(reversed(out))


def nonzero(a: Any, *, size: Any = None, fill_value: Any = None) -> tuple[Any, ...]:
    """Indices of the nonzero entries, one integer array per axis (``size=``/``fill_value=``
    as in JAX; ``fill_value`` may be one value per axis)."""
    a = _operand(a)
    if _ndim(a) == 0:
        raise LocatedValueError(
            "nonzero of a 0-d array is not supported (numpy 2 raises too); use atleast_1d"
        )
    m = ravel(not_equal(a, 0))
    s = _size(size, m, "nonzero")
    pos, valid = true_positions(m, s)
    coords = _unravel(pos, _shape(a))
    if fill_value is None:
        return coords
    fills = fill_value if isinstance(fill_value, (tuple, list)) else (fill_value,) * len(coords)
    if len(fills) != len(coords):
        raise LocatedValueError(
            f"nonzero: fill_value has {len(fills)} entries for a {len(coords)}-d array"
        )
    return tuple(where(valid, c, f) for c, f in zip(coords, fills))


def flatnonzero(a: Any, *, size: Any = None, fill_value: Any = None) -> Any:
    """Indices of the nonzero entries of ``ravel(a)``."""
    return nonzero(ravel(_operand(a)), size=size, fill_value=fill_value)[0]


def argwhere(a: Any, *, size: Any = None, fill_value: Any = None) -> Any:
    """``(N, a.ndim)`` indices of the nonzero entries."""
    a = _operand(a)
    if _ndim(a) == 0:
        k = _shape(nonzero(reshape(a, (1,)), size=size)[0])[0]
        return zeros((k, 0), _np.intp)  # numpy: one empty index row if a is nonzero
    return stack(nonzero(a, size=size, fill_value=fill_value), axis=1)


def compress(
    condition: Any,
    a: Any,
    axis: Any = None,
    *,
    size: Any = None,
    fill_value: Any = 0,
    out: Any = None,
) -> Any:
    """The slices of ``a`` along ``axis`` where ``condition`` (1-D) is true; differentiable in
    ``a`` (a gather). A shorter ``condition`` selects among the first entries (numpy)."""
    if out is not None:
        raise LocatedTypeError("compress: out= is not supported (arrays are immutable)")
    a = _operand(a)
    c = ravel(_operand(condition))
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    n = _shape(a)[ax]
    if _shape(c)[0] > n:
        c = c[:n]  # numpy raises only if a True lies beyond; checked on concrete values below
    c = not_equal(c, 0) if _dtype(c) != _np.bool_ else c
    s = _size(size, c, "compress")
    pos, valid = true_positions(c, s)
    got = take(a, pos, axis=ax)
    vshape = [1] * _ndim(a)
    vshape[ax] = s
    return where(reshape(valid, tuple(vshape)), got, fill_value)


def extract(condition: Any, arr: Any, *, size: Any = None, fill_value: Any = 0) -> Any:
    """``ravel(arr)[ravel(condition) != 0]`` (differentiable in ``arr``)."""
    return compress(
        ravel(_operand(condition)), ravel(_operand(arr)), size=size, fill_value=fill_value
    )


def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    """Number of nonzero entries (integer, traceable)."""
    return _sum(astype(not_equal(_operand(a), 0), _np.intp), axis=axis, keepdims=keepdims)


def _in_range(i: Any, n: int, mode: str, what: str, invalid: str) -> Any:
    """Integer indices ``i`` into ``range(n)`` under numpy's ``mode``: ``"wrap"`` (modulo
    ``n``), ``"clip"`` (into ``[0, n - 1]``) or ``"raise"`` (a concrete entry out of range
    raises ``ValueError(what: invalid)``; traced entries are not checked)."""
    if mode == "wrap":
        return remainder(i, n)
    if mode == "clip":
        return where(less(i, 0), 0, where(less(i, n), i, n - 1))
    if mode != "raise":
        raise LocatedValueError(f"{what}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if not _abstract(i):
        v = i.val if type(i) is Tracer else i
        if _np.size(v) and (_np.min(v) < 0 or _np.max(v) >= n):
            raise LocatedValueError(f"{what}: {invalid}")
    return i


def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """``choices[a[i]][i]`` with broadcasting; differentiable in ``choices``."""
    if out is not None:
        raise LocatedTypeError("choose: out= is not supported (arrays are immutable)")
    idx = _operand(a)
    if _dtype(idx).kind not in "iu":
        raise LocatedTypeError(f"choose: index array must be integer, got {_dtype(idx)}")
    ch = [_operand(c) for c in choices] if isinstance(choices, (list, tuple)) else None
    if ch is None:
        choices = _operand(choices)
        ch = [choices[i] for i in range(_shape(choices)[0])]
    n = len(ch)
    idx = _in_range(idx, n, mode, "choose", "invalid entry in choice array")
    parts = broadcast_arrays(idx, *ch)
    idx, ch = parts[0], parts[1:]
    st = stack(list(ch), axis=0)
    return take_along_axis(st, reshape(idx, (1, *_shape(idx))), axis=0)[0]


def lexsort(keys: Any, axis: int = -1) -> Any:
    """Indirect stable sort by several keys, the last key primary (integer result)."""
    ks = [_operand(k) for k in keys] if isinstance(keys, (list, tuple)) else None
    if ks is None:
        keys = _operand(keys)
        ks = [keys[i] for i in range(_shape(keys)[0])]
    if not ks:
        raise LocatedTypeError("lexsort: need at least one key")
    ks = list(broadcast_arrays(*ks))
    ax = _norm_axis(axis, _ndim(ks[0]))
    perm = _nx.argsort(ks[0], ax, "stable")
    for k in ks[1:]:
        sub = _nx.argsort(take_along_axis(k, perm, axis=ax), ax, "stable")
        perm = take_along_axis(perm, sub, axis=ax)
    return perm


def diag_indices_from(arr: Any) -> tuple[Any, ...]:
    """``diag_indices(n, arr.ndim)`` for an array with all sides equal."""
    shape = _shape(_operand(arr))
    if len(shape) < 2 or len(set(shape)) != 1:
        raise LocatedValueError("diag_indices_from: input must be at least 2-d with equal sides")
    return _np.diag_indices(shape[0], len(shape))


def tril_indices_from(arr: Any, k: int = 0) -> tuple[Any, Any]:
    """Indices of the lower triangle of a 2-D array."""
    shape = _shape(_operand(arr))
    if len(shape) != 2:
        raise LocatedValueError("tril_indices_from: input array must be 2-d")
    return _np.tril_indices(shape[0], k, shape[1])


def triu_indices_from(arr: Any, k: int = 0) -> tuple[Any, Any]:
    """Indices of the upper triangle of a 2-D array."""
    shape = _shape(_operand(arr))
    if len(shape) != 2:
        raise LocatedValueError("triu_indices_from: input array must be 2-d")
    return _np.triu_indices(shape[0], k, shape[1])


def mask_indices(n: int, mask_func: Any, k: int = 0, *, size: Any = None) -> tuple[Any, Any]:
    """Indices where ``mask_func(ones((n, n)), k)`` is nonzero (``size=`` as ``nonzero``)."""
    from funcgrad.numpy._creation import ones

    return nonzero(mask_func(ones((n, n), int), k), size=size)


def ravel_multi_index(
    multi_index: Sequence[Any], dims: Sequence[int], mode: str = "raise", order: str = "C"
) -> Any:
    """Flat indices of a tuple of index arrays (traceable; ``mode='raise'`` checks concrete
    values, ``'wrap'``/``'clip'`` as numpy)."""
    dims = tuple(operator.index(d) for d in dims)
    idx = [_operand(i) for i in multi_index]
    if len(idx) != len(dims):
        raise LocatedValueError("ravel_multi_index: need one index array per dimension")
    if order not in ("C", "F"):
        raise LocatedValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    out = []
    for i, d in zip(idx, dims):
        if _dtype(i).kind not in "iu":
            raise LocatedTypeError("ravel_multi_index: only int indices permitted")
        i = _in_range(i, d, mode, "ravel_multi_index", "invalid entry in coordinates array")
        out.append(i)
    strides = _np.ones(len(dims), _np.int64)
    seq = range(len(dims) - 2, -1, -1) if order == "C" else range(1, len(dims))
    for j in seq:
        strides[j] = strides[j + 1] * dims[j + 1] if order == "C" else strides[j - 1] * dims[j - 1]
    total = multiply(astype(out[0], _np.intp), int(strides[0]))
    for i, s in zip(out[1:], strides[1:]):
        total = total + multiply(astype(i, _np.intp), int(s))
    return total


def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[Any, ...]:
    """Tuple of coordinate arrays for flat indices into ``shape`` (traceable). Negative indices
    count from the end as in JAX; concrete out-of-range indices raise as numpy."""
    shape = tuple(operator.index(s) for s in shape)
    idx = _operand(indices)
    size = int(_np.prod(shape))
    if not _abstract(idx):
        v = _np.asarray(idx.val if type(idx) is Tracer else idx)
        if v.size and (v.max() >= size or v.min() < -size):
            raise LocatedValueError(f"unravel_index: index out of bounds for size {size}")
    idx = where(less(idx, 0), idx + size, idx)
    return _unravel(idx, shape)


def ix_(*args: Any) -> tuple[Any, ...]:
    """Open mesh of 1-D index arrays (traced arrays allowed; booleans must be concrete)."""
    out = []
    n = len(args)
    for k, a in enumerate(args):
        a = _operand(a)
        if _ndim(a) != 1:
            raise LocatedValueError("ix_: cross index must be 1 dimensional")
        if _dtype(a) == _np.bool_:
            a = nonzero(a)[0]
        out.append(reshape(a, (1,) * k + (-1,) + (1,) * (n - k - 1)))
    return tuple(out)


s_ = _np.s_
index_exp = _np.index_exp
mgrid = _np.mgrid
ogrid = _np.ogrid


def _updater(a: Any) -> Any:
    return _indexing.IndexUpdateHelper(a)


def _no_inplace(inplace: bool, name: str) -> None:
    if inplace:
        raise LocatedValueError(
            f"{name}: funcgrad arrays are immutable, so {name} cannot modify its argument; "
            f"call {name}(..., inplace=False) and use the returned array (as in JAX)"
        )


def put(a: Any, ind: Any, v: Any, mode: Any = None, *, inplace: bool = True) -> Any:
    """``a`` with ``ravel(a)[ind] = v`` (``v`` repeated to fit); needs ``inplace=False``.
    The default mode clips out-of-range indices, negative ones to 0 (JAX; numpy's default
    ``'raise'`` counts negative indices from the end and is available as ``mode='raise'``);
    ``'wrap'`` as numpy. Differentiable in ``a`` and ``v``."""
    _no_inplace(inplace, "put")
    a = _operand(a)
    flat = ravel(a)
    n = _shape(flat)[0]
    ind = ravel(_operand(ind))
    if mode == "wrap":
        ind = remainder(ind, n)
    elif mode in (None, "clip"):  # JAX's default; negative indices clip to 0 (as numpy's clip)
        ind = where(less(ind, 0), 0, where(less(ind, n), ind, n - 1))
    elif mode == "raise":  # numpy's default: negative indices count from the end
        if not _abstract(ind):
            v_ = ind.val if type(ind) is Tracer else ind
            if _np.size(v_) and (_np.max(v_) >= n or _np.min(v_) < -n):
                raise LocatedIndexError(f"put: index out of bounds for size {n}")
        ind = where(less(ind, 0), ind + n, ind)
    else:
        raise LocatedValueError(f"put: mode must be 'clip', 'wrap' or 'raise', got {mode!r}")
    v = ravel(_operand(v))
    m = _shape(ind)[0]
    if _shape(v)[0] != m and m:
        reps = -(-m // max(_shape(v)[0], 1))
        v = concatenate([v] * reps)[:m]
    return reshape(_updater(flat)[ind].set(astype(v, _dtype(a))), _shape(a))


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """``arr`` with the entries where ``mask`` is true replaced by ``vals`` in order
    (``vals`` repeated to fit, as numpy); needs ``inplace=False``. Traceable: the k-th true
    entry takes ``vals[k % len(vals)]``."""
    _no_inplace(inplace, "place")
    arr = _operand(arr)
    m = ravel(broadcast_to(not_equal(_operand(mask), 0), _shape(arr)))
    vals = ravel(_operand(vals))
    nv = _shape(vals)[0]
    if nv == 0:
        return arr
    from funcgrad.numpy._reductions import cumsum

    k = remainder(cumsum(astype(m, _np.intp)) - 1, nv)
    picked = take(vals, where(m, k, 0))
    return reshape(where(m, astype(picked, _dtype(arr)), ravel(arr)), _shape(arr))


def put_along_axis(
    arr: Any, indices: Any, values: Any, axis: Any, inplace: bool = True, *, mode: Any = None
) -> Any:
    """``arr`` with ``values`` written at ``indices`` along ``axis`` (needs ``inplace=False``);
    differentiable in ``arr`` and ``values``."""
    _no_inplace(inplace, "put_along_axis")
    arr = _operand(arr)
    idx = _operand(indices)
    if axis is None:
        return put(arr, idx, values, mode=mode, inplace=False)
    nd = _ndim(arr)
    ax = _norm_axis(axis, nd)
    if _ndim(idx) != nd:
        raise LocatedValueError("put_along_axis: indices must have the same ndim as arr")
    shape = _np.broadcast_shapes(
        tuple(s if d != ax else _shape(idx)[ax] for d, s in enumerate(_shape(arr))), _shape(idx)
    )
    idx = broadcast_to(idx, shape)
    vals = broadcast_to(astype(_operand(values), _dtype(arr)), shape)
    grids = _np.ix_(*[_np.arange(s) for s in shape])
    key = tuple(idx if d == ax else grids[d] for d in range(nd))
    return _updater(arr)[key].set(vals)


def fill_diagonal(a: Any, val: Any, wrap: bool = False, *, inplace: bool = True) -> Any:
    """``a`` with its main diagonal set to ``val`` (repeated to fit); needs ``inplace=False``."""
    _no_inplace(inplace, "fill_diagonal")
    a = _operand(a)
    shape = _shape(a)
    if len(shape) < 2:
        raise LocatedValueError("fill_diagonal: array must be at least 2-d")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise LocatedValueError("fill_diagonal: all dimensions of input must be of equal length")
    if len(shape) == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        step = 1 + int(_np.cumprod(shape[:-1]).sum())
        end = None
    total = int(_np.prod(shape))
    pos = _np.arange(total)[:end][::step]
    return put(a, pos, val, mode="clip", inplace=False)


def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    """``numpy.insert`` with concrete ``obj``; differentiable in ``arr`` and ``values``.
    numpy's own ``insert`` runs on index stand-ins (so every broadcasting rule is numpy's);
    the result gathers from ``concatenate([ravel(arr), ravel(values)])``."""
    from funcgrad.numpy._core import _concrete

    a = _operand(arr)
    vals = astype(_operand(values), _dtype(a))
    if not isinstance(obj, slice):
        obj = _np.asarray(_concrete(obj, "insert(obj=...)"))
        if obj.dtype == bool:
            raise LocatedTypeError("insert: boolean obj is not supported (numpy refuses it too)")
    na = int(_np.prod(_shape(a)))
    a_idx = _np.arange(na).reshape(_shape(a))
    v_idx = na + _np.arange(int(_np.prod(_shape(vals)))).reshape(_shape(vals))
    where_ = _np.insert(a_idx, obj, v_idx, axis=axis)
    return take(concatenate([ravel(a), ravel(vals)]), where_)


def resize(a: Any, new_shape: Any) -> Any:
    """numpy's ``resize``: the flattened data repeated (or cut) to fill ``new_shape``."""
    a = ravel(_operand(a))
    shape = (operator.index(new_shape),) if _np.ndim(new_shape) == 0 else tuple(new_shape)
    total = int(_np.prod(shape))
    n = _shape(a)[0]
    if total == 0 or n == 0:
        return zeros(shape, _dtype(a))
    reps = -(-total // n)
    return reshape(concatenate([a] * reps)[:total], shape)


def block(arrays: Any) -> Any:
    """Assemble an array from nested lists of blocks (numpy's rules; traced blocks allowed)."""

    def depth(x: Any) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)

    if isinstance(arrays, tuple):
        raise LocatedTypeError("block: arrays is a tuple; only lists can be used to arrange blocks")
    d = depth(arrays)
    leaves: list[Any] = []

    def collect(x: Any, lvl: int) -> None:
        if isinstance(x, list):
            if lvl == d:
                raise LocatedValueError("block: list depths are mismatched")
            if not x:
                raise LocatedValueError("block: lists cannot be empty")
            for y in x:
                collect(y, lvl + 1)
        else:
            if lvl != d:
                raise LocatedValueError("block: list depths are mismatched")
            leaves.append(_operand(x))

    collect(arrays, 0)
    nd = max([d] + [_ndim(x) for x in leaves])

    def lift(x: Any) -> Any:
        return reshape(x, (1,) * (nd - _ndim(x)) + _shape(x))

    def rec(x: Any, lvl: int) -> Any:
        if not isinstance(x, list):
            return lift(_operand(x))
        return concatenate([rec(y, lvl + 1) for y in x], axis=-(d - lvl))

    return rec(arrays, 0)


def concat(arrays: Sequence[Any], /, *, axis: Any = 0) -> Any:
    """Array API ``concat`` (``concatenate``; ``axis=None`` flattens first)."""
    if axis is None:
        return concatenate([ravel(_operand(x)) for x in arrays])
    return concatenate([_operand(x) for x in arrays], axis=axis)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """Array API ``unstack``: the slices along ``axis`` as a tuple."""
    x = _operand(x)
    ax = _norm_axis(axis, _ndim(x))
    x = moveaxis(x, ax, 0)
    return tuple(x[i] for i in range(_shape(x)[0]))


def copy(a: Any, order: Any = None) -> Any:
    """A copy (funcgrad arrays are immutable: traced values are returned as they are)."""
    a = _operand(a)
    if type(a) is Tracer:
        return a
    return asarray(_np.array(a, copy=True))
