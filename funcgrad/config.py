"""Runtime switches, JAX-style: ``funcgrad.config.update("debug_nans", True)``.

* ``debug_nans`` — raise ``FloatingPointError`` at the first primitive that produces a NaN,
  naming the primitive and the user's source line (eagerly, under every transform, and in
  ``jit``-compiled code).
* ``debug_infs`` — the same for ±inf.
* ``log_compiles`` — log (Python ``logging``, logger ``funcgrad.jit``, level WARNING) each jit
  trace/compile: the function, its abstract signature, the reason for the cache miss (which
  argument's shape, dtype, weak type or static value changed) and the time it took.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["config", "update", "raise_if_nonfinite"]


class _Config:
    __slots__ = ("debug_nans", "debug_infs", "log_compiles")

    def __init__(self) -> None:
        self.debug_nans = False
        self.debug_infs = False
        self.log_compiles = False

    def update(self, name: str, value: Any) -> None:
        """Set a switch by name."""
        if name not in self.__slots__:
            raise ValueError(f"unknown config option {name!r}; options: {list(self.__slots__)}")
        if not isinstance(value, bool):
            raise TypeError(f"config option {name} takes a bool, got {value!r}")
        setattr(self, name, value)
        from funcgrad import tracer

        tracer._set_debug(self.debug_nans or self.debug_infs)

    def __repr__(self) -> str:
        return (
            f"config(debug_nans={self.debug_nans}, debug_infs={self.debug_infs}, "
            f"log_compiles={self.log_compiles})"
        )


config = _Config()
update = config.update


def raise_if_nonfinite(x: Any, prim_name: str, src: Any) -> None:
    """Raise FloatingPointError if ``x`` has a NaN (debug_nans) or an inf (debug_infs)."""
    dt = getattr(x, "dtype", None)
    if dt is None or dt.kind not in "fc":
        return
    where = f" at {os.path.basename(src[0])}:{src[1]}" if src else ""
    if config.debug_nans and np.isnan(x).any():
        raise FloatingPointError(
            f"debug_nans: primitive '{prim_name}'{where} produced a NaN. Check its inputs "
            "there (log/sqrt of negatives, 0/0, inf - inf)."
        )
    if config.debug_infs and np.isinf(x).any():
        raise FloatingPointError(
            f"debug_infs: primitive '{prim_name}'{where} produced an inf (overflow or "
            "division by zero)."
        )
