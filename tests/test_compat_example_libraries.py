"""JAX's ``example_libraries.optimizers`` (issue 15, item 4): every optimizer run for 12
steps on a pytree of parameters, compared with the same run recorded from JAX
(tests/data/compat_reference.json); schedules, pytree state, jit, pack/unpack."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.example_libraries import optimizers as opt
from funcgrad.tree_util import tree_leaves, tree_structure

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())


def loss(p):
    w_target = jnp.array([1.0, -2.0, 0.5])
    return jnp.sum((p["w"] - w_target) ** 2 * jnp.array([1.0, 3.0, 0.5])) + jnp.sum(p["m"] ** 4)


PARAMS0 = {"w": np.array([0.5, 0.1, -1.0]), "m": np.array([[0.5, -0.3], [0.2, 0.9]])}


def make(name):
    return {
        "sgd": lambda: opt.sgd(opt.exponential_decay(0.1, 5, 0.7)),
        "momentum": lambda: opt.momentum(0.05, 0.9),
        "nesterov": lambda: opt.nesterov(0.05, 0.8),
        "adagrad": lambda: opt.adagrad(0.2),
        "rmsprop": lambda: opt.rmsprop(0.05),
        "rmsprop_momentum": lambda: opt.rmsprop_momentum(0.02),
        "adam": lambda: opt.adam(opt.inverse_time_decay(0.1, 4, 0.5, staircase=True)),
        "adamax": lambda: opt.adamax(0.1),
        "sm3": lambda: opt.sm3(0.1),
    }[name]()


@pytest.mark.parametrize("name", sorted(REF["jax_optimizers"]))
def test_optimizer_matches_jax(name):
    init, update, get_params = make(name)
    state = init(PARAMS0)
    for i in range(12):
        state = update(i, fg.grad(loss)(get_params(state)), state)
    p = get_params(state)
    want = REF["jax_optimizers"][name]
    assert np.allclose(p["w"], want["w"], rtol=1e-10, atol=1e-12)
    assert np.allclose(p["m"], want["m"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "sm3", "momentum"])
def test_optimizer_update_under_jit_matches_eager(name):
    init, update, get_params = make(name)

    # get_params stays outside: sm3 keeps the parameter's shape as int leaves of its state,
    # which are traced under jit (JAX fails the same way)
    step = fg.jit(update)
    state = init(PARAMS0)
    for i in range(12):
        state = step(i, fg.grad(loss)(get_params(state)), state)
    want = REF["jax_optimizers"][name]
    assert np.allclose(get_params(state)["w"], want["w"], rtol=1e-10)


def test_schedules_match_jax():
    steps = range(0, 20, 3)
    s = REF["jax_schedules"]
    assert np.allclose(
        [opt.exponential_decay(0.1, 5, 0.7)(i) for i in steps], s["exponential_decay"]
    )
    assert np.allclose(
        [opt.inverse_time_decay(0.1, 4, 0.5)(i) for i in steps], s["inverse_time_decay"]
    )
    assert np.allclose(
        [opt.inverse_time_decay(0.1, 4, 0.5, True)(i) for i in steps], s["inverse_time_decay_stair"]
    )
    assert np.allclose(
        [opt.polynomial_decay(0.1, 10, 0.01, 2.0)(i) for i in steps], s["polynomial_decay"]
    )
    pc = opt.piecewise_constant([3, 9], [0.1, 0.05, 0.01])
    assert [float(pc(i)) for i in steps] == s["piecewise_constant"]
    assert [float(fg.jit(pc)(i)) for i in steps] == s["piecewise_constant"]  # traced step
    with pytest.raises(ValueError, match="one more entry"):
        opt.piecewise_constant([1, 2], [1.0, 2.0])
    with pytest.raises(TypeError, match="schedule"):
        opt.make_schedule([0.1, 0.2])


def test_state_is_a_pytree_and_structures_are_checked():
    init, update, get_params = opt.adam(0.1)
    state = init(PARAMS0)
    assert isinstance(state, opt.OptimizerState)
    assert len(tree_leaves(state)) == 6  # (x, m, v) for each of the two leaves
    with pytest.raises(TypeError, match="structure"):
        update(0, {"w": np.ones(3)}, state)
    packed = opt.pack_optimizer_state(opt.unpack_optimizer_state(state))
    assert tree_structure(packed) == tree_structure(state)
    assert all(np.array_equal(a, b) for a, b in zip(tree_leaves(packed), tree_leaves(state)))
    marked = opt.unpack_optimizer_state(state)
    x, m, v = marked["w"]  # a JoinPoint unpacks to the leaf's state
    assert np.array_equal(x, PARAMS0["w"])
    with pytest.raises(TypeError, match="JoinPoint"):
        opt.pack_optimizer_state({"w": 1.0})


def test_l2_norm_and_clip_grads_match_jax():
    g = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}
    assert np.isclose(opt.l2_norm(g), REF["jax_l2_norm"])
    clipped = opt.clip_grads(g, 5.0)
    for k, v in REF["jax_clip_grads"].items():
        assert np.allclose(clipped[k], v)
    assert np.allclose(opt.clip_grads(g, 100.0)["a"], g["a"])


def test_optimizer_decorator_on_a_custom_rule():
    @opt.optimizer
    def sign_sgd(step_size):
        def init(x0):
            return x0

        def update(i, g, x):
            return x - step_size * jnp.sign(g)

        return init, update, lambda x: x

    init, update, get_params = sign_sgd(0.5)
    s = update(0, {"w": np.array([2.0, -3.0])}, init({"w": np.zeros(2)}))
    assert get_params(s)["w"].tolist() == [-0.5, 0.5]
