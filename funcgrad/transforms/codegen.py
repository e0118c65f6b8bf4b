"""Code generation: an IR becomes the source of one Python function of numpy calls, compiled
once with ``compile``/``exec``. The source is meant to be read: inputs keep the user's argument
names, each line notes the user's source line, and each primitive writes itself through its
``emit`` template (``np.sin(a)``, ``(a @ b)``).

Buffer planning: when an elementwise ufunc's operand is a fresh intermediate (owned by the
generated function, never aliased by a view), has the output's shape and dtype, and is dead
after this equation, the ufunc writes into it (``np.add(a, b, out=a)``) instead of allocating.
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
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.config import raise_if_nonfinite
from funcgrad.core.ir import IR, Var, _letters
from funcgrad.core.pytree import PyTreeDef, tree_unflatten
from funcgrad.transforms.passes import operand_key, params_key

__all__ = ["generate", "compile_ir", "compile_ir_cached", "Compiled"]

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


_BASE_GLOBALS = {
    "np": np,
    "math": math,
    "_bcast": _bcast,
    "_own": _own,
    "_scalar": _scalar,
    "_Array": Array,
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
        g[cname] = c
    lines = [f"def {name}({', '.join(params)}):"]
    if ir.constvars:
        lines.append("    # constants:")
        lines += [
            f"    #   {names[v]}: {v.aval} = {_preview(c)}" for v, c in zip(ir.constvars, ir.consts)
        ]
    subs: list[tuple[str, str, str, IR]] = []  # sub-IRs (scan/cond bodies) shown after the function
    for p, v, kind in zip(params, ir.invars, input_kinds or [None] * len(params)):
        if kind is not None:
            lines.append(f"    {p} = np.{v.aval.dtype.name}({p})")

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
        if not e.prim.fresh:
            viewed.update(x for x in e.inputs if type(x) is Var)
    owned: set[Var] = set()
    # Never deleted: constants (globals) and inputs (the caller holds them anyway).
    keep: set[Var] = set(ir.constvars) | set(ir.invars)
    origin_const: set[Var] = set(ir.constvars)  # vars that may alias constants / read-only data

    def operand(x: Any) -> str:
        return names[x] if type(x) is Var else _literal_src(x.val)

    for i, e in enumerate(ir.eqns):
        prim = e.prim
        ins = [operand(x) for x in e.inputs]
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
            fname = f"_{prim.name}_{i}"
            make = prim.codegen_impl  # e.g. a compiled sub-IR
            if make is not None:
                g[fname] = make(**e.params)
            else:
                g[fname] = functools.partial(prim.impl, **e.params) if e.params else prim.impl
            expr = f"{fname}({', '.join(ins)})"
            subs += [(fname, prim.name, k, v) for k, v in e.params.items() if isinstance(v, IR)]
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
        comment = ""
        if e.src is not None:
            comment = f"  # {os.path.basename(e.src[0])}:{e.src[1]}"
        if e.phase is not None:  # e.g. "backward": equations of a gradient's backward pass
            comment = (comment or "  #") + f" ({e.phase})"
        # Free intermediates after their last use, so memory stays what eager mode needs.
        dead = [
            names[x]
            for x in dict.fromkeys(e.inputs)
            if type(x) is Var and last_use.get(x) == i and x not in out_set and x not in keep
        ]
        dead += [o for v, o in zip(e.outputs, outs) if v not in last_use and v not in out_set]
        tail = f"; del {', '.join(dead)}" if dead else ""
        assign = f"{lhs} = " if outs else ""  # an effect with no results: a bare call
        lines.append(f"    {assign}{expr}{tail}{comment}")
        if check_nans:
            for o, oname in zip(e.outputs, outs):
                if o.aval.dtype.kind in "fc":
                    g["_check_nan"] = _check_nan
                    g[f"_where_{i}"] = (prim.name, e.src)
                    lines.append(f"    _check_nan({oname}, _where_{i})")
        for o in e.outputs:
            if prim.fresh and o.aval.ndim > 0:
                owned.add(o)
            if prim.readonly_view or (
                not prim.fresh and any(type(x) is Var and x in origin_const for x in e.inputs)
            ):
                origin_const.add(o)

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
    lines.append(f"    return {built}")
    for fname, pname, key, sub in subs:
        # Shown for the reader only (comments): what the call runs, generated the same way.
        lines.append(f"# {fname} runs {pname} with {key} =")
        sub_src = generate(sub, f"{fname}_{key}", internal=True)[0]
        lines += ["#   " + ln for ln in sub_src.splitlines()]
    return "\n".join(lines) + "\n", g


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
