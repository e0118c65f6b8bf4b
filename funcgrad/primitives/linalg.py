"""Matrix products: ``matmul`` with numpy's semantics (1-D promotion, batch broadcasting)."""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define, ufunc_dtype
from funcgrad.primitives.elementwise import mul
from funcgrad.primitives.structural import _front, reshape, transpose


def matmul(x: Any, y: Any) -> Any:
    return bind(matmul_p, x, y)


def _matmul_shape(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    if x.ndim == 0 or y.ndim == 0:
        raise LocatedValueError(
            f"matmul: operands must be at least 1-D, got {x} and {y}; use multiply"
        )
    k1 = x.shape[-1]
    k2 = y.shape[-2] if y.ndim >= 2 else y.shape[0]
    if k1 != k2:
        raise LocatedValueError(
            f"matmul of {x} and {y}: inner dimensions {k1} and {k2} differ "
            "(the last axis of the left operand must match the "
            f"{'second-to-last' if y.ndim >= 2 else 'only'} axis of the right operand)"
        )
    xb = x.shape[:-2] if x.ndim >= 2 else ()
    yb = y.shape[:-2] if y.ndim >= 2 else ()
    try:
        batch = np.broadcast_shapes(xb, yb)
    except ValueError:
        raise LocatedValueError(
            f"matmul of {x} and {y}: batch dimensions do not broadcast"
        ) from None
    rows = (x.shape[-2],) if x.ndim >= 2 else ()
    cols = (y.shape[-1],) if y.ndim >= 2 else ()
    return ShapedArray(batch + rows + cols, ufunc_dtype(np.matmul, x, y))


def _swap(a: Any) -> Any:
    nd = np.ndim(a)
    return transpose(a, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    xn, yn = np.ndim(x), np.ndim(y)
    if yn == 1:
        # out[..., i] = sum_k x[..., i, k] y[k]  ->  ct_x[..., i, k] = g[..., i] y[k]
        if xn == 1:
            return mul(g, y)
        return mul(reshape(g, np.shape(g) + (1,)), y)
    if xn == 1:
        # out[..., j] = sum_k x[k] y[..., k, j]  ->  ct_x[k] = sum y[..., k, j] g[..., j]
        if yn == 2:
            return matmul(y, g)
        gcol = reshape(g, np.shape(g)[:-1] + (np.shape(g)[-1], 1))
        r = matmul(y, gcol)
        return reshape(r, np.shape(r)[:-1])  # batch dims summed by un-broadcasting
    return matmul(g, _swap(y))


def _vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    xn, yn = np.ndim(x), np.ndim(y)
    if xn == 1:
        if yn == 1:
            return mul(g, x)
        # ct_y[..., k, j] = x[k] g[..., j]
        return mul(
            reshape(x, (np.shape(x)[0], 1)), reshape(g, np.shape(g)[:-1] + (1, np.shape(g)[-1]))
        )
    if yn == 1:
        # ct_y[k] = sum x[..., i, k] g[..., i]
        if xn == 2:
            return matmul(g, x)
        grow = reshape(g, np.shape(g) + (1,))
        r = matmul(_swap(x), grow)
        return reshape(r, np.shape(r)[:-1])
    return matmul(_swap(x), g)


def _matmul_batch(prim: Any, args: Any, dims: Any) -> Any:
    """Batch axis to the front (size 1 for an unbatched operand); 1-D operands promoted to
    matrices; ranks aligned with singleton axes; one matmul; promoted axes dropped."""
    (x, y), (dx, dy) = args, dims
    b = batch_size(args, dims)
    xr, yr = np.ndim(x) - (dx is not None), np.ndim(y) - (dy is not None)
    # One operand unbatched: a single matmul over the stacked examples instead of a batch
    # of tiny ones (per-example x[b] @ w is the rows of X @ w).
    if dy is None and yr <= 2:
        return matmul(_front(x, dx), y), 0  # (B, ..., k) @ (k[, n])
    if dx is None and yr == 1 and xr <= 2:
        ys = _front(y, dy)  # (B, k): out[b] = x @ y[b]
        return matmul(ys, _swap(x) if xr == 2 else x), 0
    x = _front(x, dx) if dx is not None else reshape(x, (1,) + np.shape(x))
    y = _front(y, dy) if dy is not None else reshape(y, (1,) + np.shape(y))
    xs, ys = np.shape(x), np.shape(y)
    row = col = False
    if xr == 1:
        x, xr, row = reshape(x, (xs[0], 1, xs[1])), 2, True
    if yr == 1:
        y, yr, col = reshape(y, (ys[0], ys[1], 1)), 2, True
    r = max(xr, yr)
    xs, ys = np.shape(x), np.shape(y)
    x = reshape(x, (xs[0],) + (1,) * (r - xr) + xs[1:])
    y = reshape(y, (ys[0],) + (1,) * (r - yr) + ys[1:])
    out = matmul(x, y)
    shape = list(np.shape(out))
    if shape[0] != b:  # both operands were unbatched at the front: cannot happen in vmap
        raise AssertionError("matmul batching lost the batch axis")
    if col:
        shape.pop(-1)
    if row:
        shape.pop(-2 if not col else -1)
    return reshape(out, tuple(shape)), 0


matmul_p = define(
    "matmul",
    np.matmul,
    _matmul_shape,
    vjp=(_vjp_x, _vjp_y),
    jvp=(lambda t, ans, x, y: matmul(t, y), lambda t, ans, x, y: matmul(x, t)),
    batch=_matmul_batch,
    emit="({0} @ {1})",
    emit_out="np.matmul({0}, {1}, out={out})",  # into a dead buffer (jit's buffer planning)
    ufunc=None,
    fresh=True,
)
