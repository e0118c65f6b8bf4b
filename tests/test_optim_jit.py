"""Optimizer steps are pure and jittable: jit(step) equals the eager step, states stay pytrees
of arrays, float32 stays float32, and the step traces once."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.tree_util import tree_leaves


def _loss(params, x, y):
    pred = fnp.tanh(x @ params["W"] + params["b"])
    return fnp.mean((pred - y) ** 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.sgd(0.1),
        lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
        lambda: optim.adam(1e-2),
        lambda: optim.adamw(1e-2, weight_decay=1e-2),
        lambda: optim.rmsprop(1e-2),
        lambda: optim.chain(
            optim.clip_by_global_norm(1.0), optim.adam(optim.cosine_decay_schedule(1e-2, 10))
        ),
        lambda: optim.adam(optim.warmup_cosine_decay_schedule(0.0, 1e-2, 3, 10)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_jitted_step_matches_eager(make, dtype):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((4, 3)).astype(dtype), "b": np.zeros(3, dtype)}
    x = rng.standard_normal((8, 4)).astype(dtype)
    y = rng.standard_normal((8, 3)).astype(dtype)
    opt = make()

    def step(params, state, x, y):
        loss, grads = fg.value_and_grad(_loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, loss

    jstep = fg.jit(step)
    p_e, s_e = params, opt.init(params)
    p_j, s_j = params, opt.init(params)
    for _ in range(5):
        p_e, s_e, l_e = step(p_e, s_e, x, y)
        p_j, s_j, l_j = jstep(p_j, s_j, x, y)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(tree_leaves((p_e, s_e)), tree_leaves((p_j, s_j))):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    for leaf in tree_leaves(p_j):
        assert leaf.dtype == dtype
    assert jstep.cache_info().misses == 1
    assert float(l_j) < float(_loss(params, x, y))
