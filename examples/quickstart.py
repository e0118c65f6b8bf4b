"""funcgrad in two minutes: gradients, the IR behind them, and a training loop.

Run:  python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim


# 1. The seed neuron: ŷ = w·x, L = (ŷ − y)², w ← w − η·∂L/∂w.
def loss(w, x, y):
    return (w * x - y) ** 2


w = 1.0
print("1. one weight, x=2, y=4, lr=0.1")
for step in range(1, 4):
    value, g = fg.value_and_grad(loss)(w, 2.0, 4.0)
    w = optim.sgd_update(w, g, 0.1)
    print(f"   step {step}: loss {value:.4f}  dL/dw {g:+.4f}  new w {w:.4f}")


# 2. The IR: what funcgrad traced, and what the gradient computes.
def mse(w, x, y):
    return ((x @ w - y) ** 2).sum() / x.shape[0]


rng = np.random.default_rng(0)
x = rng.standard_normal((8, 3))
w_true = np.array([1.0, -2.0, 0.5])
y = x @ w_true
w0 = np.zeros(3)
print("\n2. the traced loss (make_ir):")
print(fg.make_ir(mse)(w0, x, y))
print("\n   and its gradient: forward equations, then the backward pass:")
print(fg.make_ir(fg.grad(mse))(w0, x, y))


# 3. Mini-batch training of a small two-layer network, functional style.
def init(rng, sizes):
    return [
        {"W": rng.standard_normal((m, n)) * np.sqrt(2.0 / m), "b": np.zeros(n)}
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def predict(params, x):
    for layer in params[:-1]:
        x = fnp.tanh(x @ layer["W"] + layer["b"])
    return x @ params[-1]["W"] + params[-1]["b"]


def batch_loss(params, x, y):
    return fnp.mean((predict(params, x)[:, 0] - y) ** 2)


data_x = rng.uniform(-2, 2, size=(256, 1))
data_y = np.sin(data_x[:, 0])
params = init(rng, [1, 16, 1])
step = fg.jit(fg.value_and_grad(batch_loss))  # traced once, then generated numpy code
print("\n3. fitting y = sin(x) with a 1-16-1 tanh network, mini-batches of 32:")
for epoch in range(1, 201):
    perm = rng.permutation(len(data_x))
    for i in range(0, len(perm), 32):
        idx = perm[i : i + 32]
        value, grads = step(params, data_x[idx], data_y[idx])
        params = optim.sgd_update(params, grads, 0.05)
    if epoch % 50 == 0:
        print(f"   epoch {epoch:3d}: full-data loss {batch_loss(params, data_x, data_y):.5f}")
