"""JAX's ``jax.tree`` namespace: short names for the pytree functions of
:mod:`funcgrad.tree_util` (``tree.map`` is ``tree_util.tree_map``, ...).

>>> import funcgrad as fg
>>> fg.tree.map(lambda x: x + 1, {"a": 1, "b": [2]})
{'a': 2, 'b': [3]}
>>> fg.tree.reduce(max, (3, [7, 1]))
7
"""

from funcgrad.core.pytree import tree_all as all  # noqa: A004
from funcgrad.core.pytree import tree_flatten as flatten
from funcgrad.core.pytree import tree_flatten_with_path as flatten_with_path
from funcgrad.core.pytree import tree_leaves as leaves
from funcgrad.core.pytree import tree_leaves_with_path as leaves_with_path
from funcgrad.core.pytree import tree_map as map  # noqa: A004
from funcgrad.core.pytree import tree_map_with_path as map_with_path
from funcgrad.core.pytree import tree_reduce as reduce
from funcgrad.core.pytree import tree_structure as structure
from funcgrad.core.pytree import tree_transpose as transpose
from funcgrad.core.pytree import tree_unflatten as unflatten

__all__ = [
    "all",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "structure",
    "transpose",
    "unflatten",
]
