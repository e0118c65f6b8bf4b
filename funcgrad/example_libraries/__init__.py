"""JAX's ``jax.example_libraries``: ``optimizers`` (the ``(init_fun, update_fun, get_params)``
triples) and ``stax`` (networks as ``(init_fun, apply_fun)`` pairs, initialized with
``funcgrad.random`` keys).

>>> from funcgrad.example_libraries import optimizers, stax
>>> init, update, get_params = optimizers.sgd(0.1)
>>> init_fun, apply_fun = stax.serial(stax.Dense(3), stax.Relu)
"""

from funcgrad.example_libraries import optimizers, stax  # noqa: F401  (submodules)

__all__: list[str] = []
