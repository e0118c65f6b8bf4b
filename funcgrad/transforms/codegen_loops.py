"""Control flow in jit-generated code: the ``emit_block`` rules of ``scan``, ``while`` and
``cond`` (its branches under ``if``/``elif``/``else``: :func:`emit_cond`).

Under ``jit`` a ``scan`` does not call a compiled body once per step: its body is written
into the generated function as the body of one Python ``for`` loop. The carries are local
variables, the stacked outputs (the ``ys``, and the residuals that reverse mode stores) are
preallocated and filled with ``ys[t] = y``, and nothing runs per step but the body's own
numpy calls. The backward scan of ``jit(grad(rnn_loss))`` (``benchmarks/scan_rnn.py``)::

    l = np.array(_k1, dtype=np.float64)   # carries the body updates in place: owned copies
    m = np.array(_k2, dtype=np.float64)
    n = k                                 # ... or a dead buffer of the enclosing code, taken
    o = Wh.T                              # loop-invariant equations, hoisted (once)
    p = (c * c)                           # equations on the xs alone, for all steps at once
    q = np.subtract(1.0, p, out=p); del p
    for t_1 in range(99, -1, -1):         # reverse=True
        x = q[t_1]
        aa = np.multiply(n, x, out=n)
        ...
        ae = np.add(l, ad, out=l); del ad # the carry's buffer is reused step after step
        l, m, n = ae, af, ac              # the new carries

Stacked outputs (the ``ys``, and the residuals that reverse mode's forward scan stores) are
allocated with ``np.empty`` before the loop and filled with ``ys[t] = y``.

Before the loop, two kinds of equations leave the body: those that read only loop invariants
(computed once) and those that read only the xs and invariants, which are a map over the
scanned axis and run batched (traced through ``vmap``'s rules) for all steps at once, up to
``MAX_MAPPED_ELEMENTS`` stacked elements.

``while`` becomes ``while p:`` with the condition's statements before the loop and at the end
of its body. A loop nested in a body is inlined the same way, one indentation level deeper.

Buffer planning across iterations: a carry is *owned* (its buffer may be overwritten in place
by the body's last use of it) when every step produces it as a fresh buffer that nothing else
refers to — a fixed point over the carries; the initial value is then copied once before the
loop (or taken over when the enclosing code owns it and it is dead). Other carries are plain
references and are copied, as the enclosing function's outputs are, before being returned.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.config import config as _cfg
from funcgrad.core.ir import IR, Eqn, ShapedArray, Var
from funcgrad.core.pytree import tree_structure
from funcgrad.core.tracing import closure_convert, trace_to_ir
from funcgrad.transforms.batching import batch_ir, move_batch_axis
from funcgrad.transforms.codegen import Block, BlockContext, compile_ir, structure_key
from funcgrad.transforms.passes import cse, dce

__all__ = [
    "emit_scan",
    "emit_while",
    "emit_cond",
    "cond_params",
    "branches_of",
    "owned_carries",
    "compiled_loop",
]


def owned_carries(body: IR, carry_pos: Sequence[int], candidates: Sequence[bool]) -> list[bool]:
    """Which carries can be owned buffers across iterations. ``body``'s inputs at
    ``carry_pos`` are the carries and its first ``len(carry_pos)`` outputs the new carries.

    Start from ``candidates`` (arrays) and drop, until nothing changes, every carry whose new
    value is not a fresh buffer that no other value views and no other carry repeats. This
    mirrors (conservatively: loops nested in the body produce no owned values here) the
    buffer planning of :func:`funcgrad.transforms.codegen._emit_eqns`."""
    c = len(carry_pos)
    viewed: set[Var] = set()
    made: set[Var] = set()  # outputs of fresh primitives
    for e in body.eqns:
        if not e.prim.fresh or e.prim.emit_block is not None:
            viewed.update(x for x in e.inputs if type(x) is Var)
        elif e.prim.emit_block is None:
            made.update(o for o in e.outputs if o.aval.ndim > 0)
    own = [bool(m) and body.invars[p].aval.ndim > 0 for m, p in zip(candidates, carry_pos)]
    outs = body.outvars[:c]
    # A value that is the new value of two carries would be one buffer under two names.
    once = {x for x in outs if type(x) is Var and outs.count(x) == 1}
    while True:
        owned = made | {body.invars[p] for p, o in zip(carry_pos, own) if o}
        new = [
            own[j] and type(x) is Var and x in owned and x not in viewed and x in once
            for j, x in enumerate(outs)
        ]
        if new == own:
            return own
        own = new


def _setup_consts(ctx: BlockContext, exprs: Sequence[str], lines: list[str]) -> list[str]:
    """Operands that are literals get a name before the loop (assigned once)."""
    pad = ctx.pad(ctx.indent)
    out = []
    for x in exprs:
        if x.isidentifier():
            out.append(x)
        else:
            name = ctx.fresh("k")
            lines.append(f"{pad}{name} = {x}")
            out.append(name)
    return out


def _setup_carries(
    ctx: BlockContext,
    eqn: Eqn,
    first: int,
    names: Sequence[str],
    init: Sequence[str],
    avals: Sequence[ShapedArray],
    own: Sequence[bool],
    lines: list[str],
) -> None:
    """``carry = init`` before the loop: an owned copy for owned carries (or the operand's own
    buffer when the enclosing code may give it away), exactly the carry's dtype for scalars."""
    pad = ctx.pad(ctx.indent)
    for j, (name, x, a, o) in enumerate(zip(names, init, avals, own)):
        in_aval = eqn.inputs[first + j].aval
        if o:
            if ctx.can_take(first + j) and in_aval == a:
                ctx.take(eqn, first + j)
                rhs = x
            else:
                rhs = f"np.array({x}, dtype=np.{a.dtype.name})"
        elif a.ndim == 0 and (in_aval.weak or in_aval.dtype != a.dtype):
            rhs = f"np.{a.dtype.name}({x})"
        else:
            rhs = x
        lines.append(f"{pad}{name} = {rhs}")


def _assign_carries(pad: str, names: Sequence[str], new: Sequence[str], lines: list[str]) -> None:
    pairs = [(n, v) for n, v in zip(names, new) if n != v]
    if pairs:
        lhs = ", ".join(n for n, _ in pairs)
        rhs = ", ".join(v for _, v in pairs)
        lines.append(f"{pad}{lhs} = {rhs}")


def _split_invariant(body: IR, num_consts: int) -> tuple[IR, IR]:
    """Split ``body`` into the equations that depend only on its first ``num_consts`` inputs
    (loop-invariant: computed once, before the loop) and the rest. Returns ``(pre, loop)``:
    ``pre`` maps the consts to the invariant values the loop reads; ``loop`` takes
    ``(*body inputs, *those values)``."""
    invariant = set(body.invars[:num_consts])
    pre: list[Eqn] = []
    rest: list[Eqn] = []
    for e in body.eqns:
        if (
            e.prim.pure
            and e.prim.emit_block is None
            and all(type(x) is not Var or x in invariant for x in e.inputs)
        ):
            pre.append(e)
            invariant.update(e.outputs)
        else:
            rest.append(e)
    needed = {x for e in rest for x in e.inputs if type(x) is Var}
    needed.update(x for x in body.outvars if type(x) is Var)
    hoisted = [o for e in pre for o in e.outputs if o in needed]
    pre_ir = IR([], [], list(body.invars[:num_consts]), pre, hoisted)
    loop_ir = IR([], [], list(body.invars) + hoisted, rest, body.outvars)
    return pre_ir, loop_ir


# Per-step equations that read only the xs (and loop invariants) are computed for all steps
# at once before the loop when that saves numpy calls that cost more than the work they do:
# when their results are small per step (at most MAX_MAPPED_STEP_ELEMENTS together; bigger
# stacked temporaries cost cache misses and fresh memory) and MAX_MAPPED_ELEMENTS in all.
MAX_MAPPED_STEP_ELEMENTS = 1024
MAX_MAPPED_ELEMENTS = 1 << 21


def _split_mapped(
    loop: IR, k: int, c: int, nx: int, length: int
) -> tuple[IR, list[Var], IR] | None:
    """Split off the equations of ``loop`` (inputs ``consts, carries, xs, invariants``) that
    depend on the xs but not on the carries: they are a map over the scanned axis, and run
    batched before the loop (one numpy call for all steps instead of one per step).
    Returns ``(mapped, stacked_vars, rest)``: ``mapped`` takes ``(consts, xs, invariants)``
    per step and returns ``stacked_vars``; ``rest`` takes ``(*loop inputs, *stacked_vars)``.
    None when there is nothing to map (or the stacked values would be too big)."""
    ins = loop.invars
    base = set(ins[:k]) | set(ins[k + c + nx :])
    per_step = set(ins[k + c : k + c + nx])
    mapped: list[Eqn] = []
    rest: list[Eqn] = []
    for e in loop.eqns:
        if (
            e.prim.pure
            and e.prim.emit_block is None
            and e.prim.batch is not None
            and not any(isinstance(v, IR) for v in e.params.values())
            and all(type(x) is not Var or x in per_step or x in base for x in e.inputs)
        ):
            mapped.append(e)
            per_step.update(e.outputs)
        else:
            rest.append(e)
    if not mapped:
        return None
    step = sum(o.aval.size for e in mapped for o in e.outputs)
    if step > MAX_MAPPED_STEP_ELEMENTS or step * length > MAX_MAPPED_ELEMENTS:
        return None
    needed = {x for e in rest for x in e.inputs if type(x) is Var}
    needed.update(x for x in loop.outvars if type(x) is Var)
    stacked = [o for e in mapped for o in e.outputs if o in needed]
    if not stacked:
        return None
    m_ins = list(ins[:k]) + list(ins[k + c : k + c + nx]) + list(ins[k + c + nx :])
    return (
        IR([], [], m_ins, mapped, stacked),
        stacked,
        IR([], [], list(ins) + stacked, rest, loop.outvars),
    )


def _unsplit(rest: IR, mapped: IR) -> IR:
    """Undo :func:`_split_mapped`: the mapped equations back in front of the loop body (they
    only read inputs that precede them)."""
    n = len(rest.invars) - len(mapped.outvars)
    return IR([], [], rest.invars[:n], list(mapped.eqns) + list(rest.eqns), rest.outvars)


def _batched(ir: IR, in_b: Sequence[bool], size: int) -> tuple[IR, list[Any]]:
    """``ir`` over a leading axis of ``size`` on the inputs marked in ``in_b`` (every output
    batched on axis 0); returns a closed IR and the values of its leading const inputs."""
    avals = [ShapedArray((size,) + a.shape, a.dtype) if b else a for a, b in zip(ir.in_avals, in_b)]

    def f(*args: Any) -> list[Any]:
        outs, dims = batch_ir(ir, list(args), [0 if b else None for b in in_b])
        return [move_batch_axis(o, d, 0, size) for o, d in zip(outs, dims)]

    traced, _, _ = trace_to_ir(
        f, avals, tree_structure((0,) * len(avals)), "scan map", abstract=True
    )
    closed, consts = closure_convert(traced)
    return dce(closed), consts


def emit_scan(ctx: BlockContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Block:
    """``scan`` as one ``for`` loop over its inlined body (see the module docstring)."""
    p = eqn.params
    body: IR = p["body"]
    length: int = p["length"]
    k: int = p["num_consts"]
    c: int = p["num_carry"]
    pad0, pad1 = ctx.pad(ctx.indent), ctx.pad(ctx.indent + 1)
    lines: list[str] = []
    ny = len(body.outvars) - c
    used_y = list(ctx.used[c:])
    # Stacked outputs nobody reads are neither stored nor (when dead in the body) computed;
    # equal equations of the body (jit's optimize does not enter sub-IRs) are computed once.
    body = dce(
        cse(
            IR(
                [],
                [],
                body.invars,
                body.eqns,
                list(body.outvars[:c]) + [y for y, u in zip(body.outvars[c:], used_y) if u],
            )
        )
    )
    consts = _setup_consts(ctx, ins[:k], lines)
    carry_names = outs[:c]
    carry_avals = [v.aval for v in body.invars[k : k + c]]
    mapped = None
    if length > 1:
        pre, body = _split_invariant(body, k)
        nx = len(ins) - k - c
        split = _split_mapped(body, k, c, nx, length)
        if split is not None:
            m_ir, _, body = split
            in_b = [False] * k + [True] * nx + [False] * (len(m_ir.invars) - k - nx)
            try:
                mapped = _batched(m_ir, in_b, length)
            except (NotImplementedError, TypeError, ValueError):  # pragma: no cover
                mapped = None  # a batching rule refused: keep those equations in the loop
            if mapped is None:
                body = _unsplit(body, m_ir)
    else:
        pre = IR([], [], list(body.invars[:k]), [], [])
    own = owned_carries(body, range(k, k + c), [True] * c)
    _setup_carries(ctx, eqn, k, carry_names, ins[k : k + c], carry_avals, own, lines)
    y_names = [o for o, u in zip(outs[c:], used_y) if u]
    for j, (name, v, u) in enumerate(zip(outs[c:], eqn.outputs[c:], used_y)):
        if u:
            lines.append(pad0 + ctx.alloc(c + j, name, v.aval))
    hoisted = ctx.inline(pre, consts, ctx.indent)
    lines += hoisted.lines
    stacked: list[str] = []
    if mapped is not None:
        m_ir, m_consts = mapped
        m_names = [ctx.global_name("_map", v) for v in m_consts]
        m_in = m_names + consts + list(ins[k + c :]) + hoisted.outs
        m = ctx.inline(m_ir, m_in, ctx.indent)
        lines += m.lines
        for x in m.outs:
            if not x.isidentifier() or x in m_in:  # a literal, or an input passed through
                name = ctx.fresh("m")
                lines.append(f"{pad0}{name} = {x}")
                x = name
            stacked.append(x)
    t = ctx.fresh("t")
    steps = f"range({length - 1}, -1, -1)" if p["reverse"] else f"range({length})"
    lines.append(f"{pad0}for {t} in {steps}:{ctx.comment}")
    head = len(lines)
    x_exprs = [f"{x}[{t}]" for x in ins[k + c :]]
    ins_body = consts + carry_names + x_exprs + hoisted.outs + [f"{a}[{t}]" for a in stacked]
    inl = ctx.inline(body, ins_body, ctx.indent + 1, own_in(k, own, body))
    lines += inl.lines
    for name, y in zip(y_names, inl.outs[c:]):
        lines.append(f"{pad1}{name}[{t}] = {y}")
    _assign_carries(pad1, carry_names, inl.outs[:c], lines)
    if len(lines) == head:  # an empty body: nothing to do per step
        lines.append(f"{pad1}pass")
    dead = [n for n, u in zip(carry_names, ctx.used[:c]) if not u] + hoisted.outs + stacked
    dead = [d for d in dict.fromkeys(dead) if d.isidentifier() and d not in consts]
    if dead:
        lines.append(f"{pad0}del {', '.join(dead)}")
    return Block(lines, list(own) + [True] * ny)


def own_in(first: int, own: Sequence[bool], body: IR) -> list[bool]:
    """Per input of ``body``: owned when it is one of the owned carries starting at ``first``."""
    mask = [False] * len(body.invars)
    for j, o in enumerate(own):
        mask[first + j] = o
    return mask


def emit_while(ctx: BlockContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Block:
    """``while`` as ``while p:``: the condition's statements run before the loop and again
    at the end of each pass, the body's statements inlined in between."""
    p: dict[str, Any] = eqn.params
    cond_ir: IR = cse(p["cond_ir"])  # (equal equations computed once)
    body_ir: IR = cse(p["body_ir"])
    nc, nb = p["cond_nconsts"], p["body_nconsts"]
    c = len(ins) - nc - nb
    pad0, pad1 = ctx.pad(ctx.indent), ctx.pad(ctx.indent + 1)
    lines: list[str] = []
    cc = _setup_consts(ctx, ins[:nc], lines)
    bc = _setup_consts(ctx, ins[nc : nc + nb], lines)
    carry_avals = [v.aval for v in body_ir.invars[nb:]]
    own = owned_carries(body_ir, range(nb, nb + c), [True] * c)
    _setup_carries(ctx, eqn, nc + nb, outs, ins[nc + nb :], carry_avals, own, lines)
    go = ctx.fresh("go")
    first = ctx.inline(cond_ir, cc + outs, ctx.indent)
    lines += first.lines
    lines.append(f"{pad0}{go} = {first.outs[0]}")
    lines.append(f"{pad0}while {go}:{ctx.comment}")
    inl = ctx.inline(body_ir, bc + outs, ctx.indent + 1, own_in(nb, own, body_ir))
    lines += inl.lines
    _assign_carries(pad1, outs, inl.outs, lines)
    again = ctx.inline(cond_ir, cc + outs, ctx.indent + 1)
    lines += again.lines
    lines.append(f"{pad1}{go} = {again.outs[0]}")
    dead = [go] + [n for n, u in zip(outs, ctx.used) if not u]
    lines.append(f"{pad0}del {', '.join(dead)}")
    return Block(lines, list(own))


def cond_params(branches: Sequence[IR]) -> dict[str, IR]:
    """Params of a ``cond`` equation: one key per branch, so that IR listings print each
    branch as a nested, indented IR."""
    return {f"branch{i}": b for i, b in enumerate(branches)}


def branches_of(params: dict[str, Any]) -> list[IR]:
    """The branches of a ``cond`` equation's params (see :func:`cond_params`)."""
    return [params[f"branch{i}"] for i in range(len(params))]


def emit_cond(ctx: BlockContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Block:
    """``cond`` as ``if``/``elif``/``else``: each branch's statements inlined under its test,
    the branch index clamped to the valid range as ``lax.switch`` does. Nothing is called
    per branch; the branch not taken costs nothing.

    The branches only read the operands (they never write into them). An output is a fresh
    buffer only when it is one in every branch; else it may alias an operand and is copied
    before being returned. Scalar outputs get exactly the declared dtype (a branch may
    return a weakly typed operand or a literal)."""
    branches = [cse(b) for b in branches_of(eqn.params)]  # (equal equations computed once)
    pad0, pad1 = ctx.pad(ctx.indent), ctx.pad(ctx.indent + 1)
    lines: list[str] = []
    ops = _setup_consts(ctx, ins[1:], lines)
    n = len(branches)
    k = ctx.fresh("branch")
    lines.append(f"{pad0}{k} = min(max(int({ins[0]}), 0), {n - 1}){ctx.comment}")
    fresh = [True] * len(outs)
    for i, br in enumerate(branches):
        if i == 0:
            head = f"if {k} == 0:" if n > 1 else "if True:"
        elif i < n - 1:
            head = f"elif {k} == {i}:"
        else:
            head = "else:"
        lines.append(f"{pad0}{head}")
        start = len(lines)
        # array results computed in the branch are assigned to the output names directly
        direct = [o if u and a.ndim > 0 else None for o, u, a in zip(outs, ctx.used, br.out_avals)]
        inl = ctx.inline(br, ops, ctx.indent + 1, out_names=direct)
        lines += inl.lines
        pairs = []
        for j, (o, expr, aval) in enumerate(zip(outs, inl.outs, br.out_avals)):
            fresh[j] = fresh[j] and inl.fresh[j]
            if ctx.used[j]:
                pairs.append((o, f"np.{aval.dtype.name}({expr})" if aval.ndim == 0 else expr))
        _assign_carries(pad1, [o for o, _ in pairs], [v for _, v in pairs], lines)
        # the branch's own names of its results are not needed past the assignment
        local = {x for x in inl.outs if x.isidentifier()} - set(ops) - set(outs)
        if local:
            lines.append(f"{pad1}del {', '.join(sorted(local))}")
        if len(lines) == start:
            lines.append(f"{pad1}pass")
    lines.append(f"{pad0}del {k}")
    return Block(lines, [f and u for f, u in zip(fresh, ctx.used)])


# ---------------------------------------------------------------------------------------------
# Eager loops: the same generated loop, compiled once per body structure and operand types
# ---------------------------------------------------------------------------------------------
LOOP_CACHE_SIZE = 256
_by_structure: OrderedDict[Hashable, Callable[..., Any]] = OrderedDict()
# first sub-IR -> {signature: (fn, weak refs to all the sub-IRs)}
_by_ir: weakref.WeakKeyDictionary[IR, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def compiled_loop(
    prim: Any, params: dict[str, Any], in_avals: Sequence[ShapedArray]
) -> Callable[..., Any]:
    """A compiled function running one equation ``prim[params]`` on operands of types
    ``in_avals`` through the primitive's ``emit_block`` (the loop with its body inlined);
    returns a tuple of outputs. Cached per sub-IR object and per sub-IR structure, so an eager
    ``lax.scan`` retraced on every call (a training loop) compiles once."""
    subs = [v for v in params.values() if isinstance(v, IR)]
    rest = tuple((k, v) for k, v in sorted(params.items()) if not isinstance(v, IR))
    check = _cfg.debug_nans or _cfg.debug_infs  # the loop checks each step's values then
    sig = (prim, rest, tuple((a.shape, a.dtype, a.weak) for a in in_avals), check)
    first = subs[0] if subs else None
    per_ir = _by_ir.get(first) if first is not None else None
    hit = per_ir.get(sig) if per_ir is not None else None
    if hit is not None and all(r() is ir for r, ir in zip(hit[1], subs)):
        return hit[0]
    fn = None
    keys = [structure_key(ir) for ir in subs]
    skey = None if any(k is None for k in keys) else (tuple(keys), sig)
    if skey is not None:
        with _lock:
            fn = _by_structure.get(skey)
            if fn is not None:
                _by_structure.move_to_end(skey)
    if fn is None:
        invars = [Var(a) for a in in_avals]
        outvars = [Var(a) for a in prim.abstract_eval(list(in_avals), params)]
        ir = IR([], [], invars, [Eqn(prim, list(invars), params, outvars)], list(outvars))
        fn, _ = compile_ir(ir, f"{prim.name}_loop", check_nans=check, internal=True)
        if skey is not None:
            with _lock:
                _by_structure[skey] = fn
                while len(_by_structure) > LOOP_CACHE_SIZE:
                    _by_structure.popitem(last=False)
    if first is not None:
        with _lock:
            _by_ir.setdefault(first, {})[sig] = (fn, [weakref.ref(ir) for ir in subs])
    return fn


def plain(x: Any) -> Any:
    """Operands as the generated code expects them: ndarray subclasses as plain arrays."""
    return x.view(np.ndarray) if isinstance(x, np.ndarray) and type(x) is not np.ndarray else x
