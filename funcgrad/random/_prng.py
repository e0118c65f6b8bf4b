"""Keys and raw bits: ``PRNGKey``, ``key``, ``key_data``, ``wrap_key_data``, ``split``,
``fold_in``, ``bits``, and the checks every sampler shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.primitives import random_bits as _rb

__all__ = ["PRNGKey", "key", "key_data", "wrap_key_data", "split", "fold_in", "bits"]

_U32 = np.dtype(np.uint32)
_IMPL = "threefry2x32"

# funcgrad's defaults are numpy's: float64 and int64 (JAX's with x64 on).
DEFAULT_FLOAT = np.dtype(np.float64)
DEFAULT_INT = np.dtype(np.int64)
DEFAULT_UINT = np.dtype(np.uint64)


def _shape_dtype(x: Any) -> tuple[tuple[int, ...], np.dtype]:
    if type(x) is Tracer:
        return tuple(x.shape), np.dtype(x.dtype)
    a = np.asarray(x)
    return a.shape, a.dtype


def check_key(name: str, key: Any, allow_batched: bool = False) -> Any:
    """A key is a uint32 array of shape (2,) (or (..., 2) where batches are allowed)."""
    if isinstance(key, np.ndarray) and key.shape == (2,) and key.dtype == _U32:
        return key  # the common case, checked quickly
    if type(key) is not Tracer:
        if isinstance(key, (list, tuple)):
            key = np.asarray(key)
        if not isinstance(key, (np.ndarray, np.generic)):
            raise LocatedTypeError(
                f"{name}: expected a PRNG key (a uint32 array of shape (2,)), got "
                f"{type(key).__name__}; make one with funcgrad.random.PRNGKey(seed)"
            )
    shape, dtype = _shape_dtype(key)
    if dtype != _U32 or len(shape) < 1 or shape[-1] != 2:
        raise LocatedTypeError(
            f"{name}: expected a PRNG key (a uint32 array of shape (2,)), got an array of "
            f"dtype {dtype} and shape {shape}; make one with funcgrad.random.PRNGKey(seed)"
        )
    if not allow_batched and len(shape) != 1:
        raise LocatedValueError(
            f"{name} accepts a single key (shape (2,)), but was given a key array of shape "
            f"{shape}. Use funcgrad.vmap to map over a batch of keys."
        )
    return key


def canonical_shape(name: str, shape: Any) -> tuple[int, ...]:
    """A static shape: a tuple of non-negative ints (an int is accepted as a 1-d shape)."""
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, checked quickly
    if type(shape) is int and shape >= 0:
        return (shape,)
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if type(shape) is Tracer or not isinstance(shape, (Sequence, np.ndarray)):
        raise LocatedTypeError(
            f"{name}: shape must be a tuple of ints, got {shape!r}"
            + (" (a traced value: shapes must be static)" if type(shape) is Tracer else "")
        )
    out = []
    for d in shape:
        if type(d) is Tracer or not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise LocatedTypeError(f"{name}: shape must be a tuple of ints, got {tuple(shape)!r}")
        if d < 0:
            raise LocatedValueError(
                f"{name}: shape must have non-negative sizes, got {tuple(shape)}"
            )
        out.append(int(d))
    return tuple(out)


def PRNGKey(seed: Any) -> Any:
    """A threefry2x32 key (a ``uint32[2]`` array) from an integer seed: the seed as a 64-bit
    integer split into its high and low 32-bit words (JAX's ``PRNGKey`` with x64 on).

    >>> import funcgrad.random as fr
    >>> fr.PRNGKey(42)
    Array([ 0, 42], dtype=uint32)
    """
    if type(seed) is not Tracer:
        if isinstance(seed, (bool, np.bool_)) or not isinstance(
            seed, (int, np.integer, np.ndarray)
        ):
            raise LocatedTypeError(
                f"PRNGKey: the seed must be an integer, got {type(seed).__name__}"
            )
        a = np.asarray(seed)
        if a.shape != ():
            raise LocatedTypeError(
                f"PRNGKey accepts a scalar seed, but was given an array of shape {a.shape}. "
                "Use funcgrad.vmap for batching."
            )
        if isinstance(seed, int) and not -(2**63) <= seed < 2**64:
            raise OverflowError(f"PRNGKey: the seed {seed} does not fit in 64 bits")
        if isinstance(seed, int):
            seed = np.uint64(seed) if seed >= 2**63 else np.int64(seed)
        return _rb.random_seed(seed)
    if seed.shape != ():
        raise LocatedTypeError(
            f"PRNGKey accepts a scalar seed, but was given an array of shape {seed.shape}. "
            "Use funcgrad.vmap for batching."
        )
    return _rb.random_seed(seed)


def key(seed: Any, *, impl: str | None = None) -> Any:
    """Same as :func:`PRNGKey`: funcgrad has no typed key arrays, keys are ``uint32[2]``.

    >>> import funcgrad.random as fr
    >>> fr.key(0)
    Array([0, 0], dtype=uint32)
    """
    _check_impl("key", impl)
    return PRNGKey(seed)


def _check_impl(name: str, impl: Any) -> None:
    if impl is not None and impl != _IMPL:
        raise LocatedNotImplementedError(
            f"{name}: only the threefry2x32 PRNG is implemented, got impl={impl!r}"
        )


def key_data(keys: Any) -> Any:
    """The ``uint32[..., 2]`` data of keys; keys are already plain arrays, so this checks and
    returns them.

    >>> import funcgrad.random as fr
    >>> fr.key_data(fr.PRNGKey(3))
    Array([0, 3], dtype=uint32)
    """
    return check_key("key_data", keys, allow_batched=True)


def wrap_key_data(key_bits_array: Any, *, impl: str | None = None) -> Any:
    """Keys from ``uint32[..., 2]`` data (checked, returned unchanged).

    >>> import numpy as np, funcgrad.random as fr
    >>> fr.wrap_key_data(np.array([0, 5], np.uint32))
    array([0, 5], dtype=uint32)
    """
    _check_impl("wrap_key_data", impl)
    return check_key("wrap_key_data", key_bits_array, allow_batched=True)


def split(key: Any, num: int | tuple[int, ...] = 2) -> Any:
    """``num`` new keys (shape ``(num, 2)``, or ``(*num, 2)`` for a tuple).

    >>> import funcgrad.random as fr
    >>> fr.split(fr.PRNGKey(0))
    Array([[1797259609, 2579123966],
           [ 928981903, 3453687069]], dtype=uint32)
    """
    key = check_key("split", key)
    shape = canonical_shape("split", num)
    return _rb.random_split(key, shape)


def fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and 32-bit integer ``data`` (taken modulo 2**32).

    >>> import funcgrad.random as fr
    >>> fr.fold_in(fr.PRNGKey(0), 7)
    Array([2716826189,  292468403], dtype=uint32)
    """
    key = check_key("fold_in", key)
    if type(data) is Tracer:
        if data.shape != ():
            raise LocatedTypeError(
                f"fold_in accepts a scalar, but was given an array of shape {data.shape}. "
                "Use funcgrad.vmap for batching."
            )
        if np.dtype(data.dtype).kind not in "iub":
            raise LocatedTypeError(f"fold_in: data must be an integer, got dtype {data.dtype}")
        data = data.astype(np.uint32)
    else:
        a = np.asarray(data)
        if a.shape != ():
            raise LocatedTypeError(
                f"fold_in accepts a scalar, but was given an array of shape {a.shape}. "
                "Use funcgrad.vmap for batching."
            )
        if a.dtype.kind not in "iub":
            raise LocatedTypeError(f"fold_in: data must be an integer, got {data!r}")
        data = np.uint32(int(a) & 0xFFFFFFFF)
    return _rb.random_fold_in(key, data)


def bits(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Uniform random bits of an unsigned dtype (default uint64).

    >>> import numpy as np, funcgrad.random as fr
    >>> fr.bits(fr.PRNGKey(0), (3,), np.uint32)
    Array([4070199207, 4202968722, 1427181096], dtype=uint32)
    """
    key = check_key("bits", key)
    dtype = DEFAULT_UINT if dtype is None else np.dtype(dtype)
    if dtype.kind != "u":
        raise LocatedValueError(
            f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}"
        )
    shape = canonical_shape("bits", shape)
    return _rb.random_bits(key, dtype.itemsize * 8, shape)
