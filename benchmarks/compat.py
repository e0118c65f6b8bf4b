"""Costs of the JAX/autograd compatibility layer (docs/porting.md), as ratios of medians:

* a user primitive (``funcgrad.extend``) against the same function written with
  ``funcgrad.numpy``, against hand-written numpy forward+backward and (when importable)
  autograd with the same primitive;
* ``linearize``'s tangent function against calling ``jvp`` again for each tangent;
* an ``example_libraries.optimizers.adam`` step, eager and ``jit``, against JAX's (when
  importable).

Run:  python benchmarks/compat.py
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import measure  # noqa: E402

import funcgrad as fg  # noqa: E402
import funcgrad.numpy as fnp  # noqa: E402
from funcgrad.example_libraries import optimizers as fopt  # noqa: E402
from funcgrad.extend import defvjp, primitive  # noqa: E402

try:
    import autograd  # type: ignore[import-not-found]
    import autograd.extend  # type: ignore[import-not-found]
    import autograd.numpy as anp  # type: ignore[import-not-found]
except ImportError:
    autograd = None
try:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax  # type: ignore[import-not-found]
    from jax.example_libraries import optimizers as jopt  # type: ignore[import-not-found]

    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None


def show(case: str, times: dict, baseline: str) -> None:
    for k, t in times.items():
        print(f"{case:44s} {k:34s} {t * 1e6:10.1f} us  {t / times[baseline]:6.2f}")


def lse_numpy(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def case_user_primitive(n: int) -> None:
    x = np.linspace(-1.0, 1.0, n)
    lse = primitive(lse_numpy)
    defvjp(lse, lambda ans, x: lambda g: g * fnp.exp(x - ans))

    def composite(x):
        m = fnp.max(fnp.stop_gradient(x))
        return m + fnp.log(fnp.sum(fnp.exp(x - m)))

    def by_hand():
        ans = lse_numpy(x)
        return np.exp(x - ans)

    fns = {
        "hand-written numpy fwd+bwd": by_hand,
        "funcgrad grad(extend.primitive)": lambda: fg.grad(lse)(x),
        "funcgrad grad(funcgrad.numpy)": lambda: fg.grad(composite)(x),
    }
    jg_prim, jg_comp = fg.jit(fg.grad(lse)), fg.jit(fg.grad(composite))
    fns["funcgrad jit(grad(extend.primitive))"] = lambda: jg_prim(x)
    fns["funcgrad jit(grad(funcgrad.numpy))"] = lambda: jg_comp(x)
    if autograd is not None:
        alse = autograd.extend.primitive(lse_numpy)
        autograd.extend.defvjp(alse, lambda ans, x: lambda g: g * anp.exp(x - ans))
        fns["autograd grad(extend.primitive)"] = lambda: autograd.grad(alse)(x)
    show(f"logsumexp grad, n={n}", measure(fns), "hand-written numpy fwd+bwd")


def case_linearize(n: int) -> None:
    x = np.linspace(-1.0, 1.0, n)

    def f(x):
        for _ in range(20):
            x = fnp.sin(x) * 1.1 + fnp.tanh(x)
        return x

    t = np.ones(n)
    _, f_jvp = fg.linearize(f, x)
    fns = {
        "jvp(f, x, t) each time": lambda: fg.jvp(f, (x,), (t,)),
        "linearize once, f_jvp(t)": lambda: f_jvp(t),
        "linearize once, jit(f_jvp)(t)": (lambda j: lambda: j(t))(fg.jit(f_jvp)),
    }
    show(f"40-op chain, tangent only, n={n}", measure(fns), "jvp(f, x, t) each time")


def case_adam() -> None:
    params = {"w": np.linspace(-1, 1, 1000).reshape(10, 100), "b": np.zeros(100)}
    grads = {"w": np.ones((10, 100)) * 0.1, "b": np.ones(100) * 0.1}
    init, update, _ = fopt.adam(1e-3)
    state = init(params)
    jupdate = fg.jit(update)
    fns = {
        "funcgrad eager": lambda: update(3, grads, state),
        "funcgrad jit": lambda: jupdate(3, grads, state),
    }
    if jax is not None:
        jinit, jup, _ = jopt.adam(1e-3)
        jstate = jinit(jax.device_put(params))
        jj = jax.jit(jup)
        jgrads = jax.device_put(grads)
        fns["JAX jit"] = lambda: jax.block_until_ready(jj(3, jgrads, jstate))
    show("example_libraries adam step, 1100 params", measure(fns), "funcgrad eager")


if __name__ == "__main__":
    peers = f"autograd {'yes' if autograd else 'no'}, JAX {'yes' if jax else 'no'}"
    print(f"numpy {np.__version__}, {peers}")
    for n in (10, 10_000):
        case_user_primitive(n)
    case_linearize(1000)
    case_adam()
