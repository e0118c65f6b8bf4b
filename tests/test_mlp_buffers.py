"""jit's buffer planning on an MLP training step: intermediates that never leave the
generated function live in per-thread scratch buffers recycled across calls, returned arrays
are always the caller's own (never an input, never a scratch buffer, never shared between
calls), and inputs are never written."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim
from funcgrad.transforms import codegen

SIZES = [48, 512, 512, 10]  # hidden activations f32[128,512] = 256 KB: at PLAN_MIN_BYTES
BATCH = 128


def init(seed: int, sizes=SIZES, batch=BATCH):
    rng = np.random.default_rng(seed)
    params = [
        {
            "W": (rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(np.float32),
            "b": (0.1 * rng.standard_normal(n)).astype(np.float32),
        }
        for m, n in zip(sizes[:-1], sizes[1:])
    ]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return params, x, y


def loss_fn(params, x, y):
    h = x
    for layer in params[:-1]:
        z = h @ layer["W"] + layer["b"]
        h = z * (z > 0)
    logits = h @ params[-1]["W"] + params[-1]["b"]
    m = fg.stop_gradient(fnp.max(logits, axis=1, keepdims=True))
    shifted = logits - m
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.sum(y * logp) / x.shape[0]


def step(params, x, y, lr):
    loss, grads = fg.value_and_grad(loss_fn)(params, x, y)
    return loss, optim.sgd_update(params, grads, lr)


def numpy_step(params, x, y, lr):
    """The closed-form forward + backward + SGD, in float64."""
    p64 = [{k: v.astype(np.float64) for k, v in layer.items()} for layer in params]
    hs, zs, h = [x.astype(np.float64)], [], x.astype(np.float64)
    for layer in p64[:-1]:
        z = h @ layer["W"] + layer["b"]
        zs.append(z)
        h = np.maximum(z, 0)
        hs.append(h)
    logits = h @ p64[-1]["W"] + p64[-1]["b"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    s = e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(y * np.log(e / s)) / n
    d = (e / s - y) / n
    new = [None] * len(p64)
    for i in range(len(p64) - 1, -1, -1):
        gW, gb = hs[i].T @ d, d.sum(axis=0)
        if i > 0:
            d = (d @ p64[i]["W"].T) * (zs[i - 1] > 0)
        new[i] = {"W": p64[i]["W"] - lr * gW, "b": p64[i]["b"] - lr * gb}
    return loss, new


def leaves(tree):
    return fg.tree_util.tree_leaves(tree)


def scratch_pool_buffers():
    pool = getattr(codegen._scratch_local, "pool", {}) or {}
    return [b for bufs in pool.values() for b in bufs]


def test_mlp_step_source_uses_scratch_for_intermediates_only():
    params, x, y = init(0)
    src = fg.jit(step).lower(params, x, y, np.float32(0.05)).source
    # forward matmuls and relu masks go to scratch buffers ...
    assert "np.matmul(x, params_0_W, out=_scratch((128, 512), np.float32" in src
    assert "_scratch_release(" in src
    # ... but the updated weights (returned) are new arrays: no scratch, no input buffer
    for line in src.splitlines():
        if "_subtract(params_" in line:
            assert "_scratch" not in line
            assert "out=params" not in line


def test_mlp_step_matches_closed_form_and_keeps_inputs():
    params, x, y = init(1)
    lr = np.float32(0.05)
    before = [a.copy() for a in leaves((params, x, y))]
    jstep = fg.jit(step)
    loss, new = jstep(params, x, y, lr)
    loss0, new0 = numpy_step(params, x, y, 0.05)
    np.testing.assert_allclose(loss, loss0, rtol=1e-5)
    for a, b in zip(leaves(new), leaves(new0)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # inputs unmodified, results share no memory with inputs
    for a, b in zip(leaves((params, x, y)), before):
        np.testing.assert_array_equal(a, b)
    for r in leaves(new):
        for a in leaves((params, x, y)):
            assert not np.shares_memory(r, a)


def test_successive_calls_give_independent_results():
    params1, x1, y1 = init(2)
    params2, x2, y2 = init(3)
    lr = np.float32(0.05)
    jstep = fg.jit(step)
    loss1, new1 = jstep(params1, x1, y1, lr)
    kept = [a.copy() for a in leaves(new1)]
    loss2, new2 = jstep(params2, x2, y2, lr)
    loss3, new3 = jstep(new1, x1, y1, lr)  # results fed back as inputs (a training loop)
    # call 1's results are unchanged by calls 2 and 3
    for a, b in zip(leaves(new1), kept):
        np.testing.assert_array_equal(a, b)
    for r1 in leaves(new1):
        for r2 in leaves(new2) + leaves(new3):
            assert not np.shares_memory(r1, r2)
    # and each call is right
    np.testing.assert_allclose(loss2, numpy_step(params2, x2, y2, 0.05)[0], rtol=1e-5)
    loss3_0, new3_0 = numpy_step(new1, x1, y1, 0.05)
    np.testing.assert_allclose(loss3, loss3_0, rtol=1e-5)
    for a, b in zip(leaves(new3), leaves(new3_0)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # no returned array lives in a scratch buffer kept for the next call
    for r in leaves(new1) + leaves(new2) + leaves(new3):
        assert r.flags.writeable
        for buf in scratch_pool_buffers():
            assert not np.shares_memory(r, buf)


@pytest.mark.parametrize("which", ["matmul", "view", "inplace_chain", "twice"])
def test_returned_intermediates_are_not_scratch(which):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((128, 512)).astype(np.float32)
    W = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal(512).astype(np.float32)

    def f(x, W, b):
        z = x @ W  # scratch-sized
        if which == "matmul":
            return z, fnp.sum(z)
        if which == "view":  # a view of an intermediate (the buffer may be scratch)
            return (z + b).T, fnp.reshape(z * 2.0, (-1,))
        if which == "inplace_chain":  # z's buffer would be rewritten in place into the result
            h = z + b
            return h * (h > 0)
        return z * 3.0, (z * 3.0) @ W  # an intermediate that is also returned

    def expected(x, W, b):
        z = x.astype(np.float64) @ W
        if which == "matmul":
            return z, z.sum()
        if which == "view":
            return (z + b).T, (z * 2.0).reshape(-1)
        if which == "inplace_chain":
            h = z + b
            return h * (h > 0)
        return z * 3.0, (z * 3.0) @ W

    jf = fg.jit(f)
    out1 = jf(x, W, b)
    kept = [np.array(a) for a in leaves(out1)]
    x2 = x[::-1].copy()
    out2 = jf(x2, W, b)
    for a, k, e in zip(leaves(out1), kept, leaves(expected(x, W, b))):
        np.testing.assert_array_equal(a, k)
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * np.abs(e).max())
    for a, e in zip(leaves(out2), leaves(expected(x2, W, b))):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * np.abs(e).max())
    for r in leaves(out1) + leaves(out2):
        if np.ndim(r):
            for buf in scratch_pool_buffers():
                assert not np.shares_memory(r, buf)
            for a in (x, x2, W, b):
                assert not np.shares_memory(r, a)


def test_threads_use_their_own_scratch():
    jstep = fg.jit(step)
    lr = np.float32(0.05)
    cases = [init(10 + k) for k in range(4)]
    expect = [numpy_step(p, x, y, 0.05) for p, x, y in cases]
    jstep(*cases[0], lr)  # compile once
    errors: list[BaseException] = []

    def work(k):
        try:
            for _ in range(5):
                loss, new = jstep(*cases[k], lr)
                np.testing.assert_allclose(loss, expect[k][0], rtol=1e-5)
                for a, b in zip(leaves(new), leaves(expect[k][1])):
                    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_scratch_pool_is_bounded_and_recycled():
    params, x, y = init(5)
    lr = np.float32(0.05)
    jstep = fg.jit(step)
    jstep(params, x, y, lr)
    ids = {id(b) for b in scratch_pool_buffers()}
    assert ids  # the step's intermediates were kept for the next call
    jstep(params, x, y, lr)
    assert {id(b) for b in scratch_pool_buffers()} == ids  # the same buffers, reused
    assert codegen._scratch_local.nbytes <= codegen.SCRATCH_MAX_BYTES
    # many results held at once: the result pool stays bounded, every result distinct
    held = [jstep(params, x, y, lr)[1] for _ in range(codegen.RESULT_PER_TYPE + 2)]
    firsts = [h[1]["W"] for h in held]
    for i, a in enumerate(firsts):
        np.testing.assert_array_equal(a, firsts[0])
        for b in firsts[:i]:
            assert not np.shares_memory(a, b)
    pool = codegen._results_local.pool
    assert all(len(v) <= codegen.RESULT_PER_TYPE for v in pool.values())
    assert codegen._results_local.nbytes <= codegen.RESULT_MAX_BYTES


def test_dropped_results_are_recycled_held_ones_are_not():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((128, 256)).astype(np.float32)
    W = rng.standard_normal((256, 256)).astype(np.float32)

    def f(x, W):
        return W - 0.5 * (x.T @ x)

    jf = fg.jit(f)
    assert "out=_result_buffer((256, 256), np.float32)" in jf.lower(x, W).source
    expect = W - 0.5 * (x.T.astype(np.float64) @ x)
    r1 = jf(x, W)
    p1 = r1.__array_interface__["data"][0]
    del r1  # every reference dropped: the next call may reuse the buffer
    r2 = jf(x, W)
    assert r2.__array_interface__["data"][0] == p1
    np.testing.assert_allclose(r2, expect, rtol=1e-4, atol=1e-3)
    v = r2[3:5].T  # a view keeps the buffer out of the pool
    kept = v.copy()
    del r2
    r3 = jf(x * 2, W)
    assert not np.shares_memory(r3, v)
    np.testing.assert_array_equal(v, kept)
    np.testing.assert_allclose(r3, W - 2.0 * (x.T.astype(np.float64) @ x), rtol=1e-4, atol=1e-3)
    # a held result is an input of the next call (a training loop): never its output buffer
    r4 = jf(x, r3)
    assert not np.shares_memory(r4, r3)
    np.testing.assert_allclose(r4, r3 - 0.5 * (x.T.astype(np.float64) @ x), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("backend", ["numexpr", "numpy"])
def test_mlp_step_other_back_ends(backend):
    """The numexpr back end (kernels writing into planned buffers) and the numpy one plan
    the same scratch and result buffers."""
    if backend == "numexpr":
        pytest.importorskip("numexpr")
    fg.config.update("jit_backend", backend)
    try:
        params, x, y = init(7)
        lr = np.float32(0.05)
        jstep = fg.jit(step)
        assert "_scratch(" in jstep.lower(params, x, y, lr).source
        loss, new = jstep(params, x, y, lr)
        kept = [a.copy() for a in leaves(new)]
        jstep(*init(8), lr)
        loss0, new0 = numpy_step(params, x, y, 0.05)
        np.testing.assert_allclose(loss, loss0, rtol=1e-5)
        for a, k, b in zip(leaves(new), kept, leaves(new0)):
            np.testing.assert_array_equal(a, k)
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    finally:
        fg.config.update("jit_backend", "auto")


@pytest.mark.parametrize("which", ["cond", "scan", "fori"])
def test_scratch_values_through_control_flow(which):
    """A scratch-sized intermediate passed into a control-flow block, whose result may be
    that very buffer (a branch returning its operand, a loop's carry), is still returned as
    the caller's own array."""
    from funcgrad import lax

    rng = np.random.default_rng(9)
    x = rng.standard_normal((128, 512)).astype(np.float32)
    W = (rng.standard_normal((512, 512)) / 30).astype(np.float32)

    def f(x, W, p):
        z = x @ W
        if which == "cond":
            r = lax.cond(p > 0, lambda z: z, lambda z: z * 2.0, z)
        elif which == "scan":
            r, _ = lax.scan(lambda h, _: (fnp.tanh(h), None), z, None, length=p)
        else:
            r = lax.fori_loop(0, 2, lambda i, h: h * 0.5, z)
        return r, fnp.sum(z)

    def expected(x, W, p):
        z = x.astype(np.float64) @ W
        if which == "cond":
            return z if p > 0 else 2 * z
        if which == "scan":
            for _ in range(p):
                z = np.tanh(z)
            return z
        return z * 0.25

    p = 1 if which != "scan" else 3
    jf = fg.jit(f, static_argnums=(2,) if which == "scan" else ())
    r1, _ = jf(x, W, p)
    kept = r1.copy()
    r2, _ = jf(x * 3, W, p)
    np.testing.assert_array_equal(r1, kept)
    np.testing.assert_allclose(r1, expected(x, W, p), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(r2, expected(x * 3, W, p), rtol=1e-4, atol=1e-4)
    assert not np.shares_memory(r1, r2)
    for buf in scratch_pool_buffers():
        assert not np.shares_memory(r1, buf) and not np.shares_memory(r2, buf)


def test_loop_carry_taken_over_not_scratch():
    """An intermediate whose last use is a loop that takes it over as its carry stays the
    code's own buffer (no scratch, no copy at the loop's entry); the result is still fresh
    per call."""
    from funcgrad import lax

    rng = np.random.default_rng(11)
    x = rng.standard_normal((128, 512)).astype(np.float32)
    W = (rng.standard_normal((512, 512)) / 30).astype(np.float32)

    def f(x, W):
        r, _ = lax.scan(lambda h, _: (fnp.tanh(h), None), x @ W, None, length=3)
        return r

    jf = fg.jit(f)
    src = jf.lower(x, W).source
    assert "_scratch(" not in src and "np.array(" not in src
    r1 = jf(x, W)
    kept = r1.copy()
    r2 = jf(x * 2, W)
    np.testing.assert_array_equal(r1, kept)
    np.testing.assert_allclose(r1, np.tanh(np.tanh(np.tanh(x @ W))), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r2, np.tanh(np.tanh(np.tanh(2 * x @ W))), rtol=1e-5, atol=1e-6)
    assert not np.shares_memory(r1, r2)
