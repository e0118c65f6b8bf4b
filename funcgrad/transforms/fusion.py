"""Fusion planning for ``jit``: group maximal runs of elementwise equations.

A *fused group* is a maximal run of consecutive equations whose primitives declare a scalar
expression (``Primitive.fuse``), that all produce the same shape, and whose values are of one
float dtype (or bool: comparisons, ``where`` conditions). Operands from outside the group may
have any shape that broadcasts to the group's (broadcasts sit at the group's edges: numpy
broadcasting, or ``np.broadcast_to`` views for compiled kernels). The code generator
(:mod:`funcgrad.transforms.codegen`) emits one kernel per group: numpy calls writing into
planned buffers (``out=``), one numexpr program per expression tree, or one numba loop.

This module reads primitive fields only (``fuse``, ``multiple_results``); it never tests a
primitive's name.

>>> import numpy as np
>>> import funcgrad as fg
>>> from funcgrad.transforms.fusion import plan
>>> ir = fg.make_ir(lambda x: np.tanh(np.sin(x) * 2.0 + 1.0).sum())(np.ones(3))
>>> [type(item).__name__ for item in plan(ir)]
['Group', 'int']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.ir import IR, Eqn, Var

__all__ = ["Group", "plan", "fusible", "MIN_GROUP"]

# Fewer equations than this gain nothing from fusing: they are emitted one by one.
MIN_GROUP = 2


class Group:
    """One fused group: ``eqns`` (consecutive in the IR, indices ``start`` .. ``stop - 1``),
    the external Vars it reads (``inputs``), the Vars it defines that are used after it or
    returned (``outputs``), the common ``shape`` and float ``dtype`` (``None`` if all bool)."""

    __slots__ = (
        "eqns",
        "start",
        "stop",
        "inputs",
        "outputs",
        "shape",
        "dtype",
        "reduction",
        "reduced_only",
    )

    def __init__(self, eqns: list[Eqn], start: int, shape: tuple[int, ...], dtype: Any) -> None:
        self.eqns = eqns
        self.start = start
        self.stop = start + len(eqns)
        self.shape = shape
        self.dtype = dtype
        self.inputs: list[Var] = []
        self.outputs: list[Var] = []
        # The equation right after the group when it reduces a group value over every axis
        # (its primitive declares ``fuse_reduce``): a compiled kernel may accumulate it in
        # the same loop. ``reduced_only``: that value is used by nothing else (a kernel that
        # fuses the reduction need not store it).
        self.reduction: Eqn | None = None
        self.reduced_only = False

    def __repr__(self) -> str:
        dt = self.dtype.name if self.dtype is not None else "bool"
        return (
            f"Group({len(self.eqns)} eqns, {dt}{list(self.shape)}, "
            f"{len(self.inputs)} in, {len(self.outputs)} out)"
        )


def fusible(e: Eqn) -> tuple[tuple[int, ...], Any] | None:
    """``(shape, float dtype or None)`` if ``e`` may join a fused group, else ``None``.

    Conditions: the primitive declares ``fuse``; one result, of at least one element and of
    a real float or bool dtype; every operand is a Var of that float dtype or bool (weakly
    typed Vars excluded: their dtype is resolved at run time) or a weakly typed numeric
    literal."""
    prim = e.prim
    if prim.fuse is None or prim.multiple_results or len(e.outputs) != 1:
        return None
    out = e.outputs[0].aval
    if not out.shape or 0 in out.shape or out.dtype.kind not in "fb":
        return None
    floats = {out.dtype} if out.dtype.kind == "f" else set()
    for x in e.inputs:
        a = x.aval
        if type(x) is Var:
            if a.weak or a.dtype.kind not in "fb" or 0 in a.shape:
                return None
            if a.dtype.kind == "f":
                floats.add(a.dtype)
        else:  # Literal
            if not a.weak or a.dtype.kind not in "fib":
                return None
            v = x.val
            if isinstance(v, float) and not np.isfinite(v):
                return None  # keeps kernel sources free of inf/nan spellings
    if len(floats) > 1:
        return None
    dt = next(iter(floats)) if floats else None
    if dt is not None and dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        return None  # float16 and longdouble: numpy only
    return out.shape, dt


def plan(ir: IR, min_group: int = MIN_GROUP) -> list[int | Group]:
    """The equations of ``ir`` in order, runs of fusible ones gathered into :class:`Group`
    objects (other equations appear as their index). One linear walk."""
    last_use: dict[Var, int] = {}
    n_uses: dict[Var, int] = {}
    for i, e in enumerate(ir.eqns):
        for x in e.inputs:
            if type(x) is Var:
                last_use[x] = i
                n_uses[x] = n_uses.get(x, 0) + 1
    returned = {x for x in ir.outvars if type(x) is Var}
    items: list[int | Group] = []
    run: list[int] = []
    run_shape: Any = None
    run_dtype: Any = None

    def flush(nxt: int | None = None) -> None:
        group = None
        if len(run) >= min_group:
            group = _make_group(ir, run, run_shape, run_dtype, last_use, returned)
            if nxt is not None:
                _attach_reduction(group, ir.eqns[nxt], n_uses, returned)
        if group is not None and group.outputs:
            items.append(group)
        else:
            items.extend(run)
        run.clear()

    for i, e in enumerate(ir.eqns):
        f = fusible(e)
        if f is not None and run:
            shape, dt = f
            if shape != run_shape or (dt is not None and run_dtype not in (None, dt)):
                flush()
        if f is None:
            flush(i)
            items.append(i)
            continue
        if not run:
            run_shape, run_dtype = f
        elif f[1] is not None:
            run_dtype = f[1]
        run.append(i)
    flush()
    return items


def _attach_reduction(g: Group, e: Eqn, n_uses: dict[Var, int], returned: set[Var]) -> None:
    """Record ``e`` as the group's final reduction when it reduces a group output of the
    group's float dtype to a scalar and its primitive declares ``fuse_reduce``."""
    if e.prim.fuse_reduce is None or e.prim.multiple_results or len(e.inputs) != 1:
        return
    x, out = e.inputs[0], e.outputs[0].aval
    if type(x) is not Var or x not in g.outputs or out.ndim != 0:
        return
    if g.dtype is None or x.aval.dtype != g.dtype or out.dtype != g.dtype:
        return
    g.reduction = e
    inside = sum(1 for q in g.eqns for y in q.inputs if y is x)
    g.reduced_only = x not in returned and n_uses.get(x, 0) - inside == 1


def _make_group(
    ir: IR,
    idx: list[int],
    shape: tuple[int, ...],
    dtype: Any,
    last_use: dict[Var, int],
    returned: set[Var],
) -> Group:
    g = Group([ir.eqns[i] for i in idx], idx[0], shape, dtype)
    defined: set[Var] = set()
    seen: set[Var] = set()
    for e in g.eqns:
        for x in e.inputs:
            if type(x) is Var and x not in defined and x not in seen:
                seen.add(x)
                g.inputs.append(x)
        defined.update(e.outputs)
    for e in g.eqns:
        for o in e.outputs:
            if o in returned or last_use.get(o, -1) >= g.stop:
                g.outputs.append(o)
    return g
