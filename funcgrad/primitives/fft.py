"""Discrete Fourier transform primitives: one-dimensional transforms along one axis, values
from ``numpy.fft`` (n-dimensional transforms are compositions, in ``funcgrad.numpy.fft``).

One primitive, ``fft``, with a ``kind`` parameter:

=========  ================================  ==========================  =====================
kind       map (along ``axis``)              JVP                         VJP (transpose)
=========  ================================  ==========================  =====================
fft        complex n -> complex n            fft(t)                      fft(g)
ifft       complex n -> complex n            ifft(t)                     ifft(g)
rfft       real n -> complex n//2+1          rfft(t)                     hfft(g / c, n)
irfft      complex n//2+1 -> real n          irfft(t, n)                 c · ihfft(g, n)
hfft       complex n//2+1 -> real n          hfft(t, n)                  c · rfft(g)
ihfft      real n -> complex n//2+1          ihfft(t)                    irfft(g / c, n)
=========  ================================  ==========================  =====================

All with the same ``norm``; ``c`` is 1 for frequency 0 (and n/2 when n is even) and 2 for the
others — the weights of the Hermitian half spectrum. The VJPs are the plain (unconjugated)
transposes of the JVPs, JAX's convention for complex numbers: the DFT matrix is symmetric,
so ``fft``'s transpose is ``fft`` itself; for the real <-> complex kinds the transpose of a
real-to-complex map takes the real part, which is what ``hfft``/``irfft`` compute. Every
rule is again an ``fft`` primitive, so derivatives of any order work.

The input length along ``axis`` is fixed by ``n`` (n for fft/ifft/rfft/ihfft, n//2+1 for
irfft/hfft); ``funcgrad.numpy.fft`` crops or zero-pads to it first, as numpy does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import define
from funcgrad.primitives.elementwise import div, mul
from funcgrad.primitives.structural import moveaxis_to_front

__all__ = ["fft_p", "fft", "KINDS", "NORMS"]

KINDS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
NORMS = ("backward", "ortho", "forward")
_REAL_IN = ("rfft", "ihfft")
_HALF_IN = ("irfft", "hfft")  # input has n//2+1 entries, output n reals


def fft(x: Any, kind: str, axis: int, n: int, norm: str) -> Any:
    """Bind the primitive (``axis`` non-negative, ``n`` the transform length)."""
    return bind(fft_p, x, kind=kind, axis=axis, n=n, norm=norm)


_dtype_cache: dict[tuple[str, np.dtype], np.dtype] = {}


def _out_dtype(kind: str, dtype: np.dtype) -> np.dtype:
    key = (kind, dtype)
    d = _dtype_cache.get(key)
    if d is None:
        sample = np.zeros(2, dtype)
        d = _dtype_cache[key] = getattr(np.fft, kind)(sample, n=2).dtype
    return d


def _in_len(kind: str, n: int) -> int:
    return n // 2 + 1 if kind in _HALF_IN else n


def _out_len(kind: str, n: int) -> int:
    return n // 2 + 1 if kind in _REAL_IN else n


def _shape_rule(x: ShapedArray, *, kind: str, axis: int, n: int, norm: str) -> ShapedArray:
    if kind not in KINDS:
        raise LocatedValueError(f"fft: unknown kind {kind!r}; expected one of {KINDS}")
    if norm not in NORMS:
        raise LocatedValueError(
            f'{kind}: norm must be "backward", "ortho" or "forward", got {norm!r}'
        )
    if not 0 <= axis < len(x.shape):
        raise LocatedValueError(
            f"{kind}: axis {axis} is out of range for an input of shape {x.shape}"
        )
    if n < 1:
        raise LocatedValueError(f"{kind}: invalid number of data points ({n}) specified")
    if x.dtype.kind not in "fc":
        raise LocatedTypeError(f"{kind}: expected a floating or complex input, got {x}")
    if kind in _REAL_IN and x.dtype.kind == "c":
        raise LocatedTypeError(f"{kind}: expects a real input, got {x}; use fft for complex data")
    if x.shape[axis] != _in_len(kind, n):
        raise LocatedValueError(
            f"{kind}: the input has {x.shape[axis]} entries along axis {axis}; "
            f"expected {_in_len(kind, n)} for n={n}"
        )
    shape = list(x.shape)
    shape[axis] = _out_len(kind, n)
    return ShapedArray(tuple(shape), _out_dtype(kind, x.dtype))


def _impl(x: Any, *, kind: str, axis: int, n: int, norm: str) -> Any:
    return getattr(np.fft, kind)(x, n=n, axis=axis, norm=norm)


def _weights(n: int, axis: int, ndim: int, dtype: Any) -> np.ndarray:
    """c: 1 at frequency 0 (and n/2 for even n), 2 elsewhere, shaped to broadcast on axis."""
    c = np.full(n // 2 + 1, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    shape = [1] * ndim
    shape[axis] = n // 2 + 1
    return c.reshape(shape).astype(np.finfo(dtype).dtype)


def _rule(g: Any, kind: str, axis: int, n: int, norm: str, transpose: bool) -> Any:
    if not transpose or kind in ("fft", "ifft"):
        return fft(g, kind, axis, n, norm)
    nd = len(np.shape(g))
    c = _weights(n, axis, nd, g.dtype)
    if kind == "rfft":
        return fft(div(g, c), "hfft", axis, n, norm)
    if kind == "ihfft":
        return fft(div(g, c), "irfft", axis, n, norm)
    if kind == "irfft":
        return mul(fft(g, "ihfft", axis, n, norm), c)
    return mul(fft(g, "rfft", axis, n, norm), c)  # hfft


def _jvp(t: Any, ans: Any, x: Any, *, kind: str, axis: int, n: int, norm: str) -> Any:
    return _rule(t, kind, axis, n, norm, transpose=False)


def _vjp(g: Any, ans: Any, x: Any, *, kind: str, axis: int, n: int, norm: str) -> Any:
    return _rule(g, kind, axis, n, norm, transpose=True)


def _batch(prim: Any, args: Any, dims: Any, *, kind: str, axis: int, n: int, norm: str) -> Any:
    (x,), (d,) = args, dims
    x = moveaxis_to_front(x, d)
    return fft(x, kind, axis + 1, n, norm), 0


fft_p = define(
    "fft",
    _impl,
    _shape_rule,
    vjp=(_vjp,),
    jvp=(_jvp,),
    batch=_batch,
    emit=None,
    fresh=True,
)
