"""Structured control flow primitives: ``cond`` (n-way; ``lax.cond`` and ``lax.switch``),
``scan`` and ``while``. The public functions are in :mod:`funcgrad.lax`.

Each primitive carries its body function(s) as sub-IRs in its params. The sub-IRs are
*closed*: they have no constants — whatever a body closed over (numpy arrays, tracers of
enclosing transforms) was turned into leading operands of the primitive, so every transform
sees those values as ordinary inputs.

Operand layouts (``params`` in brackets)::

    cond  index, *ops                         [branch0, branch1, ...]
    scan  *consts, *init_carry, *xs           [body, length, reverse, num_consts, num_carry]
    while *cond_consts, *body_consts, *init   [cond_ir, body_ir, cond_nconsts, body_nconsts]

``cond``'s branches each take all of ``ops``; ``scan``'s body maps
``(*consts, *carry, *x) -> (*carry, *y)`` and the primitive returns the final carry followed by
the stacked ``ys``; ``while``'s ``cond_ir`` maps ``(*cond_consts, *carry) -> bool scalar`` and
``body_ir`` maps ``(*body_consts, *carry) -> carry``.

The derivative and batching rules build new sub-IRs by tracing small functions that run the
generic interpreters (``forward.jvp_ir``, ``reverse.backward_pass``, ``batching.batch_ir``) on
the body, then bind the same primitives again — so the rules compose with every transform
(``grad(grad(scan))``, ``vmap(grad(cond))``, ``jvp`` of ``while``).

Costs worth knowing: the JVP of a loop runs the loop once more carrying primal and tangent
values together. Reverse mode of ``scan`` stores residuals: a forward scan that also stacks,
per step, the carry and the body intermediates its backward pass reads (memory
O(length x residuals)), then a reverse scan over the body's VJP that recomputes nothing. When
reverse mode evaluates the forward itself (under ``jit``, or nested in another transform)
that residual scan *is* the forward pass (``vjp_fwd``); after an eager forward it runs once
more. Wrap the body in ``checkpoint`` to trade that memory for recomputation.
``while`` has no reverse-mode rule (its trip count is not known in advance), as in JAX.

Running: ``scan`` and ``while`` declare ``emit_block`` (:mod:`funcgrad.transforms.codegen_loops`):
jit writes them as Python loops with the body inlined into the generated function, and their
eager ``impl`` runs the same generated loop, compiled once per body structure.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, Literal, ShapedArray, Var
from funcgrad.core.pytree import tree_structure
from funcgrad.core.tracer import aval_of, bind
from funcgrad.core.tracing import closure_convert, eval_ir, eval_ir_env, trace_to_ir
from funcgrad.primitives import elementwise as ew
from funcgrad.primitives import structural as st
from funcgrad.primitives.base import Primitive, batch_size, define
from funcgrad.transforms.batching import batch_ir, move_batch_axis
from funcgrad.transforms.codegen import compile_ir_cached
from funcgrad.transforms.codegen_loops import (
    branches_of,
    compiled_loop,
    cond_params,
    emit_cond,
    emit_scan,
    emit_while,
    plain,
)
from funcgrad.transforms.forward import jvp_ir
from funcgrad.transforms.passes import dce
from funcgrad.transforms.reverse import backward_pass

__all__ = [
    "cond_p",
    "scan_p",
    "while_p",
    "cond_params",
    "branches_of",
    "closure_convert",
    "dce",
    "trace_flat",
    "fix_weak_literal_outs",
    "join_consts",
]


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
_seen_once: weakref.WeakSet[IR] = weakref.WeakSet()


def _run(ir: IR, *args: Any) -> list[Any]:
    """Evaluate a closed sub-IR on concrete values. Every ``impl`` below goes through this one
    function. A sub-IR run a second time (a loop body, a cond inside jit-compiled code) is
    compiled to numpy source once and runs as compiled code from then on; a one-off is
    interpreted (compiling would cost more than it saves)."""
    fn = _compiled.get(ir)
    if fn is not None:
        return fn(*args)
    if ir in _seen_once:
        fn = _compiled[ir] = compile_ir_cached(ir)
        return fn(*args)
    _seen_once.add(ir)
    return eval_ir(ir, *args)


_compiled: weakref.WeakKeyDictionary[IR, Any] = weakref.WeakKeyDictionary()


def _is_float(aval: ShapedArray) -> bool:
    return aval.dtype.kind in "fc"


def _cast(x: Any, aval: ShapedArray) -> Any:
    """An impl's output with exactly the declared dtype (literal outputs may be Python scalars)."""
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype == aval.dtype:
        return x
    return np.asarray(x, dtype=aval.dtype)


def _zeros(aval: ShapedArray) -> Any:
    """A zero of type ``aval`` without allocating: a numpy scalar (inlined as a literal when
    traced) or a read-only broadcast view."""
    if aval.shape == ():
        return np.zeros((), aval.dtype)[()]
    return np.broadcast_to(np.zeros((), aval.dtype), aval.shape)


def trace_flat(
    fun: Callable[..., Sequence[Any]], in_avals: Sequence[ShapedArray], kind: str
) -> tuple[IR, list[Any]]:
    """Trace ``fun(*flat_args) -> list of arrays`` abstractly into a closed, dead-code-free IR;
    returns ``(ir, consts)`` where ``consts`` are the values of its leading const inputs."""
    tree = tree_structure((0,) * len(in_avals))
    ir, _, _ = trace_to_ir(fun, list(in_avals), tree, kind, abstract=True)
    ir, consts = closure_convert(ir)
    return dce(ir), consts


def fix_weak_literal_outs(ir: IR, targets: Sequence[ShapedArray | None]) -> None:
    """Give weakly typed scalar literal outputs (a body returning ``0.0``) the dtype the other
    side expects, when numpy's promotion rules allow it (``1.0`` may become float32, not int)."""
    outs = ir.outvars
    for i, (v, t) in enumerate(zip(outs, targets)):
        if (
            t is not None
            and type(v) is Literal
            and v.aval.weak
            and v.aval.shape == t.shape == ()
            and v.aval.dtype != t.dtype
            and np.result_type(v.val, t.dtype) == t.dtype
        ):
            outs[i] = Literal(np.asarray(v.val, t.dtype)[()], ShapedArray((), t.dtype))


def _propagate(ir: IR, in_mask: Sequence[bool], diff: bool = False) -> list[bool]:
    """Static dependence: which outputs depend on the inputs marked in ``in_mask``.

    ``diff=True`` follows only differentiable equations and inexact values (which outputs can
    have nonzero tangents); otherwise every equation (which outputs are batched). Conservative:
    a primitive with several outputs marks all of them.
    """
    marked = {v for v, m in zip(ir.invars, in_mask) if m and (not diff or _is_float(v.aval))}
    for e in ir.eqns:
        if diff and not e.prim.differentiable:
            continue
        if any(type(x) is Var and x in marked for x in e.inputs):
            marked.update(o for o in e.outputs if not diff or _is_float(o.aval))
    return [type(v) is Var and v in marked for v in ir.outvars]


def _permute(ir: IR, in_order: Sequence[int], out_order: Sequence[int]) -> IR:
    return IR(
        ir.constvars,
        ir.consts,
        [ir.invars[i] for i in in_order],
        ir.eqns,
        [ir.outvars[i] for i in out_order],
    )


def join_consts(traced: Sequence[tuple[IR, list[Any]]]) -> tuple[list[IR], list[Any]]:
    """Give several closed IRs (each with its own leading consts) one shared const prefix:
    the union of the consts (by identity). Each IR gets fresh unused vars for the others'."""
    consts: list[Any] = []
    index: dict[int, int] = {}
    for _, cs in traced:
        for c in cs:
            if id(c) not in index:
                index[id(c)] = len(consts)
                consts.append(c)
    out = []
    for ir, cs in traced:
        slots: list[Var | None] = [None] * len(consts)
        for v, c in zip(ir.invars, cs):
            slots[index[id(c)]] = v
        lead = [s if s is not None else Var(aval_of(consts[i])) for i, s in enumerate(slots)]
        out.append(IR([], [], lead + list(ir.invars[len(cs) :]), ir.eqns, ir.outvars))
    return out, consts


def _check_operands(
    name: str, expected: Sequence[ShapedArray], got: Sequence[ShapedArray], what: str = "operand"
) -> None:
    if len(expected) != len(got):
        raise LocatedTypeError(f"{name}: expected {len(expected)} operands, got {len(got)}")
    for i, (e, g) in enumerate(zip(expected, got)):
        if e.shape != g.shape or (e.dtype != g.dtype and not g.weak):
            raise LocatedTypeError(f"{name}: {what} {i} has type {g}, but the body expects {e}")


def _jvp_traced(
    ir: IR,
    nz_in: Sequence[bool],
    nz_out: Sequence[bool],
    keep_primal: Sequence[bool],
    kind: str,
) -> tuple[IR, list[Any]]:
    """Trace the JVP of ``ir``: inputs ``(*primals, *tangents[nz_in])``, outputs
    ``(*primal_outs[keep_primal], *tangent_outs[nz_out])`` (zero tangents instantiated)."""
    avals = ir.in_avals
    n = len(avals)
    t_avals = [a for a, nz in zip(avals, nz_in) if nz]

    def f(*args: Any) -> list[Any]:
        it = iter(args[n:])
        tangents = [next(it) if nz else None for nz in nz_in]
        outs, touts = jvp_ir(ir, list(args[:n]), tangents)
        res = [o for o, k in zip(outs, keep_primal) if k]
        for t, nz, a in zip(touts, nz_out, ir.out_avals):
            if nz:
                res.append(_zeros(a) if t is None else t)
        return res

    return trace_flat(f, list(avals) + t_avals, kind)


def _vjp_traced(
    ir: IR, need: Sequence[bool], ct_mask: Sequence[bool], kind: str
) -> tuple[IR, list[Any]]:
    """Trace the VJP of ``ir``: inputs ``(*primals, *out_cts[ct_mask])``, outputs the
    cotangents of the inputs marked in ``need`` (zeros instantiated). The forward values are
    recomputed inside."""
    n = len(ir.invars)
    avals = list(ir.in_avals) + [a for a, m in zip(ir.out_avals, ct_mask) if m]
    wrt = [v for v, nd in zip(ir.invars, need) if nd]

    def f(*args: Any) -> list[Any]:
        it = iter(args[n:])
        cts = [next(it) if m else None for m in ct_mask]
        env = eval_ir_env(ir, list(args[:n]))
        res = backward_pass(ir, env, cts, wrt)
        return [_zeros(v.aval) if r is None else r for r, v in zip(res, wrt)]

    return trace_flat(f, avals, kind)


def _batch_traced(
    ir: IR, in_b: Sequence[bool], size: int, out_b: Sequence[bool], kind: str
) -> tuple[IR, list[Any]]:
    """Trace the batched version of ``ir``: inputs marked in ``in_b`` carry a leading batch
    axis of ``size``; outputs marked in ``out_b`` are returned batched on axis 0 (broadcast if
    needed), the others unbatched (``out_b`` must cover every batched output)."""
    avals = [ShapedArray((size,) + a.shape, a.dtype) if b else a for a, b in zip(ir.in_avals, in_b)]

    def f(*args: Any) -> list[Any]:
        outs, dims = batch_ir(ir, list(args), [0 if b else None for b in in_b])
        res = []
        for o, d, b in zip(outs, dims, out_b):
            if b:
                res.append(move_batch_axis(o, d, 0, size))
            elif d is not None:  # pragma: no cover - _propagate over-approximates batching
                raise AssertionError(f"{kind}: an output expected unbatched is batched")
            else:
                res.append(o)
        return res

    return trace_flat(f, avals, kind)


def _loop_fixed_point(
    body: IR, pre: Sequence[bool], carry: Sequence[bool], post: Sequence[bool], diff: bool
) -> tuple[list[bool], list[bool]]:
    """Fixed point over which carries are marked, for a body with inputs
    ``(*pre, *carry, *post)`` whose first ``len(carry)`` outputs are the new carry."""
    carry = list(carry)
    c = len(carry)
    while True:
        out = _propagate(body, list(pre) + carry + list(post), diff)
        new = [a or b for a, b in zip(carry, out[:c])]
        if new == carry:
            return carry, out
        carry = new


# ---------------------------------------------------------------------------------------------
# cond: index, *ops  [branch0, branch1, ...]
# ---------------------------------------------------------------------------------------------
def _cond_impl(index: Any, *args: Any, **params: Any) -> list[Any]:
    branches = branches_of(params)
    i = min(max(int(index), 0), len(branches) - 1)
    ir = branches[i]
    return [_cast(o, a) for o, a in zip(_run(ir, *args), ir.out_avals)]


def _cond_shape(index: ShapedArray, *avals: ShapedArray, **params: Any) -> list[ShapedArray]:
    branches = branches_of(params)
    if index.shape != () or index.dtype.kind not in "iu":
        raise LocatedTypeError(f"cond: the branch index must be an integer scalar, got {index}")
    _check_operands("cond", branches[0].in_avals, avals)
    return branches[0].out_avals


def _cond_jvp(ins: list[Any], ts: list[Any], outs: list[Any], params: dict[str, Any]) -> list[Any]:
    branches = branches_of(params)
    index, ops, tops = ins[0], ins[1:], ts[1:]
    nz_in = [t is not None for t in tops]
    cols = [_propagate(b, nz_in, diff=True) for b in branches]
    nz_out = [any(col) for col in zip(*cols)]
    if not any(nz_out):
        return [None] * len(outs)
    keep = [False] * len(nz_out)
    traced = [_jvp_traced(b, nz_in, nz_out, keep, "lax.cond jvp") for b in branches]
    jbranches, consts = join_consts(traced)
    touts = bind(
        cond_p,
        index,
        *consts,
        *ops,
        *[t for t in tops if t is not None],
        **cond_params(jbranches),
    )
    it = iter(touts)
    return [next(it) if nz else None for nz in nz_out]


def _cond_vjp(
    g: list[Any], ans: list[Any], args: list[Any], params: dict[str, Any], needs: list[bool]
) -> list[Any]:
    branches = branches_of(params)
    index, ops = args[0], args[1:]
    need = [nd and _is_float(v.aval) for nd, v in zip(needs[1:], branches[0].invars)]
    ct_mask = [c is not None for c in g]
    if not any(need) or not any(ct_mask):
        return [None] * len(args)
    traced = [_vjp_traced(b, need, ct_mask, "lax.cond vjp") for b in branches]
    jbranches, consts = join_consts(traced)
    cts = bind(
        cond_p, index, *consts, *ops, *[c for c in g if c is not None], **cond_params(jbranches)
    )
    it = iter(cts)
    return [None] + [next(it) if nd else None for nd in need]


def _cond_batch(
    prim: Primitive, args: list[Any], dims: list[int | None], **params: Any
) -> tuple[list[Any], list[int | None]]:
    branches = branches_of(params)
    size = batch_size(args, dims)
    index, idim = args[0], dims[0]
    ops = [x if d is None else move_batch_axis(x, d, 0, size) for x, d in zip(args[1:], dims[1:])]
    in_b = [d is not None for d in dims[1:]]
    if idim is None:
        # One branch for the whole batch: a cond of the batched branches.
        cols = [_propagate(b, in_b) for b in branches]
        out_b = [any(col) for col in zip(*cols)]
        traced = [_batch_traced(b, in_b, size, out_b, "lax.cond vmap") for b in branches]
        jbranches, consts = join_consts(traced)
        outs = bind(cond_p, index, *consts, *ops, **cond_params(jbranches))
        return outs, [0 if b else None for b in out_b]
    # A per-example branch index: run every branch on the whole batch and select.
    idx = move_batch_axis(index, idim, 0, size)
    idx = bind(ew.minimum_p, bind(ew.maximum_p, idx, 0), len(branches) - 1)
    in_dims = [0 if b else None for b in in_b]
    results = [batch_ir(b, ops, in_dims) for b in branches]
    outs = []
    for j, aval in enumerate(branches[0].out_avals):
        vals = [move_batch_axis(r[0][j], r[1][j], 0, size) for r in results]
        out = vals[0]
        for i in range(1, len(branches)):
            mask = st.reshape(ew.eq(idx, i), (size,) + (1,) * len(aval.shape))
            out = ew.select(mask, vals[i], out)
        outs.append(out)
    return outs, [0] * len(outs)


cond_p = define(
    "cond",
    _cond_impl,
    _cond_shape,
    multiple_results=True,
    jvp_full=_cond_jvp,
    vjp_full=_cond_vjp,
    batch=_cond_batch,
    emit_block=emit_cond,
)


# ---------------------------------------------------------------------------------------------
# scan: *consts, *init, *xs  [body, length, reverse, num_consts, num_carry]
# ---------------------------------------------------------------------------------------------
def _scan_impl(
    *args: Any, body: IR, length: int, reverse: bool, num_consts: int, num_carry: int
) -> list[Any]:
    params = dict(
        body=body, length=length, reverse=reverse, num_consts=num_consts, num_carry=num_carry
    )
    if length > 1:
        # The loop as jit writes it (body inlined, carries as locals), compiled once per body
        # structure and operand types.
        fn = compiled_loop(scan_p, params, _avals(args))
        outs = fn(*map(plain, args))
        c = num_carry
        return [_cast(v, a) for v, a in zip(outs[:c], body.out_avals[:c])] + list(outs[c:])
    k, c = num_consts, num_carry
    consts = args[:k]
    carry = list(args[k : k + c])
    xs = args[k + c :]
    y_avals = body.out_avals[c:]
    ys = [np.empty((length,) + a.shape, a.dtype) for a in y_avals]
    for t in range(length):  # zero or one step: interpreted
        outs = eval_ir(body, *consts, *carry, *[x[t] for x in xs])
        carry = outs[:c]
        for buf, y in zip(ys, outs[c:]):
            buf[t] = y
    return [_cast(v, a) for v, a in zip(carry, body.out_avals[:c])] + ys


def _avals(args: Sequence[Any]) -> list[ShapedArray]:
    return [aval_of(a) for a in args]


def _scan_shape(
    *avals: ShapedArray, body: IR, length: int, reverse: bool, num_consts: int, num_carry: int
) -> list[ShapedArray]:
    k, c = num_consts, num_carry
    ins = body.in_avals
    if len(avals) != len(ins):
        raise LocatedTypeError(
            f"scan: the body takes {len(ins)} inputs but got {len(avals)} operands"
        )
    _check_operands("scan", ins[: k + c], avals[: k + c])
    for i, (e, g) in enumerate(zip(ins[k + c :], avals[k + c :])):
        if g.shape != (length,) + e.shape or g.dtype != e.dtype:
            raise LocatedTypeError(
                f"scan: xs operand {i} has type {g}, expected {length} stacked values of type {e}"
            )
    outs = body.out_avals
    return list(outs[:c]) + [ShapedArray((length,) + a.shape, a.dtype) for a in outs[c:]]


def _scan_jvp(ins: list[Any], ts: list[Any], outs: list[Any], params: dict[str, Any]) -> list[Any]:
    body: IR = params["body"]
    k, c = params["num_consts"], params["num_carry"]
    n = len(ins)
    ny = len(body.outvars) - c
    nz_c = [t is not None for t in ts[:k]]
    nz_x = [t is not None for t in ts[k + c :]]
    nz_carry, out_nz = _loop_fixed_point(
        body, nz_c, [t is not None for t in ts[k : k + c]], nz_x, diff=True
    )
    nz_y = out_nz[c:]
    if not any(nz_carry) and not any(nz_y):
        return [None] * len(outs)
    nz_in = nz_c + nz_carry + nz_x
    keep = [True] * c + [False] * ny
    jir, jconsts = _jvp_traced(body, nz_in, nz_carry + nz_y, keep, "lax.scan jvp")
    # Reorder jir's inputs (jconsts, primals, tangents) and outputs (carry, tcarry, tys) into
    # scan's layout: consts = jconsts+consts+tconsts, carry = carry+tcarry, xs = xs+txs.
    nj = len(jconsts)
    tpos: dict[int, int] = {}
    j = nj + n
    for i, nz in enumerate(nz_in):
        if nz:
            tpos[i] = j
            j += 1

    def group(lo: int, hi: int) -> list[int]:
        return [nj + i for i in range(lo, hi)] + [tpos[i] for i in range(lo, hi) if nz_in[i]]

    in_order = list(range(nj)) + group(0, k) + group(k, k + c) + group(k + c, n)
    jir = _permute(jir, in_order, list(range(len(jir.outvars))))
    tconsts = [t for t in ts[:k] if t is not None]
    tinit = [
        (_zeros(aval_of(x)) if t is None else t)
        for x, t, nz in zip(ins[k : k + c], ts[k : k + c], nz_carry)
        if nz
    ]
    txs = [t for t in ts[k + c :] if t is not None]
    n_tc = len(tinit)
    res = bind(
        scan_p,
        *jconsts,
        *ins[:k],
        *tconsts,
        *ins[k : k + c],
        *tinit,
        *ins[k + c :],
        *txs,
        body=jir,
        length=params["length"],
        reverse=params["reverse"],
        num_consts=nj + k + len(tconsts),
        num_carry=c + n_tc,
    )
    t_carry = iter(res[c : c + n_tc])
    t_ys = iter(res[c + n_tc :])
    return [next(t_carry) if nz else None for nz in nz_carry] + [
        next(t_ys) if nz else None for nz in nz_y
    ]


def _scan_vjp(
    g: list[Any], ans: list[Any], args: list[Any], params: dict[str, Any], needs: list[bool]
) -> list[Any]:
    """Reverse mode when the forward values came from elsewhere (eager tracing): run the
    forward once more, saving residuals, then the backward scan."""
    if not any(needs):
        return [None] * len(args)
    _, res = _scan_vjp_fwd(args, params, needs)
    return _scan_vjp_bwd(res, g, args, params, needs)


def _scan_vjp_fwd(
    args: list[Any], params: dict[str, Any], needs: list[bool]
) -> tuple[list[Any], Any]:
    """Forward with residuals (used when reverse mode evaluates the forward itself, e.g. under
    jit): one scan that also stacks each step's carry and the body intermediates its backward
    pass reads, so the backward scan recomputes nothing."""
    body: IR = params["body"]
    k, c = params["num_consts"], params["num_carry"]
    length, reverse = params["length"], params["reverse"]
    n = len(args)
    nx = n - k - c
    ny = len(body.outvars) - c
    in_avals = body.in_avals
    carry_avals = in_avals[k : k + c]
    y_avals = body.out_avals[c:]
    nc_all = [i for i in range(k) if needs[i] and _is_float(in_avals[i])]
    fc = [i for i in range(c) if _is_float(carry_avals[i])]
    nx_all = [i for i in range(nx) if needs[k + c + i] and _is_float(in_avals[k + c + i])]
    wrt = (
        [body.invars[i] for i in nc_all]
        + [body.invars[k + i] for i in fc]
        + [body.invars[k + c + i] for i in nx_all]
    )
    cands = [o for e in body.eqns for o in e.outputs]
    na, nf = len(nc_all), len(fc)

    def bwd(*a: Any) -> list[Any]:
        it = iter(a)
        cs = [next(it) for _ in range(k)]
        acc = [next(it) for _ in range(na)]
        ct_carry = [next(it) for _ in range(nf)]
        x = [next(it) for _ in range(nx)]
        carry_in = [next(it) for _ in range(c)]
        ct_y = [next(it) for _ in range(ny)]
        env: dict[Var, Any] = dict(zip(body.invars, cs + carry_in + x))
        env.update(zip(cands, it))
        out_cts: list[Any] = [None] * c
        for j, i in enumerate(fc):
            out_cts[i] = ct_carry[j]
        res = _backward(body, env, out_cts + ct_y, wrt)
        r_c, r_carry, r_x = res[:na], res[na : na + nf], res[na + nf :]
        new_acc = [s if r is None else ew.add(s, r) for s, r in zip(acc, r_c)]
        new_ct = [_zeros(carry_avals[i]) if r is None else r for i, r in zip(fc, r_carry)]
        ct_x = [_zeros(in_avals[k + c + i]) if r is None else r for i, r in zip(nx_all, r_x)]
        return new_acc + new_ct + ct_x

    b_avals = (
        list(in_avals[:k])
        + [in_avals[i] for i in nc_all]
        + [carry_avals[i] for i in fc]
        + list(in_avals[k + c :])
        + list(carry_avals)
        + list(y_avals)
        + [v.aval for v in cands]
    )
    bir, bconsts = trace_flat(bwd, b_avals, "lax.scan vjp")
    # Keep only the intermediates the backward body actually reads.
    used = {x for e in bir.eqns for x in e.inputs if type(x) is Var}
    used.update(x for x in bir.outvars if type(x) is Var)
    r0 = len(bconsts) + len(b_avals) - len(cands)
    keep = [j for j, v in enumerate(bir.invars[r0:]) if v in used]
    bir = IR([], [], bir.invars[:r0] + [bir.invars[r0 + j] for j in keep], bir.eqns, bir.outvars)
    saved = [cands[j] for j in keep]
    fwd_body = IR(
        [], [], body.invars, body.eqns, list(body.outvars) + body.invars[k : k + c] + saved
    )
    outs = bind(
        scan_p, *args, body=fwd_body, length=length, reverse=reverse, num_consts=k, num_carry=c
    )
    res = (outs[c + ny : c + ny + c], outs[c + ny + c :], bir, bconsts, nc_all, fc, nx_all)
    return outs[: c + ny], res


def _scan_vjp_bwd(
    res: Any, g: list[Any], args: list[Any], params: dict[str, Any], needs: list[bool]
) -> list[Any]:
    stacked_carry, stacked_saved, bir, bconsts, nc_all, fc, nx_all = res
    body: IR = params["body"]
    k, c = params["num_consts"], params["num_carry"]
    length, reverse = params["length"], params["reverse"]
    n = len(args)
    in_avals = body.in_avals
    carry_avals = in_avals[k : k + c]
    y_avals = body.out_avals[c:]
    g_carry, g_ys = g[:c], g[c:]
    acc0 = [_zeros(in_avals[i]) for i in nc_all]
    ct0 = [_zeros(carry_avals[i]) if g_carry[i] is None else g_carry[i] for i in fc]
    ct_ys = [
        _zeros(ShapedArray((length,) + a.shape, a.dtype)) if gy is None else gy
        for a, gy in zip(y_avals, g_ys)
    ]
    na, nf = len(nc_all), len(fc)
    out_b = bind(
        scan_p,
        *bconsts,
        *args[:k],
        *acc0,
        *ct0,
        *args[k + c :],
        *stacked_carry,
        *ct_ys,
        *stacked_saved,
        body=bir,
        length=length,
        reverse=not reverse,
        num_consts=len(bconsts) + k,
        num_carry=na + nf,
    )
    out: list[Any] = [None] * n
    for j, i in enumerate(nc_all):
        if needs[i]:
            out[i] = out_b[j]
    for j, i in enumerate(fc):
        if needs[k + i]:
            out[k + i] = out_b[na + j]
    for j, i in enumerate(nx_all):
        if needs[k + c + i]:
            out[k + c + i] = out_b[na + nf + j]
    return out


def _backward(ir: IR, env: dict[Var, Any], cts: list[Any], wrt: list[Var]) -> list[Any]:
    return backward_pass(ir, env, cts, wrt)


def _scan_batch(
    prim: Primitive,
    args: list[Any],
    dims: list[int | None],
    *,
    body: IR,
    length: int,
    reverse: bool,
    num_consts: int,
    num_carry: int,
) -> tuple[list[Any], list[int | None]]:
    k, c = num_consts, num_carry
    size = batch_size(args, dims)
    b = [d is not None for d in dims]
    b_c, b_x = b[:k], b[k + c :]
    carry_b, out_b = _loop_fixed_point(body, b_c, b[k : k + c], b_x, diff=False)
    y_b = out_b[c:]
    bir, bconsts = _batch_traced(body, b_c + carry_b + b_x, size, carry_b + y_b, "lax.scan vmap")
    consts = [
        x if d is None else move_batch_axis(x, d, 0, size) for x, d in zip(args[:k], dims[:k])
    ]
    init = [
        move_batch_axis(x, d, 0, size) if cb else x
        for x, d, cb in zip(args[k : k + c], dims[k : k + c], carry_b)
    ]
    # Batched xs keep the scanned axis first: the batch axis goes to 1.
    xs = [
        x if d is None else move_batch_axis(x, d, 1, size)
        for x, d in zip(args[k + c :], dims[k + c :])
    ]
    outs = bind(
        scan_p,
        *bconsts,
        *consts,
        *init,
        *xs,
        body=bir,
        length=length,
        reverse=reverse,
        num_consts=len(bconsts) + k,
        num_carry=c,
    )
    return outs, [0 if x else None for x in carry_b] + [1 if y else None for y in y_b]


scan_p = define(
    "scan",
    _scan_impl,
    _scan_shape,
    multiple_results=True,
    jvp_full=_scan_jvp,
    vjp_full=_scan_vjp,
    vjp_fwd=_scan_vjp_fwd,
    vjp_bwd=_scan_vjp_bwd,
    batch=_scan_batch,
    emit_block=emit_scan,
)


# ---------------------------------------------------------------------------------------------
# while: *cond_consts, *body_consts, *init  [cond_ir, body_ir, cond_nconsts, body_nconsts]
# ---------------------------------------------------------------------------------------------
def _while_impl(
    *args: Any, cond_ir: IR, body_ir: IR, cond_nconsts: int, body_nconsts: int
) -> list[Any]:
    params = dict(
        cond_ir=cond_ir, body_ir=body_ir, cond_nconsts=cond_nconsts, body_nconsts=body_nconsts
    )
    # The loop as jit writes it (``while p:`` with both sub-IRs inlined), compiled once.
    fn = compiled_loop(while_p, params, _avals(args))
    carry = fn(*map(plain, args))
    return [_cast(v, a) for v, a in zip(carry, body_ir.out_avals)]


def _while_shape(
    *avals: ShapedArray, cond_ir: IR, body_ir: IR, cond_nconsts: int, body_nconsts: int
) -> list[ShapedArray]:
    nc, nb = cond_nconsts, body_nconsts
    carry = avals[nc + nb :]
    _check_operands("while_loop", cond_ir.in_avals, list(avals[:nc]) + list(carry))
    _check_operands("while_loop", body_ir.in_avals, avals[nc:])
    (p,) = cond_ir.out_avals
    if p.shape != () or p.dtype != np.bool_:
        raise LocatedTypeError(f"while_loop: the condition must produce a bool scalar, got {p}")
    return body_ir.out_avals


def _while_jvp(ins: list[Any], ts: list[Any], outs: list[Any], params: dict[str, Any]) -> list[Any]:
    cond_ir: IR = params["cond_ir"]
    body_ir: IR = params["body_ir"]
    nc, nb = params["cond_nconsts"], params["body_nconsts"]
    c = len(ins) - nc - nb
    nz_b = [t is not None for t in ts[nc : nc + nb]]
    nz_carry, _ = _loop_fixed_point(
        body_ir, nz_b, [t is not None for t in ts[nc + nb :]], [], diff=True
    )
    if not any(nz_carry):
        return [None] * len(outs)
    jir, jconsts = _jvp_traced(body_ir, nz_b + nz_carry, nz_carry, [True] * c, "lax.while jvp")
    # jir inputs: jconsts, bconsts, carry, t_bconsts, t_carry -> jconsts, bconsts, t_bconsts,
    # carry, t_carry (its outputs carry, t_carry are already in order).
    nj, ntb, ntc = len(jconsts), sum(nz_b), sum(nz_carry)
    p = nj
    order = (
        list(range(nj + nb))
        + list(range(p + nb + c, p + nb + c + ntb))
        + list(range(p + nb, p + nb + c))
        + list(range(p + nb + c + ntb, p + nb + c + ntb + ntc))
    )
    jir = _permute(jir, order, list(range(len(jir.outvars))))
    t_avals = [a for a, nz in zip(body_ir.out_avals, nz_carry) if nz]
    cond2 = IR(
        [], [], list(cond_ir.invars) + [Var(a) for a in t_avals], cond_ir.eqns, cond_ir.outvars
    )
    tinit = [
        (_zeros(aval_of(x)) if t is None else t)
        for x, t, nz in zip(ins[nc + nb :], ts[nc + nb :], nz_carry)
        if nz
    ]
    res = bind(
        while_p,
        *ins[:nc],
        *jconsts,
        *ins[nc : nc + nb],
        *[t for t in ts[nc : nc + nb] if t is not None],
        *ins[nc + nb :],
        *tinit,
        cond_ir=cond2,
        body_ir=jir,
        cond_nconsts=nc,
        body_nconsts=nj + nb + ntb,
    )
    it = iter(res[c:])
    return [next(it) if nz else None for nz in nz_carry]


def _while_vjp(
    g: list[Any], ans: list[Any], args: list[Any], params: dict[str, Any], needs: list[bool]
) -> list[Any]:
    raise LocatedValueError(
        "Reverse-mode differentiation does not work for lax.while_loop (or lax.fori_loop with "
        "traced bounds, which becomes a while_loop): the number of iterations is not known in "
        "advance, so the intermediate values cannot be stored. Use lax.scan, or lax.fori_loop "
        "with static (Python int) bounds, which both differentiate in reverse mode; forward "
        "mode (jvp, jacfwd) does work with while_loop."
    )


def _while_batch(
    prim: Primitive,
    args: list[Any],
    dims: list[int | None],
    *,
    cond_ir: IR,
    body_ir: IR,
    cond_nconsts: int,
    body_nconsts: int,
) -> tuple[list[Any], list[int | None]]:
    nc, nb = cond_nconsts, body_nconsts
    size = batch_size(args, dims)
    args = [x if d is None else move_batch_axis(x, d, 0, size) for x, d in zip(args, dims)]
    b = [d is not None for d in dims]
    cc, bc, init = args[:nc], args[nc : nc + nb], args[nc + nb :]
    b_cc, b_bc = b[:nc], b[nc : nc + nb]
    carry_b, _ = _loop_fixed_point(body_ir, b_bc, b[nc + nb :], [], diff=False)
    pred_b = _propagate(cond_ir, b_cc + carry_b)[0]
    c = len(init)
    if pred_b:
        # Examples stop at different iterations: every carry is per-example.
        carry_b = [True] * c
    init = [
        move_batch_axis(x, None, 0, size) if cb and not ib else x
        for x, cb, ib in zip(init, carry_b, b[nc + nb :])
    ]
    if not pred_b:
        cir, cconsts = _batch_traced(cond_ir, b_cc + carry_b, size, [False], "lax.while vmap")
        bir, bconsts = _batch_traced(body_ir, b_bc + carry_b, size, carry_b, "lax.while vmap")
        outs = bind(
            while_p,
            *cconsts,
            *cc,
            *bconsts,
            *bc,
            *init,
            cond_ir=cir,
            body_ir=bir,
            cond_nconsts=len(cconsts) + nc,
            body_nconsts=len(bconsts) + nb,
        )
        return outs, [0 if x else None for x in carry_b]

    # Batched predicate: loop while any example continues; examples that are done keep their
    # carry (a per-example select of the body's update).
    def batched(a: ShapedArray, flag: bool) -> ShapedArray:
        return ShapedArray((size,) + a.shape, a.dtype) if flag else a

    carry_avals = [batched(a, True) for a in body_ir.out_avals]
    cc_avals = [batched(a, f) for a, f in zip(cond_ir.in_avals[:nc], b_cc)]
    bc_avals = [batched(a, f) for a, f in zip(body_ir.in_avals[:nb], b_bc)]
    cdims = [0 if f else None for f in b_cc] + [0] * c
    bdims = [0 if f else None for f in b_bc] + [0] * c

    def pred(ccv: Sequence[Any], carry: Sequence[Any]) -> Any:
        outs, ds = batch_ir(cond_ir, list(ccv) + list(carry), cdims)
        return move_batch_axis(outs[0], ds[0], 0, size)

    def cond2(*a: Any) -> list[Any]:
        p = pred(a[:nc], a[nc:])
        count = st.reduce_sum(ew.convert_element_type(p, np.int32), (0,))
        return [ew.gt(count, 0)]

    def body2(*a: Any) -> list[Any]:
        ccv, bcv, carry = a[:nc], a[nc : nc + nb], a[nc + nb :]
        p = pred(ccv, carry)
        new, ds = batch_ir(body_ir, list(bcv) + list(carry), bdims)
        res = []
        for x, d, old in zip(new, ds, carry):
            x = move_batch_axis(x, d, 0, size)
            mask = st.reshape(p, (size,) + (1,) * (len(old.shape) - 1))
            res.append(ew.select(mask, x, old))
        return res

    cir, cconsts = trace_flat(cond2, cc_avals + carry_avals, "lax.while vmap")
    bir, bconsts = trace_flat(body2, cc_avals + bc_avals + carry_avals, "lax.while vmap")
    outs = bind(
        while_p,
        *cconsts,
        *cc,
        *bconsts,
        *cc,
        *bc,
        *init,
        cond_ir=cir,
        body_ir=bir,
        cond_nconsts=len(cconsts) + nc,
        body_nconsts=len(bconsts) + nc + nb,
    )
    return outs, [0] * c


while_p = define(
    "while",
    _while_impl,
    _while_shape,
    multiple_results=True,
    jvp_full=_while_jvp,
    vjp_full=_while_vjp,
    batch=_while_batch,
    emit_block=emit_while,
)
