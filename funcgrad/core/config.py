"""Runtime switches, JAX-style: ``funcgrad.config.update("debug_nans", True)``.

* ``debug_nans`` — raise ``FloatingPointError`` at the first primitive that produces a NaN,
  naming the primitive and the user's source line (eagerly, under every transform, and in
  ``jit``-compiled code).
* ``debug_infs`` — the same for ±inf.
* ``log_compiles`` — log (Python ``logging``, logger ``funcgrad.jit``, level WARNING) each jit
  trace/compile: the function, its abstract signature, the reason for the cache miss (which
  argument's shape, dtype, weak type or static value changed) and the time it took.
* ``jit_cache_size`` — how many compiled signatures each ``jit`` function keeps (least
  recently used ones are dropped; default 1024).
* ``random_backend`` — the kernels behind ``funcgrad.random.normal``: ``"numba"`` (compiled
  threefry + erf_inv, the ``[fast]`` extra), ``"numpy"`` (vectorised numpy, always available)
  or ``"auto"`` (the default: numba when it is importable). Both draw identical numbers.
* ``jit_backend`` — how ``jit`` runs fused runs of elementwise operations: ``"numpy"``
  (ufuncs writing into planned buffers), ``"numexpr"``, ``"numba"`` (one compiled loop per
  run, cached on disk; ~0.1–3 s to compile a kernel) or ``"auto"`` (default): a tiered jit.
  Each compiled signature first runs on numpy, which needs no compilation; once it is hot
  (``jit_promote_after``) and numba is installed, it is recompiled with numba kernels for
  its fused groups of at most 1024 elements (bigger ones stay on numpy, which is faster
  there) and later calls run that. ``jit(f).lower(x).source`` shows the code that runs
  now. numexpr is never picked by ``"auto"`` (slower than numpy single-threaded). A missing
  package falls back to numpy. Fused kernels may differ from numpy in the last bits
  (another order of operations, libm instead of numpy's SIMD functions, a fused sum
  accumulated in order instead of pairwise).
* ``jit_promote_after`` — seconds a signature of a ``jit_backend="auto"`` function runs on
  numpy (summed over its calls, estimated from one call in 8; the first call, which may
  pay one-time costs, is not counted) before it is recompiled with numba kernels (default
  2.0, about what compiling its kernels costs when they are not in the disk cache yet;
  0: at the second call; ``float("inf")``: never). Without numba, or when no fused group
  would gain, nothing is timed and nothing is recompiled.

Options under JAX's names are accepted so that ported programs run unchanged:

* ``jax_enable_x64`` — funcgrad always computes with numpy's dtypes, so 64-bit floats and
  ints are on from the start (the default dtype of ``funcgrad.numpy`` creation functions and
  of Python scalars is float64/int64, as in numpy; float32 inputs stay float32). ``True`` is
  therefore a no-op; ``False`` (JAX's 32-bit mode, which silently downcasts) is refused with a
  ``ValueError``: cast your inputs to float32 instead.
* ``jax_debug_nans``, ``jax_debug_infs``, ``jax_log_compiles`` — the same as ``debug_nans``,
  ``debug_infs``, ``log_compiles``.
* ``jax_platform_name``, ``jax_platforms`` — only ``"cpu"`` exists (numpy runs on the CPU).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError

__all__ = ["config", "update", "raise_if_nonfinite"]


class _Config:
    __slots__ = (
        "debug_nans",
        "debug_infs",
        "log_compiles",
        "jit_cache_size",
        "random_backend",
        "jit_backend",
        "jit_promote_after",
        "check_finite",
    )
    # option name -> (type, default)
    _OPTIONS: dict[str, tuple[type, Any]] = {
        "debug_nans": (bool, False),
        "debug_infs": (bool, False),
        "log_compiles": (bool, False),
        "jit_cache_size": (int, 1024),
        "random_backend": (str, "auto"),
        "jit_backend": (str, "auto"),
        "jit_promote_after": (float, 2.0),
    }
    _CHOICES = {"jit_backend": ("auto", "numpy", "numexpr", "numba")}
    _JAX_ALIASES = {
        "jax_debug_nans": "debug_nans",
        "jax_debug_infs": "debug_infs",
        "jax_log_compiles": "log_compiles",
    }
    _JAX_ACCEPTED = ("jax_enable_x64", "jax_platform_name", "jax_platforms")

    def __init__(self) -> None:
        self.debug_nans = False
        self.debug_infs = False
        self.log_compiles = False
        # compiled signatures kept per jit function (least recently used ones are dropped)
        self.jit_cache_size = 1024
        self.random_backend = "auto"  # "auto" | "numpy" | "numba" (see _check_random_backend)
        self.jit_backend = "auto"  # fused elementwise groups: auto / numpy / numexpr / numba
        # "auto": seconds of numpy run time per signature before recompiling with numba
        self.jit_promote_after = 2.0
        # derived: True when any output check is on; read by the tracer on every bind
        self.check_finite = False

    def update(self, name: str, value: Any) -> None:
        """Set an option by name.

        >>> from funcgrad import config
        >>> config.update("jit_cache_size", 64); config.jit_cache_size
        64
        >>> config.update("jit_cache_size", 1024)
        """
        name = self._JAX_ALIASES.get(name, name)
        if name == "jax_enable_x64":
            if value not in (True, 1):
                raise LocatedValueError(
                    "funcgrad always uses 64-bit types where numpy does (float64 by default); "
                    "it has no 32-bit mode. Instead of jax_enable_x64=False, create float32 "
                    "arrays (x.astype(np.float32)): operations keep the inputs' dtype."
                )
            return
        if name in ("jax_platform_name", "jax_platforms"):
            if str(value).lower() != "cpu":
                raise LocatedValueError(
                    f"config {name}={value!r}: funcgrad runs on numpy, on the CPU only; use 'cpu'"
                )
            return
        if name not in self._OPTIONS:
            options = list(self._OPTIONS) + list(self._JAX_ALIASES) + list(self._JAX_ACCEPTED)
            raise LocatedValueError(f"unknown config option {name!r}; options: {options}")
        if name == "random_backend":
            value = _check_random_backend(value)
        kind, _ = self._OPTIONS[name]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LocatedTypeError(f"config option {name} takes a positive int, got {value!r}")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LocatedTypeError(
                    f"config option {name} takes a number of seconds, got {value!r}"
                )
            if not value >= 0:  # (also refuses NaN)
                raise LocatedValueError(
                    f"config option {name} takes seconds >= 0 (0: at the second call, "
                    f"float('inf'): never), got {value!r}"
                )
            value = float(value)
        elif not isinstance(value, kind):
            raise LocatedTypeError(f"config option {name} takes a {kind.__name__}, got {value!r}")
        if name in self._CHOICES and value not in self._CHOICES[name]:
            raise LocatedValueError(
                f"config option {name} is one of {self._CHOICES[name]}, got {value!r}"
            )
        setattr(self, name, value)
        self.check_finite = self.debug_nans or self.debug_infs

    @property
    def jax_enable_x64(self) -> bool:
        """Always True: 64-bit types are always available (see the module docstring)."""
        return True

    def __repr__(self) -> str:
        opts = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._OPTIONS)
        return f"config({opts})"


def _check_random_backend(value: Any) -> Any:
    """``random_backend``: "auto", "numpy" or "numba"; "numba" needs numba importable."""
    if isinstance(value, str) and value not in ("auto", "numpy", "numba"):
        raise LocatedValueError(
            f"config option random_backend takes 'auto', 'numpy' or 'numba', got {value!r}"
        )
    if value == "numba":
        import importlib.util

        if importlib.util.find_spec("numba") is None:
            raise ImportError(
                "config random_backend='numba' needs numba (pip install funcgrad[fast]); "
                "'auto' uses numba when it is installed and numpy otherwise"
            )
    return value


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
