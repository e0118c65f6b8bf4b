"""funcgrad's array class (``funcgrad.Array``, an ndarray subclass): what funcgrad creates or
returns has JAX's ``.at[...]`` and value semantics for ``+=``; references are numpy's own
copy-then-assign results and closed-form derivatives."""

from __future__ import annotations

import operator
import pickle

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import io

X = np.array([0.5, -1.25, 2.0, 3.5])


@pytest.mark.parametrize(
    "make",
    [
        lambda: fnp.zeros(3),
        lambda: fnp.ones((2, 2)),
        lambda: fnp.full(3, 2.0),
        lambda: fnp.empty(2),
        lambda: fnp.arange(4.0),
        lambda: fnp.array([1.0, 2.0]),
        lambda: fnp.asarray(np.ones(3)),
        lambda: fnp.linspace(0.0, 1.0, 5),
        lambda: fnp.eye(2),
        lambda: fnp.identity(3),
        lambda: fnp.zeros_like(X),
        lambda: fnp.ones_like(X),
        lambda: fnp.full_like(X, 3.0),
        lambda: fnp.meshgrid(X, X)[0],
        lambda: fnp.sin(X),
        lambda: fnp.sin(fnp.arange(3.0)) * 2.0,
        lambda: fg.grad(lambda x: (x**2).sum())(X),
        lambda: fg.jit(lambda x: x * 2.0)(X),
        lambda: fg.jit(lambda x: x)(X),
        lambda: fg.vmap(lambda x: x * 2.0)(X),
        lambda: fg.jvp(fnp.sin, (X,), (X,))[1],
        lambda: fg.random.normal(fg.random.PRNGKey(0), (3,)),
    ],
)
def test_results_are_funcgrad_arrays(make):
    a = make()
    assert type(a) is fg.Array
    assert isinstance(a, np.ndarray) and a.flags.writeable


def test_at_eagerly_matches_numpy_copy_and_assign():
    a = fnp.zeros(4)
    want = np.zeros(4)
    want[[1, 3]] = 5.0
    got = a.at[np.array([1, 3])].set(5.0)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(a, np.zeros(4))  # functional: `a` unchanged
    want = np.arange(4.0)
    np.add.at(want, [0, 0, 2], 1.5)
    np.testing.assert_array_equal(fnp.arange(4.0).at[np.array([0, 0, 2])].add(1.5), want)
    np.testing.assert_array_equal(fnp.ones(3).at[1].multiply(4.0), [1.0, 4.0, 1.0])
    np.testing.assert_array_equal(fnp.ones(3).at[2].max(7.0), [1.0, 1.0, 7.0])
    assert fnp.arange(5.0).at[1:3].get().tolist() == [1.0, 2.0]


def test_at_on_created_arrays_inside_transforms():
    def f(x):
        return (fnp.zeros(3).at[0].set(x) * fnp.arange(3.0).at[2].add(x)).sum()

    # f(x) = x * 0 + 0 * 1 + 0 * (2 + x) = 0 ... use a non-trivial one instead
    def g(x):
        v = fnp.zeros(3).at[1].set(x)  # [0, x, 0]
        w = fnp.ones(3).at[1].add(x)  # [1, 1 + x, 1]
        return (v * w).sum()  # x (1 + x)

    x = 1.5
    assert f(x) == 0.0
    assert g(x) == pytest.approx(x * (1 + x))
    assert fg.grad(g)(x) == pytest.approx(1 + 2 * x)
    assert fg.jit(g)(x) == pytest.approx(x * (1 + x))
    assert fg.jit(fg.grad(g))(x) == pytest.approx(1 + 2 * x)
    xs = np.array([0.5, 2.0])
    np.testing.assert_allclose(fg.vmap(g)(xs), xs * (1 + xs))
    np.testing.assert_allclose(fg.vmap(fg.grad(g))(xs), 1 + 2 * xs)
    np.testing.assert_allclose(fg.jit(lambda x: fnp.zeros(3).at[0].set(x))(2.0), [2.0, 0, 0])


AUGMENTED = [
    ("+=", operator.iadd, operator.add),
    ("-=", operator.isub, operator.sub),
    ("*=", operator.imul, operator.mul),
    ("/=", operator.itruediv, operator.truediv),
    ("//=", operator.ifloordiv, operator.floordiv),
    ("%=", operator.imod, operator.mod),
    ("**=", operator.ipow, operator.pow),
]


@pytest.mark.parametrize("name,iop,op", AUGMENTED, ids=[a[0] for a in AUGMENTED])
def test_augmented_assignment_rebinds(name, iop, op):
    a = fnp.arange(1.0, 5.0)
    alias = a
    before = np.array(a)
    a = iop(a, 3.0)
    np.testing.assert_array_equal(alias, before)  # the alias keeps its value, as in JAX
    np.testing.assert_array_equal(a, op(before, 3.0))
    assert type(a) is fg.Array


def test_augmented_assignment_int_bitwise_and_matmul():
    a = fnp.arange(4)
    alias = a
    a <<= 1
    a |= 1
    a ^= 2
    a &= 7
    a >>= 1
    np.testing.assert_array_equal(alias, np.arange(4))
    np.testing.assert_array_equal(a, ((((np.arange(4) << 1) | 1) ^ 2) & 7) >> 1)
    m = fnp.eye(2)
    alias = m
    m @= np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(alias, np.eye(2))
    np.testing.assert_array_equal(m, [[1.0, 2.0], [3.0, 4.0]])


def test_history_of_parameters_is_not_aliased():
    # the JAX program that prints other numbers on mutable numpy arrays
    w = fnp.zeros(2)
    history = []
    for _ in range(3):
        history.append(w)
        w -= 0.5 * fg.grad(lambda w: ((w - 1.0) ** 2).sum())(w)
    np.testing.assert_allclose([h[0] for h in history], [0.0, 1.0, 1.0])


def test_augmented_assignment_with_traced_value():
    def f(x):
        acc = fnp.zeros(2)
        acc += x * 2.0
        acc *= x
        return acc.sum()  # 2 * (2 x^2)

    assert fg.grad(f)(1.5) == pytest.approx(8 * 1.5)
    assert fg.jit(fg.grad(f))(1.5) == pytest.approx(8 * 1.5)


def test_item_assignment_is_numpy_in_place():
    # autograd programs fill arrays outside differentiated code; that keeps working
    a = fnp.zeros(3)
    a[1] = 2.0
    np.testing.assert_array_equal(a, [0.0, 2.0, 0.0])


def test_item_assignment_of_a_traced_value_says_use_at():
    def f(x):
        a = fnp.zeros(3)
        a[0] = x
        return a.sum()

    for transform in (fg.grad, lambda f: fg.jit(fg.grad(f))):
        with pytest.raises(TypeError, match=r"test_array\.py:\d+.*x = x\.at\[idx\]\.set\(v\)"):
            transform(f)(2.0)


def test_traced_index_into_a_funcgrad_table():
    table = fnp.arange(10.0) ** 2

    def f(x):
        return table[fnp.floor(x).astype(int)] * x

    assert fg.jit(f)(3.5) == pytest.approx(9.0 * 3.5)
    np.testing.assert_allclose(fg.vmap(f)(np.array([1.5, 4.2])), [1.5, 16 * 4.2])
    assert fg.grad(f)(3.5) == pytest.approx(9.0)
    assert fg.jit(fg.grad(f))(3.5) == pytest.approx(9.0)
    t2 = fnp.arange(12.0).reshape(3, 4)
    assert fg.jit(lambda i, j: t2[i, j])(np.int64(2), np.int64(1)) == 9.0


def test_traced_index_into_a_plain_numpy_table_says_what_to_do():
    table = np.arange(10.0)
    with pytest.raises(TypeError, match=r"test_array\.py:\d+.*index into a plain numpy array"):
        fg.jit(lambda x: table[fnp.floor(x).astype(int)])(3.5)


def test_jit_computes_on_plain_arrays_and_shares_the_cache():
    seen = []

    def f(x):
        seen.append(1)
        return x * 2.0

    jf = fg.jit(f)
    jf(np.ones(3))
    jf(fnp.ones(3))
    assert len(seen) == 1  # one trace for both: same shapes and dtypes
    assert jf.cache_info().hits == 1
    src = jf.lower(np.ones(3)).source
    assert "view(_Array)" in src


def test_isinstance_and_construction():
    assert isinstance(np.ones(2), fg.Array) and isinstance(np.float64(1.0), fg.Array)
    assert not isinstance([1.0], fg.Array)
    with pytest.raises(TypeError, match="cannot be instantiated"):
        fg.Array((2,))


def test_numpy_functions_on_arrays():
    a = fnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.insert(a.ravel(), 1, 9.0), [0, 9, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(np.pad(a, 1)[1:-1, 1:-1], np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(np.linalg.inv(fnp.eye(2) * 2.0), np.eye(2) / 2)
    np.testing.assert_array_equal(np.concatenate([a, a]), np.concatenate([np.array(a)] * 2))
    assert a.block_until_ready() is a
    assert type(a[0]) is fg.Array and float(a[0, 1]) == 1.0


def test_pickle_and_checkpoint_round_trip(tmp_path):
    a = fnp.arange(3.0)
    b = pickle.loads(pickle.dumps(a))
    assert type(b) is fg.Array and b.tolist() == [0.0, 1.0, 2.0]
    path = tmp_path / "ck.npz"
    io.save(path, {"a": a, "p": np.ones(2)})
    back = io.load(path)
    assert type(back["a"]) is fg.Array and type(back["p"]) is np.ndarray
    np.testing.assert_array_equal(back["a"], a)
