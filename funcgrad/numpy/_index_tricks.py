"""numpy's index tricks ``r_`` and ``c_``: concatenation written as indexing
(``fnp.r_[a, 0.0, 1:4]``), working on traced values."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.numpy._core import _ndim, _operand, _shape, astype, result_type
from funcgrad.numpy._shape import concatenate, reshape, transpose

__all__ = ["r_", "c_"]


def _ndmin(x: Any, ndmin: int) -> Any:
    nd = _ndim(x)
    return x if nd >= ndmin else reshape(x, (1,) * (ndmin - nd) + _shape(x))


def _slice_values(s: slice) -> Any:
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if isinstance(step, complex):  # 1:5:7j -> 7 points from 1 to 5 inclusive
        return _np.linspace(start, s.stop, int(builtins.abs(step)))
    return _np.arange(start, s.stop, step)


class _AxisConcatenator:
    """``obj[items]`` concatenates ``items`` along ``axis`` (numpy's ``AxisConcatenator``):
    slices become ``arange``/``linspace``, scalars 1-element arrays, and a leading string
    ``"axis"``, ``"axis,ndmin"`` or ``"axis,ndmin,trans1d"`` changes the defaults."""

    def __init__(self, axis: int, ndmin: int, trans1d: int, name: str) -> None:
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name

    def __repr__(self) -> str:
        return f"funcgrad.numpy.{self.name}"

    def __len__(self) -> int:
        return 0

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if items and isinstance(items[0], str):
            spec, items = items[0], items[1:]
            if spec in ("r", "c"):
                raise LocatedNotImplementedError(
                    f"{self.name}: the matrix directives 'r'/'c' are not supported (funcgrad "
                    "has no matrix type)"
                )
            try:
                vals = [int(v) for v in spec.split(",")]
            except ValueError:
                raise LocatedValueError(
                    f"{self.name}: unknown directive {spec!r}; use 'axis', 'axis,ndmin' or "
                    "'axis,ndmin,trans1d'"
                ) from None
            axis = vals[0]
            if len(vals) > 1:
                ndmin = vals[1]
            if len(vals) > 2:
                trans1d = vals[2]
        pieces, scalars = [], []
        for item in items:
            if isinstance(item, str):
                raise LocatedValueError(f"{self.name}: a directive string must come first")
            if isinstance(item, slice):
                x = _np.asarray(_slice_values(item))
                item_ndim = 1
            else:
                x = _operand(item)
                item_ndim = _ndim(x)
                if item_ndim == 0:
                    scalars.append(len(pieces))
            x = _ndmin(x, builtins.max(ndmin, 1))
            if trans1d != -1 and item_ndim < ndmin:
                k2 = ndmin - item_ndim
                k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                defaxes = list(range(ndmin))
                x = transpose(x, tuple(defaxes[:k1] + defaxes[k2:] + defaxes[k1:k2]))
            pieces.append(x)
        if not pieces:
            return _np.array([])
        arrays = [p for i, p in enumerate(pieces) if i not in scalars]
        if scalars and arrays:  # scalars take the arrays' dtype (numpy's rule)
            dt = result_type(*arrays)
            pieces = [astype(p, dt) if i in scalars else p for i, p in enumerate(pieces)]
        return concatenate(pieces, axis=axis)


r_ = _AxisConcatenator(0, 1, -1, "r_")
c_ = _AxisConcatenator(-1, 2, 0, "c_")
