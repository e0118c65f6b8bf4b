"""Numerical soundness: stable implementations at extreme inputs (finite values, finite
gradients, no overflow warnings), exact small-argument functions, the gradient of a norm at
zero, and dtype preservation (float32 stays float32 unless numpy's own rules promote).

numpy 2's promotion rule (NEP 50), which funcgrad follows: Python scalars are *weak* — they take
the array's dtype (``x_f32 * 2.0`` is float32) — but numpy scalars and arrays are not:
``x_f32 * np.float64(2.0)`` and ``x_f32 + np.ones(3)`` are float64. ``grad`` always returns each
gradient in its argument's dtype.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.tree_util import tree_leaves

EXTREME = np.array([1e4, -1e4, 0.0, 800.0, -800.0, 50.0, -50.0])


def nn_fn(name: str) -> Any:
    """``funcgrad.nn.<name>``, skipping the test if the module or the name is missing."""
    nn = pytest.importorskip("funcgrad.nn")
    f = getattr(nn, name, None)
    if f is None:
        pytest.skip(f"funcgrad.nn.{name} is not available")
    return f


def no_warnings(fun: Any, *args: Any) -> Any:
    """Call ``fun`` with numpy's floating-point warnings turned into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return fun(*args)


def assert_finite(*trees: Any) -> None:
    for leaf in tree_leaves(trees):
        assert np.all(np.isfinite(leaf)), leaf


MODES = {
    "eager": lambda f: f,
    "jit": lambda f: fg.jit(f),
}


# ---------------------------------------------------------------------------------------------
# funcgrad.nn at extreme inputs


def _ref_sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))


def _ref_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # in (0, 1]: no overflow, and no cancellation in 1 - s
    return e / (1.0 + e) ** 2


@pytest.mark.parametrize("mode", list(MODES))
def test_sigmoid_extreme(mode):
    sigmoid = nn_fn("sigmoid")
    f = MODES[mode](sigmoid)
    y = no_warnings(f, EXTREME)
    np.testing.assert_allclose(y, _ref_sigmoid(EXTREME), rtol=1e-15, atol=0)
    assert y[0] == 1.0 and y[1] == 0.0 and y[2] == 0.5
    g = no_warnings(MODES[mode](fg.grad(lambda x: sigmoid(x).sum())), EXTREME)
    np.testing.assert_allclose(g, _ref_sigmoid_grad(EXTREME), rtol=1e-12, atol=1e-300)
    assert g[5] > 0.0  # exp(-50): not rounded away by computing 1 - sigmoid(50)
    assert_finite(y, g)


@pytest.mark.parametrize("mode", list(MODES))
def test_softplus_extreme(mode):
    softplus = nn_fn("softplus")
    y = no_warnings(MODES[mode](softplus), EXTREME)
    np.testing.assert_allclose(y, np.logaddexp(0.0, EXTREME), rtol=1e-15, atol=0)
    assert y[0] == 1e4 and y[1] == 0.0
    g = no_warnings(MODES[mode](fg.grad(lambda x: softplus(x).sum())), EXTREME)
    np.testing.assert_allclose(g, _ref_sigmoid(EXTREME), rtol=1e-15, atol=0)
    assert_finite(y, g)


@pytest.mark.parametrize("mode", list(MODES))
def test_logsumexp_extreme(mode):
    logsumexp = nn_fn("logsumexp")
    f = MODES[mode](logsumexp)
    assert no_warnings(f, np.array([1e4, 1e4])) == 1e4 + np.log(2.0)
    assert no_warnings(f, np.array([-1e4, -1e4])) == -1e4 + np.log(2.0)
    np.testing.assert_allclose(no_warnings(f, np.array([1e4, 0.0, -1e4])), 1e4, rtol=1e-15)
    g = no_warnings(MODES[mode](fg.grad(logsumexp)), np.array([1e4, 1e4, -1e4]))
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0], atol=1e-300)
    # -inf entries contribute nothing, and get a zero gradient
    assert no_warnings(f, np.array([-np.inf, 0.0])) == 0.0
    g = no_warnings(MODES[mode](fg.grad(logsumexp)), np.array([-np.inf, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


def test_logsumexp_axis_and_batch():
    logsumexp = nn_fn("logsumexp")
    x = np.array([[1e4, 1e4 - np.log(3.0)], [-1e4, -1e4]])
    y = no_warnings(lambda a: logsumexp(a, axis=1), x)
    ref = np.array([1e4 + np.log1p(1.0 / 3.0), -1e4 + np.log(2.0)])
    np.testing.assert_allclose(y, ref, rtol=1e-15)
    g = no_warnings(fg.grad(lambda a: logsumexp(a, axis=1).sum()), x)
    np.testing.assert_allclose(g.sum(axis=1), [1.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(no_warnings(fg.vmap(logsumexp), x), ref, rtol=1e-15)


@pytest.mark.parametrize("mode", list(MODES))
def test_log_softmax_extreme(mode):
    log_softmax = nn_fn("log_softmax")
    x = np.array([1e4, 0.0, -1e4])
    y = no_warnings(MODES[mode](log_softmax), x)
    np.testing.assert_array_equal(y, [0.0, -1e4, -2e4])
    # d/dx of log_softmax(x)[i] = e_i - softmax(x)
    for i, expected in [(0, [0.0, 0.0, 0.0]), (1, [-1.0, 1.0, 0.0]), (2, [-1.0, 0.0, 1.0])]:
        g = no_warnings(MODES[mode](fg.grad(lambda a, i=i: log_softmax(a)[i])), x)
        np.testing.assert_allclose(g, expected, atol=1e-300)
    # a loss over a batch of extreme logits
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    labels = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    loss = lambda z: -(labels * log_softmax(z)).sum()  # noqa: E731
    value, g = no_warnings(MODES[mode](fg.value_and_grad(loss)), logits)
    assert value == 2e4
    assert_finite(value, g)


def test_cross_entropy_losses_extreme():
    sce = nn_fn("softmax_cross_entropy")
    sbce = nn_fn("sigmoid_binary_cross_entropy")
    logits = np.array([[1e4, 0.0]])
    labels = np.array([[0.0, 1.0]])
    v, g = no_warnings(fg.value_and_grad(lambda z: sce(z, labels).sum()), logits)
    assert v == 1e4
    np.testing.assert_allclose(g, [[1.0, -1.0]])
    v, g = no_warnings(
        fg.value_and_grad(lambda z: sbce(z, np.array([0.0, 1.0])).sum()), np.array([1e4, -1e4])
    )
    assert v == 2e4
    np.testing.assert_allclose(g, [1.0, -1.0])


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "logsumexp", "log_softmax"])
def test_nn_float32_extreme(name):
    f = nn_fn(name)
    x = np.array([1e4, -1e4, 0.0, 80.0, -80.0], np.float32)
    loss = lambda a: f(a).sum()  # noqa: E731
    for fun in (loss, fg.jit(loss)):
        v, g = no_warnings(fg.value_and_grad(fun), x)
        assert v.dtype == np.float32 and g.dtype == np.float32
        assert_finite(v, g)


# ---------------------------------------------------------------------------------------------
# funcgrad.numpy: small and large arguments


@pytest.mark.parametrize("mode", list(MODES))
def test_log1p_expm1_tiny(mode):
    for tiny in (1e-20, 1e-300, -1e-20):
        x = np.array(tiny)
        assert MODES[mode](fnp.log1p)(x) == tiny
        assert MODES[mode](fnp.expm1)(x) == tiny
        assert MODES[mode](fg.grad(fnp.log1p))(x) == 1.0 / (1.0 + tiny)
        assert MODES[mode](fg.grad(fnp.expm1))(x) == np.exp(tiny)
    assert fnp.log1p(np.float32(1e-20)) == np.float32(1e-20)
    assert fnp.log1p(np.float32(1e-20)).dtype == np.float32


@pytest.mark.parametrize("mode", list(MODES))
def test_norm_at_zero_has_zero_gradient(mode):
    g = no_warnings(MODES[mode](fg.grad(fnp.linalg.norm)), np.zeros(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    g = no_warnings(MODES[mode](fg.grad(fnp.linalg.norm)), np.zeros((2, 2)))
    np.testing.assert_array_equal(g, np.zeros((2, 2)))
    g = no_warnings(
        MODES[mode](fg.grad(lambda x: fnp.linalg.norm(x, axis=1).sum())), np.zeros((2, 3))
    )
    np.testing.assert_array_equal(g, np.zeros((2, 3)))
    # a zero row next to a nonzero one: only the zero row's gradient is zero
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    g = no_warnings(MODES[mode](fg.grad(lambda x: fnp.linalg.norm(x, axis=1).sum())), x)
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])
    # and away from zero it is x / |x|
    g = MODES[mode](fg.grad(fnp.linalg.norm))(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [0.6, 0.8])


def test_norm_at_zero_under_vmap_and_jvp():
    g = no_warnings(fg.vmap(fg.grad(fnp.linalg.norm)), np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.6, 0.8]])
    _, t = no_warnings(fg.jvp, fnp.linalg.norm, (np.zeros(3),), (np.ones(3),))
    assert np.isfinite(t)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e300), (np.float32, 3e38)])
def test_sqrt_log_gradients_at_large_inputs(dtype, big):
    x = dtype(big)
    for f, ref in [
        (fnp.sqrt, 0.5 / np.sqrt(np.float64(big))),
        (fnp.log, 1.0 / np.float64(big)),
        (lambda v: v**0.5, 0.5 / np.sqrt(np.float64(big))),
        (fnp.log1p, 1.0 / np.float64(big)),
        (fnp.tanh, 0.0),
    ]:
        for g in (fg.grad(f), fg.jit(fg.grad(f))):
            r = no_warnings(g, x)
            assert r.dtype == dtype
            assert np.isfinite(r)
            np.testing.assert_allclose(r, ref, rtol=1e-6, atol=0)
        # forward mode too
        _, t = no_warnings(fg.jvp, f, (x,), (dtype(1.0),))
        assert np.isfinite(t)
    # arctan's derivative 1 / (1 + x**2) is correct (0) but warns about the overflow of x**2
    with np.errstate(over="ignore"):
        assert fg.grad(fnp.arctan)(x) == 0.0


# ---------------------------------------------------------------------------------------------
# dtype preservation


X32 = np.array([0.5, -1.5, 2.0], np.float32)
F32_FUNCS = {
    "mul_python_float": lambda x: x * 2.0,
    "div_python_int": lambda x: x / 3,
    "pow_python": lambda x: fnp.abs(x) ** 2.5 + x**2,
    "add_np_float32": lambda x: x + np.float32(1.0),
    "exp_log": lambda x: fnp.exp(x) + fnp.log1p(x * x),
    "mean_var": lambda x: x.mean() + x.var() + fnp.std(x),
    "norm": lambda x: fnp.linalg.norm(x) * x,
    "where_max": lambda x: fnp.where(x > 0.0, x, 0.1 * x) + fnp.maximum(x, 0.0),
    "clip": lambda x: fnp.clip(x, -1.0, 1.0),
    "matmul": lambda x: fnp.outer(x, x) @ x,
    "np_ufuncs": lambda x: np.sin(x) * np.sum(x) + np.sqrt(x * x + 1.0),
    "tanh_sigmoidish": lambda x: 1.0 / (1.0 + fnp.exp(-x)) + fnp.tanh(x),
}


@pytest.mark.parametrize("name", list(F32_FUNCS))
def test_float32_stays_float32(name):
    f = F32_FUNCS[name]
    assert f(X32).dtype == np.float32  # plain numpy agrees
    assert fg.jit(f)(X32).dtype == np.float32
    assert fg.vmap(f)(np.stack([X32, X32])).dtype == np.float32
    loss = lambda x: f(x).sum()  # noqa: E731
    for g in (fg.grad(loss), fg.jit(fg.grad(loss))):
        assert g(X32).dtype == np.float32
    assert fg.vmap(fg.grad(loss))(np.stack([X32, X32])).dtype == np.float32
    out, t = fg.jvp(f, (X32,), (np.ones(3, np.float32),))
    assert out.dtype == t.dtype == np.float32
    assert fg.jacrev(f)(X32).dtype == np.float32
    assert fg.jacfwd(f)(X32).dtype == np.float32
    # the IR is float32 throughout
    ir = fg.make_ir(loss)(X32)
    for e in ir.eqns:
        for v in e.outputs:
            assert v.aval.dtype.kind != "f" or v.aval.dtype == np.float32, (e, v.aval)


def test_numpy_scalar_float64_promotes_like_numpy():
    f = lambda x: x * np.float64(2.0)  # noqa: E731
    assert f(X32).dtype == np.float64  # numpy 2 (NEP 50)
    assert fg.jit(f)(X32).dtype == np.float64
    assert fg.vmap(f)(np.stack([X32, X32])).dtype == np.float64
    g = lambda x: (x + np.ones(3)).sum()  # noqa: E731  (a float64 array promotes too)
    assert fg.jit(g)(X32).dtype == np.float64
    # ... but gradients come back in the argument's dtype
    assert fg.grad(lambda x: f(x).sum())(X32).dtype == np.float32
    assert fg.grad(g)(X32).dtype == np.float32
    assert fg.jit(fg.grad(g))(X32).dtype == np.float32


def _mlp_loss(params, x, y):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    reg = 1e-3 * sum((p**2).sum() for p in tree_leaves(params))
    return 0.5 * ((out - y) ** 2).mean() + reg + 1.0


def test_grad_of_float32_params_with_python_floats_is_float32():
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.normal(size=(4, 8)).astype(np.float32),
        "b1": np.zeros(8, np.float32),
        "w2": rng.normal(size=(8, 1)).astype(np.float32),
        "b2": np.zeros(1, np.float32),
    }
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    v, g = fg.value_and_grad(_mlp_loss)(params, x, y)
    assert v.dtype == np.float32
    assert all(leaf.dtype == np.float32 for leaf in tree_leaves(g))
    v2, g2 = fg.jit(fg.value_and_grad(_mlp_loss))(params, x, y)
    assert v2.dtype == np.float32
    assert all(leaf.dtype == np.float32 for leaf in tree_leaves(g2))
    np.testing.assert_allclose(v2, v, rtol=1e-5)
    # per-example gradients
    per_ex = fg.vmap(fg.grad(_mlp_loss), in_axes=(None, 0, 0))(params, x[:, None], y[:, None])
    assert all(leaf.dtype == np.float32 for leaf in tree_leaves(per_ex))
    # an optimizer step keeps float32
    optim = pytest.importorskip("funcgrad.optim")
    new = optim.sgd_update(params, g, 0.1)
    assert all(leaf.dtype == np.float32 for leaf in tree_leaves(new))


def test_float16_and_float32_grads_keep_dtype():
    for dt in (np.float16, np.float32):
        x = np.array([1.0, 2.0], dt)
        assert fg.grad(lambda x: (x * x * 3.0).sum())(x).dtype == dt
        assert fg.grad(lambda s: s * s)(dt(2.0)).dtype == dt


# ---------------------------------------------------------------------------------------------
# Known gaps (see the reliability issue's report)


def test_gap_norm_gradient_at_tiny_inputs():
    g = fg.grad(fnp.linalg.norm)(np.full(3, 1e-200))
    np.testing.assert_allclose(g, np.full(3, 1.0 / np.sqrt(3.0)), rtol=1e-12)
