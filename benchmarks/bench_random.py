"""funcgrad.random benchmark: ``split`` + ``normal(key, (n,))`` against numpy's
``Generator.normal(size=n)`` (the practical limit: PCG64 + ziggurat in C), and JAX's
``random.normal`` when JAX is importable. Medians of interleaved batches (``run.measure``).

Run:  python benchmarks/bench_random.py [--sizes 1000 100000]
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from run import jax, measure  # noqa: E402  (sets BLAS threads, imports optional JAX)

import funcgrad as fg  # noqa: E402
import funcgrad.random as fr  # noqa: E402


def bench_normal(n: int) -> dict:
    key = fr.PRNGKey(0)
    gen = np.random.default_rng(0)

    def eager():
        _, sub = fr.split(key)
        return fr.normal(sub, (n,))

    jitted = fg.jit(lambda k: fr.normal(fr.split(k)[1], (n,)))
    fns = {
        "numpy Generator.normal": lambda: gen.normal(size=n),
        "funcgrad split+normal (eager)": eager,
        "funcgrad jit(split+normal)": lambda: jitted(key),
        "funcgrad split+normal f32 (eager)": lambda: fr.normal(fr.split(key)[1], (n,), np.float32),
    }
    if jax is not None:
        jkey = jax.random.PRNGKey(0)
        jfn = jax.jit(lambda k: jax.random.normal(jax.random.split(k)[1], (n,)))
        fns["JAX jit(split+normal)"] = lambda: jfn(jkey).block_until_ready()
    return measure(fns)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 100000])
    args = ap.parse_args()
    for n in args.sizes:
        times = bench_normal(n)
        base = times["numpy Generator.normal"]
        print(f"normal, n = {n}:")
        for k, t in times.items():
            print(f"  {k:<36} {t * 1e6:10.1f} us  {t / base:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
