"""funcgrad.nn / funcgrad.optim benchmark against hand-written numpy (the practical limit):

* ``dot_product_attention`` forward + backward (gradient of a weighted sum with respect to
  query, key and value), float32, against a hand-written numpy forward and backward;
* one Adam update of a 1M-parameter tree (``optim.adam(...).update`` + ``apply_updates``)
  against the same arithmetic written in numpy; and LAMB's, whose per-leaf trust ratio adds
  two norms per leaf.

JAX (and optax, when importable) are timed too. Medians of interleaved batches
(``run.measure``).

Run:  python benchmarks/nn_optim.py
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
from run import jax, measure  # noqa: E402  (sets BLAS threads, imports optional JAX)

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad import nn, optim  # noqa: E402

try:  # optional peer
    import optax  # noqa: E402
except ImportError:
    optax = None


def attention_numpy(q, k, v, w):
    """Forward and backward of sum(attention(q, k, v) * w), written with batched matmuls
    (heads moved next to the batch axis: (B, N, T, H))."""
    scale = np.float32(1.0 / np.sqrt(q.shape[-1]))
    qt, kt, vt, wt = (x.transpose(0, 2, 1, 3) for x in (q, k, v, w))
    logits = (qt @ kt.transpose(0, 1, 3, 2)) * scale
    e = np.exp(logits - logits.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    out = p @ vt
    # backward
    dp = wt @ vt.transpose(0, 1, 3, 2)
    dv = p.transpose(0, 1, 3, 2) @ wt
    dlogits = p * (dp - (dp * p).sum(-1, keepdims=True)) * scale
    dq = dlogits @ kt
    dk = dlogits.transpose(0, 1, 3, 2) @ qt
    grads = tuple(x.transpose(0, 2, 1, 3) for x in (dq, dk, dv))
    return (out * wt).sum(), grads


def bench_attention(B=8, T=64, N=4, H=32) -> dict:
    rng = np.random.default_rng(0)
    q, k, v, w = (rng.standard_normal((B, T, N, H)).astype(np.float32) for _ in range(4))

    def loss(q, k, v):
        return fnp.sum(nn.dot_product_attention(q, k, v) * w)

    vg = fg.value_and_grad(loss, argnums=(0, 1, 2))
    jvg = fg.jit(vg)
    ref = attention_numpy(q, k, v, w)
    got = jvg(q, k, v)
    for a, b in zip(got[1], ref[1]):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4)
    fns = {
        "hand-written numpy fwd+bwd": lambda: attention_numpy(q, k, v, w),
        "funcgrad value_and_grad (eager)": lambda: vg(q, k, v),
        "funcgrad jit(value_and_grad)": lambda: jvg(q, k, v),
    }
    if jax is not None:
        jw = jax.numpy.asarray(w)
        jf = jax.jit(
            jax.value_and_grad(
                lambda q, k, v: (jax.nn.dot_product_attention(q, k, v) * jw).sum(), (0, 1, 2)
            )
        )
        fns["JAX jit(value_and_grad)"] = lambda: jax.block_until_ready(jf(q, k, v))
    return measure(fns)


def adam_numpy(params, grads, mu, nu, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    new_p, new_mu, new_nu = {}, {}, {}
    for key in params:
        g = grads[key]
        m = (1 - b1) * g + b1 * mu[key]
        s = (1 - b2) * g * g + b2 * nu[key]
        m_hat = m / np.float32(1 - b1**t)
        s_hat = s / np.float32(1 - b2**t)
        new_p[key] = params[key] - np.float32(lr) * m_hat / (np.sqrt(s_hat) + np.float32(eps))
        new_mu[key], new_nu[key] = m, s
    return new_p, new_mu, new_nu


def bench_optimizers() -> dict:
    rng = np.random.default_rng(1)
    shapes = {"w1": (784, 1024), "b1": (1024,), "w2": (1024, 256), "b2": (256,)}
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    grads = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    mu = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
    nu = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
    results = {}
    for name, opt in (("adam", optim.adam(1e-3)), ("lamb", optim.lamb(1e-3))):
        state = opt.init(params)

        def step(p, s, g, opt=opt):
            u, s = opt.update(g, s, p)
            return optim.apply_updates(p, u), s

        jstep = fg.jit(step)
        fns = {}
        if name == "adam":
            fns["hand-written numpy"] = lambda: adam_numpy(params, grads, mu, nu, 1)
        fns[f"funcgrad {name} (eager)"] = lambda step=step, state=state: step(params, state, grads)
        fns[f"funcgrad jit({name})"] = lambda jstep=jstep, state=state: jstep(params, state, grads)
        if optax is not None and jax is not None:
            otx = getattr(optax, name)(1e-3)
            ostate = otx.init(params)

            @jax.jit
            def ostep(p, s, g, otx=otx):
                u, s = otx.update(g, s, p)
                return optax.apply_updates(p, u), s

            fns[f"optax jit({name})"] = lambda ostep=ostep, ostate=ostate: jax.block_until_ready(
                ostep(params, ostate, grads)
            )
        results[name] = measure(fns)
    return results


def main() -> None:
    def show(title, times, base):
        print(title)
        for k, t in times.items():
            print(f"  {k:<36} {t * 1e6:10.1f} us  {t / base:7.2f}x", flush=True)

    times = bench_attention()
    show("dot_product_attention fwd+bwd, B=8 T=S=64 N=4 H=32, float32:", times,
         times["hand-written numpy fwd+bwd"])  # fmt: skip
    res = bench_optimizers()
    base = res["adam"]["hand-written numpy"]
    show("Adam step, 1.07M float32 parameters (4 leaves):", res["adam"], base)
    show("LAMB step, same tree (ratio to hand-written Adam):", res["lamb"], base)


if __name__ == "__main__":
    main()
