"""Set routines: ``unique`` (and the array API's ``unique_values``/``unique_counts``/
``unique_inverse``/``unique_all``), ``union1d``, ``intersect1d``, ``setdiff1d``,
``setxor1d``, ``isin``.

One traceable algorithm serves every call: sort, mark the first element of each run of
equal values, and keep the marked ones (``_indices.true_positions``). The number of results
is read from concrete values (outside transforms and under ``grad``); under ``jit``/``vmap``
pass ``size=`` (and ``fill_value=``) as in JAX. The returned values are gathered from the
input, so the gradient flows to the element each value came from (the first occurrence in
sorted order).

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.unique(np.array([3, 1, 3, 2]))
Array([1, 2, 3])
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError
from funcgrad.numpy._core import _concrete, _dtype, _operand, _shape, astype
from funcgrad.numpy._creation import arange, full
from funcgrad.numpy._elementwise import (
    isnan,
    less,
    logical_and,
    logical_not,
    logical_xor,
    not_equal,
    where,
)
from funcgrad.numpy._indices import true_positions, value_count
from funcgrad.numpy._reductions import any as _any
from funcgrad.numpy._reductions import cumsum, diff
from funcgrad.numpy._shape import concatenate, ravel, reshape, take
from funcgrad.primitives import numpy_extra as _nx

__all__ = [
    "unique",
    "unique_values",
    "unique_counts",
    "unique_inverse",
    "unique_all",
    "union1d",
    "intersect1d",
    "setdiff1d",
    "setxor1d",
    "isin",
]


class UniqueAllResult(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    values: Any
    inverse_indices: Any


def _firsts(s: Any, equal_nan: bool = True) -> Any:
    """Mask of the first element of each run of equal values in sorted 1-D ``s``."""
    n = _shape(s)[0]
    if n == 0:
        return astype(s, bool)
    new = not_equal(s[1:], s[:-1])
    if equal_nan and _dtype(s).kind in "fc":
        new = logical_and(new, logical_not(logical_and(isnan(s[1:]), isnan(s[:-1]))))
    return concatenate([_np.ones((1,), bool), new])


def _pick(values: Any, mask: Any, size: Any, fill_value: Any, name: str, default: Any) -> Any:
    """The entries of 1-D ``values`` where ``mask``, padded to ``size`` with ``fill_value``
    (``default(values)`` when None)."""
    s = value_count(mask, name) if size is None else operator.index(size)
    pos, valid = true_positions(mask, s)
    got = take(values, pos) if _shape(values)[0] else full((s,), 0, _dtype(values))
    if size is None:
        return got
    fill = default(got) if fill_value is None else fill_value
    return where(valid, got, astype(_operand(fill), _dtype(values)))


def _min_fill(got: Any) -> Any:
    # JAX fills with the smallest result: results are sorted, so the first one
    return got[0] if _shape(got)[0] else 0


def _zero_fill(got: Any) -> Any:
    return 0


def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis: Any = None,
    *,
    equal_nan: bool = True,
    size: Any = None,
    fill_value: Any = None,
    sorted: bool = True,  # noqa: A002
) -> Any:
    """Sorted unique values (of the flattened array); ``return_index``/``return_inverse``/
    ``return_counts`` as numpy, ``size=``/``fill_value=`` as JAX (fill defaults to the
    minimum value; padded counts are 0, padded indices 0). ``axis=`` needs concrete values."""
    a = _operand(ar)
    if axis is not None:
        return _unique_axis(a, return_index, return_inverse, return_counts, axis, equal_nan)
    shape = _shape(a)
    a = ravel(a)
    n = _shape(a)[0]
    perm = _nx.argsort(a, 0, "stable")
    s = take(a, perm) if n else a
    first = _firsts(s, equal_nan)
    vals = _pick(s, first, size, fill_value, "unique", _min_fill)
    if not (return_index or return_inverse or return_counts):
        return vals
    out = [vals]
    k = _shape(vals)[0]
    if return_index:
        # JAX pads the indices with the index of the padding value (the minimum: perm[0])
        idx = _pick(perm, first, size, None, "unique", _min_fill) if n else full((k,), 0, _np.intp)
        out.append(idx)
    if return_inverse:
        if n:
            rank_sorted = cumsum(astype(first, _np.intp)) - 1
            inv = take(rank_sorted, _nx.argsort(perm, 0, "stable"))
        else:
            inv = full((0,), 0, _np.intp)
        out.append(reshape(inv, shape) if len(shape) > 1 else inv)
    if return_counts:
        if n:
            starts = _pick(arange(n), first, size, n, "unique", None)
            counts = diff(concatenate([starts, _np.array([n])]))
        else:
            counts = full((0,), 0, _np.intp)
        out.append(counts)
    return tuple(out)


def _unique_axis(a: Any, ri: bool, rinv: bool, rc: bool, axis: int, equal_nan: bool) -> Any:
    conc = _concrete(a, "unique(axis=...)")
    res = _np.unique(
        _np.asarray(conc),
        return_index=True,
        return_inverse=rinv,
        return_counts=rc,
        axis=axis,
        equal_nan=equal_nan,
    )
    vals = take(a, res[1], axis=axis)
    out = [vals]
    if ri:
        out.append(res[1])
    out.extend(res[2:])
    return vals if len(out) == 1 else tuple(out)


def unique_values(x: Any, /, *, size: Any = None, fill_value: Any = None) -> Any:
    """Array API: the sorted unique values; every NaN is distinct (``equal_nan=False``, as
    numpy's and JAX's ``unique_values``)."""
    return unique(x, equal_nan=False, size=size, fill_value=fill_value)


def unique_counts(x: Any, /, *, size: Any = None, fill_value: Any = None) -> Any:
    """Array API: ``(values, counts)``."""
    v, c = unique(x, return_counts=True, equal_nan=False, size=size, fill_value=fill_value)
    return UniqueCountsResult(v, c)


def unique_inverse(x: Any, /, *, size: Any = None, fill_value: Any = None) -> Any:
    """Array API: ``(values, inverse_indices)``, the inverse shaped like ``x``."""
    v, inv = unique(x, return_inverse=True, equal_nan=False, size=size, fill_value=fill_value)
    return UniqueInverseResult(v, reshape(inv, _shape(_operand(x))))


def unique_all(x: Any, /, *, size: Any = None, fill_value: Any = None) -> Any:
    """Array API: ``(values, indices, inverse_indices, counts)``."""
    v, i, inv, c = unique(
        x,
        return_index=True,
        return_inverse=True,
        return_counts=True,
        equal_nan=False,
        size=size,
        fill_value=fill_value,
    )
    return UniqueAllResult(v, i, reshape(inv, _shape(_operand(x))), c)


def isin(
    element: Any,
    test_elements: Any,
    assume_unique: bool = False,
    invert: bool = False,
    *,
    method: str = "auto",
) -> Any:
    """Elementwise membership test (traceable; compares every pair, O(n·m) memory)."""
    e = _operand(element)
    t = ravel(_operand(test_elements))
    if _shape(t)[0] == 0:
        out = astype(full(_shape(e), 0), bool)
    else:
        out = _any(_eq(reshape(e, (*_shape(e), 1)), t), axis=-1)
    return logical_not(out) if invert else out


def _eq(a: Any, b: Any) -> Any:
    from funcgrad.numpy._elementwise import equal

    return equal(a, b)


def _sorted_concat(*arrays: Any) -> tuple[Any, Any]:
    a = concatenate([ravel(_operand(x)) for x in arrays])
    perm = _nx.argsort(a, 0, "stable")
    return take(a, perm), perm


def union1d(ar1: Any, ar2: Any, *, size: Any = None, fill_value: Any = None) -> Any:
    """Sorted unique values in either array."""
    return unique(
        concatenate([ravel(_operand(ar1)), ravel(_operand(ar2))]), size=size, fill_value=fill_value
    )


def intersect1d(
    ar1: Any,
    ar2: Any,
    assume_unique: bool = False,
    return_indices: bool = False,
    *,
    size: Any = None,
    fill_value: Any = None,
) -> Any:
    """Sorted unique values in both arrays; ``return_indices`` gives the first occurrences."""
    a, b = ravel(_operand(ar1)), ravel(_operand(ar2))
    if return_indices:
        if size is not None:
            raise LocatedNotImplementedError(
                "intersect1d: return_indices with size= is not supported"
            )
        _, i1, i2 = _np.intersect1d(
            _np.asarray(_concrete(a, "intersect1d(return_indices=True)")),
            _np.asarray(_concrete(b, "intersect1d(return_indices=True)")),
            assume_unique=assume_unique,
            return_indices=True,
        )
        return take(a, i1), i1, i2
    s = take(a, _nx.argsort(a, 0, "stable"))
    keep = logical_and(_firsts(s), isin(s, b)) if _shape(s)[0] else astype(s, bool)
    return _pick(s, keep, size, fill_value, "intersect1d", _min_fill)


def setdiff1d(
    ar1: Any, ar2: Any, assume_unique: bool = False, *, size: Any = None, fill_value: Any = None
) -> Any:
    """Sorted unique values of ``ar1`` that are not in ``ar2``."""
    a, b = ravel(_operand(ar1)), ravel(_operand(ar2))
    s = take(a, _nx.argsort(a, 0, "stable"))
    keep = logical_and(_firsts(s), isin(s, b, invert=True)) if _shape(s)[0] else astype(s, bool)
    return _pick(s, keep, size, fill_value, "setdiff1d", _zero_fill)


def setxor1d(
    ar1: Any, ar2: Any, assume_unique: bool = False, *, size: Any = None, fill_value: Any = None
) -> Any:
    """Sorted unique values in exactly one of the arrays."""
    a, b = ravel(_operand(ar1)), ravel(_operand(ar2))
    s, _ = _sorted_concat(a, b)
    if _shape(s)[0] == 0:
        return s
    keep = logical_and(_firsts(s), logical_xor(isin(s, a), isin(s, b)))
    if _dtype(s).kind in "fc":
        # numpy: NaN equals nothing, but each input's NaNs collapse to one (unique): keep one
        # NaN per input that has any (NaNs sort last)
        nan = isnan(s)
        n_keep = astype(_any(isnan(a)), _np.intp) + astype(_any(isnan(b)), _np.intp)
        rank = cumsum(astype(nan, _np.intp)) - 1
        keep = where(nan, less(rank, n_keep), keep)
    return _pick(s, keep, size, fill_value, "setxor1d", _min_fill)
