"""``funcgrad.random``: JAX's functional PRNG (``jax.random``) on numpy.

Keys are plain ``uint32`` arrays of shape ``(2,)`` — JAX's "raw" threefry2x32 keys — and every
function is a pure function of its key: for the same key, shape and dtype it draws the same
numbers as ``jax.random`` with ``jax_enable_x64`` on (funcgrad's default float is float64).
Keys are ordinary traced values, so samplers work under ``jit``, ``vmap`` (over keys from
``split``) and ``grad`` (reparameterised samples: ``normal * sigma + mu``; ``gamma``, ``beta``,
``dirichlet`` with implicit gradients).

>>> import funcgrad.random as fr
>>> key = fr.PRNGKey(0)
>>> k1, k2 = fr.split(key)
>>> fr.normal(k1, (3,)).shape
(3,)
"""

from funcgrad.random._distributions import *  # noqa: F403
from funcgrad.random._distributions import __all__ as _distributions_all
from funcgrad.random._prng import PRNGKey, bits, fold_in, key, key_data, split, wrap_key_data

__all__ = [
    "PRNGKey",
    "key",
    "key_data",
    "wrap_key_data",
    "split",
    "fold_in",
    "bits",
    *_distributions_all,
]


def __dir__() -> list[str]:
    return list(__all__)
