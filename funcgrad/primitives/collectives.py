"""Collective primitives over MPI: ``allreduce`` (sum / mean), ``allgather``, ``reduce_scatter``
and ``broadcast``. The public functions are in :mod:`funcgrad.distributed`.

Each primitive takes *all* leaves of a pytree as operands and returns one result per leaf, so
a whole tree is one equation in an IR and one MPI call per dtype at run time: the leaves of a
dtype are packed into one contiguous buffer, reduced in place and handed back as views of
that buffer (a single contiguous leaf goes straight to MPI, without packing). No pickle on
this path; dtypes are kept.

Derivatives, for a program run the same way on every process (SPMD) whose total objective is
the sum of the per-process objectives:

* ``allreduce_sum`` is its own transpose (``d/dx_r sum_s L_s(sum_q x_q) = sum_s g_s``) and
  ``allreduce_mean`` likewise (with the ``1/P``); both are linear, so the JVP is the same
  collective of the tangents.
* ``allgather`` (stack along a new leading axis) transposes to ``reduce_scatter`` (sum over
  processes, then this process's slot), and ``reduce_scatter`` back to ``allgather``.
* ``broadcast`` from ``root`` transposes to "sum onto the root": every process takes part in
  an ``allreduce_sum`` of the cotangents, the root keeps it, the others get zeros.

The primitives are not ``pure``: jit never folds, merges or drops them, so every process
makes the same MPI calls in the same order.

Process state (the communicator, this process's index, the process count, the timeout) lives
in :data:`state`, set by ``funcgrad.distributed.initialize``; with one process every impl is a
copy and no MPI call is made. This module needs only numpy: it calls whatever communicator
object it was given (an ``mpi4py`` communicator).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import aval_of, bind
from funcgrad.primitives.base import define
from funcgrad.primitives.structural import moveaxis_to_front, transpose

__all__ = [
    "state",
    "allreduce_p",
    "allgather_p",
    "reduce_scatter_p",
    "broadcast_p",
    "CollectiveTimeoutError",
]


class CollectiveTimeoutError(TimeoutError):
    """A collective did not complete within the configured timeout (another process raised,
    hangs, or called a different collective)."""


class _State:
    """Process-wide communication state (one per process)."""

    def __init__(self) -> None:
        self.comm: Any = None  # an mpi4py communicator, or None for one process without MPI
        self.check_comm: Any = None  # a second one, for the tree-signature checks
        self.mpi: Any = None  # the mpi4py.MPI module (for IN_PLACE, SUM, MAX)
        self.rank = 0
        self.size = 1
        self.timeout: float | None = None  # seconds; None = block in MPI
        self.checked: set[Any] = set()  # tree signatures already verified identical
        self.calls = 0  # MPI data calls made (for tests and benchmarks)


state = _State()


# --- running MPI calls (with an optional timeout) ------------------------------------------


def _run(blocking: Any, nonblocking: Any, what: str) -> None:
    """Run one collective: ``blocking()`` directly, or with a timeout ``nonblocking()`` (a
    request) polled until it completes or the deadline passes."""
    t = state.timeout
    if t is None:
        blocking()
        return
    req = nonblocking()
    deadline = time.monotonic() + t
    spins = 0
    while not req.Test():
        spins += 1
        if spins > 200:
            if time.monotonic() > deadline:
                raise CollectiveTimeoutError(
                    f"{what}: process {state.rank} of {state.size} waited {t:g} s and the "
                    "collective did not complete: another process raised, is stuck, or called "
                    "a different collective (every process must make the same collective calls "
                    "in the same order). Raise the limit with initialize(timeout=...)."
                )
            time.sleep(1e-4)


def _allreduce_buf(sendbuf: Any, recvbuf: np.ndarray, op: Any, what: str) -> None:
    c = state.comm
    state.calls += 1
    _run(
        lambda: c.Allreduce(sendbuf, recvbuf, op=op),
        lambda: c.Iallreduce(sendbuf, recvbuf, op=op),
        what,
    )


# --- checking that every process passes the same tree ---------------------------------------


def _describe(kind: str, avals: list[ShapedArray], paths: tuple[str, ...]) -> list[str]:
    return [f"{p}: {a.dtype.name}{list(a.shape)}" for p, a in zip(paths, avals)]


def _check(kind: str, arrs: list[np.ndarray], paths: tuple[str, ...], extra: Any = None) -> None:
    """The first time this process reduces a given tree signature, verify (one small MPI call)
    that every process passes the same structure, shapes and dtypes; raise a ValueError naming
    the first difference otherwise."""
    key = (kind, paths, tuple([(a.shape, a.dtype) for a in arrs]), extra)
    if key in state.checked:
        return
    avals = _avals(arrs)
    sig = (kind, paths, tuple((a.shape, a.dtype.str) for a in avals), extra)
    digest = hashlib.blake2b(repr(sig).encode(), digest_size=7).digest()
    h = int.from_bytes(digest, "little")
    buf = np.array([h, -h], dtype=np.int64)
    mpi = state.mpi
    # Its own communicator: if one process checks while another already sends data (it checked
    # this signature before), the calls cannot be matched with each other (no garbled data);
    # they wait, until the timeout if one is set.
    c = state.check_comm
    _run(
        lambda: c.Allreduce(mpi.IN_PLACE, buf, op=mpi.MAX),
        lambda: c.Iallreduce(mpi.IN_PLACE, buf, op=mpi.MAX),
        f"{kind} (checking that all processes pass the same tree)",
    )
    if buf[0] != h or buf[1] != -h:
        # Cold path: collect every process's description (pickle is fine here).
        mine = (_describe(kind, avals, paths), kind, extra)
        everyone = c.allgather(mine)
        raise LocatedValueError(_mismatch_message(kind, everyone))
    state.checked.add(key)


def _mismatch_message(kind: str, everyone: list[Any]) -> str:
    ref, ref_kind, ref_extra = everyone[0]
    lines = []
    for r, (desc, k, extra) in enumerate(everyone[1:], start=1):
        if k != ref_kind:
            lines.append(f"process 0 called {ref_kind} but process {r} called {k}")
        elif extra != ref_extra:
            lines.append(f"process 0 passed {ref_extra} but process {r} passed {extra}")
        elif len(desc) != len(ref):
            lines.append(
                f"process 0 passed {len(ref)} leaves but process {r} passed {len(desc)} "
                f"(process 0: {ref}; process {r}: {desc})"
            )
        else:
            for a, b in zip(ref, desc):
                if a != b:
                    lines.append(f"leaf {a} on process 0 but {b} on process {r}")
                    break
    detail = "; ".join(lines) or "(the processes disagree)"
    return (
        f"{kind}: the pytree differs between processes (structure, shapes or dtypes): "
        f"{detail}. Every process must pass a tree of the same structure, shapes and dtypes."
    )


# --- packing -----------------------------------------------------------------------------------


def _groups(arrs: list[np.ndarray]) -> list[list[int]]:
    """Leaf indices grouped by dtype, in first-seen order."""
    by: dict[np.dtype, list[int]] = {}
    for i, a in enumerate(arrs):
        by.setdefault(a.dtype, []).append(i)
    return list(by.values())


def _pack(arrs: list[np.ndarray], idx: list[int]) -> np.ndarray:
    sizes = [arrs[i].size for i in idx]
    buf = np.empty(sum(sizes), arrs[idx[0]].dtype)
    o = 0
    for i, n in zip(idx, sizes):
        buf[o : o + n] = arrs[i].reshape(-1)
        o += n
    return buf


def _contiguous(a: np.ndarray) -> np.ndarray:
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _out(a: np.ndarray) -> Any:
    return a[()] if a.ndim == 0 else a


def _arrays(xs: tuple[Any, ...]) -> list[np.ndarray]:
    return [np.asarray(x) for x in xs]


def _avals(arrs: list[np.ndarray]) -> list[ShapedArray]:
    return [ShapedArray(a.shape, a.dtype) for a in arrs]


# --- allreduce (sum / mean) -------------------------------------------------------------------


def _allreduce_impl(*xs: Any, op: str, paths: tuple[str, ...]) -> list[Any]:
    arrs = _arrays(xs)
    if state.size == 1:
        return [_out(np.array(a)) for a in arrs]
    kind = f"allreduce_{op}"
    _check(kind, arrs, paths)
    mpi = state.mpi
    outs: list[Any] = [None] * len(arrs)
    for idx in _groups(arrs):
        if len(idx) == 1:
            a = _contiguous(arrs[idx[0]])
            buf = np.empty(a.shape, a.dtype)
            _allreduce_buf(a.reshape(-1), buf.reshape(-1), mpi.SUM, kind)
            views = [buf]
        else:
            buf = _pack(arrs, idx)
            _allreduce_buf(mpi.IN_PLACE, buf, mpi.SUM, kind)
            views, o = [], 0
            for i in idx:
                n = arrs[i].size
                views.append(buf[o : o + n].reshape(arrs[i].shape))
                o += n
        if op == "mean":
            np.divide(buf, state.size, out=buf)
        for i, v in zip(idx, views):
            outs[i] = _out(v)
    return outs


def _allreduce_shape(*avals: ShapedArray, op: str, paths: tuple[str, ...]) -> list[ShapedArray]:
    kind = f"allreduce_{op}"
    for p, a in zip(paths, avals):
        _check_dtype(kind, p, a)
        if op == "sum" and a.dtype.kind == "b":
            raise LocatedTypeError(
                f"{kind}: leaf {p} is boolean, and a sum of booleans is not defined here; "
                "cast it to an integer dtype first (e.g. x.astype(np.int64))"
            )
        if op == "mean" and a.dtype.kind not in "fc":
            raise LocatedTypeError(
                f"{kind}: leaf {p} has dtype {a.dtype.name}; allreduce_mean keeps dtypes, so "
                "it needs floating-point or complex leaves. Use allreduce_sum for integer "
                "leaves, or cast them to a float dtype first"
            )
    return [ShapedArray(a.shape, a.dtype) for a in avals]


def _check_dtype(kind: str, path: str, a: ShapedArray) -> None:
    if a.dtype.kind not in "biufc":
        raise LocatedTypeError(
            f"{kind}: leaf {path} has dtype {a.dtype}; collectives take numeric or boolean "
            "arrays only"
        )


def _zeros_for(x: Any) -> np.ndarray:
    a = aval_of(x)
    return np.zeros(a.shape, a.dtype)


def _linear_indices(vals: list[Any], needs: list[bool] | None = None) -> list[int]:
    """Indices of inexact operands (that are needed): the ones with derivatives."""
    return [
        i
        for i, v in enumerate(vals)
        if aval_of(v).dtype.kind in "fc" and (needs is None or needs[i])
    ]


def _apply_subset(prim: Any, vals: list[Any], idx: list[int], params: dict[str, Any]) -> list:
    """Bind ``prim`` on ``vals[idx]`` (``None`` -> zeros of the matching primal), returning a
    full-length list with ``None`` elsewhere."""
    out: list[Any] = [None] * len(vals)
    if not idx:
        return out
    p = dict(params)
    p["paths"] = tuple(params["paths"][i] for i in idx)
    res = bind(prim, *[vals[i] for i in idx], **p)
    for i, r in zip(idx, res):
        out[i] = r
    return out


def _fill(cts: list[Any], like: list[Any]) -> list[Any]:
    return [c if c is not None else _zeros_for(x) for c, x in zip(cts, like)]


def _allreduce_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    idx = _linear_indices(list(args), list(needs))
    return _apply_subset(allreduce_p, _fill(list(g), list(ans)), idx, params)


def _self_jvp(prim_ref: str) -> Any:
    def rule(ins: Any, ts: Any, outs: Any, params: Any) -> list[Any]:
        idx = _linear_indices(list(ins))
        return _apply_subset(_PRIMS[prim_ref], _fill(list(ts), list(ins)), idx, params)

    return rule


def _same_dims_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[list, list]:
    moved = [a if d is None else moveaxis_to_front(a, d) for a, d in zip(args, dims)]
    outs = bind(prim, *moved, **params)
    return list(outs), [None if d is None else 0 for d in dims]


allreduce_p = define(
    "allreduce",
    _allreduce_impl,
    _allreduce_shape,
    multiple_results=True,
    vjp_full=_allreduce_vjp,
    jvp_full=_self_jvp("allreduce"),
    batch=_same_dims_batch,
    pure=False,
    fresh=True,
)


# --- allgather (stack along a new leading axis) -------------------------------------------------


def _allgather_impl(*xs: Any, nprocs: int, paths: tuple[str, ...]) -> list[Any]:
    arrs = _arrays(xs)
    _check_nprocs("allgather", nprocs)
    if state.size == 1:
        return [np.array(a)[None] for a in arrs]
    _check("allgather", arrs, paths)
    c = state.comm
    outs: list[Any] = [None] * len(arrs)
    for idx in _groups(arrs):
        send = _contiguous(arrs[idx[0]]).reshape(-1) if len(idx) == 1 else _pack(arrs, idx)
        recv = np.empty((state.size, send.size), send.dtype)
        state.calls += 1
        _run(lambda: c.Allgather(send, recv), lambda: c.Iallgather(send, recv), "allgather")
        o = 0
        for i in idx:
            n = arrs[i].size
            outs[i] = recv[:, o : o + n].reshape((state.size,) + arrs[i].shape)
            o += n
    return outs


def _check_nprocs(kind: str, nprocs: int) -> None:
    if nprocs != state.size:
        raise LocatedValueError(
            f"{kind}: this computation was traced for {nprocs} processes but runs with "
            f"{state.size}; trace it again in this run"
        )


def _allgather_shape(*avals: ShapedArray, nprocs: int, paths: tuple[str, ...]) -> list:
    for p, a in zip(paths, avals):
        _check_dtype("allgather", p, a)
    return [ShapedArray((nprocs,) + a.shape, a.dtype) for a in avals]


def _allgather_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    idx = _linear_indices(list(args), list(needs))
    return _apply_subset(reduce_scatter_p, _fill(list(g), list(ans)), idx, params)


def _allgather_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[list, list]:
    moved = [a if d is None else moveaxis_to_front(a, d) for a, d in zip(args, dims)]
    outs = bind(prim, *moved, **params)
    return list(outs), [None if d is None else 1 for d in dims]


allgather_p = define(
    "allgather",
    _allgather_impl,
    _allgather_shape,
    multiple_results=True,
    vjp_full=_allgather_vjp,
    jvp_full=_self_jvp("allgather"),
    batch=_allgather_batch,
    pure=False,
    fresh=True,
)


# --- reduce_scatter (sum over processes of a stacked leading axis; keep this process's slot) ---


def _reduce_scatter_impl(*xs: Any, nprocs: int, paths: tuple[str, ...]) -> list[Any]:
    arrs = _arrays(xs)
    _check_nprocs("reduce_scatter", nprocs)
    if state.size == 1:
        return [_out(np.array(a[0])) for a in arrs]
    _check("reduce_scatter", arrs, paths)
    c = state.comm
    mpi = state.mpi
    P = state.size
    outs: list[Any] = [None] * len(arrs)
    for idx in _groups(arrs):
        sizes = [arrs[i][0].size for i in idx]
        send = np.empty((P, sum(sizes)), arrs[idx[0]].dtype)
        o = 0
        for i, n in zip(idx, sizes):
            send[:, o : o + n] = arrs[i].reshape(P, n)
            o += n
        recv = np.empty(send.shape[1], send.dtype)
        state.calls += 1
        _run(
            lambda: c.Reduce_scatter_block(send, recv, op=mpi.SUM),
            lambda: c.Ireduce_scatter_block(send, recv, op=mpi.SUM),
            "reduce_scatter",
        )
        o = 0
        for i, n in zip(idx, sizes):
            outs[i] = _out(recv[o : o + n].reshape(arrs[i].shape[1:]))
            o += n
    return outs


def _reduce_scatter_shape(*avals: ShapedArray, nprocs: int, paths: tuple[str, ...]) -> list:
    for p, a in zip(paths, avals):
        _check_dtype("reduce_scatter", p, a)
        if a.dtype.kind == "b":
            raise LocatedTypeError(
                f"reduce_scatter: leaf {p} is boolean; cast it to an integer dtype"
            )
        if not a.shape or a.shape[0] != nprocs:
            raise LocatedValueError(
                f"reduce_scatter: leaf {p} has shape {a.shape}; it needs a leading axis of "
                f"length {nprocs} (one slot per process)"
            )
    return [ShapedArray(a.shape[1:], a.dtype) for a in avals]


def _reduce_scatter_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    idx = _linear_indices(list(args), list(needs))
    return _apply_subset(allgather_p, _fill(list(g), list(ans)), idx, params)


def _reduce_scatter_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[list, list]:
    moved = []
    for a, d in zip(args, dims):
        if d is not None:  # batch axis second: the process axis stays first
            a = moveaxis_to_front(a, d)
            nd = np.ndim(a)
            a = transpose(a, (1, 0) + tuple(range(2, nd)))
        moved.append(a)
    outs = bind(prim, *moved, **params)
    return list(outs), [None if d is None else 0 for d in dims]


reduce_scatter_p = define(
    "reduce_scatter",
    _reduce_scatter_impl,
    _reduce_scatter_shape,
    multiple_results=True,
    vjp_full=_reduce_scatter_vjp,
    jvp_full=_self_jvp("reduce_scatter"),
    batch=_reduce_scatter_batch,
    pure=False,
    fresh=True,
)


# --- broadcast -----------------------------------------------------------------------------------


def _broadcast_impl(*xs: Any, root: int, paths: tuple[str, ...]) -> list[Any]:
    arrs = _arrays(xs)
    if state.size == 1:
        return [_out(np.array(a)) for a in arrs]
    _check("broadcast", arrs, paths, extra=f"root={root}")
    c = state.comm
    outs: list[Any] = [None] * len(arrs)
    for idx in _groups(arrs):
        if state.rank == root:
            buf = _pack(arrs, idx)
        else:
            buf = np.empty(sum(arrs[i].size for i in idx), arrs[idx[0]].dtype)
        state.calls += 1
        _run(lambda: c.Bcast(buf, root=root), lambda: c.Ibcast(buf, root=root), "broadcast")
        o = 0
        for i in idx:
            n = arrs[i].size
            outs[i] = _out(buf[o : o + n].reshape(arrs[i].shape))
            o += n
    return outs


def _broadcast_shape(*avals: ShapedArray, root: int, paths: tuple[str, ...]) -> list:
    for p, a in zip(paths, avals):
        _check_dtype("broadcast", p, a)
    return [ShapedArray(a.shape, a.dtype) for a in avals]


def _broadcast_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    idx = _linear_indices(list(args), list(needs))
    p = {"op": "sum", "paths": params["paths"]}
    summed = _apply_subset(allreduce_p, _fill(list(g), list(ans)), idx, p)
    if state.rank == params["root"]:
        return summed
    # Not the root: this input did not reach any output (every process got the root's value).
    return [None if s is None else _zeros_for(a) for s, a in zip(summed, args)]


broadcast_p = define(
    "broadcast",
    _broadcast_impl,
    _broadcast_shape,
    multiple_results=True,
    vjp_full=_broadcast_vjp,
    jvp_full=_self_jvp("broadcast"),
    batch=_same_dims_batch,
    pure=False,
    fresh=True,
)

_PRIMS = {
    "allreduce": allreduce_p,
    "allgather": allgather_p,
    "reduce_scatter": reduce_scatter_p,
    "broadcast": broadcast_p,
}
