"""funcgrad.scipy.optimize.minimize (BFGS): minima against closed forms and scipy.optimize,
result fields, status codes and errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy.optimize import OptimizeResults, minimize


def rosen(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_quadratic_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 5))
    q = a @ a.T + np.eye(5)
    b = rng.standard_normal(5)
    r = minimize(lambda x: 0.5 * x @ q @ x - b @ x, np.zeros(5), method="BFGS")
    assert isinstance(r, OptimizeResults) and r.success and r.status == 0
    np.testing.assert_allclose(r.x, np.linalg.solve(q, b), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(r.jac, q @ r.x - b, atol=1e-5)
    # BFGS' inverse-Hessian estimate approaches q^-1 on a quadratic
    np.testing.assert_allclose(r.hess_inv, np.linalg.inv(q), rtol=0.1, atol=0.05)
    assert r.nfev == r.njev and r.nfev >= r.nit > 0


def test_rosenbrock_matches_scipy() -> None:
    x0 = np.array([-1.2, 1.0, 0.5, -0.3])
    r = minimize(rosen, x0, method="bfgs")
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method="BFGS")
    assert r.success
    np.testing.assert_allclose(r.x, np.ones(4), atol=1e-5)
    np.testing.assert_allclose(r.x, ref.x, atol=1e-4)
    np.testing.assert_allclose(r.fun, so.rosen(r.x), rtol=1e-12)


def test_args_tol_and_maxiter() -> None:
    def f(x, c):
        return fnp.sum((x - c) ** 4)

    c = np.array([1.0, 2.0])
    r = minimize(f, np.zeros(2), args=(c,), method="BFGS", tol=1e-8)
    np.testing.assert_allclose(r.x, c, atol=2e-2)
    assert np.max(np.abs(r.jac)) < 1e-8
    r = minimize(rosen, np.array([-1.2, 1.0]), method="BFGS", options={"maxiter": 3})
    assert r.status == 1 and not r.success and r.nit == 3


def test_errors() -> None:
    with pytest.raises(ValueError, match="BFGS"):
        minimize(rosen, np.zeros(2), method="Nelder-Mead")
    with pytest.raises(ValueError, match="one-dimensional"):
        minimize(rosen, np.zeros((2, 2)), method="BFGS")
    with pytest.raises(ValueError, match="unknown options"):
        minimize(rosen, np.zeros(2), method="BFGS", options={"maxfev": 3})
    with pytest.raises(TypeError, match="outside the transform"):
        fg.grad(lambda x: minimize(rosen, x, method="BFGS").fun)(np.zeros(2))


@pytest.mark.parametrize(
    "modname",
    [
        "funcgrad.scipy",
        "funcgrad.scipy.special",
        "funcgrad.scipy.stats",
        "funcgrad.scipy.linalg",
        "funcgrad.scipy.optimize",
        "funcgrad.numpy.fft",
        "funcgrad.nn",
    ],
)
def test_docstring_examples(modname: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(modname)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
