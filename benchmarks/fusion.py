"""Fusion and buffer planning in jit (issue 18): each jit back end against hand-written numpy
forward + backward and JAX's jit, single-threaded, as ratios of medians of interleaved
batches (``run.measure``).

Run:  PYTHONPATH=. python benchmarks/fusion.py [--only chain mlp per-example compile sizes tiers]
With JAX as the peer:  PYTHONPATH=$PWD /work/venvs/ref/bin/python benchmarks/fusion.py

Numba kernels are compiled into a temporary cache directory (``FUNCGRAD_KERNEL_CACHE``)
unless one is set; their first-call compile time is reported separately.

``[auto]`` rows are measured after promotion (``jit_promote_after`` is set to 0 for them);
``tiers`` measures the default threshold: calls until promotion, the promotion's compile
cost with a cold and a warm kernel cache, and the promoted speed. ``sizes`` is the
measurement behind ``codegen.AUTO_NUMBA_MAX_ELEMENTS`` and numexpr's absence from auto.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

for _var in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("FUNCGRAD_KERNEL_CACHE", tempfile.mkdtemp(prefix="fg-kernels-"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from run import (  # noqa: E402
    chain_by_hand,
    chain_fn,
    jax,
    logistic_loss,
    measure,
    median_seconds,
    mlp_problem,
    mlp_step,
    numpy_mlp_step,
    peer_mlp_loss,
    per_example_problem,
)

if jax is not None:
    import jax.numpy as jnp  # type: ignore[import-not-found]
    import jax.scipy.special  # type: ignore[import-not-found]  # noqa: F401

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad.transforms.kernels import available  # noqa: E402

BACKENDS = [b for b in ("numpy", "numexpr", "numba", "auto") if b == "auto" or available(b)]
DEFAULT_PROMOTE_AFTER = fg.config.jit_promote_after


def _under(backend, f):
    """``f`` called with ``jit_backend`` set (jit's cache is keyed on it): one attribute
    store per call, so the measured function is the one compiled for that back end."""

    def call(*args):
        fg.config.jit_backend = backend
        return f(*args)

    return call


def _jit_per_backend(make, *args):
    """{backend: compiled function} (each compiled and run once under its back end) and the
    first-call times (trace + compile + numba's kernel compile)."""
    fns, first = {}, {}
    for b in BACKENDS:
        f = _under(b, fg.jit(make()))
        if b == "auto":  # promoted at the first call: measures auto's second tier
            fg.config.update("jit_promote_after", 0)
        t0 = time.perf_counter()
        f(*args)
        first[b] = time.perf_counter() - t0
        fg.config.update("jit_promote_after", DEFAULT_PROMOTE_AFTER)
        fns[b] = f
    fg.config.update("jit_backend", "auto")
    return fns, first


def _run(title, fns, baseline="hand-written numpy"):
    print(title, flush=True)
    times = measure(fns, repeats=21)
    for k, t in times.items():
        print(f"  {k:<32} {t * 1e6:12.1f} us  {t / times[baseline]:6.2f}x", flush=True)
    return times


def bench_chain() -> None:
    x = np.random.default_rng(0).standard_normal(100)
    f = chain_fn(fnp)
    want = chain_by_hand(x)
    fns, first = _jit_per_backend(lambda: fg.grad(f), x)
    for fn in fns.values():
        np.testing.assert_allclose(fn(x), want, rtol=1e-10)
    cases = {"hand-written numpy": lambda: chain_by_hand(x)}
    for b, fn in fns.items():
        cases[f"funcgrad jit(grad) [{b}]"] = lambda fn=fn: fn(x)
    if jax is not None:
        gj = jax.jit(jax.grad(chain_fn(jnp)))
        cases["JAX jit(grad)"] = lambda: gj(x).block_until_ready()
    _run("200-op elementwise chain, f64[100], jit(grad)", cases)
    print("  first call (trace+compile): " + ", ".join(f"{b} {t:.3f} s" for b, t in first.items()))


def _jax_mlp_step():
    """run.py's peer loss (the same network and cross-entropy) under JAX's jit + SGD."""
    loss = peer_mlp_loss(jnp, jax.scipy.special.logsumexp)

    def step(params, x, y, lr):
        lo, g = jax.value_and_grad(loss)(params, x, y)
        return lo, jax.tree_util.tree_map(lambda p, q: p - lr * q, params, g)

    return jax.jit(step)


def bench_mlp() -> None:
    params, x, y, lr = mlp_problem([784, 1024, 1024, 10], 256)
    l0, p0 = numpy_mlp_step(params, x, y, lr)
    fns, first = _jit_per_backend(lambda: mlp_step, params, x, y, lr)
    for fn in fns.values():
        lo, p = fn(params, x, y, lr)
        np.testing.assert_allclose(lo, l0, rtol=1e-4)
        for a, w in zip(fg.tree_util.tree_leaves(p), fg.tree_util.tree_leaves(p0)):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, w, rtol=1e-3, atol=1e-5)
    cases = {"hand-written numpy": lambda: numpy_mlp_step(params, x, y, lr)}
    for b, fn in fns.items():
        cases[f"funcgrad jit [{b}]"] = lambda fn=fn: fn(params, x, y, lr)
    if jax is not None:
        js = _jax_mlp_step()
        cases["JAX jit"] = lambda: jax.block_until_ready(js(params, x, y, lr))
    _run("MLP 784-1024-1024-10, batch 256, f32: value_and_grad + SGD step", cases)
    print("  first call (trace+compile): " + ", ".join(f"{b} {t:.3f} s" for b, t in first.items()))


def bench_per_example() -> None:
    w, X, Y, by_hand = per_example_problem()
    loss = logistic_loss(fnp)
    want = by_hand(w, X, Y)
    fns, _ = _jit_per_backend(lambda: fg.vmap(fg.grad(loss), in_axes=(None, 0, 0)), w, X, Y)
    for fn in fns.values():
        np.testing.assert_allclose(fn(w, X, Y), want, rtol=1e-8, atol=1e-12)
    cases = {"hand-written numpy": lambda: by_hand(w, X, Y)}
    for b, fn in fns.items():
        cases[f"funcgrad jit(vmap(grad)) [{b}]"] = lambda fn=fn: fn(w, X, Y)
    if jax is not None:
        pj = jax.jit(jax.vmap(jax.grad(logistic_loss(jnp)), in_axes=(None, 0, 0)))
        cases["JAX jit(vmap(grad))"] = lambda: pj(w, X, Y).block_until_ready()
    _run("per-example gradients: logistic regression, d = 100, batch 256", cases)


def bench_compile() -> None:
    print("trace + optimize + compile of jit(grad(f)) for an n-op program (median of 5)")
    x = np.linspace(0.1, 1.0, 10)
    times: dict[str, dict[int, float]] = {}
    for b in [b for b in BACKENDS if b != "numba"]:
        fg.config.update("jit_backend", b)
        times[b] = {}
        for n in (250, 500, 1000, 2000):

            def f(x, n=n):
                for i in range(n // 2):
                    x = fnp.sin(x) * (1.0 + 1e-3 * (i % 7))
                return fnp.sum(x)

            times[b][n] = median_seconds(lambda f=f: fg.jit(fg.grad(f)).lower(x), 5)
            print(f"  [{b}] n={n:5d}  {times[b][n] * 1e3:8.1f} ms", flush=True)
        ns = list(times[b])
        slope = np.polyfit(np.log(ns), np.log(list(times[b].values())), 1)[0]
        print(f"  [{b}] log-log slope over n = 250..2000: {slope:.2f}")
    fg.config.update("jit_backend", "auto")
    if "numba" in BACKENDS:
        # numba compiles each kernel at its first call: a cold cache pays it, a warm one
        # loads the kernel from disk.
        fg.config.update("jit_backend", "numba")
        for n in (20, 100, 200):

            def f(x, n=n):
                for i in range(n // 2):
                    x = fnp.sin(x) * (1.0 + 1e-3 * (i % 7) + 1e-9 * n)
                return fnp.sum(x)

            t0 = time.perf_counter()
            fg.jit(fg.grad(f))(x)
            cold = time.perf_counter() - t0
            from funcgrad.transforms import kernels

            kernels.clear_memory_cache()
            t0 = time.perf_counter()
            fg.jit(fg.grad(f))(x)
            warm = time.perf_counter() - t0
            print(
                f"  [numba] n={n:4d} first call, cold disk cache {cold:.2f} s; "
                f"warm disk cache {warm:.3f} s"
            )
        fg.config.update("jit_backend", "auto")


def bench_sizes() -> None:
    """Each explicit back end against numpy on jit(grad) of 50-step chains at several vector
    sizes: transcendental (tanh(sin(x) * 1.01 + 0.1)) and arithmetic only."""

    def arith(x):
        for _ in range(50):
            x = (x * 0.99 + 0.1) * (x > 0.0) - x * 0.01
        return fnp.sum(x)

    for title, f in (("sin/tanh chain", chain_fn(fnp)), ("arithmetic chain", arith)):
        print(f"{title}, jit(grad), time / numpy back end's (median of 7 interleaved batches)")
        for n in (10, 100, 1000, 4000, 10000, 100000):
            x = np.random.default_rng(0).standard_normal(n)
            fns = {}
            for b in [b for b in BACKENDS if b != "auto"]:
                fg.config.update("jit_backend", b)
                g = fg.jit(fg.grad(f))
                g(x)
                fns[b] = _under(b, g)
            fg.config.update("jit_backend", "auto")
            times = measure({b: (lambda g=g: g(x)) for b, g in fns.items()}, repeats=7)
            row = ", ".join(
                f"{b} {t / times['numpy']:5.2f}x" for b, t in times.items() if b != "numpy"
            )
            print(f"  n={n:6d}  numpy {times['numpy'] * 1e6:10.1f} us; {row}", flush=True)


_PROMOTED = re.compile(
    r"promoted to numba after (\d+) calls? \(([\d.e+-]+) s on numpy.*compiled in ([\d.]+) ms"
)


def _promotion(g, *args):
    """Call ``g`` until its signature is promoted: (calls, seconds on numpy, compile ms)."""
    while True:
        for _ in range(20):
            g(*args)
        m = _PROMOTED.search(g.lower(*args).source)
        if m:
            return int(m.group(1)), float(m.group(2)), float(m.group(3))


def bench_tiers() -> None:
    """auto's tiers on the 200-op chain under the default jit_promote_after: how many calls
    until promotion, what the promotion costs with an empty and a warm kernel cache, and
    the promoted speed against numpy and JAX."""
    if not available("numba"):
        print("tiers: numba is not installed; auto stays on numpy")
        return
    from funcgrad.transforms import kernels

    x = np.random.default_rng(0).standard_normal(100)
    f = chain_fn(fnp)
    limit = fg.config.jit_promote_after
    print(f"auto's tiers, 200-op chain, f64[100], jit(grad), jit_promote_after={limit:g} s")
    d = tempfile.mkdtemp(prefix="fg-kernels-cold-")
    old = os.environ["FUNCGRAD_KERNEL_CACHE"]
    os.environ["FUNCGRAD_KERNEL_CACHE"] = d  # empty: numba compiles
    kernels.clear_memory_cache()
    g = fg.jit(fg.grad(f))
    t0 = time.perf_counter()
    calls, spent, cold_ms = _promotion(g, x)
    wall = time.perf_counter() - t0
    print(
        f"  promoted after {calls} calls ({spent:.2f} s on numpy, {wall:.2f} s wall incl. "
        f"the first compile and the promotion); promotion compile, cold cache {cold_ms:.0f} ms"
    )
    kernels.clear_memory_cache()  # as a new process: the kernels come from the disk cache
    g2 = fg.jit(fg.grad(f))
    _, _, warm_ms = _promotion(g2, x)
    print(f"  promotion compile, kernels in the disk cache, same process: {warm_ms:.0f} ms")
    # a new process: numba's import and initialization come on top of loading the kernel
    import subprocess

    code = (
        "import sys, numpy as np, funcgrad as fg, funcgrad.numpy as fnp\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from run import chain_fn\n"
        "fg.config.update('jit_promote_after', 0)\n"
        "g = fg.jit(fg.grad(chain_fn(fnp)))\n"
        "x = np.ones(100)\n"
        "g(x); g(x)\n"
        "print(g.lower(x).source)\n"
    )
    env = dict(os.environ, FUNCGRAD_KERNEL_CACHE=d, PYTHONPATH=os.pathsep.join(sys.path))
    for label, pre in (("", ""), (", numba imported before", "import numba\n")):
        r = subprocess.run(
            [sys.executable, "-c", pre + code], env=env, capture_output=True, text=True
        )
        m = _PROMOTED.search(r.stdout)
        got = f"{float(m.group(3)):.0f} ms" if m else f"failed: {r.stderr[-300:]}"
        print(f"  promotion compile, kernels in the disk cache, new process{label}: {got}")
    os.environ["FUNCGRAD_KERNEL_CACHE"] = old
    fg.config.update("jit_backend", "numpy")
    gn = fg.jit(fg.grad(f))
    gn(x)
    fg.config.update("jit_backend", "auto")
    np.testing.assert_allclose(g(x), chain_by_hand(x), rtol=1e-10)
    cases = {
        "hand-written numpy": lambda: chain_by_hand(x),
        "funcgrad [numpy]": _under("numpy", lambda: gn(x)),
        "funcgrad [auto], promoted": _under("auto", lambda: g(x)),
    }
    if jax is not None:
        gj = jax.jit(jax.grad(chain_fn(jnp)))
        cases["JAX jit(grad)"] = lambda: gj(x).block_until_ready()
    _run("  promoted speed", cases)


CASES = {
    "chain": bench_chain,
    "mlp": bench_mlp,
    "per-example": bench_per_example,
    "compile": bench_compile,
    "sizes": bench_sizes,
    "tiers": bench_tiers,
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=list(CASES))
    a = ap.parse_args()
    print(f"numpy {np.__version__}; back ends: {BACKENDS}; JAX: {jax is not None}")
    for name in a.only or list(CASES):
        CASES[name]()
