"""Helpers shared by the distributions of ``funcgrad.scipy.stats`` (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedTypeError
from funcgrad.core.tracer import Tracer

LOG_2PI = math.log(2.0 * math.pi)
LOG_PI = math.log(math.pi)
NEG_INF = -np.inf


def f(*xs: Any) -> Any:
    """Operands as float arrays or tracers (ints/bools -> float64), one or a tuple."""
    out = []
    for x in xs:
        x = x if type(x) is Tracer else np.asarray(x)
        if x.dtype.kind == "c":
            raise LocatedTypeError(f"complex inputs are not supported here (got dtype {x.dtype})")
        if x.dtype.kind != "f":
            x = fnp.astype(x, np.float64)
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def standardize(x: Any, loc: Any, scale: Any) -> tuple[Any, Any, Any]:
    """``(y, loc, scale)`` with ``y = (x - loc) / scale``, all floats."""
    x, loc, scale = f(x, loc, scale)
    return (x - loc) / scale, loc, scale


def safe(cond: Any, x: Any, fill: float) -> Any:
    """``x`` where ``cond``, ``fill`` elsewhere: keeps the masked-out branch finite so that
    its derivative (multiplied by 0 in ``where``'s rule) does not turn into NaN."""
    return fnp.where(cond, x, fill)


def is_int(k: Any) -> Any:
    return k == fnp.floor(k)
