"""``jax.lax``'s collectives over named axes, for ``vmap(..., axis_name=...)``.

Inside ``vmap(f, axis_name="i")``, ``f`` sees one example; ``psum(x, "i")`` is the sum of ``x``
over every example of the batch, ``axis_index("i")`` this example's position, and so on — the
SPMD view of a batch. ``axis_name`` may be a tuple of names bound by nested vmaps: the members
are then all combinations, indexed row-major (the first name major), as ``axis_index`` of the
tuple numbers them. The collectives are primitives (:mod:`funcgrad.primitives.named_axis`)
resolved by the binding vmap's batching rules, so they work eagerly, under ``jit`` (either way
round), ``grad``, ``jvp`` and inside ``lax`` control flow. With no vmap binding the name, they
raise a ``NameError``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as _np

from funcgrad import numpy as _fnp
from funcgrad.core import axis_env as _axis_env
from funcgrad.core import errors as _errors
from funcgrad.core.pytree import tree_map
from funcgrad.primitives import named_axis as _na
from funcgrad.primitives import structural as _st

__all__ = [
    "psum",
    "pmean",
    "pmax",
    "pmin",
    "all_gather",
    "psum_scatter",
    "ppermute",
    "pshuffle",
    "all_to_all",
    "pswapaxes",
    "pbroadcast",
    "axis_index",
    "axis_size",
]

AxisName = Hashable


def _names(axis_name: Any, what: str) -> tuple[Any, ...]:
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    for n in names:
        try:
            hash(n)
        except TypeError:
            raise _errors.LocatedTypeError(
                f"{what}: axis names must be hashable (strings, say), got {n!r}"
            ) from None
    if len(set(names)) != len(names):
        raise _errors.LocatedValueError(f"{what}: axis_name {axis_name!r} repeats a name")
    return names


def _frames(axis_name: Any, what: str) -> tuple[tuple[Any, ...], list[Any]]:
    names = _names(axis_name, what)
    return names, [_axis_env.lookup(n, what) for n in names]


def _need_names(names: tuple[Any, ...], what: str) -> None:
    if not names:
        raise _errors.LocatedValueError(f"{what}: axis_name is an empty tuple; name an axis")


def _no_groups(axis_index_groups: Any, what: str) -> None:
    if axis_index_groups is not None:
        raise _errors.LocatedNotImplementedError(
            f"{what}: axis_index_groups is not supported over vmap axes (as in JAX)"
        )


def _leaf(x: Any) -> Any:
    if isinstance(x, (bool, _np.bool_)) or _np.result_type(x) == _np.bool_:
        return _fnp.asarray(x).astype(_np.int32)  # as JAX: booleans are summed as int32
    return x


def _axis(axis: Any, nd: int, what: str, name: str) -> int:
    try:
        a = operator.index(axis)
    except TypeError:
        raise _errors.LocatedTypeError(f"{what}: {name} must be an int, got {axis!r}") from None
    if not -nd <= a < nd:
        raise _errors.LocatedValueError(
            f"{what}: {name}={axis} is out of range for an operand with {nd} possible positions"
        )
    return a % nd


def _over_axes(
    x: Any, axis_name: Any, axis_index_groups: Any, what: str, leaf: Callable[..., Any]
) -> Any:
    """The shared body of the reductions over named axes: ``leaf(v, tokens, names, size)``
    on every leaf of ``x`` (``size``: the product of the axes' sizes); no axes: ``x``."""
    _no_groups(axis_index_groups, what)
    names, frames = _frames(axis_name, what)
    if not names:  # no axes: the identity, as in JAX
        return x
    n = math.prod(f.size for f in frames)
    toks = tuple(f.token for f in frames)
    return tree_map(lambda v: leaf(v, toks, names, n), x)


def psum(x: Any, axis_name: AxisName | Sequence[AxisName], *, axis_index_groups: Any = None) -> Any:
    """Sum of ``x`` over the members of the named axis (every member gets the sum).

    ``x`` may be a pytree; booleans are summed as int32. Its VJP is ``psum`` of the cotangent.

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.psum(x, "i"), axis_name="i")(np.arange(4.0))
    Array([6., 6., 6., 6.])
    """

    def leaf(v: Any, toks: Any, names: Any, n: int) -> Any:
        return _na.psum(_leaf(v), toks, names)

    return _over_axes(x, axis_name, axis_index_groups, "psum", leaf)


def pmean(
    x: Any, axis_name: AxisName | Sequence[AxisName], *, axis_index_groups: Any = None
) -> Any:
    """Mean of ``x`` over the members of the named axis: ``psum(x) / axis_size``.

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: x - fg.lax.pmean(x, "i"), axis_name="i")(np.arange(4.0))
    Array([-1.5, -0.5,  0.5,  1.5])
    """

    def leaf(v: Any, toks: Any, names: Any, n: int) -> Any:
        return _fnp.true_divide(_na.psum(_leaf(v), toks, names), n)

    return _over_axes(x, axis_name, axis_index_groups, "pmean", leaf)


def pmax(x: Any, axis_name: AxisName | Sequence[AxisName], *, axis_index_groups: Any = None) -> Any:
    """Maximum of ``x`` over the members of the named axis.

    JAX defines no derivative for it; funcgrad shares the cotangent among the members that
    attain the maximum, as ``max`` does.

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.pmax(x, "i"), axis_name="i")(np.array([1.0, 5.0, 2.0]))
    Array([5., 5., 5.])
    """
    return _over_axes(
        x, axis_name, axis_index_groups, "pmax", lambda v, toks, names, n: _na.pmax(v, toks, names)
    )


def pmin(x: Any, axis_name: AxisName | Sequence[AxisName], *, axis_index_groups: Any = None) -> Any:
    """Minimum of ``x`` over the members of the named axis (derivative as :func:`pmax`).

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.pmin(x, "i"), axis_name="i")(np.array([1.0, 5.0, 2.0]))
    Array([1., 1., 1.])
    """
    return _over_axes(
        x, axis_name, axis_index_groups, "pmin", lambda v, toks, names, n: _na.pmin(v, toks, names)
    )


def all_gather(
    x: Any,
    axis_name: AxisName | Sequence[AxisName],
    *,
    axis_index_groups: Any = None,
    axis: int = 0,
    tiled: bool = False,
) -> Any:
    """Every member's ``x``, stacked along a new axis ``axis`` (``tiled=True``: concatenated
    along the existing axis ``axis``). Its VJP is :func:`psum_scatter`.

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.all_gather(x, "i"), axis_name="i")(np.arange(2.0))
    Array([[0., 1.],
           [0., 1.]])
    """
    _no_groups(axis_index_groups, "all_gather")
    names, frames = _frames(axis_name, "all_gather")
    if not names:  # no axes: the identity, as in JAX
        return x

    def one(v: Any) -> Any:
        nd = _np.ndim(v)
        a = _axis(axis, nd if tiled else nd + 1, "all_gather", "axis")
        if len(frames) == 1:
            f = frames[0]
            return _na.all_gather(v, f.token, f.name, f.size, a, bool(tiled))
        # Several names: gather over the innermost name first, then outwards (row-major).
        if not tiled:
            v = _st.expand_dims(v, (a,))
        for f in reversed(frames):
            v = _na.all_gather(v, f.token, f.name, f.size, a, True)
        return v

    return tree_map(one, x)


def psum_scatter(
    x: Any,
    axis_name: AxisName | Sequence[AxisName],
    *,
    scatter_dimension: int = 0,
    axis_index_groups: Any = None,
    tiled: bool = False,
) -> Any:
    """``psum`` of ``x`` of which member ``k`` keeps slice ``k`` of ``scatter_dimension``
    (``tiled=True``: chunk ``k``). Its VJP is :func:`all_gather`.

    >>> import numpy as np, funcgrad as fg
    >>> x = np.arange(4.0).reshape(2, 2)
    >>> fg.vmap(lambda r: fg.lax.psum_scatter(r, "i"), axis_name="i")(x)
    Array([2., 4.])
    """
    _no_groups(axis_index_groups, "psum_scatter")
    names, frames = _frames(axis_name, "psum_scatter")
    if not names:  # no axes: the identity, as in JAX
        return x

    def one(v: Any) -> Any:
        sd = _axis(scatter_dimension, _np.ndim(v), "psum_scatter", "scatter_dimension")
        if len(frames) == 1:
            f = frames[0]
            return _na.psum_scatter(v, f.token, f.name, f.size, sd, bool(tiled))
        n = math.prod(f.size for f in frames)
        m = _np.shape(v)[sd]
        if not tiled and m != n:
            raise _errors.LocatedValueError(
                f"psum_scatter: dimension {sd} of the operand has size {m}, but the axes "
                f"{names} have {n} members; without tiled=True they must be equal"
            )
        for f in frames:  # outermost name first: its chunks are the largest
            v = _na.psum_scatter(v, f.token, f.name, f.size, sd, True)
        return v if tiled else _st.squeeze(v, (sd,))

    return tree_map(one, x)


def _check_perm(perm: Any, n: int, what: str) -> tuple[tuple[int, int], ...]:
    try:
        pairs = tuple((operator.index(s), operator.index(d)) for s, d in perm)
    except (TypeError, ValueError):
        raise _errors.LocatedTypeError(
            f"{what}: perm must be a sequence of (source, destination) int pairs, got {perm!r}"
        ) from None
    for s, d in pairs:
        if not (0 <= s < n and 0 <= d < n):
            raise _errors.LocatedValueError(
                f"{what}: pair {(s, d)} of perm is out of range for an axis of size {n}"
            )
    srcs, dsts = [s for s, _ in pairs], [d for _, d in pairs]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise _errors.LocatedValueError(
            f"{what}: sources and destinations of perm must be unique, got {perm!r}"
        )
    return pairs


def ppermute(x: Any, axis_name: AxisName | Sequence[AxisName], perm: Any) -> Any:
    """Send member ``s``'s ``x`` to member ``d`` for each pair ``(s, d)`` of ``perm``; members
    that no pair sends to receive zeros. Its VJP is the inverse permutation.

    >>> import numpy as np, funcgrad as fg
    >>> shift = lambda x: fg.lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 0)])
    >>> fg.vmap(shift, axis_name="i")(np.array([1.0, 2.0, 3.0]))
    Array([3., 1., 2.])
    """
    names, frames = _frames(axis_name, "ppermute")
    _need_names(names, "ppermute")
    n = math.prod(f.size for f in frames)
    pairs = _check_perm(perm, n, "ppermute")
    if len(frames) == 1:
        f = frames[0]
        return tree_map(lambda v: _na.ppermute(v, f.token, f.name, f.size, pairs), x)
    # Several names: members are numbered row-major (axis_index of the tuple); gather every
    # member's value and pick the source.
    src = _np.full(n, -1, _np.int32)
    for s, d in pairs:
        src[d] = s
    me = axis_index(names)
    s = _fnp.asarray(src)[me]

    def one(v: Any) -> Any:
        everyone = all_gather(v, names)
        got = everyone[_fnp.maximum(s, 0)]
        return _fnp.where(s >= 0, got, _fnp.zeros_like(got))

    return tree_map(one, x)


def pshuffle(x: Any, axis_name: AxisName | Sequence[AxisName], perm: Sequence[int]) -> Any:
    """Member ``i`` receives the ``x`` of member ``perm[i]`` (``perm`` a permutation).

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.pshuffle(x, "i", [2, 0, 1]), axis_name="i")(np.arange(3.0))
    Array([2., 0., 1.])
    """
    perm = list(perm)
    if sorted(perm) != list(range(len(perm))):
        raise _errors.LocatedValueError(
            f"pshuffle: `perm` does not represent a permutation: {perm}"
        )
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)))))


def all_to_all(
    x: Any,
    axis_name: AxisName | Sequence[AxisName],
    split_axis: int,
    concat_axis: int,
    *,
    axis_index_groups: Any = None,
    tiled: bool = False,
) -> Any:
    """Member ``k`` receives slice ``k`` of ``split_axis`` from every member, stacked along
    ``concat_axis`` of the result (``tiled=True``: chunk ``k``, concatenated along the existing
    ``concat_axis``). Its VJP swaps the two axes.

    >>> import numpy as np, funcgrad as fg
    >>> x = np.arange(4.0).reshape(2, 2)
    >>> fg.vmap(lambda r: fg.lax.all_to_all(r, "i", 0, 0), axis_name="i")(x)
    Array([[0., 2.],
           [1., 3.]])
    """
    _no_groups(axis_index_groups, "all_to_all")
    names, frames = _frames(axis_name, "all_to_all")
    _need_names(names, "all_to_all")

    def one(v: Any) -> Any:
        nd = _np.ndim(v)
        sa = _axis(split_axis, nd, "all_to_all", "split_axis")
        ca = _axis(concat_axis, nd, "all_to_all", "concat_axis")
        if len(frames) == 1:
            f = frames[0]
            return _na.all_to_all(v, f.token, f.name, f.size, sa, ca, bool(tiled))
        n = math.prod(f.size for f in frames)
        m = _np.shape(v)[sa]
        if (m % n) if tiled else (m != n):
            raise _errors.LocatedValueError(
                f"all_to_all: split_axis {sa} has size {m}, but the axes {names} have {n} "
                + ("members, which must divide it" if tiled else "members; they must be equal")
            )
        # Several names: gather every member's value, keep this member's slice (or chunk) of
        # the split axis; the gathered axis is the one that goes to concat_axis.
        everyone = all_gather(v, names)  # (n, *shape)
        me = axis_index(names)
        if tiled:
            everyone = _fnp.reshape(
                everyone, everyone.shape[: sa + 1] + (n, m // n) + everyone.shape[sa + 2 :]
            )
        mine = _fnp.take(everyone, me, axis=sa + 1)  # (n, *shape without the split axis)
        if not tiled:
            return _fnp.moveaxis(mine, 0, ca)
        mine = _fnp.moveaxis(mine, 0, ca)  # the split axis keeps its place (size m // n)
        s = mine.shape
        return _fnp.reshape(mine, s[:ca] + (s[ca] * s[ca + 1],) + s[ca + 2 :])

    return tree_map(one, x)


def pswapaxes(
    x: Any, axis_name: AxisName | Sequence[AxisName], axis: int, *, axis_index_groups: Any = None
) -> Any:
    """Swap the named axis with the positional axis ``axis``: ``all_to_all(x, axis_name,
    axis, axis)``.

    >>> import numpy as np, funcgrad as fg
    >>> x = np.arange(4.0).reshape(2, 2)
    >>> fg.vmap(lambda r: fg.lax.pswapaxes(r, "i", 0), axis_name="i")(x)
    Array([[0., 2.],
           [1., 3.]])
    """
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


def pbroadcast(x: Any, axis_name: AxisName | Sequence[AxisName], source: int) -> Any:
    """Every member receives the ``x`` of member ``source``: ``psum`` of ``x`` masked to the
    source (JAX's definition, and its derivative: the summed cotangent goes to the source).

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: fg.lax.pbroadcast(x, "i", 2), axis_name="i")(np.arange(3.0))
    Array([2., 2., 2.])
    """
    names, frames = _frames(axis_name, "pbroadcast")
    _need_names(names, "pbroadcast")
    n = math.prod(f.size for f in frames)
    try:
        src = operator.index(source)
    except TypeError:
        raise _errors.LocatedTypeError(
            f"pbroadcast: source must be an int, got {source!r}"
        ) from None
    if not 0 <= src < n:
        raise _errors.LocatedValueError(
            f"pbroadcast: source {src} is out of range for an axis of size {n}"
        )
    is_source = axis_index(names) == src
    return tree_map(lambda v: psum(_fnp.where(is_source, v, _fnp.zeros_like(v)), names), x)


def axis_index(axis_name: AxisName | Sequence[AxisName]) -> Any:
    """This member's index along the named axis (int32); for a tuple of names, the row-major
    index over all of them.

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: x * fg.lax.axis_index("i"), axis_name="i")(np.ones(3))
    Array([0., 1., 2.])
    """
    names, frames = _frames(axis_name, "axis_index")
    if len(frames) == 1:
        return _na.axis_index(frames[0].token, frames[0].name)
    index: Any = 0
    inner = 1
    for f in reversed(frames):
        index = _na.axis_index(f.token, f.name) * inner + index
        inner *= f.size
    return index if frames else _np.int32(0)


def axis_size(axis_name: AxisName | Sequence[AxisName]) -> int:
    """The number of members of the named axis (the product over a tuple of names).

    >>> import numpy as np, funcgrad as fg
    >>> fg.vmap(lambda x: x * fg.lax.axis_size("i"), axis_name="i")(np.ones(2))
    Array([2., 2.])
    """
    _, frames = _frames(axis_name, "axis_size")
    return math.prod(f.size for f in frames)
