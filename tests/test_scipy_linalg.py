"""funcgrad.scipy.linalg: values against scipy.linalg; gradients (reverse and forward mode)
against central finite differences of scipy's values; vmap against a loop; errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg as sl

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import linalg as L

RNG = np.random.default_rng(3)


def well(n: int, m: int | None = None) -> np.ndarray:
    a = RNG.standard_normal((n, m or n))
    return a + (n * np.eye(n) if m is None else 0)


def spd(n: int) -> np.ndarray:
    a = RNG.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


A4, B42, S4, T4 = well(4), RNG.standard_normal((4, 2)), spd(4), well(4)
LOW = np.tril(T4) + 4 * np.eye(4)
UP = np.triu(T4) + 4 * np.eye(4)
SMALL = 0.4 * RNG.standard_normal((3, 3))

# name: (funcgrad fn, scipy fn, args, differentiable argnums); outputs may be tuples
CASES: dict[str, tuple[Any, Any, tuple[np.ndarray, ...], tuple[int, ...]]] = {
    "cholesky_upper": (L.cholesky, sl.cholesky, (S4,), (0,)),
    "cholesky_lower": (
        lambda a: L.cholesky(a, lower=True),
        lambda a: sl.cholesky(a, lower=True),
        (S4,),
        (0,),
    ),
    "cho_solve": (
        lambda a, b: L.cho_solve(L.cho_factor(a), b),
        lambda a, b: sl.cho_solve(sl.cho_factor(a), b),
        (S4, B42),
        (0, 1),
    ),
    "cho_solve_lower": (
        lambda a, b: L.cho_solve(L.cho_factor(a, lower=True), b),
        lambda a, b: sl.cho_solve(sl.cho_factor(a, lower=True), b),
        (S4, B42),
        (0, 1),
    ),
    "solve": (L.solve, sl.solve, (A4, B42), (0, 1)),
    "solve_vector": (L.solve, sl.solve, (A4, B42[:, 0]), (0, 1)),
    "solve_pos": (
        lambda a, b: L.solve(a, b, assume_a="pos"),
        lambda a, b: sl.solve(a, b, assume_a="pos"),
        (S4, B42),
        (1,),
    ),
    "inv": (L.inv, sl.inv, (A4,), (0,)),
    "det": (L.det, sl.det, (A4,), (0,)),
    "lu_factor_packed": (lambda a: L.lu_factor(a)[0], lambda a: sl.lu_factor(a)[0], (A4,), (0,)),
    "lu_plu": (L.lu, sl.lu, (well(4) - 3 * np.eye(4),), (0,)),
    "lu_permute_l": (
        lambda a: L.lu(a, permute_l=True),
        lambda a: sl.lu(a, permute_l=True),
        (A4,),
        (0,),
    ),
    "lu_solve": (
        lambda a, b: L.lu_solve(L.lu_factor(a), b),
        lambda a, b: sl.lu_solve(sl.lu_factor(a), b),
        (A4, B42),
        (0, 1),
    ),
    "lu_solve_trans": (
        lambda a, b: L.lu_solve(L.lu_factor(a), b, trans=1),
        lambda a, b: sl.lu_solve(sl.lu_factor(a), b, trans=1),
        (A4, B42),
        (0, 1),
    ),
    "qr_full": (L.qr, sl.qr, (A4,), (0,)),
    "qr_economic": (
        lambda a: L.qr(a, mode="economic"),
        lambda a: sl.qr(a, mode="economic"),
        (well(5, 3),),
        (0,),
    ),
    "qr_r": (lambda a: L.qr(a, mode="r"), lambda a: sl.qr(a, mode="r"), (A4,), (0,)),
    "svd_values": (
        lambda a: L.svd(a, compute_uv=False),
        lambda a: sl.svd(a, compute_uv=False),
        (well(4, 3),),
        (0,),
    ),
    "eigh_values": (lambda a: L.eigh(a)[0], lambda a: sl.eigh(a)[0], (S4,), (0,)),
    "eigh_generalized_values": (
        lambda a, b: L.eigh(a, b, eigvals_only=True),
        lambda a, b: sl.eigh(a, b, eigvals_only=True),
        (S4 - 6 * np.eye(4), spd(4)),
        (0, 1),
    ),
    "expm": (L.expm, sl.expm, (SMALL,), (0,)),
    "expm_frechet": (
        lambda a, e: L.expm_frechet(a, e),
        lambda a, e: sl.expm_frechet(a, e),
        (SMALL, RNG.standard_normal((3, 3))),
        (0, 1),
    ),
    "sqrtm": (L.sqrtm, lambda a: sl.sqrtm(a), (S4,), (0,)),
    "sqrtm_batched": (
        L.sqrtm,
        lambda a: np.stack([sl.sqrtm(m) for m in a]),
        (np.stack([spd(3), spd(3)]),),
        (0,),
    ),
    "expm_batched": (
        L.expm,
        lambda a: np.stack([sl.expm(m) for m in a]),
        (0.3 * RNG.standard_normal((2, 3, 3)),),
        (0,),
    ),
    "polar_right": (L.polar, sl.polar, (A4,), (0,)),
    "polar_left": (
        lambda a: L.polar(a, side="left"),
        lambda a: sl.polar(a, side="left"),
        (A4,),
        (0,),
    ),
    "solve_sylvester": (
        L.solve_sylvester,
        sl.solve_sylvester,
        (well(3), well(2), RNG.standard_normal((3, 2))),
        (0, 1, 2),
    ),
    "toeplitz": (
        L.toeplitz,
        sl.toeplitz,
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 4, 5, 6])),
        (0, 1),
    ),
    "toeplitz_symmetric": (L.toeplitz, sl.toeplitz, (np.array([1.0, 2.0, 3.0]),), (0,)),
    "block_diag": (
        L.block_diag,
        sl.block_diag,
        (np.ones((2, 3)), np.array([[2.0]]), np.array([1.0, 2])),
        (0, 1, 2),
    ),
}
for lower in (True, False):
    for trans in (0, 1, 2, "T"):
        for unit in (False, True):
            CASES[f"solve_triangular_{lower}_{trans}_{unit}"] = (
                lambda a, b, lo=lower, t=trans, u=unit: L.solve_triangular(
                    a, b, trans=t, lower=lo, unit_diagonal=u
                ),
                lambda a, b, lo=lower, t=trans, u=unit: sl.solve_triangular(
                    a, b, trans=t, lower=lo, unit_diagonal=u
                ),
                (T4, B42),
                (0, 1),
            )


# Functions of a symmetric positive-definite matrix: funcgrad (like JAX) symmetrizes the
# input where scipy reads one triangle, so they are compared along symmetric directions.
SYMMETRIC = {
    "cholesky_upper",
    "cholesky_lower",
    "cho_solve",
    "cho_solve_lower",
    "solve_pos",
    "eigh_generalized_values",
}


def _flat(out: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]


def _weights(out: Any) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.standard_normal(np.shape(o)) for o in _flat(out)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_scipy(name: str) -> None:
    f, ref, args, _ = CASES[name]
    got, want = _flat(f(*args)), _flat(ref(*args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_vs_finite_differences(name: str) -> None:
    f, ref, args, diff = CASES[name]
    ws = _weights(ref(*args))

    def loss(*a: Any) -> Any:
        return sum(fnp.sum(o * w) for o, w in zip(_flat_traced(f(*a)), ws))

    def loss_ref(*a: Any) -> float:
        return float(sum(np.sum(o * w) for o, w in zip(_flat(ref(*a)), ws)))

    rng = np.random.default_rng(5)
    for i in diff:
        v = rng.standard_normal(np.shape(args[i]))
        if name in SYMMETRIC and np.ndim(v) == 2 and v.shape[0] == v.shape[1]:
            v = v + v.T
        up, dn = list(args), list(args)
        up[i] = args[i] + 1e-6 * v
        dn[i] = args[i] - 1e-6 * v
        want = (loss_ref(*up) - loss_ref(*dn)) / 2e-6
        g = fg.grad(loss, argnums=i)(*args)
        np.testing.assert_allclose(np.sum(g * v), want, rtol=1e-5, atol=1e-7, err_msg=name)
        tangents = tuple(v if j == i else np.zeros_like(a) for j, a in enumerate(args))
        _, d = fg.jvp(loss, args, tangents)
        np.testing.assert_allclose(d, want, rtol=1e-5, atol=1e-7, err_msg=name)


def _flat_traced(out: Any) -> list[Any]:
    return list(out) if isinstance(out, tuple) else [out]


def test_expm_second_derivative_vs_finite_differences() -> None:
    w = RNG.standard_normal((3, 3))
    v = RNG.standard_normal((3, 3))

    def g(a: Any) -> Any:
        return fg.grad(lambda a: fnp.sum(L.expm(a) * w))(a)

    hv = fg.jvp(g, (SMALL,), (v,))[1]
    fd = (g(SMALL + 1e-5 * v) - g(SMALL - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-9)


def test_expm_gradient_closed_form_for_commuting_direction() -> None:
    # d/dt expm(t A) = A expm(t A)
    a = SMALL
    got = fg.jvp(lambda t: L.expm(t * a), (1.0,), (1.0,))[1]
    np.testing.assert_allclose(got, a @ sl.expm(a), rtol=1e-12)


@pytest.mark.parametrize("fn", ["expm", "lu_factor", "solve_triangular", "sqrtm", "inv"])
def test_vmap_matches_loop(fn: str) -> None:
    stack = np.stack([spd(3) for _ in range(4)])
    b = RNG.standard_normal((4, 3, 2))
    if fn == "solve_triangular":
        got = fg.vmap(lambda a, b: L.solve_triangular(a, b, lower=True))(stack, b)
        want = [sl.solve_triangular(stack[i], b[i], lower=True) for i in range(4)]
    elif fn == "lu_factor":
        got = fg.vmap(lambda a: L.lu_factor(a)[0])(stack)
        want = [sl.lu_factor(stack[i])[0] for i in range(4)]
    else:
        got = fg.vmap(getattr(L, fn))(stack * 0.2)
        want = [getattr(sl, fn)(stack[i] * 0.2) for i in range(4)]
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-10, atol=1e-12)


def test_jit_of_grad_through_lu_solve() -> None:
    def loss(a: Any, b: Any) -> Any:
        return fnp.sum(L.lu_solve(L.lu_factor(a), b) ** 2)

    g = fg.jit(fg.grad(loss))(A4, B42)
    x = sl.solve(A4, B42)
    # d/dA sum(x^2) with x = A^-1 b: -A^-T (2x) x^T
    np.testing.assert_allclose(g, -np.linalg.solve(A4.T, 2 * x) @ x.T, rtol=1e-10)


def test_schur_and_hessenberg_values_and_no_derivative() -> None:
    t, z = L.schur(A4)
    np.testing.assert_allclose(z @ t @ z.T, A4, atol=1e-10)
    np.testing.assert_allclose(np.tril(t, -2), 0, atol=1e-12)
    h, q = L.hessenberg(A4, calc_q=True)
    np.testing.assert_allclose(h, sl.hessenberg(A4), atol=1e-12)
    np.testing.assert_allclose(q @ h @ q.T, A4, atol=1e-10)
    with pytest.raises(NotImplementedError, match="schur"):
        fg.grad(lambda a: fnp.sum(L.schur(a)[0]))(A4)
    with pytest.raises(NotImplementedError, match="hessenberg"):
        fg.grad(lambda a: fnp.sum(L.hessenberg(a)))(A4)


def test_errors() -> None:
    with pytest.raises(ValueError, match="square"):
        L.expm(np.ones((2, 3)))
    with pytest.raises(ValueError, match="trans"):
        L.solve_triangular(A4, B42, trans=3)
    with pytest.raises(NotImplementedError, match="pivoting"):
        L.qr(A4, pivoting=True)
    with pytest.raises(ValueError, match="complex"):
        L.sqrtm(-np.eye(2))
    with pytest.raises(TypeError, match="complex"):
        L.inv(np.eye(2) * 1j)


def test_hilbert() -> None:
    np.testing.assert_array_equal(L.hilbert(4), sl.hilbert(4))


def test_cholesky_reads_one_triangle_like_scipy() -> None:
    junk = S4 + np.triu(RNG.standard_normal((4, 4)), 1) * 10  # garbage above the diagonal
    np.testing.assert_allclose(L.cholesky(junk, lower=True), sl.cholesky(junk, lower=True))
    g = fg.grad(lambda a: fnp.sum(L.cholesky(a, lower=True)))(junk)
    np.testing.assert_array_equal(np.triu(g, 1), 0.0)  # the unread triangle gets no cotangent
