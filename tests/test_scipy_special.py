"""funcgrad.scipy.special: values against scipy.special, first derivatives against central
finite differences of scipy's values, second derivatives against closed forms, vmap/jit, and
the NotImplementedError for derivatives JAX does not have either."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import scipy.special as sc

import funcgrad as fg
from funcgrad.scipy import special as sp

X = np.array([0.3, 0.7, 1.5, 2.5])  # positive, inside every domain below
P = np.array([0.05, 0.3, 0.6, 0.9])  # probabilities
S = np.array([-2.0, -0.4, 0.3, 1.7])  # signed

# name: (funcgrad fn, scipy fn, args, indices of differentiable args)
CASES: dict[str, tuple[Any, Any, tuple[np.ndarray, ...], tuple[int, ...]]] = {
    "erf": (sp.erf, sc.erf, (S,), (0,)),
    "erfc": (sp.erfc, sc.erfc, (S,), (0,)),
    "erfinv": (sp.erfinv, sc.erfinv, (2 * P - 1,), (0,)),
    "erfcx": (sp.erfcx, sc.erfcx, (S,), (0,)),
    "gammaln": (sp.gammaln, sc.gammaln, (X,), (0,)),
    "gamma": (sp.gamma, sc.gamma, (X,), (0,)),
    "digamma": (sp.digamma, sc.digamma, (X,), (0,)),
    "polygamma": (sp.polygamma, sc.polygamma, (np.array([1.0, 2.0, 0.0, 3.0]), X), (1,)),
    "betaln": (sp.betaln, sc.betaln, (X, X[::-1] + 0.2), (0, 1)),
    "beta": (sp.beta, sc.beta, (X, X[::-1] + 0.2), (0, 1)),
    "betainc": (sp.betainc, sc.betainc, (X + 1, X[::-1] + 1, P), (2,)),
    "gammainc": (sp.gammainc, sc.gammainc, (X, X[::-1]), (0, 1)),
    "gammaincc": (sp.gammaincc, sc.gammaincc, (X, X[::-1]), (0, 1)),
    "expit": (sp.expit, sc.expit, (S,), (0,)),
    "logit": (sp.logit, sc.logit, (P,), (0,)),
    "xlogy": (sp.xlogy, sc.xlogy, (S, X), (0, 1)),
    "xlog1py": (sp.xlog1py, sc.xlog1py, (S, X), (0, 1)),
    "entr": (sp.entr, sc.entr, (X,), (0,)),
    "rel_entr": (sp.rel_entr, sc.rel_entr, (X, X[::-1]), (0, 1)),
    "kl_div": (sp.kl_div, sc.kl_div, (X, X[::-1]), (0, 1)),
    "ndtr": (sp.ndtr, sc.ndtr, (S,), (0,)),
    "ndtri": (sp.ndtri, sc.ndtri, (P,), (0,)),
    "log_ndtr": (sp.log_ndtr, sc.log_ndtr, (np.array([-30.0, -3.0, 0.2, 5.0]),), (0,)),
    "i0": (sp.i0, sc.i0, (S,), (0,)),
    "i0e": (sp.i0e, sc.i0e, (S,), (0,)),
    "i1": (sp.i1, sc.i1, (S,), (0,)),
    "i1e": (sp.i1e, sc.i1e, (S,), (0,)),
    "zeta": (sp.zeta, sc.zeta, (X + 1.5, X), (1,)),
    "spence": (sp.spence, sc.spence, (np.array([0.2, 1.0, 2.0, 3.5]),), (0,)),
    "expi": (sp.expi, sc.expi, (S,), (0,)),
    "exp1": (sp.exp1, sc.exp1, (X,), (0,)),
    "sinc": (sp.sinc, np.sinc, (S,), (0,)),
    "multigammaln": (
        lambda a: sp.multigammaln(a, 3),
        lambda a: np.array([sc.multigammaln(v, 3) for v in np.atleast_1d(a)]).reshape(np.shape(a)),
        (X + 2,),
        (0,),
    ),
    "factorial": (sp.factorial, sc.factorial, (X * 2,), (0,)),
    "poch": (sp.poch, sc.poch, (X, X[::-1]), (0, 1)),
    "rgamma": (sp.rgamma, sc.rgamma, (np.array([-1.5, 0.3, 2.5, 4.0]),), (0,)),
    "gammasgn": (sp.gammasgn, sc.gammasgn, (np.array([-1.5, -0.3, 2.5, 4.0]),), ()),
    "expn": (sp.expn, sc.expn, (np.array([0.0, 1.0, 2.0, 5.0]), X), (1,)),
    "hyp1f1": (sp.hyp1f1, sc.hyp1f1, (X, X[::-1] + 0.5, S), (2,)),
    "hyp2f1": (sp.hyp2f1, sc.hyp2f1, (X, X[::-1], X + 1.0, P - 0.5), (3,)),
    "fresnel_s": (lambda x: sp.fresnel(x)[0], lambda x: sc.fresnel(x)[0], (S,), (0,)),
    "fresnel_c": (lambda x: sp.fresnel(x)[1], lambda x: sc.fresnel(x)[1], (S,), (0,)),
    # autograd.scipy.special's names
    "psi": (sp.psi, sc.psi, (X,), (0,)),
    "erfcinv": (sp.erfcinv, sc.erfcinv, (2 * P,), (0,)),
    "j0": (sp.j0, sc.j0, (S,), (0,)),
    "j1": (sp.j1, sc.j1, (S,), (0,)),
    "y0": (sp.y0, sc.y0, (X,), (0,)),
    "y1": (sp.y1, sc.y1, (X,), (0,)),
    "jv": (sp.jv, sc.jv, (np.array([0.5, 1.0, 2.5, 3.0]), S), (1,)),
    "yv": (sp.yv, sc.yv, (np.array([0.5, 1.0, 2.5, 3.0]), X), (1,)),
    "jn": (sp.jn, sc.jn, (np.array([0.0, 1.0, 2.0, 3.0]), S), (1,)),
    "yn": (sp.yn, sc.yn, (np.array([0.0, 1.0, 2.0, 3.0]), X), (1,)),
    "iv": (sp.iv, sc.iv, (np.array([0.5, 1.0, 2.5, 3.0]), S), (1,)),
    "ive": (sp.ive, sc.ive, (np.array([0.5, 1.0, 2.5, 3.0]), S), (1,)),
}


def fd(f: Any, args: tuple[np.ndarray, ...], i: int, h: float = 1e-6) -> np.ndarray:
    """Central differences of an elementwise ``f`` in argument ``i`` (all entries at once)."""
    up = list(args)
    dn = list(args)
    up[i] = args[i] + h
    dn[i] = args[i] - h
    return (f(*up) - f(*dn)) / (2 * h)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_scipy(name: str) -> None:
    f, ref, args, _ = CASES[name]
    np.testing.assert_allclose(f(*args), ref(*args), rtol=1e-12, atol=1e-300)
    # and under jit (the traced path)
    np.testing.assert_allclose(fg.jit(f)(*args), ref(*args), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_derivative_vs_finite_differences(name: str) -> None:
    f, ref, args, diff = CASES[name]
    for i in diff:
        g = fg.grad(lambda *a: f(*a).sum(), argnums=i)(*args)
        np.testing.assert_allclose(g, fd(ref, args, i), rtol=2e-6, atol=1e-8, err_msg=name)
        # forward mode agrees with the finite differences too
        tangents = tuple(
            np.ones_like(a) if j == i else np.zeros_like(a) for j, a in enumerate(args)
        )
        _, t = fg.jvp(f, args, tangents)
        np.testing.assert_allclose(t, fd(ref, args, i), rtol=2e-6, atol=1e-8, err_msg=name)


# Closed-form second derivatives, from scipy's values.
SECOND: dict[str, tuple[Any, np.ndarray, Any]] = {
    "erf": (sp.erf, S, lambda x: -4 * x / np.sqrt(np.pi) * np.exp(-x * x)),
    "gammaln": (sp.gammaln, X, lambda x: sc.polygamma(1, x)),
    "digamma": (sp.digamma, X, lambda x: sc.polygamma(2, x)),
    "gamma": (sp.gamma, X, lambda x: sc.gamma(x) * (sc.digamma(x) ** 2 + sc.polygamma(1, x))),
    "expit": (sp.expit, S, lambda x: sc.expit(x) * (1 - sc.expit(x)) * (1 - 2 * sc.expit(x))),
    "i0": (sp.i0, S, lambda x: sc.i0(x) - sc.i1(x) / x),
    "ndtri": (
        sp.ndtri,
        P,
        lambda p: 2 * np.pi * sc.ndtri(p) * np.exp(sc.ndtri(p) ** 2),
    ),
    "erfinv": (
        sp.erfinv,
        2 * P - 1,
        lambda y: np.pi / 2 * sc.erfinv(y) * np.exp(2 * sc.erfinv(y) ** 2),
    ),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivative_closed_form(name: str) -> None:
    f, x, want = SECOND[name]
    g2 = fg.vmap(fg.grad(fg.grad(f)))(x)
    np.testing.assert_allclose(g2, want(x), rtol=1e-10, atol=1e-12)


def test_third_derivative_of_gammaln_is_polygamma_2() -> None:
    g3 = fg.grad(fg.grad(fg.grad(sp.gammaln)))(2.5)
    np.testing.assert_allclose(g3, sc.polygamma(2, 2.5), rtol=1e-12)


@pytest.mark.parametrize(
    "a, x", [(5.0, 0.1), (100.0, 120.0), (0.3, 0.7), (1e4, 1.01e4), (40.0, 20.0), (3.0, 60.0)]
)
def test_gammainc_derivative_in_a(a: float, x: float) -> None:
    h = 1e-5 * max(1.0, a)
    fd = (sc.gammainc(a + h, x) - sc.gammainc(a - h, x)) / (2 * h)
    np.testing.assert_allclose(fg.grad(sp.gammainc)(a, x), fd, rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(fg.grad(sp.gammaincc)(a, x), -fd, rtol=1e-6, atol=1e-14)


def test_gammainc_mixed_second_derivative() -> None:
    # d/dx dP/da = x^(a-1) e^-x / Gamma(a) (log x - digamma(a))
    a, x = 2.5, 1.7
    got = fg.grad(fg.grad(sp.gammainc, argnums=0), argnums=1)(a, x)
    want = x ** (a - 1) * np.exp(-x) / sc.gamma(a) * (np.log(x) - sc.digamma(a))
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="second derivative in a"):
        fg.grad(fg.grad(sp.gammainc, argnums=0), argnums=0)(a, x)


def test_log_ndtr_gradient_far_tail_is_finite() -> None:
    # d/dx log Φ(x) ~ -x for x -> -inf; the naive pdf/cdf would be 0/0
    g = fg.grad(sp.log_ndtr)(-30.0)
    np.testing.assert_allclose(g, 30.0332, rtol=1e-4)


def test_bessel_derivatives_at_zero() -> None:
    np.testing.assert_allclose(fg.grad(sp.i1)(0.0), 0.5)
    np.testing.assert_allclose(fg.grad(sp.i1e)(0.0), 0.5)
    np.testing.assert_allclose(fg.grad(sp.spence)(1.0), -1.0)
    np.testing.assert_allclose(fg.grad(sp.j1)(0.0), 0.5)


def test_rgamma_at_poles_and_bernoulli() -> None:
    np.testing.assert_array_equal(sp.rgamma(np.array([0.0, -1.0, -2.0])), 0.0)
    np.testing.assert_allclose(sp.bernoulli(6), sc.bernoulli(6))
    # gammasgn is piecewise constant: its derivative is 0
    assert fg.grad(sp.gammasgn)(-1.5) == 0.0


def test_xlogy_at_zero() -> None:
    assert sp.xlogy(0.0, 0.0) == 0.0
    # JAX: d/dy at x = 0 is 0, d/dx is log(y)
    gx, gy = fg.grad(sp.xlogy, argnums=(0, 1))(0.0, 2.0)
    np.testing.assert_allclose([gx, gy], [np.log(2.0), 0.0])


def test_rel_entr_and_kl_div_edge_values() -> None:
    x = np.array([0.0, 0.0, -1.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, -1.0])
    np.testing.assert_array_equal(sp.rel_entr(x, y), sc.rel_entr(x, y))
    np.testing.assert_array_equal(sp.kl_div(x, y), sc.kl_div(x, y))


@pytest.mark.parametrize(
    "f, args, argnum, arg",
    [
        (sp.betainc, (2.0, 3.0, 0.4), 0, "a"),
        (sp.betainc, (2.0, 3.0, 0.4), 1, "b"),
        (sp.zeta, (3.0, 2.0), 0, "x"),
        (sp.polygamma, (1.0, 2.0), 0, "n"),
        (sp.expn, (1.0, 2.0), 0, "n"),
        (sp.hyp1f1, (1.0, 2.0, 0.5), 1, "b"),
        (sp.hyp2f1, (1.0, 2.0, 3.0, 0.5), 2, "c"),
    ],
)
def test_missing_derivatives_raise(f: Any, args: Any, argnum: int, arg: str) -> None:
    with pytest.raises(NotImplementedError, match=f"respect to '{arg}'"):
        fg.grad(f, argnums=argnum)(*args)


def test_logsumexp_matches_scipy() -> None:
    a = np.array([[1.0, 2.0, -np.inf], [1e4, 1e4, 0.0]])
    b = np.array([[1.0, -3.0, 1.0], [0.5, 0.5, 0.0]])
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            np.testing.assert_allclose(
                sp.logsumexp(a, axis=axis, keepdims=keepdims),
                sc.logsumexp(a, axis=axis, keepdims=keepdims),
            )
            got = sp.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            want = sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            np.testing.assert_allclose(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1])


def test_logsumexp_gradient_with_weights() -> None:
    a = np.array([0.2, -1.0, 0.7])
    b = np.array([1.0, 2.0, 0.5])
    g = fg.grad(lambda a: sp.logsumexp(a, b=b))(a)
    np.testing.assert_allclose(g, b * np.exp(a) / np.sum(b * np.exp(a)))
    gb = fg.grad(lambda b: sp.logsumexp(a, b=b))(b)
    np.testing.assert_allclose(gb, np.exp(a) / np.sum(b * np.exp(a)))


def test_softmax_matches_scipy() -> None:
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    for axis in (None, 0, 1):
        np.testing.assert_allclose(sp.softmax(x, axis=axis), sc.softmax(x, axis=axis))
        np.testing.assert_allclose(sp.log_softmax(x, axis=axis), sc.log_softmax(x, axis=axis))


def test_vmap_matches_elementwise() -> None:
    a = np.array([[0.5, 1.0], [2.0, 3.0]])
    x = np.array([0.2, 0.7])
    got = fg.vmap(sp.betainc, in_axes=(0, None, None))(a, 2.0, x)
    np.testing.assert_allclose(got, sc.betainc(a, 2.0, x))


def test_integer_inputs_promote() -> None:
    np.testing.assert_allclose(sp.gammaln(np.array([1, 2, 5])), sc.gammaln([1, 2, 5]))


def test_complex_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="complex"):
        sp.erf(np.array([1j]))


def test_import_without_scipy_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import funcgrad, funcgrad.numpy, funcgrad.numpy.fft\n"
        "try:\n    import funcgrad.scipy\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'funcgrad[scipy]'" in out.stdout


def test_gelu_exact_uses_erf() -> None:
    x = np.array([-1.5, 0.0, 0.7])
    want = 0.5 * x * (1 + sc.erf(x / np.sqrt(2)))
    np.testing.assert_allclose(fg.nn.gelu(x, approximate=False), want, rtol=1e-14)
    g = fg.grad(lambda x: fg.nn.gelu(x, approximate=False).sum())(x)
    pdf = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(g, 0.5 * (1 + sc.erf(x / np.sqrt(2))) + x * pdf, rtol=1e-12)


def test_gelu_exact_without_scipy_uses_the_numpy_only_erf() -> None:
    # erf is a core primitive: without scipy it runs on Python's math.erf, same values
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import numpy as np, funcgrad as fg\n"
        "x = np.array([-1.5, 0.0, 0.7])\n"
        "print(repr(fg.nn.gelu(x, approximate=False).tolist()))\n"
        "print(repr(fg.grad(lambda x: fg.nn.gelu(x, approximate=False).sum())(x).tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    vals, grads = (np.array(eval(line)) for line in out.stdout.split("\n")[:2])
    x = np.array([-1.5, 0.0, 0.7])
    np.testing.assert_allclose(vals, 0.5 * x * (1 + sc.erf(x / np.sqrt(2))), rtol=1e-14)
    pdf = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(grads, 0.5 * (1 + sc.erf(x / np.sqrt(2))) + x * pdf, rtol=1e-12)
