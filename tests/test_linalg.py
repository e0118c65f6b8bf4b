"""funcgrad.numpy.linalg: values against numpy, derivatives against finite differences (both
modes), vmap against a Python loop, and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.test_util import check_grads

la = fnp.linalg
RNG = np.random.default_rng(42)


def well(*shape: int) -> np.ndarray:
    """Random matrices, square ones shifted to be well conditioned."""
    a = RNG.standard_normal(shape)
    if shape[-1] == shape[-2]:
        a = a + shape[-1] * np.eye(shape[-1])
    return a


def spd(*shape: int) -> np.ndarray:
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _leaves(x: Any) -> list[Any]:
    return fg.tree_util.tree_leaves(x)


def _traced(f: Any, *args: Any) -> Any:
    """Evaluate ``f`` with tracer inputs."""
    return fg.jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]


# name: (funcgrad function, numpy reference, args); derivative-safe functions of the outputs
CASES: dict[str, tuple[Any, Any, tuple[Any, ...]]] = {
    "inv": (la.inv, np.linalg.inv, (well(4, 4),)),
    "inv_batched": (la.inv, np.linalg.inv, (well(2, 3, 3),)),
    "solve_matrix": (la.solve, np.linalg.solve, (well(4, 4), well(4, 2))),
    "solve_vector": (la.solve, np.linalg.solve, (well(4, 4), well(4, 1)[:, 0])),
    "solve_broadcast": (la.solve, np.linalg.solve, (well(2, 3, 3), well(3, 2))),
    "det": (la.det, np.linalg.det, (well(4, 4),)),
    "det_batched": (la.det, np.linalg.det, (well(3, 2, 2),)),
    "slogdet": (
        lambda a: la.slogdet(a).logabsdet,
        lambda a: np.linalg.slogdet(a).logabsdet,
        (well(2, 4, 4),),
    ),
    "cholesky": (la.cholesky, np.linalg.cholesky, (spd(4, 4),)),
    "cholesky_batched": (la.cholesky, np.linalg.cholesky, (spd(2, 3, 3),)),
    "cholesky_upper": (
        lambda a: la.cholesky(a, upper=True),
        lambda a: np.linalg.cholesky(a, upper=True),
        (spd(3, 3),),
    ),
    "qr_square": (lambda a: tuple(la.qr(a)), lambda a: tuple(np.linalg.qr(a)), (well(4, 4),)),
    "qr_tall_batched": (
        lambda a: tuple(la.qr(a)),
        lambda a: tuple(np.linalg.qr(a)),
        (well(2, 5, 3),),
    ),
    "qr_r": (lambda a: la.qr(a, mode="r"), lambda a: np.linalg.qr(a, mode="r"), (well(5, 3),)),
    "eigh_values": (
        lambda a: la.eigh(a).eigenvalues,
        lambda a: np.linalg.eigh(a).eigenvalues,
        (spd(4, 4),),
    ),
    "eigvalsh_batched": (la.eigvalsh, np.linalg.eigvalsh, (spd(2, 3, 3),)),
    # gauge invariant: V diag(w^2) V^T and the projector on the two leading eigenvectors
    "eigh_reconstruct": (
        lambda a: (lambda w, v: (v * w[..., None, :] ** 2) @ fnp.swapaxes(v, -1, -2))(*la.eigh(a)),
        lambda a: (lambda w, v: (v * w[..., None, :] ** 2) @ np.swapaxes(v, -1, -2))(
            *np.linalg.eigh(a)
        ),
        (spd(2, 4, 4),),
    ),
    "eigh_projector": (
        lambda a: (lambda v: v[:, -2:] @ v[:, -2:].T)(la.eigh(a)[1]),
        lambda a: (lambda v: v[:, -2:] @ v[:, -2:].T)(np.linalg.eigh(a)[1]),
        (spd(4, 4),),
    ),
    "svd_values": (
        lambda a: la.svd(a, compute_uv=False),
        lambda a: np.linalg.svd(a, compute_uv=False),
        (well(2, 5, 3),),
    ),
    "svdvals_wide": (la.svdvals, np.linalg.svdvals, (well(3, 5),)),
    "svd_reconstruct_tall": (
        lambda a: (lambda u, s, vh: (u * s**2) @ vh)(*la.svd(a, full_matrices=False)),
        lambda a: (lambda u, s, vh: (u * s**2) @ vh)(*np.linalg.svd(a, full_matrices=False)),
        (well(5, 3),),
    ),
    "svd_reconstruct_wide_batched": (
        lambda a: (lambda u, s, vh: (u * fnp.sin(s)[..., None, :]) @ vh)(
            *la.svd(a, full_matrices=False)
        ),
        lambda a: (lambda u, s, vh: (u * np.sin(s)[..., None, :]) @ vh)(
            *np.linalg.svd(a, full_matrices=False)
        ),
        (well(2, 3, 5),),
    ),
    "svd_u_vh_square": (
        lambda a: (lambda u, s, vh: u @ vh)(*la.svd(a)),
        lambda a: (lambda u, s, vh: u @ vh)(*np.linalg.svd(a)),
        (well(4, 4),),
    ),
    "svd_left_projector": (
        lambda a: (lambda u: u[:, :2] @ u[:, :2].T)(la.svd(a, full_matrices=False)[0]),
        lambda a: (lambda u: u[:, :2] @ u[:, :2].T)(np.linalg.svd(a, full_matrices=False)[0]),
        (well(5, 3),),
    ),
    "pinv_tall": (la.pinv, np.linalg.pinv, (well(5, 3),)),
    "pinv_wide_batched": (la.pinv, np.linalg.pinv, (well(2, 3, 4),)),
    "matrix_power_3": (
        lambda a: la.matrix_power(a, 3),
        lambda a: np.linalg.matrix_power(a, 3),
        (well(3, 3),),
    ),
    "matrix_power_neg": (
        lambda a: la.matrix_power(a, -2),
        lambda a: np.linalg.matrix_power(a, -2),
        (well(3, 3),),
    ),
    "lstsq_x": (
        lambda a, b: la.lstsq(a, b)[0],
        lambda a, b: np.linalg.lstsq(a, b)[0],
        (well(6, 3), well(6, 2)),
    ),
    "lstsq_residuals": (
        lambda a, b: la.lstsq(a, b)[1],
        lambda a, b: np.linalg.lstsq(a, b)[1],
        (well(6, 3), well(6, 1)[:, 0]),
    ),
    "multi_dot": (
        lambda a, b, c: la.multi_dot([a, b, c]),
        lambda a, b, c: np.linalg.multi_dot([a, b, c]),
        (well(3, 4), well(4, 2), well(2, 5)),
    ),
}

NORM_CASES: dict[str, dict[str, Any]] = {
    "default_vector": {},
    "default_matrix": {},
    "fro": {"ord": "fro"},
    "nuc": {"ord": "nuc"},
    "matrix_1": {"ord": 1},
    "matrix_-1": {"ord": -1},
    "matrix_2": {"ord": 2},
    "matrix_-2": {"ord": -2},
    "matrix_inf": {"ord": np.inf},
    "matrix_-inf": {"ord": -np.inf},
    "vector_axis1": {"axis": 1},
    "vector_1": {"ord": 1, "axis": 0},
    "vector_inf": {"ord": np.inf, "axis": -1},
    "vector_-inf": {"ord": -np.inf, "axis": -1},
    "vector_3": {"ord": 3, "axis": 1, "keepdims": True},
    "vector_0.5": {"ord": 0.5, "axis": 1},
    "matrix_axes_keepdims": {"axis": (2, 0), "keepdims": True},
    "nuc_axes": {"ord": "nuc", "axis": (0, 2)},
}


def _norm_arg(name: str) -> np.ndarray:
    if name == "default_vector":
        return well(7, 1)[:, 0]
    if name in ("matrix_axes_keepdims", "nuc_axes"):
        return well(3, 2, 4)
    return well(4, 5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values(name: str) -> None:
    f, ref, args = CASES[name]
    want = ref(*args)
    for got in (f(*args), _traced(f, *args)):  # plain numpy in, and traced
        for g, w in zip(_leaves(got), _leaves(want)):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_grads(name: str) -> None:
    f, _, args = CASES[name]
    check_grads(f, args, order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    "name",
    [
        "inv",
        "solve_matrix",
        "det",
        "slogdet",
        "cholesky",
        "eigh_values",
        "svd_values",
        "qr_square",
        "pinv_tall",
    ],
)
def test_second_order(name: str) -> None:
    f, _, args = CASES[name]
    check_grads(f, args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_loop(name: str) -> None:
    f, _, args = CASES[name]
    n = 3
    batched = tuple(np.stack([a * (1.0 + 0.1 * j) for j in range(n)]) for a in args)
    got = fg.vmap(f)(*batched)
    loop = [f(*[b[j] for b in batched]) for j in range(n)]
    for k, g in enumerate(_leaves(got)):
        want = np.stack([_leaves(item)[k] for item in loop])
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-9)


def test_vmap_unbatched_operand_and_axis() -> None:
    a = well(4, 4)
    bs = RNG.standard_normal((4, 3))  # batch along axis 1: three right-hand sides
    got = fg.vmap(lambda b: la.solve(a, b), in_axes=1)(bs)
    np.testing.assert_allclose(got, np.linalg.solve(a, bs).T)
    As = np.stack([well(3, 3) for _ in range(2)], axis=2)  # batch along axis 2
    got = fg.vmap(la.inv, in_axes=2)(As)
    np.testing.assert_allclose(got, np.linalg.inv(np.moveaxis(As, 2, 0)))


@pytest.mark.parametrize("name", sorted(NORM_CASES))
def test_norm(name: str) -> None:
    kw = NORM_CASES[name]
    x = _norm_arg(name)
    np.testing.assert_allclose(la.norm(x, **kw), np.linalg.norm(x, **kw), rtol=1e-12)
    np.testing.assert_allclose(_traced(lambda x: la.norm(x, **kw), x), np.linalg.norm(x, **kw))
    check_grads(lambda x: la.norm(x, **kw), (x,), order=1)


@pytest.mark.parametrize("kw", [{}, {"ord": 1}, {"ord": np.inf}, {"ord": 3}, {"axis": 0}])
def test_norm_zero_subgradient(kw: dict[str, Any]) -> None:
    g = fg.grad(lambda x: fnp.sum(la.norm(x, **kw)))(np.zeros(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    g = fg.grad(lambda x: la.norm(x, "fro"))(np.zeros((2, 2)))
    np.testing.assert_array_equal(g, np.zeros((2, 2)))
    t = fg.jvp(lambda x: la.norm(x), (np.zeros(3),), (np.ones(3),))[1]
    assert t == 0.0


def test_vector_and_matrix_norm() -> None:
    x = well(2, 3, 4)
    np.testing.assert_allclose(la.vector_norm(x), np.linalg.vector_norm(x))
    np.testing.assert_allclose(
        la.vector_norm(x, axis=(0, 2)), np.linalg.vector_norm(x, axis=(0, 2))
    )
    np.testing.assert_allclose(la.matrix_norm(x, ord="nuc"), np.linalg.matrix_norm(x, ord="nuc"))
    check_grads(lambda x: la.vector_norm(x, axis=(0, 2), ord=1), (x,), order=1)


def test_float32_preserved() -> None:
    a = spd(3, 3).astype(np.float32)
    for f in (
        la.inv,
        la.det,
        la.cholesky,
        lambda a: la.eigh(a)[0],
        la.svdvals,
        la.pinv,
        lambda a: la.slogdet(a)[1],
        la.norm,
    ):
        out = f(a)
        g = fg.grad(lambda a: fnp.sum(f(a)))(a)
        assert _leaves(out)[0].dtype == np.float32 and g.dtype == np.float32


def test_integer_input_becomes_float() -> None:
    a = np.array([[2, 1], [1, 3]])
    np.testing.assert_allclose(la.inv(a), np.linalg.inv(a))
    assert la.inv(a).dtype == np.float64
    np.testing.assert_array_equal(la.matrix_power(a, 2), np.linalg.matrix_power(a, 2))
    np.testing.assert_array_equal(la.matrix_power(a, 0), np.eye(2))


def test_named_results_and_numpy_dispatch() -> None:
    a = spd(3, 3)

    def f(a: Any) -> Any:
        w, v = np.linalg.eigh(a)  # plain numpy on a tracer dispatches to funcgrad
        r = np.linalg.eigh(a)
        assert r.eigenvalues is not None and r.eigenvectors is not None
        return fnp.sum(w) + np.linalg.det(a) + fnp.sum(np.linalg.inv(a))

    g = fg.grad(f)(a)
    inv = np.linalg.inv(a)
    want = np.eye(3) + np.linalg.det(a) * inv.T - inv.T @ np.ones((3, 3)) @ inv.T
    np.testing.assert_allclose(g, want, rtol=1e-10)
    u, s, vh = la.svd(a)
    assert isinstance(la.svd(a), la.SVDResult) and isinstance(la.qr(a), la.QRResult)
    assert isinstance(la.slogdet(a), la.SlogdetResult)


def test_lstsq_matches_numpy() -> None:
    a, b = well(6, 3), well(6, 2)
    got = la.lstsq(a, b)
    want = np.linalg.lstsq(a, b)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10)
    wa, wb = well(2, 4), well(2, 1)[:, 0]
    got = la.lstsq(wa, wb)
    want = np.linalg.lstsq(wa, wb)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)  # minimum-norm solution
    assert got[1].shape == want[1].shape == (0,)
    assert int(got[2]) == int(want[2]) == 2


def test_symmetrize_input() -> None:
    a = spd(3, 3)
    a[0, 2] += 0.3  # not symmetric: funcgrad uses (a + a.T) / 2, as JAX does
    sym = (a + a.T) / 2
    np.testing.assert_allclose(la.cholesky(a), np.linalg.cholesky(sym))
    np.testing.assert_allclose(la.eigh(a)[0], np.linalg.eigh(sym)[0])
    # without symmetrization numpy's convention (lower triangle) is kept
    np.testing.assert_allclose(la.cholesky(a, symmetrize_input=False), np.linalg.cholesky(a))
    np.testing.assert_allclose(
        la.eigh(a, "U", symmetrize_input=False)[0], np.linalg.eigh(a, "U")[0]
    )
    check_grads(la.cholesky, (a,), order=1)  # consistent with the symmetrized function
    g = fg.grad(lambda a: fnp.sum(la.cholesky(a)))(a)
    np.testing.assert_allclose(g, g.T)


def test_degenerate_eigenvalues_give_finite_gradients() -> None:
    a = np.eye(3)
    g = fg.grad(lambda a: fnp.sum(la.eigh(a)[0] ** 2))(a)
    np.testing.assert_allclose(g, 2 * np.eye(3))
    g = fg.grad(lambda a: fnp.sum(la.svd(a, compute_uv=False)))(a)
    np.testing.assert_allclose(g, np.eye(3))
    # a basis-independent function of the eigenvectors of a degenerate matrix
    g = fg.grad(lambda a: fnp.sum((lambda w, v: (v * w) @ v.T)(*la.eigh(a))))(a)
    assert np.all(np.isfinite(g))


def test_ir_shows_primitives() -> None:
    text = str(fg.make_ir(lambda a: la.det(a) + fnp.sum(la.eigh(a)[0]))(spd(3, 3)))
    assert "det" in text and "eigh" in text


# --- errors -------------------------------------------------------------------------------
def test_errors() -> None:
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        la.inv(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        fg.grad(lambda x: la.det(x))(np.ones(3))
    with pytest.raises(NotImplementedError, match="eigh: complex matrices"):
        la.eigh(np.eye(2, dtype=complex))
    with pytest.raises(TypeError, match="float16"):
        la.det(np.eye(2, dtype=np.float16))
    with pytest.raises(np.linalg.LinAlgError):
        fg.grad(lambda x: fnp.sum(la.inv(x)))(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="entries"):
        la.solve(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="mode"):
        la.qr(np.eye(2), mode="raw")
    with pytest.raises(TypeError, match="integer"):
        la.matrix_power(np.eye(2), 1.5)


def test_unsupported_derivatives_raise() -> None:
    with pytest.raises(NotImplementedError, match="m >= n"):
        fg.grad(lambda a: fnp.sum(la.qr(a)[1]))(well(2, 4))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fg.grad(lambda a: fnp.sum(la.svd(a)[0]))(well(4, 3))


def test_abstract_shape_errors() -> None:
    with pytest.raises(ValueError, match="do not match"):
        fg.vmap(lambda a, b: la.solve(a, b))(np.ones((2, 3, 3)), np.ones((2, 2, 1)))
