"""Batching: ``fg.vmap`` of every primitive equals the loop ``np.stack([f(x) for x in xs])``,
for ``in_axes``/``out_axes`` mixes, pytree prefixes, nested vmap, matmul on either side,
errors, and per-example gradients as one batched computation."""

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
import funcgrad.random as fr
from funcgrad import lax
from funcgrad.primitives import registry
from funcgrad.primitives.structural import Index, Slice, scatter_add
from funcgrad.tree_util import tree_leaves, tree_map

try:  # the scipy-backed primitive families register on import (extra [scipy], part of [test])
    import funcgrad.scipy.linalg as fsl
    import funcgrad.scipy.special as fss
except ImportError:  # pragma: no cover
    fsl = fss = None

HSET = settings(max_examples=20, deadline=None, database=None)

# ---------------------------------------------------------------------------------------------
# Reference: the Python loop over the batch
# ---------------------------------------------------------------------------------------------


def _take(x: Any, ax: int | None, b: int) -> Any:
    return x if ax is None else np.take(x, b, axis=ax)


def loop_reference(
    f: Callable[..., Any], args: list[Any], in_axes: list[Any], out_axes: int, size: int
) -> Any:
    outs = [f(*[_take(a, ax, b) for a, ax in zip(args, in_axes)]) for b in range(size)]
    return tree_map(lambda *o: np.stack([np.asarray(v) for v in o], axis=out_axes), *outs)


def _assert_tree_close(got: Any, want: Any, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    gl, wl = tree_leaves(got), tree_leaves(want)
    assert len(gl) == len(wl)
    for g, w in zip(gl, wl):
        assert isinstance(g, (np.ndarray, np.generic)), type(g)
        assert np.shape(g) == np.shape(w), (np.shape(g), np.shape(w))
        assert np.asarray(g).dtype == np.asarray(w).dtype, (np.asarray(g).dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Case table: every primitive (differentiable or not). `build(data)` returns (variants, specs),
# one spec (shape, domain) per argument; values are drawn per batch element.
# ---------------------------------------------------------------------------------------------


@dataclass
class Case:
    prim: str
    build: Callable[[Any], tuple[list[Callable[..., Any]], list[tuple[tuple[int, ...], str]]]]
    id: str


CASES: list[Case] = []


def _case(prim: str, build: Any, id: str = "") -> None:
    CASES.append(Case(prim, build, id or prim))


def _shape(data: Any, min_dims: int = 0, max_dims: int = 3) -> tuple[int, ...]:
    return data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4))


def _bshapes(data: Any, n: int = 2) -> tuple[tuple[int, ...], ...]:
    s = data.draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=0, max_dims=3, min_side=1, max_side=4
        )
    )
    return s.input_shapes


def _values(rng: np.random.Generator, shape: tuple[int, ...], domain: str) -> np.ndarray:
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "small":
        return rng.uniform(-1.0, 1.0, shape)
    if domain == "bool":
        return rng.random(shape) > 0.5
    if domain == "f32":
        return rng.standard_normal(shape).astype(np.float32)
    if domain == "int":  # small ints: ties for max/min/argmax and equality tests
        return rng.integers(-2, 3, shape).astype(np.float64)
    if domain.startswith("index:"):  # integer indices into an axis of the given size
        return rng.integers(0, int(domain[6:]), shape)
    if domain == "sorted":
        return np.sort(rng.standard_normal(shape), axis=-1)
    if domain == "wellcond":  # (..., n, n), safely invertible
        return np.eye(shape[-1]) * 2.0 + rng.standard_normal(shape) * 0.3
    if domain == "key":  # random keys: uint32 words (shape ends in 2)
        return rng.integers(0, 2**32, shape, dtype=np.uint32)
    if domain == "seed":
        return rng.integers(0, 2**31, shape)
    if domain.startswith("interval:"):
        lo, hi = map(float, domain[9:].split(","))
        return rng.uniform(lo, hi, shape)
    raise AssertionError(domain)


_UNARY = {
    "neg": ([fnp.negative, np.negative, operator.neg], "real"),
    "exp": ([fnp.exp, np.exp], "real"),
    "log": ([fnp.log, np.log], "pos"),
    "log1p": ([fnp.log1p, np.log1p], "pos"),
    "expm1": ([fnp.expm1], "real"),
    "sin": ([fnp.sin, np.sin], "real"),
    "cos": ([fnp.cos, np.cos], "real"),
    "tan": ([fnp.tan], "small"),
    "tanh": ([fnp.tanh, np.tanh], "real"),
    "arctan": ([fnp.arctan], "real"),
    "sqrt": ([fnp.sqrt, np.sqrt], "pos"),
    "abs": ([fnp.abs, np.abs], "real"),
    "sign": ([fnp.sign, np.sign], "int"),
    "not": ([fnp.logical_not, np.logical_not, operator.invert], "bool"),
    "stop_gradient": ([fg.stop_gradient], "real"),
    "integer_pow": ([lambda x: x**3, fnp.square, lambda x: x**-2], "nonzero"),
}
for _name, (_fns, _dom) in _UNARY.items():

    def _build_unary(data: Any, fns: Any = _fns, dom: str = _dom) -> Any:
        return list(fns), [(_shape(data), dom)]

    _case(_name, _build_unary)

_BINARY = {
    "add": ([fnp.add, operator.add], "real", "real"),
    "sub": ([fnp.subtract, np.subtract], "real", "real"),
    "mul": ([fnp.multiply, operator.mul], "real", "real"),
    "div": ([fnp.divide, np.divide], "real", "nonzero"),
    "pow": ([fnp.power, operator.pow], "pos", "small"),
    "maximum": ([fnp.maximum, np.maximum], "int", "int"),
    "minimum": ([fnp.minimum, np.minimum], "int", "int"),
    "lt": ([fnp.less, operator.lt], "int", "int"),
    "le": ([fnp.less_equal, np.less_equal], "int", "int"),
    "gt": ([fnp.greater, operator.gt], "int", "int"),
    "ge": ([fnp.greater_equal, operator.ge], "int", "int"),
    "eq": ([fnp.equal, np.equal], "int", "int"),
    "ne": ([fnp.not_equal, np.not_equal], "int", "int"),
    "and": ([fnp.logical_and, np.logical_and, operator.and_], "bool", "bool"),
    "or": ([fnp.logical_or, np.logical_or, operator.or_], "bool", "bool"),
}
for _name, (_fns, _dx, _dy) in _BINARY.items():

    def _build_binary(data: Any, fns: Any = _fns, dx: str = _dx, dy: str = _dy) -> Any:
        sx, sy = _bshapes(data)
        return list(fns), [(sx, dx), (sy, dy)]

    _case(_name, _build_binary)


def _build_select(data: Any) -> Any:
    sc, sx, sy = _bshapes(data, 3)
    return [fnp.where, np.where], [(sc, "bool"), (sx, "real"), (sy, "real")]


_case("select", _build_select)


def _build_convert(data: Any) -> Any:
    return [
        lambda x: x.astype(np.float32),
        lambda x: fnp.astype(x, np.int64),
        lambda x: fnp.asarray(x, np.float64),
    ], [(_shape(data), "f32")]


_case("convert_element_type", _build_convert)


def _build_broadcast(data: Any) -> Any:
    target = _shape(data, min_dims=1)
    nd = data.draw(st.integers(0, len(target)))
    xs = tuple(1 if data.draw(st.booleans()) else s for s in target[len(target) - nd :])
    return [
        lambda x: fnp.broadcast_to(x, target),
        lambda x: np.broadcast_to(x, (2,) + target),
    ], [(xs, "real")]


_case("broadcast_in_dim", _build_broadcast)


def _build_reshape(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    return [
        lambda x: x.reshape(-1),
        lambda x: np.reshape(x, s[::-1]),
        lambda x: fnp.reshape(x, (1,) + s + (1,)),
    ], [(s, "real")]


_case("reshape", _build_reshape)


def _build_squeeze(data: Any) -> Any:
    s = list(_shape(data))
    pos = data.draw(st.integers(0, len(s)))
    s.insert(pos, 1)
    return [lambda x: fnp.squeeze(x, axis=pos), lambda x: np.squeeze(x, axis=pos - len(s))], [
        (tuple(s), "real")
    ]


_case("squeeze", _build_squeeze)


def _build_expand(data: Any) -> Any:
    s = _shape(data)
    ax = data.draw(st.integers(-len(s) - 1, len(s)))
    return [lambda x: fnp.expand_dims(x, ax), lambda x: np.expand_dims(x, (0, -1))], [(s, "real")]


_case("expand_dims", _build_expand)


def _build_transpose(data: Any) -> Any:
    s = _shape(data, min_dims=2)
    perm = tuple(data.draw(st.permutations(range(len(s)))))
    return [lambda x: x.T, lambda x: np.transpose(x, perm), lambda x: fnp.swapaxes(x, 0, -1)], [
        (s, "real")
    ]


_case("transpose", _build_transpose)


def _nontrivial_index(data: Any, shape: tuple[int, ...], newaxis: bool = True) -> Any:
    idx = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=newaxis))
    tup = idx if isinstance(idx, tuple) else (idx,)
    assume(not all(i is Ellipsis or i == slice(None) for i in tup))
    return idx


def _build_getitem(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = _nontrivial_index(data, s)
    return [lambda x: x[idx]], [(s, "real")]


_case("getitem", _build_getitem)


def _build_scatter_add(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = _nontrivial_index(data, s, newaxis=False)
    tup = idx if isinstance(idx, tuple) else (idx,)
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
    return [lambda g: scatter_add(g, index, s)], [(np.zeros(s)[idx].shape, "real")]


_case("scatter_add", _build_scatter_add)


def _build_concatenate(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    specs = []
    for _ in range(data.draw(st.integers(2, 3))):
        sk = list(s)
        sk[ax] = data.draw(st.integers(1, 3))
        specs.append((tuple(sk), "real"))
    return [
        lambda *xs: fnp.concatenate(list(xs), axis=ax),
        lambda *xs: np.concatenate(xs, axis=ax),
    ], specs


_case("concatenate", _build_concatenate)


def _build_stack(data: Any) -> Any:
    s = _shape(data)
    ax = data.draw(st.integers(-len(s) - 1, len(s)))
    return [lambda x, y: fnp.stack([x, y, x], axis=ax)], [(s, "real"), (s, "real")]


_case("concatenate", _build_stack, id="stack")


def _axis_arg(data: Any, ndim: int) -> Any:
    if ndim == 0:
        return None
    choice = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return data.draw(st.integers(-ndim, ndim - 1))
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if data.draw(st.booleans()) else a for a in axes)


def _build_reduce(fns: list[Callable[..., Any]], domain: str = "real") -> Any:
    def build(data: Any) -> Any:
        s = _shape(data)
        axis = _axis_arg(data, len(s))
        keep = data.draw(st.booleans())
        return [lambda x, f=f: f(x, axis=axis, keepdims=keep) for f in fns], [(s, domain)]

    return build


_case("reduce_sum", _build_reduce([fnp.sum, np.sum, fnp.mean, np.mean]))
_case("reduce_max", _build_reduce([fnp.max, np.max], "int"))
_case("reduce_min", _build_reduce([fnp.min, np.min], "int"))


def _build_argext(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    return [
        lambda x: fnp.argmax(x, axis=ax),
        lambda x: np.argmin(x, axis=ax),
        lambda x: fnp.argmax(x),
    ], [(s, "int")]


_case("argmax", _build_argext)
_case("argmin", _build_argext, id="argmin")


def _build_matmul(data: Any) -> Any:
    xn, yn = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    n, k, m, b = (data.draw(st.integers(1, 4)) for _ in range(4))
    xb = (data.draw(st.sampled_from([1, b])),) if xn == 3 else ()
    yb = (data.draw(st.sampled_from([1, b])),) if yn == 3 else ()
    xs = (k,) if xn == 1 else xb + (n, k)
    ys = (k,) if yn == 1 else yb + (k, m)
    variants = [operator.matmul, np.matmul]
    if xn <= 2 and yn <= 2:
        variants.append(fnp.dot)
    return variants, [(xs, "real"), (ys, "real")]


_case("matmul", _build_matmul)


# --- primitives added to the table by other modules, reachable through funcgrad.numpy -------


ALSO_COVERED: set[str] = set()  # primitives exercised by a case named after another one


def _traced(f: Callable[..., Any]) -> Callable[..., Any]:
    """Evaluate ``f`` per example on (concrete) tracers, for functions that only accept traced
    values (``x.at[...]``); the loop reference then uses funcgrad's own unbatched semantics."""
    return lambda *a: fg.jvp(f, a, tuple(np.zeros_like(x) for x in a))[0]


def _build_cumsum(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    return [lambda x: fnp.cumsum(x, axis=ax), lambda x: np.cumsum(x, axis=ax)], [(s, "real")]


def _build_take_along_axis(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    ishape = list(s)
    ishape[ax] = data.draw(st.integers(1, 5))
    idx = np.random.default_rng(0).integers(0, s[ax], tuple(ishape))
    w = np.random.default_rng(1).standard_normal(tuple(ishape))
    return [
        lambda x, i: fnp.take_along_axis(x, i, axis=ax),
        lambda x, i: np.take_along_axis(x, idx, axis=ax) * fnp.sum(i),
        # The VJP of take_along_axis (scatter-add along the axis), batched.
        lambda x, i: (
            fg.grad(lambda y: fnp.sum(fnp.take_along_axis(y, idx, axis=ax) * w))(x) * fnp.sum(i)
        ),
    ], [(s, "real"), (tuple(ishape), f"index:{s[ax]}")]


def _build_sorting(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    ax = data.draw(st.integers(-len(s), len(s) - 1))
    n = s[-1]
    return [
        lambda x, a: fnp.argsort(x, axis=ax),
        lambda x, a: fnp.sort(x, axis=ax),
        lambda x, a: fnp.searchsorted(a, x[..., 0] if x.ndim else x),
    ], [(s, "real"), ((n,), "sorted")]


def _build_einsum(data: Any) -> Any:
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
    return [lambda *xs: fnp.einsum(spec, *xs)], [(sh, "real") for sh in shapes]


def _build_gather(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    const = np.random.default_rng(0).integers(0, s[0], 3)
    return [
        lambda x, i: x[i],
        lambda x, i: x[const] * fnp.sum(i),
        lambda x, i: x[..., None][i, ..., 0],
    ], [(s, "real"), ((data.draw(st.integers(1, 3)),), f"index:{s[0]}")]


def _build_index_update(data: Any) -> Any:
    s = _shape(data, min_dims=1)
    idx = np.random.default_rng(0).integers(0, s[0], 3)  # repeated indices accumulate
    vshape = (3,) + s[1:]
    return [
        _traced(lambda x, v: x.at[idx].add(v)),
        _traced(lambda x, v: x.at[0].set(v[0])),
        _traced(lambda x, v: x.at[idx].multiply(v)),
        _traced(lambda x, v: x.at[idx].min(v)),
        _traced(lambda x, v: x.at[idx].max(v)),
    ], [(s, "real"), (vshape, "real")]


def _sq(data: Any) -> tuple[int, ...]:
    n = data.draw(st.integers(1, 4))
    return (data.draw(st.integers(1, 3)),) * data.draw(st.integers(0, 1)) + (n, n)


def _build_linalg(data: Any) -> Any:
    s = _sq(data)
    L = fnp.linalg
    sym = lambda x: x @ np.swapaxes(x, -1, -2) + np.eye(s[-1])
    return [
        lambda x, b: L.inv(x),
        lambda x, b: L.solve(x, b),
        lambda x, b: L.det(x),
        lambda x, b: L.slogdet(x)[1],
        lambda x, b: L.cholesky(sym(x)),
        lambda x, b: L.eigh(sym(x))[0],
        lambda x, b: L.svdvals(x),
        lambda x, b: L.pinv(x),
        lambda x, b: L.qr(x)[1],
        lambda x, b: L.svd(x)[1],
    ], [(s, "wellcond"), (s[:-1] + (2,), "real")]


def _build_fft(data: Any) -> Any:
    n = data.draw(st.integers(2, 5))
    F = fnp.fft
    return [
        lambda x: fnp.real(F.fft(x)) + fnp.imag(F.ifft(x)),
        lambda x: fnp.abs(F.rfft(x)),
        lambda x: F.irfft(F.rfft(x), n=n),
    ], [((n,), "real")]


def _build_conv(data: Any) -> Any:
    w = data.draw(st.integers(3, 6))
    return [
        lambda x, k: lax.conv(x.reshape(1, 1, w), k.reshape(1, 1, 2), (1,), "VALID"),
        lambda x, k: lax.conv(x.reshape(1, 1, w), k.reshape(1, 1, 2), (2,), "SAME"),
    ], [((w,), "real"), ((2,), "real")]


def _build_round(data: Any) -> Any:
    return [lambda x: fnp.round(x * 3.0), lambda x: fnp.round(x, 1)], [(_shape(data), "real")]


def _build_random(data: Any) -> Any:
    return [
        lambda k, a, s: fr.normal(k, (3,)),
        lambda k, a, s: fr.split(k, 3),
        lambda k, a, s: fr.fold_in(k, 7),
        lambda k, a, s: fr.bits(k, (2,)),
        lambda k, a, s: fr.uniform(k, (2,), dtype=np.float32),
        lambda k, a, s: fr.gamma(k, a),
        lambda k, a, s: fg.grad(lambda a: fnp.sum(fr.gamma(k, a)))(a),
        lambda k, a, s: fr.PRNGKey(s),
    ], [((2,), "key"), ((2,), "pos"), ((), "seed")]


def _build_scipy_special(data: Any) -> Any:
    return [
        lambda x: fss.polygamma(1, x) + fss.polygamma(2.0, x),
        lambda x: fss.gamma(x - 2.5) * fss.gammasgn(x - 2.5),
    ], [(_shape(data), "pos")]


def _build_scipy_linalg(data: Any) -> Any:
    n = data.draw(st.integers(1, 3))
    return [
        lambda x: fsl.expm(x * 0.3),
        lambda x: fsl.sqrtm(x @ np.swapaxes(x, -1, -2) + np.eye(n)),
    ], [((n, n), "real")]


for _prims, _build, _id in [
    (("cumsum",), _build_cumsum, "cumsum"),
    (("reduce_prod",), _build_reduce([fnp.prod] if hasattr(fnp, "prod") else []), "prod"),
    (("take_along_axis", "scatter_add_along_axis"), _build_take_along_axis, "take_along_axis"),
    (("argsort", "searchsorted"), _build_sorting, "sorting"),
    (("einsum",), _build_einsum, "einsum"),
    (("gather",), _build_gather, "gather"),
    (("index_add", "index_set", "index_mul", "index_min", "index_max"), _build_index_update,
     "index_update"),
    (("inv", "solve", "det", "slogdet", "cholesky", "eigh", "svdvals", "pinv", "qr", "svd"),
     _build_linalg, "linalg"),
    (("fft",), _build_fft, "fft"),
    (("conv",), _build_conv, "conv"),
    (("round",), _build_round, "round"),
    (("random_bits", "random_split", "random_fold_in", "random_seed", "random_unit_float",
      "threefry2x32", "random_gamma", "random_gamma_grad_partials"), _build_random, "random"),
    (("expm", "sqrtm"), _build_scipy_linalg, "scipy_linalg"),
    (("polygamma", "gammasgn"), _build_scipy_special, "scipy_special"),
]:  # fmt: skip
    if all(p in registry for p in _prims):
        _case(_prims[0], _build, id=_id)
        ALSO_COVERED.update(_prims)


# --- every other elementwise primitive in the table, called through bind on an interval where
# it is finite ----------------------------------------------------------------------------------

_INTERVALS = [(0.2, 0.8), (1.2, 1.8), (-0.8, -0.2), (-1.8, -1.2)]


def _find_interval(prim: Any, nin: int) -> tuple[float, float] | None:
    probe = np.random.default_rng(0)
    for lo, hi in _INTERVALS:
        xs = [probe.uniform(lo, hi, 16) for _ in range(nin)]
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(prim.impl(*xs))
        except Exception:
            continue
        if out.dtype.kind != "f" or np.all(np.isfinite(out)):
            return lo, hi
    return None


def _auto_elementwise(prim: Any, nin: int, interval: tuple[float, float]) -> Any:
    from funcgrad.core.tracer import bind

    def build(data: Any) -> Any:
        shapes = _bshapes(data, nin) if nin > 1 else (_shape(data),)
        return [lambda *xs: bind(prim, *xs)], [
            (sh, f"interval:{interval[0]},{interval[1]}") for sh in shapes
        ]

    return build


_explicit = {c.prim for c in CASES} | ALSO_COVERED
for _name in sorted(registry):
    from funcgrad.primitives.elementwise import batch_elementwise as _bew

    _p = registry[_name]
    if _name in _explicit or _p.batch is not _bew or _p.multiple_results:
        continue
    _nin = (
        int(_p.ufunc.nin)
        if isinstance(_p.ufunc, np.ufunc)
        else (len(_p.jvp) if type(_p.jvp) is tuple else None)
    )
    _iv = _find_interval(_p, _nin) if _nin else None
    if _iv is not None:
        _case(_name, _auto_elementwise(_p, _nin, _iv), id=f"auto-{_name}")

CASE_IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@HSET
@given(data=st.data())
def test_vmap_every_primitive_matches_loop(case: Case, data: Any) -> None:
    variants, specs = case.build(data)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    size = data.draw(st.integers(1, 4), label="batch")
    in_axes: list[Any] = []
    for shape, _ in specs:
        choices = [0, -1, None] + ([1] if len(shape) >= 1 else [])
        in_axes.append(data.draw(st.sampled_from(choices)))
    if all(a is None for a in in_axes):
        in_axes[data.draw(st.integers(0, len(specs) - 1))] = 0
    args = []
    for (shape, dom), ax in zip(specs, in_axes):
        if ax is None:
            args.append(_values(rng, shape, dom))
        else:
            args.append(np.stack([_values(rng, shape, dom) for _ in range(size)], axis=ax))
    for i, f in enumerate(variants):
        out_rank = np.ndim(f(*[_take(a, ax, 0) for a, ax in zip(args, in_axes)])) + 1
        oa = data.draw(st.sampled_from([0, -1] + ([1] if out_rank >= 2 else [])), label="out")
        got = fg.vmap(f, in_axes=tuple(in_axes), out_axes=oa)(*args)
        want = loop_reference(f, args, in_axes, oa, size)
        try:
            _assert_tree_close(got, want)
        except AssertionError as e:
            raise AssertionError(
                f"{case.id} variant {i}, in_axes={in_axes}, out_axes={oa}, "
                f"arg shapes {[a.shape for a in args]}: {e}"
            ) from None


CORE_PRIMS = {
    "add", "sub", "mul", "div", "neg", "integer_pow", "pow", "exp", "log", "log1p", "expm1",
    "sin", "cos", "tan", "tanh", "arctan", "sqrt", "abs", "sign", "maximum", "minimum", "lt",
    "le", "gt", "ge", "eq", "ne", "and", "or", "not", "select", "convert_element_type",
    "stop_gradient", "broadcast_in_dim", "reshape", "squeeze", "expand_dims", "transpose",
    "getitem", "scatter_add", "concatenate", "reduce_sum", "reduce_max", "reduce_min",
    "argmax", "argmin", "matmul",
}  # fmt: skip


def test_core_primitives_all_have_vmap_cases() -> None:
    missing = CORE_PRIMS - {c.prim for c in CASES}
    assert not missing, f"no vmap test case for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(registry))
def test_registry_primitive_has_vmap_case(name: str) -> None:
    prim = registry[name]
    if name in {c.prim for c in CASES} | ALSO_COVERED:
        assert prim.batch is not None, f"{name} has no batching rule"
        return
    if name == "debug_callback":  # an effect with no result: nothing to compare with a loop
        assert prim.batch is not None, f"{name} has no batching rule"
        pytest.skip(
            "debug_callback prints; its vmap output is tested against JAX's in test_compat_api"
        )
    if prim.jvp_full is not None or prim.vjp_full is not None:
        pytest.skip(f"{name!r} carries a sub-IR (whole-primitive rules); tested with its API")
    pytest.skip(f"primitive {name!r} was added after these tests; add a vmap case for it")


# ---------------------------------------------------------------------------------------------
# in_axes / out_axes
# ---------------------------------------------------------------------------------------------

RNG = np.random.default_rng(7)


def test_in_axes_int_applies_to_every_argument() -> None:
    x, y = RNG.standard_normal((3, 5)), RNG.standard_normal((4, 5))
    got = fg.vmap(lambda a, b: a[:, None] * b, in_axes=1)(x, y)
    want = np.stack([x[:, j][:, None] * y[:, j] for j in range(5)])
    _assert_tree_close(got, want)
    a, b = RNG.standard_normal((3, 2, 5)), RNG.standard_normal((2, 4, 5))
    got = fg.vmap(lambda a, b: a @ b, in_axes=-1)(a, b)
    _assert_tree_close(got, loop_reference(np.matmul, [a, b], [-1, -1], 0, 5))


@pytest.mark.parametrize("out_axes", [0, 1, -1, 2, -2, -3])
def test_out_axes(out_axes: int) -> None:
    x = RNG.standard_normal((4, 2, 3))
    got = fg.vmap(lambda a: fnp.sin(a) * 2.0, out_axes=out_axes)(x)
    want = np.moveaxis(np.sin(x) * 2.0, 0, out_axes)
    _assert_tree_close(got, want)


def test_in_axes_pytree_prefix_dict_and_tuple() -> None:
    params = {"w": RNG.standard_normal((3, 2)), "b": RNG.standard_normal((5, 2))}
    xs = RNG.standard_normal((3, 5))

    def f(p: Any, x: Any) -> Any:
        return fnp.tanh(x @ p["w"] + p["b"])

    got = fg.vmap(f, in_axes=({"w": None, "b": 0}, 1))(params, xs)
    want = np.stack([np.tanh(xs[:, j] @ params["w"] + params["b"][j]) for j in range(5)])
    _assert_tree_close(got, want)
    # A tuple argument with a tuple prefix, and a list for in_axes.
    pair = (RNG.standard_normal((5, 2)), RNG.standard_normal(2))
    got = fg.vmap(lambda pr, s: pr[0] * pr[1] + s, in_axes=[(0, None), None])(pair, 1.5)
    _assert_tree_close(got, pair[0] * pair[1] + 1.5)
    # A None leaf prefix covering a whole subtree.
    got = fg.vmap(lambda p, x: x @ p["w"], in_axes=(None, 1))(params, xs)
    _assert_tree_close(got, xs.T @ params["w"])


def test_pytree_outputs_and_out_axes_prefix() -> None:
    xs = RNG.standard_normal((4, 3))

    def f(x: Any) -> Any:
        return {"a": x * 2.0, "b": (fnp.sum(x), fnp.outer(x, x))}

    got = fg.vmap(f, out_axes={"a": 1, "b": (0, -1)})(xs)
    assert got["a"].shape == (3, 4) and got["b"][0].shape == (4,)
    assert got["b"][1].shape == (3, 3, 4)
    _assert_tree_close(got["a"], (xs * 2.0).T)
    _assert_tree_close(got["b"][0], xs.sum(1))
    _assert_tree_close(got["b"][1], np.einsum("bi,bj->ijb", xs, xs))


def test_unbatched_outputs_are_broadcast() -> None:
    xs = RNG.standard_normal((4, 3))
    c = RNG.standard_normal(2)

    def f(x: Any, c: Any) -> Any:
        return x.sum(), c * 2.0, np.ones((2, 2), np.float32), 3.0

    s, cc, ones, three = fg.vmap(f, in_axes=(0, None))(xs, c)
    _assert_tree_close(s, xs.sum(1))
    _assert_tree_close(cc, np.broadcast_to(c * 2.0, (4, 2)))
    assert ones.shape == (4, 2, 2) and ones.dtype == np.float32
    assert np.shape(three) == (4,) and np.all(three == 3.0)
    assert cc.flags.writeable  # a real array, not a read-only broadcast view
    # out_axes=None keeps an unbatched output unbatched.
    _, cc2, _, _ = fg.vmap(f, in_axes=(0, None), out_axes=(0, None, 0, 0))(xs, c)
    _assert_tree_close(cc2, c * 2.0)
    # Broadcasting an unbatched output along a non-leading axis.
    _, cc3, _, _ = fg.vmap(f, in_axes=(0, None), out_axes=(0, 1, 0, 0))(xs, c)
    _assert_tree_close(cc3, np.broadcast_to((c * 2.0)[:, None], (2, 4)))


def test_out_axes_none_on_batched_output_raises() -> None:
    with pytest.raises(ValueError, match="out_axes=None"):
        fg.vmap(lambda x: x * 2.0, out_axes=None)(np.ones((3, 2)))


def test_nested_vmap_outer_product_and_axes() -> None:
    xs, ys = RNG.standard_normal((4, 3)), RNG.standard_normal((5, 3))
    dist = lambda x, y: fnp.sum((x - y) ** 2)
    got = fg.vmap(fg.vmap(dist, in_axes=(None, 0)), in_axes=(0, None))(xs, ys)
    want = np.array([[np.sum((x - y) ** 2) for y in ys] for x in xs])
    _assert_tree_close(got, want)
    # Inner and outer over different axes, out_axes swapping the result.
    zs = RNG.standard_normal((2, 3, 4))
    got = fg.vmap(fg.vmap(lambda v: v * fnp.sum(v), in_axes=1, out_axes=1), in_axes=-1, out_axes=0)(
        zs
    )
    want = np.stack(
        [np.stack([zs[:, j, k] * zs[:, j, k].sum() for j in range(3)], axis=1) for k in range(4)]
    )
    _assert_tree_close(got, want)
    # Three deep.
    w = RNG.standard_normal((2, 3, 4, 5))
    got = fg.vmap(fg.vmap(fg.vmap(lambda v: fnp.max(v) - fnp.min(v))))(w)
    _assert_tree_close(got, w.max(-1) - w.min(-1))


@pytest.mark.parametrize("xn", [1, 2, 3])
@pytest.mark.parametrize("yn", [1, 2, 3])
@pytest.mark.parametrize("batched", ["x", "y", "both"])
def test_matmul_batched_on_either_side(xn: int, yn: int, batched: str) -> None:
    n, k, m, bsz = 2, 3, 4, 5
    xs_ex = (k,) if xn == 1 else (2,) * (xn - 2) + (n, k)
    ys_ex = (k,) if yn == 1 else (2,) * (yn - 2) + (k, m)
    for ax in (0, -1):
        x = RNG.standard_normal(xs_ex if batched == "y" else _ins(xs_ex, ax, bsz))
        y = RNG.standard_normal(ys_ex if batched == "x" else _ins(ys_ex, ax, bsz))
        in_axes = (None if batched == "y" else ax, None if batched == "x" else ax)
        for f in (operator.matmul, np.matmul, fnp.matmul):
            got = fg.vmap(f, in_axes=in_axes)(x, y)
            want = loop_reference(np.matmul, [x, y], list(in_axes), 0, bsz)
            _assert_tree_close(got, want, rtol=1e-12, atol=1e-12)


def _ins(shape: tuple[int, ...], ax: int, size: int) -> tuple[int, ...]:
    s = list(shape)
    s.insert(ax % (len(s) + 1), size)
    return tuple(s)


def test_reductions_with_axes() -> None:
    x = RNG.standard_normal((3, 4, 5))
    for in_ax in (0, 1, 2):
        for axis in (0, 1, -1, (0, 1), None):
            for fn in (fnp.sum, fnp.max, fnp.min, fnp.mean, fnp.var):
                got = fg.vmap(lambda v, fn=fn, axis=axis: fn(v, axis=axis), in_axes=in_ax)(x)
                want = loop_reference(
                    lambda v, fn=fn, axis=axis: fn(v, axis=axis), [x], [in_ax], 0, x.shape[in_ax]
                )
                _assert_tree_close(got, want)
            got = fg.vmap(lambda v: fnp.sum(v, axis=0, keepdims=True), in_axes=in_ax)(x)
            assert got.shape == (x.shape[in_ax], 1, 5 if in_ax < 2 else 4)


def test_indexing() -> None:
    x = RNG.standard_normal((4, 5, 6))
    for f in [
        lambda v: v[1:, 0],
        lambda v: v[..., ::-2],
        lambda v: v[None, -1, :, None],
        lambda v: v[2],
        lambda v: v.T[1:3],
    ]:
        for ax in (0, 1, 2):
            got = fg.vmap(f, in_axes=ax)(x)
            _assert_tree_close(got, loop_reference(f, [x], [ax], 0, x.shape[ax]))


def test_concatenate_with_unbatched_operands() -> None:
    xs = RNG.standard_normal((4, 3))
    c = RNG.standard_normal(2)
    got = fg.vmap(lambda x, c: fnp.concatenate([c, x, c * 2.0]), in_axes=(0, None))(xs, c)
    _assert_tree_close(got, np.concatenate([np.tile(c, (4, 1)), xs, np.tile(c * 2, (4, 1))], 1))
    # A constant array captured from the enclosing scope.
    const = np.arange(3.0)
    got = fg.vmap(lambda x: fnp.stack([x, const]), in_axes=1)(xs.T)
    _assert_tree_close(got, np.stack([np.stack([x, const]) for x in xs]))
    got = fg.vmap(
        lambda x, c: fnp.concatenate([x[:, None], c[:3, None]], axis=1), in_axes=(0, None)
    )(xs, np.arange(4.0))
    assert got.shape == (4, 3, 2)
    _assert_tree_close(got[:, :, 1], np.tile(np.arange(3.0), (4, 1)))


def test_vmap_python_scalars_and_constants() -> None:
    xs = RNG.standard_normal(5)
    got = fg.vmap(lambda x, s: x * s + 1, in_axes=(0, None))(xs, 2.0)
    _assert_tree_close(got, xs * 2.0 + 1)
    got = fg.vmap(lambda x: fnp.sum(fnp.ones(3) * x))(xs)
    _assert_tree_close(got, 3 * xs)


def test_vmap_float32_preserved() -> None:
    xs = RNG.standard_normal((4, 3)).astype(np.float32)
    got = fg.vmap(lambda x: fnp.tanh(x) @ np.ones(3, np.float32) * 2.0 + 1)(xs)
    assert got.dtype == np.float32


def test_vmap_python_scalar_argument_stays_weakly_typed() -> None:
    """An unbatched Python scalar argument promotes like a Python scalar, as in the loop (and
    in numpy, jit and JAX): float32 * 2.0 stays float32, int8 * 2 stays int8."""
    f = lambda x, s: x * s
    x32 = np.ones((3, 2), np.float32)
    for s in (2.0, 2):
        want = loop_reference(f, [x32, s], [0, None], 0, 3)
        assert want.dtype == np.float32
        assert fg.vmap(f, in_axes=(0, None))(x32, s).dtype == np.float32
    i8 = np.ones((3, 2), np.int8)
    assert fg.vmap(f, in_axes=(0, None))(i8, 2).dtype == np.int8


def test_vmap_does_not_mutate_inputs() -> None:
    xs = RNG.standard_normal((4, 3))
    xc = xs.copy()
    fg.vmap(lambda x: fnp.concatenate([x, x])[::-1] * 2.0, in_axes=1)(xs)
    np.testing.assert_array_equal(xs, xc)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_error_inconsistent_batch_sizes() -> None:
    with pytest.raises(ValueError, match=r"(?s)inconsistent.*3.*4"):
        fg.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"5.*2|2.*5"):
        fg.vmap(lambda a, b: a * b, in_axes=(1, 0))(np.ones((3, 5)), np.ones((2, 5)))


@pytest.mark.parametrize("ax", [2, -3, 7])
def test_error_out_of_range_in_axis(ax: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        fg.vmap(fnp.sin, in_axes=ax)(np.ones((2, 3)))


def test_error_out_of_range_out_axis() -> None:
    with pytest.raises(ValueError, match="out_axes"):
        fg.vmap(fnp.sin, out_axes=3)(np.ones((2, 3)))


def test_error_in_axes_length_mismatch() -> None:
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(lambda a, b: a + b, in_axes=(0, 0, None))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(3), np.ones(3))


def test_error_mapping_a_scalar() -> None:
    with pytest.raises(ValueError, match="scalar|rank 0"):
        fg.vmap(lambda a, b: a * b)(np.ones(3), 2.0)
    with pytest.raises(ValueError, match="scalar|rank 0"):
        fg.vmap(fnp.sin)(np.float64(1.0))


def test_error_in_axes_not_a_prefix() -> None:
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(lambda p: p["a"], in_axes=({"a": 0, "b": None},))({"a": np.ones((2, 3))})
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(lambda p: p[0], in_axes=((0, 0),))((np.ones(2),))


def test_error_in_axes_dict_keys_named() -> None:
    with pytest.raises(ValueError, match="(?i)keys"):
        fg.vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": np.ones((2, 3))})


def test_error_nothing_mapped() -> None:
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(fnp.sin, in_axes=None)(np.ones(3))


def test_error_bad_in_axes_type() -> None:
    with pytest.raises(TypeError):
        fg.vmap(fnp.sin, in_axes=0.5)(np.ones(3))
    with pytest.raises(TypeError):
        fg.vmap(42)


def test_error_value_dependent_control_flow_under_vmap() -> None:
    def f(x: Any) -> Any:
        return x if x > 0 else -x

    with pytest.raises(fg.ConcretizationError, match="where|cond"):
        fg.vmap(f)(np.array([1.0, -2.0]))


# ---------------------------------------------------------------------------------------------
# Per-example gradients
# ---------------------------------------------------------------------------------------------


def logistic_loss(params: Any, x: Any, y: Any) -> Any:
    logit = x @ params["w"] + params["b"]
    # log(1 + exp(-y * logit)), y in {-1, +1}
    return fnp.log1p(fnp.exp(-y * logit))


def mlp_loss(params: Any, x: Any, y: Any) -> Any:
    (w1, b1), (w2, b2) = params
    h = fnp.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    return fnp.mean((out - y) ** 2)


def _logistic_data(n: int, rng: np.random.Generator) -> Any:
    params = {"w": rng.standard_normal(3), "b": np.float64(0.1)}
    xs = rng.standard_normal((n, 3))
    ys = rng.choice([-1.0, 1.0], n)
    return params, xs, ys


def _mlp_data(n: int, rng: np.random.Generator) -> Any:
    params = [
        (rng.standard_normal((3, 5)) * 0.5, rng.standard_normal(5) * 0.1),
        (rng.standard_normal((5, 2)) * 0.5, rng.standard_normal(2) * 0.1),
    ]
    return params, rng.standard_normal((n, 3)), rng.standard_normal((n, 2))


@pytest.mark.parametrize(
    "loss,make", [(logistic_loss, _logistic_data), (mlp_loss, _mlp_data)], ids=["logreg", "mlp"]
)
def test_per_example_gradients_equal_loop(loss: Any, make: Any) -> None:
    params, xs, ys = make(6, np.random.default_rng(0))
    got = fg.vmap(fg.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    per = [fg.grad(loss)(params, x, y) for x, y in zip(xs, ys)]
    want = tree_map(lambda *g: np.stack(g), *per)
    _assert_tree_close(got, want, rtol=1e-12, atol=1e-14)
    # Same structure as params with a leading batch axis.
    for g, p in zip(tree_leaves(got), tree_leaves(params)):
        assert np.shape(g) == (6,) + np.shape(p)
    # The mean of per-example gradients is the gradient of the mean loss.
    mean_grad = fg.grad(lambda p: fnp.mean(fg.vmap(loss, in_axes=(None, 0, 0))(p, xs, ys)))(params)
    _assert_tree_close(tree_map(lambda g: g.mean(0), got), mean_grad, rtol=1e-10, atol=1e-13)


def test_per_example_gradient_logistic_closed_form() -> None:
    params, xs, ys = _logistic_data(8, np.random.default_rng(1))
    got = fg.vmap(fg.grad(logistic_loss), in_axes=(None, 0, 0))(params, xs, ys)
    z = xs @ params["w"] + params["b"]
    s = -ys / (1 + np.exp(ys * z))  # d/dz log(1 + exp(-y z))
    np.testing.assert_allclose(got["w"], s[:, None] * xs, rtol=1e-12)
    np.testing.assert_allclose(got["b"], s, rtol=1e-12)


@pytest.mark.parametrize(
    "loss,make", [(logistic_loss, _logistic_data), (mlp_loss, _mlp_data)], ids=["logreg", "mlp"]
)
def test_per_example_gradients_are_one_batched_computation(loss: Any, make: Any) -> None:
    """The IR of vmap(grad(loss)) has the same number of equations for batch 4 and 64: one
    batched computation, not a loop over examples."""
    counts = {}
    for n in (4, 64):
        params, xs, ys = make(n, np.random.default_rng(2))
        ir = fg.make_ir(fg.vmap(fg.grad(loss), in_axes=(None, 0, 0)))(params, xs, ys)
        counts[n] = len(ir.eqns)
        # The batch size shows up in the IR's shapes (batched values), not in its length.
        assert str(n) in str(ir)
    assert counts[4] == counts[64], counts
    assert counts[4] > 0
