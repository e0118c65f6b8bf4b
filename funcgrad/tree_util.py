"""Pytrees: nested tuples, lists, dicts, None and registered containers, JAX's ``tree_util``.

>>> from funcgrad.tree_util import tree_map
>>> tree_map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
"""

from funcgrad.core.pytree import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    Partial,
    PyTreeDef,
    SequenceKey,
    all_leaves_equal_structure,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_with_keys,
    register_static,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_paths,
    tree_reduce,
    tree_structure,
    tree_transpose,
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
    "register_pytree_with_keys",
    "register_static",
    "tree_flatten_with_path",
    "tree_leaves_with_path",
    "tree_map_with_path",
    "keystr",
    "tree_reduce",
    "tree_all",
    "tree_transpose",
    "Partial",
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
]
