"""``jax.lax`` for funcgrad: structured control flow (``cond``, ``switch``, ``while_loop``,
``fori_loop``, ``scan``, ``map``) and lax's operations under their names and signatures —
elementwise functions that do not promote dtypes, ``pad`` with interior padding, static and
dynamic slicing, XLA-style ``gather``/``scatter``, ``dot_general``, ``conv_general_dilated``
(any layout, dilations, feature groups), ``reduce_window`` pooling, ``associative_scan`` and
the cumulative reductions, ``sort``/``top_k`` (:mod:`funcgrad.lax._ops`), and the collectives
over named ``vmap`` axes — ``psum``, ``pmean``, ``pmax``, ``pmin``, ``all_gather``,
``psum_scatter``, ``ppermute``, ``pshuffle``, ``all_to_all``, ``pswapaxes``, ``pbroadcast``,
``axis_index``, ``axis_size`` (:mod:`funcgrad.lax._parallel`). Every one works under ``grad``,
``jvp``, ``vmap`` and ``jit``.

Unlike Python ``if``/``for``, these stay in the IR as single primitives carrying their bodies
as sub-IRs, so they work under ``jit`` and ``vmap`` (where values are abstract), and a loop of
``n`` steps is one equation rather than ``n`` copies of its body. Every function traces its
Python callables once, abstractly (shapes and dtypes only), even when called eagerly — so
value-dependent Python control flow inside a body raises a concretization error, as in JAX.

Differentiation: ``cond``, ``switch``, ``scan`` and ``fori_loop`` with static (Python int)
bounds work in forward and reverse mode; ``while_loop`` (and ``fori_loop`` with traced bounds)
in forward mode only. All are batchable: under ``vmap`` a batched predicate of ``cond`` runs
both branches and selects; a batched ``while_loop`` predicate runs until every example is done.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad import lax
>>> lax.fori_loop(0, 5, lambda i, x: x * 2.0, 1.0)
np.float64(32.0)
>>> pool = lambda x: lax.reduce_window(x, -np.inf, lax.max, (2,), (2,), "VALID")
>>> fg.grad(lambda x: pool(x).sum())(np.array([1.0, 3.0, 2.0, 0.0]))
Array([0., 1., 1., 0.])
"""

from funcgrad.lax._control_flow import *  # noqa: F403
from funcgrad.lax._control_flow import __all__ as _control_flow_all
from funcgrad.lax._ops import *  # noqa: F403
from funcgrad.lax._ops import __all__ as _ops_all
from funcgrad.lax._parallel import *  # noqa: F403
from funcgrad.lax._parallel import __all__ as _parallel_all

__all__ = [*_control_flow_all, *_ops_all, *_parallel_all]
