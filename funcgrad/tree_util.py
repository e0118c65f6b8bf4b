"""Pytrees: nested tuples, lists, dicts, None and registered containers, JAX's ``tree_util``.

>>> from funcgrad.tree_util import tree_map
>>> tree_map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
"""

from funcgrad.core.pytree import (
    PyTreeDef,
    all_leaves_equal_structure,
    register_dataclass,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_paths,
    tree_structure,
    tree_unflatten,
)

__all__ = [
    "PyTreeDef",
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "tree_structure",
    "tree_paths",
    "register_pytree_node",
    "register_dataclass",
    "all_leaves_equal_structure",
]
