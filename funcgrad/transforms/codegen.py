"""Code generation: an IR becomes the source of one Python function of numpy calls, compiled
once with ``compile``/``exec``. The source is meant to be read: inputs keep the user's argument
names, each line notes the user's source line, and each primitive writes itself through its
``emit`` template (``np.sin(a)``, ``(a @ b)``).

Buffer planning: when an elementwise ufunc's operand is a fresh intermediate (owned by the
generated function, never aliased by a view), has the output's shape and dtype, and is dead
after this equation, the ufunc writes into it (``np.add(a, b, out=a)``) instead of allocating.
Else a big intermediate that never leaves the function (a matmul's output, a saved
activation) is written into a per-thread scratch buffer recycled across calls
(:func:`_scratch`), and a big returned array into an earlier result the caller has dropped
(:func:`_result_buffer`): fresh multi-MB arrays cost page faults on every call.

Fusion (``backend`` not None, from ``config.jit_backend``): runs of elementwise equations
that :func:`funcgrad.transforms.fusion.plan` groups are written as one kernel each — numpy
ufuncs writing into planned buffers, a numexpr program, or a numba loop
(:mod:`funcgrad.transforms.kernels`) — and a small pool of dead buffers serves later ``out=``
writes (ufuncs, matmul).

Primitives with an ``emit_block`` rule (``scan``, ``while``: see
:mod:`funcgrad.transforms.codegen_loops`) write their own statements — a loop whose body is
the sub-IR inlined by :meth:`BlockContext.inline` — through the same planning
(:func:`_emit_eqns`, at any indentation). Big stacked arrays they allocate and the function
never returns are per-thread scratch buffers (:func:`_scratch`), recycled across calls.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import linecache
import math
import os
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.config import raise_if_nonfinite
from funcgrad.core.ir import IR, Eqn, ShapedArray, Var, _letters
from funcgrad.core.pytree import PyTreeDef, tree_unflatten
from funcgrad.transforms import kernels
from funcgrad.transforms.fusion import Group, plan
from funcgrad.transforms.passes import operand_key, params_key

__all__ = [
    "generate",
    "compile_ir",
    "compile_ir_cached",
    "Compiled",
    "Block",
    "BlockContext",
    "Inlined",
]

_RESERVED = set(keyword.kwlist) | {"np", "math", "None", "True", "False"} | set(dir(__builtins__))


def _bcast(x: Any, shape: tuple[int, ...], dims: tuple[int, ...]) -> Any:
    expanded = [1] * len(shape)
    xs = np.shape(x)
    for i, d in enumerate(dims):
        expanded[d] = xs[i]
    return np.broadcast_to(np.reshape(x, expanded), shape)


def _own(x: Any) -> Any:
    """A writeable array the caller may keep (copies read-only views and constants), as
    funcgrad's :class:`~funcgrad.core.array.Array`."""
    return np.array(x).view(Array) if isinstance(x, np.ndarray) else x


def _scalar(x: Any) -> Any:
    return x[()] if isinstance(x, np.ndarray) else x


# Scratch buffers: big arrays that the generated code allocates itself (a scan's stacked
# residuals) and that never leave it are kept, per thread, for the next call. A fresh
# np.empty of a few MB is memory the C library maps from the OS again on each call (glibc
# returns it when freed), and the page faults of touching it cost as much as the loop's
# arithmetic. Values derived from a scratch buffer are copied before being returned.
SCRATCH_MIN_BYTES = 1 << 16
SCRATCH_MAX_BYTES = 1 << 26  # kept per thread, at most (64 MB)
SCRATCH_PER_TYPE = 8  # free buffers kept per (shape, dtype)
# Intermediates and results of plain equations (matmul, ufuncs) are planned into recycled
# buffers from this size on: smaller ones come from the C library's heap without page faults,
# and there the cost of the extra Python call would show.
PLAN_MIN_BYTES = 1 << 18
_scratch_local = threading.local()


def _scratch(shape: tuple[int, ...], dtype: Any, held: list[Any]) -> np.ndarray:
    """An uninitialized array, recycled from an earlier call of this thread when one of
    this shape and dtype is free; ``held`` collects it until the generated function
    returns."""
    dtype = np.dtype(dtype)
    pool = getattr(_scratch_local, "pool", None)
    free = pool.get((shape, dtype)) if pool else None
    if free:
        buf = free.pop()
        _scratch_local.nbytes -= buf.nbytes
    else:
        buf = np.empty(shape, dtype)
    held.append(buf)
    return buf


def _scratch_release(held: list[Any]) -> None:
    """Give the buffers taken by :func:`_scratch` back to this thread's pool (bounded)."""
    pool = getattr(_scratch_local, "pool", None)
    if pool is None:
        pool = _scratch_local.pool = {}
        _scratch_local.nbytes = 0
    for buf in held:
        if _scratch_local.nbytes + buf.nbytes > SCRATCH_MAX_BYTES:
            break
        free = pool.setdefault((buf.shape, buf.dtype), [])
        if len(free) < SCRATCH_PER_TYPE:
            free.append(buf)
            _scratch_local.nbytes += buf.nbytes
    held.clear()


# Result buffers: a big array the generated function returns is allocated from a per-thread
# pool of earlier results that the caller has since dropped — every reference gone, which
# ``sys.getrefcount`` shows exactly (views keep their base alive, so a view the caller still
# holds keeps the buffer out of the pool). A returned array is the caller's own as long as
# any reference to it lives; fresh pages would otherwise be faulted in on every call. Off on
# free-threaded builds, where reference counts are not exact.
RESULT_PER_TYPE = 4  # buffers kept per (shape, dtype)
RESULT_MAX_BYTES = 1 << 26  # kept per thread, at most (64 MB)
_results_local = threading.local()
_RECYCLE_RESULTS = getattr(sys, "_is_gil_enabled", lambda: True)()


def _refcounts(bufs: list[Any]) -> list[int]:
    return [sys.getrefcount(b) for b in bufs]


# references to a buffer that only the pool's list holds, as _refcounts counts them
_FREE_REFS = _refcounts([np.empty(1)])[0]


def _result_buffer(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialized array to be returned: one of this thread's earlier results of this
    shape and dtype that nothing refers to any more, else a new one (kept for reuse while
    the pool has room)."""
    dtype = np.dtype(dtype)
    pool = getattr(_results_local, "pool", None)
    if pool is None:
        pool = _results_local.pool = {}
        _results_local.nbytes = 0
    bufs = pool.get((shape, dtype))
    if bufs:
        for buf, refs in zip(bufs, _refcounts(bufs)):
            if refs <= _FREE_REFS:
                return buf
    buf = np.empty(shape, dtype)
    if _results_local.nbytes + buf.nbytes <= RESULT_MAX_BYTES:
        bufs = pool.setdefault((shape, dtype), [])
        if len(bufs) < RESULT_PER_TYPE:
            bufs.append(buf)
            _results_local.nbytes += buf.nbytes
    return buf


_BASE_GLOBALS = {
    "np": np,
    "math": math,
    "_bcast": _bcast,
    "_own": _own,
    "_scalar": _scalar,
    "_Array": Array,
    "_scratch": _scratch,
    "_scratch_release": _scratch_release,
    "_result_buffer": _result_buffer,
}


def _literal_src(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v)) if isinstance(v, bool) else f"np.bool_({bool(v)})"
    if isinstance(v, float) and not isinstance(v, np.generic):
        return repr(v) if math.isfinite(v) else f"float({repr(v)!r})"
    if isinstance(v, int) and not isinstance(v, np.generic):
        return repr(v)
    if isinstance(v, np.generic):
        inner = repr(v.item())
        if isinstance(v.item(), float) and not math.isfinite(v.item()):
            inner = f"float({inner!r})"
        return f"np.{v.dtype.name}({inner})"
    return repr(v)


class _Names:
    def __init__(self) -> None:
        self.names: dict[Var, str] = {}
        self.used: set[str] = set()
        self.counter = 0
        self.preset: dict[Var, str] = {}  # names chosen before the var is bound (see inline)

    def bind(self, v: Var, hint: str | None) -> str:
        if self.preset:
            name = self.preset.pop(v, None)
            if name is not None:
                self.names[v] = name
                return name
        if hint:
            base = "".join(c if c.isalnum() or c == "_" else "_" for c in hint)
            if base and (base[0].isdigit()):
                base = "_" + base
            name, k = base, 1
            while not name or name in self.used or name in _RESERVED or name.startswith("_k"):
                name = f"{base}_{k}"
                k += 1
        else:
            while True:
                name = _letters(self.counter)
                self.counter += 1
                if name not in self.used and name not in _RESERVED:
                    break
        self.names[v] = name
        self.used.add(name)
        return name

    def __getitem__(self, v: Var) -> str:
        return self.names[v]

    def fresh(self, hint: str) -> str:
        """A new name bound to no var (loop counters, buffers of inlined loops)."""
        name, k = hint, 1
        while name in self.used or name in _RESERVED:
            name = f"{hint}_{k}"
            k += 1
        self.used.add(name)
        return name


_MAX_INLINE_TREE_DEPTH = 32  # CPython's parser refuses ~200 nested brackets


def _tree_expr(tree: PyTreeDef, leaves: list[str]) -> str | None:
    """Source building the output pytree directly, for builtin containers; None otherwise
    (and for trees nested deeper than Python's parser takes: those are rebuilt by
    ``tree_unflatten``)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_INLINE_TREE_DEPTH:
            return None
        stack.extend((c, depth + 1) for c in node.children)
    it = iter(leaves)

    def build(node: PyTreeDef) -> str | None:
        t = node.node_type
        if t is None:
            return next(it)
        kids = [build(c) for c in node.children]
        if any(k is None for k in kids):
            return None
        if t is tuple:
            return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"  # type: ignore[arg-type]
        if t is list:
            return "[" + ", ".join(kids) + "]"  # type: ignore[arg-type]
        if t is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(node.node_data, kids)) + "}"
        if t is type(None):
            return "None"
        return None

    return build(tree)


def generate(
    ir: IR,
    name: str = "f",
    out_tree: PyTreeDef | None = None,
    input_kinds: list[type] | None = None,
    check_nans: bool = False,
    internal: bool = False,
    backend: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Return (source, globals) of a function computing ``ir``.

    ``internal=True`` (sub-IRs run by primitives, e.g. loop bodies) skips the conversions
    that make results the caller's own (copies of inputs/constants, numpy scalars).

    ``input_kinds[i]`` is the Python type of a scalar input (float/int/bool) to be converted
    to numpy on entry. With ``out_tree`` the function returns that pytree, else a tuple.

    ``backend`` (``"auto"``, ``"numpy"``, ``"numexpr"``, ``"numba"``; ``None``: no fusion)
    fuses runs of elementwise equations (:mod:`funcgrad.transforms.fusion`) into one kernel
    each, also inside inlined loop bodies; the source names the back end each group ran on.
    """
    g: dict[str, Any] = dict(_BASE_GLOBALS)
    names = _Names()
    params = [names.bind(v, v.hint) for v in ir.invars]
    for i, (v, c) in enumerate(zip(ir.constvars, ir.consts)):
        cname = f"_k{i}"
        names.names[v] = cname
        names.used.add(cname)
        g[cname] = c
    lines = [f"def {name}({', '.join(params)}):"]
    if ir.constvars:
        lines.append("    # constants:")
        lines += [
            f"    #   {names[v]}: {v.aval} = {_preview(c)}" for v, c in zip(ir.constvars, ir.consts)
        ]
    for p, v, kind in zip(params, ir.invars, input_kinds or [None] * len(params)):
        if kind is not None:
            lines.append(f"    {p} = np.{v.aval.dtype.name}({p})")

    # (no scratch buffers when user callbacks could keep a reference to one)
    gen = _Gen(g, names, check_nans, scratch=not internal and _all_pure(ir), backend=backend)
    # Never deleted: constants (globals) and inputs (the caller holds them anyway).
    keep: set[Var] = set(ir.constvars) | set(ir.invars)
    origin_const: set[Var] = set(ir.constvars)  # vars that may alias constants / read-only data
    body = _emit_eqns(gen, ir, 1, owned=set(), keep=keep, origin_const=origin_const)
    if gen.held is not None:
        lines.append(f"    {gen.held} = []")
    lines += body.lines
    origin_const = body.origin_const
    if gen.n_groups:
        lines.insert(1, f"    # {_backend_header(backend, gen)}")
    # for jit's tiering: how many fused groups the promoted tier would compile with numba
    g["_fg_promotable"] = gen.promotable

    seen_out: set[Var] = set()
    in_set = set(ir.invars)

    def result(x: Any) -> str:
        if type(x) is not Var:
            return f"np.asarray({_literal_src(x.val)}, dtype=np.{x.aval.dtype.name})[()]"
        s = names[x]
        if internal:
            return s
        first = x not in seen_out
        seen_out.add(x)
        if x.aval.ndim == 0:
            return f"_scalar({s})"
        # Constants, read-only views, inputs and repeated outputs are copied: every returned
        # array is the caller's own.
        if x in origin_const or x in in_set or not first:
            return f"_own({s})"
        return f"{s}.view(_Array)"

    leaves = [result(x) for x in ir.outvars]
    built = _tree_expr(out_tree, leaves) if out_tree is not None else None
    if built is None:
        built = "(" + ", ".join(leaves) + ("," if len(leaves) == 1 else "") + ")"
        if out_tree is not None:
            g["_unflatten"] = functools.partial(tree_unflatten, out_tree)
            built = f"_unflatten({built})"
    if gen.held is not None:
        if gen.used_scratch:
            result_name = names.fresh("result")
            lines.append(f"    {result_name} = {built}")
            lines.append(f"    _scratch_release({gen.held})")
            built = result_name
        else:
            lines.remove(f"    {gen.held} = []")
    lines.append(f"    return {built}")
    for fname, pname, key, sub in gen.subs:
        # Shown for the reader only (comments): what the call runs, generated the same way.
        lines.append(f"# {fname} runs {pname} with {key} =")
        sub_src = generate(sub, f"{fname}_{key}", internal=True)[0]
        lines += ["#   " + ln for ln in sub_src.splitlines()]
    for kname, ksrc in gen.kernel_sources:
        lines.append(f"# {kname}:")
        lines += ["#   " + ln for ln in ksrc.splitlines()]
    return "\n".join(lines) + "\n", g


# ---------------------------------------------------------------------------------------------
# Statements of an IR at an indentation level. The top-level function and the sub-IRs that
# control-flow primitives inline into it (``Primitive.emit_block``: a loop body becomes the
# body of a Python ``for``) go through the same function, sharing one namespace.
# ---------------------------------------------------------------------------------------------
class _Gen:
    """State shared by everything written into one generated function: the globals, the
    names (one namespace, so inlined sub-IRs never clash with the enclosing code), the
    sub-IRs shown as comments after the function."""

    def __init__(
        self,
        g: dict[str, Any],
        names: _Names,
        check_nans: bool,
        scratch: bool = False,
        backend: str | None = None,
    ) -> None:
        self.g = g
        self.names = names
        self.check_nans = check_nans
        # fused groups: the back end asked for (None: no fusion), how many were written, the
        # literal arrays they share and the kernels' sources (shown after the function)
        self.backend = backend
        self.n_groups = 0
        self.promotable = 0  # groups auto's promoted tier runs on numba (see _choose_backend)
        self.on: dict[str, int] = {}  # back end -> groups written on it
        self.literals: dict[tuple[Any, ...], str] = {}
        self.kernel_sources: list[tuple[str, str]] = []
        # the local list of scratch buffers taken (None: this function takes none)
        self.held = names.fresh("held") if scratch else None
        self.used_scratch = False
        self.subs: list[tuple[str, str, str, IR]] = []  # called sub-IRs, shown after

    def global_name(self, base: str, value: Any) -> str:
        """Register ``value`` as a global of the generated function under a fresh name."""
        name, k = base, 1
        while name in self.g:
            name = f"{base}_{k}"
            k += 1
        self.g[name] = value
        return name


class _Emitted(NamedTuple):
    lines: list[str]
    owned: set[Var]  # vars holding a buffer only this code refers to (writable in place)
    viewed: set[Var]  # vars some other value may be a view of
    origin_const: set[Var]  # vars that may alias constants, inputs or read-only data


def _emit_eqns(
    gen: _Gen,
    ir: IR,
    indent: int,
    *,
    owned: set[Var],
    keep: set[Var],
    origin_const: set[Var],
) -> _Emitted:
    """The statements computing ``ir``'s equations, indented ``indent`` levels. The names of
    ``ir``'s inputs (and constants) must already be bound in ``gen.names``.

    Buffer planning: ``owned`` are inputs whose buffers this code may overwrite once dead;
    vars in ``keep`` are never deleted; ``origin_const`` vars may alias read-only data."""
    names, g = gen.names, gen.g
    pad = "    " * indent
    lines: list[str] = []
    origin_const = set(origin_const)
    # Buffer planning facts: last use of each var, which vars own fresh memory that no view
    # refers to, and the pool of dead buffers.
    st = _Plan(ir, gen, lines, owned, keep, indent, origin_const)
    last_use, out_set, viewed, owned = st.last_use, st.out_set, st.viewed, st.owned

    def operand(x: Any) -> str:
        return names[x] if type(x) is Var else _literal_src(x.val)

    def emit_eqn(i: int, e: Eqn, group: Group | None) -> None:
        prim = e.prim
        ins = [operand(x) for x in e.inputs]
        comment = ""
        if e.src is not None:
            comment = f"  # {os.path.basename(e.src[0])}:{e.src[1]}"
        if e.phase is not None:  # e.g. "backward": equations of a gradient's backward pass
            comment = (comment or "  #") + f" ({e.phase})"
        if prim.emit_block is not None:
            emit_block(i, e, ins, comment)
            return
        if group is not None:
            ins = [_literal_array(st, x, group) or s for x, s in zip(e.inputs, ins)]
        outs = [names.bind(o, None) for o in e.outputs]
        emit = prim.emit
        if callable(emit):
            if getattr(getattr(emit, "__code__", None), "co_argcount", 2) == 3:
                expr = emit(ins, e.params, [x.aval for x in e.inputs])
            else:
                expr = emit(ins, e.params)
        elif isinstance(emit, str):
            expr = emit.format(*ins, **{k: repr(v) for k, v in e.params.items()})
        else:
            make = prim.codegen_impl  # e.g. a compiled sub-IR
            if make is not None:
                fn = make(**e.params)
            else:
                fn = functools.partial(prim.impl, **e.params) if e.params else prim.impl
            fname = gen.global_name(f"_{prim.name}_{i}", fn)
            expr = f"{fname}({', '.join(ins)})"
            gen.subs += [(fname, prim.name, k, v) for k, v in e.params.items() if isinstance(v, IR)]
        # Only weakly typed Python scalars in: evaluate with numpy's scalar semantics (inf on
        # division by zero, numpy dtype out), not Python arithmetic.
        if not prim.multiple_results and e.inputs and all(x.aval.weak for x in e.inputs):
            if prim.ufunc is not None:
                expr = f"np.{prim.ufunc.__name__}({', '.join(ins)})"
            else:
                expr = f"np.{e.outputs[0].aval.dtype.name}({expr})"
        # Buffer reuse: write into a dead buffer of the same type (out=).
        # Else, for an intermediate that never leaves the function, a scratch buffer.
        reused = None
        out_src = None
        if prim.emit_out is not None and not prim.multiple_results and e.outputs[0].aval.ndim > 0:
            reused = _take_buffer(st, i, e)
            if reused is not None:
                out_src = names[reused]
            elif not all(type(x) is not Var or x.aval.weak for x in e.inputs):
                out_src = st.scratch_alloc(e.outputs[0]) or st.result_alloc(e.outputs[0])
            if out_src is not None:
                expr = _emit_out(prim, ins, e.params, out_src)
        if group is not None and prim.ufunc is not None and not prim.multiple_results:
            expr = _bound_ufunc_call(st, prim.ufunc, ins, out_src) or expr
        lhs = ", ".join(outs) if prim.multiple_results else outs[0]
        if prim.multiple_results and len(outs) == 1:
            lhs += ","
        # Free intermediates after their last use, so memory stays what eager mode needs
        # (a few dead buffers are kept for reuse by later out= writes).
        dying = [
            x
            for x in dict.fromkeys(e.inputs)
            if type(x) is Var and last_use.get(x) == i and x not in out_set and x not in keep
        ]
        dead = [names[x] for x in dying if x is reused or not _pool_buffer(st, x)]
        if reused is not None and reused not in dying:
            dead.append(names[reused])
        for v, o in zip(e.outputs, outs):
            if v not in last_use and v not in out_set:
                if not (prim.fresh and _pool_buffer(st, v, fresh=True)):
                    dead.append(o)
        tail = f"; del {', '.join(dead)}" if dead else ""
        assign = f"{lhs} = " if outs else ""  # an effect with no results: a bare call
        lines.append(f"{pad}{assign}{expr}{tail}{comment}")
        if gen.check_nans:
            for o, oname in zip(e.outputs, outs):
                if o.aval.dtype.kind in "fc":
                    g["_check_nan"] = _check_nan
                    where = gen.global_name(f"_where_{i}", (prim.name, e.src))
                    lines.append(f"{pad}_check_nan({oname}, {where})")
        for o in e.outputs:
            if prim.fresh and o.aval.ndim > 0:
                owned.add(o)
            if prim.readonly_view or (
                not prim.fresh and any(type(x) is Var and x in origin_const for x in e.inputs)
            ):
                origin_const.add(o)

    def emit_block(i: int, e: Eqn, ins: list[str], comment: str) -> None:
        outs = [names.bind(o, None) for o in e.outputs]
        takeable = [
            type(x) is Var
            and x in owned
            and x not in viewed
            and x not in out_set
            and x not in st.scratch
            and last_use.get(x) == i
            and e.inputs.count(x) == 1
            for x in e.inputs
        ]
        used = [o in last_use or o in out_set for o in e.outputs]
        # Scratch buffers: only at the top level of a function, for values it never
        # returns as they are.
        scratch = [gen.held is not None and indent == 1 and o not in out_set for o in e.outputs]
        ctx = BlockContext(gen, indent, takeable, used, comment, scratch)
        block = e.prim.emit_block(ctx, e, ins, outs)
        lines.extend(block.lines)
        # Outputs that are not new buffers may alias any input of the block.
        viewed.update(x for x in e.inputs if type(x) is Var)
        for o, fresh in zip(e.outputs, block.fresh):
            if fresh and o.aval.ndim > 0:
                owned.add(o)
            elif not fresh:
                origin_const.add(o)
        # Whatever refers to a scratch buffer is copied before being returned, and nothing
        # writes into one in place (the result would not be the caller's own).
        for o, name in zip(e.outputs, outs):
            if name in ctx.scratched:
                origin_const.add(o)
                owned.discard(o)
        for x, took in zip(e.inputs, takeable):
            if took and x in ctx.taken:
                owned.discard(x)
        dead = [
            names[x]
            for x in dict.fromkeys(e.inputs)
            if type(x) is Var and last_use.get(x) == i and x not in out_set and x not in keep
        ]
        if dead:  # (unused outputs: the block itself deletes or never assigns them)
            lines.append(f"{pad}del {', '.join(dead)}")

    items: Any = range(len(ir.eqns))
    if gen.backend is not None and not gen.check_nans:
        items = plan(ir)
    done: set[int] = set()  # reductions a numba kernel computed with its group
    for item in items:
        if type(item) is int:
            if item not in done:
                emit_eqn(item, ir.eqns[item], None)
            continue
        kind, why = _choose_backend(gen.backend, item)
        if gen.backend == "auto" and _auto_numba(item):
            gen.promotable += 1
        kernel = None
        if kind == "numba":
            try:
                kernel = _numba_group_kernel(item)
            except Exception as exc:  # noqa: BLE001 - any numba failure: run on numpy
                kind, why = "numpy", f" (numba failed: {type(exc).__name__}: fell back to numpy)"
        fused_red = kernel is not None and item.reduction is not None
        n = gen.n_groups
        gen.n_groups += 1
        gen.on[kind] = gen.on.get(kind, 0) + 1
        lines.append(
            f"{pad}# fused group {n}: {len(item.eqns)} equations"
            f"{' and the final ' + item.reduction.prim.name if fused_red else ''} on "  # type: ignore[union-attr]
            f"{_group_type(item)} -> {kind}{why}"
        )
        if kernel is not None:
            _emit_group_numba(st, item, n, pad, kernel)
            if item.reduction is not None:
                done.add(item.stop)
        elif kind == "numexpr":
            _emit_group_numexpr(st, item, n, pad)
        else:
            for k, e in enumerate(item.eqns):
                emit_eqn(item.start + k, e, item)
    return _Emitted(lines, owned, viewed, origin_const)


class Block(NamedTuple):
    """What a primitive's ``emit_block`` returns: the statements (already indented) that
    assign the equation's outputs, and per output whether it is a new buffer that no input,
    constant or other output refers to (``False``: it may alias an input; it is copied
    before being returned to the caller)."""

    lines: list[str]
    fresh: Sequence[bool]


class Inlined(NamedTuple):
    """A sub-IR written inline by :meth:`BlockContext.inline`."""

    lines: list[str]
    outs: list[str]  # one expression per output: a local name or a literal
    fresh: list[bool]  # per output: an owned buffer (see BlockContext.inline)


class BlockContext:
    """What a primitive's ``emit_block`` rule gets from the code generator: fresh names,
    globals, facts about the equation's operands, and :meth:`inline`, which writes a sub-IR's
    statements into the generated function at any indentation (recursively: a nested loop's
    body is inlined the same way)."""

    def __init__(
        self,
        gen: _Gen,
        indent: int,
        takeable: list[bool],
        used: list[bool],
        comment: str,
        scratch: list[bool] | None = None,
    ) -> None:
        self._gen = gen
        self.indent = indent  # the level of the equation's statements
        self.comment = comment  # "  # file.py:12" (the user's line), or ""
        self._scratch = scratch or [False] * len(used)
        self.scratched: set[str] = set()  # output names allocated by alloc() as scratch
        self._takeable = takeable
        self.used = used  # per output: read later (or returned)
        self.taken: set[Var] = set()  # inputs whose buffers the block took over

    def pad(self, level: int) -> str:
        return "    " * level

    def fresh(self, hint: str) -> str:
        """A new local name (``hint``, ``hint_1``, ...)."""
        return self._gen.names.fresh(hint)

    def global_name(self, base: str, value: Any) -> str:
        return self._gen.global_name(base, value)

    def literal(self, value: Any, aval: ShapedArray) -> str:
        """Source of a scalar constant of exactly ``aval``'s dtype."""
        return _literal_src(np.asarray(value, dtype=aval.dtype)[()])

    def alloc(self, j: int, name: str, aval: ShapedArray) -> str:
        """The statement allocating output ``j`` (named ``name``) uninitialized: a scratch
        buffer recycled across calls when the generated function never returns it as it is
        (big arrays only), else ``np.empty``."""
        dtype = f"np.{aval.dtype.name}"
        nbytes = aval.size * aval.dtype.itemsize
        if self._scratch[j] and nbytes >= SCRATCH_MIN_BYTES:
            self._gen.used_scratch = True
            self.scratched.add(name)
            return f"{name} = _scratch({aval.shape!r}, {dtype}, {self._gen.held})"
        return f"{name} = np.empty({aval.shape!r}, dtype={dtype})"

    def can_take(self, j: int) -> bool:
        """Whether input ``j``'s buffer is owned by the generated code, dead after this
        equation and referred to by nothing else: the block may then write into it."""
        return self._takeable[j]

    def take(self, eqn: Any, j: int) -> None:
        """Record that the block writes into input ``j`` (it must be :meth:`can_take`)."""
        assert self._takeable[j]
        self.taken.add(eqn.inputs[j])

    def inline(
        self,
        ir: IR,
        in_exprs: Sequence[str],
        indent: int,
        owned: Sequence[bool] | None = None,
        out_names: Sequence[str | None] | None = None,
    ) -> Inlined:
        """The statements of the closed sub-IR ``ir`` at ``indent`` levels, reading its inputs
        from ``in_exprs`` (local names, or literal source, assigned first). Inputs marked in
        ``owned`` are buffers the statements may overwrite after their last use; the other
        inputs are only read. Inputs are never deleted (a loop reads them again). (jit's
        optimize does not enter sub-IRs: the rules run ``passes.cse`` on them first.)

        ``out_names[j]`` (already reserved, e.g. the block's output names): the name output
        ``j`` is assigned to directly when an equation of ``ir`` computes it (and it is no
        other output); ``Inlined.outs[j]`` then is that name."""
        gen = self._gen
        names = gen.names
        if out_names is not None:
            defined = {o for e in ir.eqns for o in e.outputs}
            count: dict[Var, int] = {}
            for x in ir.outvars:
                if type(x) is Var:
                    count[x] = count.get(x, 0) + 1
            for x, want in zip(ir.outvars, out_names):
                if want is not None and type(x) is Var and x in defined and count[x] == 1:
                    names.preset[x] = want
        pad = "    " * indent
        lines: list[str] = []
        read = {x for e in ir.eqns for x in e.inputs if type(x) is Var}
        read.update(x for x in ir.outvars if type(x) is Var)
        for v, x in zip(ir.invars, in_exprs):
            if x.isidentifier():
                names.names[v] = x
            elif v in read:  # (an input nothing reads is not evaluated)
                lines.append(f"{pad}{names.bind(v, None)} = {x}")
        own = {v for v, o in zip(ir.invars, owned or [False] * len(ir.invars)) if o}
        em = _emit_eqns(gen, ir, indent, owned=own, keep=set(ir.invars), origin_const=set())
        lines += em.lines
        for x in ir.outvars:  # (a preset name whose equation wrote nothing)
            if type(x) is Var:
                names.preset.pop(x, None)
        outs: list[str] = []
        fresh: list[bool] = []
        seen: set[Var] = set()
        for x in ir.outvars:
            if type(x) is Var:
                outs.append(names[x])
                fresh.append(
                    x in em.owned and x not in em.viewed and x not in seen and x.aval.ndim > 0
                )
                seen.add(x)
            else:
                outs.append(self.literal(x.val, x.aval))
                fresh.append(False)
        return Inlined(lines, outs, fresh)


def _all_pure(ir: IR) -> bool:
    """No effectful primitive (a callback) in ``ir`` or any sub-IR of its equations."""
    stack = [ir]
    while stack:
        cur = stack.pop()
        for e in cur.eqns:
            if not e.prim.pure:
                return False
            stack.extend(v for v in e.params.values() if isinstance(v, IR))
    return True


# --- buffer planning and fused groups ---------------------------------------------------------
# Dead buffers kept per (shape, dtype) for later out= writes (more are deleted at once).
POOL_PER_TYPE = 2
# Literals in a numpy-fused group become constant arrays of the group's shape up to this
# size: a ufunc call with two same-typed arrays skips numpy's scalar conversion (~2x faster
# for short vectors); above it the arithmetic dominates and the scalar is kept.
LITERAL_ARRAY_MAX = 1024


class _Plan:
    """Buffer-planning state shared by the emitters: liveness (last use of each var), which
    vars own fresh memory that no view refers to, and the pool of dead buffers."""

    def __init__(
        self,
        ir: IR,
        gen: _Gen,
        lines: list[str],
        owned: set[Var],
        keep: set[Var],
        indent: int = 0,
        origin_const: set[Var] | None = None,
    ) -> None:
        self.names, self.g, self.lines = gen.names, gen.g, lines
        self.last_use: dict[Var, int] = {}
        for i, e in enumerate(ir.eqns):
            for x in e.inputs:
                if type(x) is Var:
                    self.last_use[x] = i
        self.out_set = {x for x in ir.outvars if type(x) is Var}
        self.viewed: set[Var] = set()
        for e in ir.eqns:
            # A block's inputs are marked once it says which of its outputs may alias them.
            if not e.prim.fresh and e.prim.emit_block is None:
                self.viewed.update(x for x in e.inputs if type(x) is Var)
        self.owned: set[Var] = set(owned)
        self.keep = keep  # never deleted: constants, inputs (the caller holds them anyway)
        self.free: dict[Any, list[Var]] = {}  # aval -> dead owned buffers, still bound
        self.literals = gen.literals
        self.kernel_sources = gen.kernel_sources
        # Scratch buffers (per-thread, recycled across calls: see _scratch) for intermediates
        # of the top level that never leave the function. ``scratch``: vars whose buffer is
        # one; they, and whatever reuses their buffer, are never returned as they are.
        self.scratch_ok = gen.held is not None and indent == 1
        self.eqns = ir.eqns
        self.gen = gen
        self.scratch: set[Var] = set()
        self.origin_const: set[Var] = origin_const if origin_const is not None else set()

    def reusable(self, x: Any, aval: Any, target: Var | None = None) -> bool:
        """Whether ``x``'s buffer may hold ``target`` (of type ``aval``) from now on."""
        return (
            type(x) is Var
            and x in self.owned
            and x not in self.viewed
            and x not in self.out_set
            and x.aval == aval
            and not (target is not None and x in self.scratch and target in self.out_set)
        )

    def inherit(self, buf: Var, target: Var) -> None:
        """``target`` now lives in ``buf``'s buffer (a scratch buffer stays one)."""
        if buf in self.scratch:
            self.scratch.add(target)
            self.origin_const.add(target)

    def scratch_alloc(self, o: Var) -> str | None:
        """Source of an uninitialized scratch buffer for ``o`` (recycled across calls), or
        None when ``o`` may leave the function as it is (returned), is small, or this code
        is not the function's top level (a loop body would take a new one per iteration)."""
        aval = o.aval
        if not self.scratch_ok or o in self.out_set or aval.ndim == 0:
            return None
        if aval.size * aval.dtype.itemsize < PLAN_MIN_BYTES:
            return None
        last = self.last_use.get(o)
        if last is not None and self.eqns[last].prim.emit_block is not None:
            return None  # a loop may take the buffer over as its carry: keep it the code's own
        self.gen.used_scratch = True
        self.scratch.add(o)
        self.origin_const.add(o)
        dt = "bool_" if aval.dtype == np.bool_ else aval.dtype.name
        return f"_scratch({aval.shape!r}, np.{dt}, {self.gen.held})"

    def result_alloc(self, o: Var) -> str | None:
        """Source of a buffer for the returned value ``o`` recycled from an earlier result
        the caller has dropped (:func:`_result_buffer`), or None (small, not at the top
        level, or ``o`` is returned as a copy anyway)."""
        aval = o.aval
        if not (self.scratch_ok and _RECYCLE_RESULTS) or o not in self.out_set:
            return None
        if aval.ndim == 0 or aval.size * aval.dtype.itemsize < PLAN_MIN_BYTES:
            return None
        if o in self.origin_const or o in self.keep:
            return None
        dt = "bool_" if aval.dtype == np.bool_ else aval.dtype.name
        return f"_result_buffer({aval.shape!r}, np.{dt})"

    def alloc(self, o: Var) -> str:
        """Source of an uninitialized buffer for ``o``: scratch when allowed, else new."""
        return (
            self.scratch_alloc(o)
            or self.result_alloc(o)
            or f"np.empty({o.aval.shape!r}, np.{o.aval.dtype.name})"
        )


def _pool_buffer(st: _Plan, x: Var, fresh: bool = False) -> bool:
    """Keep the dead var ``x`` bound as a free buffer (True) or let it be deleted (False)."""
    if x.aval.ndim == 0 or (not fresh and x not in st.owned) or x in st.viewed:
        return False
    pool = st.free.setdefault(x.aval, [])
    if len(pool) >= POOL_PER_TYPE:
        return False
    pool.append(x)
    st.owned.discard(x)
    return True


def _take_buffer(st: _Plan, i: int, e: Eqn) -> Var | None:
    """A dead buffer the equation may write its result into: for an elementwise primitive
    one of its own operands dying here (same shape and dtype: an in-place ufunc), else one
    from the pool of dead buffers (never an operand: matmul may not overlap its output)."""
    o = e.outputs[0]
    out_aval = o.aval
    if e.prim.ufunc is not None or e.prim.fuse is not None:
        for x in e.inputs:
            if st.reusable(x, out_aval, o) and st.last_use.get(x) == i:
                st.owned.discard(x)
                st.inherit(x, o)
                return x
    pool = st.free.get(out_aval)
    skipped: list[Var] = []
    found = None
    while pool:
        x = pool.pop()
        if x in st.scratch and o in st.out_set:
            skipped.append(x)  # a returned value never lives in a scratch buffer
            continue
        if x not in e.inputs:
            st.inherit(x, o)
            found = x
            break
    if pool is not None:
        pool.extend(reversed(skipped))
    return found


def _pop_free(st: _Plan, o: Var) -> Var | None:
    """A dead buffer from the pool for ``o`` (never a scratch one when ``o`` is returned)."""
    pool = st.free.get(o.aval)
    if not pool:
        return None
    for k in range(len(pool) - 1, -1, -1):
        x = pool[k]
        if not (x in st.scratch and o in st.out_set):
            del pool[k]
            st.inherit(x, o)
            return x
    return None


def _bound_ufunc_call(st: _Plan, ufunc: Any, ins: list[str], out: str | None) -> str | None:
    """In a numpy-fused group, ``_multiply(a, b, out=c)``: the ufunc bound to a global (~10 %
    less call overhead than ``np.multiply``'s lookup, which is what dominates short
    vectors)."""
    gname = f"_{ufunc.__name__}"
    if gname in st.names.used or st.g.get(gname, ufunc) is not ufunc:
        return None
    st.g[gname] = ufunc
    args = ins + ([f"out={out}"] if out is not None else [])
    return f"{gname}({', '.join(args)})"


def _emit_out(prim: Any, ins: list[str], params: dict[str, Any], out: str) -> str:
    f = prim.emit_out
    if callable(f):
        return f(ins, params, out)
    return f.format(*ins, out=out, **{k: repr(v) for k, v in params.items()})


def _group_type(group: Group) -> str:
    dt = group.dtype.name if group.dtype is not None else "bool"
    short = {"float64": "f64", "float32": "f32"}.get(dt, dt)
    return f"{short}[{','.join(map(str, group.shape))}]"


def _literal_array(st: _Plan, x: Any, group: Group) -> str | None:
    """A numpy-fused group's literal as a read-only constant array of the group's type."""
    if type(x) is Var or group.dtype is None or x.aval.dtype.kind not in "fi":
        return None
    if math.prod(group.shape) > LITERAL_ARRAY_MAX:
        return None
    key = (group.shape, group.dtype, repr(x.val))
    cname = st.literals.get(key)
    if cname is None:
        cname = f"_c{len(st.literals)}"
        arr = np.full(group.shape, x.val, dtype=group.dtype)
        arr.flags.writeable = False
        st.g[cname] = arr
        st.literals[key] = cname
    return cname


# "auto": the largest group (elements) whose promoted tier is a numba kernel. Measured on one
# thread (benchmarks/fusion.py --only sizes, jit(grad) of 50-step chains): a fused numba
# loop takes 0.03-0.5x numpy's time at 10-100 elements (numpy's per-call overhead
# dominates), 0.8-1.0x at 1000, 1.2-1.4x at 4000 and 1.4-3x from 10^4 on (numpy's SIMD
# loops), so bigger groups stay on numpy.
AUTO_NUMBA_MAX_ELEMENTS = 1024
# The promoted tier of "auto" (internal: jit recompiles a hot signature with it).
AUTO_PROMOTED = "auto:numba"


def _auto_numba(group: Group) -> bool:
    """Whether ``auto``'s promoted tier runs ``group`` as a numba kernel: numba imports and
    the group is small enough to gain (``AUTO_NUMBA_MAX_ELEMENTS``)."""
    return math.prod(group.shape) <= AUTO_NUMBA_MAX_ELEMENTS and kernels.installed("numba")


def _choose_backend(backend: str | None, group: Group) -> tuple[str, str]:
    """(back end for this group, note for the source).

    ``auto`` is numpy first: numba kernels cost ~0.1-3 s of compilation each, so jit runs a
    signature on numpy until it is hot (``config.jit_promote_after`` seconds of run time),
    then recompiles it with ``AUTO_PROMOTED``: small groups on numba, big ones on numpy.
    numexpr is never chosen by ``auto``: single-threaded it took 1.6-3.4x numpy's time
    from 1000 elements on, and below that (0.6-1.0x numpy's) numba was faster still."""
    if backend in ("numexpr", "numba"):
        if kernels.available(backend):
            return backend, ""
        return "numpy", f" ({backend} is not installed: fell back to numpy)"
    if backend == AUTO_PROMOTED:
        if _auto_numba(group):
            return "numba", ""
        n = math.prod(group.shape)
        if n > AUTO_NUMBA_MAX_ELEMENTS:
            why = f" (auto: {n} elements, numpy's loops are faster)"
        else:
            why = " (numba is not installed)"
        return "numpy", ", ufuncs writing into dead buffers (out=)" + why
    return "numpy", ", ufuncs writing into dead buffers (out=)"


def _backend_header(backend: str | None, gen: _Gen) -> str:
    """The generated function's first comment: the back end asked for and the groups."""
    if backend == AUTO_PROMOTED:
        on = ", ".join(f"{k} {n}" for k, n in gen.on.items())
        return f"jit_backend='auto', promoted tier: {gen.n_groups} fused groups ({on})"
    return f"jit_backend={backend!r}: {gen.n_groups} fused groups"


def _group_outputs(
    st: _Plan, group: Group, ind: str, outputs: list[Var] | None = None
) -> tuple[list[str], set[Var]]:
    """Bind names for a kernel's outputs; each gets a dead buffer of its type (an input dying
    in the group — the kernel reads each element before writing it — or a pooled one) or a
    new one. Returns the names and the inputs whose buffers were taken."""
    names: list[str] = []
    taken: set[Var] = set()
    for o in group.outputs if outputs is None else outputs:
        name = st.names.bind(o, None)
        buf = None
        for x in group.inputs:
            if x not in taken and st.reusable(x, o.aval, o) and st.last_use.get(x, -1) < group.stop:
                buf = x
                break
        if buf is not None:
            taken.add(buf)
            st.owned.discard(buf)
            st.inherit(buf, o)
            st.lines.append(f"{ind}{name} = {st.names[buf]}")
        else:
            x = _pop_free(st, o)
            if x is not None:
                st.lines.append(f"{ind}{name} = {st.names[x]}; del {st.names[x]}")
            else:
                st.lines.append(f"{ind}{name} = {st.alloc(o)}")
        names.append(name)
    return names, taken


def _dies_in(st: _Plan, group: Group, x: Var) -> bool:
    return st.last_use.get(x, -1) < group.stop and x not in st.out_set and x not in st.keep


def _group_epilogue(
    st: _Plan,
    group: Group,
    ind: str,
    taken: set[Var],
    extra: list[Var],
    freed: set[Var] | None = None,
) -> None:
    """After a kernel: free the inputs whose last use was in the group (pooled for reuse or
    deleted) and the values materialized inside it; the outputs own fresh memory."""
    freed = freed or set()
    dead = [x for x in group.inputs if _dies_in(st, group, x) and x not in freed]
    names = [st.names[x] for x in dead if x in taken or not _pool_buffer(st, x)]
    names += [st.names[x] for x in extra if x not in freed and not _pool_buffer(st, x, True)]
    if names:
        st.lines.append(f"{ind}del {', '.join(names)}")
    for o in group.outputs:
        st.owned.add(o)


def _kernel_literal(x: Any, group: Group) -> str:
    v = x.val
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if group.dtype is not None:
        return f"np.{group.dtype.name}({float(v)!r})"
    return repr(v)


def _numba_group_kernel(group: Group) -> tuple[Callable[..., Any], str, str]:
    """The group's numba kernel, compiled (or loaded from the disk cache) for the usual
    argument layouts now, so the cost is part of jit's compile (and its log), not of the
    first call. Returns (kernel, path of its source file, source)."""
    in_names = {v: f"i{k}" for k, v in enumerate(group.inputs)}
    reduce = group.reduction is not None
    src = kernels.group_kernel_source(
        group, in_names, _kernel_outputs(group), lambda x: _kernel_literal(x, group), reduce
    )
    fn, _, path = kernels.numba_kernel(src)
    sample = [
        np.zeros(group.shape, v.aval.dtype)
        if v.aval.shape == group.shape
        else np.broadcast_to(np.zeros(v.aval.shape, v.aval.dtype), group.shape)
        for v in group.inputs
    ]
    sample += [np.empty(group.shape, o.aval.dtype) for o in _kernel_outputs(group)]
    fn(*sample, *([np.empty(1, group.dtype)] if reduce else []))
    return fn, path, src


def _kernel_outputs(group: Group) -> list[Var]:
    """The arrays a numba kernel stores: the group's outputs, less the value its fused final
    reduction alone reads."""
    if group.reduction is not None and group.reduced_only:
        return [o for o in group.outputs if o is not group.reduction.inputs[0]]
    return list(group.outputs)


def _emit_group_numba(
    st: _Plan, group: Group, n: int, ind: str, kernel: tuple[Callable[..., Any], str, str]
) -> None:
    fn, path, src = kernel
    gname = f"_fused_{n}"
    st.g[gname] = fn
    st.kernel_sources.append((f"{gname}: numba kernel (disk cache {path})", src))
    outs, taken = _group_outputs(st, group, ind, _kernel_outputs(group))
    args = []
    for v in group.inputs:
        s = st.names[v]
        if v.aval.shape != group.shape:
            s = f"np.broadcast_to({s}, {group.shape!r})"
        args.append(s)
    red = group.reduction
    if red is None:
        st.lines.append(f"{ind}{gname}({', '.join(args + outs)})")
        _group_epilogue(st, group, ind, taken, [])
        return
    r = st.names.bind(red.outputs[0], None)
    acc = f"_acc{n}"
    st.lines.append(f"{ind}{acc} = np.empty(1, np.{group.dtype.name})")  # type: ignore[union-attr]
    st.lines.append(f"{ind}{gname}({', '.join(args + outs + [acc])})")
    st.lines.append(f"{ind}{r} = {acc}[0]; del {acc}")
    _group_epilogue(st, group, ind, taken, [])
    # the reduced value, if stored, may have had its last use in the reduction
    x = red.inputs[0]
    if not group.reduced_only and st.last_use.get(x) == group.stop and x not in st.out_set:
        if not _pool_buffer(st, x):
            st.lines.append(f"{ind}del {st.names[x]}")


def _emit_group_numexpr(st: _Plan, group: Group, n: int, ind: str) -> None:
    # Values materialized as arrays: group outputs, values used twice inside the group, and
    # expressions nested deeper than MAX_DEPTH (Python's parser limits nesting).
    uses: dict[Var, int] = {}
    for e in group.eqns:
        for x in e.inputs:
            if type(x) is Var:
                uses[x] = uses.get(x, 0) + 1
    outputs = set(group.outputs)
    text: dict[Var, str] = {}
    depth: dict[Var, int] = {}
    leaves: dict[Var, list[Var]] = {}  # a tree's array operands (external or materialized)
    lits: dict[Var, list[Any]] = {}
    f32 = group.dtype == np.float32
    k = 0
    materialized: list[Var] = []  # arrays used only inside the group, freed after it
    cost: dict[Var, int] = {}  # operations in a value's (not yet materialized) tree
    freed: set[Var] = set()
    ext = set(group.inputs)
    for j, e in enumerate(group.eqns):
        ops: list[str] = []
        lv: list[Var] = []
        lt: list[Any] = []
        d = 0
        for x in e.inputs:
            if type(x) is Var and x in text:
                ops.append(text[x])
                lv += leaves[x]
                lt += lits[x]
                d = max(d, depth[x])
            elif type(x) is Var:
                ops.append(f"({st.names[x]})")
                lv.append(x)
            elif f32 and not isinstance(x.val, (bool, np.bool_)):
                lt.append(x)
                ops.append(f"({{lit{id(x)}}})")
            else:
                ops.append(f"({_kernel_literal(x, group).replace('np.float64', '')})")
        f = e.prim.fuse
        expr = f(ops, e.params) if callable(f) else f.format(*ops)
        o = e.outputs[0]
        c = 1 + sum(cost.get(x, 0) for x in e.inputs if type(x) is Var)
        for x in dict.fromkeys(e.inputs):  # trees inlined into all their users are done
            if type(x) is Var and x in text:
                uses[x] -= e.inputs.count(x)
                if uses[x] <= 0:
                    del text[x], leaves[x], lits[x], cost[x]
        text[o], depth[o], leaves[o], lits[o], cost[o] = expr, d + 1, lv, lt, c
        shared = uses.get(o, 0) > 1 and c > _NUMEXPR_RECOMPUTE
        if o in outputs or shared or d + 1 >= _NUMEXPR_MAX_DEPTH:
            k += 1
            args = _numexpr_line(st, group, o, text[o], leaves[o], lits[o], f"_ne{n}_{k}", ind)
            del text[o], leaves[o], lits[o], cost[o]
            if o not in outputs:
                materialized.append(o)
            # Free what this line read for the last time (unless a pending tree still reads
            # it), so memory does not grow with the group's length.
            for v in args:
                internal = v in materialized
                if v in freed or not (internal or (v in ext and _dies_in(st, group, v))):
                    continue
                if st.last_use.get(v, -1) > group.start + j:
                    continue
                if any(v in lv for lv in leaves.values()):
                    continue
                freed.add(v)
                if not _pool_buffer(st, v, fresh=internal):
                    st.lines.append(f"{ind}del {st.names[v]}")
    _group_epilogue(st, group, ind, set(), materialized, freed)


_NUMEXPR_MAX_DEPTH = 32
# A value used several times inside a group is recomputed in each tree that uses it when its
# tree has at most this many operations (cheaper than a pass over memory), else materialized.
_NUMEXPR_RECOMPUTE = 2


def _numexpr_line(
    st: _Plan, group: Group, o: Var, expr: str, lv: list[Var], lt: list[Any], gname: str, ind: str
) -> list[Var]:
    args = list(dict.fromkeys(lv))
    argn = [f"a{j}" for j in range(len(args))]
    for v, a in zip(args, argn):
        expr = expr.replace(f"({st.names[v]})", a)
    lit_names = []
    for j, x in enumerate(dict.fromkeys(lt)):
        expr = expr.replace(f"({{lit{id(x)}}})", f"c{j}")
        lit_names.append((f"c{j}", x))
    dtypes = [v.aval.dtype for v in args] + [group.dtype for _ in lit_names]
    prog = kernels.numexpr_program(expr, argn + [c for c, _ in lit_names], dtypes)
    st.g[gname] = prog
    call_args = [st.names[v] for v in args]
    for c, x in lit_names:
        cname = f"{gname}_{c}"
        st.g[cname] = np.asarray(x.val, dtype=group.dtype)
        call_args.append(cname)
    name = st.names.bind(o, None)
    buf = _pop_free(st, o)
    out = f", out={st.names[buf]}" if buf is not None else ""
    if buf is None:
        sa = st.scratch_alloc(o) or st.result_alloc(o)
        out = f", out={sa}" if sa is not None else ""
    tail = f"; del {st.names[buf]}" if buf is not None else ""
    # values materialized only inside the group die at their last use in it
    line = f"{ind}{name} = {gname}({', '.join(call_args)}{out}){tail}  # numexpr: {expr}"
    st.lines.append(line)
    return args


def _preview(c: Any) -> str:
    """A one-line look at a constant for the generated source's header."""
    if not isinstance(c, (np.ndarray, np.generic)):
        return f"<{type(c).__name__}>"
    text = np.array2string(
        np.asarray(c), threshold=6, edgeitems=2, precision=4, max_line_width=10_000
    )
    text = " ".join(text.split()).replace("[ ", "[")
    return text if len(text) <= 60 else text[:57] + "..."


def _check_nan(x: Any, where: tuple[str, Any]) -> None:
    raise_if_nonfinite(x, where[0], where[1])


_counter = itertools.count(1)  # unique file names for generated code (atomic under threads)


def compile_ir(
    ir: IR,
    name: str = "f",
    out_tree: PyTreeDef | None = None,
    input_kinds: list[type] | None = None,
    check_nans: bool = False,
    internal: bool = False,
    backend: str | None = None,
) -> tuple[Callable[..., Any], str]:
    """Generate, compile and return (function, source). The source is registered with
    ``linecache`` so tracebacks through generated code show its lines; the entry lives as long
    as the compiled function does."""
    src, g = generate(ir, name, out_tree, input_kinds, check_nans, internal, backend)
    filename = f"<funcgrad-jit-{next(_counter)}:{name}>"
    code = compile(src, filename, "exec")
    _drop_dead_sources()
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(code, g)
    fn = g[name]
    weakref.finalize(fn, _dead_sources.append, filename)
    return fn, src


# Sources of collected functions, removed from linecache at the next compile rather than by
# the finalizer itself: a finalizer runs inside whatever code triggered the garbage collector,
# e.g. linecache.checkcache looping over the cache's keys (which raised KeyError).
_dead_sources: list[str] = []


def _drop_dead_sources() -> None:
    while _dead_sources:
        try:
            linecache.cache.pop(_dead_sources.pop(), None)
        except IndexError:  # emptied by another thread meanwhile
            break


_compiled_by_ir: weakref.WeakKeyDictionary[IR, Callable[..., Any]] = weakref.WeakKeyDictionary()
# Sub-IRs traced again with the same structure (an eager lax.scan in a training loop retraces
# its body on every call) reuse one compiled function: keyed on the IR's structure, bounded.
STRUCTURE_CACHE_SIZE = 256
_compiled_by_structure: OrderedDict[Hashable, Callable[..., Any]] = OrderedDict()
_structure_lock = threading.Lock()


def structure_key(ir: IR) -> Hashable | None:
    """A hashable key equal for IRs that compile to the same code: primitives, params,
    operand wiring, literal values, types and source lines. ``None`` when the IR holds
    constants or a parameter that cannot be hashed (such IRs are not shared)."""
    if ir.constvars:
        return None
    number: dict[Var, int] = {v: i for i, v in enumerate(ir.invars)}

    def operand(x: Any) -> Any:
        return number[x] if type(x) is Var else operand_key(x)

    eqns = []
    for e in ir.eqns:
        pk = params_key(e.params)
        if pk is None:
            return None
        outs = tuple((o.aval.shape, o.aval.dtype, o.aval.weak) for o in e.outputs)
        eqns.append((e.prim, tuple(operand(x) for x in e.inputs), pk, outs, e.src))
        for o in e.outputs:
            number[o] = len(number)
    ins = tuple((v.aval.shape, v.aval.dtype, v.aval.weak) for v in ir.invars)
    return ins, tuple(eqns), tuple(operand(x) for x in ir.outvars)


def compile_ir_cached(ir: IR) -> Callable[..., Any]:
    """A compiled function for ``ir`` returning a tuple of outputs, cached per IR object and
    per IR structure (used to run the sub-IRs of control-flow primitives fast)."""
    fn = _compiled_by_ir.get(ir)
    if fn is not None:
        return fn
    key = structure_key(ir)
    if key is not None:
        with _structure_lock:
            fn = _compiled_by_structure.get(key)
            if fn is not None:
                _compiled_by_structure.move_to_end(key)
    if fn is None:
        fn, _ = compile_ir(ir, "body", internal=True)
        if key is not None:
            with _structure_lock:
                _compiled_by_structure[key] = fn
                while len(_compiled_by_structure) > STRUCTURE_CACHE_SIZE:
                    _compiled_by_structure.popitem(last=False)
    _compiled_by_ir[ir] = fn
    return fn


class Compiled:
    """A compiled IR together with its source, for inspection."""

    __slots__ = ("ir", "fn", "source")

    def __init__(self, ir: IR, fn: Callable[..., Any], source: str) -> None:
        self.ir, self.fn, self.source = ir, fn, source
