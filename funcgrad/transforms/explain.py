"""``explain``: one forward and backward run of a function, told equation by equation.

``explain(loss)(w, x, y)`` traces ``loss`` on concrete values (every intermediate is computed
once and kept), runs reverse mode's backward pass once from the seed ``dL/dL = 1`` recording the
cotangent that flows into each value, and returns an :class:`Explanation`: ``str()`` is a table
(forward pass in program order with values, backward pass in reverse order with cotangents,
then each argument's gradient); ``.draw(path)`` draws the IR with those numbers on its nodes.
"""

from __future__ import annotations

import functools
import linecache
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.errors import LocatedTypeError
from funcgrad.core.ir import IR, Eqn, Literal, Var, _fmt_params, _Namer, load_viz
from funcgrad.core.ir_dot import Graph, graph_to_dot, ir_graph
from funcgrad.core.pytree import tree_flatten, tree_paths, tree_unflatten
from funcgrad.core.tracer import Tracer
from funcgrad.core.tracing import _param_names, check_diff_leaf, trace_to_ir
from funcgrad.transforms.reverse import _argnums_tuple, backward_pass

__all__ = ["explain", "Explanation", "Step"]


class Step(NamedTuple):
    """One row of an explanation. ``phase``: ``"forward"`` (``value`` is the equation's
    output), ``"backward"`` (``value`` is the cotangent dL/d(output) that flowed back into it)
    or ``"gradient"`` (``value`` is dL/d(argument)). ``name`` is the IR variable's name."""

    phase: str
    name: str
    equation: str
    where: str
    source: str
    value: Any


def _num(x: Any, digits: int = 6) -> str:
    x = x.item() if hasattr(x, "item") else x
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, complex):
        return f"{x:.{digits}g}"
    r = f"{float(x):.{digits}g}"
    if r.lstrip("-").isdigit():
        r += ".0"
    return r


def summarize(v: Any, compact: bool = False) -> str:
    """A short text for a value: the number for a scalar, the entries of a small array,
    else dtype, shape and summary statistics (``compact``: mean and range, for pictures)."""
    a = np.asarray(v)
    if compact:
        if a.size <= 3:
            return ", ".join(_num(e, 4) for e in a.ravel()) if a.size else "[]"
        if a.dtype.kind not in "biuf":
            return ""
        af = a.astype(np.float64)
        return f"mean {_num(af.mean(), 3)} in [{_num(af.min(), 3)}, {_num(af.max(), 3)}]"
    if a.size == 1 and a.ndim == 0:
        return _num(a)
    if a.size <= 4:
        return (
            "["
            + ", ".join(_num(e) for e in a.ravel())
            + "]"
            + (f" (shape {a.shape})" if a.ndim > 1 else "")
        )
    head = f"{a.dtype.name}{list(a.shape)}"
    if a.dtype.kind not in "biuf":
        return head
    af = a.astype(np.float64)
    return (
        f"{head} mean={_num(af.mean(), 4)} std={_num(af.std(), 4)} "
        f"min={_num(af.min(), 4)} max={_num(af.max(), 4)}"
    )


def _where(src: tuple[str, int] | None) -> tuple[str, str]:
    if src is None:
        return "?", ""
    text = linecache.getline(src[0], src[1]).strip()
    if len(text) > 44:
        text = text[:41] + "..."
    return f"{os.path.basename(src[0])}:{src[1]}", text


class Explanation:
    """The account of one forward and backward run (what :func:`explain` returns).

    ``steps``: list of :class:`Step` in the order of the story; ``value``: the function's
    output; ``grads``: the gradient, shaped like ``grad(fun, argnums)``'s result; ``ir``: the
    traced forward IR.
    """

    def __init__(
        self,
        name: str,
        ir: IR,
        env: dict[Var, Any],
        cts: dict[Var, Any],
        steps: list[Step],
        value: Any,
        grads: Any,
    ) -> None:
        self.name = name
        self.ir = ir
        self._env = env
        self._cts = cts
        self.steps = steps
        self.value = value
        self.grads = grads

    def __str__(self) -> str:
        rows: dict[str, list[Step]] = {"forward": [], "backward": [], "gradient": []}
        for s in self.steps:
            rows[s.phase].append(s)
        w_where = max((len(s.where) for s in self.steps), default=4)
        w_src = max((len(s.source) for s in self.steps), default=4)
        w_eq = max((len(s.equation) for s in self.steps), default=4)
        out = [f"explain({self.name}): {len(self.ir.eqns)} equations"]

        def table(title: str, steps: list[Step], head: str, fmt: Callable[[Step], str]) -> None:
            out.append("")
            out.append(title)
            out.append(f"  {'line':<{w_where}}  {'source':<{w_src}}  {'equation':<{w_eq}}  {head}")
            for s in steps:
                out.append(
                    f"  {s.where:<{w_where}}  {s.source:<{w_src}}  {s.equation:<{w_eq}}  " + fmt(s)
                )

        table(
            "Forward pass (program order): each equation's value",
            rows["forward"],
            "value",
            lambda s: summarize(s.value),
        )
        table(
            "Backward pass (reverse order): the cotangent dL/d(value) that flowed back into it",
            rows["backward"],
            "cotangent",
            lambda s: f"dL/d{s.name} = {summarize(s.value)}",
        )
        skipped = sum(1 for s in rows["forward"]) - len(rows["backward"])
        if skipped:
            out.append(
                f"  ({skipped} equation(s) received no cotangent: L does not depend on them)"
            )
        out.append("")
        out.append(f"Gradients (loss L = {summarize(self.value)})")
        for s in rows["gradient"]:
            out.append(f"  dL/d{s.name} = {summarize(s.value)}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def graph(self, max_nodes: int = 300) -> Graph:
        """The IR's graph with each node's value and cotangent written on it."""
        env, cts = self._env, self._cts

        def note(v: Var) -> str | None:
            lines = []
            if v in env and not isinstance(env[v], Tracer):
                lines.append("= " + summarize(env[v], compact=True))
            if v in cts:
                lines.append("dL/d = " + summarize(cts[v], compact=True))
            return "\n".join(lines) or None

        return ir_graph(
            self.ir,
            _Namer(self.ir),
            max_nodes=max_nodes,
            notes=note,
            title=f"explain({self.name}): values (=) and cotangents (dL/d)",
        )

    def to_dot(self, max_nodes: int = 300) -> str:
        """Graphviz DOT text of :meth:`graph`."""
        return graph_to_dot(self.graph(max_nodes))

    def _repr_svg_(self) -> str | None:
        """Notebook display: the picture with values (None without the [viz] extra)."""
        try:
            viz = load_viz()
        except ImportError:
            return None
        return viz.svg(self)

    def draw(
        self, path: str, max_nodes: int = 300, engine: str = "auto", dpi: int | None = None
    ) -> str:
        """Draw the graph with values and cotangents to ``path`` (.png/.svg/.pdf); needs
        ``pip install 'funcgrad[viz]'``."""
        return load_viz().draw(self, path, max_nodes=max_nodes, engine=engine, dpi=dpi)


def _eqn_text(e: Eqn, names: _Namer) -> str:
    lhs = " ".join(names(o) for o in e.outputs)
    params = (
        _fmt_params(e.params, 0) if not any(isinstance(v, IR) for v in e.params.values()) else ""
    )
    args = " ".join(repr(x) if isinstance(x, Literal) else names(x) for x in e.inputs)
    return f"{lhs} = {e.prim.name}{params} {args}".rstrip()


def explain(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., Explanation]:
    """Run ``fun`` forward and backward once and tell what happened, equation by equation.

    ``explain(fun, argnums)(*args)`` returns an :class:`Explanation`: ``print`` it for the
    table (user source line, value of each equation, the cotangent that flowed back into it,
    each argument's gradient), ``.draw(path)`` for a picture. ``fun`` must return a float
    scalar, as for :func:`funcgrad.grad`; the arguments must be concrete (not traced).

    >>> import funcgrad as fg
    >>> def loss(w, x, y):
    ...     prediction = w * x
    ...     return (prediction - y) ** 2
    >>> ex = fg.explain(loss)(1.0, 2.0, 4.0)
    >>> [(s.phase, s.name, float(s.value)) for s in ex.steps]  # doctest: +NORMALIZE_WHITESPACE
    [('forward', 'a', 2.0), ('forward', 'b', -2.0), ('forward', 'c', 4.0),
     ('backward', 'c', 1.0), ('backward', 'b', -4.0), ('backward', 'a', -4.0),
     ('gradient', 'w', -8.0)]
    """
    if not callable(fun):
        raise LocatedTypeError(f"explain expects a callable, got {type(fun).__name__}")
    fname = getattr(fun, "__name__", "f")

    @functools.wraps(fun)
    def run(*args: Any, **kwargs: Any) -> Explanation:
        nums = _argnums_tuple(argnums, len(args), "explain")
        for a in tree_flatten((args, kwargs))[0]:
            if type(a) is Tracer:
                raise LocatedTypeError(
                    "explain runs the function on concrete values and cannot be used inside "
                    "jit, grad, vmap or another transform; call it on numpy arrays/floats"
                )

        def partial(*diff: Any) -> Any:
            full = list(args)
            for i, d in zip(nums, diff):
                full[i] = d
            return fun(*full, **kwargs)

        diff_args = tuple(args[i] for i in nums)
        leaves, in_tree = tree_flatten(diff_args)
        pnames = _param_names(fun, len(args))
        hints = []
        for i in nums:
            base = pnames[i] if i < len(pnames) else f"arg{i}"
            hints += [base if p == "<root>" else base + p for p in tree_paths(args[i])]
        leaves = [check_diff_leaf(x, hints[j], "explain") for j, x in enumerate(leaves)]
        ir, _, trace = trace_to_ir(partial, leaves, in_tree, "explain", True, hints)
        # Name the constants that are the caller's other arguments (x, y) after them.
        arg_names = {}
        for i, a in enumerate(args):
            if i not in nums:
                base = pnames[i] if i < len(pnames) else f"arg{i}"
                for p, leaf in zip(tree_paths(a), tree_flatten(a)[0]):
                    arg_names[id(leaf)] = base if p == "<root>" else base + p
        for v, c in zip(ir.constvars, ir.consts):
            name = arg_names.get(id(c))
            if name is not None and v.hint is None:
                v.hint = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
        if len(ir.outvars) != 1 or ir.outvars[0].aval.shape != ():
            shapes = ", ".join(str(v.aval) for v in ir.outvars) or "nothing"
            raise LocatedTypeError(
                f"explain requires a function with a scalar output (shape ()), but it returned "
                f"{shapes}. Reduce the output (e.g. .sum() or .mean())."
            )
        out_aval = ir.outvars[0].aval
        if out_aval.dtype.kind != "f":
            raise LocatedTypeError(
                f"explain requires a real floating-point output, but the function returned "
                f"dtype {out_aval.dtype}; compute the loss in floats"
            )
        env = trace.env
        assert env is not None
        out = ir.outvars[0]
        value = env[out] if type(out) is Var else out.val
        record: dict[Var, Any] = {}
        seed = np.ones((), out_aval.dtype)
        gs = backward_pass(ir, env, [seed], ir.invars, record=record)
        gs = [
            np.zeros(v.aval.shape, v.aval.dtype) if g is None else g for g, v in zip(gs, ir.invars)
        ]
        for v, g in zip(ir.invars, gs):
            record.setdefault(v, g)

        names = _Namer(ir)
        steps: list[Step] = []
        texts = {}
        for e in ir.eqns:
            where, src = _where(e.src)
            texts[e] = (_eqn_text(e, names), where, src)
            for o in e.outputs:
                steps.append(Step("forward", names(o), texts[e][0], where, src, env[o]))
        for e in reversed(ir.eqns):
            for o in e.outputs:
                if o in record:
                    eq, where, src = texts[e]
                    steps.append(Step("backward", names(o), eq, where, src, record[o]))
        for v, g in zip(ir.invars, gs):
            steps.append(Step("gradient", names(v), "", "", "", g))
        grads = tree_unflatten(in_tree, [np.asarray(g)[()] if np.ndim(g) == 0 else g for g in gs])
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        return Explanation(fname, ir, env, record, steps, value, grads)

    return run
