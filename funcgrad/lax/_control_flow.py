"""Implementation of :mod:`funcgrad.lax`; the public names are gathered there."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, ShapedArray
from funcgrad.core.pytree import PyTreeDef, tree_flatten, tree_paths, tree_unflatten
from funcgrad.core.tracer import Tracer, aval_of, bind
from funcgrad.core.tracing import as_array_leaf, to_user, trace_to_ir
from funcgrad.primitives import elementwise as ew
from funcgrad.transforms.control_flow import (
    closure_convert,
    cond_p,
    cond_params,
    dce,
    fix_weak_literal_outs,
    join_consts,
    scan_p,
    while_p,
)

__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan"]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _check_callable(name: str, what: str, f: Any) -> None:
    if not callable(f):
        raise LocatedTypeError(
            f"{name}: {what} must be callable, got {type(f).__name__} ({f!r:.60})"
        )


def _leaves(tree: Any, name: str, what: str) -> tuple[list[Any], PyTreeDef]:
    leaves, treedef = tree_flatten(tree)
    paths = tree_paths(tree)
    out = []
    for x, p in zip(leaves, paths):
        x = as_array_leaf(x, f"{name}: {what}{'' if p == '<root>' else p}")
        if type(x) is np.ndarray and x.ndim == 0:
            x = x[()]  # a numpy scalar: inlined as a literal in IRs
        out.append(x)
    return out, treedef


def _weak_avals(tree: Any, leaves: Sequence[Any]) -> list[ShapedArray]:
    """Abstract values of a loop's initial carry; Python scalars are weakly typed, as in JAX."""
    return [
        ShapedArray(np.shape(x), np.result_type(x), weak=True)
        if isinstance(p, (int, float, complex)) and not isinstance(p, (bool, np.generic))
        else aval_of(x)
        for p, x in zip(tree_flatten(tree)[0], leaves)
    ]


def _promote_weak_carry(
    leaves: list[Any], avals: list[ShapedArray], out_avals: Sequence[ShapedArray]
) -> bool:
    """JAX's rule for loop carries: a weakly typed initial value (a Python scalar) takes the
    dtype the body gives it (``scan(lambda c, x: (c + x, c), 0.0, xs_f32)`` carries float32).
    Updates ``leaves`` and ``avals`` in place; True if anything changed (trace again)."""
    changed = False
    for i, (a, o) in enumerate(zip(avals, out_avals)):
        if a.weak and o.shape == a.shape and o.dtype != a.dtype:
            dtype = np.result_type(np.asarray(leaves[i]).item(), o.dtype)  # NEP 50, as JAX
            leaves[i] = np.asarray(leaves[i], dtype)[()]
            avals[i] = ShapedArray(a.shape, dtype, weak=o.weak)
            changed = True
    return changed


def _user(outs: Sequence[Any], avals: Sequence[ShapedArray]) -> list[Any]:
    return [to_user(o, a) for o, a in zip(outs, avals)]


def _scalar(x: Any, name: str, what: str) -> Any:
    if not (type(x) is Tracer or isinstance(x, (np.ndarray, np.generic))):
        arr = np.asarray(x) if isinstance(x, (bool, int, float, list, tuple)) else None
        if arr is None or arr.dtype == object:
            raise LocatedTypeError(f"{name}: {what} must be a scalar, got a {type(x).__name__}")
        x = arr
    if tuple(x.shape) != ():
        raise LocatedTypeError(
            f"{name}: {what} must be a scalar (shape ()), got an array of shape "
            f"{tuple(x.shape)}; reduce it (e.g. .any() or .all()), or use fnp.where for an "
            "elementwise choice (under vmap, pass the per-example scalar)"
        )
    return x


def _path_name(base: str, path: str) -> str:
    return base if path == "<root>" else base + path


def _type_mismatch(
    name: str,
    what: str,
    paths: Sequence[str],
    a_avals: Sequence[ShapedArray],
    b_avals: Sequence[ShapedArray],
    a_name: str,
    b_name: str,
    hint: str,
) -> None:
    for p, a, b in zip(paths, a_avals, b_avals):
        if a != b:
            change = "dtype" if a.shape == b.shape else "shape"
            raise LocatedTypeError(
                f"{name}: {_path_name(what, p)} has type {a} in {a_name} but {b} in {b_name}; "
                f"the {change} differs. {hint}"
            )


# ---------------------------------------------------------------------------------------------
# cond / switch
# ---------------------------------------------------------------------------------------------
def cond(
    pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any
) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one primitive.

    ``pred`` is a scalar bool (numbers are compared with 0). Both branches are traced and must
    return the same pytree structure, shapes and dtypes. Under ``vmap`` with a batched ``pred``
    both branches are evaluated and the results selected per example.

    >>> import numpy as np
    >>> from funcgrad import lax
    >>> lax.cond(True, lambda x: x + 1.0, lambda x: x - 1.0, np.array([1.0, 2.0]))
    Array([2., 3.])
    """
    _check_callable("lax.cond", "true_fun", true_fun)
    _check_callable("lax.cond", "false_fun", false_fun)
    pred = _scalar(pred, "lax.cond", "pred")
    kind = pred.dtype.kind
    if kind != "b":
        if kind not in "iuf":
            raise LocatedTypeError(
                f"lax.cond: pred must be a bool or a number, got dtype {pred.dtype}"
            )
        pred = bind(ew.ne_p, pred, 0)
    index = ew.convert_element_type(pred, np.int32)
    return _switch(
        "lax.cond", index, [false_fun, true_fun], ["false_fun", "true_fun"], operands, ref=1
    )


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[index](*operands)``, with ``index`` clamped to ``[0, len(branches) - 1]``.

    All branches are traced and must return the same pytree structure, shapes and dtypes.

    >>> import numpy as np
    >>> from funcgrad import lax
    >>> fs = [lambda x: x, lambda x: x * 10.0, lambda x: -x]
    >>> lax.switch(1, fs, np.float64(2.0))
    np.float64(20.0)
    """
    try:
        branches = list(branches)
    except TypeError:
        raise LocatedTypeError(
            f"lax.switch: branches must be a sequence of callables, got {type(branches).__name__}"
        ) from None
    if not branches:
        raise LocatedValueError("lax.switch: branches must contain at least one function")
    for i, b in enumerate(branches):
        _check_callable("lax.switch", f"branches[{i}]", b)
    index = _scalar(index, "lax.switch", "index")
    if index.dtype.kind == "b":
        index = ew.convert_element_type(index, np.int32)
    elif index.dtype.kind not in "iu":
        raise LocatedTypeError(
            f"lax.switch: index must be an integer scalar, got dtype {index.dtype}; convert it "
            "with .astype(int)"
        )
    if len(branches) == 1:
        return branches[0](*operands)
    names = [f"branches[{i}]" for i in range(len(branches))]
    return _switch("lax.switch", index, branches, names, operands)


def _switch(
    name: str,
    index: Any,
    funs: Sequence[Callable[..., Any]],
    names: Sequence[str],
    operands: tuple[Any, ...],
    ref: int = 0,
) -> Any:
    """Trace every branch, check they agree (messages compare with branch ``ref``), bind."""
    leaves, in_tree = _leaves(tuple(operands), name, "operand")
    avals = [aval_of(x) for x in leaves]
    traced: list[tuple[IR, PyTreeDef]] = []
    for f in funs:
        ir, out_tree, _ = trace_to_ir(f, avals, in_tree, name, abstract=True)
        traced.append((ir, out_tree))
    others = [i for i in range(len(funs)) if i != ref]
    tree0 = traced[ref][1]
    for i in others:
        t = traced[i][1]
        if t != tree0:
            raise LocatedTypeError(
                f"{name}: {names[ref]} and {names[i]} must return the same tree structure, but "
                f"{names[ref]} returned {tree0} and {names[i]} returned {t}"
            )
    # Weakly typed literal outputs (`lambda x: 0.0`) adopt the other branches' dtype.
    n_out = len(traced[0][0].outvars)
    targets: list[ShapedArray | None] = []
    for j in range(n_out):
        strong = [ir.outvars[j].aval for ir, _ in traced if not ir.outvars[j].aval.weak]
        targets.append(strong[0] if strong else None)
    for ir, _ in traced:
        fix_weak_literal_outs(ir, targets)
    out_paths = tree_paths(tree_unflatten(tree0, [0] * tree0.num_leaves))
    ir0 = traced[ref][0]
    for i in others:
        _type_mismatch(
            name,
            "output",
            out_paths,
            ir0.out_avals,
            traced[i][0].out_avals,
            names[ref],
            names[i],
            "Every branch must return the same types: cast with .astype(...) so they agree.",
        )
    closed = [closure_convert(ir) for ir, _ in traced]
    branches, consts = join_consts([(dce(ir), cs) for ir, cs in closed])
    outs = bind(cond_p, index, *consts, *leaves, **cond_params(branches))
    return tree_unflatten(tree0, _user(outs, branches[0].out_avals))


# ---------------------------------------------------------------------------------------------
# scan
# ---------------------------------------------------------------------------------------------
def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any,
    length: int | None = None,
    reverse: bool = False,
    unroll: int = 1,
) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns the final
    carry and the ``y``\\ s stacked along a new leading axis.

    ``init``/``xs``/carry/``y`` are pytrees. ``xs`` may be ``None`` (then give ``length``).
    ``reverse=True`` scans from the end (``ys`` keep ``xs``' order). The carry returned by
    ``f`` must have exactly the type of ``init`` (same structure, shapes and dtypes).
    ``unroll`` is accepted for JAX compatibility and ignored. Semantically::

        def scan(f, init, xs, length=None):
            carry, ys = init, []
            for x in xs:
                carry, y = f(carry, x)
                ys.append(y)
            return carry, np.stack(ys)

    >>> import numpy as np
    >>> from funcgrad import lax
    >>> lax.scan(lambda c, x: (c + x, c * x), 0.0, np.array([1.0, 2.0, 3.0]))
    (np.float64(6.0), Array([0., 2., 9.]))
    """
    del unroll
    return _scan("lax.scan", "f", f, init, xs, length, reverse)


def _scan(
    name: str,
    fname: str,
    f: Callable[..., Any],
    init: Any,
    xs: Any,
    length: int | None,
    reverse: bool,
    init_name: str = "init",
) -> tuple[Any, Any]:
    _check_callable(name, fname, f)
    init_leaves, init_tree = _leaves(init, name, "init")
    xs_leaves, xs_tree = _leaves(xs, name, "xs")
    xs_paths = tree_paths(xs)
    lengths = []
    for x, p in zip(xs_leaves, xs_paths):
        shape = tuple(np.shape(x)) if type(x) is not Tracer else x.shape
        if not shape:
            raise LocatedValueError(
                f"{name}: {_path_name('xs', p)} is a scalar; every leaf of xs needs a leading "
                "axis to scan over"
            )
        lengths.append(shape[0])
    if len(set(lengths)) > 1:
        shown = ", ".join(f"{_path_name('xs', p)}: {n}" for p, n in zip(xs_paths, lengths))
        raise LocatedValueError(
            f"{name}: the leaves of xs have different leading axis lengths ({shown}); they "
            "must all have the same length"
        )
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise LocatedTypeError(
                f"{name}: length must be a Python int, got {type(length).__name__}"
            ) from None
        if length < 0:
            raise LocatedValueError(f"{name}: length must be >= 0, got {length}")
    n = lengths[0] if lengths else length
    if n is None:
        raise LocatedValueError(f"{name}: give length=... when xs is None (or has no array leaves)")
    if length is not None and length != n:
        raise LocatedValueError(f"{name}: length={length} but xs has leading axis length {n}")
    carry_avals = _weak_avals(init, init_leaves)
    x_avals = [ShapedArray(a.shape[1:], a.dtype) for a in map(aval_of, xs_leaves)]
    in_tree = tree_flatten((init, xs))[1]

    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise LocatedTypeError(
                f"{name}: {fname} must return a pair (carry, y), got "
                f"{type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            )
        return tuple(out)

    ir, out_tree, _ = trace_to_ir(body, carry_avals + x_avals, in_tree, name, abstract=True)
    c = len(init_leaves)
    if _promote_weak_carry(init_leaves, carry_avals, ir.out_avals[:c]):
        ir, out_tree, _ = trace_to_ir(body, carry_avals + x_avals, in_tree, name, abstract=True)
    carry_tree, y_tree = out_tree.children
    if carry_tree != init_tree:
        raise LocatedTypeError(
            f"{name}: {fname} must return a carry with the same tree structure as {init_name}, "
            f"but {init_name} is {init_tree} and {fname} returned {carry_tree}"
        )
    fix_weak_literal_outs(ir, carry_avals)
    _type_mismatch(
        name,
        "carry",
        tree_paths(init),
        carry_avals,
        ir.out_avals[:c],
        init_name,
        f"{fname}'s carry output",
        f"The carry must keep its type across iterations: cast {fname}'s result (e.g. "
        ".astype(...)) or give init the type the body produces.",
    )
    ir, consts = closure_convert(ir)
    outs = bind(
        scan_p,
        *consts,
        *init_leaves,
        *xs_leaves,
        body=dce(ir),
        length=n,
        reverse=bool(reverse),
        num_consts=len(consts),
        num_carry=c,
    )
    out_avals = carry_avals + [ShapedArray((n,) + a.shape, a.dtype) for a in ir.out_avals[c:]]
    outs = _user(outs, out_avals)
    return tree_unflatten(init_tree, outs[:c]), tree_unflatten(y_tree, outs[c:])


# ---------------------------------------------------------------------------------------------
# while_loop / fori_loop
# ---------------------------------------------------------------------------------------------
def while_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any
) -> Any:
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``; returns the final ``val``.

    ``cond_fun`` must return a scalar bool; ``body_fun`` must return a value of exactly the type
    of ``init_val`` (pytree structure, shapes, dtypes). Differentiable in forward mode only
    (``jvp``, ``jacfwd``); for reverse mode use :func:`scan` or :func:`fori_loop` with static
    bounds.

    >>> from funcgrad import lax
    >>> lax.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, 1.0)
    np.float64(243.0)
    """
    return _while("lax.while_loop", "cond_fun", "body_fun", cond_fun, body_fun, init_val)


def _while(
    name: str,
    cname: str,
    bname: str,
    cond_fun: Callable[..., Any],
    body_fun: Callable[..., Any],
    init_val: Any,
) -> Any:
    _check_callable(name, cname, cond_fun)
    _check_callable(name, bname, body_fun)
    leaves, tree = _leaves(init_val, name, "init_val")
    avals = _weak_avals(init_val, leaves)
    in_tree = tree_flatten((init_val,))[1]

    def cond_wrapped(val: Any) -> Any:
        out = cond_fun(val)
        out_leaves = tree_flatten(out)[0]
        if len(out_leaves) != 1:
            raise LocatedTypeError(
                f"{name}: {cname} must return a scalar bool, got {type(out).__name__} with "
                f"{len(out_leaves)} leaves"
            )
        p = out_leaves[0]
        a = (
            aval_of(p)
            if type(p) is Tracer or isinstance(p, (np.ndarray, np.generic, bool, int, float))
            else None
        )
        if a is None or a.shape != ():
            raise LocatedTypeError(
                f"{name}: {cname} must return a scalar bool, got "
                + (f"type {a}" if a is not None else type(p).__name__)
            )
        if a.dtype.kind != "b":
            if a.dtype.kind not in "iuf":
                raise LocatedTypeError(
                    f"{name}: {cname} must return a scalar bool, got dtype {a.dtype}"
                )
            p = bind(ew.ne_p, p, 0)
        return p

    cir, _, _ = trace_to_ir(cond_wrapped, avals, in_tree, name, abstract=True)
    fix_weak_literal_outs(cir, [ShapedArray((), np.bool_)])
    bir, btree, _ = trace_to_ir(body_fun, avals, in_tree, name, abstract=True)
    if btree == tree and _promote_weak_carry(leaves, avals, bir.out_avals):
        cir, _, _ = trace_to_ir(cond_wrapped, avals, in_tree, name, abstract=True)
        fix_weak_literal_outs(cir, [ShapedArray((), np.bool_)])
        bir, btree, _ = trace_to_ir(body_fun, avals, in_tree, name, abstract=True)
    if btree != tree:
        raise LocatedTypeError(
            f"{name}: {bname} must return a value with the same tree structure as init_val, "
            f"but init_val is {tree} and {bname} returned {btree}"
        )
    fix_weak_literal_outs(bir, avals)
    _type_mismatch(
        name,
        "carry",
        tree_paths(init_val),
        avals,
        bir.out_avals,
        "init_val",
        f"{bname}'s output",
        f"The loop value must keep its type across iterations: cast {bname}'s result (e.g. "
        ".astype(...)) or give init_val the type the body produces.",
    )
    cir, cconsts = closure_convert(cir)
    bir, bconsts = closure_convert(bir)
    outs = bind(
        while_p,
        *cconsts,
        *bconsts,
        *leaves,
        cond_ir=dce(cir),
        body_ir=dce(bir),
        cond_nconsts=len(cconsts),
        body_nconsts=len(bconsts),
    )
    return tree_unflatten(tree, _user(outs, avals))


def _static_int(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    return isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind in "iu"


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns the final ``val``.

    With static bounds (Python or numpy ints) this is a :func:`scan` over ``range(lower,
    upper)`` and differentiates in both modes; with traced bounds it becomes a
    :func:`while_loop` (forward-mode differentiation only).

    >>> from funcgrad import lax
    >>> lax.fori_loop(0, 4, lambda i, acc: acc + i, 0)
    np.int64(6)
    """
    _check_callable("lax.fori_loop", "body_fun", body_fun)
    if _static_int(lower) and _static_int(upper):
        lo, hi = int(lower), int(upper)
        dtype = np.result_type(np.asarray(lower), np.asarray(upper))
        idx = np.arange(lo, max(lo, hi), dtype=dtype)
        carry, _ = _scan(
            "lax.fori_loop",
            "body_fun",
            lambda val, i: (body_fun(i, val), None),
            init_val,
            idx,
            None,
            False,
            "init_val",
        )
        return carry
    lo_a = _scalar(lower if type(lower) is Tracer else np.asarray(lower), "lax.fori_loop", "lower")
    hi_a = _scalar(upper if type(upper) is Tracer else np.asarray(upper), "lax.fori_loop", "upper")
    if lo_a.dtype.kind not in "iu" or hi_a.dtype.kind not in "iu":
        raise LocatedTypeError(
            f"lax.fori_loop: lower and upper must be integers, got dtypes {lo_a.dtype} and "
            f"{hi_a.dtype}"
        )
    dtype = np.result_type(lo_a.dtype, hi_a.dtype)
    if lo_a.dtype != dtype:
        lo_a = ew.convert_element_type(lo_a, dtype)
    if hi_a.dtype != dtype:
        hi_a = ew.convert_element_type(hi_a, dtype)

    def cond_fun(c: tuple[Any, Any]) -> Any:
        return bind(ew.lt_p, c[0], hi_a)

    def body(c: tuple[Any, Any]) -> tuple[Any, Any]:
        return (ew.add(c[0], 1), body_fun(c[0], c[1]))

    _, out = _while("lax.fori_loop", "cond_fun", "body_fun", cond_fun, body, (lo_a, init_val))
    return out
