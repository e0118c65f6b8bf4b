"""Function-mapping helpers: ``vectorize`` (with gufunc ``signature``), ``apply_along_axis``,
``apply_over_axes``, ``piecewise``, ``fromfunction``, ``frompyfunc`` and the ``ufunc``
class, and ``einsum_path``.

``vectorize`` and ``apply_along_axis`` are ``vmap`` over flattened loop axes, as in JAX, so the
mapped function sees traced values of the core shape and everything stays differentiable and
jit-able. ``ufunc`` methods (``reduce``, ``accumulate``, ``outer``, ``reduceat``, ``at``)
are unrolled Python loops of the binary function over a static axis length.

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.vectorize(lambda a, b: a * b + 1)(np.arange(3.0), 2.0)
Array([1., 3., 5.])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.pytree import tree_map
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _indexing
from funcgrad.numpy._core import (
    _concrete,
    _dtype,
    _ndim,
    _norm_axis,
    _operand,
    _shape,
    astype,
    stack,
)
from funcgrad.numpy._elementwise import where
from funcgrad.numpy._shape import broadcast_to, expand_dims, moveaxis, reshape
from funcgrad.transforms.batching import vmap

__all__ = [
    "vectorize",
    "apply_along_axis",
    "apply_over_axes",
    "piecewise",
    "fromfunction",
    "frompyfunc",
    "ufunc",
    "einsum_path",
]

_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_SIG = rf"^{_CORE}(?:,{_CORE})*->{_CORE}(?:,{_CORE})*$"


def _parse_signature(sig: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    s = sig.replace(" ", "")
    if not re.match(_SIG, s):
        raise LocatedValueError(f"vectorize: not a valid gufunc signature: {sig!r}")
    ins, outs = s.split("->")

    def cores(part: str) -> list[tuple[str, ...]]:
        return [tuple(d for d in c.split(",") if d) for c in re.findall(r"\(([^)]*)\)", part)]

    return cores(ins), cores(outs)


def vectorize(
    pyfunc: Callable[..., Any], *, excluded: Any = frozenset(), signature: str | None = None
) -> Callable[..., Any]:
    """A function mapping ``pyfunc`` over the broadcast loop axes of its arguments with
    ``vmap`` (``signature`` names core axes as numpy's gufuncs: ``"(n),(n)->()"``).
    ``excluded`` positions/keywords are passed through unchanged."""
    excluded = frozenset(excluded)
    core_in = _parse_signature(signature)[0] if signature else None

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        names = [i for i in range(len(args)) if i not in excluded] + [
            k for k in kwargs if k not in excluded
        ]
        vals = [_operand(args[n]) if isinstance(n, int) else _operand(kwargs[n]) for n in names]
        cores = core_in if core_in is not None else [()] * len(vals)
        if len(cores) != len(vals):
            raise LocatedTypeError(
                f"vectorize: wrong number of positional arguments: expected {len(cores)}, "
                f"got {len(vals)}"
            )
        sizes: dict[str, int] = {}
        loops = []
        for v, core in zip(vals, cores):
            shape = _shape(v)
            if len(shape) < len(core):
                raise LocatedValueError(
                    f"vectorize: input with shape {shape} has fewer dimensions than the core "
                    f"dimensions {core} of the signature"
                )
            for d, s in zip(core, shape[len(shape) - len(core) :]):
                if sizes.setdefault(d, s) != s:
                    raise LocatedValueError(
                        f"vectorize: inconsistent size for core dimension {d!r}: {sizes[d]} vs {s}"
                    )
            loops.append(shape[: len(shape) - len(core)])
        loop = _np.broadcast_shapes(*loops) if loops else ()
        n = int(_np.prod(loop))
        flat = [
            reshape(broadcast_to(v, loop + _shape(v)[len(lp) :]), (n,) + _shape(v)[len(lp) :])
            for v, lp in zip(vals, loops)
        ]

        def call(*vs: Any) -> Any:
            a, kw = list(args), dict(kwargs)
            for name, v in zip(names, vs):
                if isinstance(name, int):
                    a[name] = v
                else:
                    kw[name] = v
            return pyfunc(*a, **kw)

        if not loop:
            return call(*vals)
        if n == 0:
            raise LocatedNotImplementedError("vectorize over an empty loop axis is not supported")
        out = vmap(call)(*flat)
        return tree_map(lambda o: reshape(o, loop + _shape(o)[1:]), out)

    wrapped.__doc__ = getattr(pyfunc, "__doc__", None)
    wrapped.__name__ = getattr(pyfunc, "__name__", "vectorized")
    return wrapped


def apply_along_axis(
    func1d: Callable[..., Any], axis: int, arr: Any, *args: Any, **kwargs: Any
) -> Any:
    """``func1d`` applied to every 1-D slice along ``axis`` (``vmap`` over the other axes);
    the result's axes replace ``axis``, as numpy."""
    a = _operand(arr)
    nd = _ndim(a)
    ax = _norm_axis(axis, nd)
    a = moveaxis(a, ax, -1)
    loop = _shape(a)[:-1]
    n = int(_np.prod(loop))
    if n == 0:
        raise LocatedValueError("apply_along_axis: cannot apply to an empty loop axis")
    out = vmap(lambda row: _operand(func1d(row, *args, **kwargs)))(reshape(a, (n, _shape(a)[-1])))
    core = _shape(out)[1:]
    out = reshape(out, loop + core)
    for i in range(len(core)):
        out = moveaxis(out, len(loop) + i, ax + i)
    return out


def apply_over_axes(func: Callable[[Any, int], Any], a: Any, axes: Sequence[int]) -> Any:
    """Apply ``func(a, axis)`` repeatedly, keeping the reduced axes (numpy's rule)."""
    val = _operand(a)
    nd = _ndim(val)
    for axis in [axes] if _np.ndim(axes) == 0 else axes:
        ax = axis + nd if axis < 0 else axis
        res = _operand(func(val, ax))
        if _ndim(res) != _ndim(val):
            res = expand_dims(res, ax)
            if _ndim(res) != _ndim(val):
                raise LocatedValueError("function is not returning an array of the correct shape")
        val = res
    return val


def piecewise(x: Any, condlist: Any, funclist: Sequence[Any], *args: Any, **kw: Any) -> Any:
    """numpy's ``piecewise``: every function is evaluated on all of ``x`` and the pieces are
    selected with ``where`` (later conditions win); one extra function is the otherwise case.
    The result has ``x``'s dtype, as numpy."""
    x = _operand(x)
    if isinstance(condlist, (bool, _np.bool_)) or (
        not isinstance(condlist, (list, tuple))
        and _ndim(_operand(condlist)) == _ndim(x)
        and _ndim(x) > 0
        and not isinstance(condlist, list)
    ):
        conds = [_operand(condlist)]
    else:
        conds = [_operand(c) for c in condlist]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        from funcgrad.numpy._elementwise import logical_not
        from funcgrad.numpy._reductions import any as _any

        other = (
            logical_not(
                _any(stack([astype(broadcast_to(c, _shape(x)), bool) for c in conds]), axis=0)
            )
            if nc
            else astype(_np.ones(_shape(x)), bool)
        )
        conds = [*conds, other]
    elif nf != nc:
        raise LocatedValueError(
            f"piecewise: with {nc} condition(s), either {nc} or {nc + 1} functions are expected"
        )
    y = astype(_np.zeros(_shape(x)), _dtype(x))
    for c, f in zip(conds, funclist):
        v = f(x, *args, **kw) if callable(f) else f
        y = where(c, astype(_operand(v), _dtype(x)), y)
    return y


def fromfunction(
    function: Callable[..., Any], shape: Any, *, dtype: Any = float, **kwargs: Any
) -> Any:
    """``function(*indices(shape, dtype), **kwargs)`` (numpy's definition)."""
    return function(*_np.indices(tuple(shape), dtype=dtype), **kwargs)


def einsum_path(subscripts: Any, *operands: Any, optimize: Any = "greedy") -> Any:
    """numpy's contraction order for ``einsum`` (from the operands' shapes; tracers allowed)."""
    dummies = [
        _np.broadcast_to(_np.zeros((), _dtype(o)), _shape(o)) if type(o) is Tracer else o
        for o in operands
    ]
    return _np.einsum_path(subscripts, *dummies, optimize=optimize)


class ufunc:  # noqa: N801  (numpy's and JAX's name)
    """A universal function built from a scalar function (JAX's ``jnp.ufunc``): calls
    broadcast through ``vectorize``; ``reduce``/``accumulate``/``reduceat``/``outer``/``at``
    for binary functions are unrolled loops (static lengths), differentiable throughout."""

    def __init__(
        self,
        func: Callable[..., Any],
        /,
        nin: int,
        nout: int,
        *,
        name: str | None = None,
        nargs: int | None = None,
        identity: Any = None,
    ) -> None:
        self._func = func
        self.nin = int(nin)
        self.nout = int(nout)
        self.nargs = int(nargs if nargs is not None else nin)
        self.identity = identity
        self.__name__ = name or getattr(func, "__name__", "ufunc")
        self._vec = vectorize(func)

    def __repr__(self) -> str:
        return f"<funcgrad.numpy.ufunc '{self.__name__}'>"

    def __call__(self, *args: Any, out: Any = None, where: Any = None) -> Any:
        if out is not None:
            raise LocatedTypeError("ufunc: out= is not supported (arrays are immutable)")
        if where is not None:
            raise LocatedNotImplementedError("ufunc: where= is not supported")
        if len(args) != self.nin:
            raise LocatedTypeError(f"{self.__name__} takes {self.nin} arguments, got {len(args)}")
        return self._vec(*args)

    def _binary(self, what: str) -> None:
        if self.nin != 2 or self.nout != 1:
            raise LocatedValueError(
                f"{what} only supported for binary ufuncs with one output (nin=2, nout=1)"
            )

    def outer(self, A: Any, B: Any, /) -> Any:  # noqa: N803
        """``f(A[..., None...], B)`` over every pair of elements."""
        self._binary("outer")
        A, B = _operand(A), _operand(B)  # noqa: N806
        return self(reshape(A, _shape(A) + (1,) * _ndim(B)), B)

    def reduce(
        self,
        a: Any,
        axis: Any = 0,
        dtype: Any = None,
        out: Any = None,
        keepdims: bool = False,
        initial: Any = None,
        where: Any = None,
    ) -> Any:
        """Fold the function along ``axis`` (left to right; ``initial`` or the identity first
        when given; an empty axis needs one of them)."""
        self._binary("reduce")
        if out is not None or where is not None:
            raise LocatedNotImplementedError("ufunc.reduce: out= and where= are not supported")
        a = _operand(a)
        if dtype is not None:
            a = astype(a, dtype)
        if axis is None:
            a, axis = reshape(a, (-1,)), 0
        if isinstance(axis, tuple):
            for ax in sorted((_norm_axis(x, _ndim(a)) for x in axis), reverse=True):
                a = self.reduce(a, ax, keepdims=keepdims, initial=initial)
            return a
        ax = _norm_axis(axis, _ndim(a))
        x = moveaxis(a, ax, 0)
        n = _shape(x)[0]
        start = initial
        if n == 0 and start is None:
            start = self.identity
            if start is None:
                raise LocatedValueError(
                    f"zero-size array to reduction operation {self.__name__} which has no identity"
                )
        acc = (
            broadcast_to(astype(_operand(start), _dtype(a)), _shape(x)[1:])
            if start is not None
            else None
        )
        for i in range(n):
            acc = x[i] if acc is None else self(acc, x[i])
        return expand_dims(acc, ax) if keepdims else acc

    def accumulate(self, a: Any, axis: int = 0, dtype: Any = None, out: Any = None) -> Any:
        """Running fold along ``axis``."""
        self._binary("accumulate")
        if out is not None:
            raise LocatedTypeError("ufunc.accumulate: out= is not supported")
        a = _operand(a)
        if dtype is not None:
            a = astype(a, dtype)
        ax = _norm_axis(axis, _ndim(a))
        x = moveaxis(a, ax, 0)
        outs: list[Any] = []
        for i in range(_shape(x)[0]):
            outs.append(x[i] if not outs else self(outs[-1], x[i]))
        if not outs:
            return a
        return moveaxis(stack(outs), 0, ax)

    def reduceat(
        self, a: Any, indices: Any, axis: int = 0, dtype: Any = None, out: Any = None
    ) -> Any:
        """numpy's ``reduceat`` with concrete ``indices``."""
        self._binary("reduceat")
        a = _operand(a)
        idx = _np.asarray(_concrete(indices, "ufunc.reduceat's indices")).astype(int).ravel()
        ax = _norm_axis(axis, _ndim(a))
        x = moveaxis(a, ax, 0)
        n = _shape(x)[0]
        parts = []
        for j, i in enumerate(idx):
            stop = idx[j + 1] if j + 1 < len(idx) else n
            parts.append(self.reduce(x[i:stop], 0) if i < stop else x[i])
        return moveaxis(stack(parts), 0, ax)

    def at(self, a: Any, indices: Any, b: Any = None, /, *, inplace: bool = True) -> Any:
        """``a`` with ``a[i] = f(a[i], b)`` applied in order at each (concrete) index, repeated
        indices accumulating (numpy's unbuffered semantics); needs ``inplace=False``."""
        if inplace:
            raise LocatedValueError(
                "ufunc.at: funcgrad arrays are immutable; call at(..., inplace=False) and use "
                "the returned array (as in JAX)"
            )
        a = _operand(a)
        idx = _np.asarray(_concrete(indices, "ufunc.at's indices"))
        if idx.ndim == 0:
            idx = idx.reshape(1)
        flat_b = None
        if b is not None:
            flat_b = reshape(
                broadcast_to(_operand(b), idx.shape + _shape(a)[1:]), (idx.size,) + _shape(a)[1:]
            )
        for k, i in enumerate(idx.ravel()):
            cur = a[int(i)]
            new = self(cur) if self.nin == 1 else self(cur, flat_b[k])
            a = _indexing.IndexUpdateHelper(a)[int(i)].set(astype(_operand(new), _dtype(a)))
        return a


def frompyfunc(func: Callable[..., Any], /, nin: int, nout: int, *, identity: Any = None) -> ufunc:
    """A ``ufunc`` from a scalar function (JAX's ``jnp.frompyfunc``)."""
    return ufunc(func, nin, nout, identity=identity)
