"""numpy indexing of traced values beyond basic slicing, and functional updates ``x.at[idx]``.

* ``x[idx]`` with integer arrays (numpy arrays, lists, traced integer arrays — also abstract
  ones, e.g. under ``vmap``/``jit``) or boolean masks (concrete only: the result's shape
  depends on the mask's values), mixed with ints, slices, ``None`` and ``...``, with numpy's
  semantics. Differentiable: the derivative scatter-adds, so repeated indices accumulate.
* ``x.at[idx].get()``, ``.set(v)``, ``.add(v)``, ``.multiply(v)``, ``.divide(v)``,
  ``.min(v)``, ``.max(v)`` — JAX's functional updates, returning a new array (``x`` is never
  modified); differentiable w.r.t. ``x`` and ``v``. ``v`` is cast to ``x``'s dtype and
  broadcast to the indexed shape. With repeated indices, ``set`` keeps one of the values
  (numpy's choice, the last) and only that one gets a derivative; ``add``/``multiply``/
  ``min``/``max`` combine all of them. ``multiply``'s derivative w.r.t. ``v`` at repeated
  indices divides by ``v`` (assumes ``v != 0`` there).

>>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
>>> fg.grad(lambda x: fnp.sum(x[np.array([0, 2, 2])]))(np.ones(3))
Array([1., 0., 2.])
>>> fg.grad(lambda x: fnp.sum(x.at[1].set(5.0) ** 2))(np.ones(3))
Array([2., 0., 2.])
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from funcgrad.core.errors import (
    ConcretizationError,
    LocatedIndexError,
    LocatedTypeError,
    LocatedValueError,
)
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import Tracer
from funcgrad.numpy import _core, _elementwise
from funcgrad.numpy import _shape as _shape_fns
from funcgrad.primitives import indexing as _ix
from funcgrad.primitives import structural as _st
from funcgrad.primitives.indexing import AdvIndex, ArrayRef
from funcgrad.primitives.structural import Index, Slice

__all__ = ["is_advanced", "getitem", "IndexUpdateHelper", "IndexUpdateRef", "parse_index"]

_VALID = (
    "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
    "boolean arrays are valid indices"
)


def _is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def _contains_tracer(a: Any) -> bool:
    if _is_tracer(a):
        return True
    if isinstance(a, (list, tuple)):
        return any(_contains_tracer(x) for x in a)
    return False


def is_advanced(idx: Any) -> bool:
    """Does this index need more than basic indexing (arrays, lists, masks, traced arrays)?"""
    for i in idx if isinstance(idx, tuple) else (idx,):
        if i is None or i is Ellipsis or isinstance(i, slice):
            continue
        if isinstance(i, (bool, np.bool_)):
            return True
        if isinstance(i, (int, np.integer)):
            continue
        if _is_tracer(i):
            if not (i.dtype.kind in "iu" and i.shape == () and i.val is not None):
                return True
            continue
        return True  # lists, tuples, ndarrays, other objects (rejected with a clear error)
    return False


def _bound(v: Any, what: str) -> int | None:
    if v is None:
        return None
    if _is_tracer(v):
        if v.val is None:
            raise ConcretizationError(
                f"{what} must be concrete, but got an abstract traced value {v.aval} (traced "
                f"by {v._trace.kind}); slice sizes must be static: use static_argnums or "
                "fixed bounds"
            )
        v = v.val
    return operator.index(v)


def _classify(i: Any) -> tuple[str, Any, Any]:
    """(kind, operand, concrete value) for one index entry."""
    if i is None or i is Ellipsis or isinstance(i, slice):
        return ("basic", i, None)
    if isinstance(i, (bool, np.bool_)):
        raise LocatedIndexError(
            "funcgrad does not support boolean scalar indices (x[True]); use x[None] to add "
            "an axis, or a boolean array mask"
        )
    if isinstance(i, (int, np.integer)):
        return ("int", int(i), int(i))
    if isinstance(i, (list, tuple)) and _contains_tracer(i):
        i = _core.asarray(i)
    if _is_tracer(i):
        kind = i.dtype.kind
        if kind == "b":
            if i.val is None:
                raise ConcretizationError(
                    f"boolean mask indexing x[mask] needs a concrete mask, but the mask is an "
                    f"abstract traced value {i.aval} (traced by {i._trace.kind}): the result's "
                    "shape would depend on the mask's values. Use fnp.where(mask, x, 0) to keep "
                    "the shape, or compute the mask from non-traced data."
                )
            return ("mask", np.asarray(i.val), None)
        if kind in "iu":
            if i.shape == () and i.val is not None:
                return ("int", int(i.val), int(i.val))
            return ("arr", i, None if i.val is None else np.asarray(i.val))
        raise LocatedIndexError(f"{_VALID}; got a traced index of dtype {i.dtype}")
    if isinstance(i, (list, tuple, np.ndarray, np.generic)):
        a = np.asarray(i)
        if a.dtype == np.bool_:
            if a.ndim == 0:
                return _classify(bool(a))
            return ("mask", a, None)
        if a.dtype.kind in "iu":
            return ("arr", a, a)
        if a.size == 0:
            a = a.astype(np.intp)
            return ("arr", a, a)
        raise LocatedIndexError(f"{_VALID}; got an array of dtype {a.dtype}")
    raise LocatedIndexError(f"{_VALID}; got {type(i).__name__}")


def parse_index(
    shape: tuple[int, ...], idx: Any, check_unique: bool = True
) -> tuple[AdvIndex, list[Any], bool]:
    """``(template, index operands, unique)`` for indexing an array of ``shape`` with ``idx``.

    ``unique`` is True when every indexed position is known to occur once (basic indices, or
    concrete index arrays without repeats); ``check_unique=False`` skips that check (reads
    do not need it) and reports False."""
    entries = [_classify(i) for i in (idx if isinstance(idx, tuple) else (idx,))]
    consumed = 0
    n_ellipsis = 0
    for kind, v, _ in entries:
        if kind == "mask":
            consumed += v.ndim
        elif kind == "basic":
            if v is Ellipsis:
                n_ellipsis += 1
            elif v is not None:
                consumed += 1
        else:
            consumed += 1
    if n_ellipsis > 1:
        raise LocatedIndexError("an index can only have a single ellipsis ('...')")
    if consumed > len(shape):
        raise LocatedIndexError(
            f"too many indices for array: array is {len(shape)}-dimensional, but {consumed} "
            "were indexed"
        )
    template: list[Any] = []
    operands: list[Any] = []
    values: list[Any] = []
    dim = 0
    for kind, v, val in entries:
        if kind == "basic":
            if v is None:
                template.append(None)
            elif v is Ellipsis:
                k = len(shape) - consumed
                template += [Slice(None, None, None)] * k
                dim += k
            else:
                template.append(
                    Slice(
                        _bound(v.start, "a slice start"),
                        _bound(v.stop, "a slice stop"),
                        _bound(v.step, "a slice step"),
                    )
                )
                dim += 1
        elif kind == "int":
            n = shape[dim]
            if not -n <= v < n:
                raise LocatedIndexError(f"index {v} is out of bounds for axis {dim} with size {n}")
            template.append(v % n)
            dim += 1
        elif kind == "mask":
            want = shape[dim : dim + v.ndim]
            if v.shape != want:
                raise LocatedIndexError(
                    f"boolean index did not match indexed array along axes {dim}.."
                    f"{dim + v.ndim - 1}: the array has shape {want} there but the mask has "
                    f"shape {v.shape}"
                )
            for nz in np.nonzero(v):
                template.append(ArrayRef(len(operands)))
                operands.append(nz.astype(np.intp))
                values.append(nz)
            dim += v.ndim
        else:  # integer array
            n = shape[dim]
            if val is not None and val.size:
                bad = (val < -n) | (val >= n)
                if bad.any():
                    raise LocatedIndexError(
                        f"index {int(val[bad].flat[0])} is out of bounds for axis {dim} with "
                        f"size {n}"
                    )
                val = np.where(val < 0, val + n, val).astype(np.intp)
                if not _is_tracer(v):
                    v = val
            elif not _is_tracer(v):
                v = v.astype(np.intp)
            template.append(ArrayRef(len(operands)))
            operands.append(v)
            values.append(val)
            dim += 1
    tmpl = AdvIndex(template)
    unique = True
    if operands:
        if not check_unique or any(val is None for val in values):
            unique = False
        else:
            ids = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
            hit = ids[tmpl.to_numpy(values)]
            unique = np.unique(hit).size == hit.size
    return tmpl, operands, unique


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if _is_tracer(x) else np.shape(x)


def _avals(ops: list[Any]) -> list[ShapedArray]:
    return [ShapedArray(_shape(o), np.intp) for o in ops]


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` for any numpy index (basic indices go to the basic ``getitem``)."""
    template, ops, _ = parse_index(_shape(x), idx, check_unique=False)
    if not ops:
        if all(isinstance(i, Slice) and i == (None, None, None) for i in template):
            return x
        return _st.getitem(x, Index(template))
    return _ix.gather(x, ops, template)


class IndexUpdateRef:
    """``x.at[idx]``: the functional update methods."""

    __slots__ = ("x", "idx")

    def __init__(self, x: Any, idx: Any) -> None:
        self.x = x
        self.idx = idx

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.x!r}, {self.idx!r})"

    def _prepare(self, v: Any, name: str) -> tuple[Any, AdvIndex, list[Any], bool, Any]:

        x = self.x
        shape = _shape(x)
        template, ops, unique = parse_index(shape, self.idx)
        gshape = _ix._index_dummy(shape, template, _avals(ops))
        v = _core.asarray(v)
        xdt = x.dtype
        if v.dtype != xdt:
            v = _core.astype(v, xdt)
        vshape = _shape(v)
        try:
            ok = np.broadcast_shapes(vshape, gshape) == tuple(gshape)
        except ValueError:
            ok = False
        if not ok:
            raise LocatedValueError(
                f"x.at[...].{name}: the value of shape {vshape} cannot be broadcast to the "
                f"indexed shape {tuple(gshape)}"
            )
        if vshape != tuple(gshape):
            v = _shape_fns.broadcast_to(v, tuple(gshape))
        return v, template, ops, unique, shape

    def get(self) -> Any:
        """``x[idx]``."""
        return getitem(self.x, self.idx)

    def set(self, v: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = v``."""
        v, template, ops, unique, _ = self._prepare(v, "set")
        return _ix.index_set(self.x, v, ops, template, unique)

    def add(self, v: Any) -> Any:
        """A copy of ``x`` with ``v`` added at ``idx`` (repeated indices accumulate)."""

        v, template, ops, _, shape = self._prepare(v, "add")
        return _elementwise.add(self.x, _ix.index_add(v, ops, template, shape))

    def multiply(self, v: Any) -> Any:
        """A copy of ``x`` with ``x[idx]`` multiplied by ``v`` (repeats multiply again)."""

        v, template, ops, unique, shape = self._prepare(v, "multiply")
        return _elementwise.multiply(self.x, _ix.index_mul(v, ops, template, shape, unique))

    mul = multiply

    def divide(self, v: Any) -> Any:
        """A copy of ``x`` with ``x[idx]`` divided by ``v``."""

        x = self.x
        if x.dtype.kind != "f":
            raise LocatedTypeError("x.at[...].divide needs a floating-point x")
        return self.multiply(_elementwise.divide(1.0, _core.astype(_core.asarray(v), x.dtype)))

    def min(self, v: Any) -> Any:  # noqa: A003
        """A copy of ``x`` with ``x[idx] = minimum(x[idx], v)``."""

        v, template, ops, _, shape = self._prepare(v, "min")
        return _elementwise.minimum(self.x, _ix.index_min(v, ops, template, shape))

    def max(self, v: Any) -> Any:  # noqa: A003
        """A copy of ``x`` with ``x[idx] = maximum(x[idx], v)``."""

        v, template, ops, _, shape = self._prepare(v, "max")
        return _elementwise.maximum(self.x, _ix.index_max(v, ops, template, shape))


class IndexUpdateHelper:
    """The object returned by ``x.at``; index it: ``x.at[idx].set(v)``."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x

    def __getitem__(self, idx: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self.x, idx)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.x!r})"
