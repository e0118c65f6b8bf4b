"""Implementation of :mod:`funcgrad.io`; the public names are gathered there."""

from __future__ import annotations

import json
import os
import secrets
import sys
import zipfile
import zlib
from typing import Any

import numpy as np

from funcgrad.core import pytree as _pytree
from funcgrad.core.array import Array
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.pytree import PyTreeDef, tree_flatten

__all__ = ["save", "load"]

_TREEDEF_KEY = "__treedef__"
_FORMAT = "funcgrad.io"
_VERSION = 1


# ---------------------------------------------------------------------------------------------
# static data (dict keys, registered nodes' aux data) as tagged JSON, so types survive exactly


def _encode_static(x: Any, what: str) -> Any:
    t = type(x)  # exact types, so that e.g. a bool key does not come back as an int
    if x is None:
        return ["none", None]
    if t is bool:
        return ["bool", x]
    if t is int:
        return ["int", str(x)]  # a string: JSON readers elsewhere may round big ints
    if t is float:
        return ["float", x.hex()]  # exact, including inf/nan
    if t is str:
        return ["str", x]
    if t is tuple:
        return ["tuple", [_encode_static(v, what) for v in x]]
    if t is list:
        return ["list", [_encode_static(v, what) for v in x]]
    raise LocatedTypeError(
        f"io.save: cannot store {what} of type {type(x).__name__} ({x!r:.60}); only None, bool, "
        "int, float, str and tuples/lists of them can be stored without pickle"
    )


def _decode_static(x: Any) -> Any:
    if not (isinstance(x, list) and len(x) == 2 and isinstance(x[0], str)):
        raise LocatedValueError(f"malformed static value {x!r:.60}")
    tag, v = x
    if tag == "none" and v is None:
        return None
    if tag == "bool" and isinstance(v, bool):
        return v
    if tag == "int" and isinstance(v, str):
        return int(v)
    if tag == "float" and isinstance(v, str):
        return float.fromhex(v)
    if tag == "str" and isinstance(v, str):
        return v
    if tag in ("tuple", "list") and isinstance(v, list):
        items = [_decode_static(i) for i in v]
        return tuple(items) if tag == "tuple" else items
    raise LocatedValueError(f"malformed static value {x!r:.60}")


# ---------------------------------------------------------------------------------------------
# save


def _class_ref(t: type) -> dict[str, str]:
    qualname = t.__qualname__
    if "<locals>" in qualname:
        raise LocatedTypeError(
            f"io.save: {t.__module__}.{qualname} is defined inside a function and could not be "
            "found again when loading; define it at module level"
        )
    return {"module": t.__module__, "qualname": qualname}


def _leaf_record(leaf: Any, path: str, index: int, arrays: dict[str, np.ndarray]) -> dict:
    name = f"leaf_{index}"
    t = type(leaf)
    # Exact types: np.float64 subclasses float and bool subclasses int, and both must come back
    # as what they were.
    if t is bool:
        return {"kind": "bool", "value": leaf}
    if t is int:
        return {"kind": "int", "value": str(leaf)}
    if t is float or t is complex:
        # stored as a 0-d float64/complex128 array: exact bits, NaN payloads included
        arrays[name] = np.array(leaf)
        return {"kind": t.__name__, "entry": name}
    if isinstance(leaf, np.generic):
        arr = np.array(leaf)
        kind = "npscalar"
    elif t is np.ndarray:
        arr = leaf
        kind = "array"
    elif t is Array:  # funcgrad's array class: stored as plain data, restored as Array
        arr = leaf.view(np.ndarray)
        kind = "farray"
    elif isinstance(leaf, np.ndarray):
        raise LocatedTypeError(
            f"io.save: leaf at {path} is a {t.__name__} (an ndarray subclass), which "
            "would not come back as the same type; convert it with np.asarray first"
        )
    else:
        raise LocatedTypeError(
            f"io.save: leaf at {path} is a {t.__module__}.{t.__qualname__}; only numpy arrays, "
            "numpy scalars, int, float, complex, bool and None can be saved"
        )
    if arr.dtype.hasobject:
        raise LocatedTypeError(
            f"io.save: leaf at {path} has dtype {arr.dtype}, which needs pickle; "
            "only numeric, bool and string dtypes can be saved"
        )
    arrays[name] = arr
    return {"kind": kind, "entry": name}


def _encode_tree(tree: Any) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Pre-order list of node records (flat, so deep trees need no recursion) + leaf arrays."""
    leaves, treedef = tree_flatten(tree)
    paths = _pytree.tree_paths(tree)
    arrays: dict[str, np.ndarray] = {}
    nodes: list[dict] = []
    leaf_i = 0
    stack: list[PyTreeDef] = [treedef]
    while stack:
        node = stack.pop()
        t = node.node_type
        if t is None:
            nodes.append(_leaf_record(leaves[leaf_i], paths[leaf_i], leaf_i, arrays))
            leaf_i += 1
            continue
        n = len(node.children)
        if t is tuple:
            rec: dict[str, Any] = {"kind": "tuple", "n": n}
        elif t is list:
            rec = {"kind": "list", "n": n}
        elif t is dict:
            rec = {
                "kind": "dict",
                "keys": [_encode_static(k, "a dict key") for k in node.node_data],
            }
        elif t is type(None):
            rec = {"kind": "none"}
        elif t in _pytree._registry:
            rec = {
                "kind": "node",
                **_class_ref(t),
                "aux": _encode_static(node.node_data, f"the static data of {t.__name__}"),
                "n": n,
            }
        else:  # namedtuple (tree_util treats every namedtuple as a node)
            rec = {"kind": "namedtuple", **_class_ref(t), "fields": list(t._fields)}
        nodes.append(rec)
        stack.extend(reversed(node.children))
    return nodes, arrays


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(path: str | os.PathLike[str], tree: Any) -> None:
    """Atomically write ``tree`` (a pytree of arrays and scalars) to the ``.npz`` file ``path``.

    Leaves may be numpy arrays (any non-object dtype), numpy scalars, or Python ``int``,
    ``float``, ``complex`` and ``bool``; containers may be dicts (str/int/... keys), lists,
    tuples, ``None``, namedtuples and registered pytree nodes defined at module level. The file
    is written exactly at ``path`` (no suffix is added).

    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save(os.path.join(d, "params.npz"), [np.ones(2), (None, 1.5)])
    ...     load(os.path.join(d, "params.npz"))
    [array([1., 1.]), (None, 1.5)]
    """
    target = os.fsdecode(os.fspath(path))
    nodes, arrays = _encode_tree(tree)
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "nodes": nodes}, allow_nan=False)
    entries = {_TREEDEF_KEY: np.array(meta), **arrays}

    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"io.save: directory {directory!r} does not exist")
    # A fresh name in the target's directory (so os.replace is an atomic rename on the same
    # filesystem); O_EXCL so we never write into someone else's file; mode 0o666 so the umask
    # applies as for a normal file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)  # no object arrays reach here (checked above)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


# ---------------------------------------------------------------------------------------------
# load


def _resolve_class(rec: dict, kind: str) -> type:
    module_name, qualname = rec.get("module"), rec.get("qualname")
    if not isinstance(module_name, str) or not isinstance(qualname, str):
        raise LocatedValueError(f"{kind} record without module/qualname: {rec!r:.100}")
    label = f"{module_name}.{qualname}"
    module = sys.modules.get(module_name)  # never import: importing runs the module's code
    if module is None:
        raise LocatedValueError(
            f"io.load: the file contains a {label}, but module {module_name!r} is not "
            f"imported, so the type cannot be restored. Import {module_name!r} (the module "
            "defining it) before calling load."
        )
    # Walk the qualname through namespaces (vars) only, so no attribute hook of any object runs.
    obj: Any = module
    for part in qualname.split("."):
        try:
            namespace = vars(obj)
        except TypeError:
            namespace = {}
        if part not in namespace:
            raise LocatedValueError(
                f"io.load: the file contains a {label}, which is not defined in the imported "
                f"module {module_name!r}; import the module that defines it before calling load"
            )
        obj = namespace[part]
    if not isinstance(obj, type):
        raise LocatedValueError(f"io.load: {label} is not a class; refusing to restore it")
    if kind == "namedtuple":
        if not (issubclass(obj, tuple) and hasattr(obj, "_fields")):
            raise LocatedValueError(f"io.load: {label} is not a namedtuple; refusing to restore it")
        if list(obj._fields) != rec.get("fields"):
            raise LocatedValueError(
                f"io.load: {label} now has fields {list(obj._fields)} but the file was saved "
                f"with fields {rec.get('fields')}"
            )
    elif obj not in _pytree._registry:
        raise LocatedValueError(
            f"io.load: {label} is not a registered pytree node type; refusing to restore it. "
            "Import the module that registers it (register_pytree_node / register_dataclass) "
            "before calling load."
        )
    return obj


def _leaf_value(rec: dict, data: Any, used: set[str]) -> Any:
    kind = rec.get("kind")
    if kind == "bool" and isinstance(rec.get("value"), bool):
        return rec["value"]
    if kind == "int" and isinstance(rec.get("value"), str):
        return int(rec["value"])
    entry = rec.get("entry")
    if not isinstance(entry, str) or entry == _TREEDEF_KEY or entry not in data.files:
        raise LocatedValueError(f"leaf record {rec!r:.100} refers to a missing entry")
    if entry in used:
        raise LocatedValueError(f"entry {entry!r} is used twice")
    used.add(entry)
    try:
        arr = data[entry]
    except ValueError as e:  # e.g. an object array: np.load refuses it without pickle
        raise LocatedValueError(f"entry {entry!r} cannot be read: {e}") from e
    if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
        raise LocatedValueError(f"entry {entry!r} is not a plain array")
    if kind == "array":
        return arr
    if kind == "farray":
        return arr.view(Array)
    if arr.shape != ():
        raise LocatedValueError(f"scalar entry {entry!r} has shape {arr.shape}")
    if kind == "npscalar":
        return arr[()]
    if kind == "float" and arr.dtype == np.float64:
        return float(arr[()])
    if kind == "complex" and arr.dtype == np.complex128:
        return complex(arr[()])
    raise LocatedValueError(f"unknown or inconsistent leaf record {rec!r:.100}")


def _count(rec: dict, key: str = "n") -> int:
    n = rec.get(key)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise LocatedValueError(f"bad child count in {rec!r:.100}")
    return n


class _Frame:
    __slots__ = ("rec", "cls", "n", "children")

    def __init__(self, rec: dict, cls: type | None, n: int) -> None:
        self.rec, self.cls, self.n, self.children = rec, cls, n, []


def _build(frame: _Frame) -> Any:
    kind, kids = frame.rec["kind"], frame.children
    if kind == "tuple":
        return tuple(kids)
    if kind == "list":
        return kids
    if kind == "dict":
        return dict(zip(frame.rec["_keys"], kids))
    if kind == "namedtuple":
        return frame.cls(*kids)  # type: ignore[misc]
    return _pytree._registry[frame.cls].unflatten(frame.rec["_aux"], kids)  # type: ignore[index]


def _decode_tree(nodes: Any, data: Any) -> Any:
    if not isinstance(nodes, list) or not nodes:
        raise LocatedValueError("empty or malformed node list")
    used: set[str] = set()
    root: list[Any] = []
    stack: list[_Frame] = []

    def emit(value: Any) -> None:
        # Attach a finished value to its parent, closing every parent that becomes complete.
        while True:
            if not stack:
                root.append(value)
                return
            top = stack[-1]
            top.children.append(value)
            if len(top.children) < top.n:
                return
            stack.pop()
            value = _build(top)

    for rec in nodes:
        if root:
            raise LocatedValueError("extra nodes after the end of the tree")
        if not isinstance(rec, dict) or not isinstance(rec.get("kind"), str):
            raise LocatedValueError(f"malformed node record {rec!r:.100}")
        kind = rec["kind"]
        if kind == "none":
            emit(None)
            continue
        if kind in ("bool", "int", "float", "complex", "npscalar", "array", "farray"):
            emit(_leaf_value(rec, data, used))
            continue
        if kind in ("tuple", "list"):
            frame = _Frame(rec, None, _count(rec))
        elif kind == "dict":
            keys = rec.get("keys")
            if not isinstance(keys, list):
                raise LocatedValueError(f"dict record without keys: {rec!r:.100}")
            rec["_keys"] = [_decode_static(k) for k in keys]
            for k in rec["_keys"]:
                try:
                    hash(k)
                except TypeError:
                    raise LocatedValueError(f"unhashable dict key {k!r:.60}") from None
            frame = _Frame(rec, None, len(keys))
        elif kind == "namedtuple":
            cls = _resolve_class(rec, kind)
            frame = _Frame(rec, cls, len(cls._fields))  # type: ignore[attr-defined]
        elif kind == "node":
            cls = _resolve_class(rec, kind)
            rec["_aux"] = _decode_static(rec.get("aux"))
            frame = _Frame(rec, cls, _count(rec))
        else:
            raise LocatedValueError(f"unknown node kind {kind!r}")
        if frame.n == 0:
            emit(_build(frame))
        else:
            stack.append(frame)
    if not root:
        raise LocatedValueError("the node list ends before the tree is complete")
    unused = set(data.files) - used - {_TREEDEF_KEY}
    if unused:
        raise LocatedValueError(f"entries not referenced by the tree: {sorted(unused)[:5]}")
    return root[0]


def load(path: str | os.PathLike[str]) -> Any:
    """Read a pytree written by :func:`save`: same structure, leaf types, dtypes and bits.

    Container types other than dict/list/tuple/None are looked up in already-imported modules
    only; import the module that defines them first.

    >>> import os, tempfile
    >>> import numpy as np
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save(os.path.join(d, "s.npz"), {"count": np.int32(3), "mu": np.zeros(2, np.float16)})
    ...     out = load(os.path.join(d, "s.npz"))
    >>> out["count"], out["mu"].dtype
    (np.int32(3), dtype('float16'))
    """
    target = os.fsdecode(os.fspath(path))
    if not os.path.exists(target):
        raise FileNotFoundError(f"io.load: no such file: {target!r}")
    if os.path.isdir(target):
        raise IsADirectoryError(f"io.load: {target!r} is a directory, not a checkpoint file")
    not_ours = f"io.load: {target!r} was not written by funcgrad.io.save"
    with open(target, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # what np.load checks to decide it is an .npz archive
        raise LocatedValueError(f"{not_ours} (it is not an .npz archive)")
    try:
        with np.load(target, allow_pickle=False) as data:
            if _TREEDEF_KEY not in data.files:
                raise LocatedValueError(f"{not_ours} (it has no {_TREEDEF_KEY!r} entry)")
            try:
                meta_arr = data[_TREEDEF_KEY]
            except ValueError as e:  # an object (pickled) array: never unpickled here
                raise LocatedValueError(
                    f"{not_ours} ({_TREEDEF_KEY!r} holds pickled Python objects, which io.load "
                    "never unpickles: loading them could run arbitrary code)"
                ) from e
            if meta_arr.shape != () or meta_arr.dtype.kind != "U":
                raise LocatedValueError(f"{not_ours} ({_TREEDEF_KEY!r} is not a string)")
            try:
                meta = json.loads(str(meta_arr[()]), parse_constant=_reject_constant)
            except (ValueError, RecursionError) as e:
                raise LocatedValueError(
                    f"{not_ours} ({_TREEDEF_KEY!r} is not valid JSON: {e})"
                ) from e
            if not (
                isinstance(meta, dict)
                and meta.get("format") == _FORMAT
                and meta.get("version") == _VERSION
            ):
                raise LocatedValueError(f"{not_ours} (unknown format header)")
            try:
                return _decode_tree(meta.get("nodes"), data)
            except RecursionError as e:
                raise LocatedValueError(f"io.load: {target!r} is corrupt: nesting too deep") from e
            except ValueError as e:
                if str(e).startswith("io.load:"):
                    raise
                raise LocatedValueError(f"io.load: {target!r} is corrupt: {e}") from e
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise LocatedValueError(f"io.load: cannot read {target!r}: {e}") from e


def _reject_constant(name: str) -> float:
    # NaN/Infinity are not valid JSON and save never writes them.
    raise LocatedValueError(f"invalid JSON constant {name}")
