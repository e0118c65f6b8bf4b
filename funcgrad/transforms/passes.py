"""IR optimization passes used by ``jit``. Each is a function IR → IR (a new IR; the input is
left untouched), one linear walk over the equations, no recursion:

* :func:`simplify` — algebraic identities declared by each primitive (``prim.simplify``):
  x·1, x+0, double transposes, reshape chains, broadcast-then-reduce pairs, ...
* :func:`fold_constants` — equations whose inputs are all known constants run at compile time.
* :func:`cse` — common-subexpression elimination.
* :func:`dce` — dead-code elimination.

:func:`optimize` runs them in that order. Buffer planning is part of code generation
(:mod:`funcgrad.transforms.codegen`), since it is about how equations are written, not which.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.ir import IR, Eqn, Var
from funcgrad.core.tracer import Tracer
from funcgrad.primitives.base import MAX_FOLDED_SIZE

__all__ = ["dce", "cse", "fold_constants", "simplify", "optimize"]


def _sub(x: Any, rename: dict[Var, Any]) -> Any:
    if type(x) is Var:
        return rename.get(x, x)
    return x


def dce(ir: IR) -> IR:
    """Drop equations whose outputs are never used (primitives are pure)."""
    live: set[Var] = {x for x in ir.outvars if type(x) is Var}
    kept: list[Eqn] = []
    for e in reversed(ir.eqns):
        if not e.prim.pure or any(o in live for o in e.outputs):
            kept.append(e)
            for x in e.inputs:
                if type(x) is Var:
                    live.add(x)
    kept.reverse()
    constvars = [v for v in ir.constvars if v in live]
    consts = [c for v, c in zip(ir.constvars, ir.consts) if v in live]
    return IR(constvars, consts, ir.invars, kept, ir.outvars)


def operand_key(x: Any) -> Any:
    if type(x) is Var:
        return x
    v = x.val
    # repr keeps 0.0 and -0.0 apart (they compare equal but are different constants)
    return ("lit", type(v), v.dtype.str if isinstance(v, np.generic) else None, repr(v))


def params_key(params: dict[str, Any]) -> Any:
    try:
        key = tuple(sorted(params.items()))
        hash(key)
        return key
    except TypeError:
        return None


def cse(ir: IR) -> IR:
    """Reuse the result of an identical earlier equation (same primitive, inputs, params)."""
    rename: dict[Var, Any] = {}
    seen: dict[Any, list[Var]] = {}
    eqns: list[Eqn] = []
    for e in ir.eqns:
        inputs = [_sub(x, rename) for x in e.inputs]
        pk = params_key(e.params) if e.prim.pure else None
        if pk is not None:
            key = (e.prim, tuple(operand_key(x) for x in inputs), pk)
            prev = seen.get(key)
            if prev is not None:
                for o, p in zip(e.outputs, prev):
                    rename[o] = p
                continue
            seen[key] = e.outputs
        eqns.append(Eqn(e.prim, inputs, e.params, e.outputs, e.src, e.phase))
    outvars = [_sub(x, rename) for x in ir.outvars]
    return IR(ir.constvars, ir.consts, ir.invars, eqns, outvars)


def fold_constants(ir: IR) -> IR:
    """Evaluate equations whose inputs are all constants or literals (small results only)."""
    known: dict[Var, Any] = {v: c for v, c in zip(ir.constvars, ir.consts) if not _is_tracer(c)}
    new_constvars = list(ir.constvars)
    new_consts = list(ir.consts)
    eqns: list[Eqn] = []
    for e in ir.eqns:
        if (
            e.prim.pure
            and e.inputs
            and all(type(x) is not Var or x in known for x in e.inputs)
            and all(o.aval.size <= MAX_FOLDED_SIZE for o in e.outputs)
        ):
            vals = [known[x] if type(x) is Var else x.val for x in e.inputs]
            with np.errstate(all="ignore"):
                out = e.prim.impl(*vals, **e.params)
            outs = list(out) if e.prim.multiple_results else [out]
            for o, val in zip(e.outputs, outs):
                val = np.array(val, dtype=o.aval.dtype)  # owned, writeable, exact dtype
                known[o] = val
                new_constvars.append(o)
                new_consts.append(val)
            continue
        eqns.append(e)
    return IR(new_constvars, new_consts, ir.invars, eqns, ir.outvars)


def _is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def simplify(ir: IR) -> IR:
    """Apply each primitive's algebraic identities (``prim.simplify``).

    A rule gets ``(eqn, producer)`` (producer: var -> the equation defining it, or absent for
    inputs) and returns ``None`` (keep), an operand (the output equals it), or a replacement
    ``(prim, inputs, params)`` — which may be simplified again.
    """
    rename: dict[Var, Any] = {}
    producer: dict[Var, Eqn] = {}
    eqns: list[Eqn] = []
    const_vals = {v: c for v, c in zip(ir.constvars, ir.consts) if not _is_tracer(c)}
    for e in ir.eqns:
        e = Eqn(e.prim, [_sub(x, rename) for x in e.inputs], e.params, e.outputs, e.src, e.phase)
        for _ in range(4):  # a replacement may simplify further; bounded
            rule = getattr(e.prim, "simplify", None)
            if rule is None or e.prim.multiple_results:
                break
            r = rule(e, producer, const_vals)
            if r is None:
                break
            if isinstance(r, tuple):
                prim, inputs, params = r
                e = Eqn(prim, inputs, params, e.outputs, e.src, e.phase)
                continue
            rename[e.outputs[0]] = r
            e = None  # type: ignore[assignment]
            break
        if e is None:
            continue
        for o in e.outputs:
            producer[o] = e
        eqns.append(e)
    outvars = [_sub(x, rename) for x in ir.outvars]
    return IR(ir.constvars, ir.consts, ir.invars, eqns, outvars)


def optimize(ir: IR) -> IR:
    """The jit pipeline: simplify, fold constants, CSE, DCE — each one linear pass."""
    return dce(cse(fold_constants(simplify(ir))))
