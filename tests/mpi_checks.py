"""Checks of funcgrad.distributed run under ``mpirun -n P`` by tests/test_distributed.py.

Every process runs every check; process 0 prints one line per check, ``CHECK <name> ok`` or
``CHECK <name> FAIL <reason>`` (a failure on any process is reported by process 0). Expected
values are computed with plain numpy from every process's inputs (each process can generate
all of them: the inputs depend only on the process index).

    mpirun -n 2 python tests/mpi_checks.py        (or -n 3: uneven shards)
"""

from __future__ import annotations

import hashlib
import sys
import traceback
from collections.abc import Callable

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad.primitives.collectives import state
from funcgrad.tree_util import tree_leaves

dist.initialize()
P = dist.process_count()
R = dist.process_index()
RESULTS: list[tuple[str, str | None]] = []


def check(fn: Callable[[], None]) -> None:
    """Run one check on every process; gather the failures to process 0."""
    try:
        fn()
        err = None
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        err = f"process {R}: {type(e).__name__}: {e}".replace("\n", " | ")
        if "-v" in sys.argv:
            traceback.print_exc()
    errs = [e for e in state.comm.allgather(err) if e is not None]
    if R == 0:
        status = "ok" if not errs else "FAIL " + " ;; ".join(errs)
        print(f"CHECK {fn.__name__} {status}", flush=True)


def tree_for(r: int) -> dict:
    """A mixed-dtype tree whose values depend on the process index r."""
    rng = np.random.default_rng(100 + r)
    return {
        "f64": rng.normal(size=(3, 4)),
        "f32": rng.normal(size=5).astype(np.float32),
        "i32": rng.integers(-50, 50, size=(2, 2)).astype(np.int32),
        "i64": np.int64(r + 7),
        "c128": rng.normal(size=2) + 1j * rng.normal(size=2),
        "nested": [rng.normal(size=()), rng.normal(size=(2, 1)).astype(np.float32)],
    }


def assert_same_tree(got: dict, want: dict, exact: bool = False, rtol: float = 1e-6) -> None:
    g, w = tree_leaves(got), tree_leaves(want)
    assert len(g) == len(w), (len(g), len(w))
    for a, b in zip(g, w):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
        if exact:
            assert np.array_equal(a, b), f"{a} != {b}"
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0)


def sum_over(f: Callable[[int], dict]) -> dict:
    trees = [f(r) for r in range(P)]
    leaves = [tree_leaves(t) for t in trees]
    out = [
        np.asarray(sum(np.asarray(x[i]) for x in leaves)).astype(np.asarray(leaves[0][i]).dtype)
        for i in range(len(leaves[0]))
    ]
    return fg.tree_util.tree_unflatten(fg.tree_util.tree_structure(trees[0]), out)


# --- collectives ------------------------------------------------------------------------------


def broadcast_mixed() -> None:
    for root in range(P):
        got = dist.broadcast(tree_for(R), root=root)
        assert_same_tree(got, tree_for(root), exact=True)
    mine = tree_for(R)
    assert_same_tree(mine, tree_for(R), exact=True)  # the caller's tree is not modified


def allreduce_sum_mixed() -> None:
    mine = tree_for(R)
    got = dist.allreduce_sum(mine)
    assert_same_tree(got, sum_over(tree_for), rtol=1e-6)
    ints = [got["i32"], got["i64"]]
    want = sum_over(tree_for)
    assert np.array_equal(ints[0], want["i32"]) and ints[1] == want["i64"]
    assert_same_tree(mine, tree_for(R), exact=True)  # inputs untouched


def allreduce_mean_mixed() -> None:
    def floats(r: int) -> dict:
        t = tree_for(r)
        return {"f64": t["f64"], "f32": t["f32"], "c128": t["c128"], "nested": t["nested"]}

    got = dist.allreduce_mean(floats(R))
    s = sum_over(floats)
    want = fg.tree_util.tree_map(
        lambda x: (np.asarray(x) / np.asarray(P).astype(np.asarray(x).real.dtype)).astype(
            np.asarray(x).dtype
        ),
        s,
    )
    assert_same_tree(got, want, rtol=1e-6)


def allgather_mixed() -> None:
    def t(r: int) -> dict:
        d = tree_for(r)
        d["bool"] = np.array([r % 2 == 0, True, r == 1])
        return d

    got = dist.allgather(t(R))
    trees = [tree_leaves(t(r)) for r in range(P)]
    want = [np.stack([np.asarray(x[i]) for x in trees]) for i in range(len(trees[0]))]
    assert_same_tree(tree_leaves(got), want, exact=True)


def one_call_per_dtype() -> None:
    tree = tree_for(R)  # 5 dtypes: float64, float32, int32, int64, complex128
    dist.allreduce_sum(tree)  # first time: the structure check
    before = state.calls
    dist.allreduce_sum(tree)
    assert state.calls - before == 5, state.calls - before
    before = state.calls
    dist.allreduce_mean({"a": np.ones(3), "b": [np.ones((2, 2)), np.ones(4)]})
    assert state.calls - before == 1, state.calls - before


def vjp_jvp_rules() -> None:
    """grad through the collectives = the transposed collective of the cotangents."""
    rng = [np.random.default_rng(7 + r) for r in range(P)]
    xs = [g.normal(size=(3,)) for g in rng]
    cts = [g.normal(size=(3,)) for g in rng]
    x, ct = xs[R], cts[R]
    _, f = fg.vjp(lambda v: dist.allreduce_sum({"v": v})["v"], x)
    np.testing.assert_allclose(f(ct)[0], sum(cts), rtol=1e-13)
    _, f = fg.vjp(lambda v: dist.allreduce_mean(v), x)
    np.testing.assert_allclose(f(ct)[0], sum(cts) / P, rtol=1e-13)
    _, t = fg.jvp(lambda v: dist.allreduce_sum(v), (x,), (ct,))
    np.testing.assert_allclose(t, sum(cts), rtol=1e-13)
    # allgather: y = stack(x_q); the cotangent of x_r is sum_q ct_q[r]
    gct = [g.normal(size=(P, 3)) for g in rng]
    _, f = fg.vjp(lambda v: dist.allgather(v), x)
    np.testing.assert_allclose(f(gct[R])[0], sum(c[R] for c in gct), rtol=1e-13)
    _, t = fg.jvp(lambda v: dist.allgather(v), (x,), (ct,))
    np.testing.assert_array_equal(t, np.stack(cts))
    # a mixed-dtype tree: the transpose is one reduce-scatter per dtype; also under jit
    rng2 = [np.random.default_rng(70 + r) for r in range(P)]
    cta = [g.normal(size=(P, 3)) for g in rng2]
    ctb = [g.normal(size=(P, 2)).astype(np.float32) for g in rng2]
    tree = {"a": x, "b": x[:2].astype(np.float32)}

    def pullback(t, c):
        return fg.vjp(dist.allgather, t)[1](c)[0]

    for fn in (pullback, fg.jit(pullback)):
        got = fn(tree, {"a": cta[R], "b": ctb[R]})
        assert got["b"].dtype == np.float32, got["b"].dtype
        np.testing.assert_allclose(got["a"], sum(c[R] for c in cta), rtol=1e-13)
        np.testing.assert_allclose(got["b"], sum(c[R] for c in ctb), rtol=1e-6)
    # broadcast from the last process: only it receives the summed cotangent
    root = P - 1
    _, f = fg.vjp(lambda v: dist.broadcast(v, root=root), x)
    want = sum(cts) if R == root else np.zeros(3)
    np.testing.assert_allclose(f(ct)[0], want, rtol=1e-13)
    # grad of a scalar through allreduce_sum: every process's objective counts
    g = fg.grad(lambda v: dist.allreduce_sum(fnp.sum(v**2)))(x)
    np.testing.assert_allclose(g, P * 2 * x, rtol=1e-13)
    # vmap over a batch of trees
    out = fg.vmap(lambda v: dist.allreduce_sum(v))(np.stack([x, 2 * x]))
    np.testing.assert_allclose(out, np.stack([sum(xs), 2 * sum(xs)]), rtol=1e-13)


# --- data-parallel gradients --------------------------------------------------------------------

N, D, H = 12, 5, 4


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, D)), rng.normal(size=(N, 2))


def init() -> dict:
    rng = np.random.default_rng(1)
    return {
        "W1": rng.normal(size=(D, H)),
        "b1": rng.normal(size=H),
        "W2": rng.normal(size=(H, 2)),
        "b2": rng.normal(size=2),
    }


def local_loss(p: dict, x, y, n_total: int):
    """This process's share of the full-batch mean squared error: sum over its examples / N."""
    h = fnp.tanh(x @ p["W1"] + p["b1"])
    return fnp.sum((h @ p["W2"] + p["b2"] - y) ** 2) / n_total


def numpy_full_grad(p: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """The full-batch gradient, by hand in numpy."""
    z = x @ p["W1"] + p["b1"]
    h = np.tanh(z)
    r = 2 * (h @ p["W2"] + p["b2"] - y) / len(x)
    dh = (r @ p["W2"].T) * (1 - h**2)
    return {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ r, "b2": r.sum(0)}


def half_batch_gradient() -> None:
    x, y = data()
    p = init()
    xs, ys = dist.shard((x, y))
    sizes = [len(a) for a in np.array_split(np.arange(N), P)]
    assert len(xs) == sizes[R], (len(xs), sizes)
    g = dist.allreduce_sum(fg.grad(local_loss)(p, xs, ys, N))
    want = numpy_full_grad(p, x, y)
    for k in p:
        np.testing.assert_allclose(g[k], want[k], rtol=1e-12, atol=0)


def shard_contiguous() -> None:
    x = np.arange(3 * 10).reshape(3, 10)
    got = dist.shard({"a": x, "b": x[:2]}, axis=1)
    parts = np.array_split(x, P, axis=1)
    np.testing.assert_array_equal(got["a"], parts[R])
    back = dist.allgather({"n": np.int64(got["a"].shape[1])})["n"]
    assert list(back) == [p.shape[1] for p in parts], back


def params_digest(tree) -> np.ndarray:
    h = hashlib.sha256()
    for leaf in tree_leaves(tree):
        h.update(np.ascontiguousarray(leaf).tobytes())
    return np.frombuffer(h.digest(), np.uint8).copy()


def jitted_step() -> None:
    """A jitted SGD step with the gradient allreduce inside; 3 steps match numpy SGD on the full
    batch, and the parameters are bitwise the same on every process."""
    x, y = data()
    xs, ys = dist.shard((x, y))
    lr = 0.1

    @fg.jit
    def step(p, xb, yb):
        g = dist.allreduce_sum(fg.grad(local_loss)(p, xb, yb, N))
        return {k: p[k] - lr * g[k] for k in p}

    text = str(fg.make_ir(lambda p: step(p, xs, ys))(init()))
    assert "allreduce" in text, text
    p = dist.broadcast(init())
    ref = init()
    for _ in range(3):
        p = step(p, xs, ys)
        g = numpy_full_grad(ref, x, y)
        ref = {k: ref[k] - lr * g[k] for k in ref}
    for k in p:
        np.testing.assert_allclose(p[k], ref[k], rtol=1e-12, atol=1e-15)
    digests = dist.allgather(params_digest(p))
    assert all(np.array_equal(d, digests[0]) for d in digests), "params differ between processes"


def structure_mismatch_named() -> None:
    def expect(tree: dict, *words: str) -> None:
        try:
            dist.allreduce_sum(tree)
        except ValueError as e:
            msg = str(e)
            assert "differs between processes" in msg, msg
            for w in words:
                assert w in msg, (w, msg)
        else:
            raise AssertionError("no error for a tree that differs between processes")

    last = P - 1
    expect({"w": np.ones(4 if R == last else 3)}, "['w']", "float64[3]", "float64[4]")
    expect({"v": np.ones(2, np.float32 if R == last else np.float64)}, "float32", "float64")
    expect({"a": np.ones(2), ("b" if R == last else "c"): np.ones(2)}, "['b']", "['c']")
    # after the errors, the communicator still works
    got = dist.allreduce_sum({"ok": np.ones(1)})
    assert got["ok"][0] == P


for c in [
    broadcast_mixed,
    allreduce_sum_mixed,
    allreduce_mean_mixed,
    allgather_mixed,
    one_call_per_dtype,
    vjp_jvp_rules,
    half_batch_gradient,
    shard_contiguous,
    jitted_step,
    structure_mismatch_named,
]:
    check(c)
if R == 0:
    print(f"DONE {P}", flush=True)
