"""Backpropagation, explained with numbers and pictures.

1. One neuron, step by step. Prediction p = w·x, loss L = (p − y)², with x = 2, y = 4, w = 1.
   The forward pass gives p = 2 and L = 4; the backward pass sends the error signal back:
   dL/dp = 2(p − y) = −4, then dL/dw = dL/dp · x = −8 (w gets all the blame for the miss);
   one gradient-descent step w ← w − η·dL/dw moves w towards 2. ``funcgrad.explain`` prints
   exactly this, equation by equation.
2. A small network (2 → 16 ReLU → 1 sigmoid, binary cross-entropy) on a synthetic "two moons"
   data set, trained three ways with the same plain rule w ← w − η·∂L/∂w:
   stochastic (one point at a time), full batch (one step per epoch) and mini-batch.
3. The same with a learning rate that is too large: the loss grows or becomes inf/NaN; this is
   detected and reported, and the script carries on.
4. Figures (with matplotlib): the loss curves of all runs (log scale) and the network's
   gradient graph (forward pass blue, backward pass orange), written to --out-dir.

Run:  python examples/backprop_explained.py [--quick] [--epochs N] [--out-dir DIR]
A progress line is printed per epoch, or a tqdm bar when tqdm is installed (--no-tqdm: lines).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.tree_util import tree_map

MPL_MISSING = (
    "matplotlib is not installed, so no figures were written: pip install 'funcgrad[viz]' "
    "(matplotlib + networkx) to get {files}"
)


# --- 1. one neuron ---------------------------------------------------------------------------


def neuron_loss(w: Any, x: Any, y: Any) -> Any:
    prediction = w * x
    return (prediction - y) ** 2


def one_neuron(lr: float) -> None:
    w, x, y = 1.0, 2.0, 4.0
    print("== 1. One neuron: prediction = w * x, loss = (prediction - y) ** 2 ==")
    print(f"   w = {w}, x = {x}, y = {y}\n")
    ex = fg.explain(neuron_loss)(w, x, y)
    print(ex)
    prediction = w * x  # the same numbers by hand
    loss = (prediction - y) ** 2
    dl_dpred = 2 * (prediction - y)
    dl_dw = dl_dpred * x
    assert float(ex.grads) == dl_dw, (ex.grads, dl_dw)
    print(
        f"\nBy hand: prediction = {prediction}, loss = {loss}, "
        f"dL/dprediction = 2*(prediction - y) = {dl_dpred}, "
        f"dL/dw = dL/dprediction * x = {dl_dw}"
    )
    print(f"One SGD step with learning rate {lr}: w <- w - lr * dL/dw = {w - lr * dl_dw}\n")


# --- 2. a small network ----------------------------------------------------------------------


def two_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles in 2-D, labels 0/1 (standardized features)."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0, math.pi, n0)
    t1 = rng.uniform(0, math.pi, n - n0)
    a = np.stack([np.cos(t0), np.sin(t0)], 1)
    b = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    X = np.concatenate([a, b]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    X = (X - X.mean(0)) / X.std(0)
    return X, y


def init_params(hidden: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0, math.sqrt(2 / 2), (2, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(0, math.sqrt(1 / hidden), (hidden, 1)),
        "b2": np.zeros(1),
    }


def predict(params: Any, X: Any) -> Any:
    h = nn.relu(X @ params["W1"] + params["b1"])
    return nn.sigmoid(h @ params["W2"] + params["b2"])[:, 0]


def loss_fn(params: Any, X: Any, y: Any) -> Any:
    """Mean binary cross-entropy, written from the logits z in a stable form:
    -[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y z."""
    h = nn.relu(X @ params["W1"] + params["b1"])
    z = (h @ params["W2"] + params["b2"])[:, 0]
    return fnp.mean(nn.softplus(z) - y * z)


@fg.jit
def sgd_step(params: Any, X: Any, y: Any, lr: Any) -> tuple[Any, Any]:
    loss, g = fg.value_and_grad(loss_fn)(params, X, y)
    return tree_map(lambda p, gp: p - lr * gp, params, g), loss


full_loss = fg.jit(loss_fn)


def accuracy(params: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((predict(params, X) > 0.5) == (y > 0.5)))


class Progress:
    """A tqdm bar when tqdm is installed (and wanted), else one printed line per epoch."""

    def __init__(self, label: str, epochs: int, use_tqdm: bool) -> None:
        self.label = label
        self.bar = None
        if use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=epochs, desc=f"{label:>16}", leave=True, file=sys.stdout)

    def update(self, epoch: int, loss: float, acc: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", acc=f"{acc:.1%}")
        else:
            print(f"  {self.label:>16}  epoch {epoch:3d}  loss {loss:10.4g}  accuracy {acc:6.1%}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def train(
    label: str,
    params: Any,
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    lr: float,
    epochs: int,
    seed: int,
    use_tqdm: bool,
) -> tuple[list[float], str | None]:
    """Plain gradient descent; returns the full-data loss before training and after each
    epoch, and a message if the run diverged (loss not finite, or 10× the starting loss)."""
    rng = np.random.default_rng(seed)
    n = len(X)
    losses = [float(full_loss(params, X, y))]
    progress = Progress(label, epochs, use_tqdm)
    diverged = None
    try:
        # A diverging run overflows: numpy's warnings are expected there, the check below
        # reports the divergence instead.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(1, epochs + 1):
                order = rng.permutation(n)
                for start in range(0, n, batch_size):
                    idx = order[start : start + batch_size]
                    params, _ = sgd_step(params, X[idx], y[idx], lr)
                loss = float(full_loss(params, X, y))
                losses.append(loss)
                progress.update(epoch, loss, accuracy(params, X, y))
                if not math.isfinite(loss) or loss > 10 * losses[0]:
                    diverged = (
                        f"divergence detected: {label} with learning rate {lr} — loss went from "
                        f"{losses[0]:.4g} to {loss:.4g} by epoch {epoch}; stopped. Use a "
                        "smaller learning rate."
                    )
                    break
    finally:
        progress.close()
    return losses, diverged


# --- 4. figures ------------------------------------------------------------------------------


def save_figures(
    runs: dict[str, list[float]], params: Any, X: np.ndarray, y: np.ndarray, out_dir: str
) -> None:
    curves = os.path.join(out_dir, "loss_curves.png")
    graph = os.path.join(out_dir, "gradient_graph.png")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(MPL_MISSING.format(files=f"{curves} and {graph}"))
        return
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    start = min(v[0] for v in runs.values())
    cap = 10 * start  # a diverged run is drawn up to here and marked
    for label, losses in runs.items():
        vals = np.array(losses, dtype=float)
        blown = ~np.isfinite(vals) | (vals > cap)
        vals[blown] = cap
        (line,) = ax.plot(np.arange(len(vals)), vals, marker="o", ms=3, label=label)
        if blown.any():
            k = int(np.argmax(blown))
            ax.plot([k], [cap], marker="X", ms=10, color=line.get_color())
            ax.annotate(
                f"diverged: loss {losses[k]:.3g}",
                (k, cap),
                textcoords="offset points",
                xytext=(8, -4),
                fontsize=8,
                color=line.get_color(),
            )
    ax.set_yscale("log")
    ax.set_xlabel("epoch (passes over the data)")
    ax.set_ylabel("full-data loss (binary cross-entropy)")
    ax.set_title("Gradient descent three ways, and a learning rate too large")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(curves, dpi=100)
    plt.close(fig)
    print(f"saved loss curves to {curves}")
    ir = fg.make_ir(fg.grad(loss_fn))(params, X[:8], y[:8])
    try:
        ir.draw(graph, dpi=56)
    except ImportError as e:  # matplotlib without networkx
        print(f"no gradient graph: {e}")
        return
    print(f"saved the network's gradient graph ({len(ir.eqns)} equations) to {graph}")


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few points and epochs (for tests)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per run (default 30)")
    ap.add_argument("--lr", type=float, default=0.1, help="the good learning rate")
    ap.add_argument("--bad-lr", type=float, default=60.0, help="the too-large learning rate")
    ap.add_argument("--out-dir", default=".", help="where the figures go")
    ap.add_argument("--no-plots", action="store_true", help="write no figures")
    ap.add_argument("--no-tqdm", action="store_true", help="progress lines instead of tqdm")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (3 if args.quick else 30)
    n = 64 if args.quick else 256
    use_tqdm = not args.no_tqdm

    one_neuron(args.lr)

    X, y = two_moons(n, noise=0.15, seed=args.seed)
    params0 = init_params(16, args.seed)
    print(
        f"== 2. A network 2 -> 16 (ReLU) -> 1 (sigmoid) on {n} 'two moons' points, "
        f"learning rate {args.lr}, {epochs} epochs ==",
    )
    print(f"   starting loss {float(full_loss(params0, X, y)):.4f}")
    runs: dict[str, list[float]] = {}
    ways = [
        ("SGD (1 point)", 1),
        ("full batch", n),
        ("mini-batch 16", 16),
    ]
    for label, bs in ways:
        losses, diverged = train(label, params0, X, y, bs, args.lr, epochs, args.seed, use_tqdm)
        runs[label] = losses
        print(f"   {label}: loss {losses[0]:.4f} -> {losses[-1]:.4f} after {epochs} epochs")
        if diverged:
            print("   " + diverged)

    print(f"\n== 3. Mini-batch 16 with a learning rate too large ({args.bad_lr}) ==")
    label = f"lr {args.bad_lr:g} (too large)"
    losses, diverged = train(label, params0, X, y, 16, args.bad_lr, epochs, args.seed, use_tqdm)
    runs[label] = losses
    print("   " + (diverged or f"no divergence: loss {losses[0]:.4g} -> {losses[-1]:.4g}"))

    print("\nSummary (full-data loss per epoch):")
    for label, losses in runs.items():
        print(f"  {label:>22}: " + " ".join(f"{v:.4g}" for v in losses))
    if not args.no_plots:
        os.makedirs(args.out_dir, exist_ok=True)
        save_figures(runs, params0, X, y, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
