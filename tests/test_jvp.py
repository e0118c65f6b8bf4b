"""Forward mode: ``fg.jvp`` for every differentiable primitive against central finite
differences, the transpose identity <u, J v> = <J^T u, v> between ``jvp`` and ``vjp``,
higher-order ``check_grads``, pytrees, symbolic zero tangents, dtypes and errors."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.numpy.linalg  # noqa: F401  (fnp.linalg)
from funcgrad import lax
from funcgrad.primitives import registry
from funcgrad.primitives.structural import Index, Slice, scatter_add
from funcgrad.test_util import check_grads

HSET = settings(max_examples=20, deadline=None, database=None)
DTYPES = [np.float64, np.float32]

# ---------------------------------------------------------------------------------------------
# Drawing shapes and values
# ---------------------------------------------------------------------------------------------


def _shape(data: Any, min_dims: int = 0) -> tuple[int, ...]:
    return data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))


def _bshapes(data: Any, n: int = 2) -> tuple[tuple[int, ...], ...]:
    """``n`` shapes that broadcast together (numpy rules), each of at most 3 dims."""
    s = data.draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=0, max_dims=3, min_side=1, max_side=4
        )
    )
    return s.input_shapes


def _values(rng: np.random.Generator, shape: tuple[int, ...], domain: str) -> np.ndarray:
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "pos":  # log, sqrt, pow base
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":  # abs, division, negative powers
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "small":  # tan, exponents
        return rng.uniform(-1.0, 1.0, shape)
    raise AssertionError(domain)


def _rng(data: Any) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def _axis_arg(data: Any, ndim: int) -> Any:
    """None, an int (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    choice = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return data.draw(st.integers(-ndim, ndim - 1))
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if data.draw(st.booleans()) else a for a in axes)


# ---------------------------------------------------------------------------------------------
# One case per differentiable primitive: `build(data, rng)` returns (variants, args) where each
# variant is the same function written with funcgrad.numpy, with plain numpy on tracers, or
# with operators; every variant lowers to the case's primitive (checked below).
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    prim: str
    build: Callable[[Any, np.random.Generator], tuple[list[Callable[..., Any]], list[Any]]]
    eps: float = 1e-6
    id: str = ""


CASES: list[Case] = []


def _case(prim: str, build: Any, eps: float = 1e-6, id: str = "") -> None:
    CASES.append(Case(prim, build, eps, id or prim))


UNARY = [
    ("neg", [fnp.negative, np.negative, operator.neg], "real"),
    ("exp", [fnp.exp, np.exp], "real"),
    ("log", [fnp.log, np.log], "pos"),
    ("log1p", [fnp.log1p, np.log1p], "pos"),
    ("expm1", [fnp.expm1, np.expm1], "real"),
    ("sin", [fnp.sin, np.sin], "real"),
    ("cos", [fnp.cos, np.cos], "real"),
    ("tan", [fnp.tan, np.tan], "small"),
    ("tanh", [fnp.tanh, np.tanh], "real"),
    ("arctan", [fnp.arctan, np.arctan], "real"),
    ("sqrt", [fnp.sqrt, np.sqrt], "pos"),
    ("abs", [fnp.abs, np.abs, np.absolute, abs], "nonzero"),
]

for _name, _fns, _dom in UNARY:

    def _build_unary(data: Any, rng: Any, fns: Any = _fns, dom: str = _dom) -> Any:
        return list(fns), [_values(rng, _shape(data), dom)]

    _case(_name, _build_unary)

BINARY = [
    ("add", [fnp.add, np.add, operator.add], "real", "real"),
    ("sub", [fnp.subtract, np.subtract, operator.sub], "real", "real"),
    ("mul", [fnp.multiply, np.multiply, operator.mul], "real", "real"),
    ("div", [fnp.divide, np.divide, np.true_divide, operator.truediv], "real", "nonzero"),
    ("pow", [fnp.power, np.power, operator.pow], "pos", "small"),
    ("maximum", [fnp.maximum, np.maximum], "real", "real"),
    ("minimum", [fnp.minimum, np.minimum], "real", "real"),
]

for _name, _fns, _dx, _dy in BINARY:

    def _build_binary(data: Any, rng: Any, fns: Any = _fns, dx: str = _dx, dy: str = _dy) -> Any:
        sx, sy = _bshapes(data)
        x, y = _values(rng, sx, dx), _values(rng, sy, dy)
        # Python-scalar operands (weakly typed) on one side, too.
        variants = list(fns)
        c = 1.5
        variants.append(lambda x, y, f=fns[0]: f(x, c) + f(c, y))
        return variants, [x, y]

    _case(_name, _build_binary)


def _build_integer_pow(data: Any, rng: Any) -> Any:
    k = data.draw(st.sampled_from([0, 1, 2, 3, 4, -1, -2]))
    x = _values(rng, _shape(data), "nonzero")
    variants = [lambda x: x**k, lambda x: np.power(x, k), lambda x: fnp.power(x, k)]
    if k == 2:
        variants += [fnp.square, np.square]
    return variants, [x]


_case("integer_pow", _build_integer_pow)


def _build_select(data: Any, rng: Any) -> Any:
    sc, sx, sy = _bshapes(data, 3)
    c = rng.random(sc) > 0.5
    x, y = _values(rng, sx, "real"), _values(rng, sy, "real")
    return [
        lambda x, y: fnp.where(c, x, y),
        lambda x, y: np.where(c, x, y),
        lambda x, y: fnp.where(x > 0.1, x, y * 2.0),  # condition computed from a traced value
    ], [x, y]


_case("select", _build_select)


def _build_convert(data: Any, rng: Any) -> Any:
    x = _values(rng, _shape(data), "real")
    # The target dtype is the *other* float width (the test casts x to its dtype first).
    return [
        lambda x: x.astype(np.float32 if x.dtype == np.float64 else np.float64) * 3.0,
        lambda x: fnp.astype(x, np.float32 if x.dtype == np.float64 else np.float64),
        lambda x: fnp.asarray(x, dtype=np.float32 if x.dtype == np.float64 else np.float64),
    ], [x]


# Linear in x: a larger step is exact and survives the float32 rounding of the output.
_case("convert_element_type", _build_convert, eps=1e-2)


def _build_broadcast(data: Any, rng: Any) -> Any:
    target = _shape(data, min_dims=1)
    nd = data.draw(st.integers(0, len(target)))
    xs = tuple(1 if data.draw(st.booleans()) else s for s in target[len(target) - nd :])
    x = _values(rng, xs, "real")
    return [
        lambda x: fnp.broadcast_to(x, target),
        lambda x: np.broadcast_to(x, target),
        lambda x: fnp.broadcast_to(x, (2,) + target),
    ], [x]


_case("broadcast_in_dim", _build_broadcast)


def _build_reshape(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    x = _values(rng, s, "real")
    return [
        lambda x: x.reshape(-1),
        lambda x: np.reshape(x, s[::-1]),
        lambda x: fnp.reshape(x, (1,) + s + (1,)),
        fnp.ravel,
        np.ravel,
    ], [x]


_case("reshape", _build_reshape)


def _build_squeeze(data: Any, rng: Any) -> Any:
    s = list(_shape(data))
    pos = data.draw(st.integers(0, len(s)))
    s.insert(pos, 1)
    x = _values(rng, tuple(s), "real")
    return [
        lambda x: fnp.squeeze(x, axis=pos),
        lambda x: np.squeeze(x, axis=pos - len(s)),
        lambda x: x.squeeze(pos),
        fnp.squeeze,
    ], [x]


_case("squeeze", _build_squeeze)


def _build_expand(data: Any, rng: Any) -> Any:
    s = _shape(data)
    ax = data.draw(st.integers(-len(s) - 1, len(s)))
    x = _values(rng, s, "real")
    return [
        lambda x: fnp.expand_dims(x, ax),
        lambda x: np.expand_dims(x, ax),
        lambda x: fnp.expand_dims(x, (0, -1)),
    ], [x]


_case("expand_dims", _build_expand)


def _build_transpose(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=2)
    perm = tuple(data.draw(st.permutations(range(len(s)))))
    x = _values(rng, s, "real")
    return [
        lambda x: x.T,
        np.transpose,
        lambda x: fnp.transpose(x, perm),
        lambda x: np.transpose(x, perm),
        lambda x: fnp.swapaxes(x, 0, -1),
        lambda x: np.moveaxis(x, 0, -1),
        lambda x: x.mT,
    ], [x]


_case("transpose", _build_transpose)


def _nontrivial_index(data: Any, shape: tuple[int, ...], newaxis: bool = True) -> Any:
    idx = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=newaxis))
    tup = idx if isinstance(idx, tuple) else (idx,)
    assume(not all(i is Ellipsis or i == slice(None) for i in tup))
    return idx


def _build_getitem(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = _nontrivial_index(data, s)
    x = _values(rng, s, "real")
    return [lambda x: x[idx], lambda x: operator.getitem(x, idx)], [x]


_case("getitem", _build_getitem)


def _build_scatter_add(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = _nontrivial_index(data, s, newaxis=False)
    tup = idx if isinstance(idx, tuple) else (idx,)
    # As a funcgrad Index (no Ellipsis): expand `...` to full slices.
    n_real = sum(1 for i in tup if i is not Ellipsis)
    parts: list[Any] = []
    for i in tup:
        if i is Ellipsis:
            parts += [Slice(None, None, None)] * (len(s) - n_real)
        elif isinstance(i, slice):
            parts.append(Slice(i.start, i.stop, i.step))
        else:
            parts.append(int(i) % s[len(parts)])
    index = Index(parts)
    g = _values(rng, np.zeros(s)[idx].shape, "real")
    return [lambda g: scatter_add(g, index, s)], [g]


_case("scatter_add", _build_scatter_add)


def _build_concatenate(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    n = data.draw(st.integers(2, 3))
    args = []
    for _ in range(n):
        sk = list(s)
        sk[ax] = data.draw(st.integers(1, 3))
        args.append(_values(rng, tuple(sk), "real"))
    return [
        lambda *xs: fnp.concatenate(list(xs), axis=ax),
        lambda *xs: np.concatenate(xs, axis=ax),
        lambda *xs: fnp.concatenate([xs[0] * 2.0, *xs[1:]], axis=ax),
    ], args


_case("concatenate", _build_concatenate)


def _build_stack(data: Any, rng: Any) -> Any:
    s = _shape(data)
    ax = data.draw(st.integers(-len(s) - 1, len(s)))
    x, y = _values(rng, s, "real"), _values(rng, s, "real")
    return [lambda x, y: fnp.stack([x, y], axis=ax), lambda x, y: np.stack([y, x, y], axis=ax)], [
        x,
        y,
    ]


_case("concatenate", _build_stack, id="stack")


def _build_reduce(fns: list[Callable[..., Any]], ufunc: Any) -> Any:
    def build(data: Any, rng: Any) -> Any:
        s = _shape(data)
        axis = _axis_arg(data, len(s))
        keep = data.draw(st.booleans())
        x = _values(rng, s, "real")
        variants = [lambda x, f=f: f(x, axis=axis, keepdims=keep) for f in fns]
        variants.append(lambda x: ufunc.reduce(x, axis=axis, keepdims=keep))
        return variants, [x]

    return build


_case(
    "reduce_sum",
    _build_reduce([fnp.sum, np.sum, lambda x, **k: x.sum(**k), fnp.mean, np.mean], np.add),
)
_case(
    "reduce_max",
    _build_reduce([fnp.max, np.max, np.amax, lambda x, **k: x.max(**k)], np.maximum),
)
_case(
    "reduce_min",
    _build_reduce([fnp.min, np.min, np.amin, lambda x, **k: x.min(**k)], np.minimum),
)


def _matmul_shapes(data: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    xn, yn = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    b = data.draw(st.integers(1, 4))
    xb = (data.draw(st.sampled_from([1, b])),) if xn == 3 else ()
    yb = (data.draw(st.sampled_from([1, b])),) if yn == 3 else ()
    xs = (k,) if xn == 1 else xb + (n, k)
    ys = (k,) if yn == 1 else yb + (k, m)
    return xs, ys


def _build_matmul(data: Any, rng: Any) -> Any:
    xs, ys = _matmul_shapes(data)
    x, y = _values(rng, xs, "real"), _values(rng, ys, "real")
    variants = [operator.matmul, np.matmul, fnp.matmul]
    if x.ndim <= 2 and y.ndim <= 2:
        variants += [fnp.dot, np.dot, lambda x, y: x.dot(y)]
    return variants, [x, y]


_case("matmul", _build_matmul)


def _build_conv(data: Any, rng: Any) -> Any:
    w = data.draw(st.integers(3, 6))
    stride = data.draw(st.integers(1, 2))
    pad = data.draw(st.sampled_from(["VALID", "SAME"]))
    x, k = rng.standard_normal((2, 2, w)), rng.standard_normal((3, 2, 2))
    return [lambda x, k: lax.conv(x, k, (stride,), pad)], [x, k]


_case("conv", _build_conv)


# --- primitives added to the table by other modules, reachable through funcgrad.numpy -------


def _well_conditioned(rng: Any, shape: tuple[int, ...]) -> np.ndarray:
    n = shape[-1]
    return np.eye(n) * 2.0 + rng.standard_normal(shape) * 0.3


def _build_cumsum(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    return [lambda x: fnp.cumsum(x, axis=ax), lambda x: np.cumsum(x, axis=ax)], [
        _values(rng, s, "real")
    ]


def _build_prod(data: Any, rng: Any) -> Any:
    s = _shape(data)
    axis = _axis_arg(data, len(s))
    return [lambda x: fnp.prod(x, axis=axis), lambda x: np.prod(x, axis=axis)], [
        _values(rng, s, "nonzero")
    ]


def _build_take_along_axis(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    ishape = list(s)
    ishape[ax] = data.draw(st.integers(1, 5))
    idx = rng.integers(0, s[ax], tuple(ishape))  # repeats allowed: they accumulate
    return [
        lambda x: fnp.take_along_axis(x, idx, axis=ax),
        lambda x: np.take_along_axis(x, idx, axis=ax),
    ], [_values(rng, s, "real")]


def _build_einsum(data: Any, rng: Any) -> Any:
    spec, shapes = data.draw(
        st.sampled_from(
            [
                ("ij,jk->ik", [(2, 3), (3, 4)]),
                ("i,i->", [(3,), (3,)]),
                ("bij,bjk->bik", [(2, 3, 2), (2, 2, 4)]),
                ("ij,kj->ikj", [(2, 3), (4, 3)]),
                ("ii->i", [(3, 3)]),
                ("ij->", [(2, 3)]),
            ]
        )
    )
    return [
        lambda *xs: fnp.einsum(spec, *xs),
        lambda *xs: np.einsum(spec, *xs),
    ], [_values(rng, sh, "real") for sh in shapes]


def _square_shape(data: Any) -> tuple[int, ...]:
    n = data.draw(st.integers(1, 4))
    return (data.draw(st.integers(1, 3)),) * data.draw(st.integers(0, 1)) + (n, n)


def _build_inv(data: Any, rng: Any) -> Any:
    return [fnp.linalg.inv, np.linalg.inv], [_well_conditioned(rng, _square_shape(data))]


def _build_solve(data: Any, rng: Any) -> Any:
    n = data.draw(st.integers(1, 4))
    bs = data.draw(st.sampled_from([(n,), (n, 2)]))
    return [fnp.linalg.solve, np.linalg.solve], [
        _well_conditioned(rng, (n, n)),
        _values(rng, bs, "real"),
    ]


def _build_det(data: Any, rng: Any) -> Any:
    return [fnp.linalg.det, np.linalg.det], [_well_conditioned(rng, _square_shape(data))]


def _build_cholesky(data: Any, rng: Any) -> Any:
    s = _square_shape(data)
    # x -> cholesky(x x^T + 2 I): smooth in an unconstrained x.
    spd = lambda x: x @ np.swapaxes(x, -1, -2) + 2.0 * np.eye(s[-1])
    return [lambda x: fnp.linalg.cholesky(spd(x)), lambda x: np.linalg.cholesky(spd(x))], [
        _values(rng, s, "real")
    ]


def _build_svdvals(data: Any, rng: Any) -> Any:
    n = data.draw(st.integers(1, 4))
    # Well separated singular values (derivatives blow up near repeated ones).
    x = np.diag(np.arange(1.0, n + 1.0) * 1.5) + rng.standard_normal((n, n)) * 0.1
    return [fnp.linalg.svdvals], [x]


def _build_pinv(data: Any, rng: Any) -> Any:
    n = data.draw(st.integers(1, 3))
    x = np.vstack([np.eye(n) * 2.0, np.zeros((1, n))]) + rng.standard_normal((n + 1, n)) * 0.2
    return [fnp.linalg.pinv, np.linalg.pinv], [x]


def _traced(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` evaluated on (concrete) tracers, for functions that only accept traced values
    (``x.at[...]``): the finite-difference reference then calls it on plain arrays."""
    return lambda *a: fg.jvp(f, a, tuple(np.zeros_like(x) for x in a))[0]


def _build_gather(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = rng.integers(0, s[0], data.draw(st.integers(1, 4)))  # repeats allowed
    idx2 = rng.integers(0, s[-1], (2, 2))
    return [lambda x: x[idx], lambda x: x[..., idx2], lambda x: x[idx, ..., None]], [
        _values(rng, s, "real")
    ]


def _build_index_update(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = rng.integers(0, s[0], 3)  # repeated indices accumulate
    x, v = _values(rng, s, "real"), _values(rng, (3,) + s[1:], "real")
    return [
        _traced(lambda x, v: x.at[idx].add(v)),
        _traced(lambda x, v: x.at[0].set(v[0] * 2.0)),
        _traced(lambda x, v: x.at[idx[:1]].multiply(v[:1])),
        _traced(lambda x, v: x.at[idx].min(v)),
        _traced(lambda x, v: x.at[idx].max(v)),
    ], [x, v]


def _build_decompositions(data: Any, rng: Any) -> Any:
    n = data.draw(st.integers(1, 4))
    # Well separated eigen/singular values: the factorizations are smooth there.
    x = np.diag(np.arange(1.0, n + 1.0) * 1.5) + rng.standard_normal((n, n)) * 0.1
    L = fnp.linalg
    sym = lambda x: (x + x.T) / 2.0
    return [
        lambda x: L.slogdet(x)[1],
        lambda x: L.eigh(sym(x))[0],
        lambda x: L.eigh(sym(x))[1] * L.eigh(sym(x))[1],  # squares: sign-free
        lambda x: L.qr(x)[0] @ L.qr(x)[1],
        lambda x: L.svd(x)[1],
        lambda x: L.svd(x)[0] * L.svd(x)[0],
    ], [x]


def _build_take_along_axis_vjp(data: Any, rng: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    ishape = list(s)
    ishape[ax] = data.draw(st.integers(1, 5))
    idx = rng.integers(0, s[ax], tuple(ishape))
    # Linear in w: the VJP of take_along_axis is a scatter-add along the axis.
    return [
        lambda w: fg.vjp(lambda y: fnp.take_along_axis(y, idx, axis=ax), np.ones(s))[1](w)[0]
    ], [_values(rng, tuple(ishape), "real")]


for _prim, _build, _id in [
    ("gather", _build_gather, "gather"),
    ("index_add", _build_index_update, "index_update"),
    ("slogdet", _build_decompositions, "decompositions"),
    ("scatter_add_along_axis", _build_take_along_axis_vjp, "take_along_axis_vjp"),
    ("cumsum", _build_cumsum, "cumsum"),
    ("reduce_prod", _build_prod, "prod"),
    ("take_along_axis", _build_take_along_axis, "take_along_axis"),
    ("einsum", _build_einsum, "einsum"),
    ("inv", _build_inv, "inv"),
    ("solve", _build_solve, "solve"),
    ("det", _build_det, "det"),
    ("cholesky", _build_cholesky, "cholesky"),
    ("svdvals", _build_svdvals, "svdvals"),
    ("pinv", _build_pinv, "pinv"),
]:
    if _prim in registry:
        _case(_prim, _build, id=_id)


# --- every other elementwise primitive in the table: called through bind, on a domain where it
# is finite (found by trying a few intervals) -------------------------------------------------

_INTERVALS = [(0.2, 0.8), (1.2, 1.8), (-0.8, -0.2), (-1.8, -1.2)]


def _elementwise_arity(prim: Any) -> int | None:
    if isinstance(prim.ufunc, np.ufunc):
        return int(prim.ufunc.nin)
    if type(prim.jvp) is tuple:
        return len(prim.jvp)
    return None


def _find_interval(prim: Any, nin: int) -> tuple[float, float] | None:
    probe = np.random.default_rng(0)
    for lo, hi in _INTERVALS:
        xs = [probe.uniform(lo, hi, 16) for _ in range(nin)]
        with np.errstate(all="ignore"):
            out = np.asarray(prim.impl(*xs))
        if out.dtype.kind == "f" and np.all(np.isfinite(out)):
            return lo, hi
    return None


def _auto_elementwise(prim: Any, nin: int, interval: tuple[float, float]) -> Any:
    from funcgrad.core.tracer import bind

    def build(data: Any, rng: Any) -> Any:
        shapes = _bshapes(data, nin) if nin > 1 else (_shape(data),)
        args = [rng.uniform(*interval, sh) for sh in shapes]
        variants = [lambda *xs: bind(prim, *xs)]
        if isinstance(prim.ufunc, np.ufunc):
            variants.append(lambda *xs: prim.ufunc(*xs))  # plain numpy on tracers
        return variants, args

    return build


ALSO_COVERED_BY = {
    "index_update": ("index_add", "index_set", "index_mul", "index_min", "index_max"),
    "decompositions": ("slogdet", "eigh", "qr", "svd"),
    # tests/test_fft.py (dot-product identity, finite differences) and, for special functions
    # with a non-differentiable argument (registered once funcgrad.scipy is imported),
    # tests/test_scipy_special.py
    # tests/test_random.py: gamma's implicit-reparameterization derivative (not the pathwise
    # derivative of the rejection loop, so finite differences of samples do not apply) is
    # checked against JAX and against finite differences of the CDF
    "random_gamma": ("random_gamma", "random_gamma_grad_partials"),
    "fft_and_partial_special": (
        "fft", "betainc", "gammainc_da", "polygamma", "zeta", "expn", "hyp1f1", "hyp2f1",
        "jv", "yv", "iv", "ive",
    ),
}  # fmt: skip
ALSO_COVERED = {p for ps in ALSO_COVERED_BY.values() for p in ps if p in registry}
_explicit = {c.prim for c in CASES} | ALSO_COVERED
for _name in sorted(registry):
    _p = registry[_name]
    if _name in _explicit or not _p.differentiable or _p.jvp_full is not None:
        continue
    from funcgrad.primitives.elementwise import batch_elementwise as _bew

    if _p.batch is not _bew or _p.multiple_results:
        continue
    _nin = _elementwise_arity(_p)
    _iv = _find_interval(_p, _nin) if _nin else None
    if _iv is not None:
        _case(_name, _auto_elementwise(_p, _nin, _iv), id=f"auto-{_name}")

CASE_IDS = [c.id for c in CASES]

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


# Primitives with jump discontinuities (derivative defined almost everywhere).
JUMPS = {"fmod", "remainder"}


def _tol(dtype: Any) -> float:
    return 1e-6 if np.dtype(dtype) == np.float64 else 2e-4


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _central_fd(f: Callable[..., Any], args: list[Any], tans: list[Any], eps: float) -> Any:
    """(f(x + eps t) - f(x - eps t)) / 2 eps with every leaf in float64 (f is evaluated on
    float64 copies, so float32 cases compare against a float64 reference)."""
    hi = f(*[_f64(a) + eps * _f64(t) for a, t in zip(args, tans)])
    lo = f(*[_f64(a) - eps * _f64(t) for a, t in zip(args, tans)])
    return (_f64(hi) - _f64(lo)) / (2 * eps)


def _assert_close(got: Any, want: Any, tol: float, what: str) -> None:
    got, want = _f64(got), _f64(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = 1.0 + (np.max(np.abs(want)) if want.size else 0.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


def _build(case: Case, data: Any, dtype: Any) -> tuple[list[Callable[..., Any]], list[Any]]:
    variants, args = case.build(data, _rng(data))
    return variants, [np.asarray(a, dtype=dtype) for a in args]


def _ir_prims(f: Callable[..., Any], args: list[Any]) -> set[str]:
    return {e.prim.name for e in fg.make_ir(f)(*args).eqns}


# ---------------------------------------------------------------------------------------------
# Every primitive: jvp vs finite differences, and the jvp/vjp transpose identity
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@HSET
@given(data=st.data())
def test_jvp_finite_differences_and_vjp_transpose(case: Case, dtype: Any, data: Any) -> None:
    """For every variant: (1) ``jvp`` against central finite differences (float64 reference,
    output shape and dtype preserved); (2) the transpose identity <u, J v> = <J^T u, v> between
    ``jvp`` and ``vjp`` for random u, v. One hypothesis run checks both (runtime)."""
    rng = _rng(data)
    variants, args = case.build(data, rng)
    args = [np.asarray(a, dtype=dtype) for a in args]
    tans = [rng.standard_normal(np.shape(a)).astype(dtype) for a in args]
    for i, f in enumerate(variants):
        what = f"{case.id} variant {i} ({np.dtype(dtype)})"
        out, tout = fg.jvp(f, tuple(args), tuple(tans))
        want_out = f(*args)
        assert np.shape(out) == np.shape(want_out), what
        assert np.asarray(out).dtype == np.asarray(want_out).dtype, what
        # The tangent has the output's shape and dtype (float32 stays float32).
        assert np.shape(tout) == np.shape(out), what
        assert np.asarray(tout).dtype == np.asarray(out).dtype, what
        want = _central_fd(f, args, tans, case.eps)
        tol = _tol(np.asarray(out).dtype) if case.prim != "convert_element_type" else 2e-4
        if case.prim in JUMPS:
            # Piecewise smooth: where a finite-difference step straddles a jump, two step
            # sizes disagree; compare only at points where the function is locally smooth.
            want_small = _central_fd(f, args, tans, case.eps / 4)
            smooth = np.abs(_f64(want) - _f64(want_small)) <= 1e-3 * (1 + np.abs(_f64(want)))
            tout_c = np.where(smooth, _f64(tout), 0.0)
            want = np.where(smooth, _f64(want), 0.0)
            _assert_close(tout_c, want, tol, what)
        else:
            _assert_close(tout, want, tol, what)

        # <u, J v> == <J^T u, v>, with v = tans and J v = tout from above.
        u = rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)
        out2, f_vjp = fg.vjp(f, *args)
        np.testing.assert_array_equal(out2, out)
        jtu = f_vjp(u)
        assert isinstance(jtu, tuple) and len(jtu) == len(args), what
        for c, a in zip(jtu, args):
            assert np.shape(c) == np.shape(a) and np.asarray(c).dtype == a.dtype, what
        lhs = np.sum(_f64(u) * _f64(tout))
        rhs = sum(np.sum(_f64(c) * _f64(v)) for c, v in zip(jtu, tans))
        scale = np.sum(np.abs(_f64(u) * _f64(tout))) + sum(
            np.sum(np.abs(_f64(c) * _f64(v))) for c, v in zip(jtu, tans)
        )
        exact = np.asarray(out).dtype == np.float64 and dtype == np.float64
        assert abs(lhs - rhs) <= (1e-10 if exact else 1e-4) * (1.0 + scale), (
            f"{what}: <u, Jv> = {lhs!r} but <J^T u, v> = {rhs!r}"
        )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@settings(max_examples=3, deadline=None, database=None)
@given(data=st.data())
def test_case_exercises_its_primitive(case: Case, data: Any) -> None:
    """Each variant (fnp, plain numpy on tracers, operators) really lowers to the primitive
    its case is meant to test (so the table above covers what it claims)."""
    variants, args = _build(case, data, np.float64)
    seen: set[str] = set()
    for i, f in enumerate(variants):
        prims = _ir_prims(f, args)
        seen |= prims
        if not prims or case.prim in ALSO_COVERED_BY.get(case.id, ()):
            continue  # a no-op on this shape (ravel of a 1-D array, identity permutation, ...)
        if case.id in ALSO_COVERED_BY:
            continue  # variants exercise different primitives of one family
        assert case.prim in prims, f"{case.id} variant {i} lowers to {sorted(prims)}"
    for p in ALSO_COVERED_BY.get(case.id, ()):
        assert p in seen or not seen, f"{case.id}: no variant lowers to {p} ({sorted(seen)})"


CORE_DIFFERENTIABLE = {
    "add", "sub", "mul", "div", "neg", "integer_pow", "pow", "exp", "log", "log1p", "expm1",
    "sin", "cos", "tan", "tanh", "arctan", "sqrt", "abs", "maximum", "minimum", "select",
    "convert_element_type", "broadcast_in_dim", "reshape", "squeeze", "expand_dims",
    "transpose", "getitem", "scatter_add", "concatenate", "reduce_sum", "reduce_max",
    "reduce_min", "matmul",
}  # fmt: skip


def test_core_primitives_all_have_cases() -> None:
    covered = {c.prim for c in CASES}
    missing = CORE_DIFFERENTIABLE - covered
    assert not missing, f"no jvp test case for {sorted(missing)}"
    for name in CORE_DIFFERENTIABLE:
        assert registry[name].differentiable, name


@pytest.mark.parametrize("name", sorted(registry))
def test_registry_primitive_is_covered(name: str) -> None:
    prim = registry[name]
    if not prim.differentiable or name in {c.prim for c in CASES} | ALSO_COVERED:
        return
    if prim.jvp_full is not None or prim.vjp_full is not None:
        pytest.skip(f"{name!r} carries a sub-IR (whole-primitive rules); tested with its API")
    pytest.skip(f"primitive {name!r} was added after these tests; add a jvp case for it")


# ---------------------------------------------------------------------------------------------
# check_grads, orders 1-3
# ---------------------------------------------------------------------------------------------

_R = np.random.default_rng(0)
_A = _R.standard_normal((3, 4)) * 0.5
_X4 = _R.standard_normal(4) * 0.7
_Y3 = _R.uniform(0.5, 1.5, 3)

SMOOTH_SCALAR = {
    "sin_exp": (lambda x: fnp.sum(fnp.sin(x) * fnp.exp(x / 3.0)), (_X4,)),
    "tanh_quad": (lambda x: fnp.sum(fnp.tanh(_A @ x) ** 2), (_X4,)),
    "logsumexp": (lambda x: fnp.log(fnp.sum(fnp.exp(x))), (_X4,)),
    "two_args": (lambda x, y: fnp.sum(fnp.log(y) * (_A @ x)) + fnp.sum(y**3), (_X4, _Y3)),
    "scalar_in": (lambda t: fnp.sin(t) * t**3 + fnp.sqrt(1.0 + t * t), (np.float64(0.7),)),
    "np_on_tracers": (lambda x: np.sum(np.cos(x) * np.arctan(x)) / np.sum(x * x), (_X4,)),
}
SMOOTH_VECTOR = {
    "tanh_affine": (lambda x: fnp.tanh(_A @ x + 0.1), (_X4,)),
    "outer": (lambda x, y: fnp.outer(fnp.sin(x), y) ** 2, (_X4, _Y3)),
    "matrix_in": (lambda m: np.exp(m) @ m.T, (_R.standard_normal((3, 3)) * 0.5,)),
    "softmax": (lambda x: fnp.exp(x) / fnp.sum(fnp.exp(x)), (_X4,)),
    "concat_index": (
        lambda x: fnp.concatenate([x[1:] * x[:-1], fnp.expm1(x[::2])]) ** 3,
        (_X4,),
    ),
    "pytree": (
        lambda p: {"a": p["w"] @ p["v"], "b": (fnp.log1p(p["v"] ** 2),)},
        ({"w": _A, "v": _X4},),
    ),
}


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name", sorted(SMOOTH_SCALAR) + sorted(SMOOTH_VECTOR))
def test_check_grads_orders(name: str, order: int) -> None:
    f, args = {**SMOOTH_SCALAR, **SMOOTH_VECTOR}[name]
    check_grads(f, args, order=order, modes=("fwd", "rev"))


def test_check_grads_float32() -> None:
    x = _X4.astype(np.float32)
    check_grads(lambda x: fnp.sum(fnp.tanh(x) * x), (x,), order=2, modes=("fwd", "rev"))


def test_check_grads_detects_a_wrong_derivative() -> None:
    # A stopped gradient hides a real dependence: autodiff says 0, finite differences do not.
    def g(x: Any) -> Any:
        return fnp.sin(fg.stop_gradient(x)) + x

    for mode in ("fwd", "rev"):
        with pytest.raises(AssertionError, match="worst mismatch|check_grads"):
            check_grads(g, (_X4,), order=1, modes=(mode,))


# ---------------------------------------------------------------------------------------------
# Pytrees, zero tangents, dtypes
# ---------------------------------------------------------------------------------------------


def test_jvp_pytree_primals_and_tangents() -> None:
    rng = np.random.default_rng(1)
    params = {"w": rng.standard_normal((3, 2)), "b": (rng.standard_normal(2), np.float64(0.5))}
    x = rng.standard_normal(3)
    tp = {"w": rng.standard_normal((3, 2)), "b": (rng.standard_normal(2), np.float64(-1.0))}
    tx = rng.standard_normal(3)

    def f(p: Any, x: Any) -> Any:
        h = fnp.tanh(x @ p["w"] + p["b"][0]) * p["b"][1]
        return {"h": h, "s": [fnp.sum(h**2), x * 2.0]}

    out, tout = fg.jvp(f, (params, x), (tp, tx))
    assert set(tout) == {"h", "s"} and isinstance(tout["s"], list)
    # Reference: finite differences on the flattened structure.
    eps = 1e-6

    def shifted(s: float) -> Any:
        p = {
            "w": params["w"] + s * tp["w"],
            "b": (params["b"][0] + s * tp["b"][0], params["b"][1] + s * tp["b"][1]),
        }
        return f(p, x + s * tx)

    hi, lo = shifted(eps), shifted(-eps)
    np.testing.assert_allclose(tout["h"], (hi["h"] - lo["h"]) / (2 * eps), rtol=1e-6, atol=1e-8)
    for j in range(2):
        np.testing.assert_allclose(
            tout["s"][j], (hi["s"][j] - lo["s"][j]) / (2 * eps), rtol=1e-6, atol=1e-8
        )
    np.testing.assert_allclose(out["h"], f(params, x)["h"])
    # Results are plain numpy, never tracers.
    for leaf in fg.tree_util.tree_leaves((out, tout)):
        assert isinstance(leaf, (np.ndarray, np.generic))


def test_jvp_lists_accepted_and_tuple_outputs() -> None:
    x = np.array([1.0, 2.0])
    out, tout = fg.jvp(lambda a, b: (a * b, a + b), [x, 2.0 * x], [np.ones(2), np.zeros(2)])
    np.testing.assert_allclose(tout[0], 2.0 * x)
    np.testing.assert_allclose(tout[1], np.ones(2))
    assert isinstance(out, tuple) and isinstance(tout, tuple)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_symbolic_zero_tangents(dtype: Any) -> None:
    x = np.arange(1.0, 4.0, dtype=dtype)
    t = np.ones(3, dtype)
    # Output does not depend on the input at all.
    out, tout = fg.jvp(lambda x: np.ones((2, 5), np.float32), (x,), (t,))
    assert tout.shape == (2, 5) and tout.dtype == np.float32 and not tout.any()
    out, tout = fg.jvp(lambda x: 3.0, (x,), (t,))
    assert np.shape(tout) == () and tout == 0.0
    # Depends only through non-differentiable or stopped paths.
    for f in [
        lambda x: fnp.sign(x) * 2.0,
        lambda x: fg.stop_gradient(x) ** 2,
        lambda x: (x > 1.5).astype(x.dtype),
        lambda x: fnp.zeros_like(x) + fnp.ones_like(x),
    ]:
        out, tout = fg.jvp(f, (x,), (t,))
        assert tout.shape == out.shape == (3,)
        assert tout.dtype == np.asarray(out).dtype
        assert not np.any(tout)
    # Several arguments, one ignored: its tangent contributes nothing.
    y = np.array([5.0, 6.0], dtype)
    out, tout = fg.jvp(lambda x, y: x * 2.0, (x, y), (t, np.full(2, 100.0, dtype)))
    np.testing.assert_array_equal(tout, 2.0 * t)
    assert tout.dtype == dtype
    # Zero tangents given explicitly behave like symbolic zeros.
    out, tout = fg.jvp(lambda x, y: fnp.sum(x) * fnp.sum(y), (x, y), (np.zeros(3, dtype), t[:2]))
    np.testing.assert_allclose(tout, np.sum(x) * 2.0, rtol=1e-6)


def test_zero_tangent_of_integer_output_has_right_shape() -> None:
    x = np.array([[0.3, 2.0, -1.0], [4.0, 0.0, 1.0]])
    out, tout = fg.jvp(lambda x: fnp.argmax(x, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(out, [1, 0])
    assert np.shape(tout) == (2,) and not np.any(tout)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x * 2.0 + 1.0,
        lambda x: x**2,
        lambda x: x**0.5,
        lambda x: 2.0**x,
        lambda x: fnp.exp(x) / 3,
        lambda x: fnp.mean(x) * x,
        lambda x: fnp.var(x) + fnp.std(x),
        lambda x: np.sum(x, axis=0) - 1,
        lambda x: fnp.maximum(x, 0.0) + fnp.minimum(x, 1),
        lambda x: fnp.where(x > 1.0, x, 0.0),
        lambda x: fnp.clip(x, 0.5, 2.5),
        lambda x: fnp.linalg.norm(x),
        lambda x: x @ np.ones((3, 2), np.float32),
    ],
)
def test_float32_preserved(f: Callable[..., Any]) -> None:
    x = np.array([1.0, 2.0, 3.0], np.float32)
    out, tout = fg.jvp(f, (x,), (np.ones(3, np.float32),))
    assert np.asarray(out).dtype == np.float32, np.asarray(out).dtype
    assert np.asarray(tout).dtype == np.float32, np.asarray(tout).dtype


def test_mixed_precision_tangent_follows_output_dtype() -> None:
    x32 = np.array([1.0, 2.0], np.float32)
    y64 = np.array([3.0, 4.0])
    out, tout = fg.jvp(lambda a, b: a * b, (x32, y64), (np.ones(2, np.float32), np.ones(2)))
    assert out.dtype == tout.dtype == np.float64
    np.testing.assert_allclose(tout, x32 + y64)


def test_jvp_is_linear_in_the_tangent() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5)
    t1, t2 = rng.standard_normal(5), rng.standard_normal(5)
    f = lambda x: fnp.tanh(x) * fnp.sum(fnp.sin(x))
    j1, j2 = fg.jvp(f, (x,), (t1,))[1], fg.jvp(f, (x,), (t2,))[1]
    j12 = fg.jvp(f, (x,), (2.0 * t1 - 3.0 * t2,))[1]
    np.testing.assert_allclose(j12, 2.0 * j1 - 3.0 * j2, rtol=1e-12, atol=1e-12)


def test_jvp_python_control_flow_on_values() -> None:
    def f(x: Any) -> Any:
        if fnp.sum(x) > 0:
            return x**3
        return -x

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(fg.jvp(f, (x,), (np.ones(2),))[1], 3 * x**2)
    np.testing.assert_allclose(fg.jvp(f, (-x,), (np.ones(2),))[1], -np.ones(2))


def test_jvp_does_not_mutate_inputs() -> None:
    x = np.array([1.0, 2.0, 3.0])
    t = np.array([0.5, 0.5, 0.5])
    xc, tc = x.copy(), t.copy()
    fg.jvp(lambda x: fnp.concatenate([x, x])[::2] * 2.0, (x,), (t,))
    np.testing.assert_array_equal(x, xc)
    np.testing.assert_array_equal(t, tc)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_error_tangent_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(2,\)|\(2,\).*\(3,\)"):
        fg.jvp(fnp.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(ValueError, match="shape"):
        fg.jvp(lambda a, b: a * b, (np.ones((2, 2)), np.ones(2)), (np.ones((2, 2)), np.ones(1)))


def test_error_tangent_structure_mismatch() -> None:
    with pytest.raises(ValueError, match="structure"):
        fg.jvp(lambda p: p["a"], ({"a": np.ones(2)},), ({"b": np.ones(2)},))
    with pytest.raises(ValueError, match="structure"):
        fg.jvp(lambda p: p[0], ((np.ones(2), np.ones(2)),), ((np.ones(2),),))


def test_error_tangent_count_mismatch() -> None:
    with pytest.raises(ValueError, match="tangent"):
        fg.jvp(lambda a, b: a * b, (np.ones(2), np.ones(2)), (np.ones(2),))


def test_error_primals_not_a_sequence() -> None:
    with pytest.raises(TypeError, match="tuple"):
        fg.jvp(fnp.sin, np.ones(2), np.ones(2))


def test_error_integer_primal() -> None:
    with pytest.raises(TypeError, match="float"):
        fg.jvp(lambda x: x * 2, (np.arange(3),), (np.ones(3),))


def test_traced_tangent_cast_to_primal_dtype() -> None:
    x32 = np.ones(2, np.float32)
    # A numpy tangent of another dtype is refused, naming both dtypes (as JAX does) ...
    with pytest.raises(
        TypeError, match=r"tangent 0 has dtype float64 but its primal has dtype float32"
    ):
        fg.jvp(lambda x: x, (x32,), (np.ones(2),))
    with pytest.raises(TypeError, match=r"dtype int64 but its primal has dtype float64"):
        fg.jvp(lambda x: x, (np.ones(2),), (np.ones(2, np.int64),))
    assert fg.jvp(lambda x: x * 2.0, (np.float32(1.0),), (1.0,))[1].dtype == np.float32
    # ... while traced ones (here: batched by vmap) are cast, also for a pass-through output.
    t = fg.vmap(lambda t: fg.jvp(lambda x: x * 2.0, (x32,), (t,))[1])(np.ones((3, 2)))
    assert t.dtype == np.float32
    t = fg.vmap(lambda t: fg.jvp(lambda x: x, (x32,), (t,))[1])(np.ones((3, 2)))
    assert t.dtype == np.float32
