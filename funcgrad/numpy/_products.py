"""Products: matmul, dot, vdot, inner, outer, tensordot, einsum, kron, cross, convolve,
correlate."""

from __future__ import annotations

import builtins
import string
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.numpy._core import _is_tracer, _ndim, _norm_axis, _operand, _shape, stack
from funcgrad.numpy._elementwise import _no_out, conj, multiply, subtract
from funcgrad.numpy._reductions import sum
from funcgrad.numpy._shape import (
    broadcast_arrays,
    flip,
    moveaxis,
    pad,
    ravel,
    reshape,
    swapaxes,
    take,
)
from funcgrad.primitives import linalg as _la
from funcgrad.primitives import numpy_extra as _nx
from funcgrad.primitives import structural as _st

__all__ = [
    "matmul",
    "dot",
    "vdot",
    "inner",
    "outer",
    "tensordot",
    "einsum",
    "kron",
    "cross",
    "convolve",
    "correlate",
]


# --- products --------------------------------------------------------------------------
def matmul(a: Any, b: Any) -> Any:
    return _la.matmul(_operand(a), _operand(b))


def dot(a: Any, b: Any) -> Any:
    """``numpy.dot`` for scalars, vectors and matrices (N-D: the last axis of ``a`` with the
    second-to-last of ``b``)."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2 or na <= 1:
        return matmul(a, b) if nb <= 2 else _dot_nd(a, b)
    return _dot_nd(a, b)


def _dot_nd(a: Any, b: Any) -> Any:
    # dot(a, b)[i.., j.., k] = sum_m a[i.., m] b[j.., m, k]
    bs = _shape(b)
    bm = moveaxis(b, -2, 0)  # (m, j.., k)
    b2 = reshape(bm, (bs[-2], -1))
    out = matmul(a, b2)
    return reshape(out, _shape(a)[:-1] + bs[:-2] + bs[-1:])


def vdot(a: Any, b: Any) -> Any:
    """``numpy.vdot``: ``sum(conj(a) * b)`` over the flattened arrays."""
    return sum(multiply(conj(ravel(a)), ravel(b)))


def inner(a: Any, b: Any) -> Any:
    a, b = _operand(a), _operand(b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return multiply(a, b)
    return dot(a, swapaxes(b, -1, -2)) if _ndim(b) >= 2 else dot(a, b)


def outer(a: Any, b: Any) -> Any:
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


# --- products, part A ----------------------------------------------------------------------
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``numpy.tensordot`` by transposing and reshaping to one matmul."""
    a, b = _operand(a), _operand(b)
    na, nb = _ndim(a), _ndim(b)
    if isinstance(axes, (int, _np.integer)):
        k = int(axes)
        if k < 0:
            raise LocatedValueError("tensordot: axes must be non-negative")
        ax_a, ax_b = list(range(na - k, na)), list(range(k))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, _np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, _np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise LocatedValueError("shape-mismatch for sum")
        ax_a = [_norm_axis(i, na) for i in ax_a]
        ax_b = [_norm_axis(i, nb) for i in ax_b]
    sa, sb = _shape(a), _shape(b)
    for i, j in zip(ax_a, ax_b):
        if sa[i] != sb[j]:
            raise LocatedValueError("shape-mismatch for sum")
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [j for j in range(nb) if j not in ax_b]
    k = 1
    for i in ax_a:
        k *= sa[i]
    a2 = reshape(_st.transpose(a, tuple(free_a + ax_a)), (-1, k))
    b2 = reshape(_st.transpose(b, tuple(ax_b + free_b)), (k, -1))
    return reshape(matmul(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b))


def _einsum_normalize(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[str, list[Any]]:
    """Explicit letters-only subscripts (ellipses expanded, implicit output made explicit)
    and, per operand, the shape each one must be broadcast to (or None)."""
    spec = subscripts.replace(" ", "")
    ins_s, out_s = (spec.split("->") + [None])[:2] if "->" in spec else (spec, None)
    ins = ins_s.split(",")
    if len(ins) != len(shapes):
        raise LocatedValueError(
            f"einsum: {len(ins)} operand subscripts in {subscripts!r} for {len(shapes)} operands"
        )
    for s in ins + ([out_s] if out_s is not None else []):
        if s.count("...") > 1 or builtins.any(
            c not in string.ascii_letters for c in s.replace("...", "")
        ):
            raise LocatedValueError(f"einsum: invalid subscripts {subscripts!r}")
    free = [c for c in string.ascii_letters if c not in spec]
    n_ell = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n_ell = builtins.max(n_ell, len(shp) - (len(s) - 3))
    ell = "".join(free[:n_ell])
    new_ins = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            k = len(shp) - (len(s) - 3)
            if k < 0:
                raise LocatedValueError(
                    f"einsum: operand of shape {shp} has too few axes for {s!r}"
                )
            s = s.replace("...", ell[n_ell - k :])
        if len(s) != len(shp):
            raise LocatedValueError(
                f"einsum: subscripts {s!r} do not match an operand of rank {len(shp)}"
            )
        new_ins.append(s)
    if out_s is None:
        counts = "".join(ins).replace("...", "")
        out_s = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
    else:
        out_s = out_s.replace("...", ell)
    sizes: dict[str, int] = {}
    for s, shp in zip(new_ins, shapes):
        for c, n in zip(s, shp):
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise LocatedValueError(
                    f"einsum: operands could not be broadcast together: subscript {c!r} has "
                    f"sizes {sizes[c]} and {n}"
                )
            if n != 1 or c not in sizes:
                sizes[c] = n
    targets = []
    for s, shp in zip(new_ins, shapes):
        want = tuple(sizes[c] for c in s)
        targets.append(None if want == tuple(shp) else want)
    return ",".join(new_ins) + "->" + out_s, targets


def _sublist_to_subscripts(operands: tuple[Any, ...]) -> tuple[Any, ...]:
    """numpy's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as a subscript string
    (``Ellipsis`` in a sublist is ``...``)."""
    letters = string.ascii_letters

    def sub(lst: Any) -> str:
        out = []
        for v in lst:
            if v is Ellipsis:
                out.append("...")
                continue
            try:
                i = int(v)
            except (TypeError, ValueError):
                raise LocatedValueError(
                    f"einsum: sublist entries must be integers 0..51 or Ellipsis, got {v!r}"
                ) from None
            if not 0 <= i < len(letters):
                raise LocatedValueError(f"einsum: sublist entry {i} is outside 0..51")
            out.append(letters[i])
        return "".join(out)

    ops, subs = list(operands[0::2]), list(operands[1::2])
    out = None
    if len(operands) % 2 == 1:  # a trailing output sublist
        out = ops.pop()
    if len(subs) != len(ops):
        raise LocatedValueError("einsum: the sublist form alternates operand, sublist, ...")
    spec = ",".join(sub(s) for s in subs)
    if out is not None:
        spec += "->" + sub(out)
    return (spec, *ops)


def einsum(*operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    """``numpy.einsum`` with a subscript string (explicit or implicit output, ellipses,
    broadcasting, repeated letters for diagonals/traces) or in the sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. One ``einsum`` primitive: its VJP
    and JVP are einsums, its batching rule adds a letter."""
    _no_out(out, "einsum")
    if kwargs.get("dtype") is not None or kwargs.get("casting", "safe") != "safe":
        raise LocatedNotImplementedError("einsum: dtype= and casting= are not supported")
    if operands and not isinstance(operands[0], str):
        operands = _sublist_to_subscripts(operands)
    if not operands:
        raise LocatedValueError("einsum: no operands given")
    ops = [_operand(o) for o in operands[1:]]
    ops = [o if _is_tracer(o) or isinstance(o, _np.ndarray) else _np.asarray(o) for o in ops]
    spec, targets = _einsum_normalize(operands[0], [_shape(o) for o in ops])
    ops = [o if t is None else _st.broadcast_to(o, t) for o, t in zip(ops, targets)]
    return _nx.einsum(spec, *ops)


def kron(a: Any, b: Any) -> Any:
    a, b = _operand(a), _operand(b)
    nd = builtins.max(_ndim(a), _ndim(b))
    sa = (1,) * (nd - _ndim(a)) + _shape(a)
    sb = (1,) * (nd - _ndim(b)) + _shape(b)
    a2 = reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    """``numpy.cross`` of 3-vectors (2-vectors are deprecated in numpy 2 and not supported)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(_operand(a), axisa, -1)
    b = moveaxis(_operand(b), axisb, -1)
    if _shape(a)[-1] != 3 or _shape(b)[-1] != 3:
        raise LocatedValueError(
            "funcgrad.numpy.cross supports 3-vectors only (dimension must be 3)"
        )
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    c = stack(
        broadcast_arrays(
            subtract(multiply(a1, b2), multiply(a2, b1)),
            subtract(multiply(a2, b0), multiply(a0, b2)),
            subtract(multiply(a0, b1), multiply(a1, b0)),
        ),
        axis=-1,
    )
    return moveaxis(c, -1, axisc)


def _convolve_full(a: Any, v: Any) -> Any:
    n, m = _shape(a)[0], _shape(v)[0]
    ap = pad(a, (m - 1, m - 1))
    k, j = _np.ogrid[: n + m - 1, :m]
    windows = take(ap, k - j + m - 1)  # windows[k, j] = a[k - j]
    return matmul(windows, v)


def _conv_mode(full: Any, n: int, m: int, mode: str) -> Any:
    lo, hi = builtins.min(n, m), builtins.max(n, m)
    if mode == "full":
        return full
    if mode == "same":
        s = (lo - 1) // 2
        return full[s : s + hi]
    if mode == "valid":
        return full[lo - 1 : hi]
    raise LocatedValueError(f"mode must be one of 'full', 'same', or 'valid', got {mode!r}")


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``numpy.convolve`` of 1-D arrays, as a gather of sliding windows and a matmul."""
    a, v = _operand(a), _operand(v)
    if _ndim(a) != 1 or _ndim(v) != 1:
        raise LocatedValueError("object too deep for desired array")
    n, m = _shape(a)[0], _shape(v)[0]
    if n == 0 or m == 0:
        raise LocatedValueError("a cannot be empty" if n == 0 else "v cannot be empty")
    return _conv_mode(_convolve_full(a, v), n, m, mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """``numpy.correlate``: ``convolve(a, conj(v)[::-1], mode)`` (numpy swaps the operands
    and reverses and conjugates the result when ``v`` is the longer one)."""
    a, v = _operand(a), _operand(v)
    if _ndim(a) == 1 and _ndim(v) == 1 and _shape(a)[0] < _shape(v)[0]:
        return conj(flip(convolve(v, flip(conj(a)), mode)))
    return convolve(a, flip(conj(v)), mode)
