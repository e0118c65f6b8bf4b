"""Bitwise and integer elementwise primitives: ``bitwise_and``/``or``/``xor``, ``invert``,
``left_shift``/``right_shift``, ``bitwise_count``, ``gcd``/``lcm``, and the float-bit
functions ``spacing`` and ``frexp`` (its mantissa and exponent as two primitives).

Every one is numpy's ufunc with numpy's dtype rules (floats given to a bitwise primitive raise
numpy's ``TypeError`` from the shape rule), batched elementwise, emitted as the ufunc call by
jit. None carries a derivative (``differentiable=False``): integer and boolean results have
none, and ``spacing`` / the ``frexp`` exponent are piecewise constant; ``frexp``'s mantissa is
differentiable and is written in ``funcgrad.numpy`` as ``x * 2**-exponent``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.tracer import bind
from funcgrad.primitives.elementwise import _binary, _unary

__all__ = [
    "bitwise_and_p",
    "bitwise_or_p",
    "bitwise_xor_p",
    "invert_p",
    "left_shift_p",
    "right_shift_p",
    "bitwise_count_p",
    "gcd_p",
    "lcm_p",
    "spacing_p",
    "frexp_exponent_p",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "invert",
    "left_shift",
    "right_shift",
    "bitwise_count",
    "gcd",
    "lcm",
    "spacing",
    "frexp_exponent",
]


def _frexp_exponent(x: Any) -> Any:
    return np.frexp(x)[1]


bitwise_and_p = _binary("bitwise_and", np.bitwise_and, None, None, "({0} & {1})", False)
bitwise_or_p = _binary("bitwise_or", np.bitwise_or, None, None, "({0} | {1})", False)
bitwise_xor_p = _binary("bitwise_xor", np.bitwise_xor, None, None, "({0} ^ {1})", False)
invert_p = _unary("invert", np.invert, None, "np.invert({0})")
left_shift_p = _binary("left_shift", np.left_shift, None, None, "np.left_shift({0}, {1})", False)
right_shift_p = _binary(
    "right_shift", np.right_shift, None, None, "np.right_shift({0}, {1})", False
)
bitwise_count_p = _unary("bitwise_count", np.bitwise_count, None, "np.bitwise_count({0})")
gcd_p = _binary("gcd", np.gcd, None, None, "np.gcd({0}, {1})", False)
lcm_p = _binary("lcm", np.lcm, None, None, "np.lcm({0}, {1})", False)
spacing_p = _unary("spacing", np.spacing, None, "np.spacing({0})")
frexp_exponent_p = _unary("frexp_exponent", _frexp_exponent, None, "np.frexp({0})[1]")


def bitwise_and(x: Any, y: Any) -> Any:
    return bind(bitwise_and_p, x, y)


def bitwise_or(x: Any, y: Any) -> Any:
    return bind(bitwise_or_p, x, y)


def bitwise_xor(x: Any, y: Any) -> Any:
    return bind(bitwise_xor_p, x, y)


def invert(x: Any) -> Any:
    return bind(invert_p, x)


def left_shift(x: Any, y: Any) -> Any:
    return bind(left_shift_p, x, y)


def right_shift(x: Any, y: Any) -> Any:
    return bind(right_shift_p, x, y)


def bitwise_count(x: Any) -> Any:
    return bind(bitwise_count_p, x)


def gcd(x: Any, y: Any) -> Any:
    return bind(gcd_p, x, y)


def lcm(x: Any, y: Any) -> Any:
    return bind(lcm_p, x, y)


def spacing(x: Any) -> Any:
    return bind(spacing_p, x)


def frexp_exponent(x: Any) -> Any:
    return bind(frexp_exponent_p, x)
