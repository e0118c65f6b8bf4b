"""JAX's ``jax.example_libraries``: ``optimizers`` (the ``(init_fun, update_fun, get_params)``
triples). ``stax`` is not here yet (it needs ``funcgrad.random`` keys).

>>> from funcgrad.example_libraries import optimizers
>>> init, update, get_params = optimizers.sgd(0.1)
"""

from funcgrad.example_libraries import optimizers  # noqa: F401  (submodule)

__all__: list[str] = []
