"""``funcgrad.numpy.linalg``: linear algebra on traced values."""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as fnp


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Euclidean (vectors) / Frobenius (matrices) norm; ``ord=None`` or ``2``/``'fro'``.

    The derivative at ``x = 0`` is taken as 0 (a subgradient), not NaN, as in JAX.
    """
    if ord not in (None, 2, "fro") or (ord == 2 and axis is None and fnp.ndim(x) > 1):
        raise NotImplementedError(f"norm(ord={ord!r}) is not implemented yet; use ord=None")
    sq = fnp.sum(fnp.square(x), axis=axis, keepdims=keepdims)
    # sqrt with a safe derivative at 0: where(sq > 0, sqrt(sq), 0) with a guarded argument.
    positive = fnp.greater(sq, 0)
    safe = fnp.where(positive, sq, 1.0)
    return fnp.where(positive, fnp.sqrt(safe), 0.0)


__all__ = ["norm"]
_ = _np
