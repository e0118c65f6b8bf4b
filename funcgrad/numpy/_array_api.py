"""Array API standard names not covered elsewhere: ``matrix_transpose``, ``permute_dims``,
``vecdot``, ``matvec``, ``vecmat``, ``broadcast_shapes`` (the aliases ``acos``, ``concat``,
``unique_values`` ... live with the functions they alias).

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
np.float64(11.0)
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedValueError
from funcgrad.numpy._core import _dtype, _ndim, _operand, _shape
from funcgrad.numpy._elementwise import conj, multiply
from funcgrad.numpy._products import matmul
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import broadcast_arrays, expand_dims, swapaxes, transpose

__all__ = ["matrix_transpose", "permute_dims", "vecdot", "matvec", "vecmat", "broadcast_shapes"]


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    x = _operand(x)
    if _ndim(x) < 2:
        raise LocatedValueError(f"matrix_transpose: x must be at least 2-d, got shape {_shape(x)}")
    return swapaxes(x, -1, -2)


def permute_dims(a: Any, /, axes: tuple[int, ...]) -> Any:
    """``transpose`` with required ``axes``."""
    return transpose(_operand(a), tuple(axes))


def _conj(x: Any) -> Any:
    return conj(x) if _dtype(x).kind == "c" else x


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``sum(conj(x1) * x2, axis)`` with broadcasting (numpy 2's ``vecdot``)."""
    a, b = broadcast_arrays(_operand(x1), _operand(x2))
    return _sum(multiply(_conj(a), b), axis=axis)


def matvec(x1: Any, x2: Any, /) -> Any:
    """Matrix-vector product over the last axes, batched with broadcasting."""
    return matmul(_operand(x1), expand_dims(_operand(x2), -1))[..., 0]


def vecmat(x1: Any, x2: Any, /) -> Any:
    """``conj(x1) @ x2`` over the last axes, batched with broadcasting."""
    return matmul(expand_dims(_conj(_operand(x1)), -2), _operand(x2))[..., 0, :]


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to (numpy's rule)."""
    return _np.broadcast_shapes(*shapes)
