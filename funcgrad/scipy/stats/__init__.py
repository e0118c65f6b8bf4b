"""``funcgrad.scipy.stats``: probability distributions with ``jax.scipy.stats``' names and
signatures, one submodule per distribution (``norm.logpdf(x, loc, scale)``, ...), computed
from funcgrad primitives and so differentiable in every argument whose derivative JAX has
(``beta.cdf``/``sf`` go through ``betainc``, which has no derivative in ``a``/``b``: that
raises ``NotImplementedError``, as in JAX).

Outside the support ``logpdf``/``logpmf`` are ``-inf`` and ``pdf``/``pmf`` 0, as in scipy.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad.scipy.stats import norm
>>> float(fg.grad(norm.logpdf)(1.5))  # d/dx of -x^2/2
-1.5
"""

from __future__ import annotations

from funcgrad.scipy.stats import (
    bernoulli,
    beta,
    betabinom,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multinomial,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)

__all__ = [
    "bernoulli",
    "beta",
    "betabinom",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "gennorm",
    "geom",
    "gumbel_l",
    "gumbel_r",
    "laplace",
    "logistic",
    "multinomial",
    "multivariate_normal",
    "nbinom",
    "norm",
    "pareto",
    "poisson",
    "t",
    "truncnorm",
    "uniform",
    "vonmises",
    "wrapcauchy",
]


def __dir__() -> list[str]:
    return list(__all__)
