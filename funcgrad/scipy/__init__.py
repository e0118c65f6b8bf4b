"""``funcgrad.scipy``: differentiable counterparts of ``jax.scipy`` (and ``autograd.scipy``):
:mod:`~funcgrad.scipy.special`, :mod:`~funcgrad.scipy.stats`, :mod:`~funcgrad.scipy.linalg`
and :mod:`~funcgrad.scipy.optimize`.

Numerical kernels (special-function values, LAPACK decompositions) come from scipy, an
optional extra: ``pip install 'funcgrad[scipy]'``. Importing this package without scipy
raises an ``ImportError`` that says so. See ``docs/scipy.md`` for the names.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad.scipy import special
>>> float(fg.grad(special.gammaln)(3.0))  # digamma(3) = 3/2 - euler_gamma
0.9227843350984671
"""

from __future__ import annotations

try:
    import scipy as _scipy  # noqa: F401
    import scipy.linalg as _scipy_linalg  # noqa: F401
    import scipy.special as _scipy_special  # noqa: F401
except ImportError as _e:  # pragma: no cover - exercised with scipy hidden (tests/test_scipy_*)
    raise ImportError(
        "funcgrad.scipy needs scipy, an optional extra of funcgrad: pip install 'funcgrad[scipy]'"
        f" (import failed: {_e})"
    ) from _e

from funcgrad.scipy import linalg, optimize, special, stats

__all__ = ["linalg", "optimize", "special", "stats"]


def __dir__() -> list[str]:
    return list(__all__)
