"""Compiled kernels for jit's fused groups (:mod:`funcgrad.transforms.fusion`): numexpr
programs and numba loops, written from each primitive's scalar expression (``fuse``).

* numexpr: a group is cut into expression trees (a group output, a value used twice whose
  tree has more than two operations, or a too deep expression is materialized as an array,
  freed after its last use); each tree is one precompiled ``NumExpr`` program.
  float32 groups pass their literals as float32 inputs (numexpr would promote a double
  constant), so float32 stays float32.
* numba: one ``@njit`` function per group, a loop nest over the group's shape reading every
  input at the index, computing the chain in registers and writing every output. Compiling
  costs ~0.1–3 s per kernel (~2.5 s for a 600-operation chain; from the disk cache ~15 ms
  in a process that has used numba already, ~0.3–0.5 s in a new one: numba's import and
  initialization), paid when jit compiles (the kernel runs once on zeros); kernels are cached
  on disk (``cache=True``): the source is written to ``$FUNCGRAD_KERNEL_CACHE`` (default
  ``~/.cache/funcgrad/kernels``) under a name made of its hash; the directory is kept under
  ``$FUNCGRAD_KERNEL_CACHE_MB`` megabytes (default 64; oldest kernels removed first).

The back ends are optional (the ``[fast]`` extra); :func:`available` says which import.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.ir import Var

__all__ = [
    "available",
    "installed",
    "cache_dir",
    "prune_cache",
    "numexpr_program",
    "numba_kernel",
    "group_kernel_source",
    "clear_memory_cache",
    "NUMBA_PRELUDE",
]

_lock = threading.Lock()


def available(name: str) -> bool:
    """True if the back end's package imports (``numexpr``, ``numba``; ``numpy`` always)."""
    if name == "numpy":
        return True
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


_found: dict[str, bool] = {}


def installed(name: str) -> bool:
    """Like :func:`available` but without importing the package (importing numba takes
    ~0.5 s): whether it is imported already, or else findable on the path (cached). A
    package set to ``None`` in ``sys.modules`` (blocked) is not installed."""
    if name in sys.modules:
        return sys.modules[name] is not None
    found = _found.get(name)
    if found is None:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        _found[name] = found
    return found


# --- numexpr --------------------------------------------------------------------------------
def _ne_kind(dt: np.dtype) -> Any:
    # numexpr's signature types: Python float means float32, np.float64 means double
    if dt == np.float32:
        return float
    if dt == np.float64:
        return np.float64
    if dt == np.bool_:
        return bool
    raise LocatedValueError(f"numexpr kernels take float32/float64/bool, not {dt}")


class NumexprProgram:
    """A precompiled numexpr program called like a function: ``prog(*inputs, out=buf)``."""

    __slots__ = ("text", "names", "_ex", "_vml")

    def __init__(self, text: str, names: list[str], dtypes: list[np.dtype]) -> None:
        from numexpr import necompiler

        self.text = text
        self.names = names
        sig = [(n, _ne_kind(d)) for n, d in zip(names, dtypes)]
        self._ex = necompiler.NumExpr(text, signature=sig)
        ctx = necompiler.getContext({})
        self._vml = necompiler.getExprNames(text, ctx)[1]

    def __call__(self, *args: Any, out: Any = None) -> Any:
        return self._ex(*args, out=out, ex_uses_vml=self._vml)

    def __repr__(self) -> str:
        return f"numexpr({self.text!r})"


def numexpr_program(text: str, names: list[str], dtypes: list[np.dtype]) -> NumexprProgram:
    """Compile ``text`` (numexpr syntax over ``names`` with ``dtypes``)."""
    return NumexprProgram(text, names, dtypes)


# --- numba ----------------------------------------------------------------------------------
# The names of numexpr's vocabulary that fuse templates use, as numba functions.
NUMBA_PRELUDE = """\
# funcgrad fused kernel, format 2 (the module is registered in sys.modules)
import numpy as np
from numba import njit

sin, cos, tan, tanh, arctan = np.sin, np.cos, np.tan, np.tanh, np.arctan
exp, expm1, log, log1p, sqrt = np.exp, np.expm1, np.log, np.log1p, np.sqrt


@njit(inline="always")
def where(c, a, b):
    return a if c else b


@njit(inline="always")
def abs(x):  # noqa: A001 - numexpr's name
    return np.abs(x)
"""


def cache_dir() -> str:
    """Where numba kernels are cached: ``$FUNCGRAD_KERNEL_CACHE`` or
    ``~/.cache/funcgrad/kernels``."""
    d = os.environ.get("FUNCGRAD_KERNEL_CACHE")
    if not d:
        d = os.path.join(os.path.expanduser("~"), ".cache", "funcgrad", "kernels")
    return d


def _max_bytes() -> int:
    try:
        return int(float(os.environ.get("FUNCGRAD_KERNEL_CACHE_MB", "64")) * (1 << 20))
    except ValueError:
        return 64 << 20


def prune_cache(directory: str | None = None, max_bytes: int | None = None) -> int:
    """Delete the oldest cached kernels (source and numba's files) until the directory holds
    at most ``max_bytes`` (the newest kernel is always kept). Returns the bytes kept."""
    directory = directory or cache_dir()
    max_bytes = _max_bytes() if max_bytes is None else max_bytes
    pyc = os.path.join(directory, "__pycache__")
    groups: dict[str, list[str]] = {}
    for d in (directory, pyc):
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        for f in entries:
            if f.startswith("fgk_"):
                groups.setdefault(f.split(".", 1)[0], []).append(os.path.join(d, f))

    def stat(paths: list[str]) -> tuple[float, int]:
        t, size = 0.0, 0
        for p in paths:
            try:
                st = os.stat(p)
            except OSError:
                continue
            t, size = max(t, st.st_mtime), size + st.st_size
        return t, size

    info = sorted(((stat(p), k) for k, p in groups.items()), reverse=True)  # newest first
    total = 0
    for n, ((_, size), k) in enumerate(info):
        if n > 0 and total + size > max_bytes:
            for p in groups[k]:
                try:
                    os.remove(p)
                except OSError:
                    pass
            continue
        total += size
    return total


_kernels: dict[str, Callable[..., Any]] = {}


def numba_kernel(body: str) -> tuple[Callable[..., Any], str, str]:
    """Compile (lazily: at the first call, then from the disk cache) the kernel whose source
    is ``NUMBA_PRELUDE + body``; ``body`` defines ``kernel``. Returns (dispatcher, module
    name, path of the source file)."""
    src = NUMBA_PRELUDE + "\n\n" + body
    digest = hashlib.sha256(src.encode()).hexdigest()[:20]
    name = f"fgk_{digest}"
    directory = cache_dir()
    path = os.path.join(directory, name + ".py")
    with _lock:
        fn = _kernels.get(path)
        if fn is not None:
            return fn, name, path
        os.makedirs(directory, exist_ok=True)
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as fh:
                fh.write(src)
            os.replace(tmp, path)
            prune_cache(directory)
        else:
            os.utime(path)  # recently used: pruned last
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        # Registered under its name: numba records the kernel's module by name in its disk
        # cache and imports it when another process loads the kernel. Unregistered, the name
        # was numba's placeholder '<dynamic>' and every load in a new process failed
        # (ModuleNotFoundError, so the group fell back to numpy).
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        fn = mod.kernel
        _kernels[path] = fn
        if len(_kernels) > 4096:  # bounded in memory too
            old = _kernels.pop(next(iter(_kernels)))
            sys.modules.pop(getattr(old, "py_func", old).__module__, None)
    return fn, name, path


def group_kernel_source(
    group: Any,
    in_names: dict[Var, str],
    out_vars: list[Var],
    literal: Callable[[Any], str],
    reduce: bool = False,
) -> str:
    """The numba ``kernel(inputs..., outputs...[, r])`` for a fused group: a loop nest over
    the group's shape; ``literal(lit)`` spells a literal operand. With ``reduce`` the group's
    final reduction (``group.reduction``) is accumulated in the loop and stored in ``r[0]``."""
    nd = len(group.shape)
    idx = ", ".join(f"j{k}" for k in range(nd))
    ins = [in_names[v] for v in group.inputs]
    outs = [f"o{k}" for k in range(len(out_vars))]
    cast = {np.dtype(np.float32): "np.float32", np.dtype(np.float64): "np.float64"}
    lines = [
        "@njit(cache=True, nogil=True, error_model='numpy')",
        f"def kernel({', '.join(ins + outs + (['r'] if reduce else []))}):",
    ]
    ind = "    "
    red = group.reduction if reduce else None
    if red is not None:
        template, init = red.prim.fuse_reduce
        lines.append(f"{ind}acc = {cast[group.dtype]}({float(init)!r})")
    shape_of = outs[0] if outs else ins[0]
    for k in range(nd):
        lines.append(f"{ind}for j{k} in range({shape_of}.shape[{k}]):")
        ind += "    "
    local: dict[Var, str] = {}
    for v in group.inputs:
        local[v] = f"v_{in_names[v]}"
        lines.append(f"{ind}{local[v]} = {in_names[v]}[{idx}]")
    n = 0
    for e in group.eqns:
        ops = [local[x] if type(x) is Var else literal(x) for x in e.inputs]
        f = e.prim.fuse
        expr = f(ops, e.params) if callable(f) else f.format(*ops)
        o = e.outputs[0]
        c = cast.get(o.aval.dtype)
        t = f"t{n}"
        n += 1
        lines.append(f"{ind}{t} = {c}({expr})" if c else f"{ind}{t} = {expr}")
        local[o] = t
    for o, on in zip(out_vars, outs):
        lines.append(f"{ind}{on}[{idx}] = {local[o]}")
    if red is not None:
        step = template.format("acc", local[red.inputs[0]])
        lines.append(f"{ind}acc = {cast[group.dtype]}({step})")
        lines.append("    r[0] = acc")
    return "\n".join(lines) + "\n"


def clear_memory_cache() -> None:
    """Forget loaded kernels (the disk cache stays); for tests."""
    with _lock:
        _kernels.clear()
