"""funcgrad.random benchmark: ``split`` + ``normal(key, (n,))`` against numpy's
``Generator.normal(size=n)`` (the practical limit: PCG64 + ziggurat in C), for both of
funcgrad's back ends (``config.random_backend`` "numpy" and "numba"), and JAX's
``random.normal`` when JAX is importable. Medians of interleaved batches (``run.measure``).

Run:  python benchmarks/bench_random.py [--sizes 10 1000 100000] [--compile-cost]

``--compile-cost`` times, in fresh processes, the first ``normal`` draw with the numba back end
with an empty numba cache (compilation) and with the cache filled (loading machine code).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from run import jax, measure  # noqa: E402  (sets BLAS threads, imports optional JAX)

import funcgrad as fg  # noqa: E402
import funcgrad.random as fr  # noqa: E402

try:
    import numba  # noqa: F401

    BACKENDS = ["numpy", "numba"]
except ImportError:
    BACKENDS = ["numpy"]


def _on(backend: str, fn):
    """``fn`` run with ``backend`` selected (set directly: the switch costs ~50 ns)."""

    def run():
        fg.config.random_backend = backend
        return fn()

    return run


def bench_normal(n: int) -> dict:
    key = fr.PRNGKey(0)
    gen = np.random.default_rng(0)

    def eager():
        _, sub = fr.split(key)
        return fr.normal(sub, (n,))

    jitted = fg.jit(lambda k: fr.normal(fr.split(k)[1], (n,)))
    fns = {"numpy Generator.normal": lambda: gen.normal(size=n)}
    for b in BACKENDS:
        fns[f"funcgrad split+normal ({b})"] = _on(b, eager)
        fns[f"funcgrad jit(split+normal) ({b})"] = _on(b, lambda: jitted(key))
        fns[f"funcgrad split+normal f32 ({b})"] = _on(
            b, lambda: fr.normal(fr.split(key)[1], (n,), np.float32)
        )
    if jax is not None:
        jkey = jax.random.PRNGKey(0)
        jfn = jax.jit(lambda k: jax.random.normal(jax.random.split(k)[1], (n,)))
        fns["JAX jit(split+normal)"] = lambda: jfn(jkey).block_until_ready()
    old = fg.config.random_backend
    try:
        return measure(fns)
    finally:
        fg.config.update("random_backend", old)


_FIRST_DRAW = (
    "import time; t = time.perf_counter(); import funcgrad as fg, funcgrad.random as fr; "
    "fg.config.update('random_backend', 'numba'); t1 = time.perf_counter(); "
    "fr.normal(fr.split(fr.PRNGKey(0))[1], (3,)); fr.normal(fr.PRNGKey(1), (3,), 'float32'); "
    "t2 = time.perf_counter(); print(f'{t1 - t:.2f} s import, {t2 - t1:.2f} s first draws')"
)


def compile_cost() -> None:
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        for label in ("empty numba cache (compiles)", "filled numba cache (loads)"):
            out = subprocess.run([sys.executable, "-c", _FIRST_DRAW], env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            print(f"  numba back end, {label}: {out.stdout.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000, 10000, 100000])
    ap.add_argument("--compile-cost", action="store_true")
    args = ap.parse_args()
    if args.compile_cost:
        compile_cost()
    for n in args.sizes:
        times = bench_normal(n)
        base = times["numpy Generator.normal"]
        print(f"normal, n = {n}:")
        for k, t in times.items():
            print(f"  {k:<40} {t * 1e6:10.1f} us  {t / base:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
