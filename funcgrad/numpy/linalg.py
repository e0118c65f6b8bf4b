"""``funcgrad.numpy.linalg``: ``numpy.linalg`` on traced values, differentiable in both modes
and batchable (every function broadcasts over leading axes, as numpy's does).

Floating inputs (integers are converted to float64, as numpy does; float16 raises
``TypeError``). Complex matrices work with ``solve``, ``inv``, ``det``, ``slogdet`` and ``norm``
(derivatives in JAX's convention, see ``funcgrad.grad``); the other functions raise
``NotImplementedError`` for them. Conventions, following ``jax.numpy.linalg``:

* ``cholesky`` and ``eigh`` symmetrize their input, ``(a + a.T) / 2``, unless
  ``symmetrize_input=False``; for symmetric inputs the values equal numpy's.
* ``eigh`` / ``svd``: derivatives of eigen-/singular vectors assume distinct eigenvalues /
  singular values (exactly equal pairs contribute 0 instead of NaN); derivatives of the
  eigen-/singular values themselves need no such assumption.
* ``svd(full_matrices=True)`` (numpy's default) is differentiable for square matrices only;
  ``qr`` for square or tall matrices in ``'reduced'`` mode (and ``'r'``).
* ``det``, ``slogdet``, ``inv`` and ``solve`` derivatives need an invertible matrix;
  ``pinv`` and ``lstsq`` derivatives assume a locally constant rank.
* ``norm``'s derivative at ``x = 0`` is a zero subgradient (never NaN).
* ``lstsq`` returns ``(x, residuals, rank, s)``; ``residuals`` always has numpy's full-rank
  shape (``(K,)`` when ``M > N``, else ``(0,)``), also for rank-deficient ``a``.

>>> import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
>>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
>>> np.allclose(fg.grad(lambda a: fnp.linalg.det(a))(a), np.linalg.det(a) * np.linalg.inv(a).T)
True
"""

from funcgrad.numpy._linalg import *  # noqa: F403
from funcgrad.numpy._linalg import __all__ as __all__
