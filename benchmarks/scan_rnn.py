"""tanh RNN through ``lax.scan``: ``jit(grad)`` against a hand-written numpy forward + backward
and JAX's ``jit(grad)``, single-threaded BLAS, medians of interleaved batches.

Run:  python benchmarks/scan_rnn.py [--repeats 21] [--hidden 64] [--steps 100] [--batch 32]
With JAX: PYTHONPATH=<worktree> /work/venvs/ref/bin/python benchmarks/scan_rnn.py

The loss is ``sum(h_T ** 2)`` of ``h_t = tanh(h_{t-1} @ Wh + x_t @ Wx)``; the gradient is taken
with respect to ``Wh`` and ``Wx``. Under ``jit`` both scans (the forward, which stores the
residuals, and the transposed backward scan) are inlined into one generated function as two
Python ``for`` loops (see ``--show-source``).
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
    if _var == "XLA_FLAGS":
        os.environ.setdefault(
            _var, "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    else:
        os.environ.setdefault(_var, "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from run import measure, rnn_by_hand, rnn_loss  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad import lax  # noqa: E402

try:
    import jax  # type: ignore[import-not-found]
    import jax.numpy as jnp  # type: ignore[import-not-found]

    jax.config.update("jax_enable_x64", True)
except ImportError:  # optional peer
    jax = None


def make_problem(H: int, T: int, B: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    Wh = rng.standard_normal((H, H)) * 0.1
    Wx = rng.standard_normal((H, H)) * 0.1
    xs = rng.standard_normal((T, B, H))
    h0 = np.zeros((B, H))
    return Wh, Wx, xs, h0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--show-source", action="store_true")
    a = ap.parse_args()
    H, T, B = a.hidden, a.steps, a.batch
    Wh, Wx, xs, h0 = make_problem(H, T, B)
    g = fg.jit(fg.grad(rnn_loss(fnp, lax, h0), argnums=(0, 1)))
    got = g(Wh, Wx, xs)
    want = rnn_by_hand(Wh, Wx, xs, h0)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-9, atol=1e-12)
    if a.show_source:
        print(g.lower(Wh, Wx, xs).source)
    print(f"tanh RNN via lax.scan: hidden {H}, {T} steps, batch {B}, grad wrt (Wh, Wx), f64")
    ge = fg.grad(rnn_loss(fnp, lax, h0), argnums=(0, 1))
    np.testing.assert_allclose(ge(Wh, Wx, xs)[0], want[0], rtol=1e-9, atol=1e-12)
    fns = {
        "hand-written numpy": lambda: rnn_by_hand(Wh, Wx, xs, h0),
        "funcgrad jit(grad)": lambda: g(Wh, Wx, xs),
        "funcgrad grad (eager)": lambda: ge(Wh, Wx, xs),
    }
    if jax is not None:
        jloss = rnn_loss(jnp, jax.lax, jnp.asarray(h0))
        gj = jax.jit(jax.grad(jloss, argnums=(0, 1)))
        jWh, jWx, jxs = (jnp.asarray(v) for v in (Wh, Wx, xs))
        jr = gj(jWh, jWx, jxs)
        np.testing.assert_allclose(np.asarray(jr[0]), want[0], rtol=1e-9, atol=1e-12)
        fns["JAX jit(grad)"] = lambda: jax.block_until_ready(gj(jWh, jWx, jxs))
    else:
        print("  (JAX not importable: skipped)")
    times = measure(fns, min_time=0.05, repeats=a.repeats)
    base = times["hand-written numpy"]
    for k, t in times.items():
        print(f"  {k:<24} {t * 1e3:9.3f} ms  {t / base:6.2f}x")


if __name__ == "__main__":
    main()
