"""Batching: ``vmap``.

The function is traced once on per-example abstract values; a forward walk over the IR then
applies each primitive's batching rule to the batched arguments. The result is one batched
computation — never a Python loop over the batch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from funcgrad.core import axis_env
from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, ShapedArray, Var
from funcgrad.core.pytree import broadcast_prefix, tree_flatten, tree_unflatten
from funcgrad.core.tracer import Tracer, bind, source_context
from funcgrad.core.tracing import as_array_leaf, ids, to_user, trace_to_ir
from funcgrad.primitives.structural import broadcast_in_dim, moveaxis_to_front, transpose

__all__ = ["vmap", "batch_ir", "move_batch_axis"]


def move_batch_axis(x: Any, src: int | None, dst: int | None, size: int) -> Any:
    """Move the batch axis from ``src`` to ``dst``; an unbatched value (``src=None``) is
    broadcast along a new axis ``dst``."""
    if dst is None:
        return x
    nd = np.ndim(x) if src is not None else np.ndim(x) + 1
    dst = dst % nd
    if src is None:
        shape = list(np.shape(x))
        shape.insert(dst, size)
        dims = tuple(i for i in range(nd) if i != dst)
        return broadcast_in_dim(x, tuple(shape), dims)
    if src == dst:
        return x
    x = moveaxis_to_front(x, src)
    perm = list(range(1, nd))
    perm.insert(dst, 0)
    return transpose(x, tuple(perm))


def batch_ir(
    ir: IR, args: Sequence[Any], dims: Sequence[int | None]
) -> tuple[list[Any], list[int | None]]:
    """Evaluate ``ir`` on batched ``args`` (batch axis ``dims[i]``, ``None`` = unbatched)."""
    env: dict[Var, Any] = dict(zip(ir.constvars, ir.consts))
    denv: dict[Var, int | None] = {v: None for v in ir.constvars}
    env.update(zip(ir.invars, args))
    denv.update(zip(ir.invars, dims))
    with source_context() as sc:
        for e in ir.eqns:
            sc.loc = e.src
            ins = [env[x] if type(x) is Var else x.val for x in e.inputs]
            ds = [denv[x] if type(x) is Var else None for x in e.inputs]
            prim = e.prim
            if all(d is None for d in ds):
                out = bind(prim, *ins, **e.params)
                od: Any = [None] * len(e.outputs) if prim.multiple_results else None
            else:
                if prim.batch is None:
                    raise LocatedNotImplementedError(
                        f"vmap: primitive {prim.name} has no batching rule"
                    )
                out, od = prim.batch(prim, ins, ds, **e.params)
            if prim.multiple_results:
                env.update(zip(e.outputs, out))
                denv.update(zip(e.outputs, od))
            else:
                env[e.outputs[0]] = out
                denv[e.outputs[0]] = od
    outs = [env[x] if type(x) is Var else x.val for x in ir.outvars]
    odims = [denv[x] if type(x) is Var else None for x in ir.outvars]
    return outs, odims


def _check_axis(ax: Any, what: str) -> None:
    if ax is not None and (not isinstance(ax, (int, np.integer)) or isinstance(ax, bool)):
        raise LocatedTypeError(f"vmap: {what} entries must be ints or None, got {ax!r}")


def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Hashable | None = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
) -> Callable[..., Any]:
    """Vectorize ``fun`` over a batch axis of its arguments.

    ``in_axes``: an int, ``None`` (not batched), or a pytree prefix of the argument tuple;
    ``out_axes`` likewise for the outputs. Negative axes count from the end.
    ``axis_name`` names the mapped axis, so that ``funcgrad.lax``'s collectives (``psum``,
    ``all_gather``, ``axis_index``, ...) can act across it inside ``fun``; ``axis_size`` gives
    the size when no argument is mapped (and must agree with the mapped ones otherwise).
    ``spmd_axis_name`` is accepted for JAX compatibility and has no effect (no devices).

    >>> import funcgrad as fg, numpy as np
    >>> fg.vmap(lambda w, x: x @ w, in_axes=(None, 0))(np.ones(3), np.ones((5, 3))).shape
    (5,)
    >>> fg.vmap(lambda x: x / fg.lax.psum(x, "i"), axis_name="i")(np.array([1.0, 3.0]))
    Array([0.25, 0.75])
    """
    if not callable(fun):
        raise LocatedTypeError(f"vmap expects a callable, got {type(fun).__name__}")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if axis_name is not None:
        try:
            hash(axis_name)
        except TypeError:
            raise LocatedTypeError(
                f"vmap: axis_name must be hashable (a string, say), got {axis_name!r}"
            ) from None
    if axis_size is not None:
        if isinstance(axis_size, bool) or not isinstance(axis_size, (int, np.integer)):
            raise LocatedTypeError(f"vmap: axis_size must be an int, got {axis_size!r}")
        axis_size = int(axis_size)
        if axis_size < 0:
            raise LocatedValueError(f"vmap: axis_size must be >= 0, got {axis_size}")

    @functools.wraps(fun)
    def batched(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            # As JAX: keyword arguments are always mapped over their leading axis (in_axes
            # describes the positional arguments only); pass unbatched values positionally
            # with in_axes=None, or close over them.
            pos_axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
            if len(pos_axes) != len(args):
                raise LocatedValueError(
                    f"vmap: in_axes has {len(pos_axes)} entries but the function was called "
                    f"with {len(args)} positional arguments; give one entry per argument"
                )
            for k, v in kwargs.items():
                if any(np.ndim(x) == 0 for x in tree_flatten(v)[0]):
                    raise LocatedValueError(
                        f"vmap: keyword argument {k!r} holds a scalar, but keyword arguments "
                        "are always mapped over their leading axis (as in JAX); pass it "
                        "positionally with in_axes=None, or close over it"
                    )
            n = len(args)
            with_kwargs = vmap(
                lambda *a: fun(*a[:n], **a[n]),
                in_axes=(*pos_axes, 0),
                out_axes=out_axes,
                axis_name=axis_name,
                axis_size=axis_size,
            )
            return with_kwargs(*args, kwargs)
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise LocatedValueError(
                f"vmap: in_axes has {len(in_axes)} entries but the function was called with "
                f"{len(args)} positional arguments; give one entry per argument (None for an "
                "unbatched one)"
            )
        leaves, in_tree = tree_flatten(args)
        axes = broadcast_prefix(
            in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), args, "vmap in_axes"
        )
        leaves = [
            x if type(x) in _PY_SCALARS else as_array_leaf(x, f"vmap argument leaf {i}")
            for i, x in enumerate(leaves)
        ]
        size = None
        dims: list[int | None] = []
        per_example: list[Any] = []
        for i, (x, ax) in enumerate(zip(leaves, axes)):
            _check_axis(ax, "in_axes")
            shape = tuple(np.shape(x))
            if ax is None:
                dims.append(None)
                per_example.append(x)
                continue
            if not shape:
                raise LocatedValueError(
                    f"vmap: cannot map over axis {ax} of argument leaf {i}, a scalar (rank 0); "
                    "use in_axes=None for it"
                )
            if not -len(shape) <= ax < len(shape):
                raise LocatedValueError(
                    f"vmap: in_axes={ax} for argument leaf {i} of shape {shape} is out of range; "
                    f"an array of rank {len(shape)} can be mapped over axes "
                    f"{-len(shape)}..{len(shape) - 1}"
                )
            ax = ax % len(shape)
            n = shape[ax]
            if size is None:
                size = n
            elif n != size:
                sizes = [
                    f"leaf {j}: {np.shape(y)[a % np.ndim(y)]}"
                    for j, (y, a) in enumerate(zip(leaves, axes))
                    if a is not None
                ]
                raise LocatedValueError(
                    "vmap got inconsistent sizes for the mapped axes: "
                    + ", ".join(sizes)
                    + ". All mapped arguments must have the same batch size."
                )
            dims.append(ax)
            per_example.append(ShapedArray(shape[:ax] + shape[ax + 1 :], x.dtype))
        if axis_size is not None:
            if size is not None and size != axis_size:
                sizes = [
                    f"leaf {j}: {np.shape(y)[a % np.ndim(y)]}"
                    for j, (y, a) in enumerate(zip(leaves, axes))
                    if a is not None
                ]
                raise LocatedValueError(
                    f"vmap got inconsistent sizes for the mapped axes: the axis_size argument "
                    f"was {axis_size}, the mapped arguments have " + ", ".join(sizes)
                )
            size = axis_size
        if size is None:
            raise LocatedValueError(
                "vmap needs at least one argument mapped over an axis (in_axes not all None), "
                "or axis_size=... to give the size"
            )
        avals = [p if isinstance(p, ShapedArray) else _aval_or_tracer(p) for p in per_example]
        if axis_name is None:
            ir, out_tree, _ = trace_to_ir(lambda *a: fun(*a), avals, in_tree, "vmap", abstract=True)
            outs, odims = batch_ir(ir, leaves, dims)
        else:
            # One more input, the axis token (funcgrad.core.axis_env): per example the index
            # along the named axis, batched as arange(size). Collectives take it as an operand.
            def named(token: Any, a: tuple[Any, ...]) -> Any:
                with axis_env.bind_axis(axis_name, size, token):
                    return fun(*a)

            ir, out_tree, _ = trace_to_ir(
                named,
                [ShapedArray((), np.dtype(np.int32)), *avals],
                tree_flatten((0, args))[1],
                "vmap",
                abstract=True,
            )
            outs, odims = batch_ir(ir, [np.arange(size, dtype=np.int32), *leaves], [0, *dims])
        oaxes = broadcast_prefix(out_axes, tree_unflatten(out_tree, outs), "vmap out_axes")
        final = []
        avoid = ids(leaves)
        for o, d, oa in zip(outs, odims, oaxes):
            _check_axis(oa, "out_axes")
            if oa is None and d is not None:
                raise LocatedValueError(
                    "vmap: out_axes=None requires an output that does not depend on the batch, "
                    "but this output is batched; give it an integer out_axes"
                )
            if oa is not None:
                nd = np.ndim(o) + (d is None)
                if not -nd <= oa < nd:
                    raise LocatedValueError(
                        f"vmap: out_axes={oa} is out of range for an output of rank {nd}"
                    )
            final.append(to_user(move_batch_axis(o, d, oa, size), None, avoid))
        return tree_unflatten(out_tree, final)

    return batched


def _aval_or_tracer(x: Any) -> Any:
    # Unbatched arguments are traced abstractly too (only shapes matter for batching).
    if type(x) is Tracer:
        return ShapedArray(x.shape, x.dtype)
    if type(x) in _PY_SCALARS:  # Python scalars stay weakly typed (NEP 50), as in a loop
        return ShapedArray((), np.int64 if type(x) is int else np.result_type(x), weak=True)
    return ShapedArray(np.shape(x), np.asarray(x).dtype)


_PY_SCALARS = (float, int, bool, complex)
