"""User-defined derivative rules (``custom_vjp``, ``custom_jvp``) and ``checkpoint``.

Each is a primitive carrying the traced function as a sub-IR (closed over values become
leading operands). Its rules in the primitive table call the user's rules, so the other
transforms see an ordinary primitive: ``vmap`` of a ``custom_vjp`` function, ``grad`` of
``grad`` of a ``custom_jvp`` function, ``jit`` of ``checkpoint``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR
from funcgrad.core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from funcgrad.core.tracer import Tracer, aval_of, bind
from funcgrad.core.tracing import as_array_leaf, eval_ir, eval_ir_env, trace_sub_ir
from funcgrad.primitives.base import define
from funcgrad.transforms.batching import vmap
from funcgrad.transforms.codegen import compile_ir_cached
from funcgrad.transforms.forward import jvp_ir
from funcgrad.transforms.reverse import _vjp_flat, backward_pass

__all__ = ["custom_vjp", "custom_jvp", "checkpoint", "remat"]


def _call_shape(*avals: Any, fun_ir: IR, **_: Any) -> list[Any]:
    return [v.aval for v in fun_ir.outvars]


def _call_impl(*ops: Any, fun_ir: IR, **_: Any) -> list[Any]:
    return eval_ir(fun_ir, *ops)


def _compiled_call(fun_ir: IR, **_: Any) -> Callable[..., Any]:
    return compile_ir_cached(fun_ir)


def _zeros_like_aval(v: Any) -> Any:
    return np.zeros(v.aval.shape, v.aval.dtype)


def _instantiate(xs: Sequence[Any], ir_vars: Sequence[Any]) -> list[Any]:
    return [_zeros_like_aval(v) if x is None else x for x, v in zip(xs, ir_vars)]


def _trace_call(
    fun: Callable[..., Any], args: tuple[Any, ...], kind: str
) -> tuple[IR, list[Any], list[Any], PyTreeDef, PyTreeDef]:
    leaves, in_tree = tree_flatten(args)
    leaves = [as_array_leaf(x, f"{kind} argument leaf {i}") for i, x in enumerate(leaves)]
    avals = [aval_of(x) for x in leaves]
    ir, consts, out_tree = trace_sub_ir(lambda *a: fun(*a), avals, in_tree, kind)
    return ir, consts, leaves, in_tree, out_tree


def _batched_call(
    prim: Any, args: Sequence[Any], dims: Sequence[Any], fun_ir: IR, **params: Any
) -> tuple[list[Any], list[int]]:
    """Batch a call primitive by re-tracing its sub-IR under vmap (all outputs batched at 0);
    user rules are vmapped the same way by the caller."""
    bfun = vmap(lambda *ops: tuple(eval_ir(fun_ir, *ops)), in_axes=tuple(dims))
    avals = [aval_of(a) for a in args]
    _, tree = tree_flatten(tuple(range(len(args))))
    new_ir, new_consts, _ = trace_sub_ir(bfun, avals, tree, prim.name)
    return new_ir, new_consts  # type: ignore[return-value]


# --- custom_vjp ----------------------------------------------------------------------------
def _check_no_traced_closure(needs: Sequence[bool], n: int, kind: str) -> None:
    if any(needs[:n]):
        raise LocatedTypeError(
            f"a {kind} function closes over a value that is being differentiated; its rule "
            "cannot give that value a derivative. Pass the value as an explicit argument of "
            "the function instead of closing over it."
        )


def _custom_vjp_vjp(g: Any, ans: Any, args: Any, params: dict[str, Any], needs: Any) -> list[Any]:
    n = params["num_consts"]
    _check_no_traced_closure(needs, n, "custom_vjp")
    fun_ir, in_tree, out_tree = params["fun_ir"], params["in_tree"], params["out_tree"]
    primals = tree_unflatten(in_tree, list(args[n:]))
    res = params["fwd"](*primals)
    if not (isinstance(res, tuple) and len(res) == 2):
        raise LocatedTypeError("custom_vjp: fwd must return a pair (output, residuals)")
    _, residuals = res
    ct_out = tree_unflatten(out_tree, _instantiate(g, fun_ir.outvars))
    cts = params["bwd"](residuals, ct_out)
    if not isinstance(cts, (tuple, list)) or len(cts) != len(primals):
        raise LocatedTypeError(
            f"custom_vjp: bwd must return a tuple with one cotangent per primal argument "
            f"({len(primals)}), got {type(cts).__name__}"
            + (f" of length {len(cts)}" if isinstance(cts, (tuple, list)) else "")
        )
    flat: list[Any] = []
    for i, (ct, p) in enumerate(zip(cts, primals)):
        p_leaves, p_tree = tree_flatten(p)
        if ct is None:
            flat += [None] * len(p_leaves)
            continue
        c_leaves, c_tree = tree_flatten(ct)
        if c_tree != p_tree:
            raise LocatedTypeError(
                f"custom_vjp: bwd's cotangent {i} has structure {c_tree} but the argument has "
                f"structure {p_tree}"
            )
        for j, (c, pl) in enumerate(zip(c_leaves, p_leaves)):
            if c is not None and tuple(np.shape(c)) != tuple(np.shape(pl)):
                leaf = "" if len(p_leaves) == 1 else f" (leaf {j})"
                raise LocatedValueError(
                    f"custom_vjp: bwd's cotangent for argument {i}{leaf} has shape "
                    f"{tuple(np.shape(c))}, but the argument has shape {tuple(np.shape(pl))}; "
                    "bwd must return one cotangent per argument, each shaped like it"
                )
        flat += c_leaves
    return [None] * n + flat


def _flat_tree(k: int) -> PyTreeDef:
    return tree_flatten(tuple(range(k)))[1]


def _rebind_batched(
    prim: Any, args: Any, dims: Any, params: dict[str, Any], rules: dict[str, Any]
) -> tuple[list[Any], list[int]]:
    """Bind a user-rule call primitive again on batched operands: its sub-IR re-traced under
    vmap, its rules (already vmapped by the caller) replaced; every output batched at 0."""
    n = params["num_consts"]
    new_ir, new_consts = _batched_call(prim, args, dims, **params)
    outs = bind(
        prim,
        *new_consts,
        *args[n:],
        fun_ir=new_ir,
        num_consts=len(new_consts),
        in_tree=_flat_tree(len(args) - n),
        out_tree=_flat_tree(len(new_ir.outvars)),
        **rules,
    )
    return outs, [0] * len(outs)


def _no_batched_closure(dims: Any, params: dict[str, Any], kind: str) -> tuple[Any, ...]:
    n = params["num_consts"]
    if any(d is not None for d in dims[:n]):
        raise LocatedNotImplementedError(
            f"vmap of a {kind} function that closes over batched values; pass those values "
            "as explicit arguments"
        )
    return tuple(dims[n:])


def _custom_vjp_batch(prim: Any, args: Any, dims: Any, **params: Any) -> Any:
    arg_axes = _no_batched_closure(dims, params, "custom_vjp")
    in_tree = params["in_tree"]

    def flat_fwd(*leaves: Any) -> Any:
        return params["fwd"](*tree_unflatten(in_tree, list(leaves)))

    def flat_bwd(res: Any, ct: Any) -> Any:
        cts = params["bwd"](res, ct)
        out = []
        for c, p in zip(cts, tree_unflatten(in_tree, list(range(in_tree.num_leaves)))):
            out += tree_flatten(c)[0] if c is not None else [None] * len(tree_flatten(p)[0])
        return tuple(out)

    def bwd_b(res: Any, ct: Any) -> Any:
        return vmap(flat_bwd)(res, ct)

    fwd_b = vmap(flat_fwd, in_axes=arg_axes)
    return _rebind_batched(prim, args, dims, params, {"fwd": fwd_b, "bwd": _FlatBwd(bwd_b)})


class _FlatBwd:
    """bwd for the batched primitive: its cotangent arrives as a flat tuple."""

    __slots__ = ("bwd",)

    def __init__(self, bwd: Callable[..., Any]) -> None:
        self.bwd = bwd

    def __call__(self, res: Any, ct: Any) -> Any:
        return self.bwd(res, tuple(ct))

    @property
    def __name__(self) -> str:
        return "bwd_batched"


def _custom_vjp_jvp(ins: Any, ts: Any, outs: Any, params: dict[str, Any]) -> Any:
    raise LocatedTypeError(
        "can't apply forward-mode differentiation (jvp/jacfwd/hessian) to a custom_vjp "
        "function; use custom_jvp for forward mode, or jacrev"
    )


custom_vjp_call_p = define(
    "custom_vjp_call",
    _call_impl,
    _call_shape,
    multiple_results=True,
    vjp_full=_custom_vjp_vjp,
    jvp_full=_custom_vjp_jvp,
    batch=_custom_vjp_batch,
    codegen_impl=_compiled_call,  # jit-generated code runs the sub-IR compiled
)


class custom_vjp:
    """A function with a user-defined VJP (JAX semantics).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))
    >>> fg.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """``fwd(*args) -> (out, residuals)``; ``bwd(residuals, out_cotangent) -> tuple of
        cotangents, one per argument`` (``None`` for zero)."""
        if not callable(fwd) or not callable(bwd):
            raise LocatedTypeError("custom_vjp.defvjp needs two callables: fwd and bwd")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise LocatedTypeError(
                f"custom_vjp function {getattr(self.fun, '__name__', '?')} has no VJP rule; "
                "call .defvjp(fwd, bwd) before using it"
            )
        fun, fwd, bwd = self.fun, self.fwd, self.bwd
        if self.nondiff_argnums:
            nargs = len(args)
            static = {i % nargs: args[i] for i in self.nondiff_argnums}
            dyn = tuple(a for i, a in enumerate(args) if i not in static)

            def merge(d: Sequence[Any]) -> list[Any]:
                it = iter(d)
                return [static[i] if i in static else next(it) for i in range(nargs)]

            fun = lambda *d: self.fun(*merge(d))  # noqa: E731
            fwd = lambda *d: self.fwd(*merge(d))  # type: ignore[misc]  # noqa: E731
            nd = tuple(static[i % nargs] for i in self.nondiff_argnums)
            bwd = lambda res, g: self.bwd(*nd, res, g)  # type: ignore[misc]  # noqa: E731
            args = dyn
        ir, consts, leaves, in_tree, out_tree = _trace_call(fun, args, "custom_vjp")
        outs = bind(
            custom_vjp_call_p,
            *consts,
            *leaves,
            fun_ir=ir,
            fwd=fwd,
            bwd=bwd,
            num_consts=len(consts),
            in_tree=in_tree,
            out_tree=out_tree,
        )
        return tree_unflatten(out_tree, outs)


# --- custom_jvp ----------------------------------------------------------------------------
def _custom_jvp_jvp(ins: Any, ts: Any, outs: Any, params: dict[str, Any]) -> list[Any]:
    n = params["num_consts"]
    _check_no_traced_closure([t is not None for t in ts], n, "custom_jvp")
    fun_ir, in_tree, out_tree = params["fun_ir"], params["in_tree"], params["out_tree"]
    primals = tree_unflatten(in_tree, list(ins[n:]))
    tangents = tree_unflatten(in_tree, _instantiate(ts[n:], fun_ir.invars[n:]))
    res = params["rule"](tuple(primals), tuple(tangents))
    if not (isinstance(res, tuple) and len(res) == 2):
        raise LocatedTypeError("custom_jvp rule must return a pair (primal_out, tangent_out)")
    t_leaves, t_tree = tree_flatten(res[1])
    if t_tree != out_tree:
        raise LocatedTypeError(
            f"custom_jvp rule returned tangents with structure {t_tree}, but the function's "
            f"output has structure {out_tree}"
        )
    return t_leaves


def _custom_jvp_vjp(g: Any, ans: Any, args: Any, params: dict[str, Any], needs: Any) -> list[Any]:
    """Reverse mode from the JVP rule: the rule is linear in the tangents, so the VJP of
    t ↦ rule(primals, t) (taken at t = 0) is its transpose."""
    n = params["num_consts"]
    _check_no_traced_closure(needs, n, "custom_jvp")
    fun_ir, in_tree, out_tree = params["fun_ir"], params["in_tree"], params["out_tree"]
    primals = tuple(tree_unflatten(in_tree, list(args[n:])))
    arg_vars = fun_ir.invars[n:]
    zeros = [_zeros_like_aval(v) for v in arg_vars]
    # Only float arguments have tangents; others (ints, masks) get constant zero tangents.
    is_float = [v.aval.dtype.kind in "fc" for v in arg_vars]
    float_idx = [i for i, f in enumerate(is_float) if f]

    def linear(*t_float: Any) -> Any:
        t_leaves = list(zeros)
        for i, t in zip(float_idx, t_float):
            t_leaves[i] = t
        return params["rule"](primals, tuple(tree_unflatten(in_tree, t_leaves)))[1]

    if not float_idx:
        return [None] * len(args)
    _, vjp_fn, _, _ = _vjp_flat(linear, tuple(zeros[i] for i in float_idx), False, "custom_jvp")
    cts_float = vjp_fn(tree_unflatten(out_tree, _instantiate(g, fun_ir.outvars)))
    cts: list[Any] = [None] * len(arg_vars)
    for i, c in zip(float_idx, cts_float):
        cts[i] = c
    return [None] * n + cts


def _custom_jvp_batch(prim: Any, args: Any, dims: Any, **params: Any) -> Any:
    arg_axes = _no_batched_closure(dims, params, "custom_jvp")
    in_tree, rule = params["in_tree"], params["rule"]

    def flat_rule(p_leaves: Any, t_leaves: Any) -> Any:
        p = tuple(tree_unflatten(in_tree, list(p_leaves)))
        t = tuple(tree_unflatten(in_tree, list(t_leaves)))
        po, to = rule(p, t)
        return tuple(tree_flatten(po)[0]), tuple(tree_flatten(to)[0])

    def rule_b(primals: Any, tangents: Any) -> Any:
        # Tangents arrive batched like the primals (zeros are instantiated batched).
        return vmap(flat_rule, in_axes=(arg_axes, arg_axes))(tuple(primals), tuple(tangents))

    return _rebind_batched(prim, args, dims, params, {"rule": rule_b})


custom_jvp_call_p = define(
    "custom_jvp_call",
    _call_impl,
    _call_shape,
    multiple_results=True,
    vjp_full=_custom_jvp_vjp,
    jvp_full=_custom_jvp_jvp,
    batch=_custom_jvp_batch,
    codegen_impl=_compiled_call,  # jit-generated code runs the sub-IR compiled
)


class custom_jvp:
    """A function with a user-defined JVP rule (JAX semantics); reverse mode is derived from
    it (the rule must be linear in the tangents).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_jvp
    ... def log1pexp(x):
    ...     return fnp.log1p(fnp.exp(x))
    >>> _ = log1pexp.defjvp(lambda p, t: (log1pexp(p[0]), t[0] / (1.0 + fnp.exp(-p[0]))))
    >>> fg.grad(log1pexp)(100.0)
    np.float64(1.0)
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.rule: Callable[..., Any] | None = None

    def defjvp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """``rule(primals, tangents) -> (primal_out, tangent_out)``; usable as a decorator."""
        if not callable(rule):
            raise LocatedTypeError("custom_jvp.defjvp needs a callable rule(primals, tangents)")
        self.rule = rule
        return rule

    def __call__(self, *args: Any) -> Any:
        if self.rule is None:
            raise LocatedTypeError(
                f"custom_jvp function {getattr(self.fun, '__name__', '?')} has no JVP rule; "
                "call .defjvp(rule) before using it"
            )
        ir, consts, leaves, in_tree, out_tree = _trace_call(self.fun, args, "custom_jvp")
        outs = bind(
            custom_jvp_call_p,
            *consts,
            *leaves,
            fun_ir=ir,
            rule=self.rule,
            num_consts=len(consts),
            in_tree=in_tree,
            out_tree=out_tree,
        )
        return tree_unflatten(out_tree, outs)


# --- checkpoint ----------------------------------------------------------------------------
def _remat_vjp(g: Any, ans: Any, args: Any, params: dict[str, Any], needs: Any) -> list[Any]:
    fun_ir = params["fun_ir"]
    if not any(type(x) is Tracer for x in (*args, *g)):
        env = eval_ir_env(fun_ir, args)  # recompute the forward intermediates now
        return backward_pass(fun_ir, env, g, fun_ir.invars)
    # Under a trace, emit "recompute + backward" as one opaque checkpoint call, so that jit's
    # CSE cannot merge the recomputation with the original forward (which would store it).
    n = len(args)
    cts = _instantiate(g, fun_ir.outvars)

    def recompute_and_backward(*ops: Any) -> tuple[Any, ...]:
        env = eval_ir_env(fun_ir, ops[:n])
        res = backward_pass(fun_ir, env, list(ops[n:]), fun_ir.invars)
        return tuple(_instantiate(res, fun_ir.invars))

    avals = [aval_of(x) for x in (*args, *cts)]
    _, tree = tree_flatten(tuple(range(len(avals))))
    bwd_ir, consts, _ = trace_sub_ir(recompute_and_backward, avals, tree, "checkpoint")
    return bind(remat_p, *consts, *args, *cts, fun_ir=bwd_ir, num_consts=len(consts))


def _remat_jvp(ins: Any, ts: Any, outs: Any, params: dict[str, Any]) -> list[Any]:
    return jvp_ir(params["fun_ir"], ins, ts)[1]


def _remat_batch(prim: Any, args: Any, dims: Any, **params: Any) -> Any:
    new_ir, new_consts = _batched_call(prim, args, dims, **params)
    outs = bind(prim, *new_consts, *args, fun_ir=new_ir, num_consts=len(new_consts))
    return outs, [0] * len(outs)


def _remat_impl(*ops: Any, fun_ir: IR, num_consts: int = 0) -> list[Any]:
    return eval_ir(fun_ir, *ops)


remat_p = define(
    "checkpoint",
    _remat_impl,
    _call_shape,
    multiple_results=True,
    vjp_full=_remat_vjp,
    jvp_full=_remat_jvp,
    batch=_remat_batch,
    codegen_impl=_compiled_call,  # jit-generated code runs the sub-IR compiled
)


def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Rematerialization: reverse mode stores only ``fun``'s inputs and recomputes its
    intermediates during the backward pass (less memory, one more forward of ``fun``).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> layer = fg.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> float(fg.grad(lambda x: layer(x))(0.0))
    1.0
    """

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        ir, consts, leaves, _, out_tree = _trace_call(fun, args, "checkpoint")
        outs = bind(remat_p, *consts, *leaves, fun_ir=ir, num_consts=len(consts))
        return tree_unflatten(out_tree, outs)

    return wrapped


remat = checkpoint
