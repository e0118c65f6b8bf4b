"""funcgrad.random against draws recorded from JAX (x64 on), plus transforms, gradients
(vs JAX's recorded gradients and finite differences of the CDF), moments and error messages.

Reference data (never produced by funcgrad): ``tests/data/jax_random.json`` (the shared
reference set) and ``tests/data/jax_random_extra.json`` (recorded by
``tests/data/record_jax_random.py`` from the expressions in ``jax_random_cases.py``).

Tolerances: integer and bit outputs must be identical. float64 draws must agree to 1e-12
relative (in practice they agree to a few ulp: XLA's ``log1p``/``pow`` differ from the C
library's in the last bit). float32 draws: 2e-6 relative, i.e. a few float32 ulp, for the same
reason (XLA's float32 ``log``/``erf`` kernels).
"""

from __future__ import annotations

import doctest
import json
import os
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.random as R
from funcgrad.primitives import random_special as rs

DATA = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, DATA)
from jax_random_cases import CASES, GRAD_CASES  # noqa: E402

with open(os.path.join(DATA, "jax_random.json")) as _f:
    BASE = json.load(_f)
with open(os.path.join(DATA, "jax_random_extra.json")) as _f:
    EXTRA = json.load(_f)

X64 = [r for r in BASE["records"] if r["x64"]]
X32 = [r for r in BASE["records"] if not r["x64"]]


def assert_draws_match(got, want, dtype):
    got = np.asarray(got)
    assert str(got.dtype) == str(dtype), (got.dtype, dtype)
    want = np.asarray(want, dtype=float if got.dtype.kind == "f" else None).reshape(got.shape)
    if got.dtype.kind == "f":
        if got.dtype == np.float64:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        else:
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(got, want)


# --- the shared reference set ------------------------------------------------------------------
@pytest.mark.parametrize("rec", BASE["records"], ids=lambda r: f"seed{r['seed']}-x64{r['x64']}")
def test_keys_split_fold_in_bits_match_jax_exactly(rec):
    key = R.PRNGKey(rec["seed"])
    assert key.dtype == np.uint32 and key.tolist() == rec["key"]
    assert R.split(key).tolist() == rec["split2"]
    assert R.split(key, 5).tolist() == rec["split5"]
    assert R.fold_in(key, 7).tolist() == rec["fold_in_7"]
    assert R.bits(key, (6,), np.uint32).tolist() == rec["bits32"]
    # independent of JAX's x64 flag: permutation and choice
    assert R.permutation(key, 10).tolist() == rec["permutation10"]
    assert R.choice(key, 20, (5,), replace=False).tolist() == rec["choice"]


@pytest.mark.parametrize("rec", X64, ids=lambda r: f"seed{r['seed']}")
def test_categorical_matches_jax(rec):
    key = R.PRNGKey(rec["seed"])
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    assert R.categorical(key, logits, shape=(8,)).tolist() == rec["categorical"]


def _base_draw(key, d):
    fn = getattr(R, d["fn"])
    shape = tuple(d["shape"])
    kw = d["kwargs"]
    if d["fn"] == "bernoulli":
        return fn(key, shape=shape, **kw)
    if d["fn"] == "randint":
        return fn(key, shape, kw["minval"], kw["maxval"], dtype=d["dtype"])
    return fn(key, shape=shape, dtype=d["dtype"], **kw)


BASE_DRAWS = [(r["seed"], d) for r in X64 for d in r["draws"]]


@pytest.mark.parametrize(
    "seed,d",
    BASE_DRAWS,
    ids=[f"{s}-{d['fn']}-{d['dtype']}-{len(d['shape'])}d" for s, d in BASE_DRAWS],
)
def test_draws_match_jax_x64(seed, d):
    assert_draws_match(_base_draw(R.PRNGKey(seed), d), d["values"], d["out_dtype"])


# --- the extra recorded cases --------------------------------------------------------------------
EXTRA_CASES = [(int(s), name) for s in EXTRA["seeds"] for name in CASES]


@pytest.mark.parametrize("seed,name", EXTRA_CASES, ids=[f"{s}-{n}" for s, n in EXTRA_CASES])
def test_extra_cases_match_jax(seed, name):
    ref = EXTRA["seeds"][str(seed)][name]
    got = eval(CASES[name], {"R": R, "key": R.PRNGKey(seed), "np": np})
    got = np.asarray(got)
    assert list(got.shape) == ref["shape"]
    assert_draws_match(got, ref["values"], ref["dtype"])


GRADS = [(int(s), name) for s in EXTRA["seeds"] for name in GRAD_CASES]


@pytest.mark.parametrize("seed,name", GRADS, ids=[f"{s}-{n}" for s, n in GRADS])
def test_reparameterised_gradients_match_jax(seed, name):
    src, a = GRAD_CASES[name]
    fn = eval(src, {"R": R, "key": R.PRNGKey(seed), "np": np})
    got = fg.grad(fn)(np.array(a))
    want = np.array(EXTRA["seeds"][str(seed)][name]["values"])
    # JAX computes d sample / d a with its own series/asymptotic code; ours is a series summed
    # to float64 precision: they agree to ~1e-10.
    np.testing.assert_allclose(got, want, rtol=1e-8)


def test_erf_inv_matches_xla():
    e = EXTRA["erf_inv"]
    got = rs.erf_inv(np.array(e["x"]))
    np.testing.assert_allclose(got, e["float64"], rtol=1e-14, atol=0)
    got32 = rs.erf_inv(np.array(e["float32_x"], np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, e["float32"], rtol=2e-6)
    assert rs.erf_inv(np.array([1.0, -1.0])).tolist() == [np.inf, -np.inf]


def test_erf_inv_inverts_erf_and_its_derivative():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.linspace(-0.99, 0.99, 41)
    np.testing.assert_allclose(scipy_special.erf(rs.erf_inv(x)), x, rtol=1e-14, atol=1e-15)
    g = fg.vmap(fg.grad(rs.erf_inv))(x)
    h = 1e-6
    fd = (scipy_special.erfinv(x + h) - scipy_special.erfinv(x - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    ge = fg.vmap(fg.grad(rs.erf))(x)
    np.testing.assert_allclose(ge, 2 / np.sqrt(np.pi) * np.exp(-(x**2)), rtol=1e-14)


def test_random_gamma_grad_matches_jax_and_cdf_finite_differences():
    scipy_special = pytest.importorskip("scipy.special")
    g = EXTRA["random_gamma_grad"]
    a, x = np.array(g["a"]), np.array(g["x"])
    got = rs.random_gamma_grad(a, x)
    np.testing.assert_allclose(got, g["values"], rtol=1e-9)
    # implicit gradient: dx/da = -(dP/da) / (dP/dx), P the regularised lower incomplete gamma
    h = 1e-6 * a
    dpda = (scipy_special.gammainc(a + h, x) - scipy_special.gammainc(a - h, x)) / (2 * h)
    pdf = np.exp((a - 1) * np.log(x) - x - scipy_special.gammaln(a))
    np.testing.assert_allclose(got, -dpda / pdf, rtol=2e-6)


def test_gamma_sample_gradient_is_the_cdf_implicit_gradient():
    scipy_special = pytest.importorskip("scipy.special")
    key = R.PRNGKey(3)
    a = np.array([0.2, 0.9, 1.7, 6.0, 40.0])
    x = R.gamma(key, a)
    jac = fg.jacfwd(lambda a: R.gamma(key, a))(a)
    assert np.allclose(jac, np.diag(np.diag(jac)))
    h = 1e-6 * a
    dpda = (scipy_special.gammainc(a + h, x) - scipy_special.gammainc(a - h, x)) / (2 * h)
    pdf = np.exp((a - 1) * np.log(x) - x - scipy_special.gammaln(a))
    np.testing.assert_allclose(np.diag(jac), -dpda / pdf, rtol=2e-6)
    # loggamma: d log x / d a = (dx/da) / x, in reverse mode too
    g = fg.grad(lambda a: R.loggamma(key, a).sum())(a)
    np.testing.assert_allclose(g, np.diag(jac) / R.gamma(key, a), rtol=1e-6)


def test_beta_and_dirichlet_gradients_are_unbiased():
    # E[d sample/d a] = d E[sample]/d a: beta mean a/(a+b) -> b/(a+b)^2; Monte Carlo, 4000 draws
    key = R.PRNGKey(11)
    a, b = 2.0, 3.0
    ga = fg.grad(lambda a: R.beta(key, a, b, (4000,)).mean())(a)
    assert abs(ga - b / (a + b) ** 2) < 0.004
    alpha = np.array([1.0, 2.0, 3.0])
    jd = fg.jacrev(lambda al: R.dirichlet(key, al, (4000,)).mean(0))(alpha)
    s = alpha.sum()
    want = (np.eye(3) * s - alpha[:, None]) / s**2  # d (alpha_i / s) / d alpha_j
    np.testing.assert_allclose(jd, want, atol=0.006)


def test_second_derivative_of_gamma_samples_along_the_fixed_cdf_path():
    scipy_special = pytest.importorskip("scipy.special")
    key = R.PRNGKey(0)
    a = np.array([0.4, 2.5, 12.0])
    x = R.gamma(key, a)
    d2 = np.diag(fg.jacfwd(fg.jacrev(lambda a: R.gamma(key, a)))(a).sum(0))
    # x(a) = P^-1(a, u) at the sample's CDF value u: second difference of scipy's inverse
    u = scipy_special.gammainc(a, x)
    h = 1e-3 * a
    xs = [scipy_special.gammaincinv(a + k * h, u) for k in (-1, 0, 1)]
    np.testing.assert_allclose(xs[1], x, rtol=1e-10)
    np.testing.assert_allclose(d2, (xs[2] - 2 * xs[1] + xs[0]) / h**2, rtol=1e-4)
    with pytest.raises(NotImplementedError, match="third derivatives of gamma"):
        fg.grad(fg.grad(fg.grad(lambda a: R.gamma(key, a))))(2.0)


def test_normal_location_scale_gradient_and_uniform_bounds():
    key = R.PRNGKey(5)
    z = R.normal(key, (4,))
    g_mu, g_s = fg.grad(lambda mu, s: (R.normal(key, (4,)) * s + mu).sum(), argnums=(0, 1))(
        0.3, 2.0
    )
    assert g_mu == 4.0 and np.isclose(g_s, z.sum(), rtol=1e-15)
    # uniform is differentiable in minval / maxval: u = lo + (hi - lo) * f
    f = R.uniform(key, (3,))
    glo, ghi = fg.grad(lambda lo, hi: R.uniform(key, (3,), minval=lo, maxval=hi).sum(), (0, 1))(
        -1.0, 2.0
    )
    np.testing.assert_allclose([glo, ghi], [np.sum(1 - f), np.sum(f)], rtol=1e-14)


def test_truncated_normal_gradient_in_bounds_vs_finite_differences():
    key = R.PRNGKey(8)

    def fun(lo, hi):
        return R.truncated_normal(key, lo, hi, (5,)).sum()

    g = fg.grad(fun, argnums=(0, 1))(-0.5, 1.2)
    h = 1e-6
    fd = [
        (fun(-0.5 + h, 1.2) - fun(-0.5 - h, 1.2)) / (2 * h),
        (fun(-0.5, 1.2 + h) - fun(-0.5, 1.2 - h)) / (2 * h),
    ]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


# --- transforms -----------------------------------------------------------------------------------
def test_jit_matches_eager():
    key = R.PRNGKey(9)

    def draws(k):
        ks = R.split(k, 6)
        return (
            R.normal(ks[0], (5,)),
            R.randint(ks[1], (4,), -3, 9),
            R.permutation(ks[2], 7),
            R.gamma(ks[3], np.array([0.5, 4.0])),
            R.poisson(ks[4], np.array([2.0, 30.0])),
            R.categorical(ks[5], np.array([0.0, 1.0, 2.0]), shape=(4,)),
        )

    for got, want in zip(fg.jit(draws)(key), draws(key)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "name,fn",
    [
        ("normal", lambda k: R.normal(k, (3,))),
        ("uniform_f32", lambda k: R.uniform(k, (2, 2), np.float32)),
        ("randint", lambda k: R.randint(k, (3,), 0, 100)),
        ("split", lambda k: R.split(k, 3)),
        ("fold_in", lambda k: R.fold_in(k, 5)),
        ("permutation", lambda k: R.permutation(k, np.arange(6.0))),
        ("choice_p", lambda k: R.choice(k, 4, (3,), p=np.array([0.1, 0.2, 0.3, 0.4]))),
        ("gamma", lambda k: R.gamma(k, np.array([0.3, 2.0, 9.0]))),
        ("beta", lambda k: R.beta(k, 2.0, 0.5, (2,))),
        ("poisson", lambda k: R.poisson(k, np.array([1.5, 25.0]))),
        ("binomial", lambda k: R.binomial(k, np.array([5.0, 300.0]), 0.3)),
        ("multinomial", lambda k: R.multinomial(k, 10.0, np.array([0.3, 0.7]))),
        ("orthogonal", lambda k: R.orthogonal(k, 3)),
    ],
)
def test_vmap_over_split_keys_matches_a_loop(name, fn):
    keys = R.split(R.PRNGKey(4), 3)
    with np.errstate(divide="ignore"):  # multinomial: log(u) / log1p(-1) in a discarded lane
        got = fg.vmap(fn)(keys)
    want = np.stack([fn(k) for k in keys])
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


VMAP_CASES = [n for n in CASES if not n.startswith("key_")]


@pytest.mark.parametrize("name", VMAP_CASES)
def test_every_recorded_case_under_vmap_and_jit(name):
    """vmap over two keys equals a loop, and jit equals eager, for every recorded case."""

    def fn(k):
        return eval(CASES[name], {"R": R, "key": k, "np": np})

    keys = R.split(R.PRNGKey(3), 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = fg.vmap(fn)(keys)
        want = np.stack([fn(k) for k in keys])
        jitted = fg.jit(fn)(keys[0])
    assert got.dtype == want.dtype == jitted.dtype
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    np.testing.assert_allclose(jitted, want[0], rtol=1e-13, atol=0)


def test_vmap_of_key_constructors_and_jit_of_vmap():
    seeds = np.array([0, 1, 42])
    keys = fg.vmap(R.PRNGKey)(seeds)
    assert keys.tolist() == [r["key"] for r in X64[:3]]
    folded = fg.vmap(R.fold_in)(keys, np.arange(3))
    assert folded.tolist() == [R.fold_in(k, i).tolist() for i, k in enumerate(keys)]
    jv = fg.jit(fg.vmap(lambda k: R.exponential(k, (2,))))(keys)
    np.testing.assert_array_equal(jv, np.stack([R.exponential(k, (2,)) for k in keys]))
    # vmap over parameters with one key
    g = fg.vmap(lambda a: R.gamma(keys[0], a))(np.array([0.5, 2.0]))
    np.testing.assert_array_equal(g, [R.gamma(keys[0], 0.5), R.gamma(keys[0], 2.0)])


def test_grad_under_vmap_and_jit():
    keys = R.split(R.PRNGKey(2), 4)

    def loss(a, k):
        return R.gamma(k, a)

    g = fg.jit(fg.vmap(fg.grad(loss), in_axes=(None, 0)))(1.5, keys)
    want = [fg.grad(loss)(1.5, k) for k in keys]
    np.testing.assert_allclose(g, want, rtol=1e-13)


# --- statistics (guards beyond the recorded vectors) ----------------------------------------
def test_moments():
    k = R.split(R.PRNGKey(123), 8)
    n = 20000
    z = R.normal(k[0], (n,))
    assert abs(z.mean()) < 0.03 and abs(z.var() - 1) < 0.04
    g = R.gamma(k[1], 0.5, (n,))
    assert abs(g.mean() - 0.5) < 0.03 and abs(g.var() - 0.5) < 0.06
    b = R.beta(k[2], 2.0, 5.0, (n,))
    assert abs(b.mean() - 2 / 7) < 0.006
    p = R.poisson(k[3], 12.0, (n,))
    assert abs(p.mean() - 12) < 0.1 and abs(p.var() - 12) < 0.5
    bi = R.binomial(k[4], 50.0, 0.8, (n,))
    assert abs(bi.mean() - 40) < 0.1 and abs(bi.var() - 8) < 0.4
    u = R.randint(k[5], (n,), 0, 6)
    np.testing.assert_allclose(np.bincount(u) / n, np.full(6, 1 / 6), atol=0.012)
    x = R.multivariate_normal(k[6], np.zeros(2), np.array([[1.0, 0.6], [0.6, 2.0]]), (n,))
    np.testing.assert_allclose(np.cov(x.T), [[1.0, 0.6], [0.6, 2.0]], atol=0.06)
    d = R.dirichlet(k[7], np.array([1.0, 2.0, 7.0]), (n,))
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(d.mean(0), [0.1, 0.2, 0.7], atol=0.005)


def test_permutation_is_a_permutation_and_independent_rows_differ():
    x = np.arange(40).reshape(4, 10)
    p = R.permutation(R.PRNGKey(1), x, axis=1, independent=True)
    assert all(sorted(row) == list(range(r * 10, r * 10 + 10)) for r, row in enumerate(p))
    assert len({tuple(row % 10) for row in p}) > 1
    big = R.permutation(R.PRNGKey(1), 5000)  # two sorting rounds above ~1600 elements
    assert sorted(big.tolist()) == list(range(5000))


# --- errors ---------------------------------------------------------------------------------------
def test_bad_keys():
    with pytest.raises(TypeError, match=r"expected a PRNG key \(a uint32 array of shape \(2,\)\)"):
        R.normal(np.array([0, 0]), (2,))
    with pytest.raises(ValueError, match=r"accepts a single key .* Use funcgrad.vmap"):
        R.normal(R.split(R.PRNGKey(0), 3), (2,))
    with pytest.raises(TypeError, match="got float"):
        R.uniform(1.5)
    assert R.key_data(R.split(R.PRNGKey(0), 3)).shape == (3, 2)
    with pytest.raises(TypeError, match="uint32"):
        R.wrap_key_data(np.zeros(2, np.int32))
    with pytest.raises(NotImplementedError, match="only the threefry2x32 PRNG"):
        R.key(0, impl="rbg")


def test_seed_dtypes_follow_jax():
    # recorded with jax 0.10.2, x64 on: 32-bit seeds have a zero high word
    assert R.PRNGKey(np.int32(-1)).tolist() == [0, 4294967295]
    assert R.PRNGKey(np.int16(-5)).tolist() == [0, 4294967291]
    assert R.PRNGKey(np.uint64(2**64 - 1)).tolist() == [4294967295, 4294967295]
    assert R.PRNGKey(np.int64(-7)).tolist() == [4294967295, 4294967289]
    assert fg.jit(R.PRNGKey)(np.int32(-1)).tolist() == [0, 4294967295]


def test_bad_seeds_and_fold_in_data():
    with pytest.raises(TypeError, match="seed must be an integer"):
        R.PRNGKey(1.5)
    with pytest.raises(TypeError, match=r"scalar seed.*shape \(2,\)"):
        R.PRNGKey(np.array([1, 2]))
    with pytest.raises(OverflowError, match="does not fit in 64 bits"):
        R.PRNGKey(2**70)
    with pytest.raises(TypeError, match="fold_in accepts a scalar"):
        R.fold_in(R.PRNGKey(0), np.arange(2))


def test_bad_shapes_and_dtypes():
    key = R.PRNGKey(0)
    with pytest.raises(TypeError, match="shape must be a tuple of ints"):
        R.normal(key, (2.5,))
    with pytest.raises(ValueError, match="non-negative"):
        R.uniform(key, (-1,))
    with pytest.raises(ValueError, match="must be a float dtype, got int32"):
        R.uniform(key, (2,), np.int32)
    with pytest.raises(ValueError, match="must be an int dtype"):
        R.randint(key, (2,), 0, 3, np.float64)
    with pytest.raises(ValueError, match="unsigned int dtype"):
        R.bits(key, (2,), np.int32)
    with pytest.raises(ValueError, match="broadcast-compatible with shape argument"):
        R.gamma(key, np.ones(3), (2,))
    with pytest.raises(ValueError, match="broadcast-compatible with shape argument"):
        R.truncated_normal(key, np.zeros(3), 1.0, (4,))
    with pytest.raises(TypeError, match="floating dtype"):
        R.bernoulli(key, 1)
    with pytest.raises(ValueError, match="cov.shape == \\(..., n, n\\) for n=2"):
        R.multivariate_normal(key, np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="larger sample"):
        R.choice(key, 3, (5,), replace=False)
    with pytest.raises(ValueError, match="p must be None or a 1D vector"):
        R.choice(key, 3, (2,), p=np.ones(4) / 4)
    with pytest.raises(TypeError, match="cannot safely cast argument of type float64 to float32"):
        R.beta(key, np.ones(2), 1.0, dtype=np.float32)
    with pytest.raises(NotImplementedError, match="complex dtypes"):
        R.normal(key, (2,), np.complex128)


def test_namespace():
    assert len(R.__all__) == 44
    assert sorted(dir(R)) == sorted(R.__all__)
    assert all(callable(getattr(R, n)) for n in R.__all__)


def test_docstrings():
    from funcgrad.random import _distributions, _prng

    for mod in (_prng, _distributions, R):
        result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0
