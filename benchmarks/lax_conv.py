"""Benchmark of funcgrad.lax convolution and pooling: value_and_grad of a small conv net
layer (conv 3x3 SAME + ReLU + 2x2 max pool + sum of squares), funcgrad (eager and jit) against
a hand-written numpy forward+backward (im2col with einsum, the same algorithm), and JAX when
importable. Medians of many repeats, batches interleaved.

Run:  python benchmarks/lax_conv.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad import lax  # noqa: E402

try:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax  # type: ignore[import-not-found]
    import jax.numpy as jnp  # type: ignore[import-not-found]

    jax.config.update("jax_enable_x64", True)
except ImportError:  # optional peer
    jax = None


def loss_fg(w, x):
    y = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    y = fnp.maximum(y, 0.0)
    p = lax.reduce_window(y, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return fnp.sum(p**2)


def numpy_value_and_grad(w, x):
    """Hand-written forward and backward of the same layer (NHWC, 3x3 SAME, 2x2 pool)."""
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    patches = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # n,h,w,c,3,3
    y = np.einsum("nhwcij,ijco->nhwo", patches, w, optimize=True)
    r = np.maximum(y, 0.0)
    blocks = r.reshape(n, h // 2, 2, wd // 2, 2, -1)
    p = blocks.max(axis=(2, 4))
    val = np.sum(p**2)
    gp = 2 * p
    mask = blocks == p[:, :, None, :, None, :]
    gr = (mask * gp[:, :, None, :, None, :]).reshape(r.shape)
    gy = gr * (y > 0)
    gw = np.einsum("nhwcij,nhwo->ijco", patches, gy, optimize=True)
    return val, gw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    reps = 5 if args.quick else 41
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 28, 28, 8))
    w = rng.normal(size=(3, 3, 8, 16)) * 0.1
    vg = fg.value_and_grad(loss_fg)
    jvg = fg.jit(vg)
    v0, g0 = numpy_value_and_grad(w, x)
    v1, g1 = jvg(w, x)
    assert np.allclose(v0, v1) and np.allclose(g0, g1), "implementations disagree"
    cases = {
        "hand-written numpy fwd+bwd": lambda: numpy_value_and_grad(w, x),
        "funcgrad eager value_and_grad": lambda: vg(w, x),
        "funcgrad jit(value_and_grad)": lambda: jvg(w, x),
    }
    if jax is not None:
        jl = jax.jit(
            jax.value_and_grad(
                lambda w, x: jnp.sum(
                    jax.lax.reduce_window(
                        jnp.maximum(
                            jax.lax.conv_general_dilated(
                                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
                            ),
                            0.0,
                        ),
                        -jnp.inf,
                        jax.lax.max,
                        (1, 2, 2, 1),
                        (1, 2, 2, 1),
                        "VALID",
                    )
                    ** 2
                )
            )
        )
        cases["JAX jit(value_and_grad)"] = lambda: jax.block_until_ready(jl(w, x))
    for f in cases.values():  # warm up (and compile)
        f()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(reps):  # interleaved: background load affects every case alike
        for name, f in cases.items():
            t = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t)
    base = statistics.median(times["hand-written numpy fwd+bwd"])
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:34s} {t * 1e3:9.2f} ms  {t / base:6.2f}x")


if __name__ == "__main__":
    main()
