"""Record ``jnp_names.json`` (the public names of ``jax.numpy``) and
``jnp_more_reference.json`` (the outputs of ``jnp_more_cases.CASES``) from JAX.

Run with the reference venv: ``/work/venvs/ref/bin/python tests/data/record_jnp_more.py``.
Public names are those of ``dir(jax.numpy)`` not starting with ``_`` and not modules
(``jax.numpy.fft``/``linalg`` are submodules covered by their own pages), as
``docs/numpy_coverage.md`` counts them.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from jnp_more_cases import CASES  # noqa: E402


def public_names(mod: types.ModuleType) -> list[str]:
    return sorted(
        n
        for n in dir(mod)
        if not n.startswith("_") and not isinstance(getattr(mod, n), types.ModuleType)
    )


def encode(v):
    if isinstance(v, (tuple, list)):
        return {"tuple": [encode(x) for x in v]}
    a = np.asarray(v)
    if a.dtype.kind == "c":
        return {
            "dtype": str(a.dtype),
            "shape": list(a.shape),
            "real": a.real.tolist(),
            "imag": a.imag.tolist(),
        }
    return {"dtype": str(a.dtype), "shape": list(a.shape), "value": a.tolist()}


def main() -> None:
    names = public_names(jnp)
    (HERE / "jnp_names.json").write_text(
        json.dumps({"jax_version": jax.__version__, "names": names}, indent=0) + "\n"
    )
    out = {"jax_version": jax.__version__}
    for key, expr in CASES.items():
        out[key] = encode(eval(expr, {"N": jnp, "np": np}))  # noqa: S307
    (HERE / "jnp_more_reference.json").write_text(json.dumps(out, indent=0) + "\n")
    print(len(names), "names,", len(CASES), "cases")


if __name__ == "__main__":
    main()
