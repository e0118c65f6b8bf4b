"""Dense Jacobians and Hessians: ``jacfwd``, ``jacrev``, ``hessian`` against closed forms and
finite differences, with JAX's output shapes (``out.shape + in.shape``), ``argnums`` and
pytrees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.tree_util import tree_leaves, tree_map, tree_structure

RNG = np.random.default_rng(42)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
X = RNG.standard_normal(4)
M = RNG.standard_normal((2, 3))

JACS = {"jacfwd": fg.jacfwd, "jacrev": fg.jacrev}


def numerical_jacobian(f: Callable[..., Any], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences, shape out.shape + x.shape."""
    x = np.asarray(x, np.float64)
    out = np.asarray(f(x))
    jac = np.zeros(out.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        d = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
        jac[(...,) + idx] = d
    return jac


# ---------------------------------------------------------------------------------------------
# Closed forms and shapes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("jac", sorted(JACS))
def test_linear_map_jacobian_is_the_matrix(jac: str) -> None:
    J = JACS[jac](lambda x: A @ x)(X)
    assert J.shape == (3, 4)
    np.testing.assert_allclose(J, A, rtol=1e-14, atol=1e-14)
    J = JACS[jac](lambda x: x @ B)(X)
    np.testing.assert_allclose(J, B.T, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("jac", sorted(JACS))
def test_elementwise_jacobian_is_diagonal(jac: str) -> None:
    J = JACS[jac](lambda x: fnp.sin(x) * x)(X)
    np.testing.assert_allclose(J, np.diag(np.cos(X) * X + np.sin(X)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("jac", sorted(JACS))
@pytest.mark.parametrize(
    "in_shape,out_fn,out_shape",
    [
        ((), lambda x: fnp.sin(x) * 2.0, ()),
        ((), lambda x: fnp.stack([x, x**2, x**3]), (3,)),
        ((4,), lambda x: fnp.sum(x**2), ()),
        ((2, 3), lambda x: fnp.sum(x**2), ()),
        ((2, 3), lambda x: fnp.tanh(x), (2, 3)),
        ((2, 3), lambda x: x.T @ x, (3, 3)),
        ((4,), lambda x: fnp.outer(x, x)[None], (1, 4, 4)),
        ((2, 3), lambda x: fnp.sum(x, axis=0), (3,)),
        ((2, 1, 3), lambda x: fnp.exp(x).reshape(3, 2), (3, 2)),
    ],
)
def test_shapes_and_values_vs_finite_differences(
    jac: str, in_shape: tuple[int, ...], out_fn: Any, out_shape: tuple[int, ...]
) -> None:
    x = RNG.standard_normal(in_shape) * 0.8
    J = JACS[jac](out_fn)(x)
    assert np.shape(J) == out_shape + in_shape
    assert isinstance(J, (np.ndarray, np.generic))
    np.testing.assert_allclose(J, numerical_jacobian(out_fn, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("jac", sorted(JACS))
def test_float32_jacobian_dtype(jac: str) -> None:
    x = X.astype(np.float32)
    J = JACS[jac](lambda x: fnp.tanh(x) * 2.0)(x)
    assert J.dtype == np.float32 and J.shape == (4, 4)
    np.testing.assert_allclose(J, np.diag(2 * (1 - np.tanh(X) ** 2)), rtol=1e-5, atol=1e-6)
    H = fg.hessian(lambda x: fnp.sum(x**3))(x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H, np.diag(6 * x), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# argnums
# ---------------------------------------------------------------------------------------------


def _bilinear(x: Any, m: Any, s: Any) -> Any:
    return fnp.sin(m @ x[:3]) * s


@pytest.mark.parametrize("jac", sorted(JACS))
def test_argnums_int(jac: str) -> None:
    s = np.float64(1.7)
    J1 = JACS[jac](_bilinear, argnums=1)(X, M, s)
    assert J1.shape == (2, 2, 3)
    want = numerical_jacobian(lambda m: _bilinear(X, m, s), M)
    np.testing.assert_allclose(J1, want, rtol=1e-6, atol=1e-8)
    J2 = JACS[jac](_bilinear, argnums=-1)(X, M, s)
    assert np.shape(J2) == (2,)
    np.testing.assert_allclose(J2, np.sin(M @ X[:3]), rtol=1e-12)


@pytest.mark.parametrize("jac", sorted(JACS))
def test_argnums_tuple(jac: str) -> None:
    s = np.float64(1.7)
    Js = JACS[jac](_bilinear, argnums=(0, 2))(X, M, s)
    assert isinstance(Js, tuple) and len(Js) == 2
    assert Js[0].shape == (2, 4) and np.shape(Js[1]) == (2,)
    np.testing.assert_allclose(
        Js[0], numerical_jacobian(lambda x: _bilinear(x, M, s), X), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(Js[1], np.sin(M @ X[:3]), rtol=1e-12)
    # A one-element tuple still gives a tuple (JAX).
    (J0,) = JACS[jac](_bilinear, argnums=(0,))(X, M, s)
    np.testing.assert_allclose(J0, Js[0], rtol=1e-12)


def test_argnums_errors() -> None:
    for jac in JACS.values():
        with pytest.raises(ValueError, match="argnums"):
            jac(_bilinear, argnums=3)(X, M, 1.0)
        with pytest.raises(TypeError):
            jac(lambda x: x * 2)(np.arange(3))  # integer input


# ---------------------------------------------------------------------------------------------
# Pytrees
# ---------------------------------------------------------------------------------------------


def _tree_fn(p: Any) -> Any:
    h = fnp.tanh(p["w"] @ p["x"] + p["b"])
    return {"h": h, "s": fnp.sum(h**2)}


P = {"w": RNG.standard_normal((2, 3)), "x": RNG.standard_normal(3), "b": RNG.standard_normal(2)}


@pytest.mark.parametrize("jac", sorted(JACS))
def test_pytree_input_and_output(jac: str) -> None:
    J = JACS[jac](_tree_fn)(P)
    # Outer structure: the output's; inner: the input's; leaf shape: out.shape + in.shape.
    assert set(J) == {"h", "s"}
    for out_key, out_shape in [("h", (2,)), ("s", ())]:
        assert set(J[out_key]) == {"w", "x", "b"}
        for in_key in P:
            leaf = J[out_key][in_key]
            assert np.shape(leaf) == out_shape + P[in_key].shape, (out_key, in_key)

            def f_leaf(v: Any, in_key: str = in_key, out_key: str = out_key) -> Any:
                return _tree_fn({**P, in_key: v})[out_key]

            np.testing.assert_allclose(
                leaf, numerical_jacobian(f_leaf, P[in_key]), rtol=1e-6, atol=1e-8
            )


@pytest.mark.parametrize("jac", sorted(JACS))
def test_tuple_output(jac: str) -> None:
    J = JACS[jac](lambda x: (x * 2.0, fnp.sum(x)))(X)
    assert isinstance(J, tuple)
    np.testing.assert_allclose(J[0], 2 * np.eye(4))
    np.testing.assert_allclose(J[1], np.ones(4))


def test_jacfwd_equals_jacrev() -> None:
    fns = [
        lambda x: fnp.tanh(A @ x) * fnp.sum(x**2),
        lambda x: fnp.concatenate([x[:2] * x[2:], fnp.log1p(x**2)]),
        lambda x: fnp.exp(fnp.outer(x, x)) @ x,
        lambda x: fnp.maximum(x, 0.1) / (1.0 + fnp.sum(fnp.abs(x))),
    ]
    for f in fns:
        np.testing.assert_allclose(fg.jacfwd(f)(X), fg.jacrev(f)(X), rtol=1e-12, atol=1e-12)
    a = fg.jacfwd(_tree_fn)(P)
    b = fg.jacrev(_tree_fn)(P)
    assert tree_structure(a) == tree_structure(b)
    for u, v in zip(tree_leaves(a), tree_leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Hessians
# ---------------------------------------------------------------------------------------------


def test_hessian_of_quadratic_form() -> None:
    Q = RNG.standard_normal((4, 4))
    H = fg.hessian(lambda x: x @ Q @ x)(X)
    np.testing.assert_allclose(H, Q + Q.T, rtol=1e-12, atol=1e-12)


def test_hessian_of_sum_tanh_squared_closed_form() -> None:
    """f(x) = sum_i tanh((A x)_i)^2, t = tanh(A x):
    H = A^T diag((2 - 6 t^2)(1 - t^2)) A."""
    f = lambda x: fnp.sum(fnp.tanh(A @ x) ** 2)
    t = np.tanh(A @ X)
    want = A.T @ np.diag((2 - 6 * t**2) * (1 - t**2)) @ A
    H = fg.hessian(f)(X)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H, want, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-13)
    # Every mode combination agrees.
    for outer in (fg.jacfwd, fg.jacrev):
        for inner in (fg.jacfwd, fg.jacrev):
            np.testing.assert_allclose(outer(inner(f))(X), want, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(fg.jacfwd(fg.grad(f))(X), want, rtol=1e-11, atol=1e-12)


def test_hessian_shapes_matrix_input() -> None:
    f = lambda m: fnp.sum(fnp.sin(m) * m[::-1])
    H = fg.hessian(f)(M)
    assert H.shape == M.shape + M.shape
    want = numerical_jacobian(fg.grad(f), M)
    np.testing.assert_allclose(H, want, rtol=1e-6, atol=1e-8)


def test_hessian_scalar_input() -> None:
    H = fg.hessian(lambda t: fnp.sin(t) * t)(0.3)
    assert np.shape(H) == ()
    np.testing.assert_allclose(H, 2 * np.cos(0.3) - 0.3 * np.sin(0.3), rtol=1e-12)


def test_hessian_argnums_tuple_blocks() -> None:
    """hessian(f, argnums=(0, 1)) gives the nested blocks ((H00, H01), (H10, H11))."""
    y = RNG.standard_normal(3)
    f = lambda x, y: fnp.sum(fnp.tanh(A @ x) * y) + fnp.sum(x**3)
    H = fg.hessian(f, argnums=(0, 1))(X, y)
    assert isinstance(H, tuple) and all(isinstance(r, tuple) and len(r) == 2 for r in H)
    assert H[0][0].shape == (4, 4) and H[0][1].shape == (4, 3)
    assert H[1][0].shape == (3, 4) and H[1][1].shape == (3, 3)
    t = np.tanh(A @ X)
    np.testing.assert_allclose(
        H[0][0], A.T @ np.diag(-2 * t * (1 - t**2) * y) @ A + np.diag(6 * X), rtol=1e-11
    )
    np.testing.assert_allclose(H[0][1], (A * (1 - t**2)[:, None]).T, rtol=1e-12)
    np.testing.assert_allclose(H[1][0], A * (1 - t**2)[:, None], rtol=1e-12)
    np.testing.assert_allclose(H[1][1], np.zeros((3, 3)), atol=1e-15)


def test_hessian_pytree_input() -> None:
    def f(p: Any) -> Any:
        return fnp.sum(p["a"] ** 2 * p["b"]) + fnp.sum(fnp.exp(p["a"]))

    p = {"a": RNG.standard_normal(3), "b": RNG.standard_normal(3)}
    H = fg.hessian(f)(p)
    assert set(H) == {"a", "b"} and set(H["a"]) == {"a", "b"}
    np.testing.assert_allclose(H["a"]["a"], np.diag(2 * p["b"] + np.exp(p["a"])), rtol=1e-12)
    np.testing.assert_allclose(H["a"]["b"], np.diag(2 * p["a"]), rtol=1e-12)
    np.testing.assert_allclose(H["b"]["a"], np.diag(2 * p["a"]), rtol=1e-12)
    np.testing.assert_allclose(H["b"]["b"], np.zeros((3, 3)), atol=1e-15)


def test_jacobian_of_gradient_equals_hessian_fd() -> None:
    f = lambda x: fnp.log(fnp.sum(fnp.exp(B.T @ x))) + fnp.sum(x**4) / 4
    H = fg.hessian(f)(X)
    np.testing.assert_allclose(H, numerical_jacobian(fg.grad(f), X), rtol=1e-6, atol=1e-8)


def test_jacobians_do_not_mutate_or_leak() -> None:
    x = X.copy()
    J = fg.jacrev(lambda x: x * 3.0)(x)
    J[0, 0] = 100.0  # results are writeable, independent arrays
    np.testing.assert_array_equal(x, X)
    np.testing.assert_allclose(fg.jacrev(lambda x: x * 3.0)(x), 3 * np.eye(4))
    for leaf in tree_leaves(fg.jacfwd(_tree_fn)(P)):
        assert isinstance(leaf, (np.ndarray, np.generic))
    assert tree_map(np.shape, fg.jacfwd(_tree_fn)(P)) == tree_map(np.shape, fg.jacrev(_tree_fn)(P))


def test_jacfwd_mixed_precision_blocks_have_the_output_dtype() -> None:
    """JAX: each jacfwd block has its output's dtype (jacrev: its input's dtype)."""
    x32, y64 = X.astype(np.float32), RNG.standard_normal(3)
    Jr = fg.jacrev(lambda x, y: (x, y * 2.0), argnums=(0, 1))(x32, y64)
    assert [[b.dtype for b in row] for row in Jr] == [[np.float32, np.float64]] * 2
    Jf = fg.jacfwd(lambda x, y: (x * 2.0, y * 2.0), argnums=(0, 1))(x32, y64)
    assert [[b.dtype for b in row] for row in Jf] == [[np.float32] * 2, [np.float64] * 2]
    # A pass-through output (no equation between input and output).
    Jf = fg.jacfwd(lambda x, y: (x, y * 2.0), argnums=(0, 1))(x32, y64)
    assert [[b.dtype for b in row] for row in Jf] == [[np.float32] * 2, [np.float64] * 2]
