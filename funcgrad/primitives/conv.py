"""Convolution: ``conv`` — XLA's ``conv_general_dilated`` in one canonical layout.

The primitive works on ``lhs`` of layout ``(N, C, *spatial)``, ``rhs`` of layout
``(O, C // groups, *window)`` and gives ``(N, O, *out_spatial)``: a cross-correlation (no
kernel flip, as in JAX) with window strides, explicit ``(lo, hi)`` padding (negative values
crop), ``lhs_dilation`` (zeros inserted between input elements: the transposed convolution),
``rhs_dilation`` (atrous convolution) and ``feature_group_count``. Other layouts
(``dimension_numbers``) are transposes around it, done by :mod:`funcgrad.lax`.

The rule table entry:

* VJP w.r.t. ``lhs`` — a convolution of the cotangent with the spatially reversed kernel whose
  in/out features are swapped, strides and lhs dilation exchanged;
* VJP w.r.t. ``rhs`` — a convolution of the input (batch and feature axes swapped) with the
  cotangent as kernel, strides and rhs dilation exchanged; with feature groups the group
  blocks are the diagonal of an ungrouped product;
* JVP — bilinear: ``conv(t_lhs, rhs) + conv(lhs, t_rhs)``;
* batching — a batched ``lhs`` folds into ``N``, a batched ``rhs`` into ``O``, both batched
  become feature groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import aval_of, bind
from funcgrad.primitives.base import define, ufunc_dtype
from funcgrad.primitives.indexing import AdvIndex, ArrayRef, gather
from funcgrad.primitives.structural import (
    Index,
    Slice,
    broadcast_in_dim,
    getitem,
    moveaxis_to_front,
    reshape,
    transpose,
)

__all__ = ["conv", "conv_p", "conv_out_shape"]


def conv(
    lhs: Any,
    rhs: Any,
    window_strides: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
    feature_group_count: int = 1,
) -> Any:
    """The canonical-layout convolution (see the module docstring)."""
    params = dict(
        window_strides=tuple(int(s) for s in window_strides),
        padding=tuple((int(lo), int(hi)) for lo, hi in padding),
        lhs_dilation=tuple(int(d) for d in lhs_dilation),
        rhs_dilation=tuple(int(d) for d in rhs_dilation),
        feature_group_count=int(feature_group_count),
    )
    _conv_shape(aval_of(lhs), aval_of(rhs), **params)  # eager calls check shapes too
    return bind(conv_p, lhs, rhs, **params)


def _dilated(n: int, d: int) -> int:
    return 0 if n == 0 else (n - 1) * d + 1


def conv_out_shape(
    lhs_shape: tuple[int, ...],
    rhs_shape: tuple[int, ...],
    window_strides: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Spatial output sizes."""
    out = []
    for i, (n, k) in enumerate(zip(lhs_shape[2:], rhs_shape[2:])):
        lo, hi = padding[i]
        size = _dilated(n, lhs_dilation[i]) + lo + hi
        win = _dilated(k, rhs_dilation[i])
        out.append(max(0, (size - win) // window_strides[i] + 1) if size >= win else 0)
    return tuple(out)


def _conv_shape(
    lhs: ShapedArray,
    rhs: ShapedArray,
    *,
    window_strides: Any,
    padding: Any,
    lhs_dilation: Any,
    rhs_dilation: Any,
    feature_group_count: int,
) -> ShapedArray:
    nsp = lhs.ndim - 2
    if lhs.ndim < 2 or rhs.ndim != lhs.ndim:
        raise LocatedValueError(
            f"conv: lhs {lhs} and rhs {rhs} must have the same rank, at least 2 "
            "(batch and feature axes)"
        )
    for name, p in (
        ("window_strides", window_strides),
        ("padding", padding),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
    ):
        if len(p) != nsp:
            raise LocatedValueError(
                f"conv: {name} {p} needs one entry per spatial dimension ({nsp})"
            )
    for name, p in (
        ("window_strides", window_strides),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
    ):
        if any(s < 1 for s in p):
            raise LocatedValueError(f"conv: {name} {p} must be positive")
    g = feature_group_count
    if g < 1 or lhs.shape[1] % g or rhs.shape[0] % g:
        raise LocatedValueError(
            f"conv: feature_group_count {g} must divide the input features {lhs.shape[1]} "
            f"and the output features {rhs.shape[0]}"
        )
    if lhs.shape[1] != rhs.shape[1] * g:
        raise LocatedValueError(
            f"conv: the input has {lhs.shape[1]} features but the kernel {rhs} expects "
            f"{rhs.shape[1]} x feature_group_count {g} = {rhs.shape[1] * g}"
        )
    sp = conv_out_shape(lhs.shape, rhs.shape, window_strides, padding, lhs_dilation, rhs_dilation)
    return ShapedArray((lhs.shape[0], rhs.shape[0]) + sp, ufunc_dtype(np.multiply, lhs, rhs))


def _dilate_np(x: np.ndarray, dil: tuple[int, ...]) -> np.ndarray:
    if all(d == 1 for d in dil):
        return x
    shape = x.shape[:2] + tuple(_dilated(n, d) for n, d in zip(x.shape[2:], dil))
    out = np.zeros(shape, x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dil)] = x
    return out


def _pad_np(x: np.ndarray, padding: tuple[tuple[int, int], ...]) -> np.ndarray:
    widths = [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    if any(w != (0, 0) for w in widths):
        x = np.pad(x, widths)
    crop = tuple(
        slice(-lo if lo < 0 else 0, (n - (-hi)) if hi < 0 else n)
        for (lo, hi), n in zip(padding, x.shape[2:])
    )
    return x[(slice(None), slice(None)) + crop]


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _conv_impl(
    lhs: Any,
    rhs: Any,
    *,
    window_strides: Any,
    padding: Any,
    lhs_dilation: Any,
    rhs_dilation: Any,
    feature_group_count: int,
) -> Any:
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    dt = np.result_type(lhs, rhs)
    nsp = lhs.ndim - 2
    sp = conv_out_shape(lhs.shape, rhs.shape, window_strides, padding, lhs_dilation, rhs_dilation)
    n, o, g = lhs.shape[0], rhs.shape[0], feature_group_count
    if 0 in sp or 0 in lhs.shape[:2] or 0 in rhs.shape:
        return np.zeros((n, o) + sp, dt)
    x = _pad_np(_dilate_np(lhs.astype(dt, copy=False), lhs_dilation), padding)
    w = _dilate_np(rhs.astype(dt, copy=False), rhs_dilation)
    n_out = int(np.prod(sp, dtype=np.int64))
    if g == 1 and n_out <= 64 and n_out < int(np.prod(rhs.shape[2:], dtype=np.int64)):
        # few output positions, a large window (the kernel gradient): one matrix product
        # per output position instead of materializing every window
        out = np.empty((n, o) + sp, dt)
        r = rhs.astype(dt, copy=False)
        red = list(range(1, 2 + nsp))
        for q in np.ndindex(*sp):
            sl = x[
                (slice(None), slice(None))
                + tuple(
                    slice(qi * s, qi * s + (k - 1) * d + 1, d)
                    for qi, s, k, d in zip(q, window_strides, rhs.shape[2:], rhs_dilation)
                )
            ]
            out[(slice(None), slice(None)) + q] = np.tensordot(sl, r, axes=(red, red))
        return out
    win = w.shape[2:]
    axes = tuple(range(2, 2 + nsp))
    patches = np.lib.stride_tricks.sliding_window_view(x, win, axis=axes)
    patches = patches[
        (slice(None), slice(None))
        + tuple(slice(None, s * (m - 1) + 1, s) for s, m in zip(window_strides, sp))
    ]
    if g == 1:  # (N, C, *out, *win) . (O, C, *win) -> (N, *out, O): one BLAS product
        red_p = [1] + list(range(2 + nsp, 2 + 2 * nsp))
        out = np.tensordot(patches, w, axes=(red_p, list(range(1, 2 + nsp))))
        return np.ascontiguousarray(np.moveaxis(out, -1, 1), dtype=dt)
    # patches: (N, C, *out, *win) -> (N, G, Cg, *out, *win); w: (G, Og, Cg, *win)
    cg = rhs.shape[1]
    patches = patches.reshape((n, g, cg) + patches.shape[2:])
    w = w.reshape((g, o // g, cg) + win)
    so = _LETTERS[:nsp]
    sw = _LETTERS[nsp : 2 * nsp]
    spec = f"NGC{so}{sw},GOC{sw}->NGO{so}".replace("N", "x").replace("G", "y")
    spec = spec.replace("C", "z").replace("O", "w")
    out = np.einsum(spec, patches, w, optimize=True)
    return np.ascontiguousarray(out.reshape((n, o) + sp), dtype=dt)


def _swap01(x: Any) -> Any:
    nd = np.ndim(x)
    return transpose(x, (1, 0) + tuple(range(2, nd)))


def _vjp_lhs(
    g: Any,
    ans: Any,
    lhs: Any,
    rhs: Any,
    *,
    window_strides: Any,
    padding: Any,
    lhs_dilation: Any,
    rhs_dilation: Any,
    feature_group_count: int,
) -> Any:
    lshape, kshape = np.shape(lhs), np.shape(rhs)
    nsp = len(lshape) - 2
    groups = feature_group_count
    # kernel: reverse the window, swap features within each group -> (C, O // G, *win)
    w = getitem(rhs, Index((Slice(None, None, None),) * 2 + (Slice(None, None, -1),) * nsp))
    o, cg = kshape[0], kshape[1]
    w = reshape(w, (groups, o // groups, cg) + kshape[2:])
    w = transpose(w, (0, 2, 1) + tuple(range(3, 3 + nsp)))
    w = reshape(w, (groups * cg, o // groups) + kshape[2:])
    pads = []
    for i in range(nsp):
        lo = padding[i][0]
        k = _dilated(kshape[2 + i], rhs_dilation[i])
        before = k - 1 - lo
        in_d = _dilated(lshape[2 + i], lhs_dilation[i])
        out_d = _dilated(np.shape(g)[2 + i], window_strides[i])
        after = in_d + k - 1 - out_d - before
        pads.append((before, after))
    return conv(g, w, lhs_dilation, tuple(pads), window_strides, rhs_dilation, groups)


def _vjp_rhs(
    g: Any,
    ans: Any,
    lhs: Any,
    rhs: Any,
    *,
    window_strides: Any,
    padding: Any,
    lhs_dilation: Any,
    rhs_dilation: Any,
    feature_group_count: int,
) -> Any:
    lshape, kshape, gshape = np.shape(lhs), np.shape(rhs), np.shape(g)
    nsp = len(lshape) - 2
    groups = feature_group_count
    pads = []
    for i in range(nsp):
        lo = padding[i][0]
        in_d = _dilated(lshape[2 + i], lhs_dilation[i])
        k = _dilated(kshape[2 + i], rhs_dilation[i])
        out_d = _dilated(gshape[2 + i], window_strides[i])
        pads.append((lo, out_d - in_d + k - lo - 1))
    # (C, N, *in) correlated with (O, N, *out) as kernel -> (C, O, *win)
    full = conv(_swap01(lhs), _swap01(g), rhs_dilation, tuple(pads), lhs_dilation, window_strides)
    crop = tuple(Slice(None, k, None) for k in kshape[2:])
    if tuple(np.shape(full)[2:]) != tuple(kshape[2:]):
        full = getitem(full, Index((Slice(None, None, None),) * 2 + crop))
    if groups == 1:
        return _swap01(full)
    # keep the diagonal group blocks: (G, Cg, G, Og, *win) -> (G, Cg, Og, *win)
    c, o = lshape[1], kshape[0]
    cg, og = c // groups, o // groups
    blocks = reshape(full, (groups, cg, groups, og) + kshape[2:])
    ar = np.arange(groups, dtype=np.intp)
    tmpl = AdvIndex((ArrayRef(0), Slice(None, None, None), ArrayRef(1)))
    diag = gather(blocks, [ar, ar], tmpl)  # (G, Cg, Og, *win)
    diag = transpose(diag, (0, 2, 1) + tuple(range(3, 3 + nsp)))
    return reshape(diag, (o, cg) + kshape[2:])


def _jvp_lhs(t: Any, ans: Any, lhs: Any, rhs: Any, **p: Any) -> Any:
    return bind(conv_p, t, rhs, **p)


def _jvp_rhs(t: Any, ans: Any, lhs: Any, rhs: Any, **p: Any) -> Any:
    return bind(conv_p, lhs, t, **p)


def _conv_batch(
    prim: Any, args: Any, dims: Any, *, feature_group_count: int, **p: Any
) -> tuple[Any, int]:
    lhs, rhs = args
    dl, dr = dims
    groups = feature_group_count
    if dr is None:  # (B, N, C, ...) -> (B*N, C, ...)
        lhs = moveaxis_to_front(lhs, dl)
        s = np.shape(lhs)
        out = bind(prim, reshape(lhs, (s[0] * s[1],) + s[2:]), rhs, feature_group_count=groups, **p)
        so = np.shape(out)
        return reshape(out, (s[0], s[1]) + so[1:]), 0
    rhs = moveaxis_to_front(rhs, dr)
    b, o = np.shape(rhs)[0], np.shape(rhs)[1]
    if dl is None:
        if groups == 1:  # (B, O, I, ...) -> (B*O, I, ...); out (N, B*O, ...)
            r = reshape(rhs, (b * o,) + np.shape(rhs)[2:])
            out = bind(prim, lhs, r, feature_group_count=1, **p)
            so = np.shape(out)
            return reshape(out, (so[0], b, o) + so[2:]), 1
        lhs_b = None
    else:
        lhs_b = moveaxis_to_front(lhs, dl)
    if lhs_b is None:  # broadcast the input along the batch
        s = np.shape(lhs)
        lhs_b = broadcast_in_dim(lhs, (b,) + s, tuple(range(1, len(s) + 1)))
    # both batched: the batch becomes feature groups. lhs (B, N, C, ...) -> (N, B*C, ...)
    s = np.shape(lhs_b)
    x = reshape(_swap01(lhs_b), (s[1], b * s[2]) + s[3:])
    r = reshape(rhs, (b * o,) + np.shape(rhs)[2:])
    out = bind(prim, x, r, feature_group_count=b * groups, **p)
    so = np.shape(out)
    return reshape(out, (so[0], b, o) + so[2:]), 1


conv_p = define(
    "conv",
    _conv_impl,
    _conv_shape,
    vjp=(_vjp_lhs, _vjp_rhs),
    jvp=(_jvp_lhs, _jvp_rhs),
    batch=_conv_batch,
    fresh=True,
)
