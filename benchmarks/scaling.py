"""Wall-clock scaling of tracing, jit's optimizer and grad over many pytree leaves.

The test suite asserts linear *work* (lines executed and C calls inside funcgrad, see
tests/_work.py), which does not depend on the machine's load; this script keeps the timings.
Each size is timed as the median of several runs with Python's cyclic GC paused (its cost
depends on everything else alive in the process), and the log-log slope between sizes is
printed (1.0 = linear).

    python benchmarks/scaling.py
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_passes import _big_ir  # noqa: E402

import funcgrad as fg  # noqa: E402
from funcgrad.transforms import passes  # noqa: E402


def chain(x, n):
    for _ in range(n):
        x = x * 1.0001 + 0.0
    return x


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        finally:
            gc.enable()
    return statistics.median(times)


def row(name: str, sizes, make, repeats: int) -> None:
    ts = [median_time(make(n), repeats) for n in sizes]
    parts = [f"{n}: {t * 1e3:.1f} ms" for n, t in zip(sizes, ts)]
    slopes = [
        math.log(ts[i + 1] / ts[i]) / math.log(sizes[i + 1] / sizes[i]) for i in range(len(ts) - 1)
    ]
    print(f"{name:<32} " + ", ".join(parts) + "   slopes " + ", ".join(f"{s:.2f}" for s in slopes))


def main() -> None:
    row(
        "make_ir of a chain (equations)",
        [10_000, 40_000, 100_000],
        lambda n: lambda: fg.make_ir(lambda x: chain(x, n // 2))(1.0),
        5,
    )
    irs = {n: _big_ir(n) for n in (2_000, 20_000, 100_000)}
    row("optimize (equations)", list(irs), lambda n: lambda: passes.optimize(irs[n]), 7)

    def grad_leaves(n):
        params = [np.ones(1) for _ in range(n)]
        f = fg.grad(lambda p: sum(np.sum(x) for x in p))
        return lambda: f(params)

    row("grad over pytree leaves", [150, 600, 2400], grad_leaves, 9)


if __name__ == "__main__":
    main()
