"""An IR as a graph: nodes for inputs, constants, equations and outputs; edges for data flow.

:func:`ir_graph` builds a small renderer-neutral :class:`Graph` (plain data) and
:func:`graph_to_dot` writes it as Graphviz DOT text (``IR.to_dot`` does both). This module
imports nothing at run time (``ir.py`` imports it), so it can sit in core next to the IR.
Drawing (Graphviz's ``dot`` program, or networkx + matplotlib) lives in :mod:`funcgrad.viz`,
behind the optional ``[viz]`` extra.

For the IR of a ``grad`` / ``vjp``, equations emitted by the backward pass
(``eqn.phase == "backward"``) are coloured differently, and every edge from a forward value
into a backward equation is dashed: it is the forward value that equation uses.

Large IRs stay readable: past ``max_nodes`` equations, equations are folded into one node per
user source line (then per file), and the graph's title says what was folded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from funcgrad.core.errors import LocatedValueError

# funcgrad.core.ir imports this module, so it must not import funcgrad.core.ir back (not even for
# type checking): the IR types are described here only by name.
IR = Any  # funcgrad.core.ir.IR
Eqn = Any  # funcgrad.core.ir.Eqn
Var = Any  # funcgrad.core.ir.Var

__all__ = ["Graph", "ir_graph", "graph_to_dot", "COLORS", "EDGE_COLORS"]

#: Fill colours per node kind, shared by every renderer (DOT and matplotlib).
COLORS = {
    "input": "#c7e9c0",
    "const": "#e5e5e5",
    "forward": "#c6dbef",
    "backward": "#fdd0a2",
    "output": "#fff2ae",
}
#: Edge colours: forward data flow, backward data flow, a forward value used by the backward pass.
EDGE_COLORS = {"forward": "#4a4a4a", "backward": "#d94801", "uses": "#8c8c8c"}


class Graph:
    """Renderer-neutral graph of an IR.

    ``nodes``: list of ``(id, label, kind, tooltip)`` with kind in ``input``, ``const``,
    ``forward``, ``backward``, ``output``. ``edges``: list of ``(src_id, dst_id, kind)`` with
    kind in ``forward``, ``backward``, ``uses`` (dashed: a forward value read by a backward
    equation). ``folded`` says what was grouped (None when every equation has its node).
    """

    __slots__ = ("nodes", "edges", "title", "folded", "has_backward")

    def __init__(self) -> None:
        self.nodes: list[tuple[str, str, str, str]] = []
        self.edges: list[tuple[str, str, str]] = []
        self.title: str | None = None
        self.folded: str | None = None
        self.has_backward = False

    @property
    def caption(self) -> str:
        parts = [p for p in (self.title, self.folded) if p]
        return "\n".join(parts)


def _short_params(params: Mapping[str, Any]) -> tuple[str, str]:
    """(short text for the node label, full text for the tooltip)."""
    short, full = [], []
    for k, v in params.items():
        if _is_ir(v):
            s = f"{k}=<{len(v.eqns)} eqns>"
        elif callable(v):
            s = f"{k}={getattr(v, '__name__', type(v).__name__)}"
        else:
            s = f"{k}={v!r}"
        full.append(s)
        if len(s) <= 24:
            short.append(s)
    return ", ".join(short), ", ".join(full)


def _src_text(src: tuple[str, int] | None) -> str:
    return f"{os.path.basename(src[0])}:{src[1]}" if src else "unknown line"


def _eqn_label(e: Eqn) -> tuple[str, str]:
    short, full = _short_params(e.params)
    head = e.prim.name + (f" {short}" if short else "")
    lits = [repr(x) for x in e.inputs if _is_literal(x)]
    if lits:
        head += " (" + ", ".join(lits) + ")"
    avals = " ".join(str(o.aval) for o in e.outputs)
    tip = f"{e.prim.name}[{full}] at {_src_text(e.src)}" if full else _src_text(e.src)
    return f"{head}\n{avals}", tip


def _is_literal(x: Any) -> bool:
    return hasattr(x, "val")  # a Literal operand (a Var has no value)


def _kind(e: Eqn) -> str:
    return "backward" if e.phase == "backward" else "forward"


def _is_ir(x: Any) -> bool:
    return hasattr(x, "eqns") and hasattr(x, "outvars")


def ir_graph(
    ir: IR,
    names: Callable[[Var], str],
    max_nodes: int = 300,
    group_by: str = "line",
    notes: Callable[[Var], str | None] | None = None,
    title: str | None = None,
) -> Graph:
    """Build the :class:`Graph` of ``ir``; ``names(var)`` gives variables their printed names
    (``funcgrad.core.ir._Namer(ir)``, as ``str(ir)`` uses). ``notes(var)`` may add a line of text
    (e.g. a value) under the node that produces ``var``. ``group_by`` is ``"line"`` (fold
    equations per user source line when there are more than ``max_nodes``) or ``"none"``."""
    if group_by not in ("line", "none"):
        raise LocatedValueError(f"group_by must be 'line' or 'none', got {group_by!r}")
    if not isinstance(max_nodes, int) or max_nodes < 1:
        raise LocatedValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    g = Graph()
    g.title = title
    g.has_backward = any(e.phase == "backward" for e in ir.eqns)
    producer: dict[Var, str] = {}
    kind_of: dict[str, str] = {}

    def note(v: Var) -> str:
        if notes is None:
            return ""
        s = notes(v)
        return f"\n{s}" if s else ""

    def add_node(nid: str, label: str, kind: str, tip: str = "") -> None:
        g.nodes.append((nid, label, kind, tip))
        kind_of[nid] = kind

    fold = group_by != "none" and len(ir.eqns) > max_nodes
    if fold and len(ir.constvars) > 1:
        add_node("consts", f"{len(ir.constvars)} constants", "const")
        for v in ir.constvars:
            producer[v] = "consts"
    else:
        for i, v in enumerate(ir.constvars):
            nid = f"k{i}"
            add_node(nid, f"const {names(v)}\n{v.aval}{note(v)}", "const")
            producer[v] = nid
    for i, v in enumerate(ir.invars):
        nid = f"in{i}"
        add_node(nid, f"{names(v)}\n{v.aval}{note(v)}", "input")
        producer[v] = nid

    # Node of each equation: its own, or its group's.
    if not fold:
        eqn_node = []
        for i, e in enumerate(ir.eqns):
            nid = f"e{i}"
            label, tip = _eqn_label(e)
            outs = " ".join(names(o) for o in e.outputs)
            extra = "".join(note(o) for o in e.outputs)
            add_node(nid, f"{outs} = {label}{extra}", _kind(e), tip)
            eqn_node.append(nid)
    else:
        eqn_node, n_groups, how = _fold(ir, max_nodes, add_node)
        g.folded = (
            f"folded {len(ir.eqns)} equations into {n_groups} groups by {how} "
            f"(more than max_nodes={max_nodes}); to_dot(group_by='none') shows every equation"
        )

    seen_edges: set[tuple[str, str]] = set()

    def add_edge(src: str, dst: str) -> None:
        if fold:
            if src == dst or (src, dst) in seen_edges:
                return
            seen_edges.add((src, dst))
        ks, kd = kind_of[src], kind_of[dst]
        if kd == "backward":
            kind = "backward" if ks == "backward" else "uses"
        elif kd == "output":
            kind = "backward" if ks == "backward" else "forward"
        else:
            kind = "forward"
        g.edges.append((src, dst, kind))

    for e, nid in zip(ir.eqns, eqn_node):
        for x in e.inputs:
            if not _is_literal(x):
                add_edge(producer[x], nid)
        for o in e.outputs:
            producer[o] = nid
    for i, x in enumerate(ir.outvars):
        nid = f"out{i}"
        if not _is_literal(x):
            add_node(nid, f"output {i}\n{x.aval}", "output")
            add_edge(producer[x], nid)
        else:
            add_node(nid, f"output {i} = {x!r}", "output")
    return g


def _fold(ir: IR, max_nodes: int, add_node: Callable[..., None]) -> tuple[list[str], int, str]:
    """One node per (phase, source line); per (phase, file) when lines are still too many."""
    for how in ("source line", "source file"):
        keys: list[tuple[Any, ...]] = []
        for e in ir.eqns:
            src = e.src
            where: tuple[Any, ...] = (
                () if src is None else (src[0], src[1]) if how == "source line" else (src[0],)
            )
            keys.append((_kind(e), *where))
        if len(set(keys)) <= max_nodes or how == "source file":
            break
    members: dict[tuple[Any, ...], list[Eqn]] = {}
    for k, e in zip(keys, ir.eqns):
        members.setdefault(k, []).append(e)
    ids = {k: f"g{i}" for i, k in enumerate(members)}
    for k, es in members.items():
        counts: dict[str, int] = {}
        for e in es:
            counts[e.prim.name] = counts.get(e.prim.name, 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])
        prims = ", ".join(f"{n}×{c}" for n, c in top[:4]) + (", …" if len(top) > 4 else "")
        where = "unknown line"
        if len(k) == 3:
            where = f"{os.path.basename(k[1])}:{k[2]}"
        elif len(k) == 2:
            where = os.path.basename(k[1])
        add_node(ids[k], f"{where}\n{len(es)} eqns: {prims}", k[0], where)
    return [ids[k] for k in keys], len(members), how


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graph_to_dot(g: Graph) -> str:
    lines = [
        "digraph IR {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    if g.caption:
        lines.append(f"  labelloc=t; label={_q(g.caption)};")
    for nid, label, kind, tip in g.nodes:
        attrs = f"label={_q(label)}, fillcolor={_q(COLORS[kind])}"
        if kind in ("input", "output"):
            attrs += ", shape=ellipse, style=filled"
        if tip:
            attrs += f", tooltip={_q(tip)}"
        lines.append(f"  {nid} [{attrs}];")
    for src, dst, kind in g.edges:
        attrs = f"color={_q(EDGE_COLORS[kind])}"
        if kind == "uses":
            attrs += ", style=dashed"
        lines.append(f"  {src} -> {dst} [{attrs}];")
    if g.has_backward:
        lines += [
            "  subgraph cluster_legend {",
            '    label="legend"; fontname="Helvetica"; fontsize=10; color="#bbbbbb";',
            f'    legend_fwd [label="forward pass", fillcolor={_q(COLORS["forward"])}];',
            f'    legend_bwd [label="backward pass", fillcolor={_q(COLORS["backward"])}];',
            '    legend_uses [label="dashed arrow: forward value\\nused by the backward pass",'
            ' shape=plaintext, style=""];',
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"
