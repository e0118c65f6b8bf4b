"""``jit``: trace once per abstract signature, optimize the IR, run generated numpy code.

The cache key is the arguments' tree structure, each leaf's shape and dtype (or Python scalar
type), and the static arguments' values. A call whose key is cached goes straight to the
generated function: flatten, one dict lookup, the generated code, which itself builds the
output pytree — no per-call IR walk. Called with tracers of another transform (``grad(jit(f))``,
``vmap(jit(f))``, ``jit`` inside ``jit``), the optimized IR is inlined into that transform.

Tiers (``config.jit_backend == "auto"``): a signature is compiled with its fused groups on
numpy (no compile cost beyond Python's). When numba is installed and some group would run
faster as a numba kernel, the calls are timed; once they add up to
``config.jit_promote_after`` seconds, the calling thread recompiles the signature with numba
kernels (under the function's lock; other threads keep running the numpy code meanwhile),
then swaps the entry's function — the old one is dropped. Nothing is timed otherwise.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.config import config as _cfg
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR, ShapedArray, unsupported_dtype
from funcgrad.core.pytree import PyTreeDef, tree_flatten, tree_paths, tree_unflatten
from funcgrad.core.tracer import Tracer
from funcgrad.core.tracing import _param_names, eval_ir, trace_to_ir
from funcgrad.transforms.codegen import AUTO_PROMOTED, compile_ir
from funcgrad.transforms.compile_log import log_miss
from funcgrad.transforms.passes import optimize

__all__ = ["jit", "Lowered", "CacheInfo"]

_SCALAR_TYPES = (float, int, bool, complex)
_SAMPLE = 8  # the first tier times one call in _SAMPLE
_log = logging.getLogger("funcgrad.jit")  # config.update("log_compiles", True) writes here


class CacheInfo(NamedTuple):
    hits: int
    misses: int  # = number of traces + compilations
    currsize: int


class Lowered:
    """What ``jit(f).lower(*args)`` returns: the traced IR, the optimized IR and the source."""

    __slots__ = ("traced_ir", "ir", "source")

    def __init__(self, traced_ir: IR, ir: IR, source: str) -> None:
        self.traced_ir = traced_ir
        self.ir = ir  # optimized
        self.source = source

    def __repr__(self) -> str:
        return f"Lowered(\n{self.ir}\n)"


class _Entry:
    __slots__ = (
        "traced_ir",
        "ir",
        "fn",
        "source",
        "out_tree",
        "closes_over_tracers",
        "call",
        "calls",
        "spent",
        "limit",
        "settled",
        "check_nans",
    )

    def __init__(self, traced_ir: IR, ir: IR, fn: Any, source: str, out_tree: PyTreeDef) -> None:
        self.traced_ir, self.ir, self.fn, self.source, self.out_tree = (
            traced_ir,
            ir,
            fn,
            source,
            out_tree,
        )
        # A function closing over values traced by an enclosing transform (jit inside grad)
        # is inlined into that transform and never cached: those values die with it.
        self.closes_over_tracers = any(type(c) is Tracer for c in ir.consts)
        # What calls run: ``fn``, or while a signature may still be promoted (see the module
        # docstring) a wrapper timing it. ``settled``: promoted, or never will be.
        self.call = fn
        self.calls = 0  # calls and (estimated) seconds on the first tier, at promotion
        self.spent = 0.0
        self.limit = math.inf  # seconds before promotion
        self.settled = True
        self.check_nans = False


def _leaf_sig(x: Any, where: str) -> Hashable:
    t = type(x)
    if t is np.ndarray or t is Tracer:
        if x.dtype.kind not in "biufc":
            raise LocatedTypeError(
                f"jit: {where} has dtype {x.dtype}: {unsupported_dtype(x.dtype)}"
            )
        return (x.shape, x.dtype)
    if t in _SCALAR_TYPES:
        return t
    if isinstance(x, np.generic):  # same signature as a 0-d array: one trace for both
        return ((), x.dtype)
    if isinstance(x, np.ndarray):  # subclasses: treat as arrays
        return (x.shape, x.dtype)
    raise LocatedTypeError(
        f"jit: {where} is a {t.__name__}, which jit cannot trace. Pass numpy arrays or scalars, "
        "or mark the argument static (jit(f, static_argnums=...) / static_argnames=...)."
    )


def _leaf_aval(x: Any) -> ShapedArray:
    if type(x) is Tracer:
        return ShapedArray(x.shape, x.dtype)
    if type(x) in _SCALAR_TYPES:  # Python scalars stay weakly typed, as in eager numpy
        return ShapedArray((), np.result_type(x) if type(x) is not int else np.int64, weak=True)
    return ShapedArray(np.shape(x), x.dtype)


class JitFunction:
    """A jit-compiled function (see :func:`jit`)."""

    def __init__(
        self,
        fun: Callable[..., Any],
        static_argnums: tuple[int, ...],
        static_argnames: tuple[str, ...],
    ) -> None:
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._static_argnums = static_argnums
        self._static_argnames = static_argnames
        self._names = _param_names(fun, 64)
        # A static argument may be passed either way: map names <-> positions (as JAX does).
        self._static_kw = set(static_argnames) | {
            self._names[i] for i in static_argnums if 0 <= i < len(self._names)
        }
        self._static_pos_from_names = {
            self._names.index(n) for n in static_argnames if n in self._names
        }
        # signature -> compiled entry, least recently used first; at most config.jit_cache_size
        self._cache: OrderedDict[Hashable, _Entry] = OrderedDict()
        # Fast path: positional calls whose args are (tuples/lists/dicts of) arrays / floats.
        self._fast: dict[tuple[Any, ...], Callable[..., Any]] = {}
        self._simple = not static_argnums and not static_argnames
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()  # held while compiling
        self._count_lock = threading.Lock()  # cache counters (never held while compiling)

    # -- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._simple and not kwargs and not _cfg.check_finite:
            leaves: list[Any] = []
            key: list[Any] = [_cfg.jit_backend]
            if _fast_flatten(args, leaves, key, 0):
                fn = self._fast.get(tuple(key))
                if fn is not None:
                    with self._count_lock:
                        self._hits += 1
                    return fn(*leaves)
        return self._call_slow(args, kwargs)

    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        nargs = len(args)
        static_idx = set()
        for i in self._static_argnums:
            if not -nargs <= i < nargs:
                if 0 <= i < len(self._names) and self._names[i] in kwargs:
                    continue  # passed by keyword
                raise LocatedValueError(
                    f"jit: static_argnums={self._static_argnums} refers to argument {i}, but "
                    f"the function was called with {nargs} positional arguments"
                )
            static_idx.add(i % nargs)
        static_idx.update(i for i in self._static_pos_from_names if i < nargs)
        static_vals = []
        for i in sorted(static_idx):
            static_vals.append((i, _hashable(args[i], f"static argument {i}")))
        for name in sorted(self._static_kw):
            if name in kwargs:
                static_vals.append((name, _hashable(kwargs[name], f"static argument {name!r}")))
        dyn_idx = [i for i in range(nargs) if i not in static_idx]
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_kw}
        return tuple(static_vals), dyn_idx, dyn_kwargs

    def _call_slow(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        entry, leaves, dyn_idx, simple_key = self._lookup(args, kwargs)
        # ndarray subclasses (np.matrix, masked arrays) run as plain arrays, like the trace.
        leaves = [
            np.asarray(x) if isinstance(x, np.ndarray) and type(x) is not np.ndarray else x
            for x in leaves
        ]
        if entry.closes_over_tracers or any(type(x) is Tracer for x in leaves):
            # Inside another transform: inline the optimized IR there.
            outs = eval_ir(entry.ir, *leaves)
            return tree_unflatten(entry.out_tree, outs)
        return entry.call(*leaves)

    def _lookup(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        static_vals, dyn_idx, dyn_kwargs = self._split(args, kwargs)
        dyn_args = tuple(args[i] for i in dyn_idx)
        leaves, tree = tree_flatten((dyn_args, dyn_kwargs))
        sigs = []
        paths = None
        for j, x in enumerate(leaves):
            try:
                sigs.append(_leaf_sig(x, f"argument leaf {j}"))
            except TypeError:
                paths = paths or self._readable_paths(dyn_idx, dyn_args, dyn_kwargs)
                _leaf_sig(x, paths[j])
        key = (tree, tuple(sigs), static_vals, _cfg.debug_nans, _cfg.debug_infs, _cfg.jit_backend)
        entry = self._cache.get(key)
        if entry is None:
            with self._lock:
                entry = self._cache.get(key)
                if entry is None:
                    if _cfg.log_compiles:
                        t0 = time.perf_counter()
                        log_miss(
                            _log,
                            self._display_name(),
                            key,
                            list(self._cache),
                            self._readable_paths(dyn_idx, dyn_args, dyn_kwargs),
                            self._names,
                        )
                    entry = self._compile(args, kwargs, dyn_idx, dyn_kwargs, leaves, tree)
                    with self._count_lock:
                        self._misses += 1
                    if _cfg.log_compiles:
                        _log.warning(
                            "jit: compiled %s in %.1f ms (%d equations traced, %d after "
                            "optimization; %s)",
                            self._display_name(),
                            1e3 * (time.perf_counter() - t0),
                            len(entry.traced_ir.eqns),
                            len(entry.ir.eqns),
                            _backend_note(entry.source),
                        )
                    if not entry.closes_over_tracers:
                        self._cache[key] = entry
                        if len(self._cache) > _cfg.jit_cache_size:
                            self._cache.popitem(last=False)
                            self._fast.clear()  # may point at the dropped entry; refills
                else:
                    with self._count_lock:
                        self._hits += 1
        else:
            with self._count_lock:
                self._hits += 1
            try:
                self._cache.move_to_end(key)
            except KeyError:  # dropped by another thread meanwhile
                pass
        simple_key = None
        if self._simple and not entry.closes_over_tracers and not _cfg.check_finite and not kwargs:
            fast_leaves: list[Any] = []
            fast_key: list[Any] = [_cfg.jit_backend]
            if _fast_flatten(args, fast_leaves, fast_key, 0):
                simple_key = tuple(fast_key)
                if len(self._fast) >= _cfg.jit_cache_size:
                    self._fast.clear()
                self._fast[simple_key] = entry.call
        return entry, leaves, dyn_idx, simple_key

    def _display_name(self) -> str:
        return _identifier(
            getattr(self._fun, "_funcgrad_name", None) or getattr(self._fun, "__name__", "f")
        )

    def _readable_paths(
        self, dyn_idx: list[int], dyn_args: tuple[Any, ...], dyn_kwargs: dict[str, Any]
    ) -> list[str]:
        """'argument 1 (mode)', "keyword argument 'opts'['k']", ... for every leaf."""
        out = []
        for i, a in zip(dyn_idx, dyn_args):
            name = f" ({self._names[i]})" if i < len(self._names) else ""
            out += [f"argument {i}{name}" + ("" if p == "<root>" else p) for p in tree_paths(a)]
        for k, v in sorted(dyn_kwargs.items()):
            out += [f"keyword argument {k!r}" + ("" if p == "<root>" else p) for p in tree_paths(v)]
        return out

    def _compile(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        dyn_idx: list[int],
        dyn_kwargs: dict[str, Any],
        leaves: list[Any],
        tree: PyTreeDef,
    ) -> _Entry:
        def flat_fun(dyn_args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
            full = list(args)
            for i, a in zip(dyn_idx, dyn_args):
                full[i] = a
            merged = dict(kwargs)
            merged.update(kw)
            return self._fun(*full, **merged)

        hints = []
        dyn_args = tuple(args[i] for i in dyn_idx)
        for i in dyn_idx:
            base = self._names[i] if i < len(self._names) else f"arg{i}"
            hints += [base if p == "<root>" else base + p for p in tree_paths(args[i])]
        for k, v in sorted(dyn_kwargs.items()):
            hints += [k if p == "<root>" else k + p for p in tree_paths(v)]
        avals = [_leaf_aval(x) for x in leaves]
        traced, out_tree, _ = trace_to_ir(
            lambda a, kw: flat_fun(a, kw), avals, tree, "jit", hints=hints, abstract=True
        )
        del dyn_args
        ir = optimize(traced)
        name = self._display_name()
        fn, source = compile_ir(
            ir,
            name,
            out_tree,
            None,
            check_nans=_cfg.debug_nans or _cfg.debug_infs,
            backend=_cfg.jit_backend,
        )
        entry = _Entry(traced, ir, fn, source, out_tree)
        entry.check_nans = _cfg.debug_nans or _cfg.debug_infs
        limit = _cfg.jit_promote_after
        if fn.__globals__.get("_fg_promotable") and limit < math.inf:
            entry.limit = limit
            entry.settled = False
            entry.call = self._timed(entry)
            n = fn.__globals__["_fg_promotable"]
            head, sep, rest = source.partition("\n")
            entry.source = (
                f"{head}{sep}    # first tier (numpy): {n} group{'s go' if n != 1 else ' goes'} to "
                f"numba once this signature has run {limit:g} s (config jit_promote_after)"
                f"\n{rest}"
            )
        return entry

    # -- tiers ----------------------------------------------------------------------------
    def _timed(self, entry: _Entry) -> Callable[..., Any]:
        """The first tier's call: run the numpy function, time every ``_SAMPLE``-th call
        (calls 2, 2 + _SAMPLE, ...; each sample counts for ``_SAMPLE`` calls: timing every
        call cost ~1 us, 10% of a 10 us call) and promote once the estimate passes
        ``entry.limit``. The first call is not timed: it may pay one-time costs (numba's
        random kernels compile or load at their first use, which took 4 s in one test).
        After promotion a caller still holding this wrapper runs the old function, which
        stays valid until the last such call returns."""
        clock = time.perf_counter
        fn = entry.fn
        limit = entry.limit
        n = 0
        spent = 0.0

        def timed(*leaves: Any) -> Any:
            nonlocal n, spent
            n += 1  # (races between threads may lose a count: harmless)
            if n % _SAMPLE != 2:
                return fn(*leaves)
            t0 = clock()
            out = fn(*leaves)
            spent += (clock() - t0) * _SAMPLE
            if spent >= limit and not entry.settled:
                entry.calls, entry.spent = n, spent
                self._promote(entry, timed)
            return out

        return timed

    def _promote(self, entry: _Entry, timed: Callable[..., Any]) -> None:
        """Recompile ``entry`` with auto's promoted tier and switch every path to it. The new
        function is fully built before it is published (one attribute store each); a thread
        finding the lock taken keeps running the numpy code and retries at its next call."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if entry.settled:
                return
            t0 = time.perf_counter()
            try:
                fn, source = compile_ir(
                    entry.ir,
                    self._display_name(),
                    entry.out_tree,
                    None,
                    check_nans=entry.check_nans,
                    backend=AUTO_PROMOTED,
                )
            except Exception as exc:  # noqa: BLE001 - keep the working numpy code
                entry.settled = True
                entry.call = entry.fn
                self._replace_fast(timed, entry.fn)
                _log.warning(
                    "jit: promoting %s to numba failed (%s: %s); it stays on numpy",
                    self._display_name(),
                    type(exc).__name__,
                    exc,
                )
                return
            took = time.perf_counter() - t0
            note = (
                f"promoted to numba after {entry.calls} call{'s' if entry.calls != 1 else ''} "
                f"({entry.spent:.3g} s on numpy, "
                f"jit_promote_after={entry.limit:g} s); compiled in {1e3 * took:.1f} ms"
            )
            head, sep, rest = source.partition("\n")
            source = f"{head}{sep}    # {note}\n{rest}"
            entry.fn = fn
            entry.source = source
            entry.call = fn
            entry.settled = True
            self._replace_fast(timed, fn)
            if _cfg.log_compiles:
                _log.warning("jit: %s %s (%s)", self._display_name(), note, _backend_note(source))
        finally:
            self._lock.release()

    def _replace_fast(self, old: Any, new: Any) -> None:
        for k, v in list(self._fast.items()):
            if v is old:
                self._fast[k] = new

    # -- inspection -----------------------------------------------------------------------
    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """Trace and compile for these arguments; returns the IRs and the generated source.

        >>> import funcgrad as fg, numpy as np
        >>> print(fg.jit(lambda x: x * 2.0).lower(np.ones(3)).source)
        def _lambda_(x):
            a = (x * 2.0)  # <doctest funcgrad.transforms.jit.JitFunction.lower[1]>:1
            return a.view(_Array)
        <BLANKLINE>
        """
        entry = self._lookup(args, kwargs)[0]
        return Lowered(entry.traced_ir, entry.ir, entry.source)

    def cache_info(self) -> CacheInfo:
        """Hits, misses (traces) and entries of the compilation cache."""
        return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        self._cache.clear()
        self._fast.clear()

    def __repr__(self) -> str:
        return f"<jit-compiled {getattr(self._fun, '__name__', 'function')}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)


def _backend_note(source: str) -> str:
    """What the compile log says about fusion: the back ends the fused groups ran on."""
    kinds: dict[str, int] = {}
    for line in source.splitlines():
        if line.lstrip().startswith("# fused group "):
            kind = line.split(" -> ", 1)[1].split(" ", 1)[0].rstrip(",")
            kinds[kind] = kinds.get(kind, 0) + 1
    if not kinds:
        return "no fused groups"
    note = "fused groups: " + ", ".join(f"{n} on {k}" for k, n in kinds.items())
    for line in source.splitlines()[1:3]:
        if line.lstrip().startswith("# first tier (numpy): "):
            note += "; " + line.split("# first tier (numpy): ", 1)[1]
    return note


def _fast_flatten(x: Any, leaves: list[Any], key: list[Any], depth: int) -> bool:
    """Flatten arrays / Python floats in tuples, lists, dicts and None — the common argument
    shapes — appending leaves and a structure-and-signature key in one pass. False for
    anything else (the general path handles it). Leaf order matches tree_flatten's."""
    t = type(x)
    if t is np.ndarray:
        leaves.append(x)
        key.append(x.shape)
        key.append(x.dtype)
        return True
    if t is Array:  # funcgrad's own results: computed on as plain arrays
        leaves.append(x.view(np.ndarray))
        key.append(x.shape)
        key.append(x.dtype)
        return True
    if t is float:
        leaves.append(x)
        key.append(float)
        return True
    if depth > 64:
        return False
    if t is tuple or t is list:
        key.append((t, len(x)))
        for c in x:
            if not _fast_flatten(c, leaves, key, depth + 1):
                return False
        return True
    if t is dict:
        try:
            ks = sorted(x)
        except TypeError:
            return False
        key.append((dict, tuple(ks)))
        for k in ks:
            if not _fast_flatten(x[k], leaves, key, depth + 1):
                return False
        return True
    if x is None:
        key.append(None)
        return True
    if isinstance(x, np.generic) and x.dtype.kind in "biufc":  # numpy scalar: a 0-d leaf
        leaves.append(x)
        key.append(())
        key.append(x.dtype)
        return True
    return False


def _identifier(name: str) -> str:
    s = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not s or s[0].isdigit():
        s = "_" + s
    return s


def _hashable(v: Any, what: str) -> Any:
    try:
        hash(v)
    except TypeError:
        hint = " (pass a tuple instead of a list)" if isinstance(v, list) else ""
        hint = " (pass a tuple of items instead of a dict)" if isinstance(v, dict) else hint
        hint = (
            " (arrays cannot be static; pass them as ordinary arguments)"
            if isinstance(v, np.ndarray)
            else hint
        )
        raise LocatedTypeError(
            f"jit: {what} has unhashable type {type(v).__name__}{hint}. Static arguments are "
            "part of the compilation cache key and must be hashable."
        ) from None
    return (type(v), v)


def jit(
    fun: Callable[..., Any] | None = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
) -> Any:
    """Compile ``fun``: trace once per abstract signature, optimize, generate numpy code.

    Value-dependent Python control flow inside raises an error naming ``funcgrad.lax`` and
    ``static_argnums``. ``jit(f).lower(*args)`` gives the optimized IR and the source;
    ``jit(f).cache_info()`` the number of traces. Usable as a decorator, with or without
    arguments.

    >>> import funcgrad as fg, numpy as np
    >>> f = fg.jit(lambda x, y: (x * y).sum())
    >>> f(np.ones(3), np.arange(3.0))
    np.float64(3.0)
    """
    if fun is None:
        return lambda f: jit(f, static_argnums=static_argnums, static_argnames=static_argnames)
    if not callable(fun):
        raise LocatedTypeError(f"jit expects a callable, got {type(fun).__name__}")
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    for n in nums:
        if not isinstance(n, int):
            raise LocatedTypeError(f"jit: static_argnums must be ints, got {n!r}")
    return JitFunction(fun, nums, names)
