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
    with pytest.raises(ValueError, match="odd size 3"):
        nn.glu(np.ones(3))


def test_activations_keep_float32():
    x = XS.astype(np.float32)
    for name in ELEMENTWISE:
        assert getattr(nn, name)(x).dtype == np.float32, name
