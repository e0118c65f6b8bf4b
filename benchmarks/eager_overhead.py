"""Per-primitive overhead of eager ``grad`` (issue 18 item 4), with autograd side by side.

A chain of n elementwise primitives (cycling sin, ·1.01, +0.1, tanh) on f64[8], then a sum;
the per-primitive overhead is (eager grad time − hand-written numpy forward+backward time) / n,
i.e. the Python cost funcgrad adds around the numpy calls; for n=300 also by CPU time (min
and median over batches), which the machine's other load inflates less. Also the seed
example's call, ``grad((w*x - y)**2)`` at w=1, x=2, y=4 on Python floats. Medians of
interleaved batches (``run.measure``); BLAS single-threaded. Peers are timed when importable.

Run:  PYTHONPATH=. python benchmarks/eager_overhead.py [--quick]
      PYTHONPATH=$PWD /work/venvs/ref/bin/python benchmarks/eager_overhead.py   (with autograd)
"""

from __future__ import annotations

import os
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import measure  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402

try:
    import autograd  # type: ignore[import-not-found]
    import autograd.numpy as anp  # type: ignore[import-not-found]
except ImportError:  # optional peer
    autograd = None


def chain_fn(np_, n):
    def f(x):
        for i in range(n):
            k = i % 4
            if k == 0:
                x = np_.sin(x)
            elif k == 1:
                x = x * 1.01
            elif k == 2:
                x = x + 0.1
            else:
                x = np_.tanh(x)
        return np_.sum(x)

    return f


def chain_by_hand(x, n):
    """The same chain's forward and backward in plain numpy: the floor."""
    saved = []
    for i in range(n):
        k = i % 4
        if k == 0:
            saved.append(x)
            x = np.sin(x)
        elif k == 1:
            x = x * 1.01
        elif k == 2:
            x = x + 0.1
        else:
            x = np.tanh(x)
            saved.append(x)
    np.sum(x)
    g = np.ones_like(x)
    for i in reversed(range(n)):
        k = i % 4
        if k == 0:
            g = g * np.cos(saved.pop())
        elif k == 1:
            g = g * 1.01
        elif k == 3:
            t = saved.pop()
            g = g * (1.0 - t * t)
    return g


def cpu_per_call(fns: dict, batches: int, calls: int = 20) -> dict:
    """(min, median) CPU seconds per call of each function (``time.process_time`` over
    interleaved batches): what the machine's other load does not add, unlike wall time."""
    for f in fns.values():
        f()
    samples: dict = {k: [] for k in fns}
    for _ in range(batches):
        for k, f in fns.items():
            t0 = time.process_time()
            for _ in range(calls):
                f()
            samples[k].append((time.process_time() - t0) / calls)
    return {k: (min(v), statistics.median(v)) for k, v in samples.items()}


def main() -> None:
    quick = "--quick" in sys.argv
    reps = 7 if quick else 21
    x = np.random.default_rng(0).standard_normal(8)
    print("eager grad of an n-primitive elementwise chain on f64[8] (per primitive, minus numpy)")
    for n in (10, 100, 300):
        g = fg.grad(chain_fn(fnp, n))
        np.testing.assert_allclose(g(x), chain_by_hand(x, n), rtol=1e-10)
        fns = {"numpy": lambda n=n: chain_by_hand(x, n), "funcgrad": lambda g=g: g(x)}
        if autograd is not None:
            ga = autograd.grad(chain_fn(anp, n))
            fns["autograd"] = lambda ga=ga: ga(x)
        t = measure(fns, repeats=reps)
        base = t["numpy"]
        row = f"  n={n:<4} numpy {base * 1e6:8.1f} us"
        for k in fns:
            if k != "numpy":
                per = (t[k] - base) / n * 1e6
                row += f" | {k} {t[k] * 1e6:8.1f} us = {per:5.2f} us/prim"
        print(row, flush=True)

    n = 300
    print(f"CPU time (process_time, min / median of {reps} batches), n={n}, per primitive:")
    g = fg.grad(chain_fn(fnp, n))
    fns = {"numpy": lambda: chain_by_hand(x, n), "funcgrad": lambda: g(x)}
    if autograd is not None:
        ga = autograd.grad(chain_fn(anp, n))
        fns["autograd"] = lambda: ga(x)
    c = cpu_per_call(fns, reps)
    row = "  "
    for k in fns:
        if k != "numpy":
            lo = (c[k][0] - c["numpy"][0]) / n * 1e6
            med = (c[k][1] - c["numpy"][1]) / n * 1e6
            row += f"{k} {lo:5.2f} / {med:5.2f} us/prim   "
    print(row.rstrip(), flush=True)

    print("seed example: grad((w*x - y)**2) at w=1.0, x=2.0, y=4.0 (Python floats)")

    def loss(w, x, y):
        return (w * x - y) ** 2

    g = fg.grad(loss)
    vg = fg.value_and_grad(loss)
    assert g(1.0, 2.0, 4.0) == -8.0
    fns = {
        "funcgrad grad": lambda: g(1.0, 2.0, 4.0),
        "funcgrad value_and_grad": lambda: vg(1.0, 2.0, 4.0),
    }
    if autograd is not None:
        ga = autograd.grad(loss)
        fns["autograd grad"] = lambda: ga(1.0, 2.0, 4.0)
    t = measure(fns, repeats=reps)
    for k, v in t.items():
        print(f"  {k:<26} {v * 1e6:8.1f} us", flush=True)


if __name__ == "__main__":
    main()
