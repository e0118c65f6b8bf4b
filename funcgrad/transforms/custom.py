"""User-defined derivative rules (``custom_vjp``, ``custom_jvp``) and ``checkpoint``.

Each is a primitive carrying the traced function as a sub-IR (closed over values become
leading operands). Its rules in the primitive table call the user's rules, so the other
transforms see an ordinary primitive: ``vmap`` of a ``custom_vjp`` function, ``grad`` of
``grad`` of a ``custom_jvp`` function, ``jit`` of ``checkpoint``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR
from funcgrad.core.pytree import PyTreeDef, tree_flatten, tree_map, tree_unflatten
from funcgrad.core.tracer import Tracer, aval_of, bind
from funcgrad.core.tracing import (
    as_array_leaf,
    closure_convert,
    eval_ir,
    eval_ir_env,
    trace_sub_ir,
    trace_to_ir,
)
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
    if all(_has_value(x) for x in leaves):
        # Concrete values (eagerly, or under grad/jvp): trace with them, so Python control
        # flow on values works inside the function, as in JAX; the IR is the path taken.
        ir, out_tree, _ = trace_to_ir(lambda *a: fun(*a), leaves, in_tree, kind)
        ir, consts = closure_convert(ir)
        return ir, consts, leaves, in_tree, out_tree
    avals = [aval_of(x) for x in leaves]
    ir, consts, out_tree = trace_sub_ir(lambda *a: fun(*a), avals, in_tree, kind)
    return ir, consts, leaves, in_tree, out_tree


def _has_value(x: Any) -> bool:
    return x.val is not None if type(x) is Tracer else isinstance(x, (np.ndarray, np.generic))


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


def _resolve_args(
    fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], kind: str
) -> tuple[Any, ...]:
    """Keyword arguments and defaults mapped to positions by ``fun``'s signature (as JAX)."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        if kwargs:
            raise LocatedTypeError(
                f"{kind}: cannot map keyword arguments to positions (no signature); pass them "
                "positionally"
            ) from None
        return args
    if not kwargs and all(
        p.default is p.empty
        for p in list(sig.parameters.values())[len(args) :]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ):
        return args
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise LocatedTypeError(f"{kind} function {getattr(fun, '__name__', '?')}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise LocatedTypeError(
            f"{kind}: keyword-only arguments {sorted(bound.kwargs)} cannot be mapped to "
            "positions; make them positional parameters"
        )
    return tuple(bound.args)


def _split_nondiff(
    args: tuple[Any, ...], nondiff_argnums: tuple[int, ...], kind: str
) -> tuple[tuple[Any, ...], tuple[Any, ...], Callable[[Sequence[Any]], list[Any]]]:
    """(differentiable args, non-differentiable args in nondiff_argnums order, merge) where
    ``merge(diff_args)`` rebuilds the full argument list."""
    nargs = len(args)
    for i in nondiff_argnums:
        if not -nargs <= i < nargs:
            raise LocatedValueError(
                f"{kind}: nondiff_argnums names argument {i}, but the function was called with "
                f"{nargs} argument(s)"
            )
    static = {i % nargs: args[i] for i in nondiff_argnums}
    for i, v in static.items():
        if any(type(x) is Tracer for x in tree_flatten(v)[0]):
            raise LocatedTypeError(
                f"{kind}: argument {i} is in nondiff_argnums but holds a traced array; "
                "nondiff_argnums is for non-array values (functions, strings, ...). Pass arrays "
                "as ordinary arguments (their rule may return None/zeros for them)."
            )
    dyn = tuple(a for i, a in enumerate(args) if i not in static)

    def merge(d: Sequence[Any]) -> list[Any]:
        it = iter(d)
        return [static[i] if i in static else next(it) for i in range(nargs)]

    return dyn, tuple(static[i % nargs] for i in nondiff_argnums), merge


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
        # the user's bwd takes the cotangent shaped like the function's output
        cts = params["bwd"](res, tree_unflatten(params["out_tree"], list(ct)))
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise LocatedTypeError(
                f"custom_vjp function {getattr(self.fun, '__name__', '?')} has no VJP rule; "
                "call .defvjp(fwd, bwd) before using it"
            )
        args = _resolve_args(self.fun, args, kwargs, "custom_vjp")
        fun, fwd, bwd = self.fun, self.fwd, self.bwd
        if self.nondiff_argnums:
            args, nd, merge = _split_nondiff(args, self.nondiff_argnums, "custom_vjp")
            fun = lambda *d: self.fun(*merge(d))  # noqa: E731
            fwd = lambda *d: self.fwd(*merge(d))  # type: ignore[misc]  # noqa: E731
            bwd = lambda res, g: self.bwd(*nd, res, g)  # type: ignore[misc]  # noqa: E731
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

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.rule: Callable[..., Any] | None = None

    def defjvp(self, rule: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """``rule(primals, tangents) -> (primal_out, tangent_out)`` (with ``nondiff_argnums``:
        ``rule(*nondiff_args, primals, tangents)``); usable as a decorator. Zero tangents are
        passed as arrays of zeros (``symbolic_zeros=True`` is not supported)."""
        if not callable(rule):
            raise LocatedTypeError("custom_jvp.defjvp needs a callable rule(primals, tangents)")
        if symbolic_zeros:
            raise LocatedNotImplementedError(
                "custom_jvp.defjvp(symbolic_zeros=True) is not supported: funcgrad always "
                "passes zero tangents as arrays of zeros"
            )
        self.rule = rule
        return rule

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """One rule per (differentiable) argument, ``jvp_i(t_i, primal_out, *primals) ->
        tangent contribution`` (``None``: that argument contributes zero); the contributions
        are summed.

        >>> import funcgrad as fg, funcgrad.numpy as fnp
        >>> f = fg.custom_jvp(lambda x, y: fnp.sin(x) * y)
        >>> f.defjvps(lambda t, ans, x, y: fnp.cos(x) * t * y, None)
        >>> float(fg.grad(f, 1)(0.0, 3.0))
        0.0
        """
        for j in jvps:
            if j is not None and not callable(j):
                raise LocatedTypeError(
                    f"custom_jvp.defjvps: each rule must be callable or None, got {j!r}"
                )
        nd = len(self.nondiff_argnums)

        def rule(*a: Any) -> Any:
            static, (primals, tangents) = a[:nd], a[nd:]
            if len(jvps) != len(primals):
                raise LocatedTypeError(
                    f"custom_jvp.defjvps got {len(jvps)} rules but the function has "
                    f"{len(primals)} differentiable arguments; give one rule (or None) per argument"
                )
            out = self.fun(*static, *primals) if not nd else self._call_fun(static, primals)
            total = None
            for j, t in zip(jvps, tangents):
                if j is None:
                    continue
                c = j(t, out, *primals)
                total = c if total is None else _tree_add(total, c)
            if total is None:
                total = _tree_zeros(out)
            return out, total

        self.rule = rule

    def _call_fun(self, static: tuple[Any, ...], primals: tuple[Any, ...]) -> Any:
        n = len(static) + len(primals)
        pos = {i % n: v for i, v in zip(self.nondiff_argnums, static)}
        it = iter(primals)
        return self.fun(*[pos[i] if i in pos else next(it) for i in range(n)])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.rule is None:
            raise LocatedTypeError(
                f"custom_jvp function {getattr(self.fun, '__name__', '?')} has no JVP rule; "
                "call .defjvp(rule) before using it"
            )
        args = _resolve_args(self.fun, args, kwargs, "custom_jvp")
        fun, rule = self.fun, self.rule
        if self.nondiff_argnums:
            args, nd, merge = _split_nondiff(args, self.nondiff_argnums, "custom_jvp")
            fun = lambda *d: self.fun(*merge(d))  # noqa: E731
            rule = lambda p, t: self.rule(*nd, p, t)  # type: ignore[misc]  # noqa: E731
        ir, consts, leaves, in_tree, out_tree = _trace_call(fun, args, "custom_jvp")
        outs = bind(
            custom_jvp_call_p,
            *consts,
            *leaves,
            fun_ir=ir,
            rule=rule,
            num_consts=len(consts),
            in_tree=in_tree,
            out_tree=out_tree,
        )
        return tree_unflatten(out_tree, outs)


def _tree_add(a: Any, b: Any) -> Any:
    return tree_map(lambda x, y: x + y, a, b)


def _tree_zeros(a: Any) -> Any:
    return tree_map(lambda x: x * 0.0, a)


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


def checkpoint(
    fun: Callable[..., Any] | None = None,
    *,
    prevent_cse: bool = True,
    policy: Callable[..., Any] | None = None,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """Rematerialization: reverse mode stores only ``fun``'s inputs and recomputes its
    intermediates during the backward pass (less memory, one more forward of ``fun``).

    JAX's keywords are accepted: ``static_argnums`` (arguments passed through untraced);
    ``prevent_cse`` (funcgrad never merges the recomputation with the forward pass);
    ``policy`` (a JAX saving policy): funcgrad saves only the inputs whatever the policy —
    results are the same, only memory and time differ. Also usable as
    ``@checkpoint(static_argnums=...)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> layer = fg.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
    >>> float(fg.grad(lambda x: layer(x))(0.0))
    1.0
    """
    if fun is None:
        return functools.partial(
            checkpoint, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums
        )
    if not callable(fun):
        raise LocatedTypeError(f"checkpoint expects a callable, got {type(fun).__name__}")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        f = fun
        if static:
            args, _, merge = _split_nondiff(args, static, "checkpoint")
            f = lambda *d: fun(*merge(d))  # noqa: E731
        ir, consts, leaves, _, out_tree = _trace_call(f, args, "checkpoint")
        outs = bind(remat_p, *consts, *leaves, fun_ir=ir, num_consts=len(consts))
        return tree_unflatten(out_tree, outs)

    return wrapped


remat = checkpoint
