"""Pytrees: flatten/unflatten round trips, registration, tree_map, error paths, prefixes, depth."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcgrad import tree_util as tu
from funcgrad.core.pytree import broadcast_prefix

Pair = namedtuple("Pair", ["first", "second"])
Triple = namedtuple("Triple", ["a", "b", "c"])


class Box:
    """A custom container registered with register_pytree_node; aux data = its label."""

    def __init__(self, label, items):
        self.label = label
        self.items = list(items)

    def __eq__(self, other):
        return type(other) is Box and self.label == other.label and self.items == other.items

    def __repr__(self):
        return f"Box({self.label!r}, {self.items!r})"


tu.register_pytree_node(Box, lambda b: (b.items, b.label), lambda label, kids: Box(label, kids))


@tu.register_dataclass
@dataclasses.dataclass
class Params:
    w: object
    b: object


@dataclasses.dataclass(frozen=True)
class Conv:
    kernel: object
    bias: object
    stride: int = 1
    padding: str = "same"

    def __post_init__(self):
        if self.stride < 1:
            raise ValueError("stride must be positive")


tu.register_dataclass(Conv, data_fields=["kernel", "bias"], meta_fields=["stride", "padding"])


def roundtrip(tree):
    leaves, treedef = tu.tree_flatten(tree)
    return leaves, treedef, tu.tree_unflatten(treedef, leaves)


def same_structure_and_types(a, b):
    """Compare two (shallow) trees exactly, including container types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_structure_and_types(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return sorted(a) == sorted(b) and all(same_structure_and_types(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) or isinstance(a, Box):
        return a == b
    return a is b or a == b


# --- round trips ----------------------------------------------------------------------------
CASES = {
    "leaf": (3.0, [3.0]),
    "array-leaf": (np.float32(1.0), [np.float32(1.0)]),
    "tuple": ((1, 2, 3), [1, 2, 3]),
    "list": ([1, [2, 3]], [1, 2, 3]),
    "dict-sorted": ({"b": 1, "a": 2, "c": {"z": 3, "y": 4}}, [2, 1, 4, 3]),
    "namedtuple": (Pair(1, Triple(2, 3, (4,))), [1, 2, 3, 4]),
    "none": ([None, 1, (None,), {"n": None}], [1]),
    "empty": (((), [], {}, None), []),
    "registered": (Box("lbl", [1, {"q": 2}]), [1, 2]),
    "dataclass": (Params(w=[1, 2], b=3), [1, 2, 3]),
    "dataclass-meta": (Conv(kernel=1, bias=(2,), stride=2, padding="valid"), [1, 2]),
    "mixed": (
        {"layers": [Params(1, 2), Pair(3, None)], "opt": (Box("m", [4]), 5)},
        [1, 2, 3, 4, 5],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_flatten_unflatten_round_trip(name):
    tree, want_leaves = CASES[name]
    leaves, treedef, back = roundtrip(tree)
    assert leaves == want_leaves
    assert treedef.num_leaves == len(want_leaves)
    assert same_structure_and_types(back, tree)
    assert tu.tree_structure(back) == treedef
    assert hash(tu.tree_structure(back)) == hash(treedef)
    # unflatten builds new containers, with the new leaves in place
    new = tu.tree_unflatten(treedef, [f"L{i}" for i in range(len(leaves))])
    assert tu.tree_leaves(new) == [f"L{i}" for i in range(len(leaves))]
    assert tu.tree_structure(new) == treedef


def test_dict_keys_sorted_and_rebuilt_sorted():
    leaves, treedef = tu.tree_flatten({"zeta": 1, "alpha": 2, "mid": 3})
    assert leaves == [2, 3, 1]
    back = tu.tree_unflatten(treedef, leaves)
    assert list(back) == ["alpha", "mid", "zeta"]
    assert tu.tree_structure({"b": 1, "a": 2}) == tu.tree_structure({"a": 0, "b": 0})


def test_unsortable_dict_keys():
    with pytest.raises(TypeError, match="sortable"):
        tu.tree_flatten({1: "a", "x": 2})


def test_none_is_an_empty_node_not_a_leaf():
    assert tu.tree_leaves([None, 1, None]) == [1]
    assert tu.tree_map(lambda x: x * 10, {"a": None, "b": 2}) == {"a": None, "b": 20}
    assert tu.tree_structure(None) != tu.tree_structure(0)
    assert tu.tree_structure(None).num_leaves == 0


def test_structure_equality_distinguishes_node_types_and_aux_data():
    s = tu.tree_structure
    assert s((1, 2)) != s([1, 2])
    assert s((1, 2)) != s(Pair(1, 2))
    assert s(Pair(1, 2)) != s(namedtuple("Other", ["first", "second"])(1, 2))
    assert s({"a": 1}) != s({"b": 1})
    assert s(Box("x", [1])) != s(Box("y", [1]))
    assert s(Conv(1, 2, stride=1)) != s(Conv(1, 2, stride=2))
    assert s(Conv(1, 2, padding="a")) == s(Conv(5, 6, padding="a"))
    assert s([1, [2]]) != s([[1], 2])
    assert s([1, [2]]) == s(["x", ["y"]])
    assert len({s((1, 2)), s((3, 4)), s([1, 2])}) == 2


def test_register_dataclass_meta_fields():
    c = Conv(kernel=np.ones(2), bias=np.zeros(1), stride=3, padding="valid")
    leaves, treedef = tu.tree_flatten(c)
    assert len(leaves) == 2 and leaves[0] is c.kernel and leaves[1] is c.bias
    back = tu.tree_unflatten(treedef, ["k", "b"])
    assert type(back) is Conv
    assert (back.kernel, back.bias, back.stride, back.padding) == ("k", "b", 3, "valid")
    # unflatten bypasses __post_init__ (leaves may be placeholders or tracers)
    assert tu.tree_map(lambda x: None, Params(1, 2)) == Params(None, None)


def test_register_dataclass_decorator_and_errors():
    @dataclasses.dataclass
    class NotRegistered:
        a: int

    assert tu.tree_leaves(NotRegistered(1)) == [NotRegistered(1)]  # unregistered: a leaf
    with pytest.raises(TypeError, match="dataclass"):
        tu.register_dataclass(Box)
    with pytest.raises(ValueError, match="not fields"):
        tu.register_dataclass(NotRegistered, data_fields=["a", "nope"])
    with pytest.raises(ValueError, match="already registered"):
        tu.register_pytree_node(Box, lambda b: ((), None), lambda a, c: None)
    with pytest.raises(TypeError, match="expects a type"):
        tu.register_pytree_node(Box("x", []), lambda b: ((), None), lambda a, c: None)


def test_tree_unflatten_wrong_number_of_leaves():
    treedef = tu.tree_structure({"a": [1, 2], "b": 3})
    with pytest.raises(ValueError, match="3 leaves but 2 were given"):
        tu.tree_unflatten(treedef, [1, 2])
    with pytest.raises(TypeError, match="PyTreeDef"):
        tu.tree_unflatten([1, 2], [1, 2])


def test_is_leaf():
    tree = {"a": (1, 2), "b": [3, (4, 5)]}
    leaves = tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [(1, 2), 3, (4, 5)]
    out = tu.tree_map(
        lambda t: sum(t) if isinstance(t, tuple) else t,
        tree,
        is_leaf=lambda x: isinstance(x, tuple),
    )
    assert out == {"a": 3, "b": [3, 9]}


def test_tree_paths():
    assert tu.tree_paths({"w": [1, Pair(2, 3)], "b": None, "p": Params(4, 5)}) == [
        "['p'].w",
        "['p'].b",
        "['w'][0]",
        "['w'][1].first",
        "['w'][1].second",
    ]
    assert tu.tree_paths(1.0) == ["<root>"]


# --- tree_map -------------------------------------------------------------------------------
def test_tree_map_several_trees():
    a = {"x": [1, 2], "y": Pair(3, Box("b", [4]))}
    b = {"x": [10, 20], "y": Pair(30, Box("b", [40]))}
    c = {"x": [100, 200], "y": Pair(300, Box("b", [400]))}
    out = tu.tree_map(lambda p, q, r: p + q + r, a, b, c)
    assert out == {"x": [111, 222], "y": Pair(333, Box("b", [444]))}
    assert type(out["y"]) is Pair
    # leaves of the later trees are matched by position, not by object identity
    arrs = tu.tree_map(lambda p, q: p * q, [np.ones(2), 2.0], [np.arange(2.0), 3.0])
    np.testing.assert_array_equal(arrs[0], [0.0, 1.0])
    assert arrs[1] == 6.0


@pytest.mark.parametrize(
    "other,words",
    [
        ({"a": [1], "b": 3}, ["['a']", "2 vs 1 children"]),
        ({"a": [1, 2], "c": 3}, ["the root", "dict keys", "['a', 'b']", "['a', 'c']"]),
        ({"a": [1, [2]], "b": 3}, ["['a'][1]", "tuple", "list"]),
        ({"a": [1, (2,)], "b": (3,)}, ["['b']", "a leaf", "tuple"]),
        ({"a": [1, (2,)], "b": Box("q", [3])}, ["['b']", "Box"]),
    ],
)
def test_tree_map_mismatch_names_the_path(other, words):
    tree = {"a": [1, (2,)], "b": 3}
    with pytest.raises(ValueError) as info:
        tu.tree_map(lambda x, y: x, tree, other)
    msg = str(info.value)
    assert "different structures" in msg and "argument 2" in msg
    for w in words:
        assert w in msg, (w, msg)


def test_tree_map_mismatch_in_registered_aux_data():
    with pytest.raises(ValueError, match="different structures"):
        tu.tree_map(lambda x, y: x, Box("a", [1]), Box("b", [1]))


# --- broadcast_prefix -----------------------------------------------------------------------
def test_broadcast_prefix():
    args = ([1, 2], {"a": 3, "b": (4, 5)})
    assert broadcast_prefix(0, args) == [0] * 5
    assert broadcast_prefix(None, args) == [None] * 5
    assert broadcast_prefix((0, None), args) == [0, 0, None, None, None]
    assert broadcast_prefix((1, {"a": 0, "b": None}), args) == [1, 1, 0, None, None]
    assert broadcast_prefix(([0, 1], {"a": 2, "b": (3, None)}), args) == [0, 1, 2, 3, None]
    assert broadcast_prefix((0,), ((),)) == []


def test_broadcast_prefix_errors_name_the_place():
    args = ([1, 2], {"a": 3})
    with pytest.raises(ValueError, match=r"top level: 3 entries vs 2"):
        broadcast_prefix((0, None, 1), args)
    with pytest.raises(
        ValueError, match=r"at \[0\] it has a tuple where the arguments have a list"
    ):
        broadcast_prefix(((0, 0), None), args)
    with pytest.raises(ValueError, match=r"in_axes .* not a tree prefix"):
        broadcast_prefix((0, [0]), args, what="in_axes")
    with pytest.raises(ValueError, match=r"at \[1\]"):
        broadcast_prefix((0, {"b": 0}), args)


# --- deep trees -----------------------------------------------------------------------------
DEPTH = 10_000


def deep_tree(depth=DEPTH, leaf=1.0):
    """Alternating list / dict / tuple / namedtuple nesting, built iteratively."""
    t = leaf
    for i in range(depth):
        k = i % 4
        t = [t, 2] if k == 0 else {"k": t} if k == 1 else (t,) if k == 2 else Pair(t, None)
    return t


def check_deep(tree, leaf, depth=DEPTH):
    """Walk a deep_tree iteratively, checking every level's container type and the leaf."""
    t = tree
    for i in reversed(range(depth)):
        k = i % 4
        if k == 0:
            assert type(t) is list and len(t) == 2 and t[1] in (2, "two")
            t = t[0]
        elif k == 1:
            assert type(t) is dict and list(t) == ["k"]
            t = t["k"]
        elif k == 2:
            assert type(t) is tuple and len(t) == 1
            t = t[0]
        else:
            assert type(t) is Pair and t.second is None
            t = t.first
    assert t == leaf


def test_deep_flatten_unflatten():
    tree = deep_tree()
    leaves, treedef = tu.tree_flatten(tree)
    assert len(leaves) == 1 + DEPTH // 4 and leaves[0] == 1.0
    assert treedef.num_leaves == len(leaves)
    back = tu.tree_unflatten(treedef, [2.0] + ["two"] * (len(leaves) - 1))
    check_deep(back, 2.0)
    check_deep(tu.tree_map(lambda x: x, tree), 1.0)
    assert len(tu.tree_leaves(tree)) == len(leaves)
    assert len(tu.tree_paths(tree)) == len(leaves)


def runs_without_recursion_error(fn):
    """True if ``fn()`` completes; False on RecursionError (caught here so that pytest does not
    have to render a thousand-frame traceback)."""
    try:
        fn()
    except RecursionError:
        return False
    return True


def test_deep_structure_equality():
    a, b = tu.tree_structure(deep_tree()), tu.tree_structure(deep_tree())
    assert runs_without_recursion_error(lambda: a == b)


def test_deep_structure_hash():
    treedef = tu.tree_structure(deep_tree())
    assert runs_without_recursion_error(lambda: hash(treedef))


def test_deep_tree_map_several_trees():
    a, b = deep_tree(), deep_tree()
    assert runs_without_recursion_error(lambda: tu.tree_map(lambda x, y: x, a, b))


def test_deep_structure_repr_and_num_nodes():
    treedef = tu.tree_structure(deep_tree())
    assert runs_without_recursion_error(lambda: repr(treedef))
    assert runs_without_recursion_error(lambda: treedef.num_nodes)


# --- random structures ----------------------------------------------------------------------
LEAVES = st.one_of(st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=3))
KEYS = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(KEYS, children, max_size=4),
        st.tuples(children, children).map(lambda t: Pair(*t)),
        st.tuples(children, children).map(lambda t: Params(*t)),
        st.tuples(KEYS, st.lists(children, max_size=3)).map(lambda t: Box(*t)),
        st.just(None),
    )


TREES = st.recursive(LEAVES, _containers, max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(tree=TREES)
def test_random_round_trip(tree):
    leaves, treedef, back = roundtrip(tree)
    assert same_structure_and_types(back, tree)
    assert tu.tree_structure(back) == treedef
    assert hash(tu.tree_structure(back)) == hash(treedef)
    assert len(leaves) == treedef.num_leaves == len(tu.tree_paths(tree))
    # tree_map with a second tree of the same structure, and leaf order is stable
    tagged = tu.tree_unflatten(treedef, list(range(len(leaves))))
    pairs = tu.tree_map(lambda a, i: (a, i), tree, tagged)
    assert tu.tree_leaves(
        pairs, is_leaf=lambda x: type(x) is tuple and len(x) == 2 and type(x[1]) is int
    ) == list(zip(leaves, range(len(leaves))))
