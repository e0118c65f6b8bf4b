"""Seeing what happens: IR graphs (to_dot, draw, notebook SVG), backward-pass tagging, and
folding of large IRs. Drawing needs the [viz] extra (networkx + matplotlib); DOT is parsed
back with pydot; the Graphviz engine is exercised when its `dot` program is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.core.ir import IR, Var

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAVE_DOT = shutil.which("dot") is not None


def loss(w: Any, x: Any, y: Any) -> Any:
    h = fnp.tanh(x @ w)
    return ((h - y) ** 2).mean()


def scan_loss(x: Any) -> Any:
    def step(c: Any, xi: Any) -> Any:
        return fnp.sin(c * xi), c

    c, ys = lax.scan(step, x, np.arange(3.0))
    return c + fnp.sum(ys)


W, X, Y = np.ones(3) * 0.1, np.arange(12.0).reshape(4, 3) / 10, np.ones(4)


def counts(ir: IR) -> tuple[int, int]:
    """Nodes and edges the graph of `ir` must have: one node per constant, input, equation
    and output; one edge per use of a variable (equation operand or output)."""
    nodes = len(ir.constvars) + len(ir.invars) + len(ir.eqns) + len(ir.outvars)
    edges = sum(type(x) is Var for e in ir.eqns for x in e.inputs)
    edges += sum(type(x) is Var for x in ir.outvars)
    return nodes, edges


def parse_dot(text: str) -> Any:
    pydot = pytest.importorskip("pydot")
    graphs = pydot.graph_from_dot_data(text)
    assert graphs and len(graphs) == 1
    return graphs[0]


def top_nodes(g: Any) -> list[Any]:
    # pydot lists the default `node [...]`/`edge [...]` statements as nodes named node/edge.
    return [n for n in g.get_nodes() if n.get_name() not in ("node", "edge", "graph")]


# --- tagging of backward equations -----------------------------------------------------------
def test_backward_equations_are_tagged_and_forward_ones_are_not() -> None:
    fwd = fg.make_ir(loss)(W, X, Y)
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    phases = [e.phase for e in ir.eqns]
    n_fwd = len(fwd.eqns)
    assert phases[:n_fwd] == [None] * n_fwd
    assert [e.prim.name for e in ir.eqns[:n_fwd]] == [e.prim.name for e in fwd.eqns]
    assert len(phases) > n_fwd and set(phases[n_fwd:]) == {"backward"}
    assert all(e.phase is None for e in fwd.eqns)


def test_vjp_and_jacrev_tag_their_backward_passes() -> None:
    f = lambda x: fnp.sin(x) * x
    ir = fg.make_ir(lambda x, ct: fg.vjp(f, x)[1](ct)[0])(np.ones(3), np.ones(3))
    assert [e.phase for e in ir.eqns[:2]] == [None, None]  # sin, mul
    assert len(ir.eqns) > 2 and {e.phase for e in ir.eqns[2:]} == {"backward"}
    ir = fg.make_ir(fg.jacrev(f))(np.ones(3))
    assert {e.phase for e in ir.eqns} == {None, "backward"}
    ir = fg.make_ir(lambda x: fg.jvp(f, (x,), (x,))[1])(np.ones(3))
    assert {e.phase for e in ir.eqns} == {None}  # forward mode has no backward pass


def test_tag_survives_jit_optimization_and_shows_in_source() -> None:
    lowered = fg.jit(fg.grad(loss)).lower(W, X, Y)
    assert any(e.phase == "backward" for e in lowered.ir.eqns)
    assert any(e.phase is None for e in lowered.ir.eqns)
    assert "(backward)" in lowered.source


def test_grad_of_grad_outer_backward_is_the_second_order_part() -> None:
    f = lambda x: fnp.sin(x) * x
    inner = fg.make_ir(fg.grad(f))(0.3)
    outer = fg.make_ir(fg.grad(fg.grad(f)))(0.3)
    # The outer forward pass replays the whole first-order gradient (forward + backward).
    assert [e.prim.name for e in outer.eqns[: len(inner.eqns)]] == [e.prim.name for e in inner.eqns]
    assert all(e.phase is None for e in outer.eqns[: len(inner.eqns)])
    assert {e.phase for e in outer.eqns[len(inner.eqns) :]} == {"backward"}
    np.testing.assert_allclose(
        fg.eval_ir(outer, 0.3), 2 * np.cos(0.3) - 0.3 * np.sin(0.3), rtol=1e-12
    )


# --- DOT -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: fg.make_ir(loss)(W, X, Y),
        lambda: fg.make_ir(fg.grad(loss))(W, X, Y),
        lambda: fg.make_ir(lambda x: (x, x * 2.0, 3.0))(1.0),  # literal and input as outputs
        lambda: fg.jit(fg.grad(loss)).lower(W, X, Y).ir,
        lambda: fg.make_ir(fg.grad(scan_loss))(0.5),  # scan: sub-IRs as params
    ],
)
def test_dot_parses_back_with_the_irs_node_and_edge_counts(make: Any) -> None:
    ir = make()
    g = parse_dot(ir.to_dot())
    nodes, edges = counts(ir)
    assert len(top_nodes(g)) == nodes
    assert len(g.get_edges()) == edges
    assert g.get_attributes().get("rankdir") == "LR" or "rankdir=LR" in ir.to_dot()


def test_dot_colours_backward_nodes_and_dashes_forward_values_they_use() -> None:
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    g = parse_dot(ir.to_dot())
    by_name = {n.get_name(): n for n in top_nodes(g)}
    bwd_ids = {f"e{i}" for i, e in enumerate(ir.eqns) if e.phase == "backward"}
    fwd_ids = {f"e{i}" for i, e in enumerate(ir.eqns) if e.phase is None}
    fill = lambda nid: by_name[nid].get("fillcolor").strip('"')
    assert {fill(n) for n in bwd_ids} == {"#fdd0a2"}
    assert {fill(n) for n in fwd_ids} == {"#c6dbef"}
    # Dashed edges: exactly the uses of forward values (inputs, constants, forward equations)
    # by backward equations.
    expected = 0
    producer_is_fwd = {v: True for v in ir.invars + ir.constvars}
    for e in ir.eqns:
        for x in e.inputs:
            if type(x) is Var and e.phase == "backward" and producer_is_fwd[x]:
                expected += 1
        for o in e.outputs:
            producer_is_fwd[o] = e.phase is None
    dashed = [ed for ed in g.get_edges() if ed.get("style") == "dashed"]
    assert expected > 0 and len(dashed) == expected
    assert all(ed.get_destination() in bwd_ids for ed in dashed)
    assert "backward pass" in ir.to_dot()  # the legend


def test_dot_of_forward_ir_has_no_legend_and_labels_shapes() -> None:
    text = fg.make_ir(loss)(W, X, Y).to_dot()
    assert "legend" not in text
    assert "matmul" in text and "f64[4]" in text and "f64[3]" in text


def test_large_ir_is_folded_by_source_line_and_says_so() -> None:
    def long(x: Any) -> Any:
        for _ in range(5000):
            x = x * 1.0001
            x = x + 0.5
        return x.sum()

    ir = fg.make_ir(long)(np.ones(2))
    assert len(ir.eqns) == 10001
    text = ir.to_dot()
    g = parse_dot(text)
    assert len(top_nodes(g)) == 1 + 3 + 1  # input, lines x*, x+ and .sum(), output
    assert "folded 10001 equations into 3 groups by source line" in text
    assert "5000 eqns: mul" in text and "5000 eqns: add" in text
    full = ir.to_dot(group_by="none")
    assert full.count("->") == counts(ir)[1]
    with pytest.raises(ValueError, match="group_by must be 'line' or 'none'"):
        ir.to_dot(group_by="file")


def test_folded_gradient_keeps_forward_and_backward_groups_apart() -> None:
    def long(x: Any) -> Any:
        for _ in range(200):
            x = fnp.sin(x)
        return x.sum()

    ir = fg.make_ir(fg.grad(long))(np.ones(2))
    g = parse_dot(ir.to_dot(max_nodes=50))
    fills = sorted(n.get("fillcolor").strip('"') for n in top_nodes(g) if n.get_name()[0] == "g")
    assert fills.count("#c6dbef") >= 1 and fills.count("#fdd0a2") >= 1


# --- drawing ---------------------------------------------------------------------------------
@pytest.fixture
def viz() -> Any:
    return pytest.importorskip("funcgrad.viz", reason="needs pip install 'funcgrad[viz]'")


def test_draw_png_and_svg_with_matplotlib(tmp_path: Any, viz: Any) -> None:
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    png = ir.draw(str(tmp_path / "g.png"), engine="matplotlib")
    assert open(png, "rb").read(8) == PNG_MAGIC
    svg = ir.draw(str(tmp_path / "g.svg"), engine="matplotlib")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = open(svg).read()
    assert "backward pass" in text  # the legend is drawn


def test_networkx_graph_matches_the_ir(viz: Any) -> None:
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    G = viz.to_networkx(ir)
    nodes, _ = counts(ir)
    assert G.number_of_nodes() == nodes
    kinds = [d["kind"] for _, d in G.nodes(data=True)]
    assert kinds.count("backward") == sum(e.phase == "backward" for e in ir.eqns)


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz dot is not installed")
def test_draw_with_graphviz(tmp_path: Any, viz: Any) -> None:
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    png = ir.draw(str(tmp_path / "g.png"), engine="graphviz", dpi=40)
    assert open(png, "rb").read(8) == PNG_MAGIC
    root = ET.fromstring(viz.svg(ir, engine="graphviz"))
    assert root.tag.endswith("svg")


def test_repr_svg_for_notebooks_is_valid_svg(viz: Any) -> None:
    out = fg.make_ir(loss)(W, X, Y)._repr_svg_()
    assert isinstance(out, str)
    assert ET.fromstring(out.encode()).tag.endswith("svg")
    out = fg.explain(loss)(W, X, Y)._repr_svg_()
    assert ET.fromstring(out.encode()).tag.endswith("svg")


def test_draw_of_a_huge_ir_is_quick_and_folded(tmp_path: Any, viz: Any) -> None:
    def long(x: Any) -> Any:
        for _ in range(5000):
            x = fnp.tanh(x) * 1.5
        return x.sum()

    ir = fg.make_ir(long)(np.ones(2))
    p = ir.draw(str(tmp_path / "big.png"), engine="matplotlib")
    assert open(p, "rb").read(8) == PNG_MAGIC


def test_draw_errors(tmp_path: Any, monkeypatch: Any, viz: Any) -> None:
    ir = fg.make_ir(loss)(W, X, Y)
    with pytest.raises(ValueError, match=r"use a \.png, \.svg or \.pdf name"):
        ir.draw(str(tmp_path / "g.jpeg"))
    with pytest.raises(ValueError, match="engine must be one of"):
        ir.draw(str(tmp_path / "g.png"), engine="tikz")
    with pytest.raises(TypeError, match="draws an IR"):
        viz.draw([1, 2], str(tmp_path / "g.png"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        ir.draw(str(tmp_path / "g.png"), engine="graphviz")


def test_missing_extra_names_the_install_command() -> None:
    code = (
        "import sys; sys.modules['networkx'] = None\n"
        "import funcgrad as fg\n"
        "ir = fg.make_ir(lambda x: x * 2.0)(1.0)\n"
        "assert ir._repr_svg_() is None\n"
        "assert ir.to_dot().startswith('digraph')\n"
        "try:\n"
        "    ir.draw('x.png')\n"
        "except ImportError as e:\n"
        "    print('ERR', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "ERR funcgrad.viz needs matplotlib and networkx" in out
    assert "pip install 'funcgrad[viz]'" in out
