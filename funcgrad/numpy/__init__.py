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
* ``_dtypes`` — dtype objects and queries (finfo, promote_types, ...), ml_dtypes types
* ``_bitwise`` — bitwise operations; ``_math`` — copysign, frexp, ldexp, gcd, unwrap, trapezoid
* ``_indices`` — nonzero/argwhere/compress (``size=``), put/place/insert, ravel_multi_index
* ``_sets`` — unique and set routines; ``_stats`` — cov, nan-quantiles, histograms, bincount
* ``_poly`` — polynomials; ``_window`` — window functions
* ``_functional`` — vectorize, apply_along_axis, piecewise, ufunc/frompyfunc
* ``_array_api`` — array API names (vecdot, matvec, permute_dims, ...); ``_io`` — load/save
* ``_dispatch`` — operators, methods and numpy protocols of traced values
* ``linalg`` — ``funcgrad.numpy.linalg``; ``fft`` — ``funcgrad.numpy.fft``
"""

from funcgrad.numpy import (
    _dispatch,  # noqa: F401  (installs the traced values' operators)
    fft,
    linalg,
)
from funcgrad.numpy._array_api import *  # noqa: F403
from funcgrad.numpy._array_api import __all__ as _array_api_all
from funcgrad.numpy._bitwise import *  # noqa: F403
from funcgrad.numpy._bitwise import __all__ as _bitwise_all
from funcgrad.numpy._core import *  # noqa: F403
from funcgrad.numpy._core import __all__ as _core_all
from funcgrad.numpy._creation import *  # noqa: F403
from funcgrad.numpy._creation import __all__ as _creation_all
from funcgrad.numpy._dtypes import *  # noqa: F403
from funcgrad.numpy._dtypes import __all__ as _dtypes_all
from funcgrad.numpy._elementwise import *  # noqa: F403
from funcgrad.numpy._elementwise import __all__ as _elementwise_all
from funcgrad.numpy._functional import *  # noqa: F403
from funcgrad.numpy._functional import __all__ as _functional_all
from funcgrad.numpy._index_tricks import *  # noqa: F403
from funcgrad.numpy._index_tricks import __all__ as _index_tricks_all
from funcgrad.numpy._indices import *  # noqa: F403
from funcgrad.numpy._indices import __all__ as _indices_all
from funcgrad.numpy._io import *  # noqa: F403
from funcgrad.numpy._io import __all__ as _io_all
from funcgrad.numpy._math import *  # noqa: F403
from funcgrad.numpy._math import __all__ as _math_all
from funcgrad.numpy._poly import *  # noqa: F403
from funcgrad.numpy._poly import __all__ as _poly_all
from funcgrad.numpy._products import *  # noqa: F403
from funcgrad.numpy._products import __all__ as _products_all
from funcgrad.numpy._reductions import *  # noqa: F403
from funcgrad.numpy._reductions import __all__ as _reductions_all
from funcgrad.numpy._sets import *  # noqa: F403
from funcgrad.numpy._sets import __all__ as _sets_all
from funcgrad.numpy._shape import *  # noqa: F403
from funcgrad.numpy._shape import __all__ as _shape_all
from funcgrad.numpy._sorting import *  # noqa: F403
from funcgrad.numpy._sorting import __all__ as _sorting_all
from funcgrad.numpy._stats import *  # noqa: F403
from funcgrad.numpy._stats import __all__ as _stats_all
from funcgrad.numpy._window import *  # noqa: F403
from funcgrad.numpy._window import __all__ as _window_all

__all__ = [
    *_core_all,
    *_elementwise_all,
    *_shape_all,
    *_creation_all,
    *_sorting_all,
    *_reductions_all,
    *_products_all,
    *_index_tricks_all,
    *_dtypes_all,
    *_bitwise_all,
    *_math_all,
    *_indices_all,
    *_sets_all,
    *_stats_all,
    *_poly_all,
    *_window_all,
    *_functional_all,
    *_array_api_all,
    *_io_all,
    "fft",
    "linalg",
]
