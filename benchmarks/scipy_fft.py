"""Benchmarks for funcgrad.scipy and funcgrad.numpy.fft: gradients of typical losses,
funcgrad (eager and jit) against hand-written numpy forward+backward, and JAX when
importable. Medians of many repeats.

Run:  python benchmarks/scipy_fft.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import scipy.special as sc  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad.scipy import linalg as fla  # noqa: E402
from funcgrad.scipy import special as fsp  # noqa: E402
from funcgrad.scipy import stats as fst  # noqa: E402

try:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax  # type: ignore[import-not-found]
    import jax.numpy as jnp  # type: ignore[import-not-found]
    import jax.scipy as jsp  # type: ignore[import-not-found]

    jax.config.update("jax_enable_x64", True)
except ImportError:  # optional peer
    jax = None


def median_time(f, repeats: int) -> float:
    f()  # warm up (and compile)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def row(task: str, entries: list[tuple[str, float]]) -> None:
    base = entries[0][1]
    for i, (name, t) in enumerate(entries):
        print(f"| {task if i == 0 else ''} | {name} | {t * 1e6:.1f} µs | {t / base:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    reps = 20 if args.quick else 200
    rng = np.random.default_rng(0)
    print("| task | implementation | median | ratio to numpy |")
    print("| --- | --- | ---: | ---: |")

    # 1. Student-t negative log-likelihood, gradient in (loc, scale), n = 10 000
    x = rng.standard_normal(10_000)
    df = 4.0

    def nll(p):
        return -fnp.sum(fst.t.logpdf(x, df, p[0], p[1]))

    def nll_np():
        loc, scale = 0.1, 1.3
        z = (x - loc) / scale
        w = (df + 1) * z / (df + z * z)
        return np.array([-np.sum(w) / scale, np.sum(1.0 - w * z) / scale])

    p0 = np.array([0.1, 1.3])
    np.testing.assert_allclose(fg.grad(nll)(p0), nll_np(), rtol=1e-9)
    entries = [
        ("hand-written numpy", median_time(nll_np, reps)),
        ("funcgrad `grad`", median_time(lambda: fg.grad(nll)(p0), reps)),
    ]
    jg = fg.jit(fg.grad(nll))
    entries.append(("funcgrad `jit(grad)`", median_time(lambda: jg(p0), reps)))
    if jax is not None:
        jx = jnp.asarray(x)
        jgrad = jax.jit(jax.grad(lambda p: -jnp.sum(jsp.stats.t.logpdf(jx, df, p[0], p[1]))))
        entries.append(
            ("JAX `jit(grad)`", median_time(lambda: jgrad(p0).block_until_ready(), reps))
        )
    row("t.logpdf NLL grad, n=10⁴", entries)

    # 2. erf-based loss: sum(erf(a x)^2), gradient in x, n = 10 000
    def erf_loss(v):
        return fnp.sum(fsp.erf(v) ** 2)

    def erf_np():
        e = sc.erf(x)
        return 2 * e * (2 / np.sqrt(np.pi)) * np.exp(-x * x)

    np.testing.assert_allclose(fg.grad(erf_loss)(x), erf_np(), rtol=1e-12)
    je = fg.jit(fg.grad(erf_loss))
    entries = [
        ("hand-written numpy", median_time(erf_np, reps)),
        ("funcgrad `grad`", median_time(lambda: fg.grad(erf_loss)(x), reps)),
        ("funcgrad `jit(grad)`", median_time(lambda: je(x), reps)),
    ]
    if jax is not None:
        jerf = jax.jit(jax.grad(lambda v: jnp.sum(jsp.special.erf(v) ** 2)))
        entries.append(("JAX `jit(grad)`", median_time(lambda: jerf(x).block_until_ready(), reps)))
    row("Σ erf(x)² grad, n=10⁴", entries)

    # 3. FFT filter: sum(irfft(rfft(s) * h)^2), gradient in s, n = 4096
    n = 4096
    s = rng.standard_normal(n)
    h = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    c = np.full(n // 2 + 1, 2.0)
    c[0] = c[-1] = 1.0

    def fft_loss(v):
        return fnp.sum(fnp.fft.irfft(fnp.fft.rfft(v) * h) ** 2)

    def fft_np():
        y = np.fft.irfft(np.fft.rfft(s) * h)
        gy = 2 * y
        gz = c * np.fft.ihfft(gy)  # transpose of irfft
        return np.fft.hfft(gz * h / c, n)  # transpose of rfft

    np.testing.assert_allclose(fg.grad(fft_loss)(s), fft_np(), rtol=1e-9, atol=1e-12)
    jf = fg.jit(fg.grad(fft_loss))
    entries = [
        ("hand-written numpy", median_time(fft_np, reps)),
        ("funcgrad `grad`", median_time(lambda: fg.grad(fft_loss)(s), reps)),
        ("funcgrad `jit(grad)`", median_time(lambda: jf(s), reps)),
    ]
    if jax is not None:
        jh = jnp.asarray(h)
        jff = jax.jit(jax.grad(lambda v: jnp.sum(jnp.fft.irfft(jnp.fft.rfft(v) * jh) ** 2)))
        entries.append(("JAX `jit(grad)`", median_time(lambda: jff(s).block_until_ready(), reps)))
    row("Σ irfft(rfft(x)·h)² grad, n=4096", entries)

    # 4. expm gradient, 20 x 20
    a = 0.1 * rng.standard_normal((20, 20))
    w = rng.standard_normal((20, 20))

    def expm_loss(m):
        return fnp.sum(fla.expm(m) * w)

    import scipy.linalg as sl

    def expm_np():
        # the Fréchet derivative of expm at aᵀ along w (scipy's own routine)
        return sl.expm_frechet(a.T, w, compute_expm=False)

    np.testing.assert_allclose(fg.grad(expm_loss)(a), expm_np(), rtol=1e-9, atol=1e-12)
    jx2 = fg.jit(fg.grad(expm_loss))
    entries = [
        ("scipy `expm_frechet`", median_time(expm_np, reps)),
        ("funcgrad `grad`", median_time(lambda: fg.grad(expm_loss)(a), reps)),
        ("funcgrad `jit(grad)`", median_time(lambda: jx2(a), reps)),
    ]
    if jax is not None:
        jw = jnp.asarray(w)
        jexp = jax.jit(jax.grad(lambda m: jnp.sum(jsp.linalg.expm(m) * jw)))
        entries.append(("JAX `jit(grad)`", median_time(lambda: jexp(a).block_until_ready(), reps)))
    row("Σ expm(A)·W grad, 20×20", entries)
    print(
        f"\npython {sys.version.split()[0]}, numpy {np.__version__}, jax "
        f"{jax.__version__ if jax else 'not installed'}"
    )


if __name__ == "__main__":
    main()
