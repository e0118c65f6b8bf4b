"""The IR: plain data describing a traced program.

An :class:`IR` is a list of :class:`Eqn` (primitive applied to input vars or literals, with
static params, producing output vars), plus the program's inputs, closed-over constants and
outputs. Every :class:`Var` carries a :class:`ShapedArray` (shape, dtype). ``str(ir)`` gives a
jaxpr-like listing::

    { lambda ; w:f64[3] x:f64[8,3] y:f64[8] .
        a:f64[8] = matmul x w
        b:f64[8] = sub a y
      return b }

All walks here are loops over the equation list: linear in the IR's size, no recursion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError
from funcgrad.core.ir_dot import graph_to_dot as _graph_to_dot
from funcgrad.core.ir_dot import ir_graph as _ir_graph

__all__ = ["ShapedArray", "Var", "Literal", "Eqn", "IR", "check_ir", "dtype_str"]


_DTYPE_SHORT = {
    "float64": "f64",
    "float32": "f32",
    "float16": "f16",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "bool",
    "complex128": "c128",
    "complex64": "c64",
}


def dtype_str(dtype: np.dtype) -> str:
    return _DTYPE_SHORT.get(np.dtype(dtype).name, np.dtype(dtype).name)


class ShapedArray:
    """Abstract value: a shape and a dtype. ``weak`` marks Python-scalar literals, which take
    the other operand's dtype under numpy's promotion rules (NEP 50)."""

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape: tuple[int, ...], dtype: Any, weak: bool = False) -> None:
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.weak = weak

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"{dtype_str(self.dtype)}[{','.join(map(str, self.shape))}]"

    def str_short(self) -> str:
        return repr(self)


class Var:
    """A typed variable. Identity is the variable: two Vars are equal only if they are the
    same object. ``hint`` is a user-facing name (an argument's name) when one is known."""

    __slots__ = ("aval", "hint")

    def __init__(self, aval: ShapedArray, hint: str | None = None) -> None:
        self.aval = aval
        self.hint = hint

    def __repr__(self) -> str:
        return f"Var({self.hint or hex(id(self))}:{self.aval})"


class Literal:
    """A constant scalar written inline in an equation (a Python or numpy scalar)."""

    __slots__ = ("val", "aval")

    def __init__(self, val: Any, aval: ShapedArray) -> None:
        self.val = val
        self.aval = aval

    def __repr__(self) -> str:
        return _fmt_literal(self.val)


def _fmt_literal(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        r = repr(float(v))
        return r if isinstance(v, float) else f"{r}:{dtype_str(np.asarray(v).dtype)}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(v)


class Eqn:
    """``outputs = prim[params](*inputs)``; ``src`` is the user's (file, line) that created it;
    ``phase`` is ``"backward"`` for equations emitted by reverse mode's backward pass, else None."""

    __slots__ = ("prim", "inputs", "params", "outputs", "src", "phase")

    def __init__(
        self,
        prim: Any,
        inputs: list[Var | Literal],
        params: dict[str, Any],
        outputs: list[Var],
        src: tuple[str, int] | None = None,
        phase: str | None = None,
    ) -> None:
        self.prim = prim
        self.inputs = inputs
        self.params = params
        self.outputs = outputs
        self.src = src
        self.phase = phase

    def __repr__(self) -> str:
        return f"Eqn({self.prim.name}, {len(self.inputs)} in, {len(self.outputs)} out)"


class IR:
    """A traced program: ``outvars = f(*constvars, *invars)`` as a list of equations.

    ``consts`` holds the values bound to ``constvars`` (closed-over arrays, or tracers of an
    enclosing transform when the IR was traced inside one).
    """

    __slots__ = ("constvars", "consts", "invars", "eqns", "outvars", "__weakref__")

    def __init__(
        self,
        constvars: list[Var],
        consts: list[Any],
        invars: list[Var],
        eqns: list[Eqn],
        outvars: list[Var | Literal],
    ) -> None:
        self.constvars = constvars
        self.consts = consts
        self.invars = invars
        self.eqns = eqns
        self.outvars = outvars

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return self.pretty()

    def __repr__(self) -> str:
        return self.pretty()

    def to_dot(self, max_nodes: int = 300, group_by: str = "line") -> str:
        """Graphviz DOT text of this IR: a left-to-right graph of inputs, equations (with
        output shapes) and outputs; backward-pass equations of a gradient's IR in another
        colour. Past ``max_nodes`` equations they are folded per source line (``group_by=
        "none"`` never folds). Needs numpy only; render it with ``dot`` or :meth:`draw`.

        >>> import funcgrad as fg
        >>> print(fg.make_ir(lambda x: x * 2.0)(1.0).to_dot().splitlines()[0])
        digraph IR {
        """
        return _graph_to_dot(_ir_graph(self, _Namer(self), max_nodes, group_by))

    def draw(
        self, path: str, max_nodes: int = 300, engine: str = "auto", dpi: int | None = None
    ) -> str:
        """Draw this IR to ``path`` (.png, .svg or .pdf); needs ``pip install 'funcgrad[viz]'``.
        Returns ``path``. See :func:`funcgrad.viz.draw`."""
        return load_viz().draw(self, path, max_nodes=max_nodes, engine=engine, dpi=dpi)

    def _repr_svg_(self) -> str | None:
        """Notebook display: an SVG picture when the [viz] extra is installed, else None
        (the notebook then shows the text listing)."""
        try:
            viz = load_viz()
        except ImportError:
            return None
        return viz.svg(self)

    def pretty(self, show_src: bool = False, indent: int = 0) -> str:
        """Readable listing. ``show_src=True`` appends each equation's source line."""
        names = _Namer(self)
        pad = " " * indent

        def decl(v: Var) -> str:
            return f"{names(v)}:{v.aval}"

        def use(x: Var | Literal) -> str:
            return repr(x) if isinstance(x, Literal) else names(x)

        lines = [
            pad
            + " ".join(["{ lambda", *(decl(v) for v in self.constvars), ";"])
            + "".join(" " + decl(v) for v in self.invars)
            + " ."
        ]
        for e in self.eqns:
            lhs = " ".join(decl(v) for v in e.outputs)
            rhs = e.prim.name + _fmt_params(e.params, indent + 4)
            args = " ".join(use(x) for x in e.inputs)
            line = f"{pad}    {lhs} = {rhs} {args}".rstrip()
            if show_src and e.src is not None:
                line += f"    # {e.src[0]}:{e.src[1]}"
            lines.append(line)
        outs = " ".join(use(x) for x in self.outvars)
        lines.append(f"{pad}  return {outs} }}" if outs else f"{pad}  return () }}")
        return "\n".join(lines)


# Pictures are drawn by funcgrad.viz: a higher layer, behind the optional [viz] extra. Core
# never imports upward; the top-level package puts a loader here (funcgrad/__init__.py).
_viz_loaders: list[Any] = []


def load_viz() -> Any:
    """The ``funcgrad.viz`` module, imported on first use. Raises ImportError naming
    ``pip install 'funcgrad[viz]'`` when the extra is missing."""
    if not _viz_loaders:
        raise ImportError("drawing needs funcgrad.viz: pip install 'funcgrad[viz]'")
    return _viz_loaders[0]()


def _fmt_params(params: dict[str, Any], indent: int) -> str:
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if isinstance(v, IR):
            parts.append(f"{k}=\n{v.pretty(indent=indent + 2)}\n{' ' * indent}")
        elif isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
            parts.append(f"{k}={dtype_str(np.dtype(v))}")
        else:
            parts.append(f"{k}={v!r}" if not callable(v) else f"{k}={getattr(v, '__name__', v)}")
    return "[" + ", ".join(parts) + "]"


def _letters(i: int) -> str:
    s = ""
    i += 1
    while i > 0:
        i, r = divmod(i - 1, 26)
        s = chr(97 + r) + s
    return s


class _Namer:
    """Assigns printable names: hints (argument names) for inputs, then a, b, c, ... ."""

    __slots__ = ("names", "used", "counter")

    def __init__(self, ir: IR) -> None:
        self.names: dict[Var, str] = {}
        self.used: set[str] = set()
        self.counter = 0
        for v in list(ir.constvars) + list(ir.invars):
            if v.hint and v.hint.isidentifier() and v.hint not in self.used:
                self.names[v] = v.hint
                self.used.add(v.hint)

    def __call__(self, v: Var) -> str:
        n = self.names.get(v)
        if n is None:
            while True:
                n = _letters(self.counter)
                self.counter += 1
                if n not in self.used:
                    break
            self.names[v] = n
            self.used.add(n)
        return n


def check_ir(ir: IR) -> None:
    """Type-check ``ir``: every var defined once before use, and each equation's output
    types equal its primitive's shape rule applied to its input types. Raises TypeError."""
    defined: set[Var] = set(ir.constvars) | set(ir.invars)
    if len(defined) != len(ir.constvars) + len(ir.invars):
        raise LocatedTypeError("check_ir: an input or constant variable appears twice")
    for i, e in enumerate(ir.eqns):
        for x in e.inputs:
            if type(x) is Var and x not in defined:
                raise LocatedTypeError(
                    f"check_ir: equation {i} ({e.prim.name}) uses an undefined var"
                )
        in_avals = [x.aval for x in e.inputs]
        out_avals = e.prim.abstract_eval(in_avals, e.params)
        if [a for a in out_avals] != [v.aval for v in e.outputs]:
            raise LocatedTypeError(
                f"check_ir: equation {i} ({e.prim.name}) declares outputs "
                f"{[v.aval for v in e.outputs]} but its rule gives {out_avals}"
            )
        for v in e.outputs:
            if v in defined:
                raise LocatedTypeError(f"check_ir: equation {i} ({e.prim.name}) redefines a var")
            defined.add(v)
    for x in ir.outvars:
        if type(x) is Var and x not in defined:
            raise LocatedTypeError("check_ir: an output var is never defined")


def avals_of(xs: Sequence[Var | Literal]) -> list[ShapedArray]:
    return [x.aval for x in xs]
