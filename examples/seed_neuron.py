"""The seed example: one weight, one example, plain gradient descent.

    prediction  ŷ = w·x          (x = 2, target y = 4)
    loss        L = (ŷ − y)²
    gradient    ∂L/∂w = 2(ŷ − y)·x
    update      w ← w − η·∂L/∂w   (η = 0.1, w₀ = 1)

Run:  python examples/seed_neuron.py [--steps N]
"""

from __future__ import annotations

import argparse

import funcgrad as fg
from funcgrad import optim

X, Y, W0, LR = 2.0, 4.0, 1.0, 0.1


def predict(w: float, x: float) -> float:
    return w * x


def loss(w: float, x: float, y: float) -> float:
    return (predict(w, x) - y) ** 2


def train(steps: int = 20, lr: float = LR, w0: float = W0) -> list[dict[str, float]]:
    """Run gradient descent; one row per step: prediction, loss, gradient, new weight."""
    w = w0
    rows = []
    for step in range(1, steps + 1):
        pred = predict(w, X)
        value, g = fg.value_and_grad(loss)(w, X, Y)
        w = optim.sgd_update(w, g, lr)
        rows.append(
            {
                "step": step,
                "prediction": float(pred),
                "loss": float(value),
                "gradient": float(g),
                "w": float(w),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"{'step':>4} {'prediction':>12} {'loss':>12} {'gradient':>12} {'new w':>12}")
    for r in train(args.steps):
        print(
            f"{r['step']:>4} {r['prediction']:>12.6f} {r['loss']:>12.6f} "
            f"{r['gradient']:>12.6f} {r['w']:>12.6f}"
        )


if __name__ == "__main__":
    main()
