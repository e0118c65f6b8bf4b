"""Data-parallel training of the digits MLP over MPI with funcgrad.distributed.

Run on two processes (or more, or one):

    mpirun -n 2 python examples/distributed_training.py [--epochs N] [--checkpoint ckpt.npz]

Every process runs this same program. Each step takes the same global mini-batch on every
process (the shuffle depends only on the seed and the epoch), and each process computes the
loss and gradients on its own contiguous slice of it (``dist.shard``); one ``allreduce_sum``
of (gradients, loss) inside the jitted step then gives every process the full-batch gradient,
so all processes apply the same Adam update and keep bitwise identical parameters. The
per-process loss is the sum over its examples divided by the *global* batch size, so the sum
over processes is exactly the full-batch mean, also for uneven shards (``-n 3``).

The loss curve therefore equals that of one process on the full batch, up to float rounding
(the summation order differs). Process 0 alone prints (per-epoch loss, accuracy and median
step time) and saves checkpoints with ``funcgrad.io``.

Model and data as in examples/mlp_digits.py: 64 -> hidden (ReLU) -> 10 logits, softmax cross
entropy, Adam; scikit-learn's digits if installed, else the synthetic 10-class set.

--quick: a few steps of a small model, printing the loss of every step with full precision
(used by the tests to compare 1 and 2 processes).
"""

from __future__ import annotations

import argparse
import contextlib
import io as io_
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad import io, nn, optim
from funcgrad import random as fr
from funcgrad.tree_util import tree_leaves

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_digits import (  # noqa: E402  (the sibling example: data and model)
    init_params,
    load_data,
    params_digest,
    predict,
    split_and_standardize,
)


def local_loss(params: Any, x: Any, y_onehot: Any, inv_n: Any) -> Any:
    """This process's share of the global batch's mean loss: its examples' sum / global size."""
    return fnp.sum(nn.softmax_cross_entropy(predict(params, x), y_onehot)) * inv_n


def make_step(opt: optim.GradientTransformation) -> Any:
    def step(params: Any, opt_state: Any, x: Any, y_onehot: Any, inv_n: Any) -> Any:
        value, grads = fg.value_and_grad(local_loss)(params, x, y_onehot, inv_n)
        # One collective for the whole gradient tree (and the loss, same dtype: one MPI call).
        grads, value = dist.allreduce_sum((grads, value))
        updates, opt_state = opt.update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, value

    return fg.jit(step)


def accuracy(params: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(predict(params, x), axis=1) == y))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs (10)")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size (128)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units (256)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic data set")
    parser.add_argument("--checkpoint", metavar="PATH", help="process 0 saves one every epoch")
    parser.add_argument("--quick", action="store_true", help="8 steps of a small model")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.hidden = 1, 32

    dist.initialize()
    rank, nprocs = dist.process_index(), dist.process_count()

    def say(*a: Any) -> None:
        if rank == 0:
            print(*a, flush=True)

    # Every process loads the same data (deterministic); only process 0 prints about it.
    with contextlib.redirect_stdout(sys.stdout if rank == 0 else io_.StringIO()):
        x, y, source = load_data(args.synthetic)
    x_train, y_train, x_test, y_test = split_and_standardize(x, y, args.seed)
    y_train_1h = nn.one_hot(y_train, 10)
    say(
        f"data: {source}, {len(x_train)} train / {len(x_test)} test examples; "
        f"{nprocs} process(es), global batch {args.batch_size}"
    )

    opt = optim.adam(args.lr)
    params = init_params(fr.PRNGKey(args.seed), [x.shape[1], args.hidden, 10])
    params = dist.broadcast(params)  # the same start everywhere (process 0's)
    opt_state = opt.init(params)
    step = make_step(opt)

    n, bs = len(x_train), args.batch_size
    step_times: list[float] = []
    say(f"{'epoch':>5} {'loss':>9} {'train acc':>10} {'test acc':>9} {'ms/step':>8}")
    for epoch in range(1, args.epochs + 1):
        order = np.random.default_rng([args.seed, epoch]).permutation(n)
        starts = list(range(0, n, bs))[: 8 if args.quick else None]
        total = 0.0
        for k, i in enumerate(starts):
            idx = order[i : i + bs]
            xb, yb = dist.shard((x_train[idx], y_train_1h[idx]))
            t0 = time.perf_counter()
            params, opt_state, value = step(params, opt_state, xb, yb, 1.0 / len(idx))
            step_times.append(time.perf_counter() - t0)
            total += float(value) * len(idx)
            if args.quick:
                say(f"step {k} loss {float(value)!r} time {step_times[-1] * 1e3:.3f} ms")
        seen = sum(len(order[i : i + bs]) for i in starts)
        epoch_ms = statistics.median(step_times[-len(starts) :]) * 1e3
        if rank == 0:
            tr, te = accuracy(params, x_train, y_train), accuracy(params, x_test, y_test)
            print(f"{epoch:>5d} {total / seen:>9.4f} {tr:>9.2%} {te:>9.2%} {epoch_ms:>8.3f}")
            if args.checkpoint:
                io.save(args.checkpoint, {"params": params, "opt_state": opt_state, "epoch": epoch})
    # Every process applied the same updates: check the parameters are bitwise identical.
    digest = np.frombuffer(bytes.fromhex(params_digest(params)), np.uint8).copy()
    digests = dist.allgather(digest)
    same = all(np.array_equal(d, digests[0]) for d in digests)
    # Steady state: the epochs after the first (which includes jit compilation and first-touch
    # memory); with one epoch, all steps but the first.
    per_epoch = len(step_times) // args.epochs
    steady = step_times[per_epoch:] if args.epochs > 1 else (step_times[1:] or step_times)
    say(f"median step time: {statistics.median(steady) * 1e3:.3f} ms ({nprocs} process(es))")
    say(f"params identical on all {nprocs} processes: {'yes' if same else 'NO'}")
    say(f"final params sha256: {params_digest(params)}")
    say(f"parameter count: {sum(np.size(p) for p in tree_leaves(params))}")
    if rank == 0 and args.checkpoint:
        print(f"checkpoint: {args.checkpoint}")
    if not same:
        sys.exit("parameters differ between processes")


if __name__ == "__main__":
    main()
