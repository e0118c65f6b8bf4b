"""funcgrad.distributed benchmark: allreduce time against parameter count, and the data-parallel
example's step time on 1 vs 2 processes.

Run:  python benchmarks/bench_distributed.py [--quick]

It starts the measurements itself with ``mpirun -n 2`` (and ``-n 1``); needs the
``distributed`` extra. BLAS is single-threaded, so one process uses one core.

1. ``allreduce_mean`` of a gradient-like tree (4 float64 leaves: 70/15/10/5 % of the total) of
   1 k … 10 M floats on 2 processes, against one raw mpi4py ``Allreduce`` of one buffer of the
   same size: in place in a preallocated buffer (the limit, but it overwrites its input), and
   into a freshly allocated buffer (the limit for a function that returns new arrays, as a
   functional API must). Medians of interleaved repeats; the tree's first call (the structure
   check) is excluded.
2. ``examples/distributed_training.py`` (digits MLP, jitted step with one ``allreduce_sum`` of
   the gradients) on 1 and 2 processes: median step time, for the example's default model
   (hidden 256, global batch 128) and a larger one (hidden 1024, global batch 512); the
   example reports the median over the epochs after the first.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YIELD = False  # --yield: waiting processes yield the core (OMPI_MCA_mpi_yield_when_idle=1)
SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
FRACTIONS = (0.70, 0.15, 0.10, 0.05)


def worker(quick: bool) -> None:
    from funcgrad import distributed as dist
    from funcgrad.primitives.collectives import state

    dist.initialize()
    comm, MPI = state.comm, state.mpi
    rank = dist.process_index()
    rows = []
    for n in SIZES:
        sizes = [int(n * f) for f in FRACTIONS]
        sizes[0] += n - sum(sizes)
        tree = {f"layer{i}": np.full(s, rank + 1.0) for i, s in enumerate(sizes)}
        raw = np.full(n, rank + 1.0)
        repeats = 7 if n >= 10_000_000 else (15 if n >= 1_000_000 else 101)
        if quick:
            repeats = min(repeats, 5)
        dist.allreduce_mean(tree)  # first call: the one-time structure check
        t_fg, t_raw, t_fresh = [], [], []
        for _ in range(repeats):
            comm.Barrier()
            t0 = time.perf_counter()
            out = dist.allreduce_mean(tree)
            t_fg.append(time.perf_counter() - t0)
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM)
            t_raw.append(time.perf_counter() - t0)
            comm.Barrier()
            t0 = time.perf_counter()
            fresh = np.empty(n)
            comm.Allreduce(raw, fresh, op=MPI.SUM)
            t_fresh.append(time.perf_counter() - t0)
        assert np.all(out["layer0"] == 1.5)
        rows.append((n, *(statistics.median(t) for t in (t_fg, t_raw, t_fresh))))
    if rank == 0:
        for n, a, b, c in rows:
            print(f"ROW {n} {a:.9f} {b:.9f} {c:.9f}", flush=True)


def launch(n: int, *cmd: str, timeout: float = 900) -> str:
    from funcgrad import distributed as dist

    env = dist._launcher_env(yield_when_idle=YIELD)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [*dist._launcher_command(n), sys.executable, *cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"{cmd} on {n} processes failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def fmt(t: float) -> str:
    return f"{t * 1e6:.0f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs")
    parser.add_argument("--yield", dest="yield_", action="store_true", help="MPI yields when idle")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global YIELD
    YIELD = args.yield_
    if args.worker:
        worker(args.quick)
        return

    here = os.path.abspath(__file__)
    print("allreduce_mean of a 4-leaf float64 tree, 2 processes (median per call)")
    print(
        "| floats | MB | funcgrad `allreduce_mean` (4 leaves) | raw `Allreduce` in place "
        "| ratio | raw `Allreduce` into a fresh buffer | ratio |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    out = launch(2, here, "--worker", *(["--quick"] if args.quick else []))
    for line in out.splitlines():
        if line.startswith("ROW "):
            _, n, a, b, c = line.split()
            n, a, b, c = int(n), float(a), float(b), float(c)
            print(
                f"| {n:,} | {n * 8 / 1e6:.3g} | {fmt(a)} | {fmt(b)} | {a / b:.2f} "
                f"| {fmt(c)} | {a / c:.2f} |"
            )

    example = os.path.join(ROOT, "examples", "distributed_training.py")
    epochs = "2" if args.quick else "5"
    print("\nexamples/distributed_training.py, median step time (jitted step incl. allreduce)")
    print("| model | 1 process | 2 processes | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for hidden, batch in ((256, 128), (1024, 512)):
        res = []
        for n in (1, 2):
            cmd = [example, "--hidden", str(hidden), "--batch-size", str(batch)]
            text = launch(n, *cmd, "--epochs", epochs)
            m = re.search(r"median step time: ([0-9.]+) ms", text)
            assert m, text
            res.append(float(m.group(1)))
        label = f"64-{hidden}-10, global batch {batch}"
        print(f"| {label} | {res[0]:.3f} ms | {res[1]:.3f} ms | {res[0] / res[1]:.2f}× |")


if __name__ == "__main__":
    main()
