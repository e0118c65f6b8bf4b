"""jit writes loops into the generated source: a ``scan`` (and ``fori_loop`` with static
bounds) becomes one Python ``for`` loop with its body inlined, ``while_loop`` a ``while``
loop; reverse mode's transposed scan too, so ``jit(grad(rnn))`` is one function with two
loops. Results are compared with the interpreter (no jit), hand-written numpy and central
finite differences."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.core.array import Array

RNG = np.random.default_rng(0)
H, T, B = 5, 7, 3
WH = RNG.standard_normal((H, H)) * 0.5
WX = RNG.standard_normal((H, H)) * 0.5
XS = RNG.standard_normal((T, B, H))
H0 = RNG.standard_normal((B, H)) * 0.1


def rnn_loss(Wh: Any, Wx: Any, xs: Any) -> Any:
    def step(h: Any, x: Any) -> Any:
        h = fnp.tanh(h @ Wh + x @ Wx)
        return h, fnp.sum(h)

    h, s = lax.scan(step, H0, xs)
    return fnp.sum(h * h) + 0.1 * fnp.sum(s)


def rnn_grad_by_hand(Wh: Any, Wx: Any, xs: Any) -> tuple[Any, Any]:
    hs = [H0]
    for t in range(len(xs)):
        hs.append(np.tanh(hs[-1] @ Wh + xs[t] @ Wx))
    gh = 2 * hs[-1]
    gWh, gWx = np.zeros_like(Wh), np.zeros_like(Wx)
    for t in range(len(xs) - 1, -1, -1):
        gz = (gh + 0.1) * (1 - hs[t + 1] ** 2)
        gWh += hs[t].T @ gz
        gWx += xs[t].T @ gz
        gh = gz @ Wh.T
    return gWh, gWx


def loops(src: str) -> list[str]:
    return re.findall(r"^( *)(for \w+ in range\(.*\)|while \w+):", src, re.M)


def central_fd(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


# ---------------------------------------------------------------------------------------------
# the RNN: forward scan + transposed scan in one generated function
# ---------------------------------------------------------------------------------------------
def test_jit_grad_rnn_is_one_function_with_two_loops() -> None:
    jg = fg.jit(fg.grad(rnn_loss, argnums=(0, 1)))
    src = jg.lower(WH, WX, XS).source
    assert src.count("def ") == 1
    found = loops(src)
    assert found == [
        ("    ", f"for t in range({T})"),
        ("    ", f"for t_1 in range({T - 1}, -1, -1)"),
    ]
    # No per-step call of a compiled body or the primitive's impl: only numpy in the loop.
    g = jg.lower(WH, WX, XS)
    assert not re.search(r"_scan_\d|body", src)
    # Stacked residuals are preallocated and written per step.
    assert re.search(r"= np\.empty\(\(7, 3, 5\), dtype=np\.float64\)", g.source)
    assert re.search(r"^        \w+\[t\] = \w+$", g.source, re.M)
    gWh, gWx = jg(WH, WX, XS)
    want = rnn_grad_by_hand(WH, WX, XS)
    np.testing.assert_allclose(gWh, want[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gWx, want[1], rtol=1e-12, atol=1e-13)
    eager = fg.grad(rnn_loss, argnums=(0, 1))(WH, WX, XS)
    np.testing.assert_allclose(gWh, eager[0], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(gWx, eager[1], rtol=1e-13, atol=1e-14)
    fd = central_fd(lambda w: float(rnn_loss(w, WX, XS)), WH)
    np.testing.assert_allclose(gWh, fd, rtol=1e-6, atol=1e-8)
    assert type(gWh) is Array and type(gWx) is Array
    # Called again (the carries' buffers are reused in place: nothing may leak between calls).
    again = jg(WH, WX, XS)
    np.testing.assert_array_equal(again[0], gWh)


def test_loop_invariant_equations_are_hoisted_out_of_the_loop() -> None:
    src = fg.jit(fg.grad(rnn_loss, argnums=(0, 1))).lower(WH, WX, XS).source
    lines = src.splitlines()
    transposes = [ln for ln in lines if "= Wh.T" in ln]
    assert transposes and all(
        ln.startswith("    ") and not ln.startswith("     ") for ln in transposes
    )


def test_value_and_grad_and_jvp_of_scan_under_jit() -> None:
    vg = fg.jit(fg.value_and_grad(rnn_loss))
    v, gr = vg(WH, WX, XS)
    np.testing.assert_allclose(v, rnn_loss(WH, WX, XS), rtol=1e-13)
    np.testing.assert_allclose(gr, rnn_grad_by_hand(WH, WX, XS)[0], rtol=1e-12, atol=1e-13)
    t = RNG.standard_normal(WH.shape)
    jv = fg.jit(lambda w, t: fg.jvp(lambda w: rnn_loss(w, WX, XS), (w,), (t,)))
    src = jv.lower(WH, t).source
    assert len(loops(src)) == 2  # the primal scan and the scan of primals and tangents
    p, tan = jv(WH, t)
    np.testing.assert_allclose(tan, np.sum(rnn_grad_by_hand(WH, WX, XS)[0] * t), rtol=1e-11)


# ---------------------------------------------------------------------------------------------
# edge cases
# ---------------------------------------------------------------------------------------------
def cumsum_step(c: Any, x: Any) -> Any:
    c = c + x
    return c, c * 2.0


@pytest.mark.parametrize("reverse", [False, True])
def test_reverse_and_unroll(reverse: bool) -> None:
    xs = RNG.standard_normal((6, 2))
    init = np.ones(2)
    f = fg.jit(lambda init, xs: lax.scan(cumsum_step, init, xs, reverse=reverse, unroll=2))
    src = f.lower(init, xs).source
    assert loops(src) == [("    ", "for t in range(5, -1, -1)" if reverse else "for t in range(6)")]
    c, ys = f(init, xs)
    order = xs[::-1] if reverse else xs
    run = init + np.cumsum(order, axis=0)
    want_ys = 2 * (run[::-1] if reverse else run)
    np.testing.assert_allclose(c, run[-1], rtol=1e-14)
    np.testing.assert_allclose(ys, want_ys, rtol=1e-14)
    eager = lax.scan(cumsum_step, init, xs, reverse=reverse)
    np.testing.assert_allclose(ys, eager[1], rtol=1e-15)
    g = fg.jit(
        fg.grad(lambda xs: fnp.sum(lax.scan(cumsum_step, init, xs, reverse=reverse)[1] ** 2))
    )
    fd = central_fd(
        lambda x: float(np.sum(lax.scan(cumsum_step, init, x, reverse=reverse)[1] ** 2)), xs
    )
    np.testing.assert_allclose(g(xs), fd, rtol=1e-6, atol=1e-7)


def test_zero_length_scan_returns_fresh_arrays() -> None:
    init = np.arange(3.0)
    xs = np.zeros((0, 3))
    f = fg.jit(lambda init, xs: lax.scan(cumsum_step, init, xs))
    c, ys = f(init, xs)
    assert type(c) is Array and type(ys) is Array
    assert ys.shape == (0, 3)
    np.testing.assert_array_equal(c, init)
    assert not np.shares_memory(c, init)
    c[0] = 99.0
    assert init[0] == 0.0
    # xs=None, length=0, a carry pytree.
    g = fg.jit(lambda a, b: lax.scan(lambda cb, _: (cb, cb[0]), (a, b), None, length=0))
    (a, b), ys = g(init, np.float32(2.0))
    assert not np.shares_memory(a, init) and ys.shape == (0, 3)
    assert b.dtype == np.float32 and b == 2.0
    # A carry that is a view of the previous one (not a buffer of its own): the loop may
    # hand back the caller's array, which jit then copies.
    m = np.arange(4.0).reshape(2, 2)
    for n in (0, 3):
        tr = fg.jit(lambda m: lax.scan(lambda c, _: (c.T, None), m, None, length=n)[0])
        out = tr(m)
        np.testing.assert_array_equal(out, m if n == 0 else m.T)
        assert type(out) is Array and not np.shares_memory(out, m)
    # The gradient of a zero-length scan is the identity on the carry.
    gr = fg.jit(fg.grad(lambda i: fnp.sum(lax.scan(cumsum_step, i, xs)[0] * 3.0)))(init)
    np.testing.assert_array_equal(gr, np.full(3, 3.0))


def test_carry_pytrees_dtypes_and_xs_none() -> None:
    def step(c: Any, _: Any) -> Any:
        n, st = c
        new = {"w": st["w"] * 0.5 + 1.0, "v": (st["v"] + st["w"]).astype(np.float32)}
        return (n + 1, new), {"n": n, "w": new["w"]}

    init = (np.int32(0), {"w": np.arange(3.0), "v": np.zeros(3, np.float32)})
    f = fg.jit(lambda init: lax.scan(step, init, None, length=4))
    src = f.lower(init).source
    assert loops(src) == [("    ", "for t in range(4)")]
    (n, st), ys = f(init)
    (n2, st2), ys2 = lax.scan(step, init, None, length=4)
    assert n.dtype == np.int32 and n == 4
    assert st["v"].dtype == np.float32 and ys["n"].dtype == np.int32
    np.testing.assert_allclose(st["w"], st2["w"], rtol=1e-15)
    np.testing.assert_allclose(st["v"], st2["v"], rtol=1e-6)
    np.testing.assert_array_equal(ys["n"], [0, 1, 2, 3])
    np.testing.assert_allclose(ys["w"], ys2["w"], rtol=1e-15)
    w = np.arange(3.0)
    for _ in range(4):
        w = w * 0.5 + 1.0
    np.testing.assert_allclose(st["w"], w, rtol=1e-15)


def test_scan_with_consts_literals_and_weak_literal_carry() -> None:
    K = np.linspace(0.5, 1.5, 4)

    def f(x: Any, xs: Any) -> Any:
        def step(c: Any, xi: Any) -> Any:
            a, b = c
            return (fnp.sin(a * K) + xi * x, 0.0), a * 2.0 + b

        return lax.scan(step, (np.zeros(4), 1.0), xs)

    x, xs = np.float64(0.3), RNG.standard_normal((5, 4))
    (a, b), ys = fg.jit(f)(x, xs)
    (a2, b2), ys2 = f(x, xs)
    np.testing.assert_allclose(a, a2, rtol=1e-15)
    np.testing.assert_allclose(ys, ys2, rtol=1e-15)
    assert b == 0.0 and b.dtype == np.float64
    want = np.zeros(4)
    for xi in xs:
        want = np.sin(want * K) + xi * x
    np.testing.assert_allclose(a, want, rtol=1e-14)


def test_carries_sharing_one_buffer_are_not_overwritten() -> None:
    # Both carries get the same new value: under one name, an in-place write into one
    # carry would change the other.
    def step(c: Any, x: Any) -> Any:
        a, b = c
        s = a * 2.0  # a is dead after this: the ufunc could write into a's buffer
        t = s + b + x
        return (t, t), t

    init = (np.ones(3), np.ones(3))
    xs = RNG.standard_normal((4, 3))
    f = fg.jit(lambda init, xs: lax.scan(step, init, xs))
    (a, b), ys = f(init, xs)
    wa, wb = np.ones(3), np.ones(3)
    for x in xs:
        wa = wb = wa * 2.0 + wb + x
    np.testing.assert_allclose(a, wa, rtol=1e-14)
    np.testing.assert_allclose(b, wb, rtol=1e-14)
    assert not np.shares_memory(a, b)

    # A swap of carries and a carry that is a view (transpose) of another.
    def step2(c: Any, x: Any) -> Any:
        a, b = c
        return (b + x, (a * 1.5).T), a.sum()

    init2 = (np.ones((2, 2)), np.eye(2))
    xs2 = RNG.standard_normal((5, 2, 2))
    got = fg.jit(lambda i, x: lax.scan(step2, i, x))(init2, xs2)
    want = lax.scan(step2, init2, xs2)
    for g_, w_ in zip(fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(g_, w_, rtol=1e-14)


def test_input_arrays_are_never_written() -> None:
    init, xs = np.ones((2, 3)), RNG.standard_normal((4, 2, 3))
    keep = init.copy(), xs.copy()

    def step(c: Any, x: Any) -> Any:
        c = c * 2.0 + x
        return c, c

    f = fg.jit(lambda i, x: lax.scan(step, i, x))
    c, ys = f(init, xs)
    f(init, xs)
    np.testing.assert_array_equal(init, keep[0])
    np.testing.assert_array_equal(xs, keep[1])
    assert not np.shares_memory(c, init) and not np.shares_memory(ys, xs)


def test_nested_scans_are_nested_loops() -> None:
    W = RNG.standard_normal((3, 3)) * 0.4

    def f(w: Any, xss: Any) -> Any:
        def outer(c: Any, xs: Any) -> Any:
            def inner(d: Any, x: Any) -> Any:
                d = fnp.tanh(d @ w + x)
                return d, d.sum()

            d, s = lax.scan(inner, c, xs)
            return d * 0.9, s

        c, ss = lax.scan(outer, np.zeros(3), xss)
        return fnp.sum(c**2) + fnp.sum(ss)

    xss = RNG.standard_normal((3, 4, 3))
    src = fg.jit(f).lower(W, xss).source
    assert loops(src) == [("    ", "for t in range(3)"), ("        ", "for t_1 in range(4)")]
    np.testing.assert_allclose(fg.jit(f)(W, xss), f(W, xss), rtol=1e-14)
    jg = fg.jit(fg.grad(f))
    # forward; backward: the outer transposed scan, in it the inner residual scan and the
    # inner transposed scan
    assert loops(jg.lower(W, xss).source) == [
        ("    ", "for t in range(3)"),
        ("        ", "for t_1 in range(4)"),
        ("    ", "for t_2 in range(2, -1, -1)"),
        ("        ", "for t_3 in range(4)"),
        ("        ", "for t_4 in range(3, -1, -1)"),
    ]
    fd = central_fd(lambda w: float(f(w, xss)), W)
    np.testing.assert_allclose(jg(W, xss), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jg(W, xss), fg.grad(f)(W, xss), rtol=1e-13, atol=1e-14)


def test_scan_inside_vmap_inside_jit() -> None:
    def f(w: Any, xs: Any) -> Any:
        return lax.scan(lambda c, x: (fnp.sin(c * w + x), c), 0.0, xs)

    ws = RNG.standard_normal(4)
    xs = RNG.standard_normal((4, 6))
    jf = fg.jit(fg.vmap(f))
    assert len(loops(jf.lower(ws, xs).source)) == 1
    c, ys = jf(ws, xs)
    for i in range(4):
        ci, yi = f(ws[i], xs[i])
        np.testing.assert_allclose(c[i], ci, rtol=1e-14)
        np.testing.assert_allclose(ys[i], yi, rtol=1e-14)
    assert type(c) is Array and type(ys) is Array
    # per-example gradients through the scan, under jit
    pg = fg.jit(fg.vmap(fg.grad(lambda w, x: f(w, x)[0])))
    for i in range(4):
        fd = (f(ws[i] + 1e-6, xs[i])[0] - f(ws[i] - 1e-6, xs[i])[0]) / 2e-6
        np.testing.assert_allclose(pg(ws, xs)[i], fd, rtol=1e-6)


def test_cond_inside_a_scan_body() -> None:
    def step(c: Any, x: Any) -> Any:
        c = lax.cond(x > 0, lambda v: v * 2.0, lambda v: v - 1.0, c + x)
        return c, c

    xs = RNG.standard_normal(8)
    got = fg.jit(lambda xs: lax.scan(step, 0.5, xs))(xs)
    want = lax.scan(step, 0.5, xs)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# fori_loop and while_loop
# ---------------------------------------------------------------------------------------------
def test_fori_loop_static_bounds_is_a_for_loop() -> None:
    def f(x: Any) -> Any:
        return lax.fori_loop(1, 5, lambda i, v: v * x + i, fnp.ones_like(x))

    x = np.array([0.5, 2.0])
    jf = fg.jit(f)
    assert loops(jf.lower(x).source) == [("    ", "for t in range(4)")]
    v = np.ones(2)
    for i in range(1, 5):
        v = v * x + i
    np.testing.assert_allclose(jf(x), v, rtol=1e-15)
    fd = central_fd(lambda z: float(np.sum(f(z))), x)
    np.testing.assert_allclose(fg.jit(fg.grad(lambda z: fnp.sum(f(z))))(x), fd, rtol=1e-7)
    n = fg.jit(lambda: lax.fori_loop(0, 4, lambda i, acc: acc + i, 0))()
    assert n == 6 and n.dtype == np.int64


def test_while_loop_is_a_while_loop() -> None:
    def f(x: Any) -> Any:
        return lax.while_loop(lambda v: fnp.sum(v) < 100.0, lambda v: v * 3.0, x)

    jf = fg.jit(f)
    src = jf.lower(np.ones(2)).source
    assert [w for _, w in loops(src)] == ["while go"]
    for x in (np.ones(2), np.array([60.0, 50.0])):  # several passes, and none
        v = x.copy()
        while v.sum() < 100.0:
            v = v * 3.0
        got = jf(x)
        np.testing.assert_array_equal(got, v)
        assert type(got) is Array and not np.shares_memory(got, x)
    # traced bounds: fori_loop becomes a while loop; forward mode differentiates it
    g = fg.jit(lambda x, n: lax.fori_loop(0, n, lambda i, v: fnp.sin(v) + x, x))
    assert [w for _, w in loops(g.lower(0.3, np.int64(3)).source)] == ["while go"]
    v = 0.3
    for _ in range(3):
        v = np.sin(v) + 0.3
    np.testing.assert_allclose(g(0.3, np.int64(3)), v, rtol=1e-15)
    d = fg.jit(
        fg.jacfwd(
            lambda x: lax.fori_loop(
                0, np.int64(3) + x.astype(int) * 0, lambda i, v: fnp.sin(v) + x, x
            )
        )
    )
    fd = (g(0.3 + 1e-6, np.int64(3)) - g(0.3 - 1e-6, np.int64(3))) / 2e-6
    np.testing.assert_allclose(d(np.float64(0.3)), fd, rtol=1e-6)


def test_while_under_vmap_with_batched_predicate() -> None:
    def f(x: Any) -> Any:
        return lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0 + 1.0, x)

    xs = np.array([0.5, 3.0, 20.0, 9.0])
    got = fg.jit(fg.vmap(f))(xs)
    np.testing.assert_array_equal(got, [f(x) for x in xs])


def test_debug_nans_inside_an_inlined_loop() -> None:
    def f(xs: Any) -> Any:
        return lax.scan(lambda c, x: (c + fnp.log(x), c), 0.0, xs)[0]

    fg.config.update("debug_nans", True)
    try:
        jf = fg.jit(f)
        np.testing.assert_allclose(jf(np.array([1.0, 2.0])), np.log(2.0))
        with pytest.raises(FloatingPointError, match="log"):
            jf(np.array([1.0, -2.0]))
    finally:
        fg.config.update("debug_nans", False)


def test_while_inside_scan_and_scan_inside_while() -> None:
    def f(x: Any, ns: Any) -> Any:
        def step(c: Any, n: Any) -> Any:
            c = lax.fori_loop(0, n, lambda i, v: v * 0.5 + x, c)  # traced bound: a while
            return c, c

        return lax.scan(step, x, ns)

    x, ns = np.float64(1.5), np.array([2, 0, 3])
    jf = fg.jit(f)
    assert [w for _, w in loops(jf.lower(x, ns).source)] == ["for t in range(3)", "while go"]
    c, ys = jf(x, ns)
    want, v = [], 1.5
    for n in ns:
        for _ in range(n):
            v = v * 0.5 + 1.5
        want.append(v)
    np.testing.assert_allclose(ys, want, rtol=1e-15)
    np.testing.assert_allclose(f(x, ns)[1], want, rtol=1e-15)  # eager: the same loop

    def g(x: Any) -> Any:
        def body(c: Any) -> Any:
            k, v = c
            v, _ = lax.scan(lambda a, _: (a * 1.1, None), v, None, length=3)
            return k + 1, v

        return lax.while_loop(lambda c: c[1].sum() < 50.0, body, (0, x))

    xg = np.ones(2)
    jg = fg.jit(g)
    assert [w for _, w in loops(jg.lower(xg).source)] == ["while go", "for t in range(3)"]
    k, v = jg(xg)
    wk, wv = 0, xg.copy()
    while wv.sum() < 50.0:
        wk, wv = wk + 1, wv * 1.1**3
    assert k == wk
    np.testing.assert_allclose(v, wv, rtol=1e-14)


def test_per_step_work_on_xs_runs_batched_before_the_loop(monkeypatch: Any) -> None:
    jf = fg.jit(rnn_loss)
    src = jf.lower(WH, WX, XS).source
    before_loop = src.split("for t in")[0]
    assert re.search(r"\(xs @ \w+\)", before_loop)  # x @ Wx for all steps in one matmul
    np.testing.assert_allclose(jf(WH, WX, XS), rnn_loss(WH, WX, XS), rtol=1e-13)

    # indexing a constant with the loop counter: a batched gather, then one row per step
    R = RNG.standard_normal((6, 3))

    def f(v: Any) -> Any:
        return lax.fori_loop(0, 6, lambda i, v: fnp.sin(v) + fnp.take(R, i, axis=0) * i, v)

    v0 = np.ones(3)
    want = v0.copy()
    for i in range(6):
        want = np.sin(want) + R[i] * i
    np.testing.assert_allclose(fg.jit(f)(v0), want, rtol=1e-14)
    np.testing.assert_allclose(f(v0), want, rtol=1e-14)
    fd = central_fd(lambda z: float(np.sum(f(z))), v0)
    np.testing.assert_allclose(
        fg.jit(fg.grad(lambda z: fnp.sum(f(z))))(v0), fd, rtol=1e-6, atol=1e-8
    )

    # too big to stack: the equations stay in the loop
    import funcgrad.transforms.codegen_loops as cl

    monkeypatch.setattr(cl, "MAX_MAPPED_ELEMENTS", 0)
    jf2 = fg.jit(rnn_loss)
    src2 = jf2.lower(WH, WX, XS).source
    assert not re.search(r"\(xs @ \w+\)", src2) and re.search(
        r"^        \w+ = \(\w+ @ Wx\)", src2, re.M
    )
    np.testing.assert_allclose(jf2(WH, WX, XS), rnn_loss(WH, WX, XS), rtol=1e-13)


def test_eager_loops_run_generated_code_and_debug_nans_names_the_body_line() -> None:
    def f(xs: Any) -> Any:
        return lax.scan(lambda c, x: (c * fnp.sqrt(x), c), 1.0, xs)[0]

    np.testing.assert_allclose(f(np.array([4.0, 9.0])), 6.0)
    fg.config.update("debug_nans", True)
    try:
        with pytest.raises(FloatingPointError, match=r"sqrt.*test_scan_codegen\.py:\d+"):
            f(np.array([4.0, -9.0]))
    finally:
        fg.config.update("debug_nans", False)


# ---------------------------------------------------------------------------------------------
# scratch buffers: big stacked values that never leave the function are recycled across calls
# ---------------------------------------------------------------------------------------------
def big_scan(x: Any) -> Any:
    def step(c: Any, _: Any) -> Any:
        c = fnp.sin(c) + 0.5
        return c, c

    _, ys = lax.scan(step, x, None, length=100)  # 100 x 100 float64: 80 kB
    return ys.T, fnp.sum(ys)


def test_scratch_buffers_are_recycled_but_never_returned() -> None:
    jf = fg.jit(big_scan)
    src = jf.lower(np.zeros(100)).source
    assert "_scratch((100, 100), np.float64, held)" in src
    assert "_scratch_release(held)" in src
    want = big_scan(np.zeros(100))
    first = jf(np.zeros(100))
    keep = np.array(first[0])
    second = jf(np.ones(100))  # reuses the buffer the first call stacked into
    np.testing.assert_array_equal(first[0], keep)  # the returned view was a copy
    assert not np.shares_memory(first[0], second[0])
    np.testing.assert_allclose(first[0], want[0], rtol=1e-15)
    np.testing.assert_allclose(second[1], big_scan(np.ones(100))[1], rtol=1e-14)
    # returned as it is: a fresh array, not a scratch buffer
    src2 = fg.jit(lambda x: lax.scan(lambda c, _: (c + 1.0, c), x, None, length=100)).lower(
        np.zeros(100)
    )
    assert "_scratch" not in src2.source and "np.empty((100, 100)" in src2.source


def test_scratch_buffers_are_per_thread() -> None:
    import threading

    jf = fg.jit(big_scan)
    inputs = [np.full(100, 0.1 * i) for i in range(4)]
    wants = [big_scan(x)[1] for x in inputs]
    errors: list[Any] = []

    def work(i: int) -> None:
        for _ in range(30):
            got = jf(inputs[i])[1]
            if not np.allclose(got, wants[i], rtol=1e-13):
                errors.append((i, got, wants[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_no_scratch_buffers_when_a_callback_could_keep_one() -> None:
    seen: list[Any] = []

    def f(x: Any) -> Any:
        _, ys = lax.scan(lambda c, _: (c * 1.01, c), x, None, length=100)
        fg.debug.callback(seen.append, ys)
        return fnp.sum(ys)

    src = fg.jit(f).lower(np.ones(100)).source
    assert "_scratch" not in src


def test_a_scratch_buffer_never_becomes_a_result_through_in_place_updates() -> None:
    def f(x: Any) -> Any:
        _, ys = lax.scan(lambda c, _: (c * 0.5 + 1.0, c), x, None, length=100)
        zs = ys * 2.0  # could write into ys's buffer
        c2, _ = lax.scan(lambda c, r: (c + r, None), ys, np.ones((3, 100)))  # could take ys
        return zs, c2

    jf = fg.jit(f)
    src = jf.lower(np.zeros(100)).source
    assert "_scratch(" in src
    first = jf(np.zeros(100))
    keep = [np.array(a) for a in first]
    jf(np.full(100, 3.0))
    for a, k in zip(first, keep):
        np.testing.assert_array_equal(a, k)
    want = f(np.zeros(100))
    np.testing.assert_allclose(first[0], want[0], rtol=1e-15)
    np.testing.assert_allclose(first[1], want[1], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# random loop bodies against a plain Python loop (buffer planning across iterations: carries
# swapped, repeated, passed through, viewed, updated in place)
# ---------------------------------------------------------------------------------------------
_OPS = {
    "mul": (lambda m, a, b: a * b),
    "add": (lambda m, a, b: a + b * 0.5),
    "sin": (lambda m, a, b: m.sin(a)),
    "pass": (lambda m, a, b: a),
    "rev": (lambda m, a, b: a[::-1]),
    "tanh_sub": (lambda m, a, b: m.tanh(a - b)),
}


def _random_program(rng: Any, n_carry: int) -> list[tuple[str, int, int]]:
    names = list(_OPS)
    # operands index into [*carries, x, K]
    return [
        (
            names[rng.integers(len(names))],
            int(rng.integers(n_carry + 2)),
            int(rng.integers(n_carry + 2)),
        )
        for _ in range(n_carry + 2)  # new carries, then two ys
    ]


def _run_program(m: Any, prog: Any, n_carry: int, carry: Any, x: Any, K: Any) -> Any:
    vals = list(carry) + [x, K]
    outs = [_OPS[op](m, vals[i], vals[j]) for op, i, j in prog]
    return tuple(outs[:n_carry]), (outs[n_carry], outs[n_carry + 1] * 1.0)


@pytest.mark.parametrize("seed", range(16))
def test_random_loop_bodies_match_a_python_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_carry = int(rng.integers(1, 4))
    length = int(rng.integers(0, 5))
    reverse = bool(rng.integers(2))
    prog = _random_program(rng, n_carry)
    K = rng.standard_normal(3)
    init = tuple(rng.standard_normal(3) for _ in range(n_carry))
    xs = rng.standard_normal((length, 3))

    def f(init: Any, xs: Any) -> Any:
        return lax.scan(
            lambda c, x: _run_program(fnp, prog, n_carry, c, x, K), init, xs, reverse=reverse
        )

    carry, ys = list(init), [None] * length
    for t in range(length - 1, -1, -1) if reverse else range(length):
        carry, ys[t] = _run_program(np, prog, n_carry, carry, xs[t], K)
    keep = [a.copy() for a in init], xs.copy()
    jf = fg.jit(f)
    for _ in range(2):  # twice: nothing may leak from one call into the next
        c_got, ys_got = jf(init, xs)
        for a, b in zip(c_got, carry):
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
            assert not any(np.shares_memory(a, i) for i in init)
        for j in range(2):
            want = np.array([y[j] for y in ys]).reshape(length, 3)
            np.testing.assert_allclose(ys_got[j], want, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(init[0], keep[0][0])
    np.testing.assert_array_equal(xs, keep[1])
    if length:  # reverse mode through the same loops, against finite differences

        def np_loss(i0: Any) -> float:
            c, out = [i0, *init[1:]], 0.0
            for t in range(length - 1, -1, -1) if reverse else range(length):
                c, (y0, _) = _run_program(np, prog, n_carry, c, xs[t], K)
                out += float(np.sum(y0**2))
            return out

        g = fg.jit(fg.grad(lambda i0: fnp.sum(f((i0,) + init[1:], xs)[1][0] ** 2)))
        np.testing.assert_allclose(g(init[0]), central_fd(np_loss, init[0]), rtol=1e-6, atol=1e-7)
