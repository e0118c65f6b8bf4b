"""Tests for user-defined derivative rules (``custom_vjp``, ``custom_jvp``) and
rematerialization (``checkpoint``), alone and under every other transform."""

from __future__ import annotations

import functools
import tracemalloc
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.tree_util import tree_leaves

X = np.array([-2.0, -0.5, 0.3, 1.5, 3.0])


def fd_grad(f: Any, x: float, eps: float = 1e-6) -> float:
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# --- custom_vjp ---------------------------------------------------------------------------
@fg.custom_vjp
def clip_gradient(lo: Any, hi: Any, x: Any) -> Any:
    return x  # identity forward


def _clip_fwd(lo: Any, hi: Any, x: Any) -> Any:
    return x, (lo, hi)


def _clip_bwd(res: Any, g: Any) -> Any:
    lo, hi = res
    return (None, None, fnp.clip(g, lo, hi))


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def clip_loss(x: Any) -> Any:
    return np.sum(5.0 * clip_gradient(-1.0, 1.0, x) + 0.1 * x)


def test_custom_vjp_clip_gradient() -> None:
    np.testing.assert_array_equal(clip_gradient(-1.0, 1.0, X), X)  # forward is the function
    np.testing.assert_allclose(fg.grad(clip_loss)(X), np.full(5, 1.1))
    # Scalar use, small cotangent passes through unclipped.
    np.testing.assert_allclose(fg.grad(lambda s: 0.5 * clip_gradient(-1.0, 1.0, s))(2.0), 0.5)
    out, vjp_fn = fg.vjp(lambda x: clip_gradient(-1.0, 1.0, x), X)
    np.testing.assert_array_equal(out, X)
    # bwd's None cotangents are zeros.
    assert fg.grad(lambda lo: np.sum(clip_gradient(lo, 1.0, X)))(-1.0) == 0.0
    np.testing.assert_allclose(
        vjp_fn(np.array([-3.0, -0.5, 0.0, 0.5, 3.0]))[0], [-1.0, -0.5, 0.0, 0.5, 1.0]
    )


def test_custom_vjp_rule_replaces_true_derivative() -> None:
    calls = {"fwd": 0, "bwd": 0}

    @fg.custom_vjp
    def f(x: Any) -> Any:
        return np.sin(x)

    def fwd(x: Any) -> Any:
        calls["fwd"] += 1
        return np.sin(x), np.cos(x)

    def bwd(cos_x: Any, g: Any) -> Any:
        calls["bwd"] += 1
        return (2.0 * cos_x * g,)  # deliberately twice the true derivative

    f.defvjp(fwd, bwd)
    np.testing.assert_allclose(f(X), np.sin(X))
    np.testing.assert_allclose(fg.grad(lambda x: np.sum(f(x)))(X), 2.0 * np.cos(X))
    assert calls["bwd"] >= 1 and calls["fwd"] >= 1


def test_custom_vjp_pytree_args_and_outputs() -> None:
    @fg.custom_vjp
    def f(d: Any, pair: Any) -> Any:
        return {"prod": d["a"] * d["b"], "sum": pair[0] + pair[1]}

    def fwd(d: Any, pair: Any) -> Any:
        return f(d, pair), d

    def bwd(d: Any, g: Any) -> Any:
        return (
            {"a": g["prod"] * d["b"], "b": g["prod"] * d["a"]},
            (g["sum"], 3.0 * g["sum"]),  # deliberately not the true 1.0
        )

    f.defvjp(fwd, bwd)
    d = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    pair = (np.ones(2), np.zeros(2))

    def loss(d: Any, pair: Any) -> Any:
        out = f(d, pair)
        return np.sum(out["prod"]) + 2.0 * np.sum(out["sum"])

    gd, gp = fg.grad(loss, argnums=(0, 1))(d, pair)
    np.testing.assert_allclose(gd["a"], d["b"])
    np.testing.assert_allclose(gd["b"], d["a"])
    np.testing.assert_allclose(gp[0], 2.0)
    np.testing.assert_allclose(gp[1], 6.0)
    assert isinstance(gp, tuple) and set(gd) == {"a", "b"}


def test_custom_vjp_under_vmap() -> None:
    per_example = fg.vmap(fg.grad(lambda s: 5.0 * clip_gradient(-1.0, 1.0, s)))(X)
    np.testing.assert_allclose(per_example, np.ones(5))
    np.testing.assert_array_equal(fg.vmap(lambda s: clip_gradient(-1.0, 1.0, s))(X), X)
    rows = np.stack([X, 2 * X])
    got = fg.vmap(fg.grad(lambda r: np.sum(0.5 * clip_gradient(-1.0, 1.0, r) ** 2)))(rows)
    np.testing.assert_allclose(got, np.clip(rows, -1.0, 1.0))


def test_custom_vjp_under_jit() -> None:
    np.testing.assert_allclose(fg.jit(fg.grad(clip_loss))(X), np.full(5, 1.1))
    np.testing.assert_allclose(fg.grad(fg.jit(clip_loss))(X), np.full(5, 1.1))
    np.testing.assert_array_equal(fg.jit(lambda x: clip_gradient(-1.0, 1.0, x))(X), X)


def test_custom_vjp_grad_of_grad() -> None:
    @fg.custom_vjp
    def cube(x: Any) -> Any:
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, g: (3.0 * x**2 * g,))
    np.testing.assert_allclose(fg.grad(cube)(2.0), 12.0)
    np.testing.assert_allclose(fg.grad(fg.grad(cube))(2.0), 12.0)  # d/dx 3x^2 = 6x
    np.testing.assert_allclose(fg.jacrev(fg.jacrev(cube))(np.array([2.0])), [[[12.0]]])


def test_custom_vjp_forward_mode_raises() -> None:
    f = lambda x: clip_gradient(-1.0, 1.0, x)
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.jvp(f, (X,), (np.ones(5),))
    with pytest.raises(TypeError, match="custom_jvp|jacrev"):
        fg.jacfwd(f)(X)
    with pytest.raises(TypeError):
        fg.hessian(lambda x: np.sum(f(x) ** 2))(X)


def test_custom_vjp_closure_over_differentiated_value_raises() -> None:
    def outer(y: Any) -> Any:
        @fg.custom_vjp
        def h(x: Any) -> Any:
            return x * y  # closes over the value being differentiated

        h.defvjp(lambda x: (x * y, None), lambda r, g: (g * y,))
        return h(2.0)

    with pytest.raises(TypeError, match="closes over") as ei:
        fg.grad(outer)(3.0)
    assert "argument" in str(ei.value)


def test_custom_vjp_closure_over_constant_is_fine() -> None:
    scale = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

    @fg.custom_vjp
    def h(x: Any) -> Any:
        return x * scale

    h.defvjp(lambda x: (x * scale, None), lambda r, g: (g * scale,))
    np.testing.assert_allclose(fg.grad(lambda x: np.sum(h(x)))(X), scale)
    np.testing.assert_allclose(fg.jit(fg.grad(lambda x: np.sum(h(x))))(X), scale)


def test_custom_vjp_missing_rule_and_bad_rules() -> None:
    @fg.custom_vjp
    def f(x: Any) -> Any:
        return x * 2.0

    with pytest.raises(TypeError, match="defvjp"):
        f(1.0)
    with pytest.raises(TypeError, match="defvjp"):
        fg.grad(f)(1.0)
    with pytest.raises(TypeError):
        f.defvjp(lambda x: (x, None), "not callable")

    f.defvjp(lambda x: (x * 2.0, None), lambda r, g: g * 2.0)  # not a tuple
    with pytest.raises(TypeError, match="tuple"):
        fg.grad(f)(1.0)

    g2 = fg.custom_vjp(lambda x, y: x * y)
    g2.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g * r[1],))  # one cotangent short
    with pytest.raises(TypeError, match="one cotangent per"):
        fg.grad(g2)(1.0, 2.0)


def test_custom_vjp_nondiff_argnums() -> None:
    @functools.partial(fg.custom_vjp, nondiff_argnums=(0,))
    def app(f: Any, x: Any) -> Any:
        return f(x)

    def app_fwd(f: Any, x: Any) -> Any:
        return f(x), x

    def app_bwd(f: Any, x: Any, g: Any) -> Any:  # nondiff args come first
        return (10.0 * g,)

    app.defvjp(app_fwd, app_bwd)
    np.testing.assert_allclose(app(np.sin, 1.0), np.sin(1.0))
    np.testing.assert_allclose(fg.grad(lambda x: app(np.sin, x))(1.0), 10.0)

    @functools.partial(fg.custom_vjp, nondiff_argnums=(1,))
    def scale(x: Any, n: float) -> Any:
        return x * n

    scale.defvjp(lambda x, n: (x * n, None), lambda n, res, g: (g * n,))
    np.testing.assert_allclose(fg.grad(lambda x: scale(x, 3.0))(1.0), 3.0)


# --- custom_jvp ---------------------------------------------------------------------------
@fg.custom_jvp
def log1pexp(x: Any) -> Any:
    return fnp.log(1.0 + fnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def test_custom_jvp_log1pexp_stable_gradient() -> None:
    naive = lambda x: fnp.log(1.0 + fnp.exp(x))
    with np.errstate(over="ignore", invalid="ignore"):
        # The setup really is unstable without the rule ...
        assert np.isnan(fg.grad(naive)(np.float32(100.0)))
        assert np.isnan(fg.grad(naive)(1000.0))
        # ... and stable with it.
        g32 = fg.grad(log1pexp)(np.float32(100.0))
        assert g32 == 1.0 and g32.dtype == np.float32
        assert fg.grad(log1pexp)(1000.0) == 1.0
        assert fg.grad(log1pexp)(100.0) == 1.0


def test_custom_jvp_jvp_uses_rule() -> None:
    @fg.custom_jvp
    def f(x: Any) -> Any:
        return np.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 3.0 * t[0]))  # deliberately not cos
    out, tan = fg.jvp(f, (X,), (np.ones(5),))
    np.testing.assert_allclose(out, np.sin(X))
    np.testing.assert_allclose(tan, 3.0)
    np.testing.assert_allclose(fg.grad(lambda x: np.sum(f(x)))(X), 3.0)  # reverse from the rule
    out, tan = fg.jvp(log1pexp, (X,), (2.0 * np.ones(5),))
    np.testing.assert_allclose(out, np.log1p(np.exp(X)))
    np.testing.assert_allclose(tan, 2.0 * _sigmoid(X))


def test_custom_jvp_grad_matches_finite_differences() -> None:
    for x in X:
        g = fg.grad(log1pexp)(float(x))
        np.testing.assert_allclose(g, fd_grad(lambda s: np.log1p(np.exp(s)), float(x)), rtol=1e-6)
        np.testing.assert_allclose(g, _sigmoid(x), rtol=1e-12)

    # Several arguments, one derivative each from the rule.
    @fg.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * np.sin(y)

    f.defjvp(lambda p, t: (f(*p), t[0] * np.sin(p[1]) + p[0] * np.cos(p[1]) * t[1]))
    gx, gy = fg.grad(f, argnums=(0, 1))(1.3, 0.4)
    np.testing.assert_allclose(gx, fd_grad(lambda s: s * np.sin(0.4), 1.3), rtol=1e-6)
    np.testing.assert_allclose(gy, fd_grad(lambda s: 1.3 * np.sin(s), 0.4), rtol=1e-6)


def test_custom_jvp_higher_order() -> None:
    s = _sigmoid(X)
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.grad(log1pexp)))(X), s * (1 - s), rtol=1e-10)
    np.testing.assert_allclose(
        fg.hessian(lambda x: np.sum(log1pexp(x)))(X), np.diag(s * (1 - s)), rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        fg.jacfwd(fg.grad(log1pexp))(0.3), _sigmoid(0.3) * (1 - _sigmoid(0.3))
    )


def test_custom_jvp_vmap_and_jit() -> None:
    xs = np.array([0.0, 5.0, 100.0, 1000.0])
    with np.errstate(over="ignore"):
        expected = np.array([0.5, _sigmoid(5.0), 1.0, 1.0])
        np.testing.assert_allclose(fg.vmap(fg.grad(log1pexp))(xs), expected)
        np.testing.assert_allclose(fg.jit(fg.grad(log1pexp))(1000.0), 1.0)
        np.testing.assert_allclose(fg.jit(fg.vmap(fg.grad(log1pexp)))(xs), expected)
        np.testing.assert_allclose(fg.grad(fg.jit(log1pexp))(1000.0), 1.0)
        np.testing.assert_allclose(fg.jit(log1pexp)(xs[:2]), np.log1p(np.exp(xs[:2])))
        out, tan = fg.vmap(lambda x: fg.jvp(log1pexp, (x,), (1.0,)))(xs[:2])
        np.testing.assert_allclose(tan, expected[:2])


def test_custom_jvp_nonfloat_argument_forward_mode() -> None:
    @fg.custom_jvp
    def power(x: Any, n: Any) -> Any:
        return x**n

    power.defjvp(lambda p, t: (power(*p), t[0] * p[1] * p[0] ** (p[1] - 1)))
    out, tan = fg.jvp(lambda x: power(x, 3), (2.0,), (1.0,))
    assert (out, tan) == (8.0, 12.0)
    np.testing.assert_allclose(fg.grad(lambda x: power(x, 3.0))(2.0), 12.0)


def test_custom_jvp_nonfloat_argument_reverse_mode() -> None:
    @fg.custom_jvp
    def power(x: Any, n: Any) -> Any:
        return x**n

    power.defjvp(lambda p, t: (power(*p), t[0] * p[1] * p[0] ** (p[1] - 1)))
    np.testing.assert_allclose(fg.grad(lambda x: power(x, 3))(2.0), 12.0)

    @fg.custom_jvp
    def masked(x: Any, mask: Any) -> Any:
        return fnp.where(mask, x, 0.0)

    masked.defjvp(lambda p, t: (masked(*p), fnp.where(p[1], t[0], 0.0)))
    np.testing.assert_allclose(
        fg.grad(lambda x: np.sum(masked(x, X > 0)))(X), (X > 0).astype(float)
    )


def test_custom_jvp_closure_and_missing_rule() -> None:
    def outer(y: Any) -> Any:
        @fg.custom_jvp
        def h(x: Any) -> Any:
            return x * y

        h.defjvp(lambda p, t: (h(p[0]), t[0] * y))
        return h(2.0)

    with pytest.raises(TypeError, match="closes over"):
        fg.grad(outer)(3.0)
    with pytest.raises(TypeError, match="defjvp"):
        fg.custom_jvp(lambda x: x)(1.0)
    with pytest.raises(TypeError):
        log1pexp.defjvp("not callable")

    @fg.custom_jvp
    def bad(x: Any) -> Any:
        return x

    bad.defjvp(lambda p, t: p[0])  # not a pair
    with pytest.raises(TypeError, match="pair"):
        fg.jvp(bad, (1.0,), (1.0,))


# --- checkpoint ---------------------------------------------------------------------------
def block(x: Any, w: Any) -> Any:
    return np.sin(np.tanh(x * w) * 2.0 + x)


ck_block = fg.checkpoint(block)


def net(x: Any, w: Any, blk: Any) -> Any:
    for _ in range(3):
        x = blk(x, w)
    return np.sum(x**2)


def test_checkpoint_values_and_gradients() -> None:
    w = 0.7
    np.testing.assert_allclose(ck_block(X, w), block(X, w))
    g_ref = fg.grad(net, argnums=(0, 1))(X, w, block)
    g_ck = fg.grad(net, argnums=(0, 1))(X, w, ck_block)
    np.testing.assert_allclose(g_ck[0], g_ref[0], rtol=1e-12)
    np.testing.assert_allclose(g_ck[1], g_ref[1], rtol=1e-12)
    _, t_ref = fg.jvp(lambda x: net(x, w, block), (X,), (np.ones(5),))
    _, t_ck = fg.jvp(lambda x: net(x, w, ck_block), (X,), (np.ones(5),))
    np.testing.assert_allclose(t_ck, t_ref, rtol=1e-12)
    np.testing.assert_allclose(
        fg.hessian(lambda x: net(x, w, ck_block))(X),
        fg.hessian(lambda x: net(x, w, block))(X),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        fg.grad(fg.grad(lambda s: net(s, w, ck_block)))(0.3),
        fg.grad(fg.grad(lambda s: net(s, w, block)))(0.3),
    )


def test_checkpoint_vmap_jit_nested() -> None:
    w = 0.7
    xs = np.stack([X, X * 0.5, -X])
    ref = fg.vmap(fg.grad(lambda x: net(x, w, block)))(xs)
    np.testing.assert_allclose(fg.vmap(fg.grad(lambda x: net(x, w, ck_block)))(xs), ref)
    np.testing.assert_allclose(fg.jit(fg.vmap(fg.grad(lambda x: net(x, w, ck_block))))(xs), ref)
    np.testing.assert_allclose(
        fg.jit(fg.grad(net, argnums=1), static_argnums=2)(X, w, ck_block),
        fg.grad(net, argnums=1)(X, w, block),
    )
    np.testing.assert_allclose(fg.jit(ck_block)(X, w), block(X, w))
    nested = fg.checkpoint(lambda x, w: ck_block(ck_block(x, w), w) * 1.5)
    plain = lambda x, w: block(block(x, w), w) * 1.5
    np.testing.assert_allclose(nested(X, w), plain(X, w))
    np.testing.assert_allclose(
        fg.grad(lambda x: np.sum(nested(x, w) ** 2))(X),
        fg.grad(lambda x: np.sum(plain(x, w) ** 2))(X),
        rtol=1e-12,
    )
    # pytree in / out
    ck_tree = fg.checkpoint(lambda d: {"y": np.sin(d["a"]) * d["b"], "z": d["a"] ** 2})
    d = {"a": X, "b": 2.0 * X}
    g = fg.grad(lambda d: np.sum(ck_tree(d)["y"] + ck_tree(d)["z"]))(d)
    np.testing.assert_allclose(g["a"], np.cos(X) * 2.0 * X + 2.0 * X)
    np.testing.assert_allclose(g["b"], np.sin(X))


def test_checkpoint_ir_shows_recomputation() -> None:
    def count(ir: Any, name: str) -> int:
        return sum(e.prim.name == name for e in ir.eqns)

    f_plain = lambda x: np.sum(np.tanh(np.sin(x) * 2.0))
    f_ck = lambda x: np.sum(fg.checkpoint(lambda x: np.tanh(np.sin(x) * 2.0))(x))
    ir_plain = fg.make_ir(fg.grad(f_plain))(X)
    ir_ck = fg.make_ir(fg.grad(f_ck))(X)
    assert count(ir_plain, "sin") == 1
    # Two checkpoint calls: the forward, and "recompute the forward + backward" as one opaque
    # call (so that jit's CSE cannot merge the recomputation with the stored forward).
    fwd, bwd = [e for e in ir_ck.eqns if e.prim.name == "checkpoint"]
    sub = fwd.params["fun_ir"]
    assert count(sub, "sin") == 1 and count(sub, "tanh") == 1
    sub_bwd = bwd.params["fun_ir"]
    assert count(sub_bwd, "sin") == 1 and count(sub_bwd, "cos") == 1
    assert count(ir_ck, "sin") == 0  # nothing of the forward is stored outside the calls
    assert str(ir_ck).count("sin ") >= 2
    np.testing.assert_allclose(fg.eval_ir(ir_ck, X), fg.grad(f_plain)(X))


def _peak_bytes(fun: Any, *args: Any) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fun(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


def test_checkpoint_reduces_peak_memory() -> None:
    n, steps, seg = 100_000, 24, 6

    def step(x: Any) -> Any:
        return np.sin(x) * 1.01

    def segment(x: Any) -> Any:
        for _ in range(seg):
            x = step(x)
        return x

    ck_segment = fg.checkpoint(segment)

    def plain(x: Any) -> Any:
        for _ in range(steps):
            x = step(x)
        return np.sum(x)

    def checkpointed(x: Any) -> Any:
        for _ in range(steps // seg):
            x = ck_segment(x)
        return np.sum(x)

    v = np.linspace(0.0, 1.0, n)
    peak_plain, g_plain = _peak_bytes(fg.grad(plain), v)
    peak_ck, g_ck = _peak_bytes(fg.grad(checkpointed), v)
    np.testing.assert_allclose(g_ck, g_plain, rtol=1e-12)
    # Without checkpointing every step's intermediates (n floats each) stay alive.
    assert peak_plain > steps * n * 8
    assert peak_ck < 0.6 * peak_plain, (peak_ck, peak_plain)


def test_checkpoint_reduces_peak_memory_under_jit() -> None:
    n, steps, seg = 100_000, 24, 6

    def segment(x: Any) -> Any:
        for _ in range(seg):
            x = np.sin(x) * 1.01
        return x

    ck_segment = fg.checkpoint(segment)

    def plain(x: Any) -> Any:
        for _ in range(steps // seg):
            x = segment(x)
        return np.sum(x)

    def checkpointed(x: Any) -> Any:
        for _ in range(steps // seg):
            x = ck_segment(x)
        return np.sum(x)

    v = np.linspace(0.0, 1.0, n)
    jp, jc = fg.jit(fg.grad(plain)), fg.jit(fg.grad(checkpointed))
    np.testing.assert_allclose(jc(v), jp(v), rtol=1e-12)  # compile outside the measurement
    peak_plain, _ = _peak_bytes(jp, v)
    peak_ck, _ = _peak_bytes(jc, v)
    assert peak_ck < 0.6 * peak_plain, (peak_ck, peak_plain)


def test_checkpoint_accepts_tree_leaves_and_scalars() -> None:
    f = fg.checkpoint(lambda a, b: a * b + 1.0)
    assert f(2.0, 3.0) == 7.0
    ga, gb = fg.grad(f, argnums=(0, 1))(2.0, 3.0)
    assert (ga, gb) == (3.0, 2.0)
    assert len(tree_leaves(fg.grad(lambda t: f(*t))((2.0, 3.0)))) == 2
    # Integer arguments pass through undifferentiated.
    g = fg.grad(lambda x: np.sum(fg.checkpoint(lambda x, n: x * n)(x, 3)))(X)
    np.testing.assert_allclose(g, 3.0)


def test_checkpoint_closing_over_differentiated_value() -> None:
    # Unlike custom rules, checkpoint differentiates through closed-over values.
    def loss_ck(w: Any) -> Any:
        return np.sum(fg.checkpoint(lambda x: block(x, w))(X) ** 2)

    def loss(w: Any) -> Any:
        return np.sum(block(X, w) ** 2)

    np.testing.assert_allclose(fg.grad(loss_ck)(0.7), fg.grad(loss)(0.7), rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(loss_ck))(0.7), fg.grad(loss)(0.7), rtol=1e-12)
    np.testing.assert_allclose(fg.hessian(loss_ck)(0.7), fg.hessian(loss)(0.7), rtol=1e-10)
    ws = np.array([0.7, 0.8])
    np.testing.assert_allclose(fg.vmap(fg.grad(loss_ck))(ws), fg.vmap(fg.grad(loss))(ws))
