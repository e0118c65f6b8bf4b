"""Counter-based random bits: the threefry2x32 hash and the key-level operations built on it.

A key is a plain ``uint32`` array whose last axis has length 2 (JAX's "raw" threefry2x32 key);
leading axes hold batches of keys (what ``split`` returns and ``vmap`` maps over). Every
primitive here is integer-valued (``differentiable=False``) and vectorised in numpy over all
keys and counters at once. The algorithms are those of JAX's default PRNG with
``jax_threefry_partitionable`` on (the default since JAX 0.5):

* ``threefry2x32(k1, k2, x1, x2)`` — the Threefry-2x32 block cipher, 20 rounds (Salmon et al.,
  "Parallel random numbers: as easy as 1, 2, 3", SC 2011), broadcasting its four operands;
* ``random_seed(seed)`` — ``[seed >> 32, seed & 0xFFFFFFFF]`` of a 64-bit integer seed;
* ``random_bits(keys, bit_width, shape)`` — hash the counters ``0 .. prod(shape) - 1`` (as
  64-bit numbers split into high and low words); 32-bit draws are ``y1 ^ y2``, 64-bit draws
  ``y1 << 32 | y2``, 8/16-bit draws the low bits of ``y1 ^ y2``;
* ``random_split(keys, shape)`` — the same hash of the counters, both words kept as new keys;
* ``random_fold_in(keys, data)`` — ``threefry2x32(k1, k2, 0, data)``;
* ``random_unit_float(bits, dtype)`` — mantissa bits to a float in ``[0, 1)``: the top ``nmant``
  bits with exponent of 1.0, minus 1.0.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from funcgrad.core.config import config
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import batch_size, define
from funcgrad.primitives.structural import broadcast_in_dim, moveaxis_to_front, reshape

__all__ = [
    "threefry2x32",
    "threefry2x32_p",
    "random_seed",
    "random_bits",
    "random_split",
    "random_fold_in",
    "random_unit_float",
    "threefry_np",
    "bits_np",
    "split_np",
    "unit_float_np",
]

_U32 = np.dtype(np.uint32)
_UINT = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32, 64: np.dtype(np.uint64)}
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


# --- numpy kernels (also used directly by the gamma sampler's loops) ---------------------------
# Every constant operand is a 0-d array: numpy converts a numpy scalar on each ufunc call, which
# costs about as much as the arithmetic on 1000 elements (a 0-d array is used as is).
_ROT_0D = [(np.array(r, _U32), np.array(32 - r, _U32)) for i in range(5) for r in _ROTATIONS[i % 2]]
_LITTLE = sys.byteorder == "little"
_SMALL = 64  # up to this many blocks, Python big integers (SWAR) beat ~110 numpy calls
_SMALL_ONE_KEY = 192  # the same for one key's counters (no packing of numpy arrays)
_M32 = 0xFFFFFFFF
_SHIFT_F64 = np.array(12, np.uint64)
_ONE_BITS_F64 = np.array(0x3FF0000000000000, np.uint64)


_LANES: dict[int, tuple[int, int]] = {}  # m -> (a 1 in each of m 64-bit lanes, 0..m-1 in them)
_LE64 = np.dtype("<u8")
_LE32 = np.dtype("<u4")


def _lanes(m: int) -> tuple[int, int]:
    c = _LANES.get(m)
    if c is None:
        ones = int.from_bytes(np.ones(m, np.uint64).astype(_LE64).tobytes(), "little")
        iota = int.from_bytes(np.arange(m, dtype=np.uint64).astype(_LE64).tobytes(), "little")
        c = _LANES[m] = (ones, iota)
    return c


def _pack(v: Any) -> int:
    """uint32 values as one Python int, value ``i`` in bits ``64 i .. 64 i + 31``."""
    return int.from_bytes(np.ascontiguousarray(v, _LE64).tobytes(), "little")


def _unpack(x: int, m: int, dtype: np.dtype) -> np.ndarray:
    """The ``8 m`` bytes of ``x`` (little-endian) as a writable native array of ``dtype``."""
    buf = bytearray(x.to_bytes(8 * m, "little"))
    if _LITTLE:
        return np.frombuffer(buf, dtype)
    return np.frombuffer(buf, _LE64 if dtype.itemsize == 8 else _LE32).astype(dtype)


def _threefry_packed(k1: int, k2: int, x1: int, x2: int, ones: int) -> tuple[int, int]:
    """Threefry-2x32 of many blocks at once on Python ints (SWAR): block ``i`` lives in bits
    ``64 i .. 64 i + 31`` of one integer per word (``ones`` has a 1 in each lane), the 32 bits
    above each are a gap that every step masks away (carries of additions, bits rotated out).
    150 big-integer operations for all blocks: for up to ~64 blocks (split, fold_in, small
    draws) this beats ~110 numpy calls."""
    mask = 0xFFFFFFFF * ones
    k3 = k1 ^ k2 ^ (0x1BD11BDA * ones)
    a = (x1 + k1) & mask
    b = (x2 + k2) & mask
    # five groups of four rounds, rotations (13, 15, 26, 6) / (17, 29, 16, 24), unrolled
    for ra, rb, rc, rd, ia, ib in (
        (13, 15, 26, 6, k2, k3 + ones),
        (17, 29, 16, 24, k3, k1 + 2 * ones),
        (13, 15, 26, 6, k1, k2 + 3 * ones),
        (17, 29, 16, 24, k2, k3 + 4 * ones),
        (13, 15, 26, 6, k3, k1 + 5 * ones),
    ):
        a = (a + b) & mask
        b = (((b << ra) | (b >> (32 - ra))) & mask) ^ a
        a = (a + b) & mask
        b = (((b << rb) | (b >> (32 - rb))) & mask) ^ a
        a = (a + b) & mask
        b = (((b << rc) | (b >> (32 - rc))) & mask) ^ a
        a = (a + b) & mask
        b = (((b << rd) | (b >> (32 - rd))) & mask) ^ a
        a = (a + ia) & mask
        b = (b + ib) & mask
    return a, b


def _threefry_lanes(k1: Any, k2: Any, x1: Any, x2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 of flat uint32 arrays of equal length ``m`` via :func:`_threefry_packed`."""
    m = len(k1)
    a, b = _threefry_packed(_pack(k1), _pack(k2), _pack(x1), _pack(x2), _lanes(m)[0])
    y1 = _unpack(a, m, np.dtype(np.uint64)).astype(_U32)
    y2 = _unpack(b, m, np.dtype(np.uint64)).astype(_U32)
    return y1, y2


def _counter_lanes(keys: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """For one key and at most ``_SMALL_ONE_KEY`` counters (numpy back end): the hashes of
    counters ``0..n-1`` (see :func:`_threefry_packed`) and ``n``; None otherwise."""
    if keys.ndim != 1:
        return None
    n = 1
    for d in shape:
        n *= d
    if n > _SMALL_ONE_KEY or (n > 1 and _numba_kernels() is not None):
        return None
    ones, iota = _lanes(n)
    k1, k2 = keys.tolist()
    a, b = _threefry_packed(k1 * ones, k2 * ones, 0, iota, ones)
    return a, b, n


def threefry_np(k1: Any, k2: Any, x1: Any, x2: Any) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 (20 rounds) of counters ``(x1, x2)`` under keys ``(k1, k2)``; all uint32,
    broadcast together. Returns two new uint32 arrays."""
    k1 = np.asarray(k1, _U32)
    k2 = np.asarray(k2, _U32)
    shape = np.broadcast_shapes(k1.shape, k2.shape, np.shape(x1), np.shape(x2))
    if int(np.prod(shape)) <= _SMALL:
        flat = [np.broadcast_to(v, shape).ravel() for v in (k1, k2, x1, x2)]
        y1, y2 = _threefry_lanes(*flat)
        return y1.reshape(shape), y2.reshape(shape)
    a = np.empty(shape, _U32)
    b = np.empty(shape, _U32)
    np.add(x1, k1, a)
    np.add(x2, k2, b)
    _threefry_rounds(a, b, _injections(k1, k2), a, b)
    return a, b


def _injections(k1: np.ndarray, k2: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The key words added after each group of four rounds (0-d arrays for one key)."""
    if k1.ndim == 0 and k2.ndim == 0:
        w = (int(k1), int(k2))
        ks = (w[0], w[1], w[0] ^ w[1] ^ 0x1BD11BDA)
        words = [(ks[(i + 1) % 3], (ks[(i + 2) % 3] + i + 1) & _M32) for i in range(5)]
        return list(np.array(words, _U32).reshape(5, 2, 1))  # length-1 views: one allocation
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    return [(ks[(i + 1) % 3], ks[(i + 2) % 3] + np.uint32(i + 1)) for i in range(5)]


_SCRATCH = threading.local()
_SCRATCH_MAX = 1 << 20  # elements kept per thread and slot


def scratch(slot: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A per-thread temporary of ``shape`` (contents undefined) for kernels' intermediates:
    fresh large arrays cost a page fault per 4 KiB on every call, reused ones do not. A
    ``slot`` holds one live buffer: never return it, never use one slot twice at once."""
    size = 1
    for d in shape:
        size *= d
    dtype = np.dtype(dtype)
    if size > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    key = slot + dtype.char
    buf = getattr(_SCRATCH, key, None)
    if buf is None or buf.shape[0] < size:
        buf = np.empty(max(size, 4096), dtype)
        setattr(_SCRATCH, key, buf)
    return buf[:size].reshape(shape)


def _threefry_rounds(a: np.ndarray, b: np.ndarray, inject: list, out_a: Any, out_b: Any) -> None:
    """The 20 rounds on ``a = x1 + k1``, ``b = x2 + k2`` in place (five ufunc calls a round,
    all with ``out=``); the last key injection writes to ``out_a``/``out_b`` (which may be
    strided views, e.g. the two halves of 64-bit words)."""
    add, shl, shr = np.add, np.left_shift, np.right_shift
    bor, bxor = np.bitwise_or, np.bitwise_xor
    t = scratch("rot", b.shape, _U32)
    rots = _ROT_0D
    for i in range(5):
        for j in range(4 * i, 4 * i + 4):
            r, rr = rots[j]
            add(a, b, a)
            shl(b, r, t)
            shr(b, rr, b)
            bor(b, t, b)
            bxor(b, a, b)
        ia, ib = inject[i]
        if i == 4:
            add(a, ia, out_a)
            add(b, ib, out_b)
        else:
            add(a, ia, a)
            add(b, ib, b)


def _hash_counters(keys: np.ndarray, shape: tuple[int, ...], out_a: Any = None,
                   out_b: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Threefry of the counters ``0 .. prod(shape) - 1`` (64-bit numbers: high, low words)
    under each key of ``keys[..., 2]``: two uint32 arrays of shape ``keys.shape[:-1] + shape``
    (or written into ``out_a``, ``out_b`` of that shape)."""
    full = keys.shape[:-1] + shape
    n = 1
    for d in shape:
        n *= d
    total = n * (keys.size // 2)
    nb = None if total <= 1 else _numba_kernels()
    if nb is None and total <= _SMALL and n <= 2**32:
        kk = keys.reshape(-1, 2)
        idx = np.arange(n, dtype=_U32)
        y1, y2 = _threefry_lanes(
            np.repeat(kk[:, 0], n),
            np.repeat(kk[:, 1], n),
            np.zeros(total, _U32),
            np.tile(idx, len(kk)),
        )
        if out_a is None:
            return y1.reshape(full), y2.reshape(full)
        out_a[...] = y1.reshape(full)
        out_b[...] = y2.reshape(full)
        return out_a, out_b
    if nb is not None:
        y1, y2 = nb.hash_counters(keys.reshape(-1, 2), n)
        if out_a is None:
            return y1.reshape(full), y2.reshape(full)
        out_a[...] = y1.reshape(full)
        out_b[...] = y2.reshape(full)
        return out_a, out_b
    hi, lo = _counters(shape)
    k1, k2 = _key_words(keys, len(shape))
    fresh = out_a is None  # results returned: fresh arrays; else temporaries
    a = np.empty(full, _U32) if fresh else scratch("a", full, _U32)
    b = np.empty(full, _U32) if fresh else scratch("b", full, _U32)
    np.add(hi, k1, a)
    np.add(lo, k2, b)
    _threefry_rounds(
        a, b, _injections(k1, k2), a if out_a is None else out_a, b if out_b is None else out_b
    )
    return (a if out_a is None else out_a), (b if out_b is None else out_b)


def _counters(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The flat index of each element of ``shape`` as a 64-bit number: (high, low) words."""
    n = 1
    for d in shape:
        n *= d
    if n > 2**64:
        raise LocatedValueError(f"random bits: an array of {n} elements exceeds 2**64 counters")
    if n <= 2**32:
        lo = np.arange(n, dtype=_U32).reshape(shape)
        return np.zeros((), _U32), lo
    idx = np.arange(n, dtype=np.uint64).reshape(shape)
    return (idx >> np.uint64(32)).astype(_U32), (idx & np.uint64(0xFFFFFFFF)).astype(_U32)


def _key_words(keys: np.ndarray, extra: int) -> tuple[np.ndarray, np.ndarray]:
    """The two key words of ``keys[..., 2]`` with ``extra`` trailing singleton axes."""
    if keys.ndim == 1:
        return keys[0:1].reshape(()), keys[1:2].reshape(())
    tail = (1,) * extra
    k1 = keys[..., 0].reshape(keys.shape[:-1] + tail)
    k2 = keys[..., 1].reshape(keys.shape[:-1] + tail)
    return k1, k2


_numba_module: list[Any] = []  # [module or None], filled on first use


def _numba_kernels() -> Any:
    """``funcgrad.primitives._random_numba`` when ``config.random_backend`` selects numba
    ("numba", or "auto" with numba installed; imported on first use), else None."""
    if config.random_backend == "numpy":
        return None
    if not _numba_module:
        try:
            from funcgrad.primitives import _random_numba
        except ImportError:  # "auto" without numba: numpy ("numba" was checked by config)
            _random_numba = None  # type: ignore[assignment]
        _numba_module.append(_random_numba)
    return _numba_module[0]


def bits64_words(keys: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """64-bit draws ``y1 << 32 | y2`` of shape ``keys.shape[:-1] + shape``, the two hashed
    words written straight into the halves of the uint64 result."""
    full = keys.shape[:-1] + shape
    out = np.empty(full, np.uint64)
    if _LITTLE:
        words = out.reshape(-1).view(_U32).reshape(full + (2,))
        _hash_counters(keys, shape, words[..., 1], words[..., 0])
        return out
    y1, y2 = _hash_counters(keys, shape)
    np.left_shift(y1, np.uint64(32), out, dtype=np.uint64)
    np.bitwise_or(out, y2, out, dtype=np.uint64)
    return out


def bits_np(keys: Any, bit_width: int, shape: tuple[int, ...]) -> np.ndarray:
    """``random_bits`` in numpy: uint{bit_width} of shape ``keys.shape[:-1] + shape``."""
    keys = np.asarray(keys, _U32)
    lanes = _counter_lanes(keys, shape)
    if lanes is not None:
        a, b, n = lanes
        if bit_width == 64:
            return _unpack((a << 32) | b, n, np.dtype(np.uint64)).reshape(shape)
        words = _unpack(a ^ b, n, np.dtype(np.uint64))
        return words.astype(_UINT[bit_width]).reshape(shape)
    if bit_width == 64:
        return bits64_words(keys, shape)
    y1, y2 = _hash_counters(keys, shape)
    np.bitwise_xor(y1, y2, y1)
    return y1 if bit_width == 32 else y1.astype(_UINT[bit_width])


def split_np(keys: Any, shape: tuple[int, ...]) -> np.ndarray:
    keys = np.asarray(keys, _U32)
    lanes = _counter_lanes(keys, shape)
    if lanes is not None:
        a, b, n = lanes
        return _unpack(a | (b << 32), n, np.dtype(np.uint32)).reshape(shape + (2,))
    full = keys.shape[:-1] + shape
    out = np.empty(full + (2,), _U32)
    _hash_counters(keys, shape, out[..., 0], out[..., 1])
    return out


def _fold_in_np(keys: Any, data: Any) -> np.ndarray:
    keys = np.asarray(keys, _U32)
    data = np.asarray(data, _U32)
    y1, y2 = threefry_np(keys[..., 0], keys[..., 1], np.uint32(0), data)
    return np.stack([y1, y2], axis=-1)


def _seed_np(seed: Any) -> np.ndarray:
    """64-bit seeds split into two words; seeds of 32 bits or fewer have a zero high word (a
    negative int32 seed is its two's complement in the low word only, as in JAX)."""
    s = np.asarray(seed)
    if s.dtype.itemsize <= 4:
        s = (s.astype(np.int64) & 0xFFFFFFFF).astype(np.uint64)
    elif s.dtype.kind == "u":
        s = s.astype(np.uint64)
    else:
        s = s.astype(np.int64).view(np.uint64)
    hi = (s >> np.uint64(32)).astype(_U32)
    lo = (s & np.uint64(0xFFFFFFFF)).astype(_U32)
    return np.stack([hi, lo], axis=-1)


_FLOAT_LAYOUT = {  # nbits, nmant, bits of 1.0
    np.dtype(np.float16): (16, 10, 0x3C00),
    np.dtype(np.float32): (32, 23, 0x3F800000),
    np.dtype(np.float64): (64, 52, 0x3FF0000000000000),
}


def unit_float_np(bits: Any, dtype: Any) -> np.ndarray:
    """Floats in ``[0, 1)`` from unsigned bits of the float's width (JAX's ``_uniform``)."""
    dtype = np.dtype(dtype)
    nbits, nmant, one = _FLOAT_LAYOUT[dtype]
    u = _UINT[nbits]
    b = np.asarray(bits, u) >> u.type(nbits - nmant)
    b |= u.type(one)
    out = b.view(dtype)
    out -= dtype.type(1.0)
    return out


# --- shape rules and batching -------------------------------------------------------------------
def _check_keys(name: str, k: ShapedArray) -> None:
    if k.dtype != _U32 or k.ndim < 1 or k.shape[-1] != 2:
        raise LocatedTypeError(
            f"{name}: expected a key array of dtype uint32 with last axis 2, got {k}; make "
            "keys with funcgrad.random.PRNGKey(seed) or funcgrad.random.split(key)"
        )


def _static_shape(name: str, shape: Any) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in shape)
    except TypeError:
        raise LocatedTypeError(f"{name}: shape must be a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in out):
        raise LocatedValueError(f"{name}: shape must have non-negative sizes, got {out}")
    return out


def _front_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    """Batching rule for key-level primitives: keys carry leading batch axes already."""
    size = batch_size(args, dims)
    moved = []
    for a, d in zip(args, dims):
        if d is None:
            s = tuple(np.shape(a))
            a = broadcast_in_dim(a, (size, *s), tuple(range(1, len(s) + 1)))
        else:
            a = moveaxis_to_front(a, d)
        moved.append(a)
    return bind(prim, *moved, **params), 0


# --- threefry2x32 -------------------------------------------------------------------------------
def threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> list[Any]:
    """The Threefry-2x32 hash of counter words ``(x1, x2)`` under key words ``(k1, k2)``
    (uint32 operands, broadcast together); returns the two hashed words."""
    return bind(threefry2x32_p, k1, k2, x1, x2)


def _threefry_shape(*avals: ShapedArray) -> list[ShapedArray]:
    for a in avals:
        if a.dtype != _U32:
            raise LocatedTypeError(f"threefry2x32: operands must be uint32 arrays, got {a}")
    try:
        shape = np.broadcast_shapes(*[a.shape for a in avals])
    except ValueError:
        raise LocatedValueError(
            "threefry2x32: operand shapes " + ", ".join(str(a) for a in avals) + " do not "
            "broadcast together"
        ) from None
    return [ShapedArray(shape, _U32)] * 2


def _threefry_batch(prim: Any, args: Any, dims: Any) -> tuple[Any, list[int]]:
    ranks = [np.ndim(a) - (d is not None) for a, d in zip(args, dims)]
    rank = max(ranks)
    new = []
    for a, d, r in zip(args, dims, ranks):
        if d is not None:
            a = moveaxis_to_front(a, d)
            s = tuple(np.shape(a))
            a = reshape(a, (s[0],) + (1,) * (rank - r) + s[1:])
        new.append(a)
    return bind(prim, *new), [0, 0]


threefry2x32_p = define(
    "threefry2x32",
    lambda k1, k2, x1, x2: list(threefry_np(k1, k2, x1, x2)),
    _threefry_shape,
    batch=_threefry_batch,
    multiple_results=True,
    differentiable=False,
    fresh=True,
)


# --- random_seed --------------------------------------------------------------------------------
def random_seed(seed: Any) -> Any:
    """uint32 key(s) ``[seed >> 32, seed & 0xFFFFFFFF]`` of integer seed(s) (shape + (2,))."""
    return bind(random_seed_p, seed)


def _seed_shape(s: ShapedArray) -> ShapedArray:
    if s.dtype.kind not in "iu":
        raise LocatedTypeError(f"PRNGKey: the seed must be an integer, got {s}")
    return ShapedArray(s.shape + (2,), _U32)


random_seed_p = define(
    "random_seed",
    _seed_np,
    _seed_shape,
    batch=lambda prim, args, dims: (bind(prim, moveaxis_to_front(args[0], dims[0])), 0),
    differentiable=False,
    fresh=True,
)


# --- random_bits --------------------------------------------------------------------------------
def random_bits(keys: Any, bit_width: int, shape: tuple[int, ...]) -> Any:
    """Uniform random bits ``uint{bit_width}[*keys.shape[:-1], *shape]``."""
    return bind(random_bits_p, keys, bit_width=bit_width, shape=tuple(shape))


def _bits_shape(k: ShapedArray, *, bit_width: int, shape: tuple[int, ...]) -> ShapedArray:
    _check_keys("random_bits", k)
    if bit_width not in _UINT:
        raise LocatedValueError(f"random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    return ShapedArray(k.shape[:-1] + _static_shape("random_bits", shape), _UINT[bit_width])


random_bits_p = define(
    "random_bits",
    bits_np,
    _bits_shape,
    batch=_front_batch,
    differentiable=False,
    fresh=True,
)


# --- random_split -------------------------------------------------------------------------------
def random_split(keys: Any, shape: tuple[int, ...]) -> Any:
    """New keys ``uint32[*keys.shape[:-1], *shape, 2]``."""
    return bind(random_split_p, keys, shape=tuple(shape))


def _split_shape(k: ShapedArray, *, shape: tuple[int, ...]) -> ShapedArray:
    _check_keys("split", k)
    return ShapedArray(k.shape[:-1] + _static_shape("split", shape) + (2,), _U32)


random_split_p = define(
    "random_split",
    split_np,
    _split_shape,
    batch=_front_batch,
    differentiable=False,
    fresh=True,
)


# --- random_fold_in -----------------------------------------------------------------------------
def random_fold_in(keys: Any, data: Any) -> Any:
    """Keys ``threefry2x32(k, [0, data])``: ``keys[..., 2]`` with uint32 ``data[...]``."""
    return bind(random_fold_in_p, keys, data)


def _fold_in_shape(k: ShapedArray, d: ShapedArray) -> ShapedArray:
    _check_keys("fold_in", k)
    if d.dtype != _U32 or d.shape != k.shape[:-1]:
        raise LocatedTypeError(f"fold_in: data must be uint32 of shape {k.shape[:-1]}, got {d}")
    return ShapedArray(k.shape, _U32)


random_fold_in_p = define(
    "random_fold_in",
    _fold_in_np,
    _fold_in_shape,
    batch=_front_batch,
    differentiable=False,
    fresh=True,
)


# --- random_unit_float --------------------------------------------------------------------------
def random_unit_float(bits: Any, dtype: Any) -> Any:
    """Floats in ``[0, 1)`` of ``dtype`` from unsigned bits of the same width."""
    return bind(random_unit_float_p, bits, dtype=np.dtype(dtype))


def _unit_float_shape(b: ShapedArray, *, dtype: np.dtype) -> ShapedArray:
    if dtype not in _FLOAT_LAYOUT:
        raise LocatedTypeError(f"uniform: dtype must be float16, float32 or float64, got {dtype}")
    if b.dtype != _UINT[_FLOAT_LAYOUT[dtype][0]]:
        raise LocatedTypeError(
            f"random_unit_float: {dtype} needs {dtype.itemsize * 8}-bit bits, got {b}"
        )
    return ShapedArray(b.shape, dtype)


random_unit_float_p = define(
    "random_unit_float",
    unit_float_np,
    _unit_float_shape,
    batch=lambda prim, args, dims, **p: (bind(prim, args[0], **p), dims[0]),
    differentiable=False,
    fresh=True,
)
