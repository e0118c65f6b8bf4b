"""Linear regression three ways: stochastic, batch and mini-batch gradient descent.

The same synthetic data set  y = X·w_true + b_true + noise  is fitted by minimizing the mean
squared error  L(w, b) = mean((X·w + b − y)²)  with the update  θ ← θ − η·∂L/∂θ, where the
gradient is taken over

* one example per step (stochastic gradient descent, SGD): N noisy steps per epoch,
* the whole data set (batch gradient descent): one exact step per epoch,
* mini-batches of B examples: N/B steps per epoch, a compromise between the two.

The table shows the full-data loss after every epoch for each kind, next to the best possible
loss (the least-squares solution). At the end, batch gradient descent is run again with a
learning rate that is too large: the loss explodes, which is detected and reported.

Run:  python examples/linear_regression.py [--epochs N] [--plot loss.png]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import funcgrad as fg
from funcgrad import nn, optim

Params = dict[str, Any]

MATPLOTLIB_MISSING = (
    "matplotlib is not installed: pip install matplotlib (or pip install -e '.[examples]')"
)


def make_data(n: int = 256, d: int = 4, noise: float = 0.1, seed: int = 0):
    """Standardized features, a known linear model and Gaussian noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w_true = rng.uniform(-2, 2, size=d)
    b_true = 0.5
    y = x @ w_true + b_true + noise * rng.standard_normal(n)
    return x, y, w_true, b_true


def predict(params: Params, x: Any) -> Any:
    return x @ params["w"] + params["b"]


def loss(params: Params, x: Any, y: Any) -> Any:
    return nn.mse(predict(params, x), y)


def make_step(lr: float) -> Callable[..., Any]:
    """One gradient-descent step on the examples given: θ ← θ − lr·∇L(θ)."""

    def step(params: Params, x: Any, y: Any) -> tuple[Params, Any]:
        value, grads = fg.value_and_grad(loss)(params, x, y)
        return optim.sgd_update(params, grads, lr), value

    return fg.jit(step)


def init_params(d: int) -> Params:
    return {"w": np.zeros(d), "b": np.float64(0.0)}


def train(
    x: np.ndarray, y: np.ndarray, batch_size: int, lr: float, epochs: int, seed: int = 0
) -> list[float]:
    """Gradient descent on mini-batches of ``batch_size`` (1 = SGD, N = batch GD); returns the
    full-data loss before training and after each epoch."""
    n = len(x)
    params = init_params(x.shape[1])
    step = make_step(lr)
    full_loss = fg.jit(loss)
    rng = np.random.default_rng(seed)
    history = [float(full_loss(params, x, y))]
    for _ in range(epochs):
        order = rng.permutation(n) if batch_size < n else np.arange(n)
        for i in range(0, n - batch_size + 1, batch_size):  # equal batches: one jit signature
            idx = order[i : i + batch_size]
            params, _ = step(params, x[idx], y[idx])
        history.append(float(full_loss(params, x, y)))
    return history


def detect_divergence(
    x: np.ndarray, y: np.ndarray, lr: float, max_steps: int = 200, blowup: float = 1e6
) -> tuple[int | None, float]:
    """Batch gradient descent with learning rate ``lr``; returns (step at which the loss became
    non-finite or ``blowup`` times the initial loss, that loss), or (None, final loss)."""
    params = init_params(x.shape[1])
    step = make_step(lr)
    # Overflow to inf/nan is the expected outcome here: silence numpy's warnings about it.
    with np.errstate(over="ignore", invalid="ignore"):
        first = float(loss(params, x, y))
        value = first
        for k in range(1, max_steps + 1):
            params, _ = step(params, x, y)
            value = float(loss(params, x, y))
            if not math.isfinite(value) or value > blowup * first:
                return k, value
    return None, value


def save_plot(path: str, curves: dict[str, list[float]], optimum: float) -> bool:
    """Loss curves (log scale) to a PNG; returns False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(MATPLOTLIB_MISSING)
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, hist in curves.items():
        ax.plot(range(len(hist)), hist, marker="o", markersize=3, label=name)
    ax.axhline(optimum, color="gray", linestyle="--", label="least squares")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("full-data MSE")
    ax.set_title("Gradient descent: stochastic vs batch vs mini-batch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs for each kind (30)")
    parser.add_argument("--n", type=int, default=256, help="number of examples (256)")
    parser.add_argument("--batch-size", type=int, default=16, help="mini-batch size (16)")
    parser.add_argument("--plot", metavar="PNG", help="save the loss curves to this PNG file")
    args = parser.parse_args(argv)

    x, y, w_true, b_true = make_data(args.n)
    n, d = x.shape
    # Least-squares optimum, for reference.
    xa = np.hstack([x, np.ones((n, 1))])
    coef = np.linalg.lstsq(xa, y, rcond=None)[0]
    optimum = float(np.mean((xa @ coef - y) ** 2))

    kinds = [
        ("stochastic", 1, 0.01),
        ("batch", n, 0.1),
        (f"mini-batch({args.batch_size})", args.batch_size, 0.05),
    ]
    print(f"data: {n} examples, {d} features; w_true = {np.round(w_true, 3)}, b_true = {b_true}")
    print("kinds (batch size, learning rate, steps/epoch):")
    for name, bs, lr in kinds:
        print(f"  {name:<16} B={bs:<4d} lr={lr:<5g} {n // bs} steps/epoch")
    curves: dict[str, list[float]] = {}
    times: dict[str, float] = {}
    for name, bs, lr in kinds:
        t0 = time.perf_counter()
        curves[name] = train(x, y, bs, lr, args.epochs)
        times[name] = time.perf_counter() - t0

    names = [k[0] for k in kinds]
    width = max(16, *(len(nm) + 2 for nm in names))
    header = f"{'epoch':>5} " + " ".join(f"{nm:>{width}}" for nm in names)
    print("\nfull-data loss per epoch:")
    print(header)
    print("-" * len(header))
    for e in range(args.epochs + 1):
        print(f"{e:>5d} " + " ".join(f"{curves[nm][e]:>{width}.6f}" for nm in names))
    print("-" * len(header))
    print(f"{'time':>5} " + " ".join(f"{times[nm]:>{width - 1}.2f}s" for nm in names))
    print(f"least-squares optimum: {optimum:.6f}")

    if args.plot:
        if save_plot(args.plot, curves, optimum):
            print(f"saved loss curves to {args.plot}")

    # The MSE's Hessian is H = (2/N)·Xa^T·Xa; batch gradient descent converges iff
    # lr < 2 / λ_max(H), and diverges (geometrically) above it.
    lr_max = 2.0 / float(np.linalg.eigvalsh(2.0 / n * xa.T @ xa).max())
    lr_big = round(1.5 * lr_max, 2)
    k, value = detect_divergence(x, y, lr_big)
    if k is None:
        print(f"divergence check: batch GD with lr={lr_big} did not diverge (loss {value:.3g})")
    else:
        print(
            f"divergence detected: batch GD with lr={lr_big} blew up at step {k} "
            f"(loss {value:.3g}); it is stable only for lr < 2/λ_max(Hessian) = {lr_max:.3f}"
        )


if __name__ == "__main__":
    main()
