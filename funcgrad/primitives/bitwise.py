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

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.tracer import bind
from funcgrad.primitives.base import Primitive
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


def _op1(name: str, fn: Callable[..., Any], emit: str) -> tuple[Primitive, Callable[..., Any]]:
    """A unary primitive ``name`` (no derivative) and the function that binds it."""
    p = _unary(name, fn, None, emit)

    def op(x: Any) -> Any:
        return bind(p, x)

    op.__name__ = op.__qualname__ = name
    return p, op


def _op2(name: str, fn: Callable[..., Any], emit: str) -> tuple[Primitive, Callable[..., Any]]:
    """A binary primitive ``name`` (no derivative) and the function that binds it."""
    p = _binary(name, fn, None, None, emit, False)

    def op(x: Any, y: Any) -> Any:
        return bind(p, x, y)

    op.__name__ = op.__qualname__ = name
    return p, op


# One row a primitive: its Primitive, the function binding it = _op<arity>(name, numpy's
# kernel, the expression jit emits for it).
bitwise_and_p, bitwise_and = _op2("bitwise_and", np.bitwise_and, "({0} & {1})")
bitwise_or_p, bitwise_or = _op2("bitwise_or", np.bitwise_or, "({0} | {1})")
bitwise_xor_p, bitwise_xor = _op2("bitwise_xor", np.bitwise_xor, "({0} ^ {1})")
invert_p, invert = _op1("invert", np.invert, "np.invert({0})")
left_shift_p, left_shift = _op2("left_shift", np.left_shift, "np.left_shift({0}, {1})")
right_shift_p, right_shift = _op2("right_shift", np.right_shift, "np.right_shift({0}, {1})")
bitwise_count_p, bitwise_count = _op1("bitwise_count", np.bitwise_count, "np.bitwise_count({0})")
gcd_p, gcd = _op2("gcd", np.gcd, "np.gcd({0}, {1})")
lcm_p, lcm = _op2("lcm", np.lcm, "np.lcm({0}, {1})")
spacing_p, spacing = _op1("spacing", np.spacing, "np.spacing({0})")
frexp_exponent_p, frexp_exponent = _op1("frexp_exponent", _frexp_exponent, "np.frexp({0})[1]")
