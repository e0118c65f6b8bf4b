"""autograd's ``autograd.misc``: ``flatten`` (a pytree to one vector and back),
``fixed_points.fixed_point`` and ``optimizers`` (sgd, rmsprop, adam loops).

>>> import numpy as np
>>> from funcgrad.misc import flatten
>>> flat, unflatten = flatten({"w": np.ones((2, 2)), "b": np.zeros(2)})
>>> flat
Array([0., 0., 1., 1., 1., 1.])
"""

from funcgrad.misc import fixed_points, optimizers  # noqa: F401  (submodules)
from funcgrad.misc.flatten import flatten

__all__ = ["flatten"]
