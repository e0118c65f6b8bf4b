"""Costs of the seeing-what-happens tools (issue 17): tracing with backward-pass tagging,
to_dot of a 2x10^4-equation gradient IR, drawing, and explain vs grad. Medians of repeats.

Run: PYTHONPATH=. python benchmarks/viz_overhead.py [draw]   (draw: also the [viz] timings)
"""

import os
import statistics
import sys
import tempfile
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def chain(n):
    def f(x):
        for _ in range(n // 2):
            x = fnp.tanh(x) * 1.01
        return fnp.sum(x)

    return f


def med(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1e3 * statistics.median(ts)


def main():
    x = np.ones(4)
    f = chain(10000)
    print(f"make_ir(grad) 10^4 ops: {med(lambda: fg.make_ir(fg.grad(f))(x), 7):.1f} ms")
    g = chain(100)
    print(f"eager grad 100 ops: {med(lambda: fg.grad(g)(x), 51):.3f} ms")
    jc = med(lambda: fg.jit(fg.grad(chain(1000))).lower(x), 7)
    print(f"jit compile grad 1000 ops: {jc:.1f} ms")

    def loss(w, x, y):
        return fnp.mean((fnp.tanh(x @ w) - y) ** 2)

    w, X, Y = np.ones(3), np.ones((32, 3)), np.ones(32)
    ex = med(lambda: fg.explain(loss)(w, X, Y), 51)
    gr = med(lambda: fg.grad(loss)(w, X, Y), 51)
    print(f"explain of a small loss: {ex:.2f} ms (grad: {gr:.2f} ms)")
    ir = fg.make_ir(fg.grad(f))(x)
    print(f"to_dot folded ({len(ir.eqns)} eqns): {med(lambda: ir.to_dot(), 7):.1f} ms")
    full = med(lambda: ir.to_dot(group_by="none"), 5)
    print(f"to_dot unfolded ({len(ir.eqns)} eqns): {full:.1f} ms")
    if "draw" not in sys.argv[1:]:
        return
    from funcgrad import viz

    small = fg.make_ir(fg.grad(chain(40)))(x)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "a.png")
        for engine in ("matplotlib", "graphviz"):
            t = med(lambda: viz.draw(small, p, engine=engine, dpi=60), 3)
            print(f"draw {len(small.eqns)}-eqn grad IR, {engine} png: {t:.0f} ms")
        t = med(lambda: viz.draw(ir, p, engine="matplotlib"), 3)
        print(f"draw folded {len(ir.eqns)}-eqn IR, matplotlib png: {t:.0f} ms")


if __name__ == "__main__":
    main()
