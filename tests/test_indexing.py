"""Integer-array / boolean-mask indexing of traced values and functional updates ``x.at[]``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.errors import ConcretizationError, TracerConversionError
from funcgrad.numpy._indexing import IndexUpdateHelper
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 5, 6))
MASK0 = np.array([True, False, True, True])
MASK01 = RNG.standard_normal((4, 5)) > 0
MASK1 = np.array([False, True, True, False, True])

INDICES: dict[str, Any] = {
    "list": [0, 2, 2],
    "array_neg": np.array([0, -1, 2, 2]),
    "array_2d": np.array([[1, 3], [3, 0]]),
    "slice_array": (slice(None), np.array([4, 0, 0])),
    "array_slice_int": (np.array([1, 2]), slice(1, 4), 3),
    "int_slice_array": (0, slice(None), np.array([5, 1])),  # non-adjacent: advanced axes first
    "arrays_adjacent": (slice(1, 3), np.array([0, 4]), np.array([[2], [5]])),
    "arrays_split": (np.array([0, 1]), slice(None), np.array([2, 3])),
    "none_between": (np.array([0, 1]), None, np.array([2, 3])),
    "ellipsis": (Ellipsis, np.array([1, 1, 0])),
    "newaxis_front": (None, slice(None), np.array([1, 2])),
    "mask_axis0": MASK0,
    "mask_2d": MASK01,
    "mask_axis1": (slice(None), MASK1),
    "mask_and_array": (MASK0, slice(None), np.array([0, 1, 5])),
    "scalar_array": np.array(2),
}


def _trace_value(f: Any, x: np.ndarray) -> Any:
    """Evaluate ``f`` on a tracer (not on the numpy array itself)."""
    return fg.jvp(f, (x,), (np.zeros_like(x),))[0]


@pytest.mark.parametrize("name", sorted(INDICES))
def test_values_match_numpy(name: str) -> None:
    idx = INDICES[name]
    got = _trace_value(lambda x: x[idx], X)
    np.testing.assert_array_equal(got, X[idx])


@pytest.mark.parametrize("name", sorted(INDICES))
def test_grads(name: str) -> None:
    idx = INDICES[name]
    check_grads(lambda x: fnp.sin(x[idx]), (X,), order=1)


@pytest.mark.parametrize("name", ["list", "arrays_split", "mask_2d"])
def test_second_order(name: str) -> None:
    idx = INDICES[name]
    check_grads(lambda x: fnp.sin(x[idx]) * x[idx], (X,), order=2)


def test_repeated_indices_accumulate() -> None:
    g = fg.grad(lambda x: fnp.sum(x[[0, 2, 2]]))(np.ones(3))
    np.testing.assert_array_equal(g, [1.0, 0.0, 2.0])
    g2 = fg.grad(lambda x: fnp.sum(x[:, np.array([1, 1, 1])] * 2.0))(np.ones((2, 3)))
    np.testing.assert_array_equal(g2, [[0.0, 6.0, 0.0], [0.0, 6.0, 0.0]])


def test_mask_grad() -> None:
    x = np.array([1.0, -2.0, 3.0, -4.0])
    g = fg.grad(lambda x: fnp.sum(x[x > 0] ** 2))(x)
    np.testing.assert_array_equal(g, [2.0, 0.0, 6.0, 0.0])


def test_column_index_grad() -> None:
    x = RNG.standard_normal((3, 4))
    idx = np.array([3, 0, 3])
    g = fg.grad(lambda x: fnp.sum(x[:, idx] * np.arange(3.0)))(x)
    want = np.zeros((3, 4))
    want[:, 3] = 0.0 + 2.0
    want[:, 0] = 1.0
    np.testing.assert_array_equal(g, want)


def test_jacobians_and_ir() -> None:
    x = np.arange(4.0)
    idx = np.array([3, 3, 1])
    j = fg.jacrev(lambda x: x[idx])(x)
    np.testing.assert_array_equal(j, np.eye(4)[idx])
    np.testing.assert_array_equal(fg.jacfwd(lambda x: x[idx])(x), j)
    text = str(fg.make_ir(lambda x: x[idx] * 2.0)(x))
    assert "gather" in text
    h = fg.hessian(lambda x: fnp.sum(x[idx] ** 3))(x)
    np.testing.assert_allclose(h, np.diag([0.0, 6.0, 0.0, 36.0]))


def test_dtype_preserved() -> None:
    x = X.astype(np.float32)
    out, g = fg.value_and_grad(lambda x: fnp.sum(x[[0, 1]]))(x)
    assert out.dtype == np.float32 and g.dtype == np.float32


# --- vmap ---------------------------------------------------------------------------------
VMAP_CASES: dict[str, Any] = {
    "x[i]": lambda x, i: x[i],
    "x[:, i]": lambda x, i: x[:, i],
    "x[:, :, i]": lambda x, i: x[:, :, i],
    "x[:, i, J]": lambda x, i: x[:, i, np.array([0, 5, 1])],
    "x[i, :, J]": lambda x, i: x[i, :, np.array([0, 5, 1])],
    "x[1:, i, None]": lambda x, i: x[1:, i, None],
    "x[i, 2]": lambda x, i: x[i, 2],
    "x[None, i]": lambda x, i: x[None, i],
    "x[..., None, i]": lambda x, i: x[..., None, i],
    "set_basic": lambda x, i: x.at[1:3, 0].set(x[0, 0] * 2.0),
    "add_int": lambda x, i: x.at[2].add(fnp.sin(x[0])),
    "set": lambda x, i: x.at[:, i].set(1.0),
    "add_split": lambda x, i: x.at[i, :, 2].add(x[0, :, 0]),
    "add_adjacent": lambda x, i: x.at[:, i, np.array([0, 1, 2])].add(1.0),
    "multiply": lambda x, i: x.at[:, i].multiply(2.0),
    "min": lambda x, i: x.at[:, i].min(0.0),
    "max": lambda x, i: x.at[1, i].max(0.0),
}
IB = np.array([[0, 1, 2], [3, 3, 0], [2, 2, 2]])


@pytest.mark.parametrize("name", sorted(VMAP_CASES))
@pytest.mark.parametrize("axes", [(0, 0), (None, 0), (0, None), (2, 1)])
def test_vmap_matches_loop(name: str, axes: tuple[Any, Any]) -> None:
    fn = VMAP_CASES[name]
    n = 3
    xs = np.stack([X * (j + 1) for j in range(n)], axis=axes[0] if axes[0] is not None else 0)
    x_in = xs if axes[0] is not None else X
    i_in = IB.T if axes[1] == 1 else IB if axes[1] == 0 else IB[1]

    def per(j: int) -> tuple[Any, Any]:
        xj = np.take(xs, j, axis=axes[0]) if axes[0] is not None else X
        ij = np.take(i_in, j, axis=axes[1]) if axes[1] is not None else i_in
        return xj, ij

    got = fg.vmap(fn, in_axes=axes)(x_in, i_in)
    want = []
    for j in range(n):
        xj, ij = per(j)
        want.append(_trace_value(lambda x, ij=ij: fn(x, ij), xj))
    np.testing.assert_allclose(got, np.stack(want))

    def loss(x: Any, i: Any) -> Any:
        return fnp.sum(fnp.sin(fn(x, i)))

    gb = fg.vmap(fg.grad(loss), in_axes=axes)(x_in, i_in)
    gl = np.stack([fg.grad(loss)(*per(j)) for j in range(n)])
    np.testing.assert_allclose(gb, gl)


def test_vmap_traced_scalar_index() -> None:
    x = RNG.standard_normal((5, 4))
    got = fg.vmap(lambda r: r[fnp.argmax(r)])(x)
    np.testing.assert_array_equal(got, x.max(axis=1))
    g = fg.vmap(fg.grad(lambda r: r[fnp.argmax(r)] * 2.0))(x)
    want = np.zeros_like(x)
    want[np.arange(5), x.argmax(axis=1)] = 2.0
    np.testing.assert_array_equal(g, want)


def test_vmap_over_update_values() -> None:
    vs = RNG.standard_normal((3, 2))
    got = fg.vmap(lambda v: _lift(np.zeros(4), v).at[np.array([1, 1])].add(v))(vs)
    want = np.zeros((3, 4))
    np.add.at(want, (slice(None), np.array([1, 1])), vs)
    np.testing.assert_allclose(got, want)


def _lift(x: np.ndarray, like: Any) -> Any:
    """A numpy constant as a tracer (numpy arrays have no ``.at``)."""
    return x + 0.0 * fnp.sum(like)


# --- .at updates ---------------------------------------------------------------------------
def _np_update(x: np.ndarray, idx: Any, op: str, v: Any) -> np.ndarray:
    y = x.copy()
    if op == "set":
        y[idx] = v
    elif op == "add":
        np.add.at(y, idx, v)
    elif op == "multiply":
        np.multiply.at(y, idx, v)
    elif op == "divide":
        np.divide.at(y, idx, v)
    elif op == "min":
        np.minimum.at(y, idx, v)
    elif op == "max":
        np.maximum.at(y, idx, v)
    return y


AT_INDICES: dict[str, Any] = {
    "int": 1,
    "slice": np.s_[1:3],
    "repeated": np.array([0, 2, 2]),
    "mixed": (np.array([3, 0, 3]), slice(None), 2),
    "mask": (MASK0,),
    "unique_2d": (np.array([0, 1]), np.array([[1], [4]])),
}
OPS = ["set", "add", "multiply", "divide", "min", "max"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name", sorted(AT_INDICES))
def test_at_values(op: str, name: str) -> None:
    idx = AT_INDICES[name]
    gshape = X[idx].shape
    v = RNG.uniform(0.5, 1.5, gshape)
    got = _trace_value(lambda x: getattr(x.at[idx], op)(v), X)
    np.testing.assert_allclose(got, _np_update(X, idx, op, v), rtol=1e-12)
    # scalar value broadcasts
    got = _trace_value(lambda x: getattr(x.at[idx], op)(0.75), X)
    np.testing.assert_allclose(got, _np_update(X, idx, op, 0.75), rtol=1e-12)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name", sorted(AT_INDICES))
def test_at_grads(op: str, name: str) -> None:
    idx = AT_INDICES[name]
    gshape = X[idx].shape
    v = RNG.uniform(0.5, 1.5, gshape)  # away from 0 and, for min/max, no exact ties
    # check_grads also calls the function on plain numpy arrays, which have no `.at`:
    # the same helper object works on both.
    check_grads(lambda x, v: fnp.sin(getattr(_at(x)[idx], op)(v)), (X, v), order=1)


def _at(x: Any) -> IndexUpdateHelper:
    """``x.at`` for tracers and numpy arrays alike."""
    return IndexUpdateHelper(x)


def test_at_get() -> None:
    x = np.arange(6.0)
    np.testing.assert_array_equal(_trace_value(lambda x: x.at[[5, 0]].get(), x), [5.0, 0.0])
    np.testing.assert_array_equal(_trace_value(lambda x: x.at[1:3].get(), x), [1.0, 2.0])


def test_at_set_repeated_only_winner_gets_gradient() -> None:
    x = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    idx = np.array([1, 1, 2])
    out = _trace_value(lambda x: x.at[idx].set(v), x)
    np.testing.assert_array_equal(out, _np_update(x, idx, "set", v))
    gx, gv = fg.grad(
        lambda x, v: fnp.sum(x.at[idx].set(v) * np.array([1.0, 10.0, 100.0])), argnums=(0, 1)
    )(x, v)
    np.testing.assert_array_equal(gx, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(gv, [0.0, 10.0, 100.0])


def test_at_add_repeated_accumulates_gradient() -> None:
    gv = fg.grad(lambda v: fnp.sum(_lift(np.zeros(3), v).at[[0, 0]].add(v)))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gv, [1.0, 1.0])


def test_at_min_ties_share_gradient() -> None:
    v = np.array([1.0, 1.0])
    gv = fg.grad(lambda v: fnp.sum(_lift(np.full(2, 5.0), v).at[[0, 0]].min(v)))(v)
    np.testing.assert_array_equal(gv, [0.5, 0.5])


def test_at_multiply_second_order() -> None:
    v = np.array([1.5, 0.7, 1.2])
    x = np.array([1.0, 2.0, 3.0])
    check_grads(lambda x, v: _at(x)[np.array([0, 0, 2])].multiply(v), (x, v), order=2)


def test_at_does_not_mutate_and_keeps_dtype() -> None:
    x = np.ones(3, np.float32)
    before = x.copy()
    out = _trace_value(lambda x: x.at[0].set(np.float64(7.0)), x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, [7.0, 1.0, 1.0])


# --- errors ----------------------------------------------------------------------------------
def test_setitem_raises_pointing_to_at() -> None:
    def f(x: Any) -> Any:
        x[0] = 1.0
        return x

    with pytest.raises(TracerConversionError, match=r"\.at\[idx\]\.set"):
        fg.grad(lambda x: fnp.sum(f(x)))(np.ones(3))
    with pytest.raises(TypeError, match="at"):
        fg.vmap(f)(np.ones((2, 3)))


def test_abstract_mask_raises() -> None:
    with pytest.raises(ConcretizationError, match="concrete mask"):
        fg.vmap(lambda x: fnp.sum(x[x > 0]))(np.ones((2, 3)))


def test_concrete_traced_mask_works() -> None:
    x = np.array([1.0, -1.0, 2.0])
    assert fg.grad(lambda x: fnp.sum(x[x > 0]))(x).tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    "idx,match",
    [
        (np.array([0, 7]), "out of bounds"),
        ([0, -9], "out of bounds"),
        ((slice(None), np.array([5])), "out of bounds for axis 1"),
        (np.array([0.5]), "valid indices"),
        (np.array([True, False]), "boolean index did not match"),
        ((0, 0, 0, np.array([0])), "too many indices"),
        (True, "boolean scalar"),
    ],
)
def test_index_errors(idx: Any, match: str) -> None:
    with pytest.raises(IndexError, match=match):
        fg.grad(lambda x: fnp.sum(x[idx]))(np.ones((3, 5)))


def test_at_bad_value_shape() -> None:
    with pytest.raises(ValueError, match="cannot be broadcast"):
        fg.grad(lambda x: fnp.sum(x.at[[0, 1]].set(np.ones(3))))(np.ones(4))


def test_abstract_slice_bound_raises() -> None:
    with pytest.raises(ConcretizationError, match="slice"):
        fg.vmap(lambda x, n: x[np.array([0]), :n])(np.ones((2, 3, 3)), np.array([1, 2]))
