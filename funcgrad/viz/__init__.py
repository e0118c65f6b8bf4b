"""Pictures of IRs and of a gradient's flow (optional extra: ``pip install 'funcgrad[viz]'``).

``draw(ir, "graph.png")`` renders an IR left to right: inputs, equations with their output
shapes, outputs; for the IR of a ``grad`` / ``vjp`` the backward pass in another colour, with
dashed arrows from each forward value the backward pass uses. It uses Graphviz's ``dot`` program
when it is installed (``apt-get install graphviz``), else networkx's layered layout drawn with
matplotlib. ``svg(ir)`` returns SVG text (what notebooks show). ``ir.to_dot()`` needs no extra.

>>> import funcgrad as fg
>>> from funcgrad import viz
>>> ir = fg.make_ir(fg.grad(lambda w: (w * 2.0 - 4.0) ** 2))(1.0)
>>> viz.to_networkx(ir).number_of_nodes()  # 1 input, 6 equations, 1 output
8
"""

from funcgrad.viz._draw import draw, svg, to_networkx

__all__ = ["draw", "svg", "to_networkx"]
