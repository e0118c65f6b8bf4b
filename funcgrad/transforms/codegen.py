"""Code generation: an IR becomes the source of one Python function of numpy calls, compiled
once with ``compile``/``exec``. The source is meant to be read: inputs keep the user's argument
names, each line notes the user's source line, and each primitive writes itself through its
``emit`` template (``np.sin(a)``, ``(a @ b)``).

Buffer planning: when an elementwise ufunc's operand is a fresh intermediate (owned by the
generated function, never aliased by a view), has the output's shape and dtype, and is dead
after this equation, the ufunc writes into it (``np.add(a, b, out=a)``) instead of allocating.

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
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.config import raise_if_nonfinite
from funcgrad.core.ir import IR, ShapedArray, Var, _letters
from funcgrad.core.pytree import PyTreeDef, tree_unflatten
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
        if len(free) < 4:
            free.append(buf)
            _scratch_local.nbytes += buf.nbytes
    held.clear()


_BASE_GLOBALS = {
    "np": np,
    "math": math,
    "_bcast": _bcast,
    "_own": _own,
    "_scalar": _scalar,
    "_Array": Array,
    "_scratch": _scratch,
    "_scratch_release": _scratch_release,
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

    def bind(self, v: Var, hint: str | None) -> str:
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
) -> tuple[str, dict[str, Any]]:
    """Return (source, globals) of a function computing ``ir``.

    ``internal=True`` (sub-IRs run by primitives, e.g. loop bodies) skips the conversions
    that make results the caller's own (copies of inputs/constants, numpy scalars).

    ``input_kinds[i]`` is the Python type of a scalar input (float/int/bool) to be converted
    to numpy on entry. With ``out_tree`` the function returns that pytree, else a tuple.
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
    gen = _Gen(g, names, check_nans, scratch=not internal and _all_pure(ir))
    # Never deleted: constants (globals) and inputs (the caller holds them anyway).
    keep: set[Var] = set(ir.constvars) | set(ir.invars)
    origin_const: set[Var] = set(ir.constvars)  # vars that may alias constants / read-only data
    body = _emit_eqns(gen, ir, 1, owned=set(), keep=keep, origin_const=origin_const)
    if gen.held is not None:
        lines.append(f"    {gen.held} = []")
    lines += body.lines
    origin_const = body.origin_const

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
        self, g: dict[str, Any], names: _Names, check_nans: bool, scratch: bool = False
    ) -> None:
        self.g = g
        self.names = names
        self.check_nans = check_nans
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
    owned = set(owned)
    origin_const = set(origin_const)
    # Buffer planning facts: last use of each var, and which vars own fresh memory that no
    # view refers to.
    last_use: dict[Var, int] = {}
    for i, e in enumerate(ir.eqns):
        for x in e.inputs:
            if type(x) is Var:
                last_use[x] = i
    out_set = {x for x in ir.outvars if type(x) is Var}
    viewed: set[Var] = set()
    for e in ir.eqns:
        # A block's inputs are marked once it says which of its outputs may alias them.
        if not e.prim.fresh and e.prim.emit_block is None:
            viewed.update(x for x in e.inputs if type(x) is Var)

    def operand(x: Any) -> str:
        return names[x] if type(x) is Var else _literal_src(x.val)

    for i, e in enumerate(ir.eqns):
        prim = e.prim
        ins = [operand(x) for x in e.inputs]
        comment = ""
        if e.src is not None:
            comment = f"  # {os.path.basename(e.src[0])}:{e.src[1]}"
        if e.phase is not None:  # e.g. "backward": equations of a gradient's backward pass
            comment = (comment or "  #") + f" ({e.phase})"
        if prim.emit_block is not None:
            outs = [names.bind(o, None) for o in e.outputs]
            takeable = [
                type(x) is Var
                and x in owned
                and x not in viewed
                and x not in out_set
                and last_use.get(x) == i
                and e.inputs.count(x) == 1
                for x in e.inputs
            ]
            used = [o in last_use or o in out_set for o in e.outputs]
            # Scratch buffers: only at the top level of a function, for values it never
            # returns as they are.
            scratch = [gen.held is not None and indent == 1 and o not in out_set for o in e.outputs]
            ctx = BlockContext(gen, indent, takeable, used, comment, scratch)
            block = prim.emit_block(ctx, e, ins, outs)
            lines += block.lines
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
            continue
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
        # Buffer reuse for ufuncs.
        if prim.ufunc is not None and not prim.multiple_results and e.outputs[0].aval.ndim > 0:
            out_aval = e.outputs[0].aval
            for x in e.inputs:
                if (
                    type(x) is Var
                    and x in owned
                    and x not in viewed
                    and x not in out_set
                    and last_use.get(x) == i
                    and x.aval == out_aval
                ):
                    expr = f"np.{prim.ufunc.__name__}({', '.join(ins)}, out={names[x]})"
                    owned.discard(x)
                    break
        lhs = ", ".join(outs) if prim.multiple_results else outs[0]
        if prim.multiple_results and len(outs) == 1:
            lhs += ","
        # Free intermediates after their last use, so memory stays what eager mode needs.
        dead = [
            names[x]
            for x in dict.fromkeys(e.inputs)
            if type(x) is Var and last_use.get(x) == i and x not in out_set and x not in keep
        ]
        dead += [o for v, o in zip(e.outputs, outs) if v not in last_use and v not in out_set]
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
    ) -> Inlined:
        """The statements of the closed sub-IR ``ir`` at ``indent`` levels, reading its inputs
        from ``in_exprs`` (local names, or literal source, assigned first). Inputs marked in
        ``owned`` are buffers the statements may overwrite after their last use; the other
        inputs are only read. Inputs are never deleted (a loop reads them again)."""
        gen = self._gen
        names = gen.names
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
) -> tuple[Callable[..., Any], str]:
    """Generate, compile and return (function, source). The source is registered with
    ``linecache`` so tracebacks through generated code show its lines; the entry lives as long
    as the compiled function does."""
    src, g = generate(ir, name, out_tree, input_kinds, check_nans, internal)
    filename = f"<funcgrad-jit-{next(_counter)}:{name}>"
    code = compile(src, filename, "exec")
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(code, g)
    fn = g[name]
    weakref.finalize(fn, linecache.cache.pop, filename, None)
    return fn, src


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
