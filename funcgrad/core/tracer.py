"""Tracers and traces: how a Python function becomes an :class:`~funcgrad.core.ir.IR`.

A :class:`Trace` records equations. A :class:`Tracer` stands for one value inside a trace: it
carries the value's abstract type (shape, dtype) and, when the inputs were concrete, the
concrete numpy value too — so ``if x > 0:`` works under ``grad`` and the recorded IR is the
path taken. Under ``jit`` tracers carry no value and such control flow raises a clear error.

Dispatch is data-dependent, not stack-based: :func:`bind` sends a primitive to the innermost
(highest-level) trace among its arguments' tracers, and values of enclosing traces are lifted
into it as constants. There is no global trace stack, so traces in different threads never
see each other. A trace is *alive* while its transform runs; using one of its tracers after
that is a leak and raises an error naming where the tracer was created.
"""

from __future__ import annotations

import itertools
from sys import _getframe
from typing import Any

import numpy as np

from funcgrad.core.array import Array, _tracer_type
from funcgrad.core.config import config as _cfg
from funcgrad.core.config import raise_if_nonfinite
from funcgrad.core.errors import LocatedTypeError, TracerLeakError, format_src
from funcgrad.core.ir import IR, Eqn, Literal, ShapedArray, Var
from funcgrad.core.source import (
    _OURS,
    _lines,
    _tls,
    _trampolines,
    call_at,
    emit_phase,
    source_context,
    user_src,
)

__all__ = ["Trace", "Tracer", "bind", "source_context", "emit_phase", "aval_of", "is_tracer"]

_levels = itertools.count(1)
_new = object.__new__


def _debug_check(prim: Any, out: Any, src: Any) -> None:
    for o in out if prim.multiple_results else (out,):
        raise_if_nonfinite(o, prim.name, src)


class Tracer:
    """A traced value. Behaves like a numpy array inside the function being transformed.

    Its operator and method overloads are installed by :mod:`funcgrad.numpy`.
    """

    __slots__ = ("_trace", "irvar", "val", "shape", "dtype", "src", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, trace: Trace, var: Var, val: Any, src: tuple[str, int] | None) -> None:
        self._trace = trace
        self.irvar = var
        self.val = val
        aval = var.aval
        self.shape = aval.shape
        self.dtype = aval.dtype
        self.src = src

    @property
    def aval(self) -> ShapedArray:
        return self.irvar.aval

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        kind = self._trace.kind
        if self.val is not None:
            return f"Tracer<{kind}>({self.aval}, value={np.asarray(self.val)!r})"
        return f"Tracer<{kind}>({self.aval})"

    __hash__ = None  # type: ignore[assignment]


def is_tracer(x: Any) -> bool:
    return type(x) is Tracer


def aval_of(x: Any) -> ShapedArray:
    """Abstract value of a tracer, array or scalar (Python scalars are weakly typed)."""
    if type(x) is Tracer:
        return x.irvar.aval
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return ShapedArray((), np.result_type(x), weak=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, x.dtype)
    raise LocatedTypeError(
        f"funcgrad cannot use a value of type {type(x).__name__} as an array; "
        "pass numpy arrays, Python/numpy scalars, or pytrees of them"
    )


# Python scalars are weakly typed literals: they take the other operand's dtype (NEP 50).
_WEAK_AVALS = {
    float: ShapedArray((), np.float64, weak=True),
    int: ShapedArray((), np.int64, weak=True),
    bool: ShapedArray((), np.bool_, weak=True),
    complex: ShapedArray((), np.complex128, weak=True),
}


class Trace:
    """Records the equations of one transform's traced function."""

    __slots__ = (
        "level",
        "kind",
        "eqns",
        "alive",
        "constvars",
        "consts",
        "_const_ids",
        "_keep",
        "env",
        "__weakref__",
    )

    def __init__(self, kind: str, keep_values: bool = False) -> None:
        self.level = next(_levels)
        self.kind = kind  # the transform's name, for messages
        self.eqns: list[Eqn] = []
        self.alive = True
        self.constvars: list[Var] = []
        self.consts: list[Any] = []
        self._const_ids: dict[int, Var] = {}
        self._keep: list[Any] = []  # Arrays whose plain views are constants: keeps ids unique
        # var -> concrete value, kept when a reverse-mode transform can reuse forward values
        self.env: dict[Var, Any] | None = {} if keep_values else None

    # -- inputs and constants -------------------------------------------------------------
    def new_input(
        self, x: Any, hint: str | None = None, src: tuple[str, int] | None = None
    ) -> Tracer:
        """A tracer for one input. ``x`` is a concrete array (its value is kept), a tracer of
        an enclosing trace (its value, if any, is kept), or a ShapedArray (abstract).
        ``src``: the user's line, when the caller has it (else it is looked up)."""
        if type(x) is Tracer:
            aval, val = x.irvar.aval, x.val
        elif isinstance(x, ShapedArray):
            aval, val = ShapedArray(x.shape, x.dtype), None
        else:
            shape = x.shape if isinstance(x, (np.ndarray, np.generic)) else np.shape(x)
            aval, val = ShapedArray(shape, x.dtype), x
        v = Var(aval, hint)
        if self.env is not None and val is not None:
            self.env[v] = val
        return Tracer(self, v, val, src or user_src())

    def abstract_input(
        self, aval: ShapedArray, hint: str | None = None, src: tuple[str, int] | None = None
    ) -> Tracer:
        var = Var(ShapedArray(aval.shape, aval.dtype, aval.weak), hint)
        return Tracer(self, var, None, src or user_src())

    def lift(self, x: Any) -> Var | Literal:
        """The IR operand for ``x``: own tracers by var, everything else as a constant."""
        if type(x) is Tracer:
            if x._trace is self:
                return x.irvar
            t = x._trace
            if not t.alive:
                raise _leak_error(x)
            if t.level > self.level:
                raise _leak_error(x, inner=True)
            return self._const(x, x.irvar.aval, x.val)
        weak = _WEAK_AVALS.get(type(x))
        if weak is not None:
            return Literal(x, weak)
        if isinstance(x, np.generic):
            return Literal(x, ShapedArray((), x.dtype))
        if isinstance(x, np.ndarray):
            if type(x) is Array:  # computed on as a plain ndarray (no subclass dispatch)
                v = self._const_ids.get(id(x))
                if v is not None:
                    return v
                self._keep.append(x)
                plain = x.view(np.ndarray)
                v = self._const(plain, ShapedArray(x.shape, x.dtype), plain)
                self._const_ids[id(x)] = v
                return v
            return self._const(x, ShapedArray(x.shape, x.dtype), x)
        raise LocatedTypeError(
            f"funcgrad cannot use a value of type {type(x).__name__} inside a traced "
            "function; use numpy arrays or scalars (convert lists with funcgrad.numpy.asarray)"
        )

    def _const(self, x: Any, aval: ShapedArray, val: Any) -> Var:
        v = self._const_ids.get(id(x))
        if v is None:
            v = Var(aval)
            self._const_ids[id(x)] = v
            self.constvars.append(v)
            self.consts.append(x)  # keeps x alive, so its id stays unique
            if self.env is not None and val is not None:
                self.env[v] = val
        return v

    # -- recording ---------------------------------------------------------------------------
    def process(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        ins: list[Var | Literal] = []
        vals: list[Any] = []
        concrete = True
        for a in args:
            if type(a) is Tracer and a._trace is self:
                ins.append(a.irvar)
                v = a.val
                if v is None:
                    concrete = False
            else:
                weak = _WEAK_AVALS.get(type(a))
                if weak is not None:  # a Python scalar: lift's first case, inlined
                    ins.append(Literal(a, weak))
                    v = a
                else:
                    ins.append(self.lift(a))
                    v = a.val if type(a) is Tracer else a
                    if type(v) is Array:
                        v = v.view(np.ndarray)
                    elif v is None:
                        concrete = False
            vals.append(v)
        # user_src(), inlined (the hottest path); the frames above are this method and bind
        # (its only caller), both funcgrad's
        src = _tls.loc
        key = None
        if src is None:
            f = _getframe(2)
            while f is not None and f.f_code.co_filename.startswith(_OURS):
                f = f.f_back
            if f is not None:
                key = (id(f.f_code), f.f_lasti)
                hit = _lines.get(key)
                src = hit[1] if hit is not None else user_src(2)
        if concrete:
            try:
                t = _trampolines.get(src) if src is not None else None
                if t is not None:  # call_at, inlined: warnings name the user's line
                    out = t(prim.impl, vals, params)
                else:
                    out = call_at(src, prim.impl, vals, params)
                    t = _trampolines.get(src) if src is not None else None
                if key is not None and t is not None and key not in _sites:
                    if len(_sites) >= _MAX_SITES:
                        _sites.clear()
                    _sites[key] = (f.f_code, src, t)  # the code object keeps its id unique
            except Exception as e:
                # Prefer the shape rule's message (it says what is wrong and what to do).
                prim.abstract_eval([x.aval for x in ins], params, src)
                raise type(e)(f"{format_src(src)}{prim.name}: {e}") from e
            if _cfg.check_finite:
                _debug_check(prim, out, src)
            if not prim.multiple_results:
                # The common case, straight through: one result, its aval shared by shape
                # and dtype (avals are never mutated).
                try:
                    key = (out.shape, out.dtype)
                except AttributeError:  # a Python scalar from an impl
                    key = (np.shape(out), _dtype_of(out))
                aval = _avals.get(key)
                if aval is None:
                    aval = _concrete_aval(key)
                var = Var(aval)
                self.eqns.append(Eqn(prim, ins, params, [var], src, _tls.phase))
                env = self.env
                if env is not None:
                    env[var] = out
                return Tracer(self, var, out, src)
            outs = list(out)
            avals = [ShapedArray(np.shape(o), _dtype_of(o)) for o in outs]
        else:
            outs = None
            avals = prim.abstract_eval([x.aval for x in ins], params, src)
        outvars = [Var(a) for a in avals]
        self.eqns.append(Eqn(prim, ins, params, outvars, src, _tls.phase))
        if outs is None:
            tracers = [Tracer(self, v, None, src) for v in outvars]
        else:
            env = self.env
            if env is not None:
                for v, o in zip(outvars, outs):
                    env[v] = o
            tracers = [Tracer(self, v, o, src) for v, o in zip(outvars, outs)]
        return tracers if prim.multiple_results else tracers[0]

    def finish(self, inputs: list[Tracer], outputs: list[Any]) -> IR:
        """Close the trace: build its IR and mark its tracers dead (later use is a leak)."""
        outvars = [self.lift(o) for o in outputs]
        self.alive = False
        return IR(self.constvars, self.consts, [t.irvar for t in inputs], self.eqns, outvars)


# Call sites of eager primitives: (id(code), instruction offset) of the user's frame ->
# (code, (file, line), trampoline), so bind's fast path finds both with one lookup. The code
# object is kept in the value, so its id cannot be reused while the entry exists (bounded:
# cleared when full).
_sites: dict[tuple[int, int], tuple[Any, tuple[str, int], Any]] = {}
_MAX_SITES = 1 << 14

# file name -> whether its frames are funcgrad's (the frame walk of bind's fast path);
# bounded: jit's generated code has a file name per function.
_files: dict[str, bool] = {}


def _file_is_ours(filename: str) -> bool:
    if len(_files) >= 4096:
        _files.clear()
    ours = _files[filename] = filename.startswith(_OURS)
    return ours


# (shape, dtype) -> the ShapedArray of concrete values of that type, shared by the equations
# that eager tracing records (bounded: cleared when full).
_avals: dict[tuple[tuple[int, ...], np.dtype], ShapedArray] = {}


def _concrete_aval(key: tuple[Any, Any]) -> ShapedArray:
    aval = ShapedArray(key[0], key[1])
    if len(_avals) >= 4096:
        _avals.clear()
    _avals[(aval.shape, aval.dtype)] = aval
    return aval


def _dtype_of(x: Any) -> np.dtype:
    d = getattr(x, "dtype", None)
    return d if d is not None else np.asarray(x).dtype


def _leak_error(x: Tracer, inner: bool = False) -> TracerLeakError:
    where = f" (created at {x.src[0]}:{x.src[1]})" if x.src else ""
    if inner:
        return TracerLeakError(
            f"A tracer of an inner `{x._trace.kind}` transform{where} was used in an enclosing "
            "computation. Values traced inside a transformed function must be returned from "
            "it, not stored in globals, lists or attributes."
        )
    return TracerLeakError(
        f"A tracer leaked: a value traced inside `{x._trace.kind}`{where} was used after that "
        "transform returned. Traced values are only valid inside the function being "
        "transformed; return the value from that function instead of storing it (in a "
        "global, a list or an attribute)."
    )


def _user_leaf(x: Any) -> Any:
    t = type(x)
    if t is np.ndarray:
        return x.view(Array) if x.ndim else x
    if t is Array and not x.ndim:
        return x[()]
    return x


def bind(prim: Any, *args: Any, **params: Any) -> Any:
    """Apply ``prim``: on concrete values run its numpy implementation; if any argument is a
    tracer, record it in the innermost trace among the arguments."""
    trace = None
    for a in args:
        if type(a) is Tracer:
            t = a._trace
            if trace is None or t.level > trace.level:
                trace = t
    if trace is None:
        # Concrete values. Inside an interpreter (e.g. eager reverse mode running VJP rules)
        # the equation's user line is known for free: run there, so warnings name it.
        if _tls.direct:  # (a raising backward pass: see funcgrad.transforms.reverse)
            out = prim.impl(*args, **params)
            if _cfg.check_finite:
                _debug_check(prim, out, user_src())
            return out
        loc = _tls.loc
        if loc is None:
            out = prim.impl(*args, **params)
            # A result handed to the user: funcgrad's array class (``.at``, value semantics).
            t = type(out)
            if t is np.ndarray:
                if out.ndim:
                    out = out.view(Array)
            elif t is Array:
                if not out.ndim:
                    out = out[()]
            elif (t is tuple or t is list) and prim.multiple_results:
                out = t(_user_leaf(o) for o in out)
        else:
            tramp = _trampolines.get(loc)  # call_at, inlined
            if tramp is not None:
                out = tramp(prim.impl, args, params)
            else:
                out = call_at(loc, prim.impl, args, params)
        if _cfg.check_finite:
            _debug_check(prim, out, user_src())
        return out
    if not trace.alive:
        for a in args:
            if type(a) is Tracer and a._trace is trace:
                raise _leak_error(a)
    if prim.multiple_results:
        return trace.process(prim, args, params)
    # Trace.process, inlined for its commonest case (the eager hot path): one result, every
    # operand a concrete tracer of this trace or a Python scalar. Anything else (abstract
    # values, constants, tracers of enclosing traces, impl errors) takes the general path.
    ins: list[Any] = []
    vals: list[Any] = []
    in_aval = None  # the first traced operand's aval: usually the result's too
    for a in args:
        if type(a) is Tracer and a._trace is trace:
            v = a.val
            if v is None:
                return trace.process(prim, args, params)
            var = a.irvar
            if in_aval is None:
                in_aval = var.aval
            ins.append(var)
        else:
            weak = _WEAK_AVALS.get(type(a))
            if weak is None:
                return trace.process(prim, args, params)
            lit = _new(Literal)  # Literal(a, weak), without the __init__ frame
            lit.val = a
            lit.aval = weak
            ins.append(lit)
            v = a
        vals.append(v)
    # The user's line and its trampoline (see call_at): cached per call site, so a line
    # seen before costs one frame walk and one dict lookup.
    src = _tls.loc
    if src is None:
        f = _getframe(1)
        while f is not None:
            ours = _files.get(f.f_code.co_filename)  # (file name).startswith(_OURS), cached
            if ours is None:
                ours = _file_is_ours(f.f_code.co_filename)
            if not ours:
                break
            f = f.f_back
        site = _sites.get((id(f.f_code), f.f_lasti)) if f is not None else None
        if site is None:
            return trace.process(prim, args, params)  # (fills the caches)
        src = site[1]
        tramp = site[2]
    else:
        tramp = _trampolines.get(src)
        if tramp is None:
            return trace.process(prim, args, params)
    try:
        out = tramp(prim.impl, vals, params)
    except Exception as e:  # as in Trace.process
        prim.abstract_eval([x.aval for x in ins], params, src)
        raise type(e)(f"{format_src(src)}{prim.name}: {e}") from e
    if _cfg.check_finite:
        _debug_check(prim, out, src)
    try:
        shape = out.shape
        dtype = out.dtype
    except AttributeError:  # a Python scalar from an impl
        shape = np.shape(out)
        dtype = _dtype_of(out)
    if (
        in_aval is not None
        and dtype is in_aval.dtype
        and shape == in_aval.shape
        and not in_aval.weak
    ):
        aval = in_aval
    else:
        aval = _avals.get((shape, dtype))
        if aval is None:
            aval = _concrete_aval((shape, dtype))
    # Var(aval), Eqn(...) and Tracer(...) without their __init__ frames (the same slots;
    # tests/test_eager_fast_paths.py checks them against the constructors)
    var = _new(Var)
    var.aval = aval
    var.hint = None
    e = _new(Eqn)
    e.prim = prim
    e.inputs = ins
    e.params = params
    e.outputs = [var]
    e.src = src
    e.phase = _tls.phase
    trace.eqns.append(e)
    env = trace.env
    if env is not None:
        env[var] = out
    t = _new(Tracer)
    t._trace = trace
    t.irvar = var
    t.val = out
    t.shape = aval.shape
    t.dtype = aval.dtype
    t.src = src
    return t


_tracer_type[0] = Tracer  # lets funcgrad.core.array recognise traced indices
