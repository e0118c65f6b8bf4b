"""The primitive table. Each primitive is declared once (see :mod:`.base`), grouped by family:

* :mod:`.elementwise` — arithmetic, transcendental, comparisons, select, casts, stop_gradient
* :mod:`.structural` — broadcast, reshape, transpose, indexing, concatenate, reductions
* :mod:`.linalg` — matmul
"""

from funcgrad.primitives import elementwise, linalg, structural  # noqa: F401  (registers)
from funcgrad.primitives import numpy_extra  # noqa: F401  (registers: numpy surface, part A)
from funcgrad.primitives import indexing, linalg_extra  # noqa: F401  (numpy surface, part B)
from funcgrad.primitives import control_flow  # noqa: F401  (registers: cond, scan, while)
from funcgrad.primitives.base import Primitive, registry

__all__ = ["Primitive", "registry"]
