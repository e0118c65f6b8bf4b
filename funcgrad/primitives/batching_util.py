"""Helpers shared by batching rules (vmap). A batching rule receives the primitive, its
arguments and, per argument, the axis holding the batch (``None`` if unbatched); it returns
the batched result and the axis where the batch ended up."""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.tracer import bind


def moveaxis_to_front(x: Any, d: int) -> Any:
    if d == 0:
        return x
    from funcgrad.primitives.structural import transpose

    perm = (d,) + tuple(i for i in range(np.ndim(x)) if i != d)
    return transpose(x, perm)


def batch_size(args: Any, dims: Any) -> int:
    for a, d in zip(args, dims):
        if d is not None:
            return int(np.shape(a)[d])
    raise ValueError("batching rule called without a batched argument")


def batch_elementwise(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    """Move batch axes to the front; give lower-rank batched operands singleton axes after the
    batch axis so that numpy broadcasting lines the per-example axes up."""
    from funcgrad.primitives.structural import reshape

    ranks = [np.ndim(a) - (d is not None) for a, d in zip(args, dims)]
    rank = max(ranks)
    new = []
    for a, d, r in zip(args, dims, ranks):
        if d is None:
            new.append(a)
            continue
        a = moveaxis_to_front(a, d)
        if r < rank:
            shape = np.shape(a)
            a = reshape(a, (shape[0],) + (1,) * (rank - r) + tuple(shape[1:]))
        new.append(a)
    return bind(prim, *new, **params), 0
