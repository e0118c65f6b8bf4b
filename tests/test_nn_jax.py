"""funcgrad.nn as jax.nn: activations, standardize, one_hot, softmax ``where=``,
dot_product_attention and nn.initializers, against values and gradients recorded from JAX
(``tests/data/record_nn_optax.py``, expressions in ``tests/data/nn_optax_cases.py`` shared by
both sides), closed forms and central finite differences; and under ``jit``/``vmap``.

Tolerances: float64 activations agree with XLA to a few ulp (rtol 1e-11). JAX's
dot_product_attention rounds the logits to float32 before its softmax even for float64 inputs,
so attention is compared at rtol/atol 2e-6. Initializer draws agree to 1e-12 (float64) and a
few float32 ulp (float32), like funcgrad.random's.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.random as fr
from funcgrad import nn
from funcgrad.nn import initializers as I  # noqa: N812
from funcgrad.test_util import check_grads

DATA = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, DATA)
import nn_optax_cases as C  # noqa: E402

with open(os.path.join(DATA, "nn_optax_reference.json")) as _f:
    REF = json.load(_f)

N = nn


def env(**extra):
    e = {k: getattr(C, k) for k in dir(C) if not k.startswith("_")}
    e.update(N=N, I=I, np=np, **extra)
    return e


def unflat(rec):
    if "real" in rec:
        a = np.asarray(rec["real"]) + 1j * np.asarray(rec["imag"])
    else:
        a = np.asarray(rec["values"])
    return a.astype(rec["dtype"]).reshape(rec["shape"])


def close(got, rec, rtol, atol):
    want = unflat(rec)
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def weights_like(out):
    return C.W2.ravel()[: np.size(out)].reshape(np.shape(out))


# --- elementwise activations -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(C.ELEMENTWISE))
def test_activation_values_and_derivatives_match_jax(name):
    f = lambda x: eval(C.ELEMENTWISE[name], env(x=x))  # noqa: E731
    ref = REF["elementwise"][name]
    close(f(C.X), ref["value"], 1e-11, 1e-13)
    # derivatives everywhere, the kinks included: JAX's conventions (relu'(0) = 0, ...)
    close(fg.grad(lambda x: fnp.sum(f(x)))(C.X), ref["grad"], 1e-10, 1e-12)


@pytest.mark.parametrize("name", sorted(C.ELEMENTWISE))
def test_activation_derivatives_match_finite_differences(name):
    f = lambda x: eval(C.ELEMENTWISE[name], env(x=x))  # noqa: E731
    x = C.X[~np.isin(C.X, C.KINKS)]
    check_grads(f, (x,), order=1)


@pytest.mark.parametrize("name", sorted(C.POSITIVE))
def test_positive_domain_functions_match_jax_and_finite_differences(name):
    f = lambda x: eval(C.POSITIVE[name], env(x=x))  # noqa: E731
    ref = REF["elementwise"][name]
    close(f(C.XPOS), ref["value"], 1e-12, 1e-14)
    close(fg.grad(lambda x: fnp.sum(f(x)))(C.XPOS), ref["grad"], 1e-10, 1e-12)
    check_grads(f, (C.XPOS[C.XPOS > 0.05],), order=2)
    # closed form of the derivative: 1 / expm1(x)
    np.testing.assert_allclose(fg.grad(lambda x: fnp.sum(f(x)))(C.XPOS), 1 / np.expm1(C.XPOS))


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "mish", "squareplus", "soft_sign"])
def test_smooth_activations_second_order(name):
    f = lambda x: eval(C.ELEMENTWISE[name], env(x=x))  # noqa: E731
    check_grads(f, (np.array([-2.3, -0.4, 0.7, 3.1]),), order=2)


def test_closed_forms():
    x = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(nn.elu(x), np.where(x > 0, x, np.expm1(x)), rtol=1e-15)
    np.testing.assert_allclose(nn.leaky_relu(x, 0.2), np.where(x >= 0, x, 0.2 * x))
    np.testing.assert_allclose(nn.hard_tanh(x), np.clip(x, -1, 1))
    np.testing.assert_allclose(nn.relu6(x * 4), np.clip(x * 4, 0, 6))
    np.testing.assert_allclose(nn.hard_sigmoid(x), np.clip(x + 3, 0, 6) / 6)
    np.testing.assert_allclose(nn.soft_sign(x), x / (1 + np.abs(x)))
    np.testing.assert_allclose(nn.squareplus(x, b=1.0), (x + np.sqrt(x * x + 1)) / 2)
    np.testing.assert_allclose(nn.mish(x), x * np.tanh(np.log1p(np.exp(x))), rtol=1e-14)
    np.testing.assert_allclose(nn.sparse_plus(x), [0.0, 0.0625, 0.5625, 2.0])
    # celu with alpha = 1 is elu; hard_swish is hard_silu
    np.testing.assert_array_equal(nn.celu(x), nn.elu(x))
    np.testing.assert_array_equal(nn.hard_swish(x), nn.hard_silu(x))


def test_large_inputs_stay_finite_with_finite_gradients():
    x = np.array([-1e4, -50.0, 50.0, 1e4])
    for f in (nn.elu, nn.selu, nn.celu, nn.mish, nn.squareplus, nn.soft_sign, nn.sparse_plus):
        assert np.all(np.isfinite(f(x))), f.__name__
        assert np.all(np.isfinite(fg.grad(lambda x, f=f: fnp.sum(f(x)))(x))), f.__name__


def test_float32_is_preserved():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for name in C.ELEMENTWISE:
        out = eval(C.ELEMENTWISE[name], env(x=x))
        assert out.dtype == np.float32, name
    assert nn.glu(np.ones((2, 4), np.float32)).dtype == np.float32
    assert nn.standardize(np.ones((2, 4), np.float32)).dtype == np.float32


# --- array functions -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted({**C.ARRAY, **C.NO_GRAD}))
def test_array_functions_match_jax(name):
    src = {**C.ARRAY, **C.NO_GRAD}[name]
    f = lambda x: eval(src, env(x=x))  # noqa: E731
    ref = REF["array"][name]
    out = f(C.X2)
    close(out, ref["value"], 1e-11, 1e-13)
    if name in C.ARRAY:
        w = weights_like(out)
        g = fg.grad(lambda x: fnp.sum(f(x) * w))(C.X2)
        close(g, ref["grad"], 1e-9, 1e-11)


@pytest.mark.parametrize("name", sorted(C.ARRAY))
def test_array_functions_match_finite_differences(name):
    f = lambda x: eval(C.ARRAY[name], env(x=x))  # noqa: E731
    w = weights_like(f(C.X2))
    check_grads(lambda x: fnp.sum(f(x) * w), (C.X2,), order=1)


def test_softmax_where_closed_form_and_masked_gradient():
    x = C.X2
    out = nn.softmax(x, where=C.WHERE)
    e = np.where(C.WHERE, np.exp(x), 0.0)
    with np.errstate(invalid="ignore"):
        want = np.where(C.WHERE, e / e.sum(-1, keepdims=True), 0.0)
    np.testing.assert_allclose(out, want, rtol=1e-14)
    assert np.all(out[2] == 0)  # nothing selected: zeros, not NaN
    g = fg.grad(lambda x: fnp.sum(nn.softmax(x, where=C.WHERE) * C.W2))(x)
    assert np.all(np.isfinite(g)) and np.all(g[~C.WHERE] == 0)
    lg = fg.grad(
        lambda x: fnp.sum(fnp.where(C.WHERE, nn.log_softmax(x, where=C.WHERE), 0.0) * C.W2)
    )(x)
    assert np.all(np.isfinite(lg)) and np.all(lg[~C.WHERE] == 0)


def test_logsumexp_signed_closed_form_and_finite_differences():
    x, b = C.X2, C.W2
    lse, sign = nn.logsumexp(x, axis=1, b=b, return_sign=True)
    total = np.sum(b * np.exp(x), axis=1)
    np.testing.assert_allclose(lse, np.log(np.abs(total)), rtol=1e-13)
    np.testing.assert_array_equal(sign, np.sign(total))
    check_grads(lambda x: nn.logsumexp(x, axis=1, b=b, return_sign=True)[0], (x,), order=2)
    assert np.isnan(nn.logsumexp(np.zeros(2), b=np.array([1.0, -2.0])))  # as JAX


def test_standardize_closed_form():
    x = C.X2
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.standardize(x, algorithm="stable"), want, rtol=1e-13)
    with pytest.raises(ValueError, match="unknown algorithm 'slow'"):
        nn.standardize(x, algorithm="slow")


@pytest.mark.parametrize("name", sorted(C.ONE_HOT))
def test_one_hot_matches_jax(name):
    out = eval(C.ONE_HOT[name], env())
    close(out, REF["one_hot"][name], 0, 0)
    assert str(out.dtype) == REF["one_hot"][name]["dtype"]


def test_one_hot_axis_traced_and_errors():
    out = fg.jit(lambda lab: nn.one_hot(lab, 3, axis=0))(np.array([2, 0]))
    np.testing.assert_array_equal(out, [[0, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        nn.one_hot([0, 1], 3, axis=2)
    with pytest.raises(ValueError, match="size of axis -1 must be even"):
        nn.glu(np.ones((2, 3)))


# --- attention -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(C.ATTENTION))
def test_dot_product_attention_matches_jax(name):
    src = C.ATTENTION[name]
    ref = REF["attention"][name]

    def f(q, k, v):
        out = eval(src, env(q=q, k=k, v=v))
        return out[0] if isinstance(out, tuple) else out

    out = eval(src, env(q=C.Q, k=C.K, v=C.V))
    if isinstance(out, tuple):
        close(out[1], ref["residual"], 2e-6, 2e-6)
        out = out[0]
    close(out, ref["value"], 2e-6, 2e-6)
    w = C.WOUT.ravel()[: np.size(out)].reshape(np.shape(out))
    grads = fg.grad(lambda q, k, v: fnp.sum(f(q, k, v) * w), argnums=(0, 1, 2))(C.Q, C.K, C.V)
    for g, r in zip(grads, ref["grads"]):
        close(g, r, 2e-5, 2e-5)


def test_dot_product_attention_closed_form_and_finite_differences():
    q, k, v = C.Q[:1, :, :1], C.K[:1, :, :1], C.V[:1, :, :1]  # one head
    logits = q[0, :, 0] @ k[0, :, 0].T / np.sqrt(q.shape[-1])
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(nn.dot_product_attention(q, k, v)[0, :, 0], p @ v[0, :, 0])
    check_grads(
        lambda q, k, v: nn.dot_product_attention(q, k, v, bias=C.BIAS[:, :1], is_causal=True),
        (q, k, v),
        order=1,
    )


def test_dot_product_attention_jit_vmap_and_errors():
    f = lambda q, k, v: nn.dot_product_attention(q, k, v, mask=C.MASK)  # noqa: E731
    np.testing.assert_allclose(fg.jit(f)(C.Q, C.K, C.V), f(C.Q, C.K, C.V), rtol=1e-14)
    per = fg.vmap(lambda q, k, v: nn.dot_product_attention(q, k, v))(C.Q, C.K, C.V)
    np.testing.assert_allclose(per, nn.dot_product_attention(C.Q, C.K, C.V), rtol=1e-13)
    with pytest.raises(ValueError, match="multiple of key/value heads"):
        nn.dot_product_attention(C.Q[:, :, :3], C.KG, C.VG)
    with pytest.raises(ValueError, match="implementation 'cudnn'"):
        nn.dot_product_attention(C.Q, C.K, C.V, implementation="cudnn")
    with pytest.raises(TypeError, match="mask must be boolean"):
        nn.dot_product_attention(C.Q, C.K, C.V, mask=C.MASK.astype(float))


# --- initializers --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", C.SEEDS)
@pytest.mark.parametrize("name", sorted(C.INITIALIZERS))
def test_initializers_match_jax(name, seed):
    ref = REF["initializers"][str(seed)][name]
    out = eval(C.INITIALIZERS[name], env(key=fr.PRNGKey(seed)))
    assert str(out.dtype) == ref["dtype"], (out.dtype, ref["dtype"])
    if out.dtype in (np.float32, np.complex64):
        close(out, ref, 2e-6, 1e-6)
    else:
        close(out, ref, 1e-12, 1e-13)


def test_initializer_closed_forms():
    key = fr.PRNGKey(3)
    u = fr.uniform(key, (4, 6), np.float64, -1)
    np.testing.assert_allclose(I.glorot_uniform()(key, (4, 6)), u * np.sqrt(6 / 10), rtol=1e-15)
    np.testing.assert_allclose(I.he_uniform()(key, (4, 6)), u * np.sqrt(6 / 4), rtol=1e-15)
    w = I.orthogonal()(key, (5, 3))
    np.testing.assert_allclose(w.T @ w, np.eye(3), atol=1e-13)
    d = I.delta_orthogonal()(key, (3, 3, 4, 4))
    np.testing.assert_allclose(d[1, 1] @ d[1, 1].T, np.eye(4), atol=1e-13)
    assert np.count_nonzero(d) == np.count_nonzero(d[1, 1])
    np.testing.assert_array_equal(I.constant(2.5, np.float32)(key, (2,)), [2.5, 2.5])


def test_initializers_under_jit_and_vmap():
    init = I.he_normal()
    keys = fr.split(fr.PRNGKey(0), 3)
    jitted = fg.jit(lambda k: init(k, (4, 3)))(keys[0])
    np.testing.assert_allclose(jitted, init(keys[0], (4, 3)), rtol=1e-14)
    batched = fg.vmap(lambda k: I.glorot_uniform()(k, (2, 5)))(keys)
    for i in range(3):
        np.testing.assert_allclose(batched[i], I.glorot_uniform()(keys[i], (2, 5)), rtol=1e-14)


def test_initializer_errors():
    key = fr.PRNGKey(0)
    with pytest.raises(ValueError, match="mode must be one of"):
        I.variance_scaling(1.0, "fan_max", "normal")
    with pytest.raises(ValueError, match="distribution must be one of"):
        I.variance_scaling(1.0, "fan_in", "cauchy")
    with pytest.raises(ValueError, match="at least a 2-D shape"):
        I.orthogonal()(key, (3,))
    with pytest.raises(ValueError, match="3-D, 4-D or 5-D"):
        I.delta_orthogonal()(key, (3, 3))
    with pytest.raises(ValueError, match="fan_in .* must be <= fan_out"):
        I.delta_orthogonal()(key, (3, 4, 2))
    with pytest.raises(TypeError, match="floating dtype"):
        I.normal()(key, (2,), np.int32)
    with pytest.raises(ValueError, match="out of range for shape"):
        I.glorot_uniform(in_axis=5)(key, (2, 3))


def test_one_hot_out_of_range_labels_give_zero_rows_as_jax():
    # jax.nn.one_hot(jnp.array([2, -1, 3]), 3) == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    want = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(nn.one_hot(np.array([2, -1, 3]), 3), want)
    np.testing.assert_array_equal(fg.jit(lambda l: nn.one_hot(l, 3))(np.array([2, -1, 3])), want)
