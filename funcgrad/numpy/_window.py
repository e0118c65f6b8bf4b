"""Window functions: ``bartlett``, ``blackman``, ``hamming``, ``hanning``, ``kaiser``.

The window length is static, so these are constants (numpy's own values), except
``kaiser`` with a traced ``beta``, which is differentiable in ``beta`` (``i0`` ratio).

>>> import funcgrad.numpy as fnp
>>> fnp.hanning(3)
Array([0., 1., 0.])
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as _np

from funcgrad.core.tracer import Tracer
from funcgrad.numpy._core import asarray, astype
from funcgrad.numpy._elementwise import divide, multiply, sqrt
from funcgrad.numpy._math import i0

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _m(M: Any) -> int:  # noqa: N803
    return operator.index(M)


def bartlett(M: int) -> Any:  # noqa: N803
    """Triangular window of length ``M``."""
    return asarray(_np.bartlett(_m(M)))


def blackman(M: int) -> Any:  # noqa: N803
    """Blackman window of length ``M``."""
    return asarray(_np.blackman(_m(M)))


def hamming(M: int) -> Any:  # noqa: N803
    """Hamming window of length ``M``."""
    return asarray(_np.hamming(_m(M)))


def hanning(M: int) -> Any:  # noqa: N803
    """Hann window of length ``M``."""
    return asarray(_np.hanning(_m(M)))


def kaiser(M: int, beta: Any) -> Any:  # noqa: N803
    """Kaiser window ``i0(beta * sqrt(1 - (2n/(M-1) - 1)**2)) / i0(beta)``; differentiable in
    a traced ``beta``."""
    m = _m(M)
    if type(beta) is not Tracer:
        return asarray(_np.kaiser(m, beta))
    if m < 1:
        return astype(asarray(_np.zeros((0,))), beta.dtype)
    if m == 1:
        return asarray(_np.ones((1,)))
    n = _np.arange(m)
    alpha = (m - 1) / 2.0
    r = sqrt(1 - ((n - alpha) / alpha) ** 2)
    return divide(i0(multiply(beta, r)), i0(beta))
