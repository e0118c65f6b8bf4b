"""``jax.nn`` activations added to ``funcgrad.nn`` (issue 15, item 5): values and derivatives
(kinks included: the derivative JAX picks there) against outputs recorded from JAX
(tests/data/compat_reference.json), under grad, vmap and jit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import nn

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())
ACT = REF["nn_activations"]
XS = np.array([-7.0, -3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0, 6.0, 7.0])
ELEMENTWISE = [
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_tanh",
    "elu",
    "celu",
    "selu",
    "leaky_relu",
    "soft_sign",
    "sparse_plus",
    "squareplus",
    "mish",
]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_values_and_derivatives_match_jax(name):
    fn = getattr(nn, name)
    value, deriv = ACT[name]
    np.testing.assert_allclose(fn(XS), value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fg.vmap(fg.grad(fn))(XS), deriv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fg.jit(fg.vmap(fg.grad(fn)))(XS), deriv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fg.elementwise_grad(fn)(XS), deriv, rtol=1e-12, atol=1e-15)


def test_celu_alpha_and_hard_swish_alias():
    value, deriv = ACT["celu_alpha2"]
    np.testing.assert_allclose(nn.celu(XS, alpha=2.0), value, rtol=1e-12)
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda x: nn.celu(x, alpha=2.0)))(XS), deriv)
    assert nn.hard_swish is nn.hard_silu


def test_glu_and_standardize_match_jax():
    m = XS.reshape(3, 4)
    w = np.arange(12.0).reshape(3, 4)
    value, grad = ACT["glu"]
    np.testing.assert_allclose(nn.glu(m), value, rtol=1e-12)
    np.testing.assert_allclose(fg.grad(lambda m: (nn.glu(m) * w[:, :2]).sum())(m), grad)
    value, grad = ACT["standardize"]
    np.testing.assert_allclose(nn.standardize(m), value, rtol=1e-12)
    np.testing.assert_allclose(
        fg.grad(lambda m: (nn.standardize(m) * w).sum())(m), grad, rtol=1e-9, atol=1e-12
    )
    with pytest.raises(ValueError, match=r"axis -1 must be even .*got shape \(3,\)"):
        nn.glu(np.ones(3))


def test_activations_keep_float32():
    x = XS.astype(np.float32)
    for name in ELEMENTWISE:
        assert getattr(nn, name)(x).dtype == np.float32, name


# --- initializers in JAX's factory form ---------------------------------------------------------
def _inits():
    from funcgrad.nn import initializers as ini

    return {
        "constant": ini.constant(0.3)(None, (2, 3)),
        "uniform": ini.uniform(0.5),
        "normal": ini.normal(0.2),
        "truncated_normal": ini.truncated_normal(0.2, lower=-1.0, upper=1.5),
        "glorot_uniform": ini.glorot_uniform(),
        "glorot_normal": ini.glorot_normal(),
        "lecun_uniform": ini.lecun_uniform(),
        "lecun_normal": ini.lecun_normal(),
        "he_uniform": ini.he_uniform(),
        "he_normal": ini.he_normal(in_axis=0, out_axis=1),
        "variance_scaling_fan_out_normal": ini.variance_scaling(
            0.5, "fan_out", "normal", batch_axis=0
        ),
        "orthogonal": ini.orthogonal(),
        "orthogonal_tall": ini.orthogonal(scale=2.0, column_axis=0),
        "delta_orthogonal": ini.delta_orthogonal(),
    }


SHAPES = {
    "uniform": (3, 4),
    "normal": (3, 4),
    "truncated_normal": (3, 4),
    "glorot_uniform": (5, 4),
    "glorot_normal": (3, 3, 2, 4),
    "lecun_uniform": (6, 2),
    "lecun_normal": (6, 2),
    "he_uniform": (4, 5),
    "he_normal": (4, 5),
    "variance_scaling_fan_out_normal": (2, 3, 4),
    "orthogonal": (4, 6),
    "orthogonal_tall": (3, 2, 5),
    "delta_orthogonal": (3, 3, 2, 3),
}


@pytest.mark.parametrize("name", sorted(REF["nn_initializers"]))
def test_initializer_draws_match_jax(name):
    import funcgrad.random as fr

    init = _inits()[name]
    got = init if name == "constant" else init(fr.PRNGKey(7), SHAPES[name])
    np.testing.assert_allclose(got, REF["nn_initializers"][name], rtol=1e-10, atol=1e-13)


def test_initializer_properties_and_errors():
    import funcgrad.random as fr
    from funcgrad.nn import initializers as ini

    q = ini.orthogonal()(fr.PRNGKey(1), (5, 3))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    w = fg.jit(lambda k: ini.glorot_uniform()(k, (4, 4)))(fr.PRNGKey(2))
    np.testing.assert_allclose(w, ini.glorot_uniform()(fr.PRNGKey(2), (4, 4)))
    assert ini.xavier_uniform is ini.glorot_uniform and ini.kaiming_normal is ini.he_normal
    assert ini.he_normal()(fr.PRNGKey(0), (3, 2), np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        ini.glorot_uniform()(fr.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="mode must be one of"):
        ini.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="3-D, 4-D or 5-D"):
        ini.delta_orthogonal()(fr.PRNGKey(0), (3, 3))


def test_softmax_where_and_one_hot_axis_match_jax():
    x = np.array([[0.5, -1.0, 2.0, 3.0], [1.0, 1.0, -2.0, 0.0]])
    mask = np.array([[True, True, False, True], [False, True, True, True]])
    w = np.arange(8.0).reshape(2, 4)
    value, grad = ACT["softmax_where"]
    np.testing.assert_allclose(nn.softmax(x, where=mask), value, rtol=1e-12, atol=1e-15)
    g = fg.grad(lambda x: (nn.softmax(x, where=mask) * w).sum())(x)
    np.testing.assert_allclose(g, grad, rtol=1e-10, atol=1e-14)
    value, grad = ACT["log_softmax_where"]
    np.testing.assert_allclose(nn.log_softmax(x, where=mask), value, rtol=1e-12)
    g = fg.jit(
        fg.grad(lambda x: (fg.numpy.where(mask, nn.log_softmax(x, where=mask), 0) * w).sum())
    )(x)
    np.testing.assert_allclose(g, grad, rtol=1e-10, atol=1e-14)
    assert nn.one_hot(np.array([[0, 2], [1, 1]]), 3, axis=1).tolist() == ACT["one_hot_axis1"]
    labels = np.array([[0, 2], [1, 1]])
    traced = fg.jit(lambda lab: nn.one_hot(lab, 3, axis=0))(labels)
    assert traced.tolist() == np.moveaxis(nn.one_hot(labels, 3), -1, 0).tolist()
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        nn.one_hot(labels, 3, axis=3)


def test_dot_product_attention_matches_jax():
    rs = np.random.default_rng(0)
    q, k, v = (
        rs.normal(size=(2, 3, 4, 5)),
        rs.normal(size=(2, 6, 2, 5)),
        rs.normal(size=(2, 6, 2, 5)),
    )
    b, m = rs.normal(size=(2, 4, 3, 6)), rs.random((2, 4, 3, 6)) > 0.3
    m[..., 0] = True
    att = nn.dot_product_attention
    plain, masked, unbatched, lengths, grads = ACT["attention"]
    # JAX's XLA path computes the softmax in float32: agreement to float32 precision
    tol = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(att(q, k, v), plain, **tol)
    np.testing.assert_allclose(att(q, k, v, bias=b, mask=m, is_causal=True), masked, **tol)
    np.testing.assert_allclose(att(q[0], k[0], v[0], scale=0.3), unbatched, **tol)
    np.testing.assert_allclose(att(q, k, v, key_value_seq_lengths=np.array([2, 5])), lengths, **tol)

    def loss(q, k, v):
        return (att(q, k, v, bias=b, mask=m, is_causal=True) * np.arange(5.0)).sum()

    for got, want in zip(fg.jit(fg.grad(loss, argnums=(0, 1, 2)))(q, k, v), grads):
        np.testing.assert_allclose(got, want, **tol)
    with pytest.raises(ValueError, match="multiple of"):
        att(q, k[:, :, :1].repeat(3, axis=2), v[:, :, :1].repeat(3, axis=2))
    with pytest.raises(ValueError, match="cudnn"):
        att(q, k, v, implementation="cudnn")
