"""optax's names in ``funcgrad.optim`` (issue 15, item 9, in part): ``learning_rate=``, more
transformations and the ``*_schedule`` functions, run for five steps on a pytree and compared
with the same runs recorded from optax (tests/data/compat_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import optim

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())["optax"]
P0 = {"w": np.array([0.5, -1.0, 2.0]), "b": np.array([[0.1, 0.0]])}


def grads_at(i):
    return {
        "w": np.array([0.3, -0.2, 0.1]) * (i + 1) - 0.05 * i * i,
        "b": np.array([[-0.4 + 0.1 * i, 0.0 if i % 2 else 0.2]]),
    }


TX = {
    "scale": lambda: optim.scale(-0.3),
    "scale_by_adam": lambda: optim.scale_by_adam(eps_root=1e-6),
    "scale_by_schedule": lambda: optim.scale_by_schedule(optim.linear_schedule(1.0, 0.1, 3)),
    "add_decayed_weights": lambda: optim.add_decayed_weights(0.1),
    "clip": lambda: optim.clip(0.25),
    "set_to_zero": lambda: optim.set_to_zero(),
    "adagrad": lambda: optim.adagrad(0.1),
    "adamax": lambda: optim.adamax(0.05),
    "adam_kw": lambda: optim.adam(learning_rate=0.05),
    "sgd_kw": lambda: optim.sgd(learning_rate=0.1, momentum=0.9, nesterov=True),
    "chain": lambda: optim.chain(optim.clip(0.3), optim.adamax(0.02)),
    "lion": lambda: optim.lion(0.05, weight_decay=0.01),
    "ema": lambda: optim.ema(0.8),
    "masked": lambda: optim.masked(optim.adam(0.1), {"w": True, "b": False}),
    "multi_transform": lambda: optim.multi_transform(
        {"fast": optim.adam(0.1), "slow": optim.sgd(0.01)}, {"w": "fast", "b": "slow"}
    ),
}


def run(tx, step):
    params, state = P0, tx.init(P0)
    for i in range(5):
        params, state = step(params, state, grads_at(i))
    return params


@pytest.mark.parametrize("name", sorted(TX))
def test_transformation_matches_optax(name):
    tx = TX[name]()

    def step(params, state, g):
        updates, state = tx.update(g, state, params)
        return optim.apply_updates(params, updates), state

    # A schedule evaluated on optax's int32 step count is float32 in JAX (its promotion rules)
    # and float64 here (numpy's): agreement to float32 precision for that case.
    rtol = 1e-7 if name == "scale_by_schedule" else 1e-10
    for stepper in (step, fg.jit(step)):
        params = run(tx, stepper)
        for k, want in REF["transforms"][name].items():
            np.testing.assert_allclose(params[k], want, rtol=rtol, atol=1e-13, err_msg=k)


def test_schedules_match_optax():
    steps = range(0, 30, 3)
    sched = {
        "linear": optim.linear_schedule(0.1, 0.01, 10, transition_begin=3),
        "cosine": optim.cosine_decay_schedule(0.1, 20, alpha=0.1, exponent=2.0),
        "warmup_cosine": optim.warmup_cosine_decay_schedule(0.0, 0.2, 5, 25, end_value=0.02),
        "piecewise": optim.piecewise_constant_schedule(0.1, {6: 0.5, 15: 0.1}),
        "join": optim.join_schedules(
            [optim.constant_schedule(0.3), optim.linear_schedule(0.3, 0.0, 10)], [9]
        ),
    }
    for name, f in sched.items():
        np.testing.assert_allclose([f(i) for i in steps], REF["schedules"][name], err_msg=name)
        np.testing.assert_allclose(
            [fg.jit(f)(np.int32(i)) for i in steps], REF["schedules"][name], err_msg=name
        )


def test_zero_nans_matches_optax():
    zn = optim.zero_nans()
    u, st = zn.update({"a": np.array([1.0, np.nan])}, zn.init({"a": np.zeros(2)}))
    assert u["a"].tolist() == REF["zero_nans"][0] and bool(st.found_nan["a"]) is REF["zero_nans"][1]


def test_learning_rate_keyword():
    g = {"w": np.array([1.0])}
    a = optim.adam(learning_rate=0.1).update(g, optim.adam(0.1).init(g))[0]
    b = optim.adam(0.1).update(g, optim.adam(0.1).init(g))[0]
    assert a["w"].tolist() == b["w"].tolist()
    with pytest.raises(TypeError):  # optax's keyword only (CHANGELOG.md: `lr=` was renamed)
        optim.adam(lr=0.1)


def test_apply_if_finite_matches_optax():
    tx = optim.apply_if_finite(optim.adam(0.1), 1)
    p = {"a": np.array([1.0, 2.0])}
    state = tx.init(p)
    steps = ([0.5, 0.5], [np.nan, 1.0], [np.inf, 1.0], [0.3, -0.3], [np.nan, 0.0])
    for g, (want_p, count, last, total) in zip(steps, REF["apply_if_finite"]):
        with np.errstate(invalid="ignore"):
            u, state = tx.update({"a": np.array(g)}, state, p)
            p = optim.apply_updates(p, u)
        np.testing.assert_allclose(p["a"], want_p, rtol=1e-12)
        assert (int(state.notfinite_count), bool(state.last_finite)) == (count, last)
        assert int(state.total_notfinite) == total


def test_masked_and_multi_transform_errors():
    with pytest.raises(ValueError, match="one bool per"):
        optim.masked(optim.adam(0.1), {"w": True}).init(P0)
    with pytest.raises(ValueError, match="have no transformation"):
        optim.multi_transform({"fast": optim.adam(0.1)}, {"w": "fast", "b": "slow"}).init(P0)
    labels = lambda params: {"w": "fast", "b": "fast"}  # noqa: E731
    tx = optim.multi_transform({"fast": optim.adam(0.1)}, labels)
    u, _ = tx.update(grads_at(0), tx.init(P0), P0)
    u2, _ = optim.adam(0.1).update(grads_at(0), optim.adam(0.1).init(P0))
    np.testing.assert_allclose(u["w"], u2["w"])
