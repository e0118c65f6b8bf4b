"""Forward mode: ``jvp``, ``jacfwd``, ``jacrev``, ``hessian``.

The function is traced to an IR; a forward walk over its equations applies each primitive's
JVP rules to the tangents. Like reverse mode, the rules are array code, so inside an enclosing
transform the tangent equations are recorded there (``grad(jvp(...))``, ``jacfwd(jacrev(f))``).
Zero tangents are symbolic (``None``): equations not depending on the inputs cost nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, ShapedArray, Var
from funcgrad.core.pytree import tree_flatten, tree_unflatten
from funcgrad.core.tracer import Tracer, bind, source_context
from funcgrad.core.tracing import check_diff_leaf, ids, to_user, trace_to_ir
from funcgrad.primitives.elementwise import add, convert_element_type, real
from funcgrad.primitives.structural import broadcast_to, reshape
from funcgrad.transforms.batching import vmap
from funcgrad.transforms.reverse import (
    _argnums_tuple,
    _vjp_flat,
    check_holomorphic_inputs,
    check_real_outputs,
)

__all__ = ["jvp", "jvp_ir", "jacfwd", "jacrev", "hessian", "fit_tangent"]


def fit_tangent(t: Any, aval: ShapedArray) -> Any:
    """Broadcast and cast a tangent contribution to its output's type."""
    shape = t.shape if hasattr(t, "shape") else ()
    if tuple(shape) != aval.shape:
        t = broadcast_to(t, aval.shape)
    dt = t.dtype if hasattr(t, "dtype") else np.result_type(t)
    if dt != aval.dtype:
        if dt.kind == "c" and aval.dtype.kind != "c":
            t = real(t)  # a complex -> real cast keeps the real part, so does its tangent
            if t.dtype == aval.dtype:
                return t
        t = convert_element_type(t, aval.dtype)
    return t


def jvp_ir(
    ir: IR,
    args: Sequence[Any],
    tangents: Sequence[Any],
    env: dict[Var, Any] | None = None,
) -> tuple[list[Any], list[Any]]:
    """Push ``tangents`` (one per input; ``None`` = zero) through ``ir`` at ``args``.

    Returns (outputs, output tangents with ``None`` for zero). ``env``, when given, already
    holds every forward value (eager reuse); otherwise the forward pass is evaluated here.
    """
    have_env = env is not None
    if env is None:
        env = dict(zip(ir.constvars, ir.consts))
        env.update(zip(ir.invars, args))
    tenv: dict[Var, Any] = {}
    for v, t in zip(ir.invars, tangents):
        if t is not None and v.aval.dtype.kind in "fc":
            tenv[v] = t
    with source_context() as sc:
        for e in ir.eqns:
            prim = e.prim
            sc.loc = e.src
            ins = [env[x] if type(x) is Var else x.val for x in e.inputs]
            ts = [tenv.get(x) if type(x) is Var else None for x in e.inputs]
            if not have_env:
                out = bind(prim, *ins, **e.params)
                if prim.multiple_results:
                    env.update(zip(e.outputs, out))
                else:
                    env[e.outputs[0]] = out
            if not prim.differentiable or all(t is None for t in ts):
                continue
            if prim.jvp_full is not None:
                outs = [env[o] for o in e.outputs]
                touts = prim.jvp_full(ins, ts, outs, e.params)
                for o, t in zip(e.outputs, touts):
                    if t is not None and o.aval.dtype.kind in "fc":
                        tenv[o] = fit_tangent(t, o.aval)
                continue
            o = e.outputs[0]
            if o.aval.dtype.kind not in "fc":
                continue
            ans = env[o]
            total = None
            rules = prim.jvp
            for i, t in enumerate(ts):
                if t is None:
                    continue
                rule = rules[i]
                if rule is None:
                    continue
                c = rule(t, ans, *ins, **e.params)
                if c is not None:
                    total = c if total is None else add(total, c)
            if total is not None:
                tenv[o] = fit_tangent(total, o.aval)
    outs = [env[x] if type(x) is Var else x.val for x in ir.outvars]
    touts = [tenv.get(x) if type(x) is Var else None for x in ir.outvars]
    return outs, touts


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Any, Any]:
    """Forward-mode Jacobian-vector product: ``(fun(*primals), J @ tangents)``.

    >>> import funcgrad as fg, numpy as np
    >>> fg.jvp(lambda x: x ** 2, (np.array([1.0, 3.0]),), (np.array([1.0, 0.0]),))
    (Array([1., 9.]), Array([2., 0.]))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise LocatedTypeError(
            "jvp: primals and tangents must be tuples (or lists) with one entry per argument, "
            f"got {type(primals).__name__} and {type(tangents).__name__}"
        )
    if len(primals) != len(tangents):
        raise LocatedValueError(
            f"jvp: got {len(primals)} primals but {len(tangents)} tangents; give one tangent "
            "per primal"
        )
    leaves, in_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if t_tree != in_tree:
        raise LocatedValueError(
            f"jvp: tangents have structure {t_tree} but primals have {in_tree}; they must match"
        )
    leaves = [check_diff_leaf(x, f"primal {i}", "jvp") for i, x in enumerate(leaves)]
    for i, (p, t) in enumerate(zip(leaves, t_leaves)):
        if tuple(np.shape(t)) != tuple(np.shape(p)):
            raise LocatedValueError(
                f"jvp: tangent {i} has shape {tuple(np.shape(t))} but its primal has shape "
                f"{tuple(np.shape(p))}; each tangent must have its primal's shape"
            )
    for i, (p, t) in enumerate(zip(leaves, t_leaves)):
        tdt = t.dtype if hasattr(t, "dtype") else np.result_type(t)
        if tdt.kind == "c" and np.result_type(p).kind != "c":
            raise LocatedTypeError(
                f"jvp: tangent {i} has dtype {tdt} but its primal has the real dtype "
                f"{np.result_type(p)}; a real primal takes a real tangent (make the primal "
                "complex to push a complex tangent)"
            )
        if isinstance(t, (np.ndarray, np.generic)) and tdt != np.result_type(p):
            # as JAX: an array tangent has its primal's dtype (Python scalars are weak)
            raise LocatedTypeError(
                f"jvp: tangent {i} has dtype {tdt} but its primal has dtype "
                f"{np.result_type(p)}; give the tangent the primal's dtype "
                f"(t.astype(np.{np.result_type(p).name}))"
            )
    t_leaves = [
        (t if t.dtype == p.dtype else convert_element_type(t, p.dtype))
        if type(t) is Tracer
        else np.asarray(t, dtype=np.result_type(p))
        for p, t in zip(leaves, t_leaves)
    ]
    ir, out_tree, trace = trace_to_ir(lambda *a: fun(*a), leaves, in_tree, "jvp", keep_values=True)
    eager = not any(type(x) is Tracer for x in leaves) and not any(
        type(c) is Tracer for c in ir.consts
    )
    outs, touts = jvp_ir(ir, leaves, t_leaves, trace.env if eager else None)
    avoid = ids([*leaves, *t_leaves])
    outs_u = [to_user(o, v.aval, avoid) for o, v in zip(outs, ir.outvars)]
    touts_u = [
        to_user(np.zeros(v.aval.shape, v.aval.dtype) if t is None else t, v.aval, avoid)
        for t, v in zip(touts, ir.outvars)
    ]
    return tree_unflatten(out_tree, outs_u), tree_unflatten(out_tree, touts_u)


def _std_basis(leaves: list[Any]) -> tuple[Any, list[int]]:
    """Identity basis over the flattened inputs: row k perturbs scalar k."""
    sizes = [int(np.prod(np.shape(x), dtype=np.int64)) for x in leaves]
    n = sum(sizes)
    dtype = np.result_type(*[x.dtype for x in leaves]) if leaves else np.float64
    return np.eye(n, dtype=dtype), sizes


def _split_basis(basis: Any, leaves: list[Any], sizes: list[int]) -> list[Any]:
    out, start = [], 0
    for x, s in zip(leaves, sizes):
        out.append(reshape(basis[:, start : start + s], (basis.shape[0],) + tuple(np.shape(x))))
        start += s
    return out


def jacfwd(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """Jacobian by forward mode (one ``jvp`` per input element, batched with ``vmap``).

    Output shape: ``out.shape + in.shape`` for each (output leaf, input leaf), as in JAX.
    Inputs must be real, or complex with ``holomorphic=True`` (then the outputs must be
    complex too, and the result is the complex derivative); a real input may have a complex
    output. For non-holomorphic functions of complex inputs use ``jvp``.

    >>> import funcgrad as fg, numpy as np
    >>> fg.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]])
    """

    @functools.wraps(fun)
    def jac(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), "jacfwd")
        diff = tuple(args[i] for i in nums)
        leaves, in_tree = tree_flatten(diff)
        leaves = [check_diff_leaf(x, f"argument {i}", "jacfwd") for i, x in enumerate(leaves)]
        check_holomorphic_inputs("jacfwd", leaves, holomorphic)
        for x in leaves:
            if not holomorphic and x.dtype.kind == "c":
                raise LocatedTypeError(
                    "jacfwd requires real-valued inputs (input dtype that is a sub-dtype of "
                    f"np.floating), but got {x.dtype.name}. For holomorphic differentiation, "
                    "pass holomorphic=True. For differentiation of non-holomorphic functions "
                    "involving complex inputs, use jvp directly."
                )

        def partial(*d: Any) -> Any:
            full = list(args)
            for i, a in zip(nums, d):
                full[i] = a
            return fun(*full)

        basis, sizes = _std_basis(leaves)
        diff_c = tree_unflatten(in_tree, leaves)

        def push(*tan_leaves: Any) -> Any:
            return jvp(partial, diff_c, tree_unflatten(in_tree, list(tan_leaves)))[1]

        tans = _split_basis(basis, leaves, sizes)
        out_t = vmap(push, in_axes=0, out_axes=-1)(*tans)  # each leaf: out.shape + (n,)
        out_leaves, out_tree = tree_flatten(out_t)
        if holomorphic:
            for o in out_leaves:
                if np.result_type(o).kind != "c":
                    raise LocatedTypeError(
                        "jacfwd with holomorphic=True requires outputs with complex dtype, but "
                        f"got {np.result_type(o).name}; drop holomorphic=True"
                    )
        per_out = []
        for o in out_leaves:
            oshape = tuple(np.shape(o))[:-1]
            parts, start = [], 0
            for x, s in zip(leaves, sizes):
                piece = o[..., start : start + s]
                parts.append(to_user(reshape(piece, oshape + tuple(np.shape(x)))))
                start += s
            t = tree_unflatten(in_tree, parts)
            per_out.append(t[0] if isinstance(argnums, int) else t)
        return tree_unflatten(out_tree, per_out)

    return jac


def jacrev(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """Jacobian by reverse mode (one ``vjp`` per output element, batched with ``vmap``).

    Outputs must be real, or complex with ``holomorphic=True`` (then the inputs must be
    complex too); real outputs of complex inputs give JAX's convention (see ``grad``).

    >>> import funcgrad as fg, numpy as np
    >>> fg.jacrev(lambda x: x ** 2)(np.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]])
    """

    @functools.wraps(fun)
    def jac(*args: Any) -> Any:
        nums = _argnums_tuple(argnums, len(args), "jacrev")
        diff = tuple(args[i] for i in nums)
        check_holomorphic_inputs("jacrev", tree_flatten(diff)[0], holomorphic)

        def partial(*d: Any) -> Any:
            full = list(args)
            for i, a in zip(nums, d):
                full[i] = a
            return fun(*full)

        out, vjp_fn, _, ir = _vjp_flat(partial, diff, False, "jacrev")
        check_real_outputs("jacrev", [v.aval for v in ir.outvars], holomorphic)
        out_leaves, out_tree = tree_flatten(out)
        basis, sizes = _std_basis(out_leaves) if out_leaves else (np.zeros((0, 0)), [])
        cts = _split_basis(basis, out_leaves, sizes)
        in_cts = vmap(lambda *c: vjp_fn(tree_unflatten(out_tree, list(c))))(*cts)
        in_leaves, in_tree = tree_flatten(in_cts)  # each: (n_out,) + in.shape
        per_out = []
        start = 0
        for o, s in zip(out_leaves, sizes):
            parts = []
            for g in in_leaves:
                piece = g[start : start + s]
                parts.append(to_user(reshape(piece, tuple(np.shape(o)) + tuple(np.shape(g))[1:])))
            start += s
            t = tree_unflatten(in_tree, parts)
            per_out.append(t[0] if isinstance(argnums, int) else t)
        return tree_unflatten(out_tree, per_out)

    return jac


def hessian(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, holomorphic: bool = False
) -> Callable[..., Any]:
    """Hessian as ``jacfwd(jacrev(fun))``.

    >>> import funcgrad as fg, numpy as np
    >>> fg.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    Array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums, holomorphic), argnums, holomorphic)
