"""autograd's ``autograd.misc.flatten``: any pytree of arrays as one 1-D vector, and back.

Both directions are traceable and differentiable (written with ``funcgrad.numpy``), so a loss
can take the flat vector and call ``unflatten`` inside ``grad``. Leaves are concatenated in
pytree order (dict keys sorted, as autograd does).

>>> import numpy as np
>>> flat, unflatten = flatten([np.ones(2), (3.0, np.zeros((1, 2)))])
>>> flat
Array([1., 1., 3., 0., 0.])
>>> unflatten(flat * 2)[1][0]
np.float64(6.0)
"""

from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.core.errors import LocatedValueError as _LocatedValueError
from funcgrad.core.pytree import tree_flatten as _tree_flatten
from funcgrad.core.pytree import tree_unflatten as _tree_unflatten

__all__ = ["flatten", "flatten_func"]


def flatten(value: _Any) -> tuple[_Any, _Callable[[_Any], _Any]]:
    """``(flat, unflatten)``: ``flat`` is every leaf raveled and concatenated;
    ``unflatten(vector)`` rebuilds the structure with the leaves' shapes."""
    leaves, tree = _tree_flatten(value)
    shapes = [_np.shape(x) for x in leaves]
    sizes = [int(_np.prod(s, dtype=_np.int64)) for s in shapes]
    if leaves:
        flat = _fnp.concatenate([_fnp.ravel(_fnp.asarray(x)) for x in leaves])
    else:
        flat = _np.array([])
    total = sum(sizes)

    def unflatten(vector: _Any) -> _Any:
        if _np.shape(vector) != (total,):
            raise _LocatedValueError(
                f"unflatten: expected a vector of shape ({total},), got {_np.shape(vector)}"
            )
        parts, start = [], 0
        for shape, size in zip(shapes, sizes):
            parts.append(_fnp.reshape(vector[start : start + size], shape))
            start += size
        return _tree_unflatten(tree, parts)

    return flat, unflatten


def flatten_func(func: _Callable[..., _Any], example: _Any) -> tuple[_Any, _Any, _Any]:
    """autograd's helper: ``(flat_func, unflatten, flat_example)`` where
    ``flat_func(flat_x, *args) = flatten(func(unflatten(flat_x), *args))[0]``."""
    flat_example, unflatten = flatten(example)

    def flat_func(flat_x: _Any, *args: _Any) -> _Any:
        return flatten(func(unflatten(flat_x), *args))[0]

    return flat_func, unflatten, flat_example
