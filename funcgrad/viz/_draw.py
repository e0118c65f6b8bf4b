"""Rendering of :class:`funcgrad.core.ir_dot.Graph`: Graphviz ``dot`` when installed, else
networkx's layered (multipartite) layout drawn with matplotlib. No layout algorithm is written
here."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from typing import Any

from funcgrad.core.errors import LocatedRuntimeError, LocatedTypeError, LocatedValueError

try:
    import matplotlib  # noqa: F401  (checked here so the error names the extra)
    import networkx as nx
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
except ImportError as _e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"funcgrad.viz needs matplotlib and networkx ({_e.name} is missing): "
        "pip install 'funcgrad[viz]'"
    ) from _e

from funcgrad.core.ir import IR, _Namer
from funcgrad.core.ir_dot import COLORS, EDGE_COLORS, Graph, graph_to_dot, ir_graph

__all__ = ["draw", "svg", "to_networkx"]

_FORMATS = ("png", "svg", "pdf")
_ENGINES = ("auto", "graphviz", "matplotlib")


def _as_graph(obj: Any, max_nodes: int) -> Graph:
    if isinstance(obj, Graph):
        return obj
    if isinstance(obj, IR):
        return ir_graph(obj, _Namer(obj), max_nodes=max_nodes)
    graph_of = getattr(obj, "graph", None)  # e.g. an Explanation
    if callable(graph_of):
        return graph_of(max_nodes=max_nodes)
    raise LocatedTypeError(
        f"funcgrad.viz draws an IR (from funcgrad.make_ir or jit(f).lower(...).ir) or an "
        f"explanation (funcgrad.explain), got {type(obj).__name__}"
    )


def to_networkx(obj: Any, max_nodes: int = 300) -> nx.DiGraph:
    """The graph as a ``networkx.DiGraph``; nodes carry ``label`` and ``kind``, edges ``kind``."""
    g = _as_graph(obj, max_nodes)
    G = nx.DiGraph()
    for nid, label, kind, tip in g.nodes:
        G.add_node(nid, label=label, kind=kind, tooltip=tip)
    for src, dst, kind in g.edges:
        G.add_edge(src, dst, kind=kind)
    G.graph["caption"] = g.caption
    G.graph["has_backward"] = g.has_backward
    return G


def _engine(engine: str) -> str:
    if engine not in _ENGINES:
        raise LocatedValueError(f"engine must be one of {_ENGINES}, got {engine!r}")
    if engine == "auto":
        return "graphviz" if shutil.which("dot") else "matplotlib"
    if engine == "graphviz" and not shutil.which("dot"):
        raise LocatedRuntimeError(
            "engine='graphviz' needs Graphviz's `dot` program on PATH (Debian/Ubuntu: "
            "apt-get install graphviz; macOS: brew install graphviz); engine='matplotlib' "
            "needs only the [viz] extra"
        )
    return engine


def _run_dot(g: Graph, fmt: str, extra: list[str] | None = None) -> bytes:
    res = subprocess.run(
        ["dot", f"-T{fmt}", *(extra or [])],
        input=graph_to_dot(g).encode(),
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        raise LocatedRuntimeError(f"Graphviz dot failed: {res.stderr.decode(errors='replace')}")
    return res.stdout


def _layers(G: nx.DiGraph) -> None:
    """Set each node's ``layer``: topological generations (of the condensation when grouping
    made cycles), so multipartite_layout places the graph left to right."""
    if nx.is_directed_acyclic_graph(G):
        gens = nx.topological_generations(G)
        for i, gen in enumerate(gens):
            for n in gen:
                G.nodes[n]["layer"] = i
        return
    C = nx.condensation(G)
    for i, gen in enumerate(nx.topological_generations(C)):
        for c in gen:
            for n in C.nodes[c]["members"]:
                G.nodes[n]["layer"] = i


def _figure(g: Graph) -> Figure:
    G = to_networkx(g)
    _layers(G)
    pos = nx.multipartite_layout(G, subset_key="layer", align="vertical")
    n_layers = 1 + max((d["layer"] for _, d in G.nodes(data=True)), default=0)
    widest = max(
        (sum(1 for _, d in G.nodes(data=True) if d["layer"] == i) for i in range(n_layers)),
        default=1,
    )
    width = min(max(5.0, 1.9 * n_layers), 50.0)
    height = min(max(2.2, 0.9 * widest + 1.2), 50.0)
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.set_axis_off()
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    dx = max(max(xs) - min(xs), 1e-9) / max(n_layers - 1, 1)
    dy = max(max(ys) - min(ys), 1e-9) / max(widest - 1, 1)
    ax.set_xlim(min(xs) - 0.6 * dx, max(xs) + 0.6 * dx)
    ax.set_ylim(min(ys) - 0.6 * dy, max(ys) + 0.6 * dy)
    boxes = {}
    for n, d in G.nodes(data=True):
        x, y = pos[n]
        box = "round,pad=0.35" if d["kind"] not in ("input", "output") else "round4,pad=0.35"
        t = ax.text(
            x,
            y,
            d["label"],
            ha="center",
            va="center",
            fontsize=7,
            family="monospace",
            bbox={"boxstyle": box, "fc": COLORS[d["kind"]], "ec": "#555555", "lw": 0.8},
            zorder=3,
        )
        boxes[n] = t.get_bbox_patch()
    # Arrows from box edge to box edge: matplotlib clips each one to the two text boxes.
    for u, v, d in G.edges(data=True):
        ax.annotate(
            "",
            xy=pos[v],
            xytext=pos[u],
            arrowprops={
                "arrowstyle": "-|>",
                "color": EDGE_COLORS[d["kind"]],
                "ls": "--" if d["kind"] == "uses" else "-",
                "lw": 0.9,
                "patchA": boxes[u],
                "patchB": boxes[v],
                "shrinkA": 1,
                "shrinkB": 1,
                "connectionstyle": "arc3,rad=0.06",
            },
            zorder=2,
        )
    kinds = {d["kind"] for _, d in G.nodes(data=True)}
    names = {
        "input": "input",
        "const": "constant",
        "forward": "forward pass",
        "backward": "backward pass",
        "output": "output",
    }
    handles: list[Any] = [
        Patch(facecolor=COLORS[k], edgecolor="#555555", label=names[k]) for k in names if k in kinds
    ]
    if g.has_backward:
        handles.append(
            Line2D([], [], color=EDGE_COLORS["uses"], ls="--", label="forward value used backward")
        )
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    if g.caption:
        ax.set_title(g.caption, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def draw(
    obj: Any,
    path: str | os.PathLike[str],
    max_nodes: int = 300,
    engine: str = "auto",
    dpi: int | None = None,
) -> str:
    """Draw an IR (or a :func:`funcgrad.explain` result) to ``path``; the format follows the
    suffix (.png, .svg, .pdf). ``engine``: ``"graphviz"`` (the ``dot`` program),
    ``"matplotlib"`` (networkx layered layout) or ``"auto"`` (dot when installed); ``dpi``
    sets the resolution of a .png. Returns the path as a string."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in _FORMATS:
        raise LocatedValueError(
            f"draw: cannot tell the format of {path!r}; use a .png, .svg or .pdf name"
        )
    g = _as_graph(obj, max_nodes)
    if _engine(engine) == "graphviz":
        with open(path, "wb") as f:
            f.write(_run_dot(g, fmt, [f"-Gdpi={int(dpi)}"] if dpi else []))
    else:
        _figure(g).savefig(path, format=fmt, dpi=dpi or 110)
    return path


def svg(obj: Any, max_nodes: int = 300, engine: str = "auto") -> str:
    """SVG text of the picture :func:`draw` would make (for notebooks)."""
    g = _as_graph(obj, max_nodes)
    if _engine(engine) == "graphviz":
        return _run_dot(g, "svg").decode()
    buf = io.StringIO()
    _figure(g).savefig(buf, format="svg")
    return buf.getvalue()
