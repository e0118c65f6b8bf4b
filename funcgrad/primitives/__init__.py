"""The primitive table. Each primitive is declared once (see :mod:`.base`), grouped by family:

* :mod:`.elementwise` — arithmetic, transcendental, comparisons, select, casts, stop_gradient
* :mod:`.structural` — broadcast, reshape, transpose, indexing, concatenate, reductions
* :mod:`.linalg` — matmul
"""

from funcgrad.primitives import (  # noqa: F401  (registers)  # noqa: F401  (numpy surface, part B)
    collectives,  # noqa: F401  (registers: allreduce, allgather, reduce_scatter, broadcast)
    control_flow,  # noqa: F401  (registers: cond, scan, while)
    elementwise,
    indexing,
    linalg,
    linalg_extra,
    numpy_extra,  # noqa: F401  (registers: numpy surface, part A)
    structural,
)
from funcgrad.primitives.base import Primitive, registry

__all__ = ["Primitive", "registry"]
