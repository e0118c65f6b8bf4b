"""JAX's ``example_libraries.stax`` (issue 15, item 4): a network using every layer kind,
initialized from a ``funcgrad.random`` key and applied and differentiated, compared with the
same network recorded from JAX (tests/data/compat_reference.json): the initial parameters
match bit for bit up to float64 rounding, outputs and gradients to 1e-10."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.random as fr
from funcgrad.example_libraries import stax
from funcgrad.tree_util import tree_leaves

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())["stax"]
XIN = np.sin(np.arange(2 * 8 * 8 * 2).reshape(2, 8, 8, 2) * 0.37)

NET = stax.serial(
    stax.Conv(4, (3, 3), padding="SAME"),
    stax.BatchNorm(),
    stax.Relu,
    stax.MaxPool((2, 2), strides=(2, 2)),
    stax.Conv(3, (2, 2), strides=(1, 2), padding="VALID"),
    stax.Tanh,
    stax.AvgPool((2, 2), strides=(1, 1), padding="SAME"),
    stax.FanOut(2),
    stax.parallel(stax.Identity, stax.serial(stax.Elu, stax.LeakyRelu, stax.Selu)),
    stax.FanInConcat(-1),
    stax.Flatten,
    stax.Dense(5),
    stax.Gelu,
    stax.FanOut(2),
    stax.parallel(stax.Softplus, stax.Sigmoid),
    stax.FanInSum,
    stax.Dense(3),
    stax.LogSoftmax,
)


def test_init_matches_jax():
    init, _ = NET
    out_shape, params = init(fr.PRNGKey(0), (2, 8, 8, 2))
    assert list(out_shape) == REF["out_shape"]
    leaves = tree_leaves(params)
    assert len(leaves) == len(REF["params"])
    for got, want in zip(leaves, REF["params"]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_apply_and_grad_match_jax():
    init, apply = NET
    _, params = init(fr.PRNGKey(0), (2, 8, 8, 2))
    np.testing.assert_allclose(apply(params, XIN), REF["out"], rtol=1e-10, atol=1e-12)
    loss = lambda p: apply(p, XIN)[:, 0].sum()  # noqa: E731
    for g in (fg.grad(loss), fg.jit(fg.grad(loss))):
        for got, want in zip(tree_leaves(g(params)), REF["grad"]):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_general_conv_layouts_strides_and_explicit_padding():
    init, apply = stax.GeneralConv(
        ("NCHW", "OIHW", "NCHW"), 2, (2, 3), strides=(2, 1), padding=((1, 0), (0, 2))
    )
    shape, params = init(fr.PRNGKey(3), (1, 3, 5, 4))
    assert list(shape) == REF["gconv_shape"]
    for got, want in zip(params, REF["gconv_params"]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    x = np.cos(np.arange(60.0)).reshape(1, 3, 5, 4)
    np.testing.assert_allclose(apply(params, x), REF["gconv_out"], rtol=1e-10, atol=1e-12)


def test_conv_against_a_direct_loop():
    init, apply = stax.Conv(2, (2, 2), strides=(1, 1), padding="VALID")
    _, (W, b) = init(fr.PRNGKey(1), (1, 3, 3, 1))
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    want = np.zeros((1, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            want[0, i, j] = np.einsum("hwc,hwco->o", x[0, i : i + 2, j : j + 2], W) + b[0, 0, 0]
    np.testing.assert_allclose(apply((W, b), x), want, rtol=1e-12)


def test_dropout_and_its_errors():
    init, apply = stax.serial(stax.Dense(4), stax.Dropout(0.7))
    _, params = init(fr.PRNGKey(1), (3, 2))
    np.testing.assert_allclose(
        apply(params, np.ones((3, 2)), rng=fr.PRNGKey(5)), REF["dropout_out"]
    )
    with pytest.raises(ValueError, match="needs a PRNG key"):
        apply(params, np.ones((3, 2)))
    _, apply_eval = stax.Dropout(0.5, mode="test")
    assert apply_eval((), np.ones(2)).tolist() == [1.0, 1.0]


def test_vmap_of_a_stax_network_is_the_batched_network():
    init, apply = stax.serial(stax.Dense(4), stax.Tanh, stax.Dense(2))
    _, params = init(fr.PRNGKey(2), (-1, 3))
    X = np.linspace(-1, 1, 15).reshape(5, 3)
    np.testing.assert_allclose(fg.vmap(lambda x: apply(params, x))(X), apply(params, X))
