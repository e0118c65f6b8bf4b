"""Record ``jax_normal.npz`` from JAX (run with the JAX reference venv, never in tests):

    /work/venvs/ref/bin/python tests/data/record_jax_normal.py

Exact draws (stored as raw arrays, so every bit is kept) for tests/test_random_backends.py:
``random.bits`` (uint32/uint64) and ``uniform`` must match bit for bit; ``normal`` agrees with
funcgrad's to ~1 ulp (XLA fuses the erf_inv polynomial's multiply-adds and has its own log1p).
Keys are ``split(PRNGKey(seed))[1]``; ``vmap`` cases map over ``split(PRNGKey(seed), 4)``.
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import jax.random as R  # noqa: E402
import numpy as np  # noqa: E402

SEEDS = [0, 1, 42, 2**32 + 7]
out = {}
for seed in SEEDS:
    key = R.split(R.PRNGKey(seed))[1]
    n = 1000 if seed in (0, 1) else 100
    p = f"s{seed}_"
    out[p + "normal64"] = R.normal(key, (n,), jnp.float64)
    out[p + "normal32"] = R.normal(key, (n,), jnp.float32)
    out[p + "normal64_2d"] = R.normal(key, (3, 5), jnp.float64)
    out[p + "normal64_scalar"] = R.normal(key, (), jnp.float64)
    out[p + "uniform64"] = R.uniform(key, (n,), jnp.float64)
    out[p + "uniform32"] = R.uniform(key, (n,), jnp.float32)
    out[p + "bits64"] = R.bits(key, (257,), jnp.uint64)
    out[p + "bits32"] = R.bits(key, (257,), jnp.uint32)
    out[p + "split7"] = R.split(key, 7)
    keys = R.split(R.PRNGKey(seed), 4)
    out[p + "vmap_normal64"] = jax.vmap(lambda k: R.normal(k, (50,), jnp.float64))(keys)
    out[p + "vmap_normal32"] = jax.vmap(lambda k: R.normal(k, (50,), jnp.float32))(keys)

    # reparameterised: d/d(mu, sigma) sum(normal * sigma + mu)**2
    def loss(ms, key=key):
        return jnp.sum((R.normal(key, (20,)) * ms[1] + ms[0]) ** 2)

    out[p + "grad_loc_scale"] = jax.grad(loss)(jnp.array([0.3, 1.7]))
np.savez_compressed(
    os.path.join(os.path.dirname(__file__), "jax_normal.npz"),
    generator=np.array(f"jax {jax.__version__}, x64 on, threefry2x32"),
    **{k: np.asarray(v) for k, v in out.items()},
)
print("wrote", len(out), "arrays")
