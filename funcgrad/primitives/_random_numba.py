"""numba kernels for ``funcgrad.random`` (the ``[fast]`` extra): Threefry-2x32 and ``normal``.

Imported only when ``config.random_backend`` selects numba ("auto" with numba installed, or
"numba"); ``random_special.normal_np`` falls back to its numpy kernels otherwise. Every kernel
performs the same IEEE operations in the same order as the numpy path, so both back ends draw
bit-identical numbers (tests/test_random_backends.py checks this on many keys and shapes):

* the 20 Threefry rounds on ``uint64`` variables masked to 32 bits (numba widens ``uint32``
  arithmetic to 64 bits, so the masks make the wrap-around explicit);
* ``[0, 1)`` floats from the top mantissa bits: ``m * 2**-52`` (``m * 2**-23`` for float32)
  is exactly ``bitcast(one | m) - 1``, the numpy path's formula;
* ``log1p`` is the one step left to numpy (``np.log1p`` between the two kernels), because
  numpy may use its own SIMD ``log1p`` where numba calls the C library's, and the two can
  differ in the last bit;
* the erf_inv polynomials by Horner's rule, multiply then add (no fused multiply-add: numba
  compiles without ``fastmath``, so LLVM does not contract them).

Compiled with ``cache=True``: the first use in a fresh environment compiles (~4 s on one
core), later processes load the machine code from numba's cache (``__pycache__`` next to this
file, or ``NUMBA_CACHE_DIR``) in a fraction of a second, numba's own import included.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numba
import numpy as np

from funcgrad.primitives import _erf_inv_coeffs as _rs_consts

__all__ = ["normal", "hash_counters"]

_M = np.uint64(0xFFFFFFFF)
_PARITY = np.uint64(0x1BD11BDA)
_S32 = np.uint64(32)
_R = tuple(np.uint64(r) for r in (13, 15, 26, 6, 17, 29, 16, 24))
_RR = tuple(np.uint64(32 - r) for r in (13, 15, 26, 6, 17, 29, 16, 24))
_ONE, _TWO, _THREE, _FOUR, _FIVE = (np.uint64(i) for i in range(1, 6))
_SHIFT64 = np.uint64(12)
_SHIFT32 = np.uint64(9)
_SCALE64 = np.float64(2.0**-52)
_SCALE32 = np.float32(2.0**-23)


@numba.njit(cache=True, inline="always")
def _rot(b: Any, r: Any, rr: Any) -> Any:
    return ((b << r) & _M) | (b >> rr)


@numba.njit(cache=True, inline="always")
def _group(a: Any, b: Any, o: int) -> Any:
    a = (a + b) & _M
    b = _rot(b, _R[o], _RR[o]) ^ a
    a = (a + b) & _M
    b = _rot(b, _R[o + 1], _RR[o + 1]) ^ a
    a = (a + b) & _M
    b = _rot(b, _R[o + 2], _RR[o + 2]) ^ a
    a = (a + b) & _M
    b = _rot(b, _R[o + 3], _RR[o + 3]) ^ a
    return a, b


@numba.njit(cache=True, inline="always")
def _threefry(k1: Any, k2: Any, x1: Any, x2: Any) -> Any:
    """One Threefry-2x32 block; all arguments and results uint64 holding 32-bit words."""
    k3 = k1 ^ k2 ^ _PARITY
    a = (x1 + k1) & _M
    b = (x2 + k2) & _M
    a, b = _group(a, b, 0)
    a = (a + k2) & _M
    b = (b + k3 + _ONE) & _M
    a, b = _group(a, b, 4)
    a = (a + k3) & _M
    b = (b + k1 + _TWO) & _M
    a, b = _group(a, b, 0)
    a = (a + k1) & _M
    b = (b + k2 + _THREE) & _M
    a, b = _group(a, b, 4)
    a = (a + k2) & _M
    b = (b + k3 + _FOUR) & _M
    a, b = _group(a, b, 0)
    a = (a + k3) & _M
    b = (b + k1 + _FIVE) & _M
    return a, b


@numba.njit(cache=True)
def _hash_kernel(keys: Any, n: int, out1: Any, out2: Any) -> None:
    """``out{1,2}[k * n + i]`` = the two words of Threefry(counter i) under ``keys[k]``."""
    for k in range(keys.shape[0]):
        k1 = np.uint64(keys[k, 0])
        k2 = np.uint64(keys[k, 1])
        base = k * n
        for i in range(n):
            c = np.uint64(i)
            y1, y2 = _threefry(k1, k2, c >> _S32, c & _M)
            out1[base + i] = y1
            out2[base + i] = y2


@numba.njit(cache=True)
def _uniform64_kernel(keys: Any, n: int, scale: Any, lo: Any, u: Any, t: Any) -> None:
    """float64 ``u = f * scale + lo`` from 64-bit draws, and ``t = -(u * u)`` (log1p's input)."""
    for k in range(keys.shape[0]):
        k1 = np.uint64(keys[k, 0])
        k2 = np.uint64(keys[k, 1])
        base = k * n
        for i in range(n):
            c = np.uint64(i)
            y1, y2 = _threefry(k1, k2, c >> _S32, c & _M)
            m = ((y1 << _S32) | y2) >> _SHIFT64
            x = np.float64(m) * _SCALE64 * scale + lo
            u[base + i] = x
            t[base + i] = -(x * x)


@numba.njit(cache=True)
def _uniform32_kernel(keys: Any, n: int, scale: Any, lo: Any, u: Any, t: Any) -> None:
    """float32 ``u = f * scale + lo`` from 32-bit draws ``y1 ^ y2``, and ``t = -(u * u)``."""
    for k in range(keys.shape[0]):
        k1 = np.uint64(keys[k, 0])
        k2 = np.uint64(keys[k, 1])
        base = k * n
        for i in range(n):
            c = np.uint64(i)
            y1, y2 = _threefry(k1, k2, c >> _S32, c & _M)
            m = (y1 ^ y2) >> _SHIFT32
            x = np.float32(np.float32(m) * _SCALE32) * scale + lo
            u[base + i] = x
            t[base + i] = -(x * x)


@numba.njit(cache=True)
def _erf_inv_kernel(u: Any, t: Any, main: Any, cut: Any, shift: Any, tail1: Any, bound1: Any,
                    s1: Any, tail2: Any, s2: Any, sqrt2: Any) -> None:  # fmt: skip
    """``t[i] = sqrt2 * erf_inv(u[i])`` given ``t[i] = log1p(-u[i]**2)`` (XLA's erf_inv:
    ``w = -t``; ``main`` in ``w - shift`` below ``cut``; else ``tail1`` in ``sqrt(w) - s1``
    below ``bound1``, ``tail2`` in ``sqrt(w) - s2`` above)."""
    for i in range(u.shape[0]):
        x = u[i]
        w = -t[i]
        if w < cut:
            z = w - shift
            p = main[0] * z
            p = p + main[1]
            for j in range(2, main.shape[0]):
                p = p * z
                p = p + main[j]
        else:
            sw = np.sqrt(w)
            if w < bound1:
                z = sw - s1
                p = tail1[0]
                for j in range(1, tail1.shape[0]):
                    p = p * z
                    p = p + tail1[j]
            else:
                z = sw - s2
                p = tail2[0]
                for j in range(1, tail2.shape[0]):
                    p = p * z
                    p = p + tail2[j]
        t[i] = (p * x) * sqrt2


# The main erf_inv polynomial unrolled with its coefficients as compile-time constants, so the
# loop has no branch and LLVM vectorises it (the rare tails are patched by a second pass).
_MAIN64 = tuple(np.float64(c) for c in _rs_consts.ERFINV64_LT625)
_MAIN32 = tuple(np.float32(c) for c in _rs_consts.ERFINV32_LT5)
_SHIFT_MAIN64 = np.float64(3.125)
_SHIFT_MAIN32 = np.float32(2.5)
_CUT64 = np.float64(6.25)
_CUT32 = np.float32(5.0)


# Both main kernels come from one template: ``{steps}`` becomes the unrolled Horner steps
# ``p = p * z + C[j]`` (multiply then add, as the numpy path) on one line, so the generated
# function's lines match the template's lines in this file (tracebacks, numba's messages).
# The source is compiled under this file's name: numba's disk cache needs a real source file
# (stamped by this file's mtime and size) and keys each kernel by its name and bytecode.
_MAIN_TEMPLATE_LINE = sys._getframe().f_lineno + 1
_MAIN_TEMPLATE = """
def {name}(u: Any, t: Any, sqrt2: Any) -> int:
    tails = 0
    for i in range(u.shape[0]):
        w = -t[i]
        z = w - {shift}
        p = {c}[0] * z
        p = p + {c}[1]
        {steps}
        x = u[i]
        tail = w >= {cut}
        u[i] = x if tail else (p * x) * sqrt2
        tails += tail
    return tails
"""


def _erf_inv_main(name: str, c: str, shift: str, cut: str, doc: str) -> Any:
    """The njit kernel ``name`` from ``_MAIN_TEMPLATE``: Horner over the module-level tuple
    named ``c`` (highest degree first) in ``w - shift``, tails where ``w >= cut``."""
    steps = "; ".join(f"p = p * z + {c}[{j}]" for j in range(2, len(globals()[c])))
    src = _MAIN_TEMPLATE.format(name=name, c=c, shift=shift, cut=cut, steps=steps)
    code = compile("\n" * (_MAIN_TEMPLATE_LINE - 1) + src, __file__, "exec")
    namespace: dict[str, Any] = {}
    exec(code, globals(), namespace)
    fn = namespace[name]
    fn.__doc__ = doc
    return numba.njit(cache=True)(fn)


_erf_inv_main64 = _erf_inv_main(
    "_erf_inv_main64",
    "_MAIN64",
    "_SHIFT_MAIN64",
    "_CUT64",
    """``u[i] = sqrt2 * erf_inv(u[i])`` in place by the main float64 polynomial, given
    ``t[i] = log1p(-u[i]**2)``, except where ``w = -t`` reaches the tails (``w >= 6.25``):
    those are left as they are; returns how many.""",
)
_erf_inv_main32 = _erf_inv_main(
    "_erf_inv_main32",
    "_MAIN32",
    "_SHIFT_MAIN32",
    "_CUT32",
    "float32 twin of :func:`_erf_inv_main64` (tails where ``w >= 5``).",
)


def hash_counters(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Threefry words of counters ``0..n-1`` under each key of ``keys[K, 2]``: two uint32
    arrays of length ``K * n`` (key-major)."""
    keys = np.ascontiguousarray(keys, np.uint32)
    out1 = np.empty(keys.shape[0] * n, np.uint32)
    out2 = np.empty(keys.shape[0] * n, np.uint32)
    _hash_kernel(keys, n, out1, out2)
    return out1, out2


def normal(keys: np.ndarray, n: int, dtype: np.dtype, consts: Any) -> np.ndarray:
    """``sqrt(2) * erf_inv(uniform(key, (n,), dtype, nextafter(-1, 0), 1))`` for each key of
    ``keys[K, 2]``: a flat array of ``K * n`` draws. ``consts`` are the numpy path's
    constants ``(scale, lo, sqrt2, main, cut, shift, tail1, bound1, s1, tail2, s2)``.
    One array of the result's size is allocated (the result); the ``log1p`` operand lives in
    a per-thread scratch buffer (fresh large arrays cost page faults on every call)."""
    keys = np.ascontiguousarray(keys, np.uint32)
    scale, lo, sqrt2, main, cut, shift, tail1, bound1, s1, tail2, s2 = consts
    total = keys.shape[0] * n
    u = np.empty(total, dtype)
    t = _scratch(total, dtype)
    if dtype == np.float64:
        _uniform64_kernel(keys, n, scale, lo, u, t)
    else:
        _uniform32_kernel(keys, n, scale, lo, u, t)
    np.log1p(t, t)
    main_kernel = _erf_inv_main64 if dtype == np.float64 else _erf_inv_main32
    if main_kernel(u, t, sqrt2):  # a few draws reach the tails (left as u): finish those
        far = np.flatnonzero(t <= -cut)  # w = -t >= cut (t is finite: |u| < 1)
        uf, tf = u[far], t[far]
        _erf_inv_kernel(uf, tf, main, cut, shift, tail1, bound1, s1, tail2, s2, sqrt2)
        u[far] = tf
    return u


_SCRATCH = threading.local()
_SCRATCH_MAX = 1 << 20  # elements kept per thread and dtype (8 MiB of float64)


def _scratch(size: int, dtype: np.dtype) -> np.ndarray:
    """A per-thread buffer of ``size`` elements (a fresh array beyond ``_SCRATCH_MAX``)."""
    if size > _SCRATCH_MAX:
        return np.empty(size, dtype)
    buf = getattr(_SCRATCH, dtype.char, None)
    if buf is None or buf.shape[0] < size:
        buf = np.empty(max(size, 4096), dtype)
        setattr(_SCRATCH, dtype.char, buf)
    return buf[:size]
