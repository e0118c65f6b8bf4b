"""The primitive table. Each primitive is declared once (see :mod:`.base`), grouped by family;
a family imports only the families listed before it:

* :mod:`.structural` — broadcast, reshape, transpose, basic indexing, concatenate, reduce_sum
* :mod:`.elementwise` — arithmetic, transcendental, comparisons, select, casts, stop_gradient
* :mod:`.reductions` — reduce_max/min, argmax/argmin
* :mod:`.linalg` — matmul
* :mod:`.indexing` — gather/scatter for integer-array and mask indexing, ``x.at[...]``
* :mod:`.conv` — convolution (``conv_general_dilated`` in one canonical layout)
* :mod:`.numpy_extra` — the rest of the numpy surface (cumsum, sort, einsum, ...)
* :mod:`.linalg_extra` — numpy.linalg decompositions and solvers
* :mod:`.bitwise` — bitwise and integer ufuncs (and/or/xor/invert/shifts, gcd, spacing)
* :mod:`.callback` — host callbacks: pure_callback, debug_callback
* :mod:`.named_axis` — collectives over named ``vmap`` axes (psum, all_gather, ppermute, ...)
* :mod:`.collectives` — collectives over MPI processes (``funcgrad.distributed``)

Primitives that carry sub-IRs (control flow, custom rules) are declared in
:mod:`funcgrad.transforms`, since their rules apply transforms to their bodies.
"""

from funcgrad.primitives import (  # noqa: F401  (importing a family registers its primitives)
    bitwise,
    callback,
    collectives,
    conv,
    elementwise,
    fft,
    indexing,
    linalg,
    linalg_extra,
    named_axis,
    numpy_extra,
    random_bits,
    random_special,
    reductions,
    structural,
)
from funcgrad.primitives.base import Primitive, registry

__all__ = ["Primitive", "registry"]
