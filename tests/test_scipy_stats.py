"""funcgrad.scipy.stats: every function against scipy.stats; every density integrates (every
pmf sums) to 1 on a grid; gradients of log-densities (and CDFs) in x and in each parameter
against central finite differences of scipy's values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.stats as ss

import funcgrad as fg
from funcgrad.scipy import stats

# name: (scipy distribution, params after x, x values for checks, grid for normalization,
#        indices (into params) differentiable in logpdf, fns differentiable in params)
C = {
    "norm": (ss.norm, (0.3, 1.7), [-2.0, 0.1, 1.5], (-15, 15), (0, 1)),
    "t": (ss.t, (3.5, 0.3, 1.2), [-2.0, 0.1, 1.5], (-2000, 2000), (0, 1, 2)),
    "cauchy": (ss.cauchy, (0.3, 0.8), [-2.0, 0.1, 1.5], None, (0, 1)),
    "laplace": (ss.laplace, (0.3, 0.8), [-2.0, 0.1, 1.5], (-30, 30), (0, 1)),
    "logistic": (ss.logistic, (0.3, 0.8), [-2.0, 0.1, 1.5], (-40, 40), (0, 1)),
    "uniform": (ss.uniform, (-0.5, 2.0), [-1.0, 0.1, 1.2, 1.6], (-1, 2), (1,)),
    "expon": (ss.expon, (-0.5, 1.3), [-1.0, 0.1, 1.5], (-0.5, 40), (1,)),
    "gamma": (ss.gamma, (2.5, -0.5, 1.3), [-1.0, 0.1, 1.5], (-0.5, 60), (0, 1, 2)),
    "chi2": (ss.chi2, (3.5, 0.2, 1.1), [0.0, 0.5, 3.5], (0.2, 150), (0, 1, 2)),
    "beta": (ss.beta, (2.5, 1.7, -0.2, 1.5), [-0.5, 0.1, 0.6, 1.2], (-0.2, 1.3), (0, 1, 2, 3)),
    "pareto": (ss.pareto, (2.5, 0.1, 1.3), [1.0, 1.5, 4.0], None, (0, 1, 2)),
    "gumbel_r": (ss.gumbel_r, (0.3, 0.8), [-2.0, 0.1, 1.5], (-10, 40), (0, 1)),
    "gumbel_l": (ss.gumbel_l, (0.3, 0.8), [-2.0, 0.1, 1.5], (-40, 10), (0, 1)),
    "gennorm": (ss.gennorm, (1.5, 0.3, 0.8), [-2.0, 0.1, 1.5], (-20, 20), (0, 1, 2)),
    "vonmises": (ss.vonmises, (1.7,), [-2.0, 0.1, 1.5], (-np.pi, np.pi), (0,)),
    "wrapcauchy": (ss.wrapcauchy, (0.4,), [0.3, 2.0, 5.5], (0, 2 * np.pi), (0,)),
    "truncnorm": (ss.truncnorm, (-0.5, 1.5, 0.3, 1.2), [-0.2, 0.5, 1.9], (-0.3, 2.1), (0, 1, 2, 3)),
}
# discrete: (scipy, params after k, k values, k range to sum, differentiable param indices)
D = {
    "poisson": (ss.poisson, (3.2,), [0.0, 2.0, 7.0], range(0, 80), (0,)),
    "bernoulli": (ss.bernoulli, (0.3,), [0.0, 1.0], range(0, 2), (0,)),
    "binom": (ss.binom, (9, 0.35), [0.0, 3.0, 9.0], range(0, 10), (1,)),
    "geom": (ss.geom, (0.35,), [1.0, 3.0, 8.0], range(1, 200), (0,)),
    "nbinom": (ss.nbinom, (4.5, 0.35), [0.0, 3.0, 12.0], range(0, 400), (0, 1)),
    "betabinom": (ss.betabinom, (9, 2.3, 1.4), [0.0, 3.0, 9.0], range(0, 10), (1, 2)),
}
CDF_PARAM_NONDIFF = {"beta": (0, 1)}  # betainc has no derivative in a, b (nor in JAX)


def fns(mod: Any) -> list[str]:
    return [n for n in mod.__all__ if n not in ("logpdf", "pdf", "logpmf", "pmf")]


def fd_param(f: Any, args: list[float], i: int, h: float = 1e-6) -> float:
    up, dn = list(args), list(args)
    up[i] += h
    dn[i] -= h
    return (f(*up) - f(*dn)) / (2 * h)


@pytest.mark.parametrize("name", sorted(C))
def test_continuous_values(name: str) -> None:
    dist, params, xs, _, _ = C[name]
    mod = getattr(stats, name)
    x = np.array(xs)
    for fn in mod.__all__:
        arg = np.array([0.05, 0.4, 0.93]) if fn in ("ppf", "isf") else x
        with np.errstate(all="ignore"):
            want = getattr(dist, fn)(arg, *params)
            got = getattr(mod, fn)(arg, *params)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14, err_msg=f"{name}.{fn}")


@pytest.mark.parametrize("name", sorted(C))
def test_density_integrates_to_one(name: str) -> None:
    dist, params, _, grid, _ = C[name]
    mod = getattr(stats, name)
    if grid is None:  # heavy tails: integrate the density of the CDF's range instead
        lo, hi = dist.ppf([1e-4, 1 - 1e-4], *params)
        xs = np.linspace(lo, hi, 400001)
        total = np.trapezoid(mod.pdf(xs, *params), xs)
        assert abs(total - (1 - 2e-4)) < 1e-5
        return
    xs = np.linspace(grid[0], grid[1], 200001)
    total = np.trapezoid(mod.pdf(xs, *params), xs)
    assert abs(total - 1.0) < 2e-4, total


@pytest.mark.parametrize("name", sorted(C))
def test_continuous_gradients_vs_finite_differences(name: str) -> None:
    dist, params, xs, _, diff = C[name]
    mod = getattr(stats, name)
    x = [v for v in xs if np.isfinite(dist.logpdf(v, *params)) and dist.pdf(v, *params) > 0]
    x = x[len(x) // 2]  # an interior point of the support
    args = [x, *params]
    for fn in mod.__all__:
        if fn in ("ppf", "isf"):
            args_fn = [0.37, *params]
        else:
            args_fn = args
        which = [0] + [i + 1 for i in diff]
        if fn not in ("logpdf", "pdf"):
            skip = CDF_PARAM_NONDIFF.get(name, ())
            which = [0] + [i + 1 for i in diff if i not in skip]
        for i in which:
            g = fg.grad(getattr(mod, fn), argnums=i)(*args_fn)
            want = fd_param(getattr(dist, fn), args_fn, i)
            np.testing.assert_allclose(g, want, rtol=2e-5, atol=1e-8, err_msg=f"{name}.{fn}/{i}")


@pytest.mark.parametrize("name", sorted(D))
def test_discrete_values_and_mass(name: str) -> None:
    dist, params, ks, krange, _ = D[name]
    mod = getattr(stats, name)
    k = np.array(ks + [-1.0, 2.5])
    for fn in mod.__all__:
        arg = np.array([0.1, 0.5, 0.9]) if fn == "ppf" else k
        with np.errstate(all="ignore"):
            want = getattr(dist, fn)(arg, *params)
        np.testing.assert_allclose(
            getattr(mod, fn)(arg, *params), want, rtol=1e-10, atol=1e-14, err_msg=f"{name}.{fn}"
        )
    total = np.sum(mod.pmf(np.array(list(krange), dtype=float), *params))
    np.testing.assert_allclose(total, 1.0, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(D))
def test_discrete_gradients_vs_finite_differences(name: str) -> None:
    dist, params, ks, _, diff = D[name]
    mod = getattr(stats, name)
    for k in ks:
        args = [k, *params]
        for i in diff:
            g = fg.grad(mod.logpmf, argnums=i + 1)(*args)
            want = fd_param(dist.logpmf, args, i + 1)
            np.testing.assert_allclose(g, want, rtol=2e-6, atol=1e-8, err_msg=f"{name}/{i}")
    if "cdf" in mod.__all__ and name == "poisson":
        g = fg.grad(mod.cdf, argnums=1)(4.0, 3.2)
        np.testing.assert_allclose(g, fd_param(dist.cdf, [4.0, 3.2], 1), rtol=1e-6)


def test_multivariate_normal() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    mean = rng.standard_normal(3)
    x = rng.standard_normal((5, 3))
    mvn = stats.multivariate_normal
    np.testing.assert_allclose(
        mvn.logpdf(x, mean, cov), ss.multivariate_normal.logpdf(x, mean, cov)
    )
    np.testing.assert_allclose(
        mvn.pdf(x[0], mean, cov), ss.multivariate_normal.pdf(x[0], mean, cov)
    )
    diag = np.array([0.5, 1.5, 2.0])
    np.testing.assert_allclose(
        mvn.logpdf(x, mean, diag), ss.multivariate_normal.logpdf(x, mean, np.diag(diag))
    )
    np.testing.assert_allclose(mvn.logpdf(0.7, 0.2, 1.5), ss.norm.logpdf(0.7, 0.2, np.sqrt(1.5)))
    # gradients: closed forms d/dx = -cov^{-1}(x - mean); d/dcov = (S^-1 d d^T S^-1 - S^-1)/2
    gx = fg.grad(mvn.logpdf)(x[0], mean, cov)
    np.testing.assert_allclose(gx, -np.linalg.solve(cov, x[0] - mean))
    gc = fg.grad(mvn.logpdf, argnums=2)(x[0], mean, cov)
    si = np.linalg.inv(cov)
    d = x[0] - mean
    want = 0.5 * (si @ np.outer(d, d) @ si - si)
    np.testing.assert_allclose(gc, want, rtol=1e-9, atol=1e-12)
    # integrates to 1 in 2-D
    cov2 = cov[:2, :2]
    g = np.linspace(-12, 12, 601)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    pts = np.stack([xx, yy], -1)
    total = np.trapezoid(np.trapezoid(mvn.pdf(pts, mean[:2], cov2), g, axis=1), g)
    assert abs(total - 1) < 1e-6


def test_dirichlet() -> None:
    alpha = np.array([1.5, 2.0, 3.2])
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])
    np.testing.assert_allclose(
        stats.dirichlet.logpdf(x, alpha), ss.dirichlet.logpdf(x, alpha), rtol=1e-12
    )
    np.testing.assert_allclose(
        stats.dirichlet.pdf(x[:2, 0], alpha), ss.dirichlet.pdf(x[:, 0], alpha), rtol=1e-12
    )
    g = fg.grad(stats.dirichlet.logpdf, argnums=1)(x[:, 0], alpha)
    want = [
        fd_param(lambda *a: ss.dirichlet.logpdf(x[:, 0], np.array(a)), list(alpha), i)
        for i in range(3)
    ]
    np.testing.assert_allclose(g, want, rtol=1e-6)
    # integrates to 1 over the 2-simplex (grid in the first two coordinates)
    n = 801
    h = 1.0 / (n - 1)
    u = np.linspace(0, 1, n)
    uu, vv = np.meshgrid(u, u, indexing="ij")
    keep = uu + vv < 1 - 1e-12
    pts = np.stack([uu[keep], vv[keep]])
    assert abs(np.sum(stats.dirichlet.pdf(pts, alpha)) * h * h - 1) < 5e-3
    with pytest.raises(ValueError, match="entries on axis 0"):
        stats.dirichlet.logpdf(np.ones(5) / 5, alpha)


def test_multinomial() -> None:
    p = np.array([0.2, 0.3, 0.5])
    xs = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0], [2.0, 2.0, 1.0]])
    np.testing.assert_allclose(
        stats.multinomial.logpmf(xs, 6, p), ss.multinomial.logpmf(xs, 6, p), rtol=1e-12
    )
    total = sum(
        stats.multinomial.pmf(np.array([i, j, 6 - i - j], float), 6, p)
        for i in range(7)
        for j in range(7 - i)
    )
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    g = fg.grad(stats.multinomial.logpmf, argnums=2)(xs[0], 6.0, p)
    np.testing.assert_allclose(g, xs[0] / p)


def test_shape_parameter_derivative_of_cdf_raises() -> None:
    with pytest.raises(NotImplementedError, match="betainc"):
        fg.grad(stats.beta.cdf, argnums=1)(0.3, 2.0, 3.0)


def test_vmap_and_jit() -> None:
    xs = np.linspace(-1, 1, 5)
    f = fg.jit(fg.vmap(fg.grad(stats.t.logpdf), in_axes=(0, None)))
    want = [fd_param(ss.t.logpdf, [x, 4.0], 0) for x in xs]
    np.testing.assert_allclose(f(xs, 4.0), want, rtol=1e-6)
