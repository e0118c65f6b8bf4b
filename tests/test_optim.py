"""Tests for funcgrad.optim: every expected value is worked out from the published formulas."""

from __future__ import annotations

import copy
import doctest
import importlib
import math
import sys
import types
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ROOT = Path(__file__).resolve().parents[1]


def _import_funcgrad(root: str, *names: str) -> list[Any]:
    """Import funcgrad submodules, even while funcgrad/__init__.py is being rewritten.

    If the package __init__ fails to import, a bare package object is put in its place so that
    only the requested submodules (and tree_util) get loaded.
    """
    try:
        importlib.import_module("funcgrad")
    except Exception:
        for key in [k for k in sys.modules if k == "funcgrad" or k.startswith("funcgrad.")]:
            del sys.modules[key]
        pkg = types.ModuleType("funcgrad")
        pkg.__path__ = [root + "/funcgrad"]
        sys.modules["funcgrad"] = pkg
    return [importlib.import_module("funcgrad." + n) for n in names]


optim, tree_util = _import_funcgrad(str(ROOT), "optim", "tree_util")

EPS = 1e-8


def close(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)


class Pair(NamedTuple):
    first: Any
    second: Any


# ---------------------------------------------------------------------------------------------
# sgd_update


def test_sgd_update_values():
    params = {"w": np.array([1.0, -2.0]), "b": np.array(0.5)}
    grads = {"w": np.array([0.5, 0.25]), "b": np.array(-1.0)}
    out = optim.sgd_update(params, grads, 0.1)
    close(out["w"], [1.0 - 0.1 * 0.5, -2.0 - 0.1 * 0.25])
    close(out["b"], 0.5 - 0.1 * -1.0)
    assert sorted(out) == ["b", "w"]


def test_sgd_update_keeps_float32_even_with_float64_lr():
    p = [np.array([1.0, 2.0], np.float32)]
    g = [np.array([1.0, 1.0], np.float32)]
    for lr in (0.5, np.float64(0.5), np.array(0.5)):
        out = optim.sgd_update(p, g, lr)
        assert out[0].dtype == np.float32
        np.testing.assert_array_equal(out[0], np.array([0.5, 1.5], np.float32))


def test_sgd_update_does_not_mutate():
    p = {"w": np.array([1.0, 2.0])}
    g = {"w": np.array([3.0, 4.0])}
    p0, g0 = copy.deepcopy(p), copy.deepcopy(g)
    optim.sgd_update(p, g, 0.1)
    np.testing.assert_array_equal(p["w"], p0["w"])
    np.testing.assert_array_equal(g["w"], g0["w"])


def test_sgd_update_errors():
    p = {"w": np.zeros(2), "b": np.zeros(())}
    with pytest.raises(ValueError, match=r"different tree structures.*dict keys \['b', 'w'\]"):
        optim.sgd_update(p, {"w": np.zeros(2), "c": np.zeros(())}, 0.1)
    with pytest.raises(ValueError, match=r"different tree structures.*\['w'\]"):
        optim.sgd_update(p, {"w": [np.zeros(2)], "b": np.zeros(())}, 0.1)
    with pytest.raises(ValueError, match=r"shape mismatch at \['w'\].*\(2,\).*\(3,\)"):
        optim.sgd_update(p, {"w": np.zeros(3), "b": np.zeros(())}, 0.1)
    with pytest.raises(ValueError, match="finite"):
        optim.sgd_update(p, p, float("nan"))
    with pytest.raises(ValueError, match="finite"):
        optim.sgd_update(p, p, np.array(np.inf))
    with pytest.raises(TypeError, match="lr must be a float"):
        optim.sgd_update(p, p, "0.1")
    with pytest.raises(TypeError, match="schedule"):
        optim.sgd_update(p, p, optim.constant_schedule(0.1))
    with pytest.raises(ValueError, match="scalar"):
        optim.sgd_update(p, p, np.array([0.1, 0.2]))
    with pytest.raises(TypeError, match=r"params leaf at \['w'\] has dtype int64.*floating"):
        optim.sgd_update({"w": np.zeros(2, np.int64)}, {"w": np.zeros(2)}, 0.1)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
    lr=st.floats(-10, 10, allow_nan=False),
)
def test_sgd_update_random_shapes_and_dtypes(data, dtype, shape, lr):
    elems = st.floats(-1e3, 1e3, allow_nan=False, width=32)
    p = data.draw(hnp.arrays(dtype, shape, elements=elems))
    g = data.draw(hnp.arrays(dtype, shape, elements=elems))
    p0, g0 = p.copy(), g.copy()
    out = optim.sgd_update({"p": p, "t": (g,)}, {"p": g, "t": (p,)}, lr)
    assert out["p"].dtype == dtype and out["p"].shape == shape
    assert out["t"][0].dtype == dtype and out["t"][0].shape == shape
    # float64 reference, allowed error a few ulps of the operands' magnitude
    p64, g64 = p.astype(np.float64), g.astype(np.float64)
    tol = 4 * np.finfo(dtype).eps * (np.abs(p64) + np.abs(lr * g64)) + 1e-30
    assert np.all(np.abs(out["p"] - (p64 - lr * g64)) <= tol)
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(g, g0)


# ---------------------------------------------------------------------------------------------
# sgd


def test_sgd_plain_two_steps():
    opt = optim.sgd(0.1)
    state = opt.init(np.zeros(2))
    u1, state = opt.update(np.array([1.0, -2.0]), state)
    close(u1, [-0.1 * 1.0, -0.1 * -2.0])
    u2, state = opt.update(np.array([0.5, 0.5]), state)
    close(u2, [-0.1 * 0.5, -0.1 * 0.5])
    assert state.trace is None
    assert state.count.dtype == np.int32 and state.count.shape == () and state.count == 2


def test_sgd_momentum_three_steps():
    opt = optim.sgd(0.1, momentum=0.9)
    state = opt.init(np.zeros(1))
    grads = [1.0, 2.0, -1.0]
    v1 = 1.0
    v2 = 0.9 * v1 + 2.0  # 2.9
    v3 = 0.9 * v2 + -1.0  # 1.61
    expected_v = [v1, v2, v3]
    for g, v in zip(grads, expected_v):
        u, state = opt.update(np.array([g]), state)
        close(state.trace, [v])
        close(u, [-0.1 * v])
    close(u, [-0.161])


def test_sgd_nesterov_three_steps():
    opt = optim.sgd(0.1, momentum=0.9, nesterov=True)
    state = opt.init(np.zeros(1))
    # v <- 0.9 v + g ; update = -lr (g + 0.9 v)
    expected = [
        -0.1 * (1.0 + 0.9 * 1.0),  # v=1
        -0.1 * (2.0 + 0.9 * 2.9),  # v=2.9
        -0.1 * (-1.0 + 0.9 * 1.61),  # v=1.61
    ]
    for g, e in zip([1.0, 2.0, -1.0], expected):
        u, state = opt.update(np.array([g]), state)
        close(u, [e])
    close(state.trace, [1.61])


def test_sgd_momentum_zero_equals_plain_and_nesterov_flag_irrelevant():
    g = np.array([1.5, -0.5])
    a, _ = optim.sgd(0.2).update(g, optim.sgd(0.2).init(g))
    zero = optim.sgd(0.2, momentum=0.0, nesterov=True)
    b, _ = zero.update(g, zero.init(g))  # momentum=0.0 keeps a (zero-decay) buffer, as optax
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# adam / adamw


def _adam_by_hand(lr, b1, b2, eps, grads):
    """Kingma & Ba Algorithm 1 written out step by step, for float64 1-d gradients."""
    m = np.zeros_like(grads[0])
    v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        out.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return out


def test_adam_two_steps_with_bias_correction():
    opt = optim.adam(0.1)
    state = opt.init(np.zeros(2))
    g1, g2 = np.array([1.0, -3.0]), np.array([0.5, 1.0])
    u1, state = opt.update(g1, state)
    # step 1: m = 0.1 g1, v = 0.001 g1^2; bias correction restores g1 and g1^2 exactly
    close(u1, [-0.1 * 1.0 / (1.0 + EPS), -0.1 * -3.0 / (3.0 + EPS)])
    close(state.mu, [0.1, -0.3])
    close(state.nu, [0.001, 0.009])
    u2, state = opt.update(g2, state)
    m = np.array([0.9 * 0.1 + 0.1 * 0.5, 0.9 * -0.3 + 0.1 * 1.0])  # [0.14, -0.17]
    v = np.array([0.999 * 0.001 + 0.001 * 0.25, 0.999 * 0.009 + 0.001 * 1.0])
    m_hat = m / (1 - 0.9**2)  # / 0.19
    v_hat = v / (1 - 0.999**2)  # / 0.001999
    close(state.mu, m)
    close(state.nu, v)
    close(u2, -0.1 * m_hat / (np.sqrt(v_hat) + EPS))
    assert state.count == 2 and state.count.dtype == np.int32
    # cross-check against the written-out algorithm with non-default hyperparameters
    opt = optim.adam(0.03, b1=0.5, b2=0.75, eps=1e-3)
    state = opt.init(np.zeros(2))
    gs = [g1, g2, np.array([-2.0, 0.25])]
    for g, e in zip(gs, _adam_by_hand(0.03, 0.5, 0.75, 1e-3, gs)):
        u, state = opt.update(g, state)
        close(u, e)


def test_adamw_is_adam_plus_decoupled_decay():
    lr, wd = 0.1, 0.01
    adam, adamw = optim.adam(lr), optim.adamw(lr, weight_decay=wd)
    p = np.array([2.0, -1.0])
    sa, sw = adam.init(p), adamw.init(p)
    g1 = np.array([1.0, -3.0])
    uw, sw = adamw.update(g1, sw, p)
    # by hand: -lr * (g/|g| (+eps) + wd * p)
    close(uw, [-lr * (1.0 / (1.0 + EPS) + wd * 2.0), -lr * (-3.0 / (3.0 + EPS) + wd * -1.0)])
    ua, sa = adam.update(g1, sa)
    close(uw, ua - lr * wd * p)
    p = optim.apply_updates(p, uw)
    g2 = np.array([0.5, 1.0])
    uw, sw = adamw.update(g2, sw, p)
    ua, sa = adam.update(g2, sa)
    close(uw, ua - lr * wd * p)  # the decay uses the current params, not the moments
    close(sw.mu, sa.mu)
    close(sw.nu, sa.nu)


def test_adamw_requires_params():
    opt = optim.adamw(0.1)
    state = opt.init(np.zeros(2))
    with pytest.raises(ValueError, match="pass params"):
        opt.update(np.ones(2), state)
    with pytest.raises(ValueError, match=r"grads and params .*shape|shape mismatch"):
        opt.update(np.ones(2), state, np.ones(3))


# ---------------------------------------------------------------------------------------------
# rmsprop, clipping, chain


def test_rmsprop_two_steps():
    opt = optim.rmsprop(0.01, decay=0.9, eps=EPS)
    state = opt.init(np.zeros(1))
    u1, state = opt.update(np.array([2.0]), state)
    v1 = 0.1 * 2.0**2  # 0.4
    close(state.nu, [v1])
    close(u1, [-0.01 * 2.0 / math.sqrt(v1 + EPS)])  # optax: eps inside the square root
    u2, state = opt.update(np.array([-1.0]), state)
    v2 = 0.9 * v1 + 0.1 * (-1.0) ** 2  # 0.46
    close(state.nu, [v2])
    close(u2, [-0.01 * -1.0 / math.sqrt(v2 + EPS)])


def test_clip_by_global_norm_above_and_below():
    g = {"a": np.array([3.0]), "b": np.array([[4.0]])}  # global norm 5
    clip = optim.clip_by_global_norm(1.0)
    out, state = clip.update(g, clip.init(g))
    close(out["a"], [3.0 / 5.0 * 1.0])
    close(out["b"], [[4.0 / 5.0 * 1.0]])
    assert out["b"].shape == (1, 1)
    assert state == optim.EmptyState()
    clip = optim.clip_by_global_norm(10.0)
    out, _ = clip.update(g, clip.init(g))
    np.testing.assert_array_equal(out["a"], g["a"])  # untouched, bit for bit
    np.testing.assert_array_equal(out["b"], g["b"])
    clip = optim.clip_by_global_norm(2.5)
    out, _ = clip.update(g, clip.init(g))
    close(optim.global_norm(out), 2.5)


def test_clip_zero_gradient_gives_no_warning_or_nan():
    clip = optim.clip_by_global_norm(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, _ = clip.update([np.zeros(3)], clip.init(None))
    np.testing.assert_array_equal(out[0], np.zeros(3))


def test_chain_clip_then_adam():
    opt = optim.chain(optim.clip_by_global_norm(1.0), optim.adam(0.1))
    state = opt.init(np.zeros(2))
    assert isinstance(state, tuple) and len(state) == 2
    u1, state = opt.update(np.array([3.0, 4.0]), state)  # norm 5 -> clipped to [0.6, 0.8]
    c1 = np.array([0.6, 0.8])
    close(u1, -0.1 * c1 / (c1 + EPS))
    u2, state = opt.update(np.array([0.3, 0.4]), state)  # norm 0.5 < 1: unclipped
    g2 = np.array([0.3, 0.4])
    m = 0.9 * (0.1 * c1) + 0.1 * g2
    v = 0.999 * (0.001 * c1**2) + 0.001 * g2**2
    close(u2, -0.1 * (m / 0.19) / (np.sqrt(v / (1 - 0.999**2)) + EPS))
    assert state[1].count == 2


# ---------------------------------------------------------------------------------------------
# schedules


def test_constant_schedule():
    s = optim.constant_schedule(0.3)
    assert s(0) == 0.3 and s(10_000) == 0.3


def test_exponential_decay_closed_form():
    s = optim.exponential_decay(2.0, transition_steps=10, decay_rate=0.5)
    close(s(0), 2.0)
    close(s(5), 2.0 * 0.5**0.5)
    close(s(20), 2.0 * 0.5**2)
    close(s(np.array(20, np.int32)), 0.5)
    st_ = optim.exponential_decay(2.0, 10, 0.5, staircase=True)
    close(st_(9), 2.0)
    close(st_(15), 1.0)
    close(st_(29), 0.5)
    floor = optim.exponential_decay(2.0, 10, 0.5, end_value=0.6)
    close(floor(30), 0.6)  # 0.25 floored at end_value
    close(floor(5), 2.0 * 0.5**0.5)
    ceil = optim.exponential_decay(1.0, 1, 2.0, end_value=5.0)
    close(ceil(2), 4.0)
    close(ceil(10), 5.0)  # growth capped at end_value


def test_cosine_decay_closed_form():
    s = optim.cosine_decay_schedule(1.0, decay_steps=100, alpha=0.1)
    close(s(0), 1.0)
    close(s(25), 0.9 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.1)
    close(s(50), 0.9 * 0.5 + 0.1)
    close(s(100), 0.1)
    close(s(1000), 0.1)
    close(optim.cosine_decay_schedule(3.0, 10)(5), 3.0 * 0.5)


def test_warmup_cosine_decay_closed_form():
    s = optim.warmup_cosine_decay_schedule(0.1, 1.0, warmup_steps=10, decay_steps=110)
    close(s(0), 0.1)
    close(s(5), 0.1 + (1.0 - 0.1) * 5 / 10)
    close(s(10), 1.0)
    close(s(35), 0.5 * (1 + math.cos(math.pi * 25 / 100)))
    close(s(60), 0.5)
    close(s(110), 0.0)
    s = optim.warmup_cosine_decay_schedule(
        0.0, 2.0, warmup_steps=10, decay_steps=110, end_value=0.4
    )
    close(s(60), 2.0 * ((1 - 0.2) * 0.5 + 0.2))
    close(s(500), 0.4)
    s = optim.warmup_cosine_decay_schedule(0.0, 2.0, warmup_steps=0, decay_steps=100)
    close(s(0), 2.0)
    close(s(np.array(50, np.int32)), 1.0)


def test_schedule_is_evaluated_at_count_before_increment():
    seen = []

    def sched(count):
        seen.append(int(count))
        return 0.5**count

    for opt in (optim.sgd(sched), optim.adam(sched), optim.rmsprop(sched)):
        seen.clear()
        state = opt.init(np.zeros(1))
        for _ in range(3):
            _, state = opt.update(np.ones(1), state)
        assert seen == [0, 1, 2]
    opt = optim.sgd(optim.exponential_decay(1.0, transition_steps=1, decay_rate=0.5))
    state = opt.init(np.zeros(1))
    for expected in (-1.0, -0.5, -0.25):
        u, state = opt.update(np.ones(1), state)
        close(u, [expected])


def test_count_saturates_instead_of_wrapping():
    opt = optim.sgd(0.1)
    state = optim.SgdState(count=np.array(np.iinfo(np.int32).max, np.int32), trace=None)
    _, state = opt.update(np.ones(1), state)
    assert state.count == np.iinfo(np.int32).max and state.count.dtype == np.int32


# ---------------------------------------------------------------------------------------------
# dtype, purity, pytrees (all optimizers)

OPTIMIZERS = {
    "sgd": lambda lr: optim.sgd(lr),
    "momentum": lambda lr: optim.sgd(lr, momentum=0.9),
    "nesterov": lambda lr: optim.sgd(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: optim.adam(lr),
    "adamw": lambda lr: optim.adamw(lr, weight_decay=0.1),
    "rmsprop": lambda lr: optim.rmsprop(lr),
    "clip": lambda lr: optim.clip_by_global_norm(0.5),
    "chain": lambda lr: optim.chain(optim.clip_by_global_norm(0.5), optim.adam(lr)),
}
LRS = {"float": 0.05, "schedule": optim.warmup_cosine_decay_schedule(0.0, 0.1, 2, 10)}


def _tree(dtype):
    return {
        "layers": [
            (np.linspace(-1, 1, 6, dtype=dtype).reshape(2, 3), np.array([0.5, -0.25], dtype)),
            (np.full((3,), 2.0, dtype), np.array(1.5, dtype)),
        ],
        "head": Pair(np.array([[0.1]], dtype), (np.array([3.0, -4.0], dtype),)),
    }


def _run(opt, params, grads, steps=3):
    state = opt.init(params)
    for _ in range(steps):
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    return updates, state, params


@pytest.mark.parametrize("lr", LRS.values(), ids=LRS.keys())
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_is_preserved(name, lr):
    params = _tree(np.float32)
    grads = tree_util.tree_map(lambda x: x * np.float32(0.3), params)
    updates, state, new_params = _run(OPTIMIZERS[name](lr), params, grads)
    for leaf in tree_util.tree_leaves((updates, new_params)):
        assert leaf.dtype == np.float32
    for path, leaf in zip(tree_util.tree_paths(state), tree_util.tree_leaves(state)):
        if path.endswith(".count"):
            assert leaf.dtype == np.int32 and np.shape(leaf) == ()
        else:
            assert leaf.dtype == np.float32, path


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_inputs_are_not_mutated(name):
    opt = OPTIMIZERS[name](LRS["schedule"])
    params = _tree(np.float64)
    grads = tree_util.tree_map(lambda x: x + 1.0, params)
    state = opt.init(params)
    _, state = opt.update(grads, state, params)  # non-trivial moments
    before = copy.deepcopy((params, grads, state))
    opt.update(grads, state, params)
    optim.apply_updates(params, grads)
    for a, b in zip(tree_util.tree_leaves(before), tree_util.tree_leaves((params, grads, state))):
        np.testing.assert_array_equal(a, b)


def test_nested_pytrees_keep_structure_and_values():
    params = _tree(np.float64)
    grads = tree_util.tree_map(lambda x: 2.0 * x + 1.0, params)
    opt = optim.sgd(0.1)
    updates, _ = opt.update(grads, opt.init(params))
    assert tree_util.tree_structure(updates) == tree_util.tree_structure(params)
    assert isinstance(updates["head"], Pair)
    for u, g in zip(tree_util.tree_leaves(updates), tree_util.tree_leaves(grads)):
        close(u, -0.1 * g)
    state = optim.adam(0.1).init(params)
    assert tree_util.tree_structure(state.mu) == tree_util.tree_structure(params)
    new = optim.sgd_update(params, grads, 0.1)
    assert isinstance(new["head"], Pair) and isinstance(new["layers"][0], tuple)
    close(new["head"].second[0], params["head"].second[0] - 0.1 * grads["head"].second[0])


# ---------------------------------------------------------------------------------------------
# tracing: updates must touch leaves only through operators / numpy functions / astype


class Strict(np.lib.mixins.NDArrayOperatorsMixin):
    """A stand-in for a funcgrad tracer: numpy protocols work, concretization raises."""

    def __init__(self, value: Any) -> None:
        self.value = value

    shape = property(lambda self: np.shape(self.value))
    dtype = property(lambda self: np.result_type(self.value))

    def astype(self, dtype: Any) -> Strict:
        return Strict(self.value.astype(dtype))

    @staticmethod
    def _unwrap(x: Any) -> Any:
        if isinstance(x, Strict):
            return x.value
        if isinstance(x, (list, tuple)):
            return type(x)(Strict._unwrap(i) for i in x)
        return x

    @staticmethod
    def _wrap(x: Any) -> Any:
        return Strict(x) if isinstance(x, (np.ndarray, np.generic)) else x

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = self._unwrap(inputs)
        kwargs = {k: self._unwrap(v) for k, v in kwargs.items()}
        return self._wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        args = self._unwrap(args)
        kwargs = {k: self._unwrap(v) for k, v in kwargs.items()}
        return self._wrap(func(*args, **kwargs))

    def _concrete(self, *args: Any) -> Any:
        raise AssertionError("optimizer concretized a traced value")

    __array__ = __bool__ = __float__ = __int__ = __index__ = __len__ = __iter__ = _concrete


@pytest.mark.parametrize("lr", LRS.values(), ids=LRS.keys())
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_only_uses_traceable_operations(name, lr):
    opt = OPTIMIZERS[name](lr)
    params = _tree(np.float32)
    grads = tree_util.tree_map(lambda x: np.float32(0.7) * x - np.float32(0.1), params)
    state = opt.init(params)
    wrap = lambda t: tree_util.tree_map(Strict, t)  # noqa: E731
    unwrap = lambda t: tree_util.tree_map(lambda x: x.value, t)  # noqa: E731
    s_plain, s_traced = state, wrap(state)
    for _ in range(2):
        u_plain, s_plain = opt.update(grads, s_plain, params)
        u_traced, s_traced = opt.update(wrap(grads), s_traced, wrap(params))
        assert all(isinstance(x, Strict) for x in tree_util.tree_leaves((u_traced, s_traced)))
        for a, b in zip(tree_util.tree_leaves(u_plain), tree_util.tree_leaves(unwrap(u_traced))):
            np.testing.assert_array_equal(a, b)
    p_traced = optim.apply_updates(wrap(params), u_traced)
    assert all(isinstance(x, Strict) for x in tree_util.tree_leaves(p_traced))
    assert isinstance(
        optim.sgd_update(wrap(params), wrap(grads), Strict(np.float32(0.1)))["head"].first, Strict
    )


# ---------------------------------------------------------------------------------------------
# validation messages


def test_hyperparameter_validation():
    with pytest.raises(TypeError, match="learning rate must be a float or a schedule"):
        optim.adam("0.1")
    with pytest.raises(TypeError, match="learning rate must be a float or a schedule"):
        optim.sgd(True)
    with pytest.raises(ValueError, match="learning rate must be finite"):
        optim.sgd(float("inf"))
    with pytest.raises(ValueError, match="learning rate must be finite"):
        optim.rmsprop(float("nan"))
    with pytest.raises(ValueError, match=r"momentum must be >= 0, got -0\.1"):
        optim.sgd(0.1, momentum=-0.1)
    with pytest.raises(ValueError, match=r"b1 must be in \[0, 1\), got 1\.0"):
        optim.adam(0.1, b1=1.0)
    with pytest.raises(ValueError, match=r"b2 must be in \[0, 1\), got -0\.5"):
        optim.adamw(0.1, b2=-0.5)
    with pytest.raises(ValueError, match=r"eps must be > 0, got 0"):
        optim.adam(0.1, eps=0)
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\)"):
        optim.rmsprop(0.1, decay=1.0)
    with pytest.raises(ValueError, match=r"max_norm must be > 0, got -1"):
        optim.clip_by_global_norm(-1)
    with pytest.raises(ValueError, match=r"max_norm must be > 0, got 0"):
        optim.clip_by_global_norm(0.0)
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0"):
        optim.adamw(0.1, weight_decay=-1e-4)
    with pytest.raises(TypeError, match="nesterov must be a bool"):
        optim.sgd(0.1, 0.9, "yes")
    with pytest.raises(TypeError, match="argument 1 must be a GradientTransformation"):
        optim.chain(optim.sgd(0.1), "adam")


def test_schedule_validation():
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        optim.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match="transition_steps must be > 0"):
        optim.exponential_decay(1.0, 0, 0.5)
    with pytest.raises(ValueError, match="decay_rate must be > 0"):
        optim.exponential_decay(1.0, 10, 0.0)
    with pytest.raises(ValueError, match="decay_steps .* must be > warmup_steps"):
        optim.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=10)
    with pytest.raises(ValueError, match="warmup_steps must be >= 0"):
        optim.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=-1, decay_steps=10)


def test_update_structure_errors_name_the_path():
    params = {"w": np.zeros(2), "b": np.zeros(())}
    for opt in (optim.adam(0.1), optim.sgd(0.1, momentum=0.5), optim.rmsprop(0.1)):
        state = opt.init(params)
        with pytest.raises(ValueError, match=r"different tree structures.*\['c'\]|'c'"):
            opt.update({"w": np.zeros(2), "c": np.zeros(())}, state)
        with pytest.raises(ValueError, match=r"shape mismatch at \['w'\].*\(3,\).*\(2,\)"):
            opt.update({"w": np.zeros(3), "b": np.zeros(())}, state)
    with pytest.raises(TypeError, match="expected the AdamState"):
        optim.adam(0.1).update(params, optim.sgd(0.1).init(params))
    chained = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1))
    with pytest.raises(ValueError, match="state has 1 entries but the chain has 2"):
        chained.update(params, (optim.EmptyState(),))
    with pytest.raises(TypeError, match=r"floating-point.*\['w'\]|\['w'\].*floating-point"):
        optim.adam(0.1).init({"w": np.zeros(2, np.int32)})
    with pytest.raises(ValueError, match=r"params and updates have different tree structures"):
        optim.apply_updates(params, [np.zeros(2)])


def test_docstring_examples():
    # the module docstring is on funcgrad.optim; the functions' docstrings where they are defined
    flags = doctest.NORMALIZE_WHITESPACE
    mods = (optim, sys.modules[optim.sgd.__module__])
    results = [doctest.testmod(m, optionflags=flags) for m in mods]
    assert sum(r.attempted for r in results) > 10 and all(r.failed == 0 for r in results)
