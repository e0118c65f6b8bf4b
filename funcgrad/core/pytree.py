"""Pytrees: nested containers of arrays, flattened to a list of leaves plus a structure.

Containers: tuple, list, dict (keys sorted), namedtuple, ``None`` (a node with no
children), and any type registered with :func:`register_pytree_node` or
:func:`register_dataclass`. Everything else is a leaf.

>>> leaves, tree = tree_flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> tree_unflatten(tree, [x * 10 for x in leaves])
{'a': [30], 'b': (10, 20)}
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple

from funcgrad.core.errors import LocatedTypeError, LocatedValueError

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
    "SequenceKey",
    "DictKey",
    "GetAttrKey",
    "FlattenedIndexKey",
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
]


class _NodeType(NamedTuple):
    flatten: Callable[[Any], tuple[Iterable[Any], Hashable]]
    unflatten: Callable[[Hashable, Iterable[Any]], Any]


_registry: dict[type, _NodeType] = {}
_dataclass_data_fields: dict[type, tuple[str, ...]] = {}  # for readable paths in messages


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], Any],
) -> None:
    """Register ``nodetype`` as a container.

    ``flatten_func(x) -> (children, aux_data)`` and ``unflatten_func(aux_data, children) -> x``;
    ``aux_data`` must be hashable (it is part of the tree structure, hence of jit's cache key).

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    >>> tree_leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    if not isinstance(nodetype, type):
        raise LocatedTypeError(f"register_pytree_node expects a type, got {nodetype!r}")
    if nodetype in _registry:
        raise LocatedValueError(f"{nodetype.__name__} is already registered as a pytree node")
    _registry[nodetype] = _NodeType(flatten_func, unflatten_func)


def register_dataclass(
    cls: type, data_fields: list[str] | None = None, meta_fields: list[str] | None = None
) -> type:
    """Register a dataclass as a pytree node; usable as a decorator.

    ``data_fields`` are children (arrays); ``meta_fields`` are static and go into the tree
    structure. By default every field is a data field.

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Params:
    ...     w: float
    ...     b: float
    >>> tree_leaves(Params(1.0, 2.0))
    [1.0, 2.0]
    """
    if not dataclasses.is_dataclass(cls):
        raise LocatedTypeError(f"register_dataclass expects a dataclass type, got {cls!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    if data_fields is None:
        meta = list(meta_fields or [])
        data = [n for n in names if n not in meta]
    else:
        data = list(data_fields)
        meta = list(meta_fields or [])
    unknown = set(data + meta) - set(names)
    if unknown:
        raise LocatedValueError(
            f"register_dataclass: {sorted(unknown)} are not fields of {cls.__name__}"
        )

    def flatten(obj: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(obj, n) for n in data], tuple(getattr(obj, n) for n in meta)

    def unflatten(aux: tuple[Any, ...], children: Iterable[Any]) -> Any:
        kwargs = dict(zip(data, children))
        kwargs.update(zip(meta, aux))
        obj = object.__new__(cls)
        for k, v in kwargs.items():  # bypass frozen=True and __post_init__ validation
            object.__setattr__(obj, k, v)
        return obj

    register_pytree_node(cls, flatten, unflatten)
    _dataclass_data_fields[cls] = tuple(data)
    return cls


def _flatten_tuple(t: tuple) -> tuple[tuple, None]:
    return t, None


def _flatten_dict(d: dict) -> tuple[list, tuple]:
    try:
        keys = tuple(sorted(d))
    except TypeError as e:
        raise LocatedTypeError(f"pytree dict keys must be sortable; got keys {list(d)!r}") from e
    return [d[k] for k in keys], keys


_registry[tuple] = _NodeType(_flatten_tuple, lambda _, c: tuple(c))
_registry[list] = _NodeType(lambda x: (x, None), lambda _, c: list(c))
_registry[dict] = _NodeType(_flatten_dict, lambda keys, c: dict(zip(keys, c)))
_registry[type(None)] = _NodeType(lambda _: ((), None), lambda _a, _c: None)


def _is_namedtuple(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def _node_type(x: Any) -> tuple[type, _NodeType] | None:
    t = type(x)
    nt = _registry.get(t)
    if nt is not None:
        return t, nt
    if _is_namedtuple(t):
        return t, _NAMEDTUPLE
    return None


_NAMEDTUPLE = _NodeType(lambda x: (tuple(x), None), None)  # type: ignore[arg-type]


class PyTreeDef:
    """The structure of a pytree: node types, their static data, and where the leaves go.

    Hashable and comparable, so it can be part of a cache key.
    """

    __slots__ = ("node_type", "node_data", "children", "num_leaves", "_hash", "_key")

    def __init__(
        self,
        node_type: type | None,
        node_data: Hashable,
        children: tuple[PyTreeDef, ...],
    ) -> None:
        self.node_type = node_type  # None marks a leaf
        self.node_data = node_data
        self.children = children
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in children)
        self._hash: int | None = None
        self._key: tuple[Any, ...] | None = None

    def _preorder(self) -> list[PyTreeDef]:
        out: list[PyTreeDef] = []
        stack = [self]
        while stack:  # iterative: deep trees must not hit the recursion limit
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out

    def _flat_key(self) -> tuple[Any, ...]:
        """The structure as one flat tuple (pre-order); equal iff the structures are equal."""
        key = getattr(self, "_key", None)
        if key is None:
            key = tuple((n.node_type, n.node_data, len(n.children)) for n in self._preorder())
            object.__setattr__(self, "_key", key)
        return key

    @property
    def num_nodes(self) -> int:
        return len(self._preorder())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        if self is other:
            return True
        if self.num_leaves != other.num_leaves:
            return False
        return self._flat_key() == other._flat_key()

    def __hash__(self) -> int:
        if self._hash is None:
            try:
                self._hash = hash(self._flat_key())
            except TypeError as e:
                raise LocatedTypeError(
                    f"pytree structure {self} has unhashable static data: {e}. "
                    "Make registered aux data / dataclass meta fields hashable."
                ) from e
        return self._hash

    def __repr__(self) -> str:
        return f"PyTreeDef({self._show()})"

    def _show(self) -> str:
        # Iterative post-order rendering.
        done: list[str] = []
        stack: list[tuple[PyTreeDef, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            t = node.node_type
            if t is None:
                done.append("*")
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(node.children))
                continue
            n = len(node.children)
            inner = done[len(done) - n :] if n else []
            if n:
                del done[len(done) - n :]
            if t is tuple:
                s = "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
            elif t is list:
                s = "[" + ", ".join(inner) + "]"
            elif t is dict:
                s = "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(node.node_data, inner)) + "}"
            elif t is type(None):
                s = "None"
            else:
                s = f"{t.__name__}(" + ", ".join(inner) + ")"
            done.append(s)
        return done[0]

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        return tree_unflatten(self, leaves)


_LEAF = PyTreeDef(None, None, ())


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Flatten ``tree`` into (leaves, structure). Iterative: deep trees are fine.

    >>> tree_flatten((1, {"x": 2}))
    ([1, 2], PyTreeDef((*, {'x': *})))
    """
    if is_leaf is None:
        # Fast paths for the common cases: a single leaf, a flat tuple of leaves.
        t = type(tree)
        if t not in _registry and not _is_namedtuple(t):
            return [tree], _LEAF
        if t is tuple and all(_is_plain_leaf(c) for c in tree):
            return list(tree), _flat_tuple_def(len(tree))
    leaves: list[Any] = []
    # Explicit stack of (node, children_defs_accumulator) to avoid recursion.
    root_holder: list[PyTreeDef] = []
    stack: list[Any] = [(tree, root_holder, None)]
    # Each frame: (obj, parent_list, pending); pending = (type, data, children_list, n_left)
    while stack:
        item = stack.pop()
        if item[0] is _CLOSE:
            _, parent, (t, data, kids) = item
            parent.append(PyTreeDef(t, data, tuple(kids)))
            continue
        obj, parent, _ = item
        if is_leaf is not None and is_leaf(obj):
            leaves.append(obj)
            parent.append(_LEAF)
            continue
        nt = _node_type(obj)
        if nt is None:
            leaves.append(obj)
            parent.append(_LEAF)
            continue
        t, node = nt
        children, data = node.flatten(obj)
        children = list(children)
        kids: list[PyTreeDef] = []
        stack.append((_CLOSE, parent, (t, data, kids)))
        for c in reversed(children):
            stack.append((c, kids, None))
    return leaves, root_holder[0]


_CLOSE = object()
_FLAT_TUPLE_DEFS: dict[int, PyTreeDef] = {}


def _is_plain_leaf(x: Any) -> bool:
    t = type(x)
    return t not in _registry and not _is_namedtuple(t)


def _flat_tuple_def(n: int) -> PyTreeDef:
    d = _FLAT_TUPLE_DEFS.get(n)
    if d is None:
        d = _FLAT_TUPLE_DEFS[n] = PyTreeDef(tuple, None, (_LEAF,) * n)
    return d


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from ``leaves``.

    >>> _, t = tree_flatten([1, (2, 3)])
    >>> tree_unflatten(t, "abc")
    ['a', ('b', 'c')]
    """
    if not isinstance(treedef, PyTreeDef):
        raise LocatedTypeError(f"tree_unflatten expects a PyTreeDef, got {type(treedef).__name__}")
    if treedef is _LEAF:
        leaves = list(leaves)
        if len(leaves) == 1:
            return leaves[0]
    elif treedef.node_type is tuple and _FLAT_TUPLE_DEFS.get(treedef.num_leaves) is treedef:
        flat = tuple(leaves)  # a flat tuple of leaves (e.g. a function's arguments)
        if len(flat) == treedef.num_leaves:
            return flat
        leaves = flat
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise LocatedValueError(
            f"tree_unflatten: structure {treedef} has {treedef.num_leaves} leaves "
            f"but {len(leaves)} were given"
        )
    it = iter(leaves)
    # Post-order iterative rebuild.
    out: list[Any] = []
    stack: list[tuple[PyTreeDef, bool]] = [(treedef, False)]
    while stack:
        node, done = stack.pop()
        t = node.node_type
        if t is None:
            out.append(next(it))
            continue
        if not done:
            stack.append((node, True))
            for c in reversed(node.children):
                stack.append((c, False))
            continue
        n = len(node.children)
        kids = out[len(out) - n :] if n else []
        if n:
            del out[len(out) - n :]
        out.append(_build(t, node.node_data, kids))
    return out[0]


def _build(t: type, data: Any, kids: list[Any]) -> Any:
    node = _registry.get(t)
    if node is not None:
        return node.unflatten(data, kids)
    # namedtuple
    return t(*kids)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree`` in flattening order.

    >>> tree_leaves({"b": 1, "a": (2, None)})
    [2, 1]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The structure of ``tree``.

    >>> tree_structure((1, [2]))
    PyTreeDef((*, [*]))
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_paths(tree: Any) -> list[str]:
    """Human-readable paths to every leaf, in flattening order (used in error messages).

    >>> tree_paths({"w": [1, 2], "b": 3})
    ["['b']", "['w'][0]", "['w'][1]"]
    """
    paths: list[str] = []
    stack: list[tuple[Any, str]] = [(tree, "")]
    while stack:
        obj, path = stack.pop()
        nt = _node_type(obj)
        if nt is None:
            paths.append(path or "<root>")
            continue
        t, node = nt
        children, data = node.flatten(obj)
        children = list(children)
        if t is dict:
            names = [f"[{k!r}]" for k in data]
        elif t in _dataclass_data_fields:
            names = [f".{n}" for n in _dataclass_data_fields[t]]
        elif _is_namedtuple(t):
            names = [f".{n}" for n in t._fields]
        else:
            names = [f"[{i}]" for i in range(len(children))]
        for name, c in reversed(list(zip(names, children))):
            stack.append((c, path + name))
    return paths


def tree_map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` leaf-wise to ``tree`` and the same-structured trees in ``rest``.

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": (2,)}, {"x": 10, "y": (20,)})
    {'x': 11, 'y': (22,)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = []
    for i, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise LocatedValueError(
                "tree_map: argument 1 and argument "
                f"{i + 2} have different structures: {treedef} vs {r_def}"
                + _first_difference(tree, r)
            )
        others.append(r_leaves)
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def _first_difference(a: Any, b: Any) -> str:
    """Describe where two trees first differ (path and what differs), for error messages."""
    stack: list[tuple[Any, Any, str]] = [(a, b, "")]
    while stack:
        x, y, path = stack.pop()
        nx, ny = _node_type(x), _node_type(y)
        where = path or "the root"
        if nx is None and ny is None:
            continue
        if (nx is None) != (ny is None) or nx[0] is not ny[0]:  # type: ignore[index]
            tx = "a leaf" if nx is None else type(x).__name__
            ty = "a leaf" if ny is None else type(y).__name__
            return f"; at {where}: {tx} vs {ty}"
        cx, dx = nx[1].flatten(x)
        cy, dy = ny[1].flatten(y)  # type: ignore[index]
        cx, cy = list(cx), list(cy)
        if dx != dy or len(cx) != len(cy):
            if nx[0] is dict:
                return f"; at {where}: dict keys {list(dx)} vs {list(dy)}"
            return f"; at {where}: {len(cx)} vs {len(cy)} children"
        if nx[0] is dict:
            names = [f"[{k!r}]" for k in dx]
        else:
            names = [f"[{i}]" for i in range(len(cx))]
        for n, u, v in reversed(list(zip(names, cx, cy))):
            stack.append((u, v, path + n))
    return ""


def all_leaves_equal_structure(a: Any, b: Any) -> str:
    """'' if ``a`` and ``b`` have the same structure, else where they first differ."""
    if tree_structure(a) == tree_structure(b):
        return ""
    return _first_difference(a, b).lstrip("; ") or "structures differ"


def broadcast_prefix(prefix: Any, tree: Any, what: str = "prefix") -> list[Any]:
    """One entry of ``prefix`` per leaf of ``tree``, where ``prefix`` is a pytree prefix of
    ``tree`` whose leaves (including ``None``) apply to whole subtrees — JAX's ``in_axes``.

    >>> broadcast_prefix((0, None), ([1, 2], {"a": 3}))
    [0, 0, None]
    """
    out: list[Any] = []
    stack: list[tuple[Any, Any, str]] = [(prefix, tree, "")]
    while stack:
        p, t, path = stack.pop()
        np_ = _node_type(p) if p is not None else None
        if np_ is None:
            out.extend([p] * len(tree_leaves(t)))
            continue
        nt = _node_type(t)
        if nt is None or nt[0] is not np_[0]:
            raise LocatedValueError(
                f"{what} {prefix!r} is not a tree prefix of the arguments: at "
                f"{path or 'the top level'} it has a {np_[0].__name__} where the arguments have "
                f"{'a leaf' if nt is None else 'a ' + nt[0].__name__}"
            )
        pc, pd = np_[1].flatten(p)
        tc, td = nt[1].flatten(t)
        pc, tc = list(pc), list(tc)
        if pd != td or len(pc) != len(tc):
            if np_[0] is dict:
                detail = f"dict keys {list(pd)} vs {list(td)}"
            else:
                detail = f"{len(pc)} entries vs {len(tc)} arguments"
            raise LocatedValueError(
                f"{what} {prefix!r} does not match the arguments' structure at "
                f"{path or 'the top level'}: {detail}"
            )
        for i in reversed(range(len(pc))):
            stack.append((pc[i], tc[i], f"{path}[{i}]"))
    return out


# --- key paths (JAX's tree_util key API) ------------------------------------------------------
class SequenceKey(NamedTuple):
    """Path entry for a child of a tuple, list or namedtuple: ``[idx]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


class DictKey(NamedTuple):
    """Path entry for a dict value: ``[key]``."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


class GetAttrKey(NamedTuple):
    """Path entry for an attribute (namedtuple fields, dataclass fields): ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


class FlattenedIndexKey(NamedTuple):
    """Path entry for the i-th child of a node registered without keys."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


# nodetype -> flatten_with_keys(x) -> (iterable of (key, child), aux)
_key_registry: dict[type, Callable[[Any], tuple[Iterable[tuple[Any, Any]], Hashable]]] = {}


def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Hashable]],
    unflatten_func: Callable[[Hashable, Iterable[Any]], Any],
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]] | None = None,
) -> None:
    """Register a container whose children have path keys (JAX's API).

    ``flatten_with_keys(x) -> ([(key, child), ...], aux)``; ``flatten_func`` defaults to
    dropping the keys.

    >>> class Point:
    ...     def __init__(self, x, y): self.x, self.y = x, y
    >>> register_pytree_with_keys(
    ...     Point,
    ...     lambda p: (((GetAttrKey("x"), p.x), (GetAttrKey("y"), p.y)), None),
    ...     lambda _, c: Point(*c))
    >>> [keystr(k) for k, _ in tree_flatten_with_path(Point(1.0, 2.0))[0]]
    ['.x', '.y']
    """
    if flatten_func is None:

        def flatten_func(x: Any) -> tuple[list[Any], Hashable]:
            kids, aux = flatten_with_keys(x)
            return [c for _, c in kids], aux

    register_pytree_node(nodetype, flatten_func, unflatten_func)
    _key_registry[nodetype] = flatten_with_keys


def register_static(cls: type) -> type:
    """Register ``cls`` as a pytree node with no children: its instances are part of the tree
    structure (so they must be hashable), never leaves. Usable as a decorator.

    >>> @register_static
    ... class Tag:
    ...     def __hash__(self): return 0
    ...     def __eq__(self, other): return isinstance(other, Tag)
    >>> tree_leaves((1.0, Tag()))
    [1.0]
    """
    register_pytree_node(cls, lambda x: ((), x), lambda aux, _: aux)
    return cls


def _keyed_children(obj: Any, t: type, node: _NodeType) -> tuple[list[tuple[Any, Any]], Any]:
    fk = _key_registry.get(t)
    if fk is not None:
        kids, data = fk(obj)
        return [(k, c) for k, c in kids], data
    children, data = node.flatten(obj)
    children = list(children)
    if t is dict:
        keys: list[Any] = [DictKey(k) for k in data]
    elif t in _dataclass_data_fields:
        keys = [GetAttrKey(n) for n in _dataclass_data_fields[t]]
    elif _is_namedtuple(t):
        keys = [GetAttrKey(n) for n in t._fields]
    elif t in (tuple, list):
        keys = [SequenceKey(i) for i in range(len(children))]
    else:
        keys = [FlattenedIndexKey(i) for i in range(len(children))]
    return list(zip(keys, children)), data


def tree_flatten_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[tuple[tuple[Any, ...], Any]], PyTreeDef]:
    """Like :func:`tree_flatten`, with each leaf's key path: ``([(path, leaf), ...], treedef)``.

    >>> tree_flatten_with_path({"a": (1, 2)})[0]
    [((DictKey(key='a'), SequenceKey(idx=0)), 1), ((DictKey(key='a'), SequenceKey(idx=1)), 2)]
    """
    out: list[tuple[tuple[Any, ...], Any]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(tree, ())]
    while stack:
        obj, path = stack.pop()
        if is_leaf is not None and is_leaf(obj):
            out.append((path, obj))
            continue
        nt = _node_type(obj)
        if nt is None:
            out.append((path, obj))
            continue
        kids, _ = _keyed_children(obj, *nt)
        for k, c in reversed(kids):
            stack.append((c, path + (k,)))
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> list[tuple[tuple[Any, ...], Any]]:
    """``[(path, leaf), ...]`` in flattening order.

    >>> tree_leaves_with_path([1.0])
    [((SequenceKey(idx=0),), 1.0)]
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``f(path, leaf, *other_leaves)`` for every leaf.

    >>> tree_map_with_path(lambda p, x: keystr(p), {"a": [1], "b": 2})
    {'a': ["['a'][0]"], 'b': "['b']"}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = []
    for i, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise LocatedValueError(
                f"tree_map_with_path: argument 1 and argument {i + 2} have different "
                f"structures: {treedef} vs {r_def}" + _first_difference(tree, r)
            )
        others.append(r_leaves)
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


def keystr(keys: tuple[Any, ...]) -> str:
    """A key path as a string, e.g. ``"['a'][0].w"``.

    >>> keystr((DictKey("a"), SequenceKey(0), GetAttrKey("w")))
    "['a'][0].w"
    """
    return "".join(str(k) for k in keys)


_NO_INIT = object()


def tree_reduce(
    function: Callable[[Any, Any], Any],
    tree: Any,
    initializer: Any = _NO_INIT,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """``functools.reduce`` over the leaves.

    >>> tree_reduce(lambda a, b: a + b, {"x": 1, "y": (2, 3)})
    6
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        if not leaves:
            raise LocatedTypeError("tree_reduce of a tree without leaves needs an initializer")
        acc, leaves = leaves[0], leaves[1:]
    else:
        acc = initializer
    for x in leaves:
        acc = function(acc, x)
    return acc


def tree_all(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """True if every leaf is truthy.

    >>> tree_all({"a": True, "b": (1, 0)})
    False
    """
    return all(bool(x) for x in tree_leaves(tree, is_leaf))


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree: Any) -> Any:
    """Turn a tree of structure ``outer(inner)`` into ``inner(outer)``.

    >>> tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    if outer_treedef is None or inner_treedef is None:
        raise LocatedTypeError("tree_transpose needs both outer_treedef and inner_treedef")
    n_out, n_in = outer_treedef.num_leaves, inner_treedef.num_leaves
    leaves = tree_leaves(pytree)
    if len(leaves) != n_out * n_in:
        raise LocatedValueError(
            f"tree_transpose: the tree has {len(leaves)} leaves but outer {outer_treedef} times "
            f"inner {inner_treedef} needs {n_out * n_in}"
        )
    outer_nodes = tree_unflatten(outer_treedef, [object()] * n_out)
    expected = tree_flatten(
        tree_map(lambda _: tree_unflatten(inner_treedef, leaves[:n_in]), outer_nodes)
    )[1]
    if tree_structure(pytree) != expected:
        raise LocatedValueError(
            f"tree_transpose: the tree has structure {tree_structure(pytree)}, expected "
            f"{expected} (outer {outer_treedef} of inner {inner_treedef})"
        )
    rows = [leaves[i * n_in : (i + 1) * n_in] for i in range(n_out)]
    cols = [tree_unflatten(outer_treedef, [r[j] for r in rows]) for j in range(n_in)]
    return tree_unflatten(inner_treedef, cols)


class Partial(functools.partial):
    """``functools.partial`` that is a pytree: the bound arguments are children, the function
    is static — so it can be passed through ``jit`` and returned from transformed functions.

    >>> import operator
    >>> add3 = Partial(operator.add, 3.0)
    >>> tree_leaves(add3), add3(1.0)
    ([3.0], 4.0)
    """

    def __new__(cls, func: Callable[..., Any], *args: Any, **kw: Any) -> Partial:
        if isinstance(func, functools.partial):  # flatten nested partials, as JAX does
            original = func
            func = func.func
            args = original.args + args
            kw = {**original.keywords, **kw}
        return super().__new__(cls, func, *args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, kids: Partial(func, *kids[0], **kids[1]),
)
