"""Per-example gradients with vmap(grad(...)), and DP-SGD built on them.

``fg.grad(loss)`` gives the gradient of the loss on *one* example;
``fg.vmap(fg.grad(loss), in_axes=(None, 0, 0))`` maps it over a batch — the parameters are
shared (``None``), examples and labels are batched along axis 0 — giving one gradient per
example in a single vectorized call. It is checked against a Python loop and timed.

Per-example gradients are what differentially private SGD (Abadi et al., 2016) needs: each
example's gradient g_i is clipped to L2 norm at most C, the clipped gradients are summed,
Gaussian noise N(0, σ²C²) is added, and the result is divided by the batch size:

    g̃ = ( Σ_i g_i · min(1, C/‖g_i‖) + σ·C·ξ ) / B,      θ ← θ − η·g̃

A few DP-SGD steps on a small MLP for binary classification follow.

Run:  python examples/per_example_grads.py [--steps N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optim
from funcgrad import random as fr
from funcgrad.tree_util import tree_leaves, tree_map

Params = dict[str, Any]


def make_data(n: int = 1024, d: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels from a nonlinear rule (a sphere) with 5% label noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (np.sum(x[:, :3] ** 2, axis=1) > 2.4).astype(np.float64)
    flip = rng.uniform(size=n) < 0.05
    return x, np.where(flip, 1.0 - y, y)


def init_params(key: np.ndarray, d: int, hidden: int) -> Params:
    k1, k2 = fr.split(key)
    return {
        "W1": nn.initializers.he_normal()(k1, (d, hidden)),
        "b1": np.zeros(hidden),
        "w2": nn.initializers.glorot_uniform()(k2, (hidden, 1))[:, 0],
        "b2": np.float64(0.0),
    }


def logit(params: Params, x: Any) -> Any:
    """Works for one example x of shape (d,) and for a batch (B, d)."""
    h = nn.relu(x @ params["W1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def example_loss(params: Params, x: Any, y: Any) -> Any:
    """The loss on ONE example: x has shape (d,), y is a scalar label."""
    return nn.sigmoid_binary_cross_entropy(logit(params, x), y)


def batch_loss(params: Params, x: Any, y: Any) -> Any:
    return fnp.mean(nn.sigmoid_binary_cross_entropy(logit(params, x), y))


def accuracy(params: Params, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((logit(params, x) > 0) == (y > 0.5)))


per_example_grads = fg.vmap(fg.grad(example_loss), in_axes=(None, 0, 0))


def loop_grads(grad_fn: Callable[..., Any], params: Params, x: np.ndarray, y: np.ndarray):
    """The same thing with a Python loop, one example at a time, stacked."""
    grads = [grad_fn(params, x[i], y[i]) for i in range(len(x))]
    return tree_map(lambda *g: np.stack(g), *grads)


def dp_gradient(params: Params, x: Any, y: Any, noise: Params, clip: float, sigma: float):
    """The DP-SGD gradient: per-example clip to norm ``clip``, sum, add σ·C·noise, / B.
    Returns (noisy gradient, per-example norms before clipping)."""
    g = per_example_grads(params, x, y)  # every leaf has a leading batch axis
    batch = x.shape[0]
    sq = 0.0
    for leaf in tree_leaves(g):
        sq = sq + fnp.sum(leaf * leaf, axis=tuple(range(1, leaf.ndim)))
    norms = fnp.sqrt(sq)  # (B,)
    scale = clip / fnp.maximum(norms, clip)  # = min(1, C/‖g_i‖), never divides by 0

    def clip_sum_noise(leaf: Any, xi: Any) -> Any:
        s = fnp.reshape(scale, (batch,) + (1,) * (leaf.ndim - 1))
        return (fnp.sum(leaf * s, axis=0) + sigma * clip * xi) / batch

    return tree_map(clip_sum_noise, g, noise), norms


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (and jit compilation, if any)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="DP-SGD steps (1000)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--clip", type=float, default=1.0, help="clipping norm C (1.0)")
    parser.add_argument("--sigma", type=float, default=1.0, help="noise multiplier σ (1.0)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (5)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    x, y = make_data(seed=args.seed)
    n, d = x.shape
    rng = np.random.default_rng(args.seed)
    params = init_params(fr.PRNGKey(args.seed), d, args.hidden)
    print(f"data: {n} examples, {d} features; model: {d} → {args.hidden} (ReLU) → 1 logit")

    # 1. per-example gradients: vmap vs a Python loop
    xb, yb = x[:128], y[:128]
    vmapped = fg.jit(per_example_grads)
    single = fg.jit(fg.grad(example_loss))
    g_vmap = vmapped(params, xb, yb)
    g_loop = loop_grads(single, params, xb, yb)
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(tree_leaves(g_vmap), tree_leaves(g_loop))
    )
    shapes = ", ".join(f"{k} {v.shape}" for k, v in sorted(g_vmap.items()))
    print(f"\n1. per-example gradients of a batch of {len(xb)}: {shapes}")
    print(f"   max |vmap - loop| difference: {diff:.3e}")
    t_vmap = median_ms(lambda: vmapped(params, xb, yb), args.repeats)
    t_loop = median_ms(lambda: loop_grads(single, params, xb, yb), args.repeats)
    print(f"   {'method':<34} {'median time':>12}")
    print(f"   {'vmap(grad(loss), (None, 0, 0))':<34} {t_vmap:>10.2f}ms")
    print(f"   {'Python loop over grad(loss)':<34} {t_loop:>10.2f}ms")
    print(f"   speedup: {t_loop / t_vmap:.1f}x")

    # 2. DP-SGD
    clip, sigma = args.clip, args.sigma
    print(
        f"\n2. DP-SGD: batch {args.batch_size}, clip norm C={clip}, noise σ={sigma}, "
        f"lr={args.lr}, {args.steps} steps"
    )

    def dp_step(params: Params, xb: Any, yb: Any, noise: Params) -> Any:
        g, norms = dp_gradient(params, xb, yb, noise, clip, sigma)
        return optim.sgd_update(params, g, args.lr), norms

    dp_step = fg.jit(dp_step)
    full_loss = fg.jit(batch_loss)
    header = f"{'step':>5} {'loss':>8} {'accuracy':>9} {'mean ‖g_i‖':>11} {'clipped':>8}"
    print(header)
    print("-" * len(header))
    print(f"{0:>5d} {float(full_loss(params, x, y)):>8.4f} {accuracy(params, x, y):>9.2%}")
    every = max(1, args.steps // 10)
    for step in range(1, args.steps + 1):
        idx = rng.choice(n, size=args.batch_size, replace=False)
        noise = tree_map(lambda p: rng.standard_normal(np.shape(p)), params)
        params, norms = dp_step(params, x[idx], y[idx], noise)
        if step % every == 0 or step == args.steps:
            print(
                f"{step:>5d} {float(full_loss(params, x, y)):>8.4f} "
                f"{accuracy(params, x, y):>9.2%} {float(np.mean(norms)):>11.3f} "
                f"{float(np.mean(norms > clip)):>8.0%}"
            )
    print("-" * len(header))
    print(f"final loss {float(full_loss(params, x, y)):.4f}, accuracy {accuracy(params, x, y):.2%}")

    # The price of privacy: the same number of plain (unclipped, noiseless) SGD steps.
    plain = init_params(fr.PRNGKey(args.seed), d, args.hidden)
    plain_step = fg.jit(
        lambda p, xb, yb: optim.sgd_update(p, fg.grad(batch_loss)(p, xb, yb), args.lr)
    )
    for _ in range(args.steps):
        idx = rng.choice(n, size=args.batch_size, replace=False)
        plain = plain_step(plain, x[idx], y[idx])
    print(
        f"non-private SGD, same steps: loss {float(full_loss(plain, x, y)):.4f}, "
        f"accuracy {accuracy(plain, x, y):.2%}"
    )


if __name__ == "__main__":
    main()
