"""Tests for funcgrad.io: exact round trips, no pickle, atomic writes, exact training resume."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _import_funcgrad(root: str, *names: str) -> list[Any]:
    """Import funcgrad submodules, even while funcgrad/__init__.py is being rewritten.

    If the package __init__ fails to import, a bare package object is put in its place so that
    only the requested submodules (and tree_util) get loaded. Also used by the child processes.
    """
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        importlib.import_module("funcgrad")
    except Exception:
        for key in [k for k in sys.modules if k == "funcgrad" or k.startswith("funcgrad.")]:
            del sys.modules[key]
        pkg = types.ModuleType("funcgrad")
        pkg.__path__ = [root + "/funcgrad"]
        sys.modules["funcgrad"] = pkg
    return [importlib.import_module("funcgrad." + n) for n in names]


fio, optim, tree_util = _import_funcgrad(str(ROOT), "io", "optim", "tree_util")


class Point(NamedTuple):
    x: Any
    y: Any


@dataclasses.dataclass
class Layer:
    w: Any
    b: Any
    name: str = "dense"
    sizes: tuple = (1, 2)


tree_util.register_dataclass(Layer, data_fields=["w", "b"], meta_fields=["name", "sizes"])


class Box:
    """A custom pytree node registered with register_pytree_node."""

    def __init__(self, items: list[Any], tag: tuple) -> None:
        self.items, self.tag = items, tag


tree_util.register_pytree_node(Box, lambda b: (b.items, b.tag), lambda tag, c: Box(list(c), tag))


def _bits(dtype: Any, n: int, seed: int = 0) -> np.ndarray:
    """Arrays with arbitrary bit patterns (NaN payloads, -0.0, subnormals, infs)."""
    dtype = np.dtype(dtype)
    raw = np.random.default_rng(seed).integers(0, 256, size=n * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).copy()


def assert_identical(a: Any, b: Any) -> None:
    """Same structure, same leaf types, same dtypes/shapes and same bits."""
    assert tree_util.tree_structure(a) == tree_util.tree_structure(b)
    for path, x, y in zip(
        tree_util.tree_paths(a), tree_util.tree_leaves(a), tree_util.tree_leaves(b)
    ):
        assert type(x) is type(y), path
        if isinstance(x, (np.ndarray, np.generic)):
            assert x.dtype == y.dtype and x.shape == y.shape, path
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes(), path
        elif isinstance(x, float):
            assert x.hex() == y.hex(), path
        else:
            assert x == y, path


# ---------------------------------------------------------------------------------------------
# round trips

TREES = {
    "floats": {
        "f16": _bits(np.float16, 17),
        "f32": _bits(np.float32, 12).reshape(3, 4),
        "f64": _bits(np.float64, 8).reshape(2, 2, 2),
        "special": np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324]),
    },
    "ints_bools": [
        np.arange(-5, 5, dtype=np.int8),
        np.array([2**62, -(2**63)], np.int64),
        np.array([1, 65535], np.uint16),
        np.array([True, False, True]),
        np.array([1 + 2j, np.nan], np.complex64),
    ],
    "zero_d_and_empty": (
        np.array(3.5, np.float32),
        np.array(7, np.int32),
        np.zeros((0,), np.float64),
        np.zeros((3, 0, 2), np.float32),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ),
    "numpy_scalars": [
        np.float32(1.25),
        np.float64(-0.0),
        np.int64(-3),
        np.bool_(True),
        np.float16(np.nan),
    ],
    "python_scalars": {
        "int": 3,
        "big_int": 2**100,
        "float": 0.1,
        "nan": float("nan"),
        "neg_zero": -0.0,
        "bool": True,
        "complex": 1.5 - 2j,
    },
    "nested": {
        "a": [1, (2.5, None, [])],
        "b": {"c": {}, "d": (np.ones(2),)},
        "int_keys": {1: np.zeros(1), 2: False},
        "tuple": (),
        "none": None,
    },
    "namedtuple_and_nodes": {
        "pt": Point(np.array([1.0]), Point(2, None)),
        "layer": Layer(np.eye(2, dtype=np.float32), np.zeros(2), "out", (3, 4)),
        "box": Box([np.arange(3), 1.5], ("tag", 2, None, 1.5, True)),
        "state": optim.adam(0.1).init({"w": np.ones(3, np.float32)}),
    },
    "single_leaf": np.arange(4),
    "none_root": None,
}


@pytest.mark.parametrize("name", TREES)
def test_round_trip_is_bit_exact(tmp_path, name):
    tree = TREES[name]
    path = tmp_path / "ckpt.npz"
    fio.save(path, tree)
    assert_identical(tree, fio.load(path))
    assert_identical(tree, fio.load(str(path)))


def test_round_trip_restores_classes_and_meta_fields(tmp_path):
    fio.save(tmp_path / "t.npz", TREES["namedtuple_and_nodes"])
    out = fio.load(tmp_path / "t.npz")
    assert type(out["pt"]) is Point and type(out["pt"].y) is Point
    assert type(out["layer"]) is Layer and out["layer"].name == "out"
    assert out["layer"].sizes == (3, 4)
    assert type(out["box"]) is Box and out["box"].tag == ("tag", 2, None, 1.5, True)
    assert type(out["state"]) is optim.AdamState
    assert out["state"].count.dtype == np.int32 and out["state"].count.shape == ()


def test_saves_exactly_at_the_given_path_and_overwrites(tmp_path):
    target = tmp_path / "checkpoint"  # no .npz suffix: none is added
    fio.save(target, {"v": np.array([1.0])})
    fio.save(os.fspath(target), {"v": np.array([2.0])})
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"]  # no temp files left behind
    np.testing.assert_array_equal(fio.load(target)["v"], [2.0])


def test_loaded_arrays_are_independent_and_writable(tmp_path):
    fio.save(tmp_path / "a.npz", [np.zeros(3)])
    a = fio.load(tmp_path / "a.npz")[0]
    a[0] = 1.0  # not a read-only view into the file
    assert fio.load(tmp_path / "a.npz")[0][0] == 0.0


# ---------------------------------------------------------------------------------------------
# bad input


def test_save_rejects_unsupported_leaves(tmp_path):
    target = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"leaf at \['b'\] is a builtins\.object"):
        fio.save(target, {"a": np.zeros(1), "b": object()})
    with pytest.raises(TypeError, match=r"leaf at \[0\] is a builtins\.str"):
        fio.save(target, ["text"])
    with pytest.raises(TypeError, match=r"dtype object, which needs pickle"):
        fio.save(target, [np.array([1, "a"], dtype=object)])
    with pytest.raises(TypeError, match="ndarray subclass"):
        fio.save(target, [np.ma.masked_array([1.0, 2.0], mask=[0, 1])])
    with pytest.raises(TypeError, match="cannot store a dict key of type frozenset"):
        fio.save(target, {frozenset([1]): 1.0})

    class Local(NamedTuple):
        a: Any

    with pytest.raises(TypeError, match="defined inside a function.*module level"):
        fio.save(target, Local(np.zeros(1)))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fio.save(tmp_path / "missing_dir" / "x.npz", [np.zeros(1)])
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_old_file_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "c.npz"
    fio.save(target, {"v": np.arange(3.0)})

    def broken_savez(f, **entries):
        f.write(b"PK\x03\x04 partial data")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)  # the module numpy that funcgrad.io calls
    with pytest.raises(OSError, match="disk full"):
        fio.save(target, {"v": np.arange(4.0)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.npz"]
    np.testing.assert_array_equal(fio.load(target)["v"], np.arange(3.0))


def test_load_rejects_files_not_written_by_save(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        fio.load(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"definitely not a zip file")
    with pytest.raises(ValueError, match="not written by funcgrad.io.save.*not an .npz"):
        fio.load(tmp_path / "junk.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not written by funcgrad.io.save"):
        fio.load(tmp_path / "plain.npy")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not written by funcgrad.io.save.*no '__treedef__'"):
        fio.load(tmp_path / "foreign.npz")
    np.savez(tmp_path / "badjson.npz", __treedef__=np.array("{not json"))
    with pytest.raises(ValueError, match="not valid JSON"):
        fio.load(tmp_path / "badjson.npz")
    with pytest.raises(IsADirectoryError):
        fio.load(tmp_path)


def _write_crafted(path: Path, nodes: list, **arrays: Any) -> None:
    meta = json.dumps({"format": "funcgrad.io", "version": 1, "nodes": nodes})
    np.savez(path, __treedef__=np.array(meta), allow_pickle=True, **arrays)


class _Evil:
    """Unpickling this would create the marker file: proof that pickle ran."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = str(marker)
    arr = np.empty(1, dtype=object)
    arr[0] = evil
    crafted = tmp_path / "evil.npz"
    _write_crafted(crafted, [{"kind": "array", "entry": "leaf_0"}], leaf_0=arr)
    with pytest.raises(ValueError, match="cannot be read.*pickle"):
        fio.load(crafted)
    assert not marker.exists()


def test_unknown_or_unimported_types_are_refused(tmp_path, monkeypatch):
    # A module that exists on sys.path but is not imported: load must not import it.
    marker = tmp_path / "imported"
    (tmp_path / "fg_untrusted_mod.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from typing import NamedTuple\n"
        "class P(NamedTuple):\n    a: int\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    crafted = tmp_path / "c.npz"
    node = {"kind": "namedtuple", "module": "fg_untrusted_mod", "qualname": "P", "fields": ["a"]}
    _write_crafted(crafted, [node, {"kind": "int", "value": "1"}])
    with pytest.raises(ValueError, match=r"module 'fg_untrusted_mod' is not imported.*Import"):
        fio.load(crafted)
    assert not marker.exists() and "fg_untrusted_mod" not in sys.modules

    cases = [
        (
            {"kind": "node", "module": "os", "qualname": "system", "aux": ["none", None], "n": 1},
            "not a class",
        ),
        (
            {
                "kind": "node",
                "module": "subprocess",
                "qualname": "Popen",
                "aux": ["none", None],
                "n": 1,
            },
            "not a registered pytree node type",
        ),
        (
            {"kind": "namedtuple", "module": "subprocess", "qualname": "Popen", "fields": ["a"]},
            "not a namedtuple",
        ),
        (
            {"kind": "namedtuple", "module": "os", "qualname": "path.nothing", "fields": ["a"]},
            "not defined in the imported module",
        ),
        (
            {"kind": "namedtuple", "module": __name__, "qualname": "Point", "fields": ["a"]},
            r"now has fields \['x', 'y'\]",
        ),
        ({"kind": "pickle", "data": "x"}, "unknown node kind"),
    ]
    for rec, message in cases:
        _write_crafted(crafted, [rec, {"kind": "int", "value": "1"}])
        with pytest.raises(ValueError, match=message):
            fio.load(crafted)


def test_structurally_corrupt_files_are_refused(tmp_path):
    crafted = tmp_path / "c.npz"
    cases = [
        ([{"kind": "list", "n": 2}, {"kind": "int", "value": "1"}], "ends before the tree"),
        ([{"kind": "int", "value": "1"}, {"kind": "int", "value": "1"}], "extra nodes"),
        ([{"kind": "array", "entry": "missing"}], "missing entry"),
        ([{"kind": "list", "n": -1}], "bad child count"),
        ([{"kind": "dict", "keys": [["list", []]]}, {"kind": "none"}], "unhashable dict key"),
    ]
    for nodes, message in cases:
        _write_crafted(crafted, nodes)
        with pytest.raises(ValueError, match=message):
            fio.load(crafted)
    _write_crafted(crafted, [{"kind": "none"}], extra=np.zeros(1))
    with pytest.raises(ValueError, match="not referenced"):
        fio.load(crafted)


# ---------------------------------------------------------------------------------------------
# atomicity: kill -9 a writer in the middle of a save


def _child_code(modules: tuple[str, ...], body: str) -> str:
    """A script for `python -c` that imports funcgrad like this file does, then runs body.

    argv: [root, *paths]; the funcgrad modules are bound to their names (io as fio).
    """
    names = ", ".join("fio" if m == "io" else m for m in modules)
    return (
        "import importlib, os, sys, time, types\n"
        "from typing import Any\n"
        "import numpy as np\n"
        + inspect.getsource(_import_funcgrad)
        + f"({names},) = _import_funcgrad(sys.argv[1], *{modules!r})\n"
        + textwrap.dedent(body)
    )


_SIGNAL_AND_HANG = """
target, ready = sys.argv[2], sys.argv[3]

def signal_and_hang():
    open(ready, "w").close()
    time.sleep(60)
"""

_HANG_MID_DATA = """
import numpy.lib.format as fmt
real_write_array, calls = fmt.write_array, []

def slow_write_array(*args, **kwargs):
    real_write_array(*args, **kwargs)
    calls.append(1)
    if len(calls) == 2:  # the treedef and the first leaf are in the temp file, the rest is not
        signal_and_hang()

fmt.write_array = slow_write_array
"""

_HANG_BEFORE_RENAME = """
real_replace = os.replace

def slow_replace(src, dst):
    signal_and_hang()
    real_replace(src, dst)

os.replace = slow_replace
"""


@pytest.mark.parametrize(
    "hang, had_old",
    [(_HANG_MID_DATA, True), (_HANG_BEFORE_RENAME, True), (_HANG_MID_DATA, False)],
    ids=["mid-data", "before-rename", "mid-data-no-old-file"],
)
def test_killed_writer_leaves_old_checkpoint_intact(tmp_path, hang, had_old):
    target, ready = tmp_path / "ckpt.npz", tmp_path / "ready"
    old = {"w": np.arange(1000, dtype=np.float32), "step": 5}
    if had_old:
        fio.save(target, old)
    code = _child_code(
        ("io",),
        _SIGNAL_AND_HANG
        + hang
        + """
new = {"w": np.ones(1000, np.float32), "b": np.zeros(2_000_000), "step": 6}
fio.save(target, new)
""",
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT), str(target), str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert child.poll() is None, child.communicate()[1].decode()
            assert time.monotonic() < deadline, "child never reached the hang point"
            time.sleep(0.01)
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].name.startswith(".ckpt.npz.")
        assert temps[0].stat().st_size > 0  # the new data is being written
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    if had_old:
        assert_identical(old, fio.load(target))
    else:
        assert not target.exists()  # no partial target file
    # The next save works and cleans nothing it does not own (the stale temp stays, unread).
    fio.save(target, {"v": 1})
    assert fio.load(target) == {"v": 1}


# ---------------------------------------------------------------------------------------------
# resume: 2N steps straight == N steps, save, load in a fresh process, N more steps


def _make_optimizer(optim: Any) -> Any:
    return optim.chain(
        optim.clip_by_global_norm(5.0),
        optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.05, 5, 60)),
    )


def _train(optim: Any, opt: Any, params: Any, state: Any, steps: int) -> tuple[Any, Any]:
    """Linear regression with a hand-written MSE gradient, float32 throughout."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.5, -2.0, 0.5], np.float32) + np.float32(0.3)).astype(np.float32)
    for _ in range(steps):
        r = x @ params["w"] + params["b"] - y
        grads = {
            "w": (np.float32(2.0 / len(y)) * (x.T @ r)).astype(np.float32),
            "b": (np.float32(2.0) * np.mean(r)).astype(np.float32),
        }
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    return params, state


def test_resume_in_fresh_process_is_bit_exact(tmp_path):
    n = 30
    params0 = {"w": np.zeros(3, np.float32), "b": np.array(0.0, np.float32)}
    opt = _make_optimizer(optim)
    straight, straight_state = _train(optim, opt, params0, opt.init(params0), 2 * n)

    half, half_state = _train(optim, opt, params0, opt.init(params0), n)
    fio.save(tmp_path / "half.npz", (half, half_state, n))
    code = _child_code(
        ("io", "optim"),
        inspect.getsource(_make_optimizer)
        + inspect.getsource(_train)
        + """
params, state, step = fio.load(sys.argv[2])
params, state = _train(optim, _make_optimizer(optim), params, state, step)
fio.save(sys.argv[3], (params, state, step + step))
""",
    )
    args = [str(ROOT), str(tmp_path / "half.npz"), str(tmp_path / "resumed.npz")]
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    resumed, resumed_state, step = fio.load(tmp_path / "resumed.npz")
    assert step == 2 * n
    assert_identical(straight, resumed)  # bit for bit, same dtypes
    assert_identical(straight_state, resumed_state)
    assert resumed["w"].dtype == np.float32 and resumed_state[1].count == 2 * n
    assert not np.array_equal(straight["w"], half["w"])  # the second half did something


def test_docstring_examples():
    # the module docstring is on funcgrad.io; the functions' docstrings where they are defined
    results = [doctest.testmod(m) for m in (fio, sys.modules[fio.save.__module__])]
    assert sum(r.attempted for r in results) > 5 and all(r.failed == 0 for r in results)


def test_load_of_a_pickled_header_names_load_and_the_file(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __treedef__=np.array([{"a": 1}], dtype=object), x=np.ones(2))
    with pytest.raises(ValueError, match=r"io\.load: .*evil\.npz.* pickled Python objects"):
        fio.load(path)
