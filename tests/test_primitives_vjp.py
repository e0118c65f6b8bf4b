"""Primitive VJPs against central finite differences, and shape rules against impls.

Every differentiable primitive of the core table (``funcgrad/primitives``) is differentiated on
random shapes with broadcasting, in float64 and float32, called both through
``funcgrad.numpy`` and through plain numpy / operators on tracers.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.ir import ShapedArray, check_ir
from funcgrad.core.tracer import aval_of
from funcgrad.primitives import Primitive, elementwise, linalg, reductions, registry, structural
from funcgrad.primitives.structural import Index, Slice
from funcgrad.test_util import check_grads

SETTINGS = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=10, deadline=None)
# The funcgrad.numpy form of each op gets the full example count; the same op reached through
# plain numpy / operators on tracers (a dispatch check) gets fewer.
OTHER_FORMS = settings(max_examples=6, deadline=None)
PRIMARY = {"fnp", "fnp.square", "fnp.power3"}
DTYPES = [np.float64, np.float32]
SEEDS = st.integers(0, 2**32 - 1)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
BCAST2 = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
BCAST3 = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=4)


# --- helpers -----------------------------------------------------------------------------
def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, size=shape)


def away_from_zero(lo, hi):
    """|x| in [lo, hi] with a random sign."""
    return lambda rng, shape: rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def grid(offset):
    """Values k + offset (k integer) plus small noise: two grids with offsets 0.25 and -0.25
    never come closer than 0.4, so maximum/minimum have no ties near the sample points."""
    return lambda rng, shape: (
        rng.integers(-3, 4, size=shape) + offset + rng.uniform(-0.05, 0.05, size=shape)
    )


def distinct(rng, shape):
    """Pairwise distinct values at least 0.4 apart (for reductions max/min)."""
    n = int(np.prod(shape, dtype=np.int64))
    vals = rng.permutation(n) * 0.5 - n / 4 + rng.uniform(-0.05, 0.05, size=n)
    return vals.reshape(shape)


def sample(sampler, rng, shape, dtype):
    return np.asarray(sampler(rng, shape)).astype(dtype)


def check_vjp(f, args, dtype, out_dtype=None):
    """check_grads in reverse mode (float32: check_grads' looser float32 tolerances), plus:
    cotangents have the inputs' shapes and dtypes, and the output keeps the float dtype."""
    check_grads(f, args, order=1, modes=("rev",))
    out, f_vjp = fg.vjp(f, *args)
    assert np.asarray(out).dtype == (out_dtype or dtype)
    ct = np.ones_like(out)
    cts = f_vjp(ct)
    assert len(cts) == len(args)
    for c, a in zip(cts, args):
        assert np.shape(c) == np.shape(a)
        assert np.asarray(c).dtype == a.dtype
    # every equation of the forward and backward pass: shape rule == what the impl produced
    check_ir(fg.make_ir(lambda *xs: fg.vjp(f, *xs)[1](ct))(*args))


def to_index(shape, idx):
    """A numpy basic index as the hashable ``Index`` param of getitem/scatter_add."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
    out, dim = [], 0
    for i in idx:
        if i is Ellipsis:
            k = len(shape) - n_real
            out += [Slice(None, None, None)] * k
            dim += k
        elif i is None:
            out.append(None)
        elif isinstance(i, slice):
            out.append(Slice(i.start, i.stop, i.step))
            dim += 1
        else:
            out.append(int(i) % shape[dim])
            dim += 1
    return Index(out)


def fd_grad(f, x, eps=1e-6):
    """Explicit central finite differences of a scalar function, element by element."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (float(f(xp)) - float(f(xm))) / (2 * eps)
    return g


# --- unary elementwise -------------------------------------------------------------------
# name -> (sampler, [(form, function)])
UNARY = {
    "neg": (uniform(-2, 2), [("fnp", fnp.negative), ("np", np.negative), ("op", operator.neg)]),
    "exp": (uniform(-2, 2), [("fnp", fnp.exp), ("np", np.exp)]),
    "log": (uniform(0.5, 3), [("fnp", fnp.log), ("np", np.log)]),
    "log1p": (uniform(-0.5, 2), [("fnp", fnp.log1p), ("np", np.log1p)]),
    "expm1": (uniform(-2, 2), [("fnp", fnp.expm1), ("np", np.expm1)]),
    "sin": (uniform(-3, 3), [("fnp", fnp.sin), ("np", np.sin)]),
    "cos": (uniform(-3, 3), [("fnp", fnp.cos), ("np", np.cos)]),
    "tan": (uniform(-1.2, 1.2), [("fnp", fnp.tan), ("np", np.tan)]),
    "tanh": (uniform(-2, 2), [("fnp", fnp.tanh), ("np", np.tanh)]),
    "arctan": (uniform(-3, 3), [("fnp", fnp.arctan), ("np", np.arctan)]),
    "sqrt": (uniform(0.5, 3), [("fnp", fnp.sqrt), ("np", np.sqrt)]),
    "abs": (away_from_zero(0.3, 2), [("fnp", fnp.abs), ("np", np.abs), ("op", operator.abs)]),
    "integer_pow": (
        away_from_zero(0.5, 2),
        [
            ("fnp.square", fnp.square),
            ("np.square", np.square),
            ("op**2", lambda x: x**2),
            ("op**3", lambda x: x**3),
            ("op**1", lambda x: x**1),
            ("op**0", lambda x: x**0),
            ("op**-2", lambda x: x**-2),
            ("fnp.power3", lambda x: fnp.power(x, 3)),
        ],
    ),
    "div(reciprocal)": (away_from_zero(0.5, 2), [("fnp", fnp.reciprocal), ("np", np.reciprocal)]),
}
UNARY_CASES = [
    pytest.param(name, fn, id=f"{name}-{form}")
    for name, (_, forms) in UNARY.items()
    for form, fn in forms
]


def _unary_vjp(name, fn, dtype, shape, seed):
    x = sample(UNARY[name][0], np.random.default_rng(seed), shape, dtype)
    check_vjp(fn, (x,), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,fn", [c for c in UNARY_CASES if c.id.split("-")[1] in PRIMARY])
@SETTINGS
@given(shape=SHAPES, seed=SEEDS)
def test_unary_vjp(name, fn, dtype, shape, seed):
    _unary_vjp(name, fn, dtype, shape, seed)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,fn", [c for c in UNARY_CASES if c.id.split("-")[1] not in PRIMARY])
@OTHER_FORMS
@given(shape=SHAPES, seed=SEEDS)
def test_unary_vjp_numpy_forms(name, fn, dtype, shape, seed):
    _unary_vjp(name, fn, dtype, shape, seed)


@pytest.mark.parametrize("name,fn", UNARY_CASES)
def test_unary_second_order(name, fn):
    x = sample(UNARY[name][0], np.random.default_rng(0), (2, 3), np.float64)
    check_grads(fn, (x,), order=2, modes=("rev",))


# --- binary elementwise (with broadcasting) ----------------------------------------------
BINARY = {
    "add": (
        uniform(-2, 2),
        uniform(-2, 2),
        [("fnp", fnp.add), ("np", np.add), ("op", operator.add)],
    ),
    "sub": (
        uniform(-2, 2),
        uniform(-2, 2),
        [("fnp", fnp.subtract), ("np", np.subtract), ("op", operator.sub)],
    ),
    "mul": (
        uniform(-2, 2),
        uniform(-2, 2),
        [("fnp", fnp.multiply), ("np", np.multiply), ("op", operator.mul)],
    ),
    "div": (
        uniform(-2, 2),
        away_from_zero(0.5, 2),
        [("fnp", fnp.divide), ("np", np.divide), ("op", operator.truediv)],
    ),
    "pow": (
        uniform(0.5, 2),
        uniform(-1.5, 1.5),
        [("fnp", fnp.power), ("np", np.power), ("op", operator.pow)],
    ),
    "maximum": (grid(0.25), grid(-0.25), [("fnp", fnp.maximum), ("np", np.maximum)]),
    "minimum": (grid(0.25), grid(-0.25), [("fnp", fnp.minimum), ("np", np.minimum)]),
}
BINARY_CASES = [
    pytest.param(name, fn, id=f"{name}-{form}")
    for name, (_, _, forms) in BINARY.items()
    for form, fn in forms
]


def _binary_vjp(name, fn, dtype, shapes, seed):
    sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(seed)
    x = sample(sx, rng, shapes.input_shapes[0], dtype)
    y = sample(sy, rng, shapes.input_shapes[1], dtype)
    check_vjp(fn, (x, y), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,fn", [c for c in BINARY_CASES if c.id.split("-")[1] in PRIMARY])
@SETTINGS
@given(shapes=BCAST2, seed=SEEDS)
def test_binary_vjp(name, fn, dtype, shapes, seed):
    _binary_vjp(name, fn, dtype, shapes, seed)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name,fn", [c for c in BINARY_CASES if c.id.split("-")[1] not in PRIMARY])
@OTHER_FORMS
@given(shapes=BCAST2, seed=SEEDS)
def test_binary_vjp_numpy_forms(name, fn, dtype, shapes, seed):
    _binary_vjp(name, fn, dtype, shapes, seed)


@pytest.mark.parametrize("name,fn", BINARY_CASES)
def test_binary_second_order(name, fn):
    sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(1)
    x, y = sample(sx, rng, (2, 1), np.float64), sample(sy, rng, (3,), np.float64)
    check_grads(fn, (x, y), order=2, modes=("rev",))


@pytest.mark.parametrize(
    "f,positive",
    [
        (lambda x: np.maximum(x, 0), False),
        (lambda x: np.minimum(x, 0.0), False),
        (lambda x: fnp.maximum(0, x), False),
        (lambda x: 2.0 * x, False),
        (lambda x: x - 1, False),
        (lambda x: 1.5 / x, False),
        (lambda x: 2.0**x, False),
        (lambda x: np.power(x, 1.5), True),
        (lambda x: x**0.5, True),
        (lambda x: 3 - x, False),
        (lambda x: np.add(1.0, x), False),
        (lambda x: x * np.float32(2.0), False),
    ],
    ids=[
        "max0",
        "min0.",
        "fnpmax0",
        "rmul",
        "subint",
        "rdiv",
        "rpow",
        "powf",
        "pow.5",
        "rsub",
        "radd",
        "mulf32scalar",
    ],
)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_binary_with_python_scalar(f, positive, dtype):
    sampler = uniform(0.4, 2) if positive else away_from_zero(0.4, 2)
    x = sample(sampler, np.random.default_rng(3), (3, 2), dtype)
    check_vjp(f, (x,), dtype)


def test_maximum_relu_exact():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    g = fg.grad(lambda x: np.sum(np.maximum(x, 0)))(x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 1.0])
    g = fg.grad(lambda x: np.sum(fnp.minimum(x, 0.0)))(x)
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0, 0.0])


def test_maximum_ties_split_gradient():
    x = np.array([1.0, 2.0, 3.0])
    gx, gy = fg.grad(lambda a, b: np.sum(np.maximum(a, b)), argnums=(0, 1))(x, x.copy())
    np.testing.assert_array_equal(gx, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(gy, [0.5, 0.5, 0.5])


def test_sign_has_zero_derivative():
    x = np.array([-1.5, 2.0, 0.7])
    g = fg.grad(lambda x: np.sum(np.sign(x) * x))(x)
    np.testing.assert_array_equal(g, np.sign(x))
    g = fg.grad(lambda x: np.sum(fnp.sign(x)))(x)
    np.testing.assert_array_equal(g, np.zeros(3))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sum(np.sin(x) * np.exp(x)),
        lambda x: np.sum(np.tanh(x) ** 3 / (1.0 + x**2)),
        lambda x: np.sum(np.sqrt(np.abs(x) + 1.0) * np.log1p(x**2)),
        lambda x: np.sum(np.arctan(x) - np.expm1(np.cos(x))),
        lambda x: np.sum(np.maximum(x, 0.1) ** 2.5),
    ],
)
def test_explicit_finite_differences(f):
    x = np.array([[0.3, -1.2, 2.0], [0.7, 1.4, -0.6]])
    np.testing.assert_allclose(fg.grad(f)(x), fd_grad(f, x), rtol=1e-6, atol=1e-8)


# --- select, convert_element_type, stop_gradient -----------------------------------------
@pytest.mark.parametrize("form", ["fnp", "np"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(shapes=BCAST3, seed=SEEDS)
def test_select_vjp(form, dtype, shapes, seed):
    where = fnp.where if form == "fnp" else np.where
    rng = np.random.default_rng(seed)
    sc, sx, sy = shapes.input_shapes
    c = sample(away_from_zero(0.3, 2), rng, sc, dtype)
    x = sample(uniform(-2, 2), rng, sx, dtype)
    y = sample(uniform(-2, 2), rng, sy, dtype)
    check_vjp(lambda c, x, y: where(c > 0, x * c, y**2), (c, x, y), dtype)


def test_select_exact():
    c = np.array([True, False, True])
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    gx, gy = fg.grad(lambda x, y: np.sum(fnp.where(c, x, y) * 2.0), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [2.0, 0.0, 2.0])
    np.testing.assert_array_equal(gy, [0.0, 2.0, 0.0])
    # broadcast scalar operand: its cotangent is summed over the selected positions
    g = fg.grad(lambda s: np.sum(np.where(c, s, y)))(1.0)
    assert g == 2.0


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_convert_element_type_vjp(dtype):
    other = np.float32 if dtype == np.float64 else np.float64
    x = sample(uniform(-2, 2), np.random.default_rng(5), (2, 3), dtype)
    g = fg.grad(lambda x: np.sum(np.sin(x.astype(other))))(x)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-5, atol=1e-6)
    g = fg.grad(lambda x: np.sum(fnp.astype(x, other) ** 2))(x)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, 2 * x, rtol=1e-6)
    if dtype == np.float32:
        check_vjp(lambda x: x.astype(np.float64) * 3.0, (x,), dtype, out_dtype=np.float64)


def test_convert_to_int_blocks_gradient():
    x = np.array([1.7, -2.2])
    g = fg.grad(lambda x: np.sum(x.astype(np.int64) * 1.0 + x))(x)
    np.testing.assert_array_equal(g, [1.0, 1.0])


@pytest.mark.parametrize("form", ["fg", "fnp"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_stop_gradient_is_exactly_zero(form, dtype):
    sg = fg.stop_gradient if form == "fg" else fnp.stop_gradient
    x = sample(uniform(-2, 2), np.random.default_rng(7), (3, 2), dtype)
    g = fg.grad(lambda x: np.sum(sg(x) ** 2))(x)
    assert g.dtype == dtype and g.shape == x.shape
    np.testing.assert_array_equal(g, np.zeros_like(x))
    g = fg.grad(lambda x: np.sum(sg(x) * x))(x)
    np.testing.assert_array_equal(g, x)
    # second order: the inner gradient is sg(y), whose derivative is zero
    g2 = fg.grad(lambda x: fg.grad(lambda y: np.sum(sg(y) * y))(x).sum())(x)
    np.testing.assert_array_equal(g2, np.zeros_like(x))
    # the value is unchanged
    assert np.array_equal(sg(x), x)


# --- structural --------------------------------------------------------------------------
@st.composite
def broadcast_to_shapes(draw):
    target = draw(SHAPES)
    nd = draw(st.integers(0, len(target)))
    src = tuple(draw(st.sampled_from([1, s])) for s in target[len(target) - nd :])
    return src, target


@pytest.mark.parametrize("form", ["fnp", "np"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(shapes=broadcast_to_shapes(), seed=SEEDS)
def test_broadcast_in_dim_vjp(form, dtype, shapes, seed):
    src, target = shapes
    bt = fnp.broadcast_to if form == "fnp" else np.broadcast_to
    x = sample(uniform(-2, 2), np.random.default_rng(seed), src, dtype)
    check_vjp(lambda x: bt(x, target) * 1.5, (x,), dtype)


def test_broadcast_in_dim_exact():
    g = fg.grad(
        lambda x: np.sum(fnp.broadcast_to(x, (4, 2, 3)) * np.arange(24.0).reshape(4, 2, 3))
    )(np.ones((2, 1)))
    want = np.arange(24.0).reshape(4, 2, 3).sum(axis=(0, 2)).reshape(2, 1)
    np.testing.assert_array_equal(g, want)
    # the primitive itself with explicit broadcast_dimensions
    ir = fg.make_ir(lambda x: fnp.broadcast_to(x, (3, 2)))(np.ones(2))
    assert [e.prim.name for e in ir.eqns] == ["broadcast_in_dim"]
    x = np.array([1.0, 2.0, 3.0])
    g = fg.grad(lambda x: np.sum(structural.broadcast_in_dim(x, (3, 2), (0,)) * [[1.0, 2.0]]))(x)
    np.testing.assert_array_equal(g, [3.0, 3.0, 3.0])


@st.composite
def reshape_case(draw):
    shape = draw(SHAPES)
    n = int(np.prod(shape))
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = draw(st.sampled_from(divisors))
    new = draw(st.sampled_from([(n,), (-1,), (d, n // d), (n // d, -1), (1, n, 1), shape[::-1]]))
    return shape, new


@pytest.mark.parametrize("form", ["method", "fnp", "np", "ravel"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(case=reshape_case(), seed=SEEDS)
def test_reshape_vjp(form, dtype, case, seed):
    shape, new = case
    fns = {
        "method": lambda x: x.reshape(new),
        "fnp": lambda x: fnp.reshape(x, new),
        "np": lambda x: np.reshape(x, new),
        "ravel": lambda x: np.ravel(x),
    }
    w = np.random.default_rng(seed).uniform(-2, 2, size=np.reshape(np.zeros(shape), new).shape)
    fn = fns[form]
    x = sample(uniform(-2, 2), np.random.default_rng(seed + 1), shape, dtype)
    check_vjp(lambda x: fn(x) * (w.astype(dtype) if form != "ravel" else 1.0), (x,), dtype)


@pytest.mark.parametrize("form", ["T", "np", "fnp", "method", "swapaxes", "moveaxis"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_transpose_vjp(form, dtype, data, seed):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    nd = len(shape)
    perm = tuple(data.draw(st.permutations(range(nd))))
    a, b = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    fns = {
        "T": lambda x: x.T,
        "np": lambda x: np.transpose(x, perm),
        "fnp": lambda x: fnp.transpose(x, perm),
        "method": lambda x: x.transpose(perm),
        "swapaxes": lambda x: np.swapaxes(x, a, b),
        "moveaxis": lambda x: np.moveaxis(x, a, b),
    }
    fn = fns[form]
    x = sample(uniform(-2, 2), np.random.default_rng(seed), shape, dtype)
    w = np.random.default_rng(seed + 1).uniform(size=fn(np.zeros(shape)).shape).astype(dtype)
    check_vjp(lambda x: fn(x) * w, (x,), dtype)


@pytest.mark.parametrize("form", ["np", "fnp", "method"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_squeeze_expand_dims_vjp(form, dtype, data, seed):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    ones = [i for i, s in enumerate(shape) if s == 1]
    axis = data.draw(st.none() | st.sampled_from(ones) if ones else st.none())
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    sq = {"np": np.squeeze, "fnp": fnp.squeeze, "method": lambda x, axis: x.squeeze(axis)}[form]
    ed = fnp.expand_dims if form == "fnp" else np.expand_dims
    x = sample(uniform(-2, 2), np.random.default_rng(seed), shape, dtype)
    check_vjp(lambda x: sq(x, axis) * 2.0, (x,), dtype)
    check_vjp(lambda x: ed(x, new_axis) * 2.0, (x,), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_getitem_vjp(dtype, data, seed):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    idx = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    x = sample(uniform(-2, 2), np.random.default_rng(seed), shape, dtype)
    out, f_vjp = fg.vjp(lambda x: x[idx], x)
    np.testing.assert_array_equal(out, x[idx])
    check_vjp(lambda x: x[idx] * 2.0, (x,), dtype)


GETITEM_INDICES = [
    1,
    -1,
    (slice(1, 3),),
    (slice(None, None, -1),),
    (slice(None, None, -2), 0),
    (Ellipsis, 0),
    (0, Ellipsis, None),
    (None, slice(None), None, -2),
    (slice(3, 0, -1), slice(None, None, 2)),
    (Ellipsis,),
    (slice(-2, None), None, 1, slice(None, None, -1)),
]


@pytest.mark.parametrize("idx", GETITEM_INDICES, ids=repr)
def test_getitem_exact(idx):
    x = np.arange(24.0).reshape(4, 3, 2)
    w = np.random.default_rng(0).uniform(size=np.shape(x[idx]))
    g = fg.grad(lambda x: np.sum(x[idx] * w))(x)
    want = np.zeros_like(x)
    want[idx] = w
    np.testing.assert_array_equal(g, want)


def test_getitem_repeated_reads_accumulate():
    x = np.array([1.0, 2.0, 3.0])
    g = fg.grad(lambda x: x[0] * x[0] + x[-3] + x[1:][1] * 3.0)(x)
    np.testing.assert_array_equal(g, [3.0, 0.0, 3.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_scatter_add_vjp(dtype, data, seed):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    idx = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    index = to_index(shape, idx)
    g = sample(uniform(-2, 2), np.random.default_rng(seed), np.zeros(shape)[idx].shape, dtype)
    out = structural.scatter_add(g, index, shape)
    want = np.zeros(shape, dtype)
    want[idx] = g
    np.testing.assert_array_equal(out, want)
    check_vjp(lambda g: structural.scatter_add(g, index, shape) * 2.0, (g,), dtype)


@st.composite
def concat_case(draw):
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(-len(base), len(base) - 1))
    n = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n):
        s = list(base)
        s[axis] = draw(st.integers(1, 4))
        shapes.append(tuple(s))
    return shapes, axis


@pytest.mark.parametrize("form", ["np", "fnp"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(case=concat_case(), seed=SEEDS)
def test_concatenate_vjp(form, dtype, case, seed):
    shapes, axis = case
    cat = np.concatenate if form == "np" else fnp.concatenate
    rng = np.random.default_rng(seed)
    xs = tuple(sample(uniform(-2, 2), rng, s, dtype) for s in shapes)
    w = rng.uniform(size=np.concatenate(xs, axis).shape).astype(dtype)
    check_vjp(lambda *xs: cat(list(xs), axis=axis) * w, xs, dtype)


@pytest.mark.parametrize("form", ["np", "fnp"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(data=st.data(), seed=SEEDS)
def test_stack_vjp(form, dtype, data, seed):
    shape = data.draw(SHAPES)
    n = data.draw(st.integers(1, 3))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    stack = np.stack if form == "np" else fnp.stack
    rng = np.random.default_rng(seed)
    xs = tuple(sample(uniform(-2, 2), rng, shape, dtype) for _ in range(n))
    w = rng.uniform(size=np.stack(xs, axis).shape).astype(dtype)
    check_vjp(lambda *xs: stack(xs, axis=axis) * w, xs, dtype)


def test_concatenate_mixed_constant_operand():
    c = np.array([10.0, 20.0])
    x = np.array([1.0, 2.0, 3.0])
    g = fg.grad(lambda x: np.sum(np.concatenate([c, x, c]) * np.arange(7.0)))(x)
    np.testing.assert_array_equal(g, [2.0, 3.0, 4.0])
    g = fg.grad(lambda x: np.sum(fnp.hstack([x, c]) ** 2) + np.sum(fnp.vstack([x, x])))(x)
    np.testing.assert_array_equal(g, 2 * x + 2.0)


@st.composite
def reduce_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    nd = len(shape)
    axis = draw(
        st.none() | (st.integers(-nd, nd - 1) if nd else st.none()) | hnp.valid_tuple_axes(nd)
    )
    keepdims = draw(st.booleans())
    return shape, axis, keepdims


REDUCE_FORMS = {
    "sum": [("np", np.sum), ("fnp", fnp.sum), ("method", lambda x, **k: x.sum(**k))],
    "max": [
        ("np", np.max),
        ("fnp", fnp.max),
        ("method", lambda x, **k: x.max(**k)),
        ("np.amax", np.amax),
    ],
    "min": [("np", np.min), ("fnp", fnp.min), ("method", lambda x, **k: x.min(**k))],
}


REDUCE_CASES = [
    pytest.param(k, f, id=f"{k}-{form}") for k, fs in REDUCE_FORMS.items() for form, f in fs
]


@pytest.mark.parametrize("kind,fn", [c for c in REDUCE_CASES if c.id.endswith("-fnp")])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(case=reduce_case(), seed=SEEDS)
def test_reduce_vjp(kind, fn, dtype, case, seed):
    _reduce_vjp(kind, fn, dtype, case, seed)


@pytest.mark.parametrize("kind,fn", [c for c in REDUCE_CASES if not c.id.endswith("-fnp")])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@OTHER_FORMS
@given(case=reduce_case(), seed=SEEDS)
def test_reduce_vjp_numpy_forms(kind, fn, dtype, case, seed):
    _reduce_vjp(kind, fn, dtype, case, seed)


def _reduce_vjp(kind, fn, dtype, case, seed):
    shape, axis, keepdims = case
    rng = np.random.default_rng(seed)
    x = sample(distinct, rng, shape, dtype)
    want = getattr(np, kind)(x, axis=axis, keepdims=keepdims)
    out, _ = fg.vjp(lambda x: fn(x, axis=axis, keepdims=keepdims), x)
    assert np.shape(out) == np.shape(want)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    check_vjp(lambda x: fn(x, axis=axis, keepdims=keepdims) * 1.5, (x,), dtype)


def test_reduce_sum_np_add_reduce():
    x = np.arange(6.0).reshape(2, 3)
    g = fg.grad(lambda x: np.sum(np.add.reduce(x, axis=0) ** 2))(x)
    np.testing.assert_array_equal(g, np.broadcast_to(2 * x.sum(0), (2, 3)))


def test_reduce_max_min_ties_share_gradient():
    x = np.array([[3.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
    g = fg.grad(lambda x: np.sum(np.max(x, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    g = fg.grad(lambda x: np.min(x))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])


MATMUL_NDIMS = list(itertools.product([1, 2, 3], [1, 2, 3]))


def _mm_shapes(nx, ny, n, k, m, bx, by):
    xs = (k,) if nx == 1 else (n, k) if nx == 2 else (bx, n, k)
    ys = (k,) if ny == 1 else (k, m) if ny == 2 else (by, k, m)
    return xs, ys


@st.composite
def matmul_case(draw):
    nx, ny = draw(st.sampled_from(MATMUL_NDIMS))
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    b = draw(st.integers(1, 4))
    bx, by = draw(st.sampled_from([(b, b), (1, b), (b, 1)]))
    return _mm_shapes(nx, ny, n, k, m, bx, by)


MATMUL_FORMS = {
    "op": operator.matmul,
    "np": np.matmul,
    "fnp": fnp.matmul,
}


@pytest.mark.parametrize("form", list(MATMUL_FORMS))
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@SETTINGS
@given(shapes=matmul_case(), seed=SEEDS)
def test_matmul_vjp(form, dtype, shapes, seed):
    mm = MATMUL_FORMS[form]
    rng = np.random.default_rng(seed)
    x, y = (sample(uniform(-2, 2), rng, s, dtype) for s in shapes)
    check_vjp(mm, (x, y), dtype)


@pytest.mark.parametrize("bx,by", [(2, 2), (1, 3), (3, 1)])
@pytest.mark.parametrize("nx,ny", MATMUL_NDIMS)
def test_matmul_all_rank_combinations(nx, ny, bx, by):
    xs, ys = _mm_shapes(nx, ny, 2, 3, 4, bx, by)
    rng = np.random.default_rng(nx * 10 + ny)
    x, y = rng.standard_normal(xs), rng.standard_normal(ys)
    check_vjp(operator.matmul, (x, y), np.float64)
    # against the explicit finite-difference gradient of a weighted sum
    w = rng.standard_normal(np.shape(x @ y))
    gx, gy = fg.grad(lambda a, b: np.sum((a @ b) * w), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, fd_grad(lambda a: np.sum((a @ y) * w), x), atol=1e-7)
    np.testing.assert_allclose(gy, fd_grad(lambda b: np.sum((x @ b) * w), y), atol=1e-7)


@pytest.mark.parametrize(
    "f,wrt_w",
    [
        (lambda x, W: x @ W, True),
        (lambda x, W: W.T @ x.T, True),
        (lambda x, W: np.dot(x, W), True),
        (lambda x, W: fnp.dot(x, W), True),
        (lambda x, W: x.dot(W), False),  # ndarray.dot(tracer) cannot dispatch
    ],
    ids=["x@W", "W.T@x.T", "np.dot", "fnp.dot", "method"],
)
def test_matmul_with_constant_operand(f, wrt_w):
    rng = np.random.default_rng(11)
    x, W = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    check_vjp(lambda x: f(x, W), (x,), np.float64)
    if wrt_w:
        check_vjp(lambda W: f(x, W), (W,), np.float64)
    g = fg.grad(lambda x: np.sum(f(x, W)))(x)
    np.testing.assert_allclose(g, np.broadcast_to(W.sum(1), (2, 3)), rtol=1e-12)


# --- coverage of the primitive table ------------------------------------------------------
VJP_TESTED = {
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "integer_pow",
    "pow",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arctan",
    "sqrt",
    "abs",
    "maximum",
    "minimum",
    "select",
    "convert_element_type",
    "broadcast_in_dim",
    "reshape",
    "squeeze",
    "expand_dims",
    "transpose",
    "getitem",
    "scatter_add",
    "concatenate",
    "reduce_sum",
    "reduce_max",
    "reduce_min",
    "matmul",
    # complex parts: rules checked in tests/test_complex_rules.py (finite differences and the
    # jvp/vjp identity) and tests/test_complex.py (recorded JAX values)
    "real",
    "imag",
    "conj",
}
NON_DIFFERENTIABLE_TESTED = {
    "sign",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
    "and",
    "or",
    "not",
    "stop_gradient",
    "argmax",
    "argmin",
}


def _core_primitives():
    return {
        v.name: v
        for m in (elementwise, structural, reductions, linalg)
        for v in vars(m).values()
        if isinstance(v, Primitive)
    }


def test_every_core_primitive_is_covered():
    core = _core_primitives()
    for name, p in core.items():
        assert registry[name] is p
        if p.differentiable:
            assert name in VJP_TESTED, f"no VJP test for differentiable primitive {name!r}"
        else:
            assert name in NON_DIFFERENTIABLE_TESTED, f"primitive {name!r} is not covered"
    assert VJP_TESTED | NON_DIFFERENTIABLE_TESTED == set(core)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: (x > 0) * x,
        lambda x: fnp.where(x <= 0.5, 1.0, 2.0) * x,
        lambda x: np.where((x >= 0) & (x != 1.0), x, 0.0),
        lambda x: fnp.where((x < 0) | (x == 5.0), 0.0, x),
        lambda x: fnp.where(~(x > 0), 0.0, x),
        lambda x: x * fnp.argmax(x) + x * np.argmin(x),
    ],
    ids=["gt", "le", "ge-ne-and", "lt-eq-or", "not", "argmax"],
)
def test_non_differentiable_primitives_carry_no_derivative(f):
    x = np.array([-1.5, 0.25, 2.0, 3.0])
    g = fg.grad(lambda x: np.sum(f(x)))(x)
    np.testing.assert_allclose(g, fd_grad(lambda x: np.sum(f(x)), x), atol=1e-8)


# --- shape rules agree with impls -----------------------------------------------------------
FLOAT_OR_INT = st.sampled_from([np.float64, np.float32, np.int32, np.int64])
ANY_DTYPE = st.sampled_from([np.float64, np.float32, np.int32, np.int64, np.bool_])


def _array(rng, shape, dtype, positive=False):
    v = rng.uniform(0.5, 2.0, size=shape) if positive else rng.uniform(-2, 2, size=shape)
    if np.dtype(dtype) == np.bool_:
        return np.asarray(v > 0)
    if np.dtype(dtype).kind in "iu":
        return np.asarray(np.round(v * 2) + (3 if positive else 0)).astype(dtype)
    return np.asarray(v).astype(dtype)


def assert_rule_matches_impl(prim, args, **params):
    avals = [aval_of(a) for a in args]
    with np.errstate(all="ignore"):
        out = prim.impl(*args, **params)
    rule = prim.shape_rule(*avals, **params)
    assert isinstance(rule, ShapedArray)
    assert rule.shape == np.shape(out), (prim.name, avals, params)
    assert rule.dtype == np.asarray(out).dtype, (prim.name, avals, params, np.asarray(out).dtype)


UNARY_PRIMS = [
    "neg",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sin",
    "cos",
    "tan",
    "tanh",
    "arctan",
    "sqrt",
    "abs",
    "sign",
]
BINARY_PRIMS = [
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
]


@pytest.mark.parametrize("name", UNARY_PRIMS)
@FEW
@given(shape=SHAPES, dtype=FLOAT_OR_INT, seed=SEEDS)
def test_shape_rule_unary(name, shape, dtype, seed):
    x = _array(np.random.default_rng(seed), shape, dtype, positive=True)
    assert_rule_matches_impl(registry[name], (x,))


@pytest.mark.parametrize("name", BINARY_PRIMS)
@FEW
@given(shapes=BCAST2, dx=FLOAT_OR_INT, dy=FLOAT_OR_INT, seed=SEEDS, scalar=st.integers(0, 4))
def test_shape_rule_binary(name, shapes, dx, dy, seed, scalar):
    rng = np.random.default_rng(seed)
    x = _array(rng, shapes.input_shapes[0], dx, positive=True)
    y = _array(rng, shapes.input_shapes[1], dy, positive=True)
    # Python scalars are weakly typed: they take the array's dtype
    if scalar == 1:
        y = 1.5
    elif scalar == 2:
        x = 2
    elif scalar == 3:
        y = np.float32(0.5)
    assert_rule_matches_impl(registry[name], (x, y))


@pytest.mark.parametrize("name", ["and", "or", "not"])
@FEW
@given(shapes=BCAST2, seed=SEEDS)
def test_shape_rule_logical(name, shapes, seed):
    rng = np.random.default_rng(seed)
    x = _array(rng, shapes.input_shapes[0], np.bool_)
    y = _array(rng, shapes.input_shapes[1], np.bool_)
    assert_rule_matches_impl(registry[name], (x,) if name == "not" else (x, y))


@FEW
@given(shape=SHAPES, dtype=ANY_DTYPE, y=st.integers(0, 4), seed=SEEDS)
def test_shape_rule_integer_pow(shape, dtype, y, seed):
    x = _array(np.random.default_rng(seed), shape, dtype, positive=True)
    assert_rule_matches_impl(registry["integer_pow"], (x,), y=y)


@FEW
@given(shapes=BCAST3, dx=ANY_DTYPE, dy=ANY_DTYPE, seed=SEEDS, scalar=st.booleans())
def test_shape_rule_select(shapes, dx, dy, seed, scalar):
    rng = np.random.default_rng(seed)
    sc, sx, sy = shapes.input_shapes
    c = _array(rng, sc, np.bool_)
    x = _array(rng, sx, dx)
    y = 0.0 if scalar else _array(rng, sy, dy)
    assert_rule_matches_impl(registry["select"], (c, x, y))


@FEW
@given(shape=SHAPES, dtype=ANY_DTYPE, new=ANY_DTYPE, seed=SEEDS)
def test_shape_rule_convert_and_stop_gradient(shape, dtype, new, seed):
    x = _array(np.random.default_rng(seed), shape, dtype)
    assert_rule_matches_impl(registry["convert_element_type"], (x,), new_dtype=np.dtype(new))
    assert_rule_matches_impl(registry["stop_gradient"], (x,))


@FEW
@given(shapes=broadcast_to_shapes(), dtype=ANY_DTYPE, seed=SEEDS)
def test_shape_rule_broadcast_in_dim(shapes, dtype, seed):
    src, target = shapes
    x = _array(np.random.default_rng(seed), src, dtype)
    dims = tuple(range(len(target) - len(src), len(target)))
    assert_rule_matches_impl(
        registry["broadcast_in_dim"], (x,), shape=target, broadcast_dimensions=dims
    )


@FEW
@given(data=st.data(), dtype=ANY_DTYPE, seed=SEEDS)
def test_shape_rule_structural(data, dtype, seed):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    nd = len(shape)
    x = _array(np.random.default_rng(seed), shape, dtype)
    n = int(np.prod(shape))
    assert_rule_matches_impl(registry["reshape"], (x,), new_sizes=(1, n))
    perm = tuple(data.draw(st.permutations(range(nd))))
    assert_rule_matches_impl(registry["transpose"], (x,), permutation=perm)
    ones = tuple(i for i, s in enumerate(shape) if s == 1)
    if ones:
        assert_rule_matches_impl(registry["squeeze"], (x,), dimensions=ones)
    ax = data.draw(st.integers(0, nd))
    assert_rule_matches_impl(registry["expand_dims"], (x,), dimensions=(ax,))
    idx = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    index = to_index(shape, idx)
    assert_rule_matches_impl(registry["getitem"], (x,), idx=index)
    g = x[index.to_numpy()]
    assert_rule_matches_impl(registry["scatter_add"], (np.asarray(g),), idx=index, shape=shape)
    axes = tuple(sorted(a % nd for a in data.draw(hnp.valid_tuple_axes(nd))))
    assert_rule_matches_impl(registry["reduce_sum"], (x,), axes=axes)
    assert_rule_matches_impl(registry["reduce_max"], (x,), axes=axes)
    assert_rule_matches_impl(registry["reduce_min"], (x,), axes=axes)
    axis = data.draw(st.integers(0, nd - 1))
    assert_rule_matches_impl(registry["argmax"], (x,), axis=axis)
    assert_rule_matches_impl(registry["argmin"], (x,), axis=axis)


@FEW
@given(case=concat_case(), dtypes=st.lists(ANY_DTYPE, min_size=3, max_size=3), seed=SEEDS)
def test_shape_rule_concatenate(case, dtypes, seed):
    shapes, axis = case
    rng = np.random.default_rng(seed)
    xs = [_array(rng, s, d) for s, d in zip(shapes, dtypes)]
    assert_rule_matches_impl(registry["concatenate"], xs, axis=axis % len(shapes[0]))


@FEW
@given(shapes=matmul_case(), dx=FLOAT_OR_INT, dy=FLOAT_OR_INT, seed=SEEDS)
def test_shape_rule_matmul(shapes, dx, dy, seed):
    rng = np.random.default_rng(seed)
    x, y = _array(rng, shapes[0], dx), _array(rng, shapes[1], dy)
    assert_rule_matches_impl(registry["matmul"], (x, y))


def test_index_params_are_hashable_and_readable():
    # the hashable index params print in numpy syntax
    idx = Index((Slice(None, None, -1), 0, None))
    assert repr(idx) == "[::-1, 0, None]"
    assert hash(idx) == hash(Index((Slice(None, None, -1), 0, None)))
