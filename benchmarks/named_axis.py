"""Collectives over named vmap axes: a per-example normalisation ``x / psum(x)`` and the
gradient of a ``pmean``-averaged loss, against hand-written numpy (and JAX, when importable).

Run:  python benchmarks/named_axis.py [--quick]
      PYTHONPATH=. /work/venvs/ref/bin/python benchmarks/named_axis.py   (JAX side by side)

Each row: median over interleaved repeats of one call, for ``jit(vmap(...))`` (the collectives
are resolved while tracing, so the compiled code is plain numpy) and for eager ``vmap`` (traced
on every call). Medians only; other processes on the machine make single timings noisy.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def _median(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 21 if args.quick else 201
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
    except ImportError:
        jax = None
    rng = np.random.default_rng(0)
    print(f"{'case':<34}{'numpy':>10}{'fg jit':>10}{'fg eager':>10}{'jax jit':>10}  (µs)")
    for n, d in [(8, 16), (256, 64), (4096, 128)]:
        x = rng.normal(size=(n, d))
        w = rng.normal(size=d)

        # 1. normalise by the sum over the batch
        def norm_np(x=x):
            return x / x.sum(0)

        def norm_fg(r):
            return r / lax.psum(r, "i")

        f_eager = fg.vmap(norm_fg, axis_name="i")
        f_jit = fg.jit(f_eager)
        np.testing.assert_allclose(f_jit(x), norm_np())
        row = [_median(norm_np, repeats), _median(lambda: f_jit(x), repeats)]
        row.append(_median(lambda: f_eager(x), repeats))
        if jax is not None:
            j = jax.jit(jax.vmap(lambda r: r / jax.lax.psum(r, "i"), axis_name="i"))
            xj = jnp.asarray(x)
            row.append(_median(lambda: j(xj).block_until_ready(), repeats))
        print(f"{'x / psum(x)  ' + str((n, d)):<34}" + "".join(f"{1e6 * t:>10.1f}" for t in row))

        # 2. per-example gradients of tanh(x.w)^2 averaged with pmean
        def grad_np(x=x):  # the mean over the batch of the per-example gradients
            z = np.tanh(x @ w)
            return (2 * z * (1 - z**2)) @ x / len(x)

        def step(w, r):
            return lax.pmean(fg.grad(lambda v: fnp.tanh(r @ v) ** 2)(w), "i")

        g_eager = fg.vmap(step, in_axes=(None, 0), axis_name="i")
        g_jit = fg.jit(g_eager)
        np.testing.assert_allclose(g_jit(w, x)[0], grad_np())
        row = [_median(grad_np, repeats), _median(lambda: g_jit(w, x), repeats)]
        row.append(_median(lambda: g_eager(w, x), repeats))
        if jax is not None:

            def jstep(w, r):
                return jax.lax.pmean(jax.grad(lambda v: jnp.tanh(r @ v) ** 2)(w), "i")

            j = jax.jit(jax.vmap(jstep, in_axes=(None, 0), axis_name="i"))
            wj, xj = jnp.asarray(w), jnp.asarray(x)
            row.append(_median(lambda: j(wj, xj).block_until_ready(), repeats))
        print(f"{'pmean(grad)  ' + str((n, d)):<34}" + "".join(f"{1e6 * t:>10.1f}" for t in row))


if __name__ == "__main__":
    main()
