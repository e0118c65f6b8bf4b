"""``funcgrad.numpy``: numpy's names, signatures, broadcasting and dtype rules, built on the
primitive table, so every function here works on tracers (and so under every transform).

On plain numpy inputs outside any transform these are ordinary numpy calls.
Plain ``numpy`` functions also work on traced values: tracers implement
``__array_ufunc__``/``__array_function__`` and dispatch to the functions below.

>>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
>>> fg.grad(lambda x: fnp.sum(fnp.tanh(x) ** 2))(np.zeros(3))
Array([0., 0., 0.])

The names live in topic modules and are gathered here:

* ``_core`` — asarray/array, astype, stack, shape/ndim/size, result_type, dtypes, constants
* ``_elementwise`` — arithmetic, comparisons, logic, exp/log, trigonometry, rounding, where
* ``_shape`` — reshape, transpose, broadcasting, joining and splitting, flips, pads, take
* ``_creation`` — zeros/ones/full, ``*_like``, ranges and grids
* ``_sorting`` — sort, argsort, searchsorted, select, interp
* ``_reductions`` — sum, mean, max/min, var/std, prod, cumulative and nan-aware forms, quantiles
* ``_products`` — matmul, dot, tensordot, einsum, kron, cross, convolve
* ``_getitem`` / ``_indexing`` — basic, integer-array and mask indexing, ``x.at[...]``
* ``_index_tricks`` — ``r_`` and ``c_``
* ``_dispatch`` — operators, methods and numpy protocols of traced values
* ``linalg`` — ``funcgrad.numpy.linalg``; ``fft`` — ``funcgrad.numpy.fft``
"""

from funcgrad.numpy import (
    _dispatch,  # noqa: F401  (installs the traced values' operators)
    fft,
    linalg,
)
from funcgrad.numpy._core import *  # noqa: F403
from funcgrad.numpy._core import __all__ as _core_all
from funcgrad.numpy._creation import *  # noqa: F403
from funcgrad.numpy._creation import __all__ as _creation_all
from funcgrad.numpy._elementwise import *  # noqa: F403
from funcgrad.numpy._elementwise import __all__ as _elementwise_all
from funcgrad.numpy._index_tricks import *  # noqa: F403
from funcgrad.numpy._index_tricks import __all__ as _index_tricks_all
from funcgrad.numpy._products import *  # noqa: F403
from funcgrad.numpy._products import __all__ as _products_all
from funcgrad.numpy._reductions import *  # noqa: F403
from funcgrad.numpy._reductions import __all__ as _reductions_all
from funcgrad.numpy._shape import *  # noqa: F403
from funcgrad.numpy._shape import __all__ as _shape_all
from funcgrad.numpy._sorting import *  # noqa: F403
from funcgrad.numpy._sorting import __all__ as _sorting_all

__all__ = [
    *_core_all,
    *_elementwise_all,
    *_shape_all,
    *_creation_all,
    *_sorting_all,
    *_reductions_all,
    *_products_all,
    *_index_tricks_all,
    "fft",
    "linalg",
]
