"""funcgrad benchmarks: funcgrad (eager and jit) against hand-written numpy forward+backward,
in one run, as ratios of medians of interleaved batches. Optional peers (JAX, autograd,
PyTorch) are timed side by side when importable (each case prints a note for a peer it skips);
every peer's result is checked against the hand-written numpy once before timing.

Run:  python benchmarks/run.py [--quick] [--only NAME ...]
With the peers: PYTHONPATH=<worktree> /work/venvs/ref/bin/python benchmarks/run.py

BLAS and XLA run single-threaded (set before numpy and JAX are imported) so ratios are stable
on 2 cores, and the process is pinned to one CPU: XLA 0.10's CPU runtime still ran matmuls on
two threads with those flags (1.66 CPU-seconds per second), which compared two cores with one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
if hasattr(os, "sched_setaffinity"):  # one CPU for every implementation (see above)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import numpy as np  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad import optim  # noqa: E402
from funcgrad.transforms import kernels  # noqa: E402

try:
    import autograd  # type: ignore[import-not-found]
    import autograd.numpy as anp  # type: ignore[import-not-found]
    import autograd.scipy.special as asp  # type: ignore[import-not-found]
except ImportError:  # optional peer
    autograd = None
try:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax  # type: ignore[import-not-found]
    import jax.numpy as jnp  # type: ignore[import-not-found]
    import jax.scipy.special as jsp  # type: ignore[import-not-found]

    jax.config.update("jax_enable_x64", True)
except ImportError:  # optional peer
    jax = None
try:
    import torch  # type: ignore[import-not-found]

    torch.set_num_threads(1)
except ImportError:  # optional peer
    torch = None


def _calls_per_batch(fn, min_time: float) -> int:
    fn()  # warm up (compiles, caches)
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > min_time or n > 1 << 20:
            return n
        n *= 4


def median_seconds(fn, reps: int) -> float:
    """Median wall time of ``reps`` single calls of ``fn`` (for one-off costs: compiles)."""
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def measure(fns: dict, *, min_time: float = 0.02, repeats: int = 21) -> dict:
    """Median seconds per call of each function. Batches of the different functions are
    interleaved, so background load affects them alike and the ratios stay meaningful."""
    counts = {k: _calls_per_batch(f, min_time) for k, f in fns.items()}
    samples: dict = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            n = counts[k]
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            samples[k].append((time.perf_counter() - t0) / n)
    return {k: statistics.median(v) for k, v in samples.items()}


def run_case(case: str, fns: dict, baseline: str, targets: dict | None = None) -> None:
    times = measure(fns)
    for k, t in times.items():
        report(case, k, t, times[baseline], (targets or {}).get(k, ""))


ROWS: list[tuple[str, str, float, float | None, str]] = []


def report(case: str, impl: str, seconds: float, baseline: float | None, target: str = "") -> None:
    ratio = seconds / baseline if baseline else None
    ROWS.append((case, impl, seconds, ratio, target))
    r = f"{ratio:8.2f}x" if ratio is not None else "        "
    print(f"  {impl:<28} {seconds * 1e6:12.1f} us  {r}  {target}", flush=True)


def skipped_peers(*names: str) -> None:
    """Print a note for each of the peers ``names`` ("jax", "autograd") not importable."""
    have = {"jax": jax is not None, "autograd": autograd is not None}
    for name in names:
        if not have[name]:
            print(f"  ({'JAX' if name == 'jax' else name} not importable: skipped)", flush=True)


def assert_close_tree(got, want, **tol) -> None:
    """``got`` (a peer's result: nested lists, tuples, dicts of arrays) equals ``want``."""
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        for k in want:
            assert_close_tree(got[k], want[k], **tol)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert_close_tree(a, b, **tol)
    else:
        got = np.asarray(got)
        assert got.dtype == np.asarray(want).dtype, (got.dtype, np.asarray(want).dtype)
        np.testing.assert_allclose(got, want, **tol)


# --- 1. seed neuron: per-call overhead ---------------------------------------------------
def bench_seed(quick: bool) -> None:
    print("seed neuron: grad of (w*x - y)**2 at w=1, x=2, y=4")
    w, x, y = 1.0, 2.0, 4.0

    def by_hand() -> float:
        return 2 * (w * x - y) * x

    def loss(w, x, y):
        return (w * x - y) ** 2

    g = fg.grad(loss)
    gj = fg.jit(fg.grad(loss))
    assert gj(w, x, y) == -8.0
    fns = {
        "hand-written Python": by_hand,
        "funcgrad eager grad": lambda: g(w, x, y),
        "funcgrad jit(grad)": lambda: gj(w, x, y),
    }
    if autograd is not None:
        ga = autograd.grad(loss)
        fns["autograd grad"] = lambda: ga(w, x, y)
    if jax is not None:
        gjax = jax.jit(jax.grad(loss))
        fns["JAX jit(grad)"] = lambda: gjax(w, x, y).block_until_ready()
    if torch is not None:

        def torch_grad():
            wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
            ((wt * x - y) ** 2).backward()
            return wt.grad

        fns["PyTorch backward"] = torch_grad
    skipped_peers("autograd", "jax")
    run_case("seed", fns, "hand-written Python", {"funcgrad jit(grad)": "target <= 40x"})


# --- 2. 200-op elementwise chain ---------------------------------------------------------
def chain_fn(np_):
    def f(x):
        for _ in range(50):  # 4 ops per step: sin, mul, add, tanh
            x = np_.tanh(np_.sin(x) * 1.01 + 0.1)
        return np_.sum(x)

    return f


def chain_by_hand(x: np.ndarray) -> np.ndarray:
    xs = []
    for _ in range(50):
        s = np.sin(x)
        t = np.tanh(s * 1.01 + 0.1)
        xs.append((x, t))
        x = t
    g = np.ones_like(x)
    for x_in, t in reversed(xs):
        g = g * (1.0 - t * t) * 1.01 * np.cos(x_in)
    return g


def bench_chain(quick: bool) -> None:
    print("200-op elementwise chain on a length-100 vector, forward + backward")
    x = np.random.default_rng(0).standard_normal(100)
    f = chain_fn(fnp)
    g = fg.grad(f)
    np.testing.assert_allclose(g(x), chain_by_hand(x), rtol=1e-10)
    gj = fg.jit(fg.grad(f))
    fns = {
        "hand-written numpy": lambda: chain_by_hand(x),
        "funcgrad eager grad": lambda: g(x),
        "funcgrad jit(grad)": lambda: gj(x),
    }
    if kernels.installed("numba"):
        # auto's second tier: what a signature runs once it has run jit_promote_after
        # seconds (2 s by default; promoted here at once, the numba compile is not timed)
        old = fg.config.jit_promote_after
        fg.config.update("jit_promote_after", 0.0)
        try:
            gp = fg.jit(fg.grad(f))
            for _ in range(3):
                np.testing.assert_allclose(gp(x), chain_by_hand(x), rtol=1e-10)
            assert "promoted to numba" in gp.lower(x).source
        finally:
            fg.config.update("jit_promote_after", old)
        fns["funcgrad jit(grad), promoted"] = lambda: gp(x)
    if autograd is not None:
        ga = autograd.grad(chain_fn(anp))
        fns["autograd grad"] = lambda: ga(x)
    if jax is not None:
        gjax = jax.jit(jax.grad(chain_fn(jnp)))
        fns["JAX jit(grad)"] = lambda: gjax(x).block_until_ready()
    skipped_peers("autograd", "jax")
    run_case(
        "chain",
        fns,
        "hand-written numpy",
        {"funcgrad eager grad": "target <= autograd", "funcgrad jit(grad)": "target <= 1.3x"},
    )


# --- 3/4. MLP training step ------------------------------------------------------------
def init_mlp(rng, sizes, dtype):
    return [
        {
            "W": (rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(dtype),
            "b": np.zeros(n, dtype),
        }
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def mlp_loss(params, x, y):
    h = x
    for layer in params[:-1]:
        z = h @ layer["W"] + layer["b"]
        h = z * (z > 0)  # relu; its derivative is one multiply by the saved mask
    logits = h @ params[-1]["W"] + params[-1]["b"]
    m = fg.stop_gradient(fnp.max(logits, axis=1, keepdims=True))
    shifted = logits - m
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=1, keepdims=True))
    return -fnp.sum(y * logp) / x.shape[0]


def mlp_step(params, x, y, lr):
    loss, grads = fg.value_and_grad(mlp_loss)(params, x, y)
    return loss, optim.sgd_update(params, grads, lr)


def numpy_mlp_step(params, x, y, lr):
    """Hand-written forward + backward + SGD, the practical limit."""
    hs, zs = [x], []
    h = x
    for layer in params[:-1]:
        z = h @ layer["W"] + layer["b"]
        zs.append(z)
        h = np.maximum(z, 0)
        hs.append(h)
    logits = h @ params[-1]["W"] + params[-1]["b"]
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = e.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.sum(y * (logits - m - np.log(s))) / n
    d = (e / s - y) / n
    new = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        W = params[i]["W"]
        gW = hs[i].T @ d
        gb = d.sum(axis=0)
        if i > 0:
            d = (d @ W.T) * (zs[i - 1] > 0)
        new[i] = {"W": W - lr * gW, "b": params[i]["b"] - lr * gb}
    return loss, new


def peer_mlp_loss(np_, logsumexp):
    """``mlp_loss`` for a peer: the same network and mean cross-entropy, with the peer's
    ``logsumexp`` in place of the max-shifted log-sum-exp (autograd has no stop_gradient)."""

    def loss(params, x, y):
        h = x
        for layer in params[:-1]:
            z = h @ layer["W"] + layer["b"]
            h = z * (z > 0)
        logits = h @ params[-1]["W"] + params[-1]["b"]
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return -np_.sum(y * logp) / x.shape[0]

    return loss


def mlp_peers(params, x, y, lr, want) -> dict:
    """JAX ``jit(value_and_grad)`` + SGD and autograd ``value_and_grad`` + SGD (eager) steps,
    each checked once against ``want`` = the hand-written numpy step's (loss, params)."""
    fns = {}
    if autograd is not None:
        vg = autograd.value_and_grad(peer_mlp_loss(anp, asp.logsumexp))

        def autograd_step():
            loss, grads = vg(params, x, y)
            new = [{k: p[k] - lr * g[k] for k in p} for p, g in zip(params, grads)]
            return loss, new

        assert_close_tree(autograd_step(), want, rtol=1e-3, atol=1e-5)
        fns["autograd eager"] = autograd_step
    if jax is not None:
        jloss = peer_mlp_loss(jnp, jsp.logsumexp)

        @jax.jit
        def jax_step(params, x, y, lr):
            loss, grads = jax.value_and_grad(jloss)(params, x, y)
            return loss, jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

        jp, jx, jy = jax.device_put((params, x, y))
        assert_close_tree(jax_step(jp, jx, jy, lr), want, rtol=1e-3, atol=1e-5)
        fns["JAX jit(value_and_grad)"] = lambda: jax.block_until_ready(jax_step(jp, jx, jy, lr))
    skipped_peers("autograd", "jax")
    return fns


def mlp_problem(sizes, batch):
    """float32 parameters, inputs, one-hot labels and learning rate of an MLP step."""
    rng = np.random.default_rng(0)
    params = init_mlp(rng, sizes, np.float32)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return params, x, y, np.float32(0.01)


def bench_mlp(sizes, batch, quick: bool, target: str) -> None:
    name = "MLP " + "-".join(map(str, sizes))
    print(f"{name}, batch {batch}, float32: one value_and_grad + SGD step")
    params, x, y, lr = mlp_problem(sizes, batch)
    l0, p0 = numpy_mlp_step(params, x, y, lr)
    l1, p1 = mlp_step(params, x, y, lr)
    step_j = fg.jit(mlp_step)
    l2, p2 = step_j(params, x, y, lr)
    np.testing.assert_allclose(l1, l0, rtol=1e-4)
    np.testing.assert_allclose(l2, l0, rtol=1e-4)
    for a, b in zip(fg.tree_util.tree_leaves(p2), fg.tree_util.tree_leaves(p0)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    run_case(
        name,
        {
            "hand-written numpy": lambda: numpy_mlp_step(params, x, y, lr),
            "funcgrad eager": lambda: mlp_step(params, x, y, lr),
            "funcgrad jit": lambda: step_j(params, x, y, lr),
            **mlp_peers(params, x, y, lr, (l0, p0)),
        },
        "hand-written numpy",
        {"funcgrad jit": target},
    )


# --- 5. RNN via lax.scan ---------------------------------------------------------------
def rnn_loss(np_, lax_, h0):
    """``sum(h_T ** 2)`` of the tanh RNN ``h_t = tanh(h_{t-1} @ Wh + x_t @ Wx)`` through
    ``lax_.scan`` (funcgrad's or JAX's), as a function of ``(Wh, Wx, xs)``."""

    def loss(Wh, Wx, xs):
        def step(h, x):
            h = np_.tanh(h @ Wh + x @ Wx)
            return h, None

        h, _ = lax_.scan(step, h0, xs)
        return np_.sum(h * h)

    return loss


def rnn_loop_loss(np_, h0):
    """The same loss as a Python loop over the steps (for autograd, which has no scan)."""

    def loss(Wh, Wx, xs):
        h = h0
        for t in range(xs.shape[0]):
            h = np_.tanh(h @ Wh + xs[t] @ Wx)
        return np_.sum(h * h)

    return loss


def rnn_by_hand(Wh, Wx, xs, h0):
    """Hand-written numpy forward + backward of ``rnn_loss`` wrt ``(Wh, Wx)`` (the practical
    limit of numpy calls)."""
    T = xs.shape[0]
    hs = [h0]
    h = h0
    for t in range(T):
        h = np.tanh(h @ Wh + xs[t] @ Wx)
        hs.append(h)
    gh = 2 * h
    gWh = np.zeros_like(Wh)
    gWx = np.zeros_like(Wx)
    WhT = Wh.T
    for t in range(T - 1, -1, -1):
        gz = gh * (1 - hs[t + 1] ** 2)
        gWh += hs[t].T @ gz
        gWx += xs[t].T @ gz
        gh = gz @ WhT
    return gWh, gWx


def bench_rnn(quick: bool) -> None:
    if not hasattr(fg, "lax"):
        print("RNN via lax.scan: skipped (funcgrad.lax not available)")
        return
    from funcgrad import lax

    print("tanh RNN via lax.scan: hidden 64, 100 steps, batch 32, grad wrt weights")
    rng = np.random.default_rng(0)
    H, T, B = 64, 100, 32
    Wh = rng.standard_normal((H, H)) * 0.1
    Wx = rng.standard_normal((H, H)) * 0.1
    xs = rng.standard_normal((T, B, H))
    h0 = np.zeros((B, H))

    g = fg.jit(fg.grad(rnn_loss(fnp, lax, h0), argnums=(0, 1)))
    want = rnn_by_hand(Wh, Wx, xs, h0)
    assert_close_tree(g(Wh, Wx, xs), want, rtol=1e-8, atol=1e-10)
    fns = {
        "hand-written numpy": lambda: rnn_by_hand(Wh, Wx, xs, h0),
        "funcgrad jit(grad)": lambda: g(Wh, Wx, xs),
    }
    if autograd is not None:
        ga = autograd.grad(rnn_loop_loss(anp, h0), argnum=(0, 1))
        assert_close_tree(ga(Wh, Wx, xs), want, rtol=1e-8, atol=1e-10)
        fns["autograd grad (Python loop)"] = lambda: ga(Wh, Wx, xs)
    if jax is not None:
        gj = jax.jit(jax.grad(rnn_loss(jnp, jax.lax, h0), argnums=(0, 1)))
        jWh, jWx, jxs = jax.device_put((Wh, Wx, xs))
        assert_close_tree(gj(jWh, jWx, jxs), want, rtol=1e-8, atol=1e-10)
        fns["JAX jit(grad)"] = lambda: jax.block_until_ready(gj(jWh, jWx, jxs))
    skipped_peers("autograd", "jax")
    run_case("rnn", fns, "hand-written numpy", {"funcgrad jit(grad)": "target <= 1.3x"})


# --- 6. trace + compile time ---------------------------------------------------------------
def bench_compile(quick: bool) -> None:
    print("trace + optimize + compile of jit(grad(f)) for an n-op program")
    x = np.linspace(0.1, 1.0, 10)
    times = {}
    for n in (100, 1000, 10000):

        def f(x, n=n):
            for i in range(n // 2):
                x = fnp.sin(x) * (1.0 + 1e-3 * (i % 7))
            return fnp.sum(x)

        def compile_once(f=f):
            fg.jit(fg.grad(f)).lower(x)

        reps = 3 if n >= 10000 else 7
        times[n] = median_seconds(compile_once, reps)
        tgt = "target < 0.25 s" if n == 1000 else ""
        report("compile", f"funcgrad n={n}", times[n], None, tgt)
        if jax is not None and n <= 1000:

            def jf(x, n=n):
                for i in range(n // 2):
                    x = jnp.sin(x) * (1.0 + 1e-3 * (i % 7))
                return jnp.sum(x)

            took = median_seconds(lambda jf=jf: jax.jit(jax.grad(jf)).lower(x).compile(), 3)
            report("compile", f"JAX n={n}", took, times[n])
    slope = np.polyfit(np.log(list(times)), np.log(list(times.values())), 1)[0]
    print(f"  log-log slope of compile time over n = 100..10000: {slope:.2f} (target <= 1.15)")
    ROWS.append(("compile", "log-log slope", slope, None, "target <= 1.15"))


# --- 7. per-example gradients (logistic regression) -------------------------------------
def logistic_loss(np_):
    """One example's logistic-regression loss ``log(1 + e^z) - y z``, ``z = x . w``."""

    def loss(w, x, y):
        z = np_.dot(x, w)
        return (
            np_.logaddexp(0.0, z) - y * z
            if hasattr(np_, "logaddexp")
            else (np_.log1p(np_.exp(z)) - y * z)
        )

    return loss


def per_example_problem():
    """Logistic regression, d = 100, batch 256: ``(w, X, Y)`` and the hand-written
    per-example gradients ``(sigmoid(X @ w) - Y)[:, None] * X``."""
    rng = np.random.default_rng(0)
    d, B = 100, 256
    w = rng.standard_normal(d) * 0.1
    X = rng.standard_normal((B, d))
    Y = (rng.random(B) > 0.5).astype(np.float64)
    return w, X, Y, per_example_by_hand


def per_example_by_hand(w, X, Y):
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return (p - Y)[:, None] * X


def bench_per_example(quick: bool) -> None:
    print("per-example gradients: logistic regression, d = 100, batch 256")
    w, X, Y, by_hand = per_example_problem()
    want = by_hand(w, X, Y)
    pe = fg.vmap(fg.grad(logistic_loss(fnp)), in_axes=(None, 0, 0))
    np.testing.assert_allclose(pe(w, X, Y), want, rtol=1e-8, atol=1e-12)
    pej = fg.jit(pe)
    fns = {
        "hand-written numpy": lambda: by_hand(w, X, Y),
        "funcgrad vmap(grad)": lambda: pe(w, X, Y),
        "funcgrad jit(vmap(grad))": lambda: pej(w, X, Y),
    }
    if autograd is not None:
        ga = autograd.grad(logistic_loss(anp))

        def autograd_loop():
            return np.stack([ga(w, X[i], Y[i]) for i in range(len(X))])

        assert_close_tree(autograd_loop(), want, rtol=1e-8, atol=1e-12)
        fns["autograd grad (Python loop)"] = autograd_loop
    if jax is not None:
        pejax = jax.jit(jax.vmap(jax.grad(logistic_loss(jnp)), in_axes=(None, 0, 0)))
        jw, jX, jY = jax.device_put((w, X, Y))
        assert_close_tree(pejax(jw, jX, jY), want, rtol=1e-8, atol=1e-12)
        fns["JAX jit(vmap(grad))"] = lambda: pejax(jw, jX, jY).block_until_ready()
    skipped_peers("autograd", "jax")
    run_case("per-example", fns, "hand-written numpy")


# --- 8. Hessian ---------------------------------------------------------------------------
def bench_hessian(quick: bool) -> None:
    print("Hessian of f(x) = sum(tanh(A x)^2), dim 50")
    rng = np.random.default_rng(0)
    n = 50
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)

    def f_of(np_):
        def f(x):
            return np_.sum(np_.tanh(A @ x) ** 2)

        return f

    def by_hand(x):
        t = np.tanh(A @ x)
        s = 1 - t * t
        # d2/dz2 of tanh(z)^2 = 2 s (s - 2 t^2)
        return A.T @ ((2 * s * (s - 2 * t * t))[:, None] * A)

    want = by_hand(x)
    h = fg.hessian(f_of(fnp))
    np.testing.assert_allclose(h(x), want, rtol=1e-8, atol=1e-10)
    hj = fg.jit(fg.hessian(f_of(fnp)))
    fns = {
        "hand-written numpy": lambda: by_hand(x),
        "funcgrad hessian": lambda: h(x),
        "funcgrad jit(hessian)": lambda: hj(x),
    }
    if autograd is not None:
        ha = autograd.hessian(f_of(anp))
        assert_close_tree(ha(x), want, rtol=1e-8, atol=1e-10)
        fns["autograd hessian"] = lambda: ha(x)
    if jax is not None:
        hjax = jax.jit(jax.hessian(f_of(jnp)))
        jx = jax.device_put(x)
        assert_close_tree(hjax(jx), want, rtol=1e-8, atol=1e-10)
        fns["JAX jit(hessian)"] = lambda: hjax(jx).block_until_ready()
    skipped_peers("autograd", "jax")
    run_case("hessian", fns, "hand-written numpy")


# --- 9. eager grad: overhead per primitive ----------------------------------------------------
def bench_eager(quick: bool) -> None:
    """``benchmarks/eager_overhead.py``'s chain of n elementwise primitives on f64[8]: eager
    grad time minus the hand-written numpy forward + backward, per primitive."""
    sys.modules.setdefault("run", sys.modules[__name__])  # eager_overhead imports run.measure
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import eager_overhead as eo

    n = 100
    print(f"eager grad, {n}-primitive elementwise chain on f64[8]: overhead per primitive")
    x = np.random.default_rng(0).standard_normal(8)
    want = eo.chain_by_hand(x, n)
    g = fg.grad(eo.chain_fn(fnp, n))
    np.testing.assert_allclose(g(x), want, rtol=1e-10)
    fns = {"hand-written numpy": lambda: eo.chain_by_hand(x, n), "funcgrad grad": lambda: g(x)}
    if autograd is not None:
        ga = autograd.grad(eo.chain_fn(anp, n))
        assert_close_tree(ga(x), want, rtol=1e-10)
        fns["autograd grad"] = lambda: ga(x)
    if jax is not None:
        gjax = jax.grad(eo.chain_fn(jnp, n))  # no jit: JAX's op-by-op dispatch
        jx = jax.device_put(x)
        assert_close_tree(gjax(jx), want, rtol=1e-10)
        fns["JAX grad (no jit)"] = lambda: gjax(jx).block_until_ready()
    skipped_peers("autograd", "jax")
    times = measure(fns, repeats=7 if quick else 21)
    base = times["hand-written numpy"]
    for k, t in times.items():
        report("eager", k, t, base)
    for k, t in times.items():
        if k != "hand-written numpy":
            report("eager", f"{k} per prim", (t - base) / n, None)


CASES = {
    "seed": bench_seed,
    "chain": bench_chain,
    "mlp_small": lambda q: bench_mlp([64, 128, 128, 10], 128, q, "target <= 1.15x"),
    "mlp_large": lambda q: bench_mlp([784, 1024, 1024, 10], 256, q, "target <= 1.05x"),
    "rnn": bench_rnn,
    "compile": bench_compile,
    "per_example": bench_per_example,
    "hessian": bench_hessian,
    "eager": bench_eager,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(CASES))
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, funcgrad {fg.__version__}; "
        f"peers: autograd={'yes' if autograd else 'no'}, jax={'yes' if jax else 'no'}, "
        f"torch={'yes' if torch else 'no'}; CPUs: "
        f"{sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 'all'}"
    )
    print(f"{'':2}{'implementation':<28} {'median':>15}  {'ratio':>8}  (ratio = time / baseline)")
    for name in args.only or CASES:
        CASES[name](args.quick)


if __name__ == "__main__":
    main()
