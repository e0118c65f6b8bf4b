"""``funcgrad.nn.initializers``: parameter initializers in JAX's factory form.

Each factory returns an initializer ``init(key, shape, dtype=None)`` that draws with a
:mod:`funcgrad.random` key (a ``uint32[2]`` array), so for the same key, shape and dtype the
result equals ``jax.nn.initializers``'s (with ``jax_enable_x64`` on; the default dtype is
float64). ``zeros`` and ``ones`` are initializers themselves, as in JAX.

>>> import numpy as np, funcgrad.random as fr
>>> from funcgrad.nn import initializers
>>> w = initializers.glorot_uniform()(fr.PRNGKey(0), (3, 2), np.float32)
>>> w.shape, w.dtype
((3, 2), dtype('float32'))
"""

from funcgrad.nn._initializers import *  # noqa: F403
from funcgrad.nn._initializers import __all__ as __all__


def __dir__() -> list[str]:
    return list(__all__)
