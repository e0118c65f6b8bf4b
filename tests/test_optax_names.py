"""funcgrad.optim speaks optax: the same expressions (``tests/data/nn_optax_cases.py``) build
optimizers, transforms, wrappers and schedules in optax (recorded by
``tests/data/record_nn_optax.py``) and in funcgrad, and six steps on the same gradients give
the same updates. Plus closed forms, ``jit`` of whole training steps, and errors.

Tolerances: float64 updates agree to 1e-10 relative (XLA's sqrt/pow vs numpy's differ in the
last bits). Adafactor's decay rate is computed in float32 by optax even with x64 on, so its
cases compare at 2e-6.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.tree_util import tree_leaves, tree_map

DATA = os.path.join(os.path.dirname(__file__), "data")
sys.path.insert(0, DATA)
import nn_optax_cases as C  # noqa: E402

with open(os.path.join(DATA, "nn_optax_reference.json")) as _f:
    REF = json.load(_f)

O = optim  # noqa: E741


def env(**extra):
    e = {k: getattr(C, k) for k in dir(C) if not k.startswith("_")}
    e.update(O=O, np=np, **extra)
    return e


def unflat(rec):
    return np.asarray(rec["values"], dtype=rec["dtype"]).reshape(rec["shape"])


def run(name, opt, step=None):
    """Six updates of ``opt`` (``step`` replaces ``opt.update``, e.g. a jitted one)."""
    src, grads_name = C.OPTIMIZERS[name]
    grads = getattr(C, grads_name)
    step = step or opt.update
    params = dict(C.PARAMS)
    state = opt.init(params)
    out = []
    for t, g in enumerate(grads):
        if name in C.INJECT_CHANGE and t == 3:
            hp, value = C.INJECT_CHANGE[name]
            state.hyperparams[hp] = np.asarray(value)
        updates, state = step(g, state, params)
        params = optim.apply_updates(params, updates)
        out.append(updates)
    return out, params, state


# optax evaluates schedules of its int32 step count in float32 (jnp.true_divide of an int32
# array is float32 even with x64 on); funcgrad's are float64, so these agree to float32 precision
SCHEDULED = {"inject_schedule", "scale_by_schedule", "scale_by_learning_rate",
             "add_decayed_weights_sched"}  # fmt: skip


def tol(name):
    if name.startswith("adafactor"):
        return 2e-6, 1e-9
    return (2e-7, 1e-9) if name in SCHEDULED else (1e-10, 1e-13)


@pytest.mark.parametrize("name", sorted(C.OPTIMIZERS))
def test_optimizer_matches_optax(name):
    opt = eval(C.OPTIMIZERS[name][0], env())
    updates, params, _ = run(name, opt)
    rtol, atol = tol(name)
    for t, (got, want) in enumerate(zip(updates, REF["optimizers"][name]["updates"])):
        for k in ("w", "b"):
            np.testing.assert_allclose(
                got[k], unflat(want[k]), rtol=rtol, atol=atol, err_msg=f"step {t}, leaf {k}"
            )
    for k in ("w", "b"):
        np.testing.assert_allclose(
            params[k], unflat(REF["optimizers"][name]["params"][k]), rtol=rtol, atol=atol
        )


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # jitted apply_if_finite
@pytest.mark.parametrize(
    "name", ["adam", "lamb", "adafactor_factored", "inject", "multi_steps", "apply_if_finite",
             "noisy_sgd", "multi_transform", "masked", "zero_nans", "rmsprop_centered_momentum"]
)  # fmt: skip
def test_jitted_steps_match_eager(name):
    opt = eval(C.OPTIMIZERS[name][0], env())
    eager, p_eager, _ = run(name, opt)
    jitted, p_jit, _ = run(name, opt, fg.jit(opt.update))
    for a, b in zip(tree_leaves(eager), tree_leaves(jitted)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(C.SCHEDULES))
def test_schedule_matches_optax(name):
    s = eval(C.SCHEDULES[name], env())
    got = [float(s(np.asarray(i, np.int32))) for i in C.SCHEDULE_STEPS]
    np.testing.assert_allclose(got, REF["schedules"][name], rtol=1e-12, atol=1e-15)
    # and traced, as inside a jitted update
    traced = [float(fg.jit(s)(np.asarray(i, np.int32))) for i in (0, 7, 23)]
    np.testing.assert_allclose(traced, [got[0], got[7], got[23]], rtol=1e-12, atol=1e-15)


def test_global_norm_matches_optax():
    assert float(optim.global_norm(C.GRADS[0])) == pytest.approx(REF["global_norm"], rel=1e-14)


def test_learning_rate_keyword_and_closed_forms():
    g = np.array([2.0, -1.0])
    p = np.array([1.0, 1.0])
    for opt in (optim.adam(learning_rate=0.1), optim.sgd(learning_rate=0.1)):
        u, _ = opt.update(g, opt.init(p), p)
        assert u.shape == (2,)
    # adagrad: -lr * g / sqrt(init + g^2 + eps)
    u, _ = optim.adagrad(0.5).update(g, optim.adagrad(0.5).init(p))
    np.testing.assert_allclose(u, -0.5 * g / np.sqrt(0.1 + g * g + 1e-7), rtol=1e-15)
    # lion first step: -lr * (sign(g) + wd * p)
    u, _ = optim.lion(0.1, weight_decay=0.2).update(g, optim.lion(0.1).init(p), p)
    np.testing.assert_allclose(u, -0.1 * (np.sign(g) + 0.2 * p), rtol=1e-15)
    # adamax first step: -lr * sign(g) * (1 - b1) g / (1 - b1) / (|g| + eps)
    u, _ = optim.adamax(0.1).update(g, optim.adamax(0.1).init(p))
    np.testing.assert_allclose(u, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    # lamb: per-leaf trust ratio |p| / |adam direction|, the direction being ~sign(g) at step 1
    u, _ = optim.lamb(0.1).update(g, optim.lamb(0.1).init(p), p)
    d = g / (np.abs(g) + 1e-6)
    np.testing.assert_allclose(u, -0.1 * d * np.linalg.norm(p) / np.linalg.norm(d), rtol=1e-12)


def test_inject_hyperparams_state_and_errors():
    opt = optim.inject_hyperparams(optim.adam)(learning_rate=0.1, b1=0.8)
    state = opt.init({"w": np.zeros(2, np.float32)})
    assert set(state.hyperparams) == {"learning_rate", "b1", "b2", "eps", "eps_root"}
    assert state.hyperparams["learning_rate"].dtype == np.float32  # the parameters' dtype
    with pytest.raises(ValueError, match=r"static_args \['foo'\] are not parameters of adam"):
        optim.inject_hyperparams(optim.adam, static_args="foo")
    with pytest.raises(ValueError, match="b1 must be in"):
        optim.inject_hyperparams(optim.adam)(learning_rate=0.1, b1=1.5).init(np.zeros(1))


def test_multi_steps_accumulates_and_emits_every_k():
    ms = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=3)
    state = ms.init(np.zeros(1))
    outs = []
    for g in (1.0, 2.0, 6.0, 1.0):
        u, state = ms.update(np.array([g]), state)
        outs.append(float(u[0]))
    assert outs == [0.0, 0.0, -3.0, 0.0]  # the mean of 1, 2, 6, applied on the third call
    assert int(state.gradient_step) == 1 and int(state.mini_step) == 1
    with pytest.raises(ValueError, match="every_k_schedule must be >= 1"):
        optim.MultiSteps(optim.sgd(1.0), every_k_schedule=0)


def test_apply_if_finite_gives_up_after_max_consecutive_errors():
    opt = optim.apply_if_finite(optim.sgd(1.0), max_consecutive_errors=1)
    state = opt.init(np.zeros(1))
    outs = []
    for g in (np.nan, np.nan, 1.0):
        u, state = opt.update(np.array([g]), state)
        outs.append(float(u[0]))
    assert outs[0] == 0.0 and np.isnan(outs[1]) and outs[2] == -1.0
    assert int(state.total_notfinite) == 2 and bool(state.last_finite)


def test_masked_and_multi_transform_errors():
    params = {"w": np.zeros(2), "b": np.zeros(1)}
    with pytest.raises(ValueError, match="the mask has 1 leaves but the parameters have 2"):
        optim.masked(optim.sgd(0.1), {"w": True}).init(params)
    with pytest.raises(ValueError, match=r"labels \['c'\] have no transformation"):
        optim.multi_transform({"a": optim.sgd(0.1)}, {"w": "a", "b": "c"}).init(params)


def test_param_free_transforms_raise_without_params():
    for opt in (optim.lamb(0.1), optim.lion(0.1), optim.adafactor(0.1)):
        with pytest.raises(ValueError, match="needs the current parameters"):
            opt.update(np.ones(2), opt.init(np.ones(2)))


def test_noisy_sgd_needs_a_key():
    with pytest.raises(ValueError, match="pass key=funcgrad.random.PRNGKey"):
        optim.noisy_sgd(0.1)
    with pytest.raises(TypeError, match="uint32 array of shape"):
        optim.noisy_sgd(0.1, key=np.zeros(3))


def test_training_step_with_grad_and_jit():
    # a full jitted step: loss -> grad -> lamb update -> apply, converging on a quadratic
    target = {"w": np.array([1.0, -2.0]), "b": np.array([0.5])}

    def loss(p):
        return sum(fnp.sum((p[k] - target[k]) ** 2) for k in p)

    opt = optim.chain(optim.clip_by_global_norm(10.0), optim.adam(learning_rate=0.1))

    @fg.jit
    def step(p, s):
        g = fg.grad(loss)(p)
        u, s = opt.update(g, s, p)
        return optim.apply_updates(p, u), s

    p = tree_map(np.zeros_like, target)
    s = opt.init(p)
    for _ in range(300):
        p, s = step(p, s)
    assert float(loss(p)) < 1e-6


def test_updates_differentiate_with_respect_to_hyperparameters():
    # meta-gradients: the update rules are ordinary traced arithmetic in the hyperparameters
    g, p = np.array([2.0, -0.5, 0.1]), np.array([0.5, 1.0, -2.0])

    def two_steps(lr, b1):
        opt = optim.inject_hyperparams(optim.adam)(learning_rate=lr, b1=b1)
        s = opt.init(p)
        u, s = opt.update(g, s, p)
        u, s = opt.update(g * 0.5 + 0.3, s, p)
        return fnp.sum(u * np.array([1.0, 2.0, 3.0]))

    from funcgrad.test_util import check_grads

    check_grads(two_steps, (0.1, 0.8), order=1)
    # d/dlr of -lr * direction is -direction
    d_lr = fg.grad(lambda lr: fnp.sum(optim.sgd(lr).update(g, optim.sgd(lr).init(p))[0]))(0.3)
    assert float(d_lr) == pytest.approx(-np.sum(g), rel=1e-14)


def test_injected_noisy_sgd_under_jit_matches_noisy_sgd():
    plain = optim.noisy_sgd(0.1, key=3)
    injected = optim.inject_hyperparams(optim.noisy_sgd)(learning_rate=0.1, key=3)
    want, _ = plain.update(np.ones(2), plain.init(np.zeros(2)))
    got, _ = fg.jit(injected.update)(np.ones(2), injected.init(np.zeros(2)))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert not np.allclose(want, -0.1)  # the noise is there
