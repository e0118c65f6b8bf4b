"""Turning user functions into IRs, shared by every transform: argument checking, pytree
flattening, ``make_ir``, and the conversion of results back to plain numpy."""

from __future__ import annotations

import functools
import gc
import inspect
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.errors import LocatedTypeError
from funcgrad.core.ir import IR, Literal, ShapedArray, Var, unsupported_dtype
from funcgrad.core.pytree import PyTreeDef, tree_flatten, tree_paths, tree_unflatten
from funcgrad.core.source import user_src
from funcgrad.core.tracer import Trace, Tracer, bind, source_context

__all__ = [
    "make_ir",
    "trace_to_ir",
    "eval_ir",
    "eval_ir_env",
    "to_user",
    "check_diff_leaf",
    "gc_paused",
]


def _is_arraylike(x: Any) -> bool:
    return type(x) is Tracer or isinstance(x, (np.ndarray, np.generic, float, int, bool, complex))


def as_array_leaf(x: Any, what: str) -> Any:
    """Concrete leaves become numpy arrays/scalars; tracers pass through."""
    if type(x) is Tracer:
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        if x.dtype.kind not in "biufc":
            raise LocatedTypeError(f"{what} has dtype {x.dtype}: {unsupported_dtype(x.dtype)}")
        return x.view(np.ndarray) if type(x) is Array else x
    if isinstance(x, (float, int, bool, complex)):
        return np.asarray(x)
    if isinstance(x, ShapedArray):
        return x
    raise LocatedTypeError(
        f"{what} is a {type(x).__name__}, which funcgrad cannot trace; pass numpy arrays or "
        "scalars (or pytrees of them), or mark the argument static"
    )


def check_diff_leaf(x: Any, what: str, transform: str) -> Any:
    """Validate and convert one leaf of a differentiated argument: floating-point or complex
    arrays and scalars (Python floats and complex numbers become 0-d arrays)."""
    t = type(x)
    if t is np.ndarray:  # the common cases first (same results as the checks below)
        if x.dtype.kind in "fc":
            return x
    elif t is float:
        return np.asarray(x)
    if isinstance(x, (bool, np.bool_)):
        raise LocatedTypeError(
            f"{transform} requires floating-point (real or complex) inputs, but {what} is a "
            "bool. Differentiate with respect to float arrays; pass non-differentiated values "
            "through argnums (e.g. grad(f, argnums=0))."
        )
    if isinstance(x, int) and not isinstance(x, np.generic):
        raise LocatedTypeError(
            f"{transform} requires floating-point (real or complex) inputs, but {what} is the "
            f"Python int {x}. Pass a float ({float(x)!r}) or a float array instead."
        )
    if isinstance(x, (float, complex)):
        return np.asarray(x)
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray:
        x = np.asarray(x)  # subclasses (np.matrix, masked arrays) are traced as plain arrays
    if type(x) is Tracer or isinstance(x, (np.ndarray, np.generic)):
        if x.dtype.kind == "V":  # bfloat16 and the other ml_dtypes types
            raise LocatedTypeError(
                f"{transform}: {what} has dtype {x.dtype}: {unsupported_dtype(x.dtype)}"
            )
        if x.dtype.kind not in "fc":
            raise LocatedTypeError(
                f"{transform} requires floating-point (real or complex) inputs, but {what} has "
                f"dtype {x.dtype}. Differentiation is defined for floats only; convert with "
                "x.astype(np.float64) (or float32), or exclude the argument via argnums."
            )
        return x
    raise LocatedTypeError(
        f"{transform} requires array inputs, but {what} is a {type(x).__name__}. Pass numpy "
        "float arrays or Python floats (or pytrees of them); non-array arguments must not be "
        "differentiated (see argnums)."
    )


def leaf_names(args: Sequence[Any], fun: Callable[..., Any] | None) -> list[str]:
    """Readable per-leaf names for messages and IR printing: 'x', 'params['w']', ..."""
    names = _param_names(fun, len(args))
    out = []
    for i, a in enumerate(args):
        base = names[i] if i < len(names) else f"arg{i}"
        for p in tree_paths(a):
            out.append(base if p == "<root>" else base + p)
    return out


def _param_names(fun: Callable[..., Any] | None, n: int) -> list[str]:
    if fun is None:
        return []
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind is p.VAR_POSITIONAL:
            names += [f"{p.name}{j}" for j in range(n - len(names))]
    return names


def _identifier(name: str) -> str:
    s = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    while "__" in s:
        s = s.replace("__", "_")
    return s if s.isidentifier() else ""


def trace_to_ir(
    fun: Callable[..., Any],
    in_leaves: Sequence[Any],
    in_tree: PyTreeDef,
    kind: str,
    keep_values: bool = False,
    hints: Sequence[str] | None = None,
    abstract: bool = False,
) -> tuple[IR, PyTreeDef, Trace]:
    """Trace ``fun(*unflatten(in_tree, leaves))`` into an IR.

    Concrete leaves give tracers that carry their values (so Python control flow works);
    ``abstract=True`` traces shapes and dtypes only (jit, vmap).
    """
    trace = Trace(kind, keep_values)
    tracers = []
    src = user_src()  # the same for every input: looked up once
    for i, x in enumerate(in_leaves):
        hint = _identifier(hints[i]) if hints else None
        if abstract:
            aval = (
                x.irvar.aval
                if type(x) is Tracer
                else x
                if isinstance(x, ShapedArray)
                else (ShapedArray(np.shape(x), x.dtype))
            )
            tracers.append(trace.abstract_input(aval, hint, src))
        else:
            tracers.append(trace.new_input(x, hint, src))
    try:
        out = fun(*tree_unflatten(in_tree, tracers))
        out_leaves, out_tree = tree_flatten(out)
        for j, o in enumerate(out_leaves):
            if not _is_arraylike(o):
                raise LocatedTypeError(
                    f"the function transformed by {kind} returned a {type(o).__name__} "
                    f"(output leaf {j}); transformed functions must return arrays or scalars "
                    "(or pytrees of them)"
                )
        ir = trace.finish(tracers, out_leaves)
    finally:
        trace.alive = False
    return ir, out_tree, trace


def eval_ir(ir: IR, *args: Any) -> list[Any]:
    """Run ``ir`` on ``args`` (one value per input var); returns the list of outputs.

    Values may be numpy arrays or tracers of an enclosing transform, in which case the
    equations are re-emitted into that transform (this is how IRs compose).

    >>> import funcgrad as fg, numpy as np
    >>> ir = fg.make_ir(lambda x: x * 2.0)(np.ones(2))
    >>> eval_ir(ir, np.arange(2.0))
    [array([0., 2.])]
    """
    if len(args) != len(ir.invars):
        raise LocatedTypeError(f"eval_ir: the IR takes {len(ir.invars)} inputs, got {len(args)}")
    env: dict[Var, Any] = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, args))
    with source_context() as src:
        for e in ir.eqns:
            src.loc = e.src
            ins = [env[x] if type(x) is Var else x.val for x in e.inputs]
            out = bind(e.prim, *ins, **e.params)
            if e.prim.multiple_results:
                env.update(zip(e.outputs, out))
            else:
                env[e.outputs[0]] = out
    return [env[x] if type(x) is Var else x.val for x in ir.outvars]


def eval_ir_env(ir: IR, args: Sequence[Any]) -> dict[Var, Any]:
    """Run ``ir`` and return the environment of every variable's value (for reverse mode)."""
    env: dict[Var, Any] = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, args))
    with source_context() as sc:
        for e in ir.eqns:
            sc.loc = e.src
            ins = [env[x] if type(x) is Var else x.val for x in e.inputs]
            out = bind(e.prim, *ins, **e.params)
            if e.prim.multiple_results:
                env.update(zip(e.outputs, out))
            else:
                env[e.outputs[0]] = out
    return env


def read(env: dict[Var, Any], x: Var | Literal) -> Any:
    return env[x] if type(x) is Var else x.val


def to_user(x: Any, aval: ShapedArray | None = None, avoid: Collection[int] = ()) -> Any:
    """A result leaf as the user gets it: numpy scalar for shape (), a writeable ndarray
    otherwise (broadcast views are copied, and so is an array whose ``id`` is in ``avoid`` —
    the caller's own inputs, see :func:`ids` — so results never alias them); tracers pass
    through."""
    if type(x) is Tracer:
        return x
    if aval is not None and getattr(x, "dtype", None) != aval.dtype:
        x = np.asarray(x, dtype=aval.dtype)
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return x[()]
        if not x.flags.writeable or id(x) in avoid:
            return np.array(x).view(Array)
        return x.view(Array) if type(x) is np.ndarray else x
    if isinstance(x, np.generic):
        return x
    return np.asarray(x)[()]


def gc_paused(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` with Python's cyclic garbage collector paused (when it was enabled).

    An eager transform allocates a few objects per primitive (equations, variables, tracers)
    that live until it returns and form no reference cycles: reference counting frees them.
    Letting the collector run meanwhile only makes it traverse them, and promote them to
    older generations, whose full collections traverse the whole heap (~10 % of an eager
    ``grad``). Cyclic garbage made meanwhile is collected after the call, as usual.
    """
    if not gc.isenabled():
        return fn(*args)
    gc.disable()
    try:
        return fn(*args)
    finally:
        gc.enable()


def ids(xs: Iterable[Any]) -> frozenset[int]:
    """Identities of the caller's input arrays, for :func:`to_user`'s ``avoid``."""
    return frozenset(map(id, xs))


def make_ir(fun: Callable[..., Any], static_argnums: int | Sequence[int] = ()) -> Callable[..., IR]:
    """Return a function that traces ``fun`` on example arguments and returns its IR.

    Like ``jax.make_jaxpr``. Concrete arguments are traced with their values, so Python
    control flow on values works and the IR records the path taken.

    >>> import funcgrad as fg, numpy as np
    >>> print(fg.make_ir(lambda x: fg.numpy.sin(x) * 2.0)(np.ones(3)))
    { lambda ; x:f64[3] .
        a:f64[3] = sin x
        b:f64[3] = mul a 2.0
      return b }
    """
    if not callable(fun):
        raise LocatedTypeError(f"make_ir expects a callable, got {type(fun).__name__}")
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def traced(*args: Any, **kwargs: Any) -> IR:
        dyn_idx = [i for i in range(len(args)) if i not in static and i - len(args) not in static]
        dyn = [args[i] for i in dyn_idx]

        def flat_fun(*dyn_args: Any) -> Any:
            full = list(args)
            for i, a in zip(dyn_idx, dyn_args):
                full[i] = a
            return fun(*full, **kwargs)

        leaves, tree = tree_flatten(tuple(dyn))
        names = _param_names(fun, len(args))
        hints = []
        for i in dyn_idx:
            base = names[i] if i < len(names) else f"arg{i}"
            hints += [base if p == "<root>" else base + p for p in tree_paths(args[i])]
        leaves = [as_array_leaf(x, f"argument leaf {n}") for x, n in zip(leaves, hints)]
        ir, _, _ = trace_to_ir(flat_fun, leaves, tree, "make_ir", hints=hints)
        return ir

    return traced


def closure_convert(ir: IR) -> tuple[IR, list[Any]]:
    """Turn an IR's constants into leading inputs: returns (closed IR, constant values).

    Primitives that carry a sub-IR (custom rules, checkpoint, control flow) pass the values it
    closes over as explicit operands, so every transform sees them as ordinary inputs.
    """
    closed = IR([], [], list(ir.constvars) + list(ir.invars), ir.eqns, ir.outvars)
    return closed, list(ir.consts)


def trace_sub_ir(
    fun: Callable[..., Any], avals: Sequence[ShapedArray], in_tree: PyTreeDef, kind: str
) -> tuple[IR, list[Any], PyTreeDef]:
    """Trace ``fun`` abstractly on ``avals`` into a closed IR plus the values it closes over."""
    ir, out_tree, _ = trace_to_ir(fun, list(avals), in_tree, kind, abstract=True)
    closed, consts = closure_convert(ir)
    return closed, consts, out_tree
