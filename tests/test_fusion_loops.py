"""Fused groups inside loop bodies that jit inlines (scan, fori_loop, while_loop): every back
end against hand-written numpy loops and closed-form gradients; carries and inputs are never
written into; the dead-buffer pool never hands a buffer that is still read to a later write."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.usefixtures("isolated_kernel_cache")  # (tests/conftest.py)


@pytest.fixture
def backend(jit_backend: str) -> str:
    return jit_backend


def rnn_loss(W: Any, xs: Any) -> Any:
    def step(h: Any, x: Any) -> Any:
        h = fnp.tanh(h @ W + x) * 0.5 + 0.1 * h
        return h, (h * h).sum()

    h, ys = lax.scan(step, fnp.zeros(W.shape[0]), xs)
    return ys.sum() + (h * h).sum()


def rnn_loss_and_grad_np(W: np.ndarray, xs: np.ndarray) -> tuple[float, np.ndarray]:
    """Hand-written forward and backward of ``rnn_loss``."""
    n = W.shape[0]
    hs = [np.zeros(n)]
    ts = []
    for x in xs:
        t = np.tanh(hs[-1] @ W + x)
        ts.append(t)
        hs.append(0.5 * t + 0.1 * hs[-1])
    loss = sum(float(h @ h) for h in hs[1:]) + float(hs[-1] @ hs[-1])
    gW = np.zeros_like(W)
    gh = 2 * hs[-1]
    for k in range(len(xs) - 1, -1, -1):
        gh = gh + 2 * hs[k + 1]  # d/dh of the per-step output
        ga = gh * 0.5 * (1 - ts[k] ** 2)
        gW += np.outer(hs[k], ga)
        gh = ga @ W.T + 0.1 * gh
    return loss, gW


def test_scan_body_groups_match_hand_written_gradient(backend: str) -> None:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 6)) * 0.3
    xs = rng.normal(size=(9, 6))
    W0, xs0 = W.copy(), xs.copy()
    f = fg.jit(fg.value_and_grad(rnn_loss))
    src = f.lower(W, xs).source
    # the forward and the backward loop bodies each hold a fused group
    loop_lines = [ln for ln in src.splitlines() if ln.startswith("        # fused group")]
    assert len(loop_lines) >= 2, src
    assert all(f"-> {backend}" in ln for ln in loop_lines), src
    loss, g = f(W, xs)
    want_loss, want_g = rnn_loss_and_grad_np(W, xs)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-13)
    # a second call gives the same numbers (no buffer kept from the first call is reused)
    loss2, g2 = f(W, xs)
    np.testing.assert_array_equal(g2, g)
    assert loss2 == loss
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(xs, xs0)


def test_fori_and_while_bodies_fuse_and_leave_carries_intact(backend: str) -> None:
    def f(x: Any) -> Any:
        def body(i: Any, c: Any) -> Any:
            return fnp.sin(c) * 0.9 + fnp.cos(c * 0.5) - 0.01 * c

        y = lax.fori_loop(0, 7, body, x)
        z = lax.while_loop(lambda c: c[0] < 3.0, lambda c: fnp.exp(c * 0.1) + c * 0.5 + 0.25, y)
        return y, z

    def f_np(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = x.copy()
        for _ in range(7):
            y = np.sin(y) * 0.9 + np.cos(y * 0.5) - 0.01 * y
        z = y.copy()
        while z[0] < 3.0:
            z = np.exp(z * 0.1) + z * 0.5 + 0.25
        return y, z

    x = np.linspace(-1.0, 1.0, 5)
    x0 = x.copy()
    jf = fg.jit(f)
    src = jf.lower(x).source
    assert sum("# fused group" in ln and f"-> {backend}" in ln for ln in src.splitlines()) >= 2
    y, z = jf(x)
    wy, wz = f_np(x)
    np.testing.assert_allclose(y, wy, rtol=1e-13)
    np.testing.assert_allclose(z, wz, rtol=1e-13)
    np.testing.assert_array_equal(x, x0)
    # results are the caller's own: writing into them changes nothing a later call sees
    y[...] = 0.0
    y2, _ = jf(x)
    np.testing.assert_allclose(y2, wy, rtol=1e-13)


def test_grad_through_fori_loop_with_fused_body_matches_finite_differences(backend: str) -> None:
    def f(x: Any) -> Any:
        def body(i: Any, c: Any) -> Any:
            return fnp.tanh(c * 1.3 + 0.2) * fnp.exp(-0.1 * c * c)

        return lax.fori_loop(0, 5, body, x).sum()

    def f_np(x: np.ndarray) -> float:
        for _ in range(5):
            x = np.tanh(x * 1.3 + 0.2) * np.exp(-0.1 * x * x)
        return float(x.sum())

    x = np.linspace(-0.8, 0.9, 4)
    g = fg.jit(fg.grad(f))(x)
    eps = 1e-6
    fd = np.array([(f_np(x + eps * e) - f_np(x - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
