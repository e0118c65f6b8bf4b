"""Basic indexing of traced values (``x[i, 1:3, None, ...]``); integer-array and boolean-mask
indexing and ``x.at[...]`` updates are in :mod:`._indexing`."""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedIndexError, LocatedTypeError
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _indexing  # integer-array / boolean-mask indexing
from funcgrad.numpy._core import _concrete, _shape
from funcgrad.primitives import structural as _st
from funcgrad.primitives.structural import Index, Slice

__all__ = []


# --- indexing --------------------------------------------------------------------------
def _normalize_index(x: Any, idx: Any) -> Index:
    """A basic index (ints, slices, None, Ellipsis) as a hashable Index without Ellipsis."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    shape = _shape(x)
    n_real = builtins.sum(1 for i in idx if i is not None and i is not Ellipsis)
    if n_real > len(shape):
        raise LocatedIndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, but {n_real} "
            "were indexed"
        )
    out: list[Any] = []
    seen_ellipsis = False
    dim = 0
    for i in idx:
        if i is Ellipsis:
            if seen_ellipsis:
                raise LocatedIndexError("an index can only have a single ellipsis ('...')")
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
                raise LocatedIndexError(f"index {i} is out of bounds for axis {dim} with size {n}")
            out.append(int(i) % n)
            dim += 1
        elif type(i) is Tracer and i.dtype.kind in "iu" and i.shape == () and i.val is not None:
            out.append(int(i.val) % shape[dim])
            dim += 1
        else:
            raise LocatedTypeError(
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
    if _indexing.is_advanced(idx):
        return _indexing.getitem(x, idx)
    index = _normalize_index(x, idx)
    if builtins.all(isinstance(i, Slice) and i == (None, None, None) for i in index):
        return x
    return _st.getitem(x, index)
