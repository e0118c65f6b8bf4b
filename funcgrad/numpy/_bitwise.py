"""Bitwise functions on integer and boolean arrays: ``bitwise_and``/``or``/``xor``/``not``,
``invert``, shifts, ``bitwise_count``, ``packbits``/``unpackbits`` (primitives in
``funcgrad/primitives/bitwise.py``; integer results carry no derivative). The operators
``&``, ``|``, ``^``, ``~`` of traced integer values use these (on booleans they are the
logical operations, exactly as numpy).

>>> import funcgrad.numpy as fnp, numpy as np
>>> fnp.bitwise_and(np.array([5, 6]), 3)
Array([1, 2])
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.numpy._core import _dtype, _ndim, _norm_axis, _operand, _shape, astype
from funcgrad.numpy._creation import zeros
from funcgrad.numpy._elementwise import not_equal
from funcgrad.numpy._reductions import sum as _sum
from funcgrad.numpy._shape import concatenate, moveaxis, ravel, reshape
from funcgrad.primitives import bitwise as _bw

__all__ = [
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_invert",
    "invert",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "bitwise_count",
    "packbits",
    "unpackbits",
]


def _ints(name: str, *xs: Any) -> list[Any]:
    ops = [_operand(x) for x in xs]
    for x in ops:
        if _dtype(x).kind not in "biu":
            raise LocatedTypeError(
                f"{name} needs integer or boolean operands, got {_dtype(x)} (as numpy: "
                "bitwise operations are not defined for floats)"
            )
    return ops


def bitwise_and(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 & x2`` of integer or boolean arrays (no derivative)."""
    return _bw.bitwise_and(*_ints("bitwise_and", x1, x2))


def bitwise_or(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 | x2`` of integer or boolean arrays (no derivative)."""
    return _bw.bitwise_or(*_ints("bitwise_or", x1, x2))


def bitwise_xor(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 ^ x2`` of integer or boolean arrays (no derivative)."""
    return _bw.bitwise_xor(*_ints("bitwise_xor", x1, x2))


def invert(x: Any, /) -> Any:
    """Elementwise ``~x``: bitwise NOT of integers, logical NOT of booleans."""
    return _bw.invert(*_ints("invert", x))


bitwise_not = invert
bitwise_invert = invert


def left_shift(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 << x2`` (integers)."""
    return _bw.left_shift(*_ints("left_shift", x1, x2))


def right_shift(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 >> x2`` (integers; arithmetic shift for signed types)."""
    return _bw.right_shift(*_ints("right_shift", x1, x2))


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


def bitwise_count(x: Any, /) -> Any:
    """Number of 1 bits in ``abs(x)`` (numpy ≥ 2.0), as uint8."""
    return _bw.bitwise_count(*_ints("bitwise_count", x))


def _check_bits(a: Any, name: str) -> Any:
    a = _operand(a)
    if _dtype(a).kind not in "biu":
        raise LocatedTypeError(f"{name}: expected an integer or boolean array, got {_dtype(a)}")
    return a


def _order(bitorder: str, name: str) -> Any:
    if bitorder not in ("big", "little"):
        raise LocatedValueError(f"{name}: bitorder must be 'big' or 'little', got {bitorder!r}")
    w = _np.arange(8, dtype=_np.uint8)
    return w[::-1].copy() if bitorder == "big" else w


def packbits(a: Any, axis: Any = None, bitorder: str = "big") -> Any:
    """Pack the truth values of ``a`` into uint8 bytes along ``axis`` (flattened if None),
    padding with zeros to a multiple of 8."""
    shifts = _order(bitorder, "packbits")
    a = _check_bits(a, "packbits")
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    a = moveaxis(astype(a if _dtype(a) == _np.bool_ else not_equal(a, 0), _np.uint8), ax, -1)
    n = _shape(a)[-1]
    pad = -n % 8
    if pad:
        a = concatenate([a, zeros((*_shape(a)[:-1], pad), _np.uint8)], axis=-1)
    a = reshape(a, (*_shape(a)[:-1], (n + pad) // 8, 8))
    out = astype(_sum(_bw.left_shift(a, shifts), axis=-1), _np.uint8)
    return moveaxis(out, -1, ax)


def unpackbits(a: Any, axis: Any = None, count: Any = None, bitorder: str = "big") -> Any:
    """Unpack uint8 bytes into bits (uint8 0/1) along ``axis`` (flattened if None)."""
    shifts = _order(bitorder, "unpackbits")
    a = _operand(a)
    if _dtype(a) != _np.uint8:
        raise LocatedTypeError(f"unpackbits: expected uint8 input, got {_dtype(a)}")
    if axis is None:
        a, axis = ravel(a), 0
    ax = _norm_axis(axis, _ndim(a))
    a = moveaxis(a, ax, -1)
    bits = _bw.bitwise_and(_bw.right_shift(reshape(a, (*_shape(a), 1)), shifts), _np.uint8(1))
    bits = reshape(bits, (*_shape(a)[:-1], _shape(a)[-1] * 8))
    if count is not None:
        n = _shape(bits)[-1]
        c = int(count)
        if c >= 0:
            if c > n:
                bits = concatenate([bits, zeros((*_shape(bits)[:-1], c - n), _np.uint8)], -1)
            else:
                bits = bits[..., :c]
        else:
            bits = bits[..., : max(n + c, 0)]
    return moveaxis(bits, -1, ax)
