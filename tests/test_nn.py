"""Tests for funcgrad.nn: activations, normalizers, losses, one_hot and initializers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad import random as fr
from funcgrad.nn import initializers as init_mod
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)
X_MOD = RNG.standard_normal((4, 5)) * 3.0  # moderate inputs, away from 0 ties
X_EXTREME = np.array([1e4, -1e4, 0.0, 1.0, -1.0])


# --- naive references (fine at moderate inputs) ----------------------------------------------


def naive_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def naive_softplus(x):
    return np.log(1.0 + np.exp(x))


def naive_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def naive_softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def naive_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


ELEMENTWISE = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (nn.sigmoid, naive_sigmoid),
    "log_sigmoid": (nn.log_sigmoid, lambda x: np.log(naive_sigmoid(x))),
    "softplus": (nn.softplus, naive_softplus),
    "gelu": (nn.gelu, naive_gelu_tanh),
    "silu": (nn.silu, lambda x: x * naive_sigmoid(x)),
}
ALL_FUNS = {
    **{k: v[0] for k, v in ELEMENTWISE.items()},
    "softmax": nn.softmax,
    "log_softmax": nn.log_softmax,
    "logsumexp": nn.logsumexp,
    "logsumexp_axis0": lambda x: nn.logsumexp(x, axis=0),
}


def total(f):
    return lambda x: fnp.sum(f(x))


# --- values against naive formulas ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_matches_naive(name):
    f, ref = ELEMENTWISE[name]
    np.testing.assert_allclose(f(X_MOD), ref(X_MOD), rtol=1e-12, atol=1e-12)


def test_normalizers_match_naive():
    np.testing.assert_allclose(nn.softmax(X_MOD), naive_softmax(X_MOD), rtol=1e-12)
    np.testing.assert_allclose(nn.softmax(X_MOD, axis=0), naive_softmax(X_MOD, 0), rtol=1e-12)
    np.testing.assert_allclose(
        nn.log_softmax(X_MOD), np.log(naive_softmax(X_MOD)), rtol=1e-12, atol=1e-12
    )
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            got = nn.logsumexp(X_MOD, axis=axis, keepdims=keepdims)
            want = naive_logsumexp(X_MOD, axis=axis, keepdims=keepdims)
            assert np.shape(got) == np.shape(want), (axis, keepdims)
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_logsumexp_scalar_result_is_numpy_scalar():
    out = nn.logsumexp(np.array([0.0, 0.0]))
    assert np.ndim(out) == 0
    assert out == pytest.approx(np.log(2.0))


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.floats(-30, 30),
    )
)
def test_logsumexp_and_log_softmax_property(x):
    np.testing.assert_allclose(nn.logsumexp(x), naive_logsumexp(x), rtol=1e-10, atol=1e-10)
    ls = nn.log_softmax(x)
    np.testing.assert_allclose(np.exp(ls).sum(axis=-1), 1.0, rtol=1e-10)
    assert np.all(ls <= 1e-12)


# --- extreme inputs: finite values and gradients ----------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ALL_FUNS))
def test_extreme_inputs_finite_value_and_grad(name, dtype):
    f = ALL_FUNS[name]
    x = X_EXTREME.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        val = np.asarray(f(x))
        g = fg.grad(total(f))(x)
    assert np.all(np.isfinite(val)), val
    assert np.all(np.isfinite(g)), g
    assert g.dtype == dtype


def test_extreme_values_exact():
    np.testing.assert_array_equal(nn.sigmoid(np.array([1e4, -1e4])), [1.0, 0.0])
    np.testing.assert_array_equal(nn.softplus(np.array([1e4, -1e4])), [1e4, 0.0])
    np.testing.assert_array_equal(nn.log_softmax(np.array([1e4, 0.0])), [0.0, -1e4])
    np.testing.assert_allclose(nn.logsumexp(np.array([1e4, 1e4])), 1e4 + np.log(2.0))
    np.testing.assert_allclose(nn.softmax(np.array([1e4, 1e4, -1e4])), [0.5, 0.5, 0.0])
    # gradients at the extremes
    np.testing.assert_array_equal(fg.grad(total(nn.sigmoid))(np.array([1e4, -1e4])), [0, 0])
    np.testing.assert_array_equal(fg.grad(total(nn.softplus))(np.array([1e4, -1e4])), [1, 0])
    np.testing.assert_allclose(fg.grad(nn.logsumexp)(np.array([1e4, 1e4])), [0.5, 0.5])
    np.testing.assert_allclose(
        fg.grad(lambda x: nn.log_softmax(x)[0])(np.array([1e4, 0.0])), [0.0, 0.0]
    )


def test_derivatives_exact_at_zero():
    # abs-based formulas get these wrong at exactly 0 (subgradient 0).
    zero = np.array([0.0])
    np.testing.assert_allclose(fg.grad(total(nn.sigmoid))(zero), [0.25])
    np.testing.assert_allclose(fg.grad(total(nn.softplus))(zero), [0.5])
    np.testing.assert_allclose(fg.hessian(total(nn.softplus))(zero), [[0.25]])
    np.testing.assert_allclose(fg.grad(total(nn.silu))(zero), [0.5])
    np.testing.assert_array_equal(fg.grad(total(nn.relu))(zero), [0.0])  # as JAX


def test_logsumexp_minus_inf_entries():
    x = np.array([[0.0, -np.inf], [-np.inf, -np.inf], [1e4, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = nn.logsumexp(x, axis=1)
    np.testing.assert_array_equal(out, [0.0, -np.inf, 1e4])
    np.testing.assert_array_equal(fg.grad(nn.logsumexp)(np.array([0.0, -np.inf])), [1.0, 0.0])
    np.testing.assert_array_equal(nn.softmax(np.array([0.0, -np.inf])), [1.0, 0.0])
    np.testing.assert_array_equal(nn.log_softmax(np.array([0.0, -np.inf])), [0.0, -np.inf])


# --- gradients against finite differences -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_FUNS))
def test_check_grads(name):
    f = ALL_FUNS[name]
    x = RNG.standard_normal((3, 4)) * 2.0 + 0.1
    order = 1 if name == "relu" else 2
    check_grads(f, (x,), order=order)


def test_check_grads_losses():
    logits = RNG.standard_normal((5, 3))
    labels = nn.one_hot(np.array([0, 2, 1, 1, 0]), 3)
    check_grads(lambda z: nn.softmax_cross_entropy(z, labels), (logits,), order=2)
    probs = RNG.uniform(size=(5, 3))
    check_grads(lambda z: nn.sigmoid_binary_cross_entropy(z, probs), (logits,), order=2)
    check_grads(lambda p, t: nn.mse(p, t), (logits, probs), order=2)


# --- dtypes, scalars, transforms ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_FUNS))
def test_float32_preserved(name):
    x = X_MOD.astype(np.float32)
    out = ALL_FUNS[name](x)
    assert np.asarray(out).dtype == np.float32
    assert fg.grad(total(ALL_FUNS[name]))(x).dtype == np.float32


def test_losses_preserve_float32():
    logits = X_MOD.astype(np.float32)
    onehot = nn.one_hot(np.arange(4) % 5, 5)  # float64 labels: the loss keeps float32
    assert nn.softmax_cross_entropy(logits, onehot).dtype == np.float32
    assert nn.sigmoid_binary_cross_entropy(logits, (logits > 0).astype(np.float64)).dtype == (
        np.float32
    )
    assert np.asarray(nn.mse(logits, np.zeros((4, 5)))).dtype == np.float32


def test_integer_and_python_inputs():
    assert nn.sigmoid(0) == 0.5
    np.testing.assert_allclose(nn.softplus([0, 1]), naive_softplus(np.array([0.0, 1.0])))
    assert nn.softmax(np.array([1, 1])).dtype == np.float64
    np.testing.assert_array_equal(nn.relu([-1, 2]), [0, 2])


def test_under_vmap_and_jvp():
    x = RNG.standard_normal((6, 4))
    np.testing.assert_allclose(fg.vmap(nn.log_softmax)(x), nn.log_softmax(x), rtol=1e-12)
    np.testing.assert_allclose(fg.vmap(nn.logsumexp)(x), nn.logsumexp(x, axis=1), rtol=1e-12)
    g = fg.vmap(fg.grad(nn.logsumexp))(x)
    np.testing.assert_allclose(g, nn.softmax(x), rtol=1e-12)
    t = RNG.standard_normal(4)
    _, tan = fg.jvp(nn.sigmoid, (x[0],), (t,))
    s = naive_sigmoid(x[0])
    np.testing.assert_allclose(tan, s * (1 - s) * t, rtol=1e-12)


@pytest.mark.skipif(not hasattr(fg, "jit"), reason="funcgrad.jit not available yet")
def test_under_jit():
    x = RNG.standard_normal((3, 4))
    labels = nn.one_hot(np.array([0, 1, 3]), 4)

    def loss(z):
        return fnp.mean(nn.softmax_cross_entropy(z, labels)) + fnp.sum(nn.gelu(z))

    np.testing.assert_allclose(fg.jit(loss)(x), loss(x), rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(loss))(x), fg.grad(loss)(x), rtol=1e-12)


def test_gelu_exact():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    import math

    want = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(nn.gelu(x, approximate=False), want, rtol=1e-12)
    np.testing.assert_allclose(nn.gelu(x), want, atol=1e-3)


# --- softmax properties ----------------------------------------------------------------------


def test_softmax_sums_to_one_and_gradient_of_sum_is_zero():
    s = nn.softmax(X_MOD, axis=1)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    g = fg.grad(lambda x: fnp.sum(nn.softmax(x)))(X_MOD)
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


# --- one_hot ---------------------------------------------------------------------------------


def test_one_hot_values():
    out = nn.one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1]])
    assert out.dtype == np.float64
    assert nn.one_hot([[0, 1]], 2, dtype=np.float32).shape == (1, 2, 2)
    assert nn.one_hot([[0, 1]], 2, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(nn.one_hot(1, 3), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(nn.one_hot(np.array([1], np.uint8), 2), [[0.0, 1.0]])


def test_one_hot_traced_labels():
    out = fg.vmap(lambda lab: nn.one_hot(lab, 4))(np.array([3, 0]))
    np.testing.assert_array_equal(out, np.eye(4)[[3, 0]])


@pytest.mark.parametrize(
    "labels, num_classes, exc, match",
    [
        ([0.0, 1.0], 3, TypeError, "integers"),
        ([0, 1], 0, ValueError, "num_classes"),
        ([0, 1], 2.0, TypeError, "num_classes"),
        ([True], 2, TypeError, "integers"),
    ],
)
def test_one_hot_errors(labels, num_classes, exc, match):
    with pytest.raises(exc, match=match):
        nn.one_hot(labels, num_classes)


# --- losses ----------------------------------------------------------------------------------


def test_softmax_cross_entropy_per_example():
    logits = RNG.standard_normal((7, 4))
    labels = nn.one_hot(np.arange(7) % 4, 4)
    out = nn.softmax_cross_entropy(logits, labels)
    assert out.shape == (7,)
    want = -np.log(naive_softmax(logits))[np.arange(7), np.arange(7) % 4]
    np.testing.assert_allclose(out, want, rtol=1e-12)
    g = fg.grad(lambda z: fnp.mean(nn.softmax_cross_entropy(z, labels)))(logits)
    np.testing.assert_allclose(g, (naive_softmax(logits) - labels) / 7, rtol=1e-10, atol=1e-14)
    # extreme logits
    big = np.array([[1e4, -1e4, 0.0]])
    lab = nn.one_hot([1], 3)
    assert nn.softmax_cross_entropy(big, lab)[0] == 2e4
    assert np.all(np.isfinite(fg.grad(lambda z: nn.softmax_cross_entropy(z, lab)[0])(big)))


def test_sigmoid_binary_cross_entropy():
    logits = RNG.standard_normal((6,)) * 3
    labels = RNG.uniform(size=6)
    p = naive_sigmoid(logits)
    want = -labels * np.log(p) - (1 - labels) * np.log(1 - p)
    np.testing.assert_allclose(nn.sigmoid_binary_cross_entropy(logits, labels), want, rtol=1e-10)
    g = fg.grad(lambda z: fnp.sum(nn.sigmoid_binary_cross_entropy(z, labels)))(logits)
    np.testing.assert_allclose(g, p - labels, rtol=1e-10, atol=1e-14)
    ext = nn.sigmoid_binary_cross_entropy(np.array([1e4, -1e4, 1e4]), np.array([1.0, 0.0, 0.0]))
    np.testing.assert_array_equal(ext, [0.0, 0.0, 1e4])


def test_mse():
    pred, target = RNG.standard_normal((5, 2)), RNG.standard_normal((5, 2))
    np.testing.assert_allclose(nn.mse(pred, target), np.mean((pred - target) ** 2))
    np.testing.assert_allclose(
        nn.mse(pred, target, axis=-1), np.mean((pred - target) ** 2, axis=-1)
    )
    np.testing.assert_allclose(fg.grad(nn.mse)(pred, target), 2 * (pred - target) / 10)
    assert nn.mse(pred, 0.0) == pytest.approx(np.mean(pred**2))


@pytest.mark.parametrize(
    "fn",
    [nn.mse, nn.softmax_cross_entropy, nn.sigmoid_binary_cross_entropy],
)
def test_loss_shape_mismatch(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.zeros((4, 1)), np.zeros(4))


# --- initializers (JAX's factory form; values vs JAX are in test_nn_jax.py) -------------------


def test_glorot_uniform_statistics():
    w = init_mod.glorot_uniform()(fr.PRNGKey(1), (300, 500))
    limit = np.sqrt(6 / 800)
    assert w.shape == (300, 500) and w.dtype == np.float64
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(2 / 800, rel=0.02)
    assert abs(w.mean()) < 1e-3
    # conv-style shape: receptive field multiplies both fans
    w4 = init_mod.glorot_uniform()(fr.PRNGKey(2), (3, 3, 16, 32), np.float32)
    assert w4.dtype == np.float32
    assert w4.var() == pytest.approx(2 / (9 * 16 + 9 * 32), rel=0.05)


def test_he_normal_statistics():
    w = init_mod.he_normal()(fr.PRNGKey(2), (400, 600))
    std = np.sqrt(2 / 400)
    assert w.var() == pytest.approx(std**2, rel=0.02)
    assert abs(w.mean()) < 1e-3
    # truncated at two (untruncated) standard deviations, as JAX's truncated_normal
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-12
    assert init_mod.he_normal()(fr.PRNGKey(3), (8, 4), dtype=np.float32).dtype == np.float32


def test_initializers_deterministic():
    for init in (init_mod.he_normal(), init_mod.glorot_uniform()):
        a = init(fr.PRNGKey(7), (10, 10))
        np.testing.assert_array_equal(a, init(fr.PRNGKey(7), (10, 10)))
        assert not np.array_equal(a, init(fr.PRNGKey(8), (10, 10)))


@pytest.mark.parametrize("factory", [init_mod.glorot_uniform, init_mod.he_normal])
def test_initializer_errors(factory):
    init = factory()
    with pytest.raises(TypeError, match="key"):
        init(np.random.default_rng(0), (3, 3))
    with pytest.raises(ValueError, match="fewer than 2"):
        init(fr.PRNGKey(0), (5,))
    with pytest.raises(TypeError, match="floating"):
        init(fr.PRNGKey(0), (3, 3), np.int32)
    with pytest.raises(TypeError, match="shape"):
        init(fr.PRNGKey(0), (3.5, 2))


def test_old_initializer_names_point_to_the_new_form():
    with pytest.raises(AttributeError, match=r"nn.initializers.he_normal\(\)\(key, shape"):
        nn.he_normal  # noqa: B018
