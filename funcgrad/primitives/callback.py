"""Host callbacks: ``pure_callback`` (a numpy function with a declared result type, usable
under every transform) and ``debug_callback`` (an effect with no result: printing, logging).

Both are primitives whose ``impl`` calls the user's function on concrete numpy values, so
they run eagerly, inside ``grad``/``vjp`` (on the forward values) and inside ``jit``-compiled
code (the generated function calls ``impl``). Under ``vmap`` a callback runs once per example
(``pure_callback`` also offers ``vmap_method="expand_dims"``/``"broadcast_all"``, calling it
once on the whole batch). ``pure_callback`` has no derivative: differentiating through it
raises; give it one with ``custom_jvp``/``custom_vjp``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.pytree import tree_flatten, tree_unflatten
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define
from funcgrad.primitives.structural import (
    Index,
    broadcast_in_dim,
    concatenate,
    expand_dims,
    getitem,
    moveaxis_to_front,
)

__all__ = ["pure_callback", "debug_callback", "unrolled_batch", "Static"]


class Static:
    """Wraps a static parameter value that may be unhashable (a dict of keyword arguments, a
    list): compared and hashed by identity, so it can sit in an equation's params."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Static({self.value!r})"


def unrolled_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, Any]:
    """Generic batching rule: bind ``prim`` once per example (on slices of the batched
    operands) and stack the results along axis 0. For primitives whose implementation is an
    opaque user function that cannot be vectorized (callbacks, user-defined primitives)."""
    n = batch_size(args, dims)
    moved = [a if d is None else moveaxis_to_front(a, d) for a, d in zip(args, dims)]
    rows = []
    for i in range(n):
        ops = [a if d is None else getitem(a, Index((i,))) for a, d in zip(moved, dims)]
        rows.append(bind(prim, *ops, **params))
    if not prim.multiple_results:
        return _stack([r for r in rows]), 0
    k = len(rows[0]) if rows else 0
    return [_stack([r[j] for r in rows]) for j in range(k)], [0] * k


def _stack(xs: list[Any]) -> Any:
    return concatenate([expand_dims(x, (0,)) for x in xs], 0)


# --- pure_callback ---------------------------------------------------------------------------
def _result_avals(result_shape_dtypes: Any) -> tuple[list[ShapedArray], Any]:
    leaves, tree = tree_flatten(result_shape_dtypes)
    avals = []
    for i, s in enumerate(leaves):
        if not (hasattr(s, "shape") and hasattr(s, "dtype")):
            raise LocatedTypeError(
                "pure_callback: result_shape_dtypes must be a pytree of objects with .shape and "
                f".dtype (ShapeDtypeStruct or arrays); leaf {i} is a {type(s).__name__}"
            )
        avals.append(ShapedArray(tuple(int(d) for d in s.shape), np.dtype(s.dtype)))
    return avals, tree


def _pure_callback_impl(
    *args: Any,
    callback: Any,
    in_tree: Any,
    result_avals: Any,
    out_tree: Any,
    kwargs: Static,
    **_: Any,
) -> list[Any]:
    out = callback(*tree_unflatten(in_tree, list(args)), **kwargs.value)
    leaves, tree = tree_flatten(out)
    if tree != out_tree:
        raise LocatedTypeError(
            f"pure_callback: {getattr(callback, '__name__', 'the callback')} returned structure "
            f"{tree}, but result_shape_dtypes declares {out_tree}"
        )
    res = []
    for i, (x, a) in enumerate(zip(leaves, result_avals)):
        x = np.asarray(x)
        if x.shape != a.shape or x.dtype != a.dtype:
            raise LocatedTypeError(
                f"pure_callback: result leaf {i} of {getattr(callback, '__name__', 'the callback')}"
                f" has shape {x.shape} and dtype {x.dtype}, but result_shape_dtypes declares "
                f"{a.shape} and {a.dtype}"
            )
        res.append(x)
    return res


def _pure_callback_shape(*avals: Any, result_avals: Any, **_: Any) -> list[ShapedArray]:
    return list(result_avals)


def _no_derivative(*_: Any, **__: Any) -> Any:
    raise LocatedTypeError(
        "pure_callback has no derivative: funcgrad cannot look inside the callback. Wrap the "
        "function calling it in funcgrad.custom_jvp or funcgrad.custom_vjp to give it a rule."
    )


def _pure_callback_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, Any]:
    method = params["vmap_method"]
    if method in ("sequential", "sequential_unrolled"):
        return unrolled_batch(prim, args, dims, **params)
    if method not in ("expand_dims", "broadcast_all"):
        raise LocatedNotImplementedError(
            "vmap of pure_callback needs vmap_method: 'sequential' (call it once per example), "
            "'expand_dims' (call it once with the batch as a leading axis, size 1 for unbatched "
            f"arguments) or 'broadcast_all'; got vmap_method={method!r}"
        )
    n = batch_size(args, dims)
    ops = []
    for a, d in zip(args, dims):
        if d is not None:
            ops.append(moveaxis_to_front(a, d))
        else:
            shape = (1 if method == "expand_dims" else n,) + tuple(np.shape(a))
            ops.append(broadcast_in_dim(a, shape, tuple(range(1, len(shape)))))
    avals = [ShapedArray((n, *a.shape), a.dtype) for a in params["result_avals"]]
    new = dict(params, result_avals=tuple(avals))
    return bind(prim, *ops, **new), [0] * len(avals)


pure_callback_p = define(
    "pure_callback",
    _pure_callback_impl,
    _pure_callback_shape,
    multiple_results=True,
    vjp_full=_no_derivative,
    jvp_full=_no_derivative,
    batch=_pure_callback_batch,
)


def pure_callback(
    callback: Callable[..., Any],
    result_shape_dtypes: Any,
    *args: Any,
    sharding: Any = None,
    vmap_method: str | None = None,
    **kwargs: Any,
) -> Any:
    """Call a numpy function from traced code, declaring its result's shapes and dtypes
    (``jax.pure_callback``). It must be pure: ``jit`` may drop or merge calls.

    >>> import funcgrad as fg, numpy as np
    >>> f = lambda x: fg.pure_callback(np.sinh, fg.ShapeDtypeStruct(x.shape, x.dtype), x)
    >>> fg.jit(f)(np.zeros(2))
    Array([0., 0.])
    """
    if not callable(callback):
        raise LocatedTypeError(f"pure_callback: callback must be callable, got {callback!r}")
    avals, out_tree = _result_avals(result_shape_dtypes)
    leaves, in_tree = tree_flatten(args)
    leaves = [x if hasattr(x, "shape") else np.asarray(x) for x in leaves]
    outs = bind(
        pure_callback_p,
        *leaves,
        callback=callback,
        in_tree=in_tree,
        result_avals=tuple(avals),
        out_tree=out_tree,
        vmap_method=vmap_method,
        kwargs=Static(kwargs),
    )
    return tree_unflatten(out_tree, outs)


# --- debug_callback --------------------------------------------------------------------------
def _debug_impl(*args: Any, callback: Any, in_tree: Any) -> list[Any]:
    args_, kwargs_ = tree_unflatten(in_tree, list(args))
    callback(*args_, **kwargs_)
    return []


debug_callback_p = define(
    "debug_callback",
    _debug_impl,
    lambda *avals, **_: [],
    multiple_results=True,
    differentiable=False,  # no outputs, nothing to differentiate
    pure=False,  # an effect: jit never removes, merges or pre-computes it
    batch=unrolled_batch,
)


def debug_callback(callback: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Call ``callback(*args, **kwargs)`` with the concrete values of traced arguments, also
    inside ``jit``-compiled code (``jax.debug.callback``). Returns None.

    >>> import funcgrad as fg, numpy as np
    >>> _ = fg.jit(lambda x: (debug_callback(print, x), x)[1])(np.arange(2.0))
    [0. 1.]
    """
    if not callable(callback):
        raise LocatedTypeError(f"debug.callback: callback must be callable, got {callback!r}")
    leaves, in_tree = tree_flatten((args, kwargs))
    leaves = [x if hasattr(x, "shape") else np.asarray(x) for x in leaves]
    bind(debug_callback_p, *leaves, callback=callback, in_tree=in_tree)
