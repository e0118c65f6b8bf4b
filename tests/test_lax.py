"""Tests for funcgrad.lax: cond, switch, while_loop, fori_loop, scan — eager semantics versus
plain Python, derivatives versus finite differences, batching, composition, errors."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(
        np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol
    )


# ---------------------------------------------------------------------------------------------
# eager semantics
# ---------------------------------------------------------------------------------------------
class TestEager:
    def test_cond_both_branches(self):
        x = np.array([1.0, -2.0])
        t, f = (lambda v: v * 2.0), (lambda v: v - 1.0)
        close(lax.cond(True, t, f, x), x * 2.0)
        close(lax.cond(False, t, f, x), x - 1.0)
        close(lax.cond(np.bool_(True), t, f, x), x * 2.0)
        # numbers are compared with 0
        close(lax.cond(0, t, f, x), x - 1.0)
        close(lax.cond(3.5, t, f, x), x * 2.0)

    def test_cond_result_is_plain_numpy(self):
        out = lax.cond(True, lambda v: v + 1.0, lambda v: v, np.ones(3))
        assert type(out) is fg.Array and out.dtype == np.float64
        s = lax.cond(True, lambda v: v.sum(), lambda v: v.max(), np.ones(3))
        assert isinstance(s, np.generic)

    def test_cond_pytrees_and_no_operands(self):
        ops = ({"a": np.arange(3.0)}, 2.0)

        def tf(d, s):
            return {"out": d["a"] * s, "n": s}

        def ff(d, s):
            return {"out": d["a"] + s, "n": -s}

        out = lax.cond(False, tf, ff, *ops)
        close(out["out"], np.arange(3.0) + 2.0)
        close(out["n"], -2.0)
        assert lax.cond(True, lambda: 1.0, lambda: 2.0) == 1.0

    def test_cond_closure_over_array(self):
        w = np.array([1.0, 2.0, 3.0])
        close(lax.cond(True, lambda x: x * w, lambda x: x + w, 2.0), 2.0 * w)

    def test_cond_weak_literal_branch(self):
        x = np.float32(2.0)
        out = lax.cond(False, lambda v: v * 2, lambda v: 0.0, x)
        assert out.dtype == np.float32 and out == 0

    def test_switch(self):
        fs = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
        for i in range(3):
            close(lax.switch(i, fs, 2.0), fs[i](2.0))
        # out-of-range indices are clamped, as in JAX
        close(lax.switch(-4, fs, 2.0), 3.0)
        close(lax.switch(7, fs, 2.0), -2.0)
        close(lax.switch(np.int32(1), fs, 2.0), 20.0)
        close(lax.switch(0, [lambda x: x * 3.0], 2.0), 6.0)

    def test_while_loop(self):
        def py(v):
            while v[0] < 50:
                v = (v[0] * 2 + 1, v[1] + 1.5)
            return v

        got = lax.while_loop(
            lambda v: v[0] < 50, lambda v: (v[0] * 2 + 1, v[1] + 1.5), (np.int64(1), 0.0)
        )
        want = py((1, 0.0))
        assert int(got[0]) == want[0] and got[0].dtype == np.int64
        close(got[1], want[1])
        # zero iterations
        assert lax.while_loop(lambda v: v < 10.0, lambda v: v + 1.0, 20.0) == 20.0

    def test_fori_loop(self):
        acc = 1.0
        for i in range(2, 7):
            acc = acc * 0.5 + i
        close(lax.fori_loop(2, 7, lambda i, a: a * 0.5 + i, 1.0), acc)
        assert lax.fori_loop(0, 4, lambda i, a: a + i, 0) == 6
        # empty range
        assert lax.fori_loop(5, 2, lambda i, a: a + 1.0, 3.0) == 3.0
        # pytree carry
        out = lax.fori_loop(
            0, 3, lambda i, c: {"s": c["s"] + i, "p": c["p"] * 2.0}, {"s": 0, "p": 1.0}
        )
        assert out["s"] == 3 and out["p"] == 8.0

    def test_scan_vs_python(self):
        xs = RNG.standard_normal((6, 3))
        w = RNG.standard_normal((3, 3))

        def step(c, x):
            c = np.tanh(c @ w + x)
            return c, c.sum()

        c, ys = np.zeros(3), []
        for x in xs:
            c, y = step(c, x)
            ys.append(y)
        got_c, got_ys = lax.scan(
            lambda c, x: (fnp.tanh(c @ w + x), fnp.tanh(c @ w + x).sum()), np.zeros(3), xs
        )
        close(got_c, c)
        close(got_ys, np.array(ys))
        assert got_ys.shape == (6,)

    def test_scan_pytrees(self):
        xs = {"a": np.arange(4.0), "b": np.arange(8.0).reshape(4, 2)}
        init = (0.0, np.zeros(2))

        def f(carry, x):
            s, v = carry
            return (s + x["a"], v + x["b"]), {"prod": x["a"] * x["b"], "s": s}

        (s, v), ys = lax.scan(f, init, xs)
        close(s, 6.0)
        close(v, xs["b"].sum(0))
        close(ys["prod"], xs["a"][:, None] * xs["b"])
        close(ys["s"], np.array([0.0, 0.0, 1.0, 3.0]))

    def test_scan_reverse(self):
        xs = np.array([1.0, 2.0, 3.0])
        c, ys = lax.scan(lambda c, x: (c * 10.0 + x, c), 0.0, xs, reverse=True)
        close(c, 321.0)  # visits 3, 2, 1
        close(ys, np.array([32.0, 3.0, 0.0]))  # ys keep xs' order

    def test_scan_xs_none_and_length(self):
        c, ys = lax.scan(lambda c, _: (c * 2.0, c), 1.0, None, length=5)
        close(c, 32.0)
        close(ys, np.array([1.0, 2.0, 4.0, 8.0, 16.0]))
        c, ys = lax.scan(lambda c, _: (c + 1.0, None), 0.0, None, length=3)
        assert c == 3.0 and ys is None

    def test_scan_length_zero(self):
        c, ys = lax.scan(lambda c, x: (c + x, c * x), 1.0, np.zeros((0,)))
        assert c == 1.0 and ys.shape == (0,)

    def test_nested(self):
        def f(c, x):
            inner = lax.fori_loop(0, 3, lambda i, a: a + x * i, 0.0)
            return lax.cond(x > 0, lambda v: v + inner, lambda v: v - inner, c), inner

        xs = np.array([1.0, -2.0, 0.5])
        c, ys = lax.scan(f, 0.0, xs)
        close(ys, 3.0 * xs)
        close(c, 3.0 * np.abs(xs).sum())


# ---------------------------------------------------------------------------------------------
# differentiation
# ---------------------------------------------------------------------------------------------
def _cond_fn(x, y):
    return lax.cond(
        x.sum() > 0,
        lambda a, b: fnp.sin(a) * b,
        lambda a, b: a * a + fnp.exp(b),
        x,
        y,
    ).sum()


class TestGrad:
    def test_cond_grad_both_branches(self):
        y = 0.3
        for x in (np.array([0.5, 1.0]), np.array([-0.5, -1.0])):
            check_grads(_cond_fn, (x, y), order=2, modes=("fwd", "rev"))

    def test_cond_grad_value(self):
        g = fg.grad(lambda x: lax.cond(x > 0, lambda v: v**3, lambda v: -v, x))
        close(g(2.0), 12.0)
        close(g(-2.0), -1.0)

    def test_switch_grad(self):
        fs = [lambda x, w: fnp.sin(x * w), lambda x, w: x * w * w, lambda x, w: fnp.tanh(x) + w]
        x = np.array([0.3, -0.7])
        for i in range(3):
            check_grads(lambda x, w: lax.switch(i, fs, x, w).sum(), (x, 1.3), order=1)

    def test_fori_static_grad(self):
        def f(x, w):
            return lax.fori_loop(0, 5, lambda i, c: fnp.sin(c * w + i * 0.1), x).sum()

        check_grads(f, (np.array([0.2, -0.4]), 0.9), order=2)

    def test_scan_grad(self):
        xs = RNG.standard_normal((5, 2))

        def f(w, c0, xs):
            c, ys = lax.scan(lambda c, x: (fnp.sin(c * w) + x, (c * x).sum()), c0, xs)
            return (c * c).sum() + (ys**2).sum()

        check_grads(f, (0.7, np.array([0.1, 0.2]), xs), order=2)

    def test_scan_grad_grad(self):
        xs = np.linspace(-1.0, 1.0, 4)

        def f(w):
            c, ys = lax.scan(lambda c, x: (fnp.tanh(c * w + x), c * c), 0.5, xs)
            return c + ys.sum()

        g = fg.grad(f)
        h = fg.grad(fg.grad(f))
        eps = 1e-5
        close(h(0.7), (g(0.7 + eps) - g(0.7 - eps)) / (2 * eps), tol=1e-6)

    def test_scan_reverse_grad(self):
        xs = RNG.standard_normal(6)

        def f(w, xs):
            c, ys = lax.scan(lambda c, x: (c * w + fnp.sin(x), c * x), 1.0, xs, reverse=True)
            return c + (ys * ys).sum()

        check_grads(f, (0.8, xs), order=1)

    def test_scan_xs_none_grad(self):
        def f(w):
            c, ys = lax.scan(lambda c, _: (c * w + 1.0, c), 0.5, None, length=4)
            return c + ys.sum()

        check_grads(f, (0.9,), order=2)

    def test_closure_over_grad_tracer(self):
        # `w` is a tracer of the enclosing grad inside every body below.
        xs = np.array([0.5, -1.0, 2.0])

        def f(w):
            c, _ = lax.scan(lambda c, x: (c + fnp.sin(w * x), None), 0.0, xs)
            d = lax.cond(c > 0, lambda v: v * w, lambda v: v - w, c)
            e = lax.fori_loop(0, 3, lambda i, a: a * w, d)
            return e

        check_grads(f, (0.7,), order=2)
        check_grads(f, (-1.3,), order=1)

    def test_grad_inside_body_and_meta_gradient(self):
        # a training loop as a scan whose body calls grad; then differentiate through it
        rng = np.random.default_rng(3)
        X = rng.standard_normal((6, 2))
        Y = X @ np.array([1.0, -2.0])

        def loss(w):
            return ((X @ w - Y) ** 2).mean()

        def train(lr):
            step = lambda w, _: (w - lr * fg.grad(loss)(w), loss(w))
            return lax.scan(step, np.zeros(2), None, length=20)

        w, losses = train(0.1)
        w_py = np.zeros(2)
        for _ in range(20):
            w_py = w_py - 0.1 * (2 * X.T @ (X @ w_py - Y) / len(Y))
        close(w, w_py)
        assert losses[-1] < losses[0]
        check_grads(lambda lr: train(lr)[1][-1], (0.1,), order=1)

    def test_pytree_carry_grad(self):
        def f(p):
            def body(c, x):
                h, s = c["h"], c["s"]
                h = fnp.tanh(h * p["a"] + x)
                return {"h": h, "s": s + h * p["b"]}, None

            c, _ = lax.scan(body, {"h": 0.0, "s": 0.0}, np.linspace(0, 1, 5))
            return c["s"]

        p = {"a": 0.9, "b": 1.5}
        g = fg.grad(f)(p)
        assert set(g) == {"a", "b"}
        check_grads(f, (p,), order=1)

    def test_int_carry_and_int_xs(self):
        def f(x):
            (n, y), ys = lax.scan(
                lambda c, i: ((c[0] + i, c[1] * x), c[1] * i), (0, 1.0), np.arange(4)
            )
            return y + ys.sum()

        check_grads(f, (1.1,), order=1)

    def test_tanh_rnn(self):
        rng = np.random.default_rng(42)
        hidden, steps, nin = 8, 10, 3
        params = {
            "Wh": rng.standard_normal((hidden, hidden)) * 0.3,
            "Wx": rng.standard_normal((nin, hidden)) * 0.3,
            "b": rng.standard_normal(hidden) * 0.1,
        }
        xs = rng.standard_normal((steps, nin))

        def loss(p, xs):
            def cell(h, x):
                h = fnp.tanh(h @ p["Wh"] + x @ p["Wx"] + p["b"])
                return h, h.sum()

            h, ys = lax.scan(cell, np.zeros(hidden), xs)
            return (h**2).sum() + (ys**2).mean()

        def loss_py(p, xs):
            h, ys = np.zeros(hidden), []
            for x in xs:
                h = np.tanh(h @ p["Wh"] + x @ p["Wx"] + p["b"])
                ys.append(h.sum())
            return (h**2).sum() + np.mean(np.square(ys))

        close(loss(params, xs), loss_py(params, xs))
        g = fg.grad(loss)(params, xs)
        # finite differences on a few coordinates of each parameter
        eps = 1e-6
        for k in params:
            for idx in [(0,) * params[k].ndim, tuple(s - 1 for s in params[k].shape)]:
                hi = {n: v.copy() for n, v in params.items()}
                lo = {n: v.copy() for n, v in params.items()}
                hi[k][idx] += eps
                lo[k][idx] -= eps
                fd = (loss_py(hi, xs) - loss_py(lo, xs)) / (2 * eps)
                close(g[k][idx], fd, tol=1e-6)
        check_grads(loss, (params, xs), order=1, modes=("fwd", "rev"))


class TestJvp:
    def test_while_loop_jvp(self):
        def f(x, w):
            _, y = lax.while_loop(
                lambda c: c[0] < 6, lambda c: (c[0] + 1, fnp.sin(c[1]) * w + c[1]), (0, x)
            )
            return y

        check_grads(f, (np.array([0.3, 0.9]), 1.2), order=2, modes=("fwd",))

    def test_while_loop_jvp_value(self):
        f = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x)
        out, t = fg.jvp(f, (1.5,), (1.0,))
        assert out == 12.0 and t == 8.0

    def test_fori_traced_bounds_jvp(self):
        # traced bounds (under vmap) -> while_loop; forward mode works through it
        def f(x, n):
            return lax.fori_loop(0, n, lambda i, c: c * x, 1.0)

        ns = np.array([1, 2, 3])
        out = fg.vmap(lambda n: fg.jvp(lambda x: f(x, n), (2.0,), (1.0,)))(ns)
        close(out[0], 2.0**ns)
        close(out[1], ns * 2.0 ** (ns - 1))

    def test_jacfwd_of_scan_and_cond(self):
        def f(x):
            c, ys = lax.scan(lambda c, x: (c * x, lax.cond(x > 0, fnp.sin, fnp.cos, c)), 1.0, x)
            return ys

        x = np.array([0.5, -0.3, 1.2])
        close(fg.jacfwd(f)(x), fg.jacrev(f)(x))


# ---------------------------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------------------------
class TestVmap:
    def test_cond_unbatched_pred(self):
        xs = RNG.standard_normal((4, 3))
        f = lambda x, p: lax.cond(p, lambda v: v * 2.0, lambda v: fnp.sin(v), x)
        close(fg.vmap(f, (0, None))(xs, True), xs * 2.0)
        close(fg.vmap(f, (0, None))(xs, False), np.sin(xs))

    def test_cond_batched_pred(self):
        xs = np.array([-1.0, 2.0, -3.0, 4.0])
        f = lambda x: lax.cond(x > 0, lambda v: v * 10.0, lambda v: v - 1.0, x)
        close(fg.vmap(f)(xs), np.where(xs > 0, xs * 10.0, xs - 1.0))
        # pytree outputs with an unbatched branch result
        g = lambda x: lax.cond(x > 0, lambda v: (v, 1.0), lambda v: (-v, 2.0), x)
        a, b = fg.vmap(g)(xs)
        close(a, np.abs(xs))
        close(b, np.where(xs > 0, 1.0, 2.0))

    def test_switch_batched_index(self):
        fs = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
        idx = np.array([0, 1, 2, 5, -1])
        x = np.arange(5.0)
        want = np.array([fs[min(max(i, 0), 2)](v) for i, v in zip(idx, x)])
        close(fg.vmap(lambda i, v: lax.switch(i, fs, v))(idx, x), want)

    def test_vmap_grad_cond(self):
        xs = np.array([-1.5, 0.5, 2.0])
        f = lambda x: lax.cond(x > 0, lambda v: v**3, lambda v: fnp.sin(v), x)
        close(fg.vmap(fg.grad(f))(xs), np.where(xs > 0, 3 * xs**2, np.cos(xs)))

    def test_scan_batched_xs_and_init(self):
        xs = RNG.standard_normal((3, 5, 2))  # batch 3, length 5
        w = 0.5

        def f(c0, xs):
            return lax.scan(lambda c, x: (c * w + x, (c * x).sum()), c0, xs)

        c_b, ys_b = fg.vmap(f, (None, 0))(np.zeros(2), xs)
        for b in range(3):
            c, ys = f(np.zeros(2), xs[b])
            close(c_b[b], c)
            close(ys_b[b], ys)
        # only the init batched: the carry becomes batched, xs stay shared
        inits = RNG.standard_normal((4, 2))
        c_b, ys_b = fg.vmap(f, (0, None))(inits, xs[0])
        for b in range(4):
            c, ys = f(inits[b], xs[0])
            close(c_b[b], c)
            close(ys_b[b], ys)
        # batch axis not in front
        c_b, ys_b = fg.vmap(f, (None, 1), out_axes=(0, 1))(np.zeros(2), xs.transpose(1, 0, 2))
        close(ys_b.T, np.stack([f(np.zeros(2), xs[b])[1] for b in range(3)]))

    def test_scan_vmap_grad(self):
        xs = np.linspace(-1, 1, 4)
        f = lambda w: lax.scan(lambda c, x: (fnp.tanh(c * w + x), None), 0.0, xs)[0]
        ws = np.array([0.2, 0.9])
        close(fg.vmap(fg.grad(f))(ws), [fg.grad(f)(w) for w in ws])

    def test_while_batched_pred(self):
        def f(x):
            return lax.while_loop(lambda c: c[1] < 10.0, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))

        xs = np.array([1.0, 3.0, 20.0, 0.5])
        n, v = fg.vmap(f)(xs)
        for i, x in enumerate(xs):
            k, y = 0, x
            while y < 10.0:
                k, y = k + 1, y * 2.0
            assert n[i] == k
            close(v[i], y)

    def test_while_unbatched_pred(self):
        def f(x):
            return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))

        n, v = fg.vmap(f)(np.array([1.0, 2.0]))
        assert list(n) == [3, 3]
        close(v, [8.0, 16.0])

    def test_closures_over_vmap_tracers(self):
        xs = np.linspace(-1, 1, 4)
        ws = np.array([0.2, -0.5, 1.5])

        def f(w, u):
            c, _ = lax.scan(lambda c, x: (c * w + x, None), 0.0, xs)
            # the branches close over different values
            return lax.cond(c > 0, lambda v: v * w, lambda v: v + u, c)

        got = fg.vmap(f, (0, None))(ws, 3.0)
        close(got, [f(w, 3.0) for w in ws])
        got = fg.vmap(f, (None, 0))(0.7, ws)
        close(got, [f(0.7, u) for u in ws])

    def test_grad_of_vmapped_batched_cond(self):
        # the per-example select path is differentiable
        def loss(w):
            xs = np.array([-1.0, 0.5, 2.0])
            ys = fg.vmap(lambda x: lax.cond(x * w > 0, lambda v: v * w, lambda v: v * v, x))(xs)
            return ys.sum()

        check_grads(loss, (0.8,), order=2)
        check_grads(loss, (-0.8,), order=2)

    def test_vmap_grad_switch(self):
        fs = [lambda x: x**2, lambda x: fnp.sin(x), lambda x: x * 3.0]
        idx, x = np.array([0, 1, 2, 1]), np.array([1.0, 2.0, 3.0, 0.5])
        got = fg.vmap(fg.grad(lambda x, i: lax.switch(i, fs, x)), (0, 0))(x, idx)
        close(got, [2.0, np.cos(2.0), 3.0, np.cos(0.5)])

    def test_fori_batched_bounds(self):
        ns = np.array([0, 1, 4])
        out = fg.vmap(lambda n: lax.fori_loop(0, n, lambda i, a: a + i * 1.0, 0.0))(ns)
        close(out, [sum(range(n)) for n in ns])

    def test_jacrev_of_scan(self):
        # jacrev = vmap over the VJP: batches the backward scans
        def f(x):
            return lax.scan(lambda c, x: (c * x, c + x), 1.0, x)[1]

        x = np.array([0.5, -0.3, 1.2])
        J = fg.jacrev(f)(x)
        eps = 1e-6
        num = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)], 1)
        close(J, num, tol=1e-6)


# ---------------------------------------------------------------------------------------------
# IR, jit, errors
# ---------------------------------------------------------------------------------------------
class TestIRAndErrors:
    def test_make_ir_prints_sub_ir(self):
        def f(w, xs):
            return lax.scan(lambda c, x: (fnp.tanh(c * w + x), c), 0.0, xs)

        text = str(fg.make_ir(f)(0.5, np.ones(3)))
        assert "scan[body=" in text and "tanh" in text
        assert "length=3" in text and "num_carry=1" in text
        lines = text.splitlines()
        tanh_line = next(line for line in lines if "tanh" in line)
        scan_line = next(line for line in lines if "scan[" in line)
        # the body is nested (indented further than the scan equation)
        assert len(tanh_line) - len(tanh_line.lstrip()) > len(scan_line) - len(scan_line.lstrip())
        text = str(fg.make_ir(lambda x: lax.cond(x > 0, fnp.sin, fnp.cos, x))(1.0))
        assert "branch0=" in text and "branch1=" in text and "sin" in text and "cos" in text

    def test_eval_ir_roundtrip(self):
        f = lambda x: lax.scan(lambda c, x: (c + x, c), 0.0, x)[0]
        ir = fg.make_ir(f)(np.ones(4))
        close(fg.eval_ir(ir, np.arange(4.0)), 6.0)

    def test_jit(self):
        def f(w, xs):
            c, ys = lax.scan(lambda c, x: (fnp.tanh(c * w + x), c * c), 0.0, xs)
            return c + ys.sum() + lax.cond(w > 0, lambda: w, lambda: -w)

        xs = np.linspace(-1, 1, 4)
        close(fg.jit(f)(0.7, xs), f(0.7, xs))
        close(fg.jit(fg.grad(f))(0.7, xs), fg.grad(f)(0.7, xs))

    def test_jit_traced_fori_bounds(self):
        g = lambda x, n: lax.fori_loop(0, n, lambda i, c: c * x + i, 1.0)
        f = fg.jit(g)
        for n in (0, 3, 5):
            close(f(1.5, np.int64(n)), g(1.5, n))
        assert "while[" in str(f.lower(1.5, np.int64(3)).ir)  # traced bounds: a while loop
        assert "scan[" in str(fg.make_ir(lambda x: g(x, 3))(1.5))  # static bounds: a scan

    def test_branch_mismatch(self):
        with pytest.raises(TypeError, match=r"f32\[\].*f64\[\]|f64\[\].*f32\[\]"):
            lax.cond(True, lambda x: x.astype(np.float32), lambda x: x, 1.0)
        with pytest.raises(TypeError, match="true_fun"):
            lax.cond(True, lambda x: (x, x), lambda x: x, 1.0)
        with pytest.raises(TypeError, match="shape"):
            lax.cond(True, lambda x: x, lambda x: x.sum(), np.ones(2))
        with pytest.raises(TypeError, match=r"branches\[2\]"):
            lax.switch(0, [lambda x: x, lambda x: x, lambda x: x[0]], np.ones(2))

    def test_carry_dtype_change(self):
        with pytest.raises(TypeError, match=r"carry.*f32\[3\].*f64\[3\]"):
            lax.scan(
                lambda c, x: (c + np.float64(1.0) * np.ones(3), x),
                np.zeros(3, np.float32),
                np.ones(2),
            )
        # a Python scalar carry is weakly typed and takes the body's dtype (JAX's rule);
        # a numpy scalar is not
        assert lax.fori_loop(0, 3, lambda i, c: c + 0.5, 0) == 1.5
        assert lax.while_loop(lambda c: c < 3, lambda c: c * 1.5, 1) == 3.375
        with pytest.raises(TypeError, match=r"lax.fori_loop.*i64\[\].*f64\[\]"):
            lax.fori_loop(0, 3, lambda i, c: c + 0.5, np.int64(0))
        with pytest.raises(TypeError, match="lax.while_loop.*carry"):
            lax.while_loop(lambda c: c < 3, lambda c: c * 1.5, np.int64(1))
        with pytest.raises(TypeError, match="tree structure"):
            lax.scan(lambda c, x: ((c, c), x), 0.0, np.ones(2))
        with pytest.raises(TypeError, match="pair"):
            lax.scan(lambda c, x: c, 0.0, np.ones(2))

    def test_while_loop_under_grad(self):
        f = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x)
        with pytest.raises(
            ValueError,
            match="Reverse-mode differentiation does not work for "
            "lax.while_loop.*lax.scan.*fori_loop",
        ):
            fg.grad(f)(1.0)
        # fori_loop with traced bounds (here: batched by vmap) is a while_loop
        g = fg.grad(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * x, 1.0))
        with pytest.raises(ValueError, match="Reverse-mode"):
            fg.vmap(g, (None, 0))(2.0, np.array([1, 2]))

    def test_non_callable_and_bad_args(self):
        with pytest.raises(TypeError, match="true_fun must be callable"):
            lax.cond(True, 1.0, lambda: 1.0)
        with pytest.raises(TypeError, match="f must be callable"):
            lax.scan(None, 0.0, np.ones(2))
        with pytest.raises(TypeError, match="body_fun must be callable"):
            lax.while_loop(lambda c: c < 1, "body", 0)
        with pytest.raises(TypeError, match="body_fun must be callable"):
            lax.fori_loop(0, 1, 3, 0)
        with pytest.raises(TypeError, match=r"branches\[1\] must be callable"):
            lax.switch(0, [lambda: 1.0, 2])
        with pytest.raises(TypeError, match="scalar"):
            lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
        with pytest.raises(TypeError, match="integer"):
            lax.switch(1.5, [lambda: 1.0, lambda: 2.0])
        with pytest.raises(ValueError, match="length"):
            lax.scan(lambda c, x: (c, x), 0.0, None)
        with pytest.raises(ValueError, match="leading axis"):
            lax.scan(lambda c, x: (c, x), 0.0, {"a": np.ones(3), "b": np.ones(4)})
        with pytest.raises(TypeError, match="scalar bool"):
            lax.while_loop(lambda c: c, lambda c: c, np.ones(2))

    def test_python_control_flow_in_body_is_an_error(self):
        from funcgrad.errors import ConcretizationError

        with pytest.raises(ConcretizationError, match="lax.scan"):
            lax.scan(lambda c, x: (c + 1.0 if x > 0 else c, None), 0.0, np.ones(3))

    def test_sub_irs_type_check(self):
        # every IR produced by the rules (jvp, vjp, batching) passes the type checker
        from funcgrad.core.ir import check_ir

        xs = np.linspace(-1, 1, 3)

        def f(w):
            c, ys = lax.scan(
                lambda c, x: (lax.cond(x > 0, lambda a: a * w, fnp.sin, c), c * x), 0.5, xs
            )
            c = lax.while_loop(lambda v: v < 5.0, lambda v: v * 2.0 + w * w, c + 2.0)
            return c + ys.sum()

        def walk(ir):
            check_ir(ir)
            n = 0
            for e in ir.eqns:
                for v in e.params.values():
                    if isinstance(v, fg.IR):
                        n += 1 + walk(v)
            return n

        for g in (
            f,
            lambda w: fg.jvp(f, (w,), (1.0,))[1],
            fg.jacfwd(fg.jacfwd(f)),
            lambda w: fg.vmap(f)(np.stack([w, w + 0.1])),
        ):
            assert walk(fg.make_ir(g)(0.3)) >= 3
        f2 = lambda w: lax.scan(lambda c, x: (fnp.sin(c * w) + x, c), 0.5, xs)[1].sum()
        assert walk(fg.make_ir(fg.grad(fg.grad(f2)))(0.3)) >= 3
