"""float16 works end to end; bfloat16 and other ml_dtypes types get a message that says they
are not supported and what to cast to."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

X16 = np.array([0.5, -1.0, 2.0], np.float16)


def loss(x):
    return fnp.sum(fnp.tanh(x) ** 2 + fnp.exp(x) * 0.5)


def _want_grad(x):
    x64 = x.astype(np.float64)
    return 2 * np.tanh(x64) * (1 - np.tanh(x64) ** 2) + 0.5 * np.exp(x64)


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: fg.grad(f),
        lambda f: fg.jit(fg.grad(f)),
        lambda f: fg.jacrev(f),
        lambda f: fg.jacfwd(f),
    ],
    ids=["grad", "jit(grad)", "jacrev", "jacfwd"],
)
def test_float16_gradients_stay_float16(transform):
    g = transform(loss)(X16)
    assert g.dtype == np.float16
    np.testing.assert_allclose(g.astype(np.float64), _want_grad(X16), rtol=5e-3)


def test_float16_vmap_jvp_and_hessian():
    xs = np.stack([X16, X16 * 0.5])
    g = fg.vmap(fg.grad(loss))(xs)
    assert g.dtype == np.float16
    np.testing.assert_allclose(g[1].astype(np.float64), _want_grad(X16 * 0.5), rtol=5e-3)
    out, t = fg.jvp(lambda x: fnp.sin(x), (X16,), (np.ones(3, np.float16),))
    assert out.dtype == t.dtype == np.float16
    np.testing.assert_allclose(t.astype(np.float64), np.cos(X16.astype(np.float64)), rtol=2e-3)
    h = fg.hessian(lambda x: fnp.sum(x**3))(X16)
    assert h.dtype == np.float16
    np.testing.assert_allclose(np.diag(h).astype(np.float64), 6 * X16.astype(np.float64))


def test_bfloat16_is_refused_with_what_to_cast_to():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.ones(3, ml_dtypes.bfloat16)
    calls = {
        "grad": lambda: fg.grad(lambda x: fnp.sum(x))(x),
        "jit": lambda: fg.jit(lambda x: x * 2)(x),
        "vmap": lambda: fg.vmap(lambda x: x * 2)(x),
        "numpy": lambda: fnp.sin(x),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match=r"dtype bfloat16: funcgrad does not support") as info:
            call()
        assert "x.astype(np.float32)" in str(info.value), name


def test_string_arrays_are_refused():
    with pytest.raises(TypeError, match=r"dtype <U1: not numbers"):
        fnp.sin(np.array(["a"]))
