"""Record JAX's outputs for the named-axis cases (tests/data/named_axis_cases.py) into
tests/data/named_axis_ref.npz. Run with the reference venv (JAX, x64):

    /work/venvs/ref/bin/python tests/data/record_named_axis.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from named_axis_cases import CASES, namespace, ref_key  # noqa: E402


def pbroadcast(x, axis_name, source):
    # JAX's docstring definition (its vmap of lax.pbroadcast fails in 0.10)
    masked = jnp.where(jax.lax.axis_index(axis_name) == source, x, jnp.zeros_like(x))
    return jax.lax.psum(masked, axis_name)


ns = namespace(jax, jax.lax, jnp, pbroadcast)

out = {}
for name, case in CASES.items():
    res = case(ns)
    for k, r in enumerate(jax.tree_util.tree_leaves(res)):
        out[ref_key(name, k)] = np.asarray(r)
    print(name, [np.shape(r) for r in jax.tree_util.tree_leaves(res)])
out["__version__"] = np.array(jax.__version__)
np.savez_compressed(HERE / "named_axis_ref.npz", **out)
print("wrote", len(out), "arrays with jax", jax.__version__)
