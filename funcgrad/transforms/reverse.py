"""Reverse mode: ``vjp``, ``grad``, ``value_and_grad``.

The function is traced to an IR; the backward pass walks that IR's equations in reverse,
calling each primitive's staged VJP rules. The rules are ordinary array code, so when the
forward values are tracers of an enclosing transform the backward equations are recorded
into it — that is how ``make_ir(grad(f))`` shows the backward pass and how ``grad(grad(f))``
works. Eagerly (concrete inputs), the values computed while tracing are reused, so the
forward pass runs once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, ShapedArray, Var
from funcgrad.core.pytree import tree_flatten, tree_unflatten
from funcgrad.core.source import _tls
from funcgrad.core.tracer import Tracer, bind, emit_phase, source_context
from funcgrad.core.tracing import check_diff_leaf, gc_paused, ids, to_user, trace_to_ir
from funcgrad.primitives.elementwise import add, convert_element_type, real
from funcgrad.primitives.structural import broadcast_to, reduce_sum, reshape

__all__ = ["vjp", "grad", "value_and_grad", "backward_pass", "fit_cotangent"]


def _shape(x: Any) -> tuple[int, ...]:
    return x.shape if type(x) is Tracer or isinstance(x, (np.ndarray, np.generic)) else ()


def _dtype(x: Any) -> np.dtype:
    return (
        x.dtype
        if type(x) is Tracer or isinstance(x, (np.ndarray, np.generic))
        else np.result_type(x)
    )


def fit_cotangent(ct: Any, aval: ShapedArray) -> Any:
    """Un-broadcast (sum over broadcast axes) and cast ``ct`` to ``aval`` — the one place where
    reverse mode undoes numpy broadcasting, so no VJP rule has to."""
    if (
        (isinstance(ct, (np.ndarray, np.generic)) or type(ct) is Tracer)
        and ct.shape == aval.shape
        and ct.dtype == aval.dtype
    ):
        return ct  # nothing to do (what the general path below returns in this case)
    shape = _shape(ct)
    target = aval.shape
    if shape != target:
        lead = len(shape) - len(target)
        if lead < 0:
            ct = broadcast_to(ct, target)
        else:
            axes = tuple(range(lead)) + tuple(
                i + lead for i, s in enumerate(target) if s == 1 and shape[i + lead] != 1
            )
            if axes:
                ct = reduce_sum(ct, axes)
            ct = reshape(ct, target)
    dt = _dtype(ct)
    if dt != aval.dtype:
        if dt.kind == "c" and aval.dtype.kind != "c":
            # The transpose of a real -> complex promotion is the real part (JAX's convention).
            ct = real(ct)
            if _dtype(ct) == aval.dtype:
                return ct
        ct = convert_element_type(ct, aval.dtype)
    return ct


def _inexact(v: Var) -> bool:
    return v.aval.dtype.kind in "fc"


def _depends(ir: IR, wrt: Sequence[Var]) -> set[Var]:
    """The variables that depend differentiably on ``wrt`` (one forward walk)."""
    dep: set[Var] = set(wrt)
    isdisjoint = dep.isdisjoint
    add = dep.add
    for e in ir.eqns:
        if e.prim.differentiable and not isdisjoint(e.inputs):
            for o in e.outputs:
                if o.aval.dtype.kind in "fc":  # _inexact, inlined
                    add(o)
    return dep


def forward_with_residuals(ir: IR, args: Sequence[Any]) -> tuple[dict[Var, Any], dict[Any, Any]]:
    """Run ``ir`` for reverse mode: every variable's value, plus the residuals saved by
    primitives that have a forward-with-residuals rule (``prim.vjp_fwd``, e.g. ``scan`` saves
    its per-step intermediates instead of recomputing them in the backward pass)."""
    env: dict[Var, Any] = dict(zip(ir.constvars, ir.consts))
    env.update(zip(ir.invars, args))
    residuals: dict[Any, Any] = {}
    dep = _depends(ir, ir.invars)
    with source_context() as sc:
        for e in ir.eqns:
            sc.loc = e.src
            ins = [env[x] if type(x) is Var else x.val for x in e.inputs]
            fwd = e.prim.vjp_fwd
            if fwd is not None:
                needs = [type(x) is Var and x in dep for x in e.inputs]
                out, residuals[e] = fwd(ins, e.params, needs)
            else:
                out = bind(e.prim, *ins, **e.params)
            if e.prim.multiple_results:
                env.update(zip(e.outputs, out))
            else:
                env[e.outputs[0]] = out
    return env, residuals


def backward_pass(
    ir: IR,
    env: dict[Var, Any],
    out_cts: Sequence[Any],
    wrt: Sequence[Var],
    residuals: dict[Any, Any] | None = None,
    record: dict[Var, Any] | None = None,
    concrete: bool = False,
) -> list[Any]:
    """Cotangents of ``wrt`` given output cotangents (``None`` = zero), by one reverse walk.

    ``env`` holds every variable's forward value. Only equations on a path from ``wrt`` to
    a differentiable output are visited; cotangents are freed as soon as they are consumed.
    Equations it emits into an enclosing trace are marked ``phase="backward"``. With
    ``record`` (a dict), each equation output's total cotangent is stored there (explain).
    ``concrete=True`` says every value in ``env`` and ``out_cts`` is a concrete array (eager
    reverse mode): see :func:`_fast_numpy`.
    """
    dep = _depends(ir, wrt)
    ct_env: dict[Var, Any] = {}
    for v, ct in zip(ir.outvars, out_cts):
        if ct is not None and type(v) is Var and v in dep:
            ct = fit_cotangent(ct, v.aval)
            prev = ct_env.get(v)
            ct_env[v] = ct if prev is None else add(prev, ct)
    with source_context() as sc, emit_phase("backward"):
        set_loc = sc.setter()
        user_err = _fast_numpy(ir) if concrete else None
        if user_err is None:
            _walk(ir, env, dep, ct_env, residuals, record, set_loc, None)
        else:
            caller = _CallerNumpy(user_err)  # (captured before the state changes)
            with np.errstate(**_raising(user_err)):
                saved, _tls.direct = _tls.direct, True
                try:
                    _walk(ir, env, dep, ct_env, residuals, record, set_loc, caller)
                finally:
                    _tls.direct = saved
    return [ct_env.get(v) for v in wrt]


# Eager backward passes of at least this many equations run their numpy calls directly.
_FAST_MIN_EQNS = 16


def _fast_numpy(ir: IR) -> dict[str, str] | None:
    """Whether an eager backward pass may call numpy directly; if so, the caller's numpy error
    state (else None).

    Eagerly, every primitive runs from a tiny frame compiled at its equation's user line
    (:func:`funcgrad.core.source.call_at`), so numpy's RuntimeWarnings name that line. Long
    backward passes instead run with numpy's warnings raised as ``FloatingPointError`` and
    call numpy directly, without setting each equation's line; an equation whose rules raise
    (a warning, or any error) is re-run from the failing operand under the caller's error
    state, at its line, through the trampolines, so the same warnings (or errors) come out at
    the same lines. Rules are pure, so re-running one is safe; whole-primitive
    rules (``vjp_full``: control flow, custom rules, collectives — which may run user code) run
    under the caller's error state only. Error states with ``call``/``print``/``log`` handlers
    keep the general path.
    """
    if len(ir.eqns) < _FAST_MIN_EQNS:
        return None
    err = np.geterr()
    for mode in err.values():
        if mode != "warn" and mode != "ignore" and mode != "raise":
            return None
    return err


def _raising(err: dict[str, str]) -> dict[str, str]:
    return {k: "raise" if m == "warn" else m for k, m in err.items()}


try:  # numpy 2: the error state is this context variable, which np.errstate sets and resets
    from numpy._core._ufunc_config import _extobj_contextvar as _errstate_var
except ImportError:  # other numpy versions: np.errstate (slower)
    _errstate_var = None


class _CallerNumpy:
    """Inside a raising backward pass: the caller's numpy error state, primitives through their
    trampolines (as outside). One per pass, entered once per equation that needs it (not
    re-entrantly): restoring the caller's state is one context-variable set and reset."""

    __slots__ = ("_err", "_extobj", "_token", "_ctx")

    def __init__(self, err: dict[str, str]) -> None:
        self._err = err
        self._extobj = _errstate_var.get() if _errstate_var is not None else None

    def __enter__(self) -> None:
        if self._extobj is not None:
            self._token = _errstate_var.set(self._extobj)
        else:  # see _errstate_var
            self._ctx = np.errstate(**self._err)
            self._ctx.__enter__()
        _tls.direct = False

    def __exit__(self, *exc: Any) -> None:
        _tls.direct = True
        if self._extobj is not None:
            _errstate_var.reset(self._token)
        else:
            self._ctx.__exit__(*exc)


def _walk(
    ir: IR,
    env: dict[Var, Any],
    dep: set[Var],
    ct_env: dict[Var, Any],
    residuals: dict[Any, Any] | None,
    record: dict[Var, Any] | None,
    set_loc: Callable[[Any], None],
    user_err: _CallerNumpy | None,
) -> None:
    """backward_pass's reverse walk; ``user_err``: the caller's numpy error state when numpy
    runs raising (see :func:`_fast_numpy`), else None."""
    pop = ct_env.pop
    get = ct_env.get
    for e in reversed(ir.eqns):
        prim = e.prim
        if prim.multiple_results:
            cts = [pop(o, None) for o in e.outputs]
            if all(c is None for c in cts):
                continue
            g: Any = cts
            ans: Any = [env[o] for o in e.outputs]
            if record is not None:
                record.update((o, c) for o, c in zip(e.outputs, cts) if c is not None)
        else:
            out = e.outputs[0]
            g = pop(out, None)
            if g is None:
                continue
            ans = env[out]
            if record is not None:
                record[out] = g
        if user_err is None:
            set_loc(e.src)
        # (raising numpy: the line is set only when an equation is re-run, below; primitives
        # run directly, so nothing else reads it, and errors are raised again by the re-run)
        args = []
        for x in e.inputs:  # a plain loop: cheaper than a comprehension for 1-3 inputs
            args.append(env[x] if type(x) is Var else x.val)
        if prim.vjp_full is not None:
            if user_err is None:
                _full_rule(e, g, ans, args, dep, ct_env, residuals)
            else:
                set_loc(e.src)
                with user_err:
                    _full_rule(e, g, ans, args, dep, ct_env, residuals)
            continue
        rules = prim.vjp
        params = e.params
        i = 0
        try:
            for x in e.inputs:
                if type(x) is Var and x in dep:
                    rule = rules[i]
                    if rule is not None:
                        ct = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
                        if ct is not None:
                            # fit_cotangent's no-op case, inlined (the common one)
                            aval = x.aval
                            t = type(ct)
                            if not (
                                (t is np.ndarray or t is np.float64 or t is np.float32)
                                and ct.shape == aval.shape
                                and (ct.dtype is aval.dtype or ct.dtype == aval.dtype)
                            ):
                                ct = fit_cotangent(ct, aval)
                            prev = get(x)
                            # (assigned last: an error above leaves ct_env as it was)
                            ct_env[x] = ct if prev is None else add(prev, ct)
                i += 1
        except Exception:
            if user_err is None:
                raise
            # A numpy warning raised (FloatingPointError), or any other error, in operand i's
            # rule: redo it and the operands after it as outside the fast path, at the
            # equation's line (so warnings and errors name it). Earlier operands are done.
            set_loc(e.src)
            with user_err:
                _rules_from(e, i, g, ans, args, dep, ct_env)


def _rules_from(
    e: Any, start: int, g: Any, ans: Any, args: list[Any], dep: set[Var], ct_env: dict[Var, Any]
) -> None:
    """The per-operand VJP rules of equation ``e`` from operand ``start`` on."""
    rules = e.prim.vjp
    for i in range(start, len(e.inputs)):
        x = e.inputs[i]
        if type(x) is Var and x in dep and rules[i] is not None:
            ct = rules[i](g, ans, *args, **e.params)
            if ct is not None:
                ct = fit_cotangent(ct, x.aval)
                prev = ct_env.get(x)
                ct_env[x] = ct if prev is None else add(prev, ct)


def _full_rule(
    e: Any,
    g: Any,
    ans: Any,
    args: list[Any],
    dep: set[Var],
    ct_env: dict[Var, Any],
    residuals: dict[Any, Any] | None,
) -> None:
    """A whole-primitive VJP rule (``vjp_full``, or ``vjp_bwd`` with saved residuals)."""
    prim = e.prim
    needs = [type(x) is Var and x in dep for x in e.inputs]
    if residuals and e in residuals:
        in_cts = prim.vjp_bwd(residuals[e], g, args, e.params, needs)
    else:
        in_cts = prim.vjp_full(g, ans, args, e.params, needs)
    for x, ct in zip(e.inputs, in_cts):
        if ct is not None and type(x) is Var and x in dep:
            ct = fit_cotangent(ct, x.aval)
            prev = ct_env.get(x)
            ct_env[x] = ct if prev is None else add(prev, ct)


def _zeros(aval: ShapedArray) -> Any:
    return np.zeros(aval.shape, aval.dtype)


def _vjp_flat(
    fun: Callable[..., Any], primals: tuple[Any, ...], has_aux: bool, transform: str
) -> tuple[Any, Callable[[Any], tuple[Any, ...]], Any, IR]:
    leaves, in_tree = tree_flatten(primals)
    try:
        leaves = [check_diff_leaf(x, "", transform) for x in leaves]
    except TypeError:  # build readable labels ("argument 1 (leaf 2)") only for the message
        labels = _leaf_labels(primals)
        for i, x in enumerate(leaves):
            check_diff_leaf(x, labels[i], transform)
        raise
    if has_aux:

        def traced(*args: Any) -> Any:
            out = fun(*args)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise LocatedTypeError(
                    f"{transform} with has_aux=True needs the function to return a pair "
                    f"(output, aux), got {type(out).__name__}"
                )
            return out
    else:
        traced = fun
    ir, out_tree, trace = trace_to_ir(traced, leaves, in_tree, transform, keep_values=True)
    if has_aux:
        # out_tree is (out, aux): split the flat outputs.
        out_tree_main, aux_tree = out_tree.children
        n_main = out_tree_main.num_leaves
    else:
        out_tree_main, aux_tree, n_main = out_tree, None, out_tree.num_leaves
    # Eagerly, every value was computed while tracing: reuse them. Inside another transform
    # (tracer inputs or constants) re-emit the forward pass into the enclosing trace.
    eager = Tracer not in set(map(type, leaves)) and Tracer not in set(map(type, ir.consts))
    residuals: dict[Any, Any] = {}
    if eager:
        env = trace.env
    else:
        env, residuals = forward_with_residuals(ir, leaves)
    assert env is not None
    outs = [env[v] if type(v) is Var else v.val for v in ir.outvars]
    out_avals = [v.aval for v in ir.outvars]
    avoid = ids(leaves)
    out = tree_unflatten(
        out_tree_main, [to_user(o, a, avoid) for o, a in zip(outs[:n_main], out_avals)]
    )
    aux = (
        tree_unflatten(aux_tree, [to_user(o, None, avoid) for o in outs[n_main:]])
        if aux_tree is not None
        else None
    )
    n_aux = len(outs) - n_main

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree is not out_tree_main and ct_tree != out_tree_main:
            raise LocatedValueError(
                f"vjp: the cotangent has structure {ct_tree} but the function's output has "
                f"structure {out_tree_main}; pass one cotangent per output leaf"
            )
        for c, a in zip(ct_leaves, out_avals):
            if (c.shape if isinstance(c, (np.ndarray, np.generic)) else tuple(np.shape(c))) != (
                a.shape
            ):
                raise LocatedValueError(
                    f"vjp: cotangent shape {tuple(np.shape(c))} does not match the output "
                    f"shape {a.shape}; the cotangent must have the output's shape"
                )
            if _dtype(c).kind == "c" and a.dtype.kind != "c":
                raise LocatedTypeError(
                    f"vjp: the cotangent has dtype {_dtype(c)} but the output {a} is real; "
                    "a real output takes a real cotangent (pass its real part)"
                )
        cts = backward_pass(
            ir,
            env,
            list(ct_leaves) + [None] * n_aux,
            ir.invars,
            residuals,
            concrete=eager and Tracer not in set(map(type, ct_leaves)),
        )
        ct_ids = ids(ct_leaves)
        flat = [
            to_user(_zeros(v.aval) if c is None else c, v.aval, ct_ids)
            for c, v in zip(cts, ir.invars)
        ]
        return tuple(tree_unflatten(in_tree, flat))

    return out, vjp_fn, aux, ir


def _leaf_labels(primals: tuple[Any, ...]) -> list[str]:
    """'argument 0', 'argument 1 (leaf 2)', ... for every leaf; one pass over the arguments."""
    labels: list[str] = []
    for i, p in enumerate(primals):
        k = len(tree_flatten(p)[0])
        labels += [f"argument {i}"] if k == 1 else [f"argument {i} (leaf {j})" for j in range(k)]
    return labels


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)`` (plus ``aux`` with
    ``has_aux=True``); ``vjp_fn(cotangent)`` returns a tuple with one cotangent per primal.

    >>> import funcgrad as fg, numpy as np
    >>> out, f_vjp = fg.vjp(lambda x: x ** 2, np.array([1.0, 3.0]))
    >>> f_vjp(np.ones(2))
    (Array([2., 6.]),)
    """
    out, vjp_fn, aux, _ = _vjp_flat(fun, primals, has_aux, "vjp")
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def _argnums_tuple(argnums: int | Sequence[int], nargs: int, name: str) -> tuple[int, ...]:
    if type(argnums) is int and 0 <= argnums < nargs:  # the common case, argnums=0
        return (argnums,)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise LocatedValueError(f"{name}: argnums must name at least one argument")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise LocatedTypeError(f"{name}: argnums must be ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise LocatedValueError(
                f"{name}: argnums={argnums!r} refers to argument {a}, but the function was "
                f"called with {nargs} positional argument(s)"
            )
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise LocatedValueError(
            f"{name}: argnums={argnums!r} names the same argument twice; list each argument once"
        )
    return tuple(out)


def value_and_grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Return a function computing ``(fun(*args), grad)``; with ``has_aux=True`` the value is
    ``(out, aux)``. ``grad`` has the structure, shapes and dtypes of the differentiated args.
    ``holomorphic`` as in :func:`grad`.

    >>> import funcgrad as fg
    >>> fg.value_and_grad(lambda x: x ** 3)(2.0)
    (np.float64(8.0), np.float64(12.0))
    """
    return _grad_impl(fun, argnums, has_aux, holomorphic, with_value=True, name="value_and_grad")


def grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Gradient of a scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    Complex numbers follow JAX's convention. For a real-valued ``fun`` of a complex ``z``
    the result is ``df/dx - i·df/dy`` (``z = x + iy``), the conjugate of the direction of
    steepest ascent: ``grad(lambda z: abs(z)**2)(3+4j) == 6-8j``. With
    ``holomorphic=True`` (complex inputs, complex output) it is the complex derivative
    ``f'(z)``. A complex output without ``holomorphic=True`` is a ``TypeError``.

    >>> import funcgrad as fg, numpy as np
    >>> fg.grad(lambda w: ((w * 2.0 - 4.0) ** 2).sum())(np.array([1.0]))
    Array([-8.])
    >>> fg.grad(lambda z: z * z, holomorphic=True)(3 + 4j)
    np.complex128(6+8j)
    """
    return _grad_impl(fun, argnums, has_aux, holomorphic, with_value=False, name="grad")


def check_holomorphic_inputs(name: str, leaves: Sequence[Any], holomorphic: bool) -> None:
    """``holomorphic=True`` needs complex inputs (JAX's rule and message)."""
    if holomorphic:
        for x in leaves:
            if _dtype(x).kind != "c":
                raise LocatedTypeError(
                    f"{name} with holomorphic=True requires inputs with complex dtype, but got "
                    f"{_dtype(x).name}; pass complex arrays (x.astype(np.complex128)) or drop "
                    "holomorphic=True"
                )


def check_real_outputs(name: str, avals: Sequence[ShapedArray], holomorphic: bool) -> None:
    """Reverse-mode derivatives need real outputs, or complex ones with ``holomorphic=True``."""
    for a in avals:
        if holomorphic:
            if a.dtype.kind != "c":
                raise LocatedTypeError(
                    f"{name} with holomorphic=True requires outputs with complex dtype, but got "
                    f"{a.dtype.name}; drop holomorphic=True for a real-valued function"
                )
        elif a.dtype.kind == "c":
            raise LocatedTypeError(
                f"{name} requires real-valued outputs (output dtype that is a sub-dtype of "
                f"np.floating), but got {a.dtype.name}. For holomorphic differentiation, pass "
                "holomorphic=True. For differentiation of non-holomorphic functions involving "
                "complex outputs, use vjp directly (or differentiate real(f) and imag(f))."
            )


def _grad_impl(
    fun: Callable[..., Any],
    argnums: Any,
    has_aux: bool,
    holomorphic: bool,
    with_value: bool,
    name: str,
) -> Callable[..., Any]:
    if not callable(fun):
        raise LocatedTypeError(f"{name} expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, int)

    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return gc_paused(call, args, kwargs)

    def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        nums = _argnums_tuple(argnums, len(args), name)

        def partial(*diff: Any) -> Any:
            full = list(args)
            for i, d in zip(nums, diff):
                full[i] = d
            return fun(*full, **kwargs)

        diff_args = tuple(args[i] for i in nums)
        if holomorphic:
            check_holomorphic_inputs(name, tree_flatten(diff_args)[0], True)
        out, vjp_fn, aux, ir = _vjp_flat(partial, diff_args, has_aux, name)
        n_main = len(ir.outvars) - (len(tree_flatten(aux)[0]) if has_aux else 0)
        if n_main != 1 or ir.outvars[0].aval.shape != ():
            shapes = ", ".join(str(v.aval) for v in ir.outvars[:n_main]) or "nothing"
            raise LocatedTypeError(
                f"{name} requires a function with a scalar output (shape ()), but it returned "
                f"{shapes}. Reduce the output (e.g. .sum() or .mean()), or use jacrev / vjp for "
                "non-scalar outputs."
            )
        aval = ir.outvars[0].aval
        check_real_outputs(name, [aval], holomorphic)
        if aval.dtype.kind not in "fc":
            raise LocatedTypeError(
                f"{name} requires a real floating-point output, but the function returned "
                f"dtype {aval.dtype}; compute the loss in floats"
            )
        seed = aval.dtype.type(1)  # == np.ones((), dtype)[()]
        grads = vjp_fn(tree_unflatten(tree_flatten(out)[1], [seed]))
        g = grads[0] if single else grads
        if with_value:
            return ((out, aux) if has_aux else out), g
        return (g, aux) if has_aux else g

    # jit names its generated code after this, so jit(grad(f)) reads `def grad_f(...)`.
    base = getattr(fun, "_funcgrad_name", None) or getattr(fun, "__name__", "f")
    wrapped._funcgrad_name = f"{name}_{base}"  # type: ignore[attr-defined]
    return wrapped
