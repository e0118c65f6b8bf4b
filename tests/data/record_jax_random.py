"""Record ``jax_random_extra.json`` from JAX (run with the scratch JAX venv, never in tests):

    /work/venvs/ref/bin/python tests/data/record_jax_random.py

funcgrad's default float is float64, so JAX runs with x64 on.
"""

import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.random as R  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from jax_random_cases import CASES, GRAD_CASES, SEEDS  # noqa: E402


def _flat(x):
    a = np.asarray(x)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "values": a.ravel().tolist()}


out = {"generator": f"jax {jax.__version__}, x64 on, default PRNG (threefry2x32)", "seeds": {}}
for seed in SEEDS:
    key = R.PRNGKey(seed)
    rec = {name: _flat(eval(src, {"R": R, "key": key, "np": np})) for name, src in CASES.items()}
    for name, (src, a) in GRAD_CASES.items():
        fn = eval(src, {"R": R, "key": key, "np": np})
        rec[name] = _flat(jax.grad(fn)(np.array(a)))
    out["seeds"][str(seed)] = rec

# erf_inv on a grid reaching both polynomial switch points (|x| near 1), float64 and float32
xs = np.concatenate([np.linspace(-0.999, 0.999, 101), 1 - np.logspace(-1, -15, 29), [0.0]])
out["erf_inv"] = {
    "x": xs.tolist(),
    "float64": np.asarray(lax.erf_inv(xs)).tolist(),
    "float32_x": xs.astype(np.float32).tolist(),
    "float32": np.asarray(lax.erf_inv(xs.astype(np.float32))).tolist(),
}
# random_gamma_grad(a, x) = d x / d a at fixed CDF
ga = np.array([0.05, 0.3, 1.0, 2.5, 10.0, 100.0, 0.7, 3.0])
gx = np.array([1e-8, 0.2, 1.3, 2.0, 12.0, 90.0, 3.0, 0.4])
out["random_gamma_grad"] = {
    "a": ga.tolist(),
    "x": gx.tolist(),
    "values": np.asarray(lax.random_gamma_grad(ga, gx)).tolist(),
}
path = os.path.join(os.path.dirname(__file__), "jax_random_extra.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", path)
