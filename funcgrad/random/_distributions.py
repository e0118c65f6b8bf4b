"""The samplers, written with ``funcgrad.numpy`` / ``funcgrad.lax`` on top of the bit
primitives, following JAX's algorithms step by step so that the numbers are JAX's (x64 on)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import lax as _lax
from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.tracer import Tracer
from funcgrad.primitives import random_bits as _rb
from funcgrad.primitives import random_special as _rs
from funcgrad.random._prng import (
    DEFAULT_FLOAT,
    DEFAULT_INT,
    canonical_shape,
    check_key,
    split,
)

__all__ = [
    "uniform",
    "normal",
    "truncated_normal",
    "bernoulli",
    "randint",
    "choice",
    "permutation",
    "categorical",
    "gumbel",
    "exponential",
    "laplace",
    "logistic",
    "cauchy",
    "rademacher",
    "gamma",
    "loggamma",
    "beta",
    "dirichlet",
    "t",
    "chisquare",
    "poisson",
    "binomial",
    "geometric",
    "multivariate_normal",
    "orthogonal",
    "ball",
    "weibull_min",
    "pareto",
    "maxwell",
    "double_sided_maxwell",
    "generalized_normal",
    "lognormal",
    "f",
    "triangular",
    "rayleigh",
    "wald",
    "multinomial",
]

Shape = Sequence[int]
_ONE32 = np.float32(1)  # JAX's default sigma for lognormal


def _quiet(fn: Any) -> Any:
    """Run a sampler with numpy's floating-point warnings off: JAX's rejection samplers compute
    ``log(0)`` and ``x / 0`` in lanes whose results are then discarded by a select."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)

    return wrapper


# --- shared helpers ---------------------------------------------------------------------------
def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if type(x) is Tracer else np.shape(x)


def _dtype_of(x: Any) -> np.dtype:
    if type(x) is Tracer:
        return np.dtype(x.dtype)
    if isinstance(x, bool):
        return np.dtype(bool)
    if isinstance(x, int):
        return DEFAULT_INT
    if isinstance(x, float):
        return DEFAULT_FLOAT
    return np.asarray(x).dtype


def _float_dtype(name: str, dtype: Any) -> np.dtype:
    dt = DEFAULT_FLOAT if dtype is None else np.dtype(dtype)
    if dt.kind == "c":
        raise LocatedNotImplementedError(f"{name}: complex dtypes are not supported yet, got {dt}")
    if dt.kind != "f":
        raise LocatedValueError(f"dtype argument to `{name}` must be a float dtype, got {dt}")
    if dt not in (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)):
        raise LocatedValueError(f"{name}: dtype must be float16, float32 or float64, got {dt}")
    return dt


def _int_dtype(name: str, dtype: Any) -> np.dtype:
    dt = DEFAULT_INT if dtype is None else np.dtype(dtype)
    if dt.kind not in "iu":
        raise LocatedValueError(f"dtype argument to `{name}` must be an int dtype, got {dt}")
    return dt


def _check_shape(name: str, shape: tuple[int, ...], *param_shapes: tuple[int, ...]) -> None:
    if param_shapes:
        try:
            got = np.broadcast_shapes(shape, *param_shapes)
        except ValueError:
            got = None
        if got != shape:
            raise LocatedValueError(
                f"{name} parameter shapes must be broadcast-compatible with shape argument, and "
                "the result of broadcasting the shapes must equal the shape argument, but got "
                f"parameter shapes {list(param_shapes)} for shape argument {shape}."
            )


def _broadcast_shapes(name: str, shape: Any, *params: Any) -> tuple[int, ...]:
    shapes = [_shape_of(p) for p in params]
    if shape is None:
        try:
            return tuple(np.broadcast_shapes(*shapes)) if shapes else ()
        except ValueError:
            raise LocatedValueError(f"{name}: parameter shapes {shapes} do not broadcast") from None
    shape = canonical_shape(name, shape)
    _check_shape(name, shape, *shapes)
    return shape


def _check_safe_cast(name: str, dtype: np.dtype, *args: Any) -> None:
    for a in args:
        if isinstance(a, (bool, int, float)):
            continue
        dt = _dtype_of(a)
        if np.result_type(dt, dtype) != dtype:
            raise LocatedTypeError(
                f"In arguments to {name}, cannot safely cast argument of type {dt} to {dtype}; "
                f"pass dtype={dt} or cast the argument"
            )


def _cast(x: Any, dtype: np.dtype) -> Any:
    if type(x) is Tracer:
        return x if np.dtype(x.dtype) == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def _inexact(x: Any) -> Any:
    """``promote_dtypes_inexact``: ints and bools become float64."""
    if type(x) is Tracer:
        return x if np.dtype(x.dtype).kind == "f" else x.astype(DEFAULT_FLOAT)
    a = np.asarray(x)
    return a if a.dtype.kind == "f" else a.astype(DEFAULT_FLOAT)


def _concrete_int(name: str, what: str, x: Any) -> int:
    if type(x) is Tracer:
        raise LocatedTypeError(f"{name}: {what} must be a concrete integer, got a traced value")
    a = np.asarray(x)
    if a.shape != () or a.dtype.kind not in "iu":
        raise LocatedTypeError(f"{name}: {what} must be an integer, got {x!r}")
    return int(a)


def _bits(key: Any, nbits: int, shape: tuple[int, ...]) -> Any:
    return _rb.random_bits(key, nbits, shape)


# --- uniform / normal -------------------------------------------------------------------------
def _uniform(key: Any, shape: tuple[int, ...], dtype: np.dtype, minval: Any, maxval: Any) -> Any:
    minval = _cast(minval, dtype)
    maxval = _cast(maxval, dtype)
    mins, maxs = _shape_of(minval), _shape_of(maxval)
    if mins or maxs:
        for s in (mins, maxs):
            if len(s) > len(shape):
                raise LocatedValueError(
                    f"uniform: minval/maxval of shape {s} have more dimensions than the "
                    f"sample shape {shape}"
                )
        _check_shape("uniform", shape, mins, maxs)
    floats = _rb.random_unit_float(_bits(key, dtype.itemsize * 8, shape), dtype)
    return fnp.maximum(minval, floats * (maxval - minval) + minval)


def uniform(
    key: Any, shape: Shape = (), dtype: Any = None, minval: Any = 0.0, maxval: Any = 1.0
) -> Any:
    """Uniform floats in ``[minval, maxval)``.

    >>> import funcgrad.random as fr
    >>> fr.uniform(fr.PRNGKey(0), (2,))
    Array([0.41845711, 0.21629545])
    """
    key = check_key("uniform", key)
    dtype = _float_dtype("uniform", dtype)
    return _uniform(key, canonical_shape("uniform", shape), dtype, minval, maxval)


def _normal(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    if dtype in (np.float32, np.float64):  # one fused primitive (numba or numpy kernels)
        return _rs.random_normal(key, shape, dtype)
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = _uniform(key, shape, dtype, lo, np.array(1.0, dtype))
    return _rs.erf_inv(u) * np.array(np.sqrt(2), dtype)


def normal(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard normal draws: ``sqrt(2) * erf_inv(u)`` with ``u`` uniform in ``(-1, 1)``.

    >>> import funcgrad.random as fr
    >>> fr.normal(fr.PRNGKey(0), (2,))
    Array([-0.20584214, -0.78476578])
    """
    key = check_key("normal", key)
    dtype = _float_dtype("normal", dtype)
    return _normal(key, canonical_shape("normal", shape), dtype)


def truncated_normal(
    key: Any, lower: Any, upper: Any, shape: Shape | None = None, dtype: Any = None
) -> Any:
    """Normal draws truncated to ``(lower, upper)`` (inverse-CDF method).

    >>> import funcgrad.random as fr
    >>> fr.truncated_normal(fr.PRNGKey(0), -1.5, 2.0, (2,))
    Array([-0.13125091, -0.63188255])
    """
    key = check_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    shape = _broadcast_shapes("truncated_normal", shape, lower, upper)
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = _cast(lower, dtype)
    upper = _cast(upper, dtype)
    a = _rs.erf(lower / sqrt2)
    b = _rs.erf(upper / sqrt2)
    u = _uniform(key, shape, dtype, a, b)
    out = sqrt2 * _rs.erf_inv(u)
    lo = _rs.nextafter(fnp.stop_gradient(lower), np.array(np.inf, dtype))
    hi = _rs.nextafter(fnp.stop_gradient(upper), np.array(-np.inf, dtype))
    return fnp.clip(out, lo, hi)


def lognormal(key: Any, sigma: Any = _ONE32, shape: Shape | None = None, dtype: Any = None) -> Any:
    """``exp(sigma * normal)``.

    >>> import funcgrad.random as fr
    >>> fr.lognormal(fr.PRNGKey(0), 0.5, (2,)).round(6)
    array([0.902198, 0.675445])
    """
    key = check_key("lognormal", key)
    dtype = _float_dtype("lognormal", dtype)
    shape = _broadcast_shapes("lognormal", shape, sigma)
    _check_safe_cast("lognormal", dtype, sigma)
    return fnp.exp(_normal(key, shape, dtype) * _cast(sigma, dtype))


def multivariate_normal(
    key: Any,
    mean: Any,
    cov: Any,
    shape: Shape | None = None,
    dtype: Any = None,
    method: str = "cholesky",
) -> Any:
    """Draws from ``N(mean, cov)``: ``mean + factor @ z`` with ``factor`` from a Cholesky,
    eigh or SVD factorisation of ``cov`` (``method=``).

    >>> import numpy as np, funcgrad.random as fr
    >>> fr.multivariate_normal(fr.PRNGKey(0), np.zeros(2), np.eye(2)).shape
    (2,)
    """
    key = check_key("multivariate_normal", key)
    if method not in ("svd", "eigh", "cholesky"):
        raise LocatedValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    mean = _inexact(mean)
    cov = _inexact(cov)
    common = np.result_type(_dtype_of(mean), _dtype_of(cov))
    mean, cov = _cast(mean, common), _cast(cov, common)
    dtype = common if dtype is None else _float_dtype("multivariate_normal", dtype)
    ms, cs = _shape_of(mean), _shape_of(cov)
    if len(ms) < 1:
        raise LocatedValueError(
            f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {len(ms)}"
        )
    if len(cs) < 2:
        raise LocatedValueError(
            f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {len(cs)}"
        )
    n = ms[-1]
    if cs[-2:] != (n, n):
        raise LocatedValueError(
            f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got "
            f"cov.shape == {cs}."
        )
    if shape is None:
        shape = tuple(np.broadcast_shapes(ms[:-1], cs[:-2]))
    else:
        shape = canonical_shape("multivariate_normal", shape)
        _check_shape("multivariate_normal", shape, ms[:-1], cs[:-2])
    if method == "svd":
        u, s, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(w[..., None, :])
    else:
        factor = fnp.linalg.cholesky(cov)
    z = _normal(key, shape + (n,), dtype)
    return mean + fnp.einsum("...ij,...j->...i", factor, z)


# --- discrete ---------------------------------------------------------------------------------
def bernoulli(key: Any, p: Any = 0.5, shape: Shape | None = None, mode: str = "low") -> Any:
    """Booleans that are True with probability ``p`` (``uniform < p``; ``mode='high'`` adds
    precision for tiny ``p``).

    >>> import funcgrad.random as fr
    >>> fr.bernoulli(fr.PRNGKey(0), 0.5, (4,))
    Array([ True,  True, False, False])
    """
    key = check_key("bernoulli", key)
    if mode not in ("high", "low"):
        raise LocatedValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    dtype = _dtype_of(p)
    if dtype.kind != "f":
        raise LocatedTypeError(
            f"bernoulli probability `p` must have a floating dtype, got {dtype}."
        )
    shape = _shape_of(p) if shape is None else canonical_shape("bernoulli", shape)
    _check_shape("bernoulli", shape, _shape_of(p))
    p = _cast(p, dtype)
    if mode == "high":
        u = _uniform(key, (2, *shape), dtype, 0.0, 1.0)
        u1, u2 = u[0], u[1] * dtype.type(2.0 ** -np.finfo(dtype).nmant)
        return u2 < p - u1
    return _uniform(key, shape, dtype, 0.0, 1.0) < p


def rademacher(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Random signs: -1 or +1 with equal probability.

    >>> import funcgrad.random as fr
    >>> fr.rademacher(fr.PRNGKey(0), (4,))
    Array([ 1,  1, -1, -1])
    """
    key = check_key("rademacher", key)
    dtype = DEFAULT_INT if dtype is None else np.dtype(dtype)
    shape = canonical_shape("rademacher", shape)
    b = bernoulli(key, 0.5, shape).astype(dtype)
    return (2 * b - 1).astype(dtype)


def _clip_int(val: Any, dtype: np.dtype) -> Any:
    """``_convert_and_clip_integer``: clip ``val`` to the range of both dtypes, then cast."""
    vd = _dtype_of(val)
    lo = max(int(np.iinfo(dtype).min), int(np.iinfo(vd).min))
    hi = min(int(np.iinfo(dtype).max), int(np.iinfo(vd).max))
    return fnp.clip(val, np.array(lo, vd), np.array(hi, vd)).astype(dtype)


def _int_operand(x: Any) -> Any:
    if type(x) is Tracer:
        return x if np.dtype(x.dtype).kind in "iu" else x.astype(DEFAULT_INT)
    if isinstance(x, int) and not isinstance(x, bool):
        return np.asarray(x, np.int64) if -(2**63) <= x < 2**63 else np.asarray(x, np.uint64)
    a = np.asarray(x)
    return a if a.dtype.kind in "iu" else a.astype(DEFAULT_INT)


def randint(key: Any, shape: Shape, minval: Any, maxval: Any, dtype: Any = None) -> Any:
    """Integers uniform in ``[minval, maxval)`` (two words of bits per draw, reduced by JAX's
    multiply-and-remainder scheme).

    >>> import funcgrad.random as fr
    >>> fr.randint(fr.PRNGKey(0), (5,), 0, 10)
    Array([5, 1, 5, 7, 3])
    """
    key = check_key("randint", key)
    dtype = _int_dtype("randint", dtype)
    shape = canonical_shape("randint", shape)
    minval = _int_operand(minval)
    maxval = _int_operand(maxval)
    info = np.iinfo(dtype)
    sample_dtype = dtype
    if info.bits < 32:
        sample_dtype = np.dtype(np.int32)
        minval = fnp.clip(minval.astype(np.int32), int(info.min), int(info.max))
        maxval = fnp.clip(maxval.astype(np.int32), int(info.min), int(info.max) + 1)
    _check_shape("randint", shape, _shape_of(minval), _shape_of(maxval))
    nbits = np.iinfo(sample_dtype).bits
    udt = np.dtype(f"uint{nbits}")
    top = _clip_int(np.array(np.iinfo(sample_dtype).max, sample_dtype), _dtype_of(maxval))
    maxval_out_of_range = maxval > top
    minval = _clip_int(minval, sample_dtype)
    maxval = _clip_int(maxval, sample_dtype)
    k1, k2 = _rb.random_split(key, (2,))
    higher = _bits(k1, nbits, shape)
    lower = _bits(k2, nbits, shape)
    with np.errstate(over="ignore"):  # unsigned arithmetic wraps modulo 2**nbits on purpose
        return _randint_reduce(
            higher, lower, minval, maxval, maxval_out_of_range, dtype, sample_dtype, udt, nbits
        )


def _randint_reduce(
    higher: Any,
    lower: Any,
    minval: Any,
    maxval: Any,
    maxval_out_of_range: Any,
    dtype: np.dtype,
    sample_dtype: np.dtype,
    udt: np.dtype,
    nbits: int,
) -> Any:
    span = (maxval - minval).astype(udt)
    span = fnp.where(maxval <= minval, udt.type(1), span)
    span = fnp.where(maxval_out_of_range & (maxval > minval), span + udt.type(1), span)
    multiplier = udt.type(2 ** (nbits // 2)) % span
    multiplier = (multiplier * multiplier) % span
    offset = (higher % span) * multiplier + lower % span
    offset = offset % span
    out = minval + offset.astype(sample_dtype)
    return out.astype(dtype) if sample_dtype != dtype else out


def _shuffle(key: Any, x: Any, axis: int) -> Any:
    size = int(np.prod(_shape_of(x), dtype=np.int64))
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        key, sub = _rb.random_split(key, (2,))
        sort_keys = _bits(sub, 32, _shape_of(x))
        order = fnp.argsort(sort_keys, axis=axis, kind="stable")
        x = fnp.take_along_axis(x, order, axis=axis)
    return x


def _norm_axis(name: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise LocatedValueError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim}"
        )
    return axis % ndim


def permutation(key: Any, x: Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``range(x)`` (integer ``x``) or of ``x`` along ``axis``
    (``independent=True``: each slice along ``axis`` shuffled independently).

    >>> import funcgrad.random as fr
    >>> fr.permutation(fr.PRNGKey(0), 10)
    Array([0, 1, 8, 5, 6, 4, 3, 2, 7, 9])
    """
    key = check_key("permutation", key)
    shape = _shape_of(x)
    if not shape:
        if _dtype_of(x).kind not in "iu":
            raise LocatedTypeError("x must be an integer or at least 1-dimensional")
        n = _concrete_int("permutation", "x", x)
        return _shuffle(key, np.arange(n), 0)
    axis = _norm_axis("permutation", axis, len(shape))
    x = fnp.asarray(x)
    if independent or len(shape) == 1:
        return _shuffle(key, x, axis)
    ind = _shuffle(key, np.arange(shape[axis]), 0)
    return fnp.take(x, ind, axis=axis)


def choice(
    key: Any,
    a: Any,
    shape: Shape = (),
    replace: bool = True,
    p: Any = None,
    axis: int = 0,
    mode: str | None = None,
) -> Any:
    """Random elements of ``a`` (or of ``range(a)`` for an integer), with or without
    replacement, uniformly or with probabilities ``p``.

    >>> import funcgrad.random as fr
    >>> fr.choice(fr.PRNGKey(0), 20, (5,), replace=False)
    Array([ 0,  1, 19,  8, 12])
    """
    key = check_key("choice", key)
    if not isinstance(shape, Sequence):
        raise LocatedTypeError(f"shape argument of choice must be a sequence, got {shape}")
    shape = canonical_shape("choice", shape)
    ashape = _shape_of(a)
    arr = a if type(a) is Tracer else np.asarray(a)
    if not ashape:
        n_inputs = _concrete_int("choice", "a", a)
    else:
        axis = _norm_axis("choice", axis, len(ashape))
        n_inputs = ashape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return np.zeros(shape, dtype=_dtype_of(a))
    if n_inputs <= 0:
        raise LocatedValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise LocatedValueError(
            f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
            "when 'replace=False'"
        )
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n_inputs)
            result = ind if not ashape else fnp.take(arr, ind, axis=axis)
        else:
            perm = permutation(key, n_inputs if not ashape else arr, axis)
            idx = (slice(None),) * (axis if ashape else 0) + (slice(n_draws),)
            result = perm[idx]
    else:
        p_arr = _inexact(p)
        if _shape_of(p_arr) != (n_inputs,):
            raise LocatedValueError(
                "p must be None or a 1D vector with the same size as a.shape[axis]. p has shape "
                f"{_shape_of(p_arr)} and a.shape[axis] is {n_inputs}."
            )
        pdt = _dtype_of(p_arr)
        if replace:
            p_cuml = fnp.cumsum(p_arr)
            r = p_cuml[-1] * (1 - _uniform(key, shape, pdt, 0.0, 1.0))
            ind = fnp.searchsorted(p_cuml, r).astype(DEFAULT_INT)
        else:
            g = _gumbel(key, (n_inputs,), pdt, mode) + fnp.log(p_arr)
            ind = fnp.argsort(-g, kind="stable")[:n_draws].astype(DEFAULT_INT)
        result = ind if not ashape else fnp.take(arr, ind, axis=axis)
    out_shape = shape if not ashape else ashape[:axis] + shape + ashape[axis + 1 :]
    return fnp.reshape(result, out_shape)


def _gumbel(key: Any, shape: tuple[int, ...], dtype: np.dtype, mode: str | None) -> Any:
    mode = "low" if mode is None else mode
    if mode not in ("highest", "high", "low"):
        raise LocatedValueError(f"Must provide valid mode for gumbel got: {mode}")
    info = np.finfo(dtype)
    if mode == "highest" and dtype == np.float32:
        raise LocatedNotImplementedError("gumbel: mode='highest' for float32 is not implemented")
    if mode in ("high", "highest"):
        u = _uniform(key, (2, *shape), dtype, 0.0, 1.0)
        high, low = u[0], u[1]
        x = fnp.where(
            high >= 0.5, high, high + dtype.type(2.0**-info.nmant) * low + dtype.type(info.tiny)
        )
        return -fnp.log(-fnp.log1p(-x))
    return -fnp.log(-fnp.log(_uniform(key, shape, dtype, info.tiny, 1.0)))


def gumbel(key: Any, shape: Shape = (), dtype: Any = None, mode: str | None = None) -> Any:
    """Standard Gumbel draws ``-log(-log(u))``.

    >>> import funcgrad.random as fr
    >>> fr.gumbel(fr.PRNGKey(0), (2,))
    Array([ 0.13790566, -0.42599294])
    """
    key = check_key("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    return _gumbel(key, canonical_shape("gumbel", shape), dtype, mode)


def categorical(
    key: Any,
    logits: Any,
    axis: int = -1,
    shape: Shape | None = None,
    replace: bool = True,
    mode: str | None = None,
) -> Any:
    """Category indices drawn with probabilities ``softmax(logits, axis)`` (Gumbel-max;
    ``replace=False``: Gumbel-top-k).

    >>> import numpy as np, funcgrad.random as fr
    >>> fr.categorical(fr.PRNGKey(0), np.log(np.array([0.1, 0.2, 0.3, 0.4])), shape=(8,))
    Array([2, 2, 2, 1, 3, 3, 2, 3])
    """
    key = check_key("categorical", key)
    logits = fnp.asarray(logits)
    lshape = _shape_of(logits)
    if not lshape:
        raise LocatedValueError("categorical: logits must have at least one dimension")
    axis = _norm_axis("categorical", axis, len(lshape)) - len(lshape)
    batch_shape = tuple(np.delete(lshape, axis))
    if shape is None:
        shape = batch_shape
    else:
        shape = canonical_shape("categorical", shape)
        _check_shape("categorical", shape, batch_shape)
    dtype = _dtype_of(logits)
    prefix = shape[: len(shape) - len(batch_shape)]
    if replace:
        lsh = list(shape[len(shape) - len(batch_shape) :])
        lsh.insert(axis % len(lshape), lshape[axis])
        g = _gumbel(key, (*prefix, *lsh), dtype, mode)
        return fnp.argmax(g + fnp.reshape(logits, (1,) * len(prefix) + lshape), axis=axis)
    logits = logits + _gumbel(key, lshape, dtype, mode)
    k = math.prod(prefix)
    if k > lshape[axis]:
        raise LocatedValueError(
            f"Number of samples without replacement ({k}) cannot exceed number of categories "
            f"({lshape[axis]})."
        )
    moved = fnp.moveaxis(logits, axis, -1)
    idx = fnp.argsort(-moved, axis=-1, kind="stable")[..., :k]
    idx = fnp.moveaxis(idx, -1, 0)
    return fnp.reshape(idx, shape).astype(np.int32)  # lax.top_k's index dtype


# --- one uniform, transformed -------------------------------------------------------------------
def exponential(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Exponential(1) draws ``-log1p(-u)``.

    >>> import funcgrad.random as fr
    >>> fr.exponential(fr.PRNGKey(0), (2,))
    Array([0.54207056, 0.24372319])
    """
    key = check_key("exponential", key)
    dtype = _float_dtype("exponential", dtype)
    u = _uniform(key, canonical_shape("exponential", shape), dtype, 0.0, 1.0)
    return -fnp.log1p(-u)


def laplace(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Laplace(0, 1) draws.

    >>> import funcgrad.random as fr
    >>> fr.laplace(fr.PRNGKey(0), (2,))
    Array([0.17803369, 0.83796278])
    """
    key = check_key("laplace", key)
    dtype = _float_dtype("laplace", dtype)
    lo = -1.0 + np.finfo(dtype).epsneg
    u = _uniform(key, canonical_shape("laplace", shape), dtype, lo, 1.0)
    return fnp.sign(u) * fnp.log1p(-fnp.abs(u))


def logistic(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Logistic(0, 1) draws ``log(u) - log1p(-u)``.

    >>> import funcgrad.random as fr
    >>> fr.logistic(fr.PRNGKey(0), (2,))
    Array([-0.32911032, -1.28738678])
    """
    key = check_key("logistic", key)
    dtype = _float_dtype("logistic", dtype)
    x = _uniform(key, canonical_shape("logistic", shape), dtype, np.finfo(dtype).tiny, 1.0)
    return fnp.log(x) - fnp.log1p(-x)


def cauchy(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard Cauchy draws ``tan(pi (u - 1/2))``.

    >>> import funcgrad.random as fr
    >>> fr.cauchy(fr.PRNGKey(0), (2,))
    Array([-0.26192951, -1.23784602])
    """
    key = check_key("cauchy", key)
    dtype = _float_dtype("cauchy", dtype)
    u = _uniform(key, canonical_shape("cauchy", shape), dtype, np.finfo(dtype).eps, 1.0)
    return fnp.tan((u - dtype.type(0.5)) * dtype.type(np.pi))


def pareto(key: Any, b: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Pareto(b) draws ``exp(exponential / b)``.

    >>> import funcgrad.random as fr
    >>> fr.pareto(fr.PRNGKey(0), 3.0, (2,))
    Array([1.19804395, 1.08463233])
    """
    key = check_key("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    shape = _broadcast_shapes("pareto", shape, b)
    _check_safe_cast("pareto", dtype, b)
    e = -fnp.log1p(-_uniform(key, shape, dtype, 0.0, 1.0))
    return fnp.exp(e / _cast(b, dtype))


def weibull_min(
    key: Any, scale: Any, concentration: Any, shape: Shape = (), dtype: Any = None
) -> Any:
    """Weibull draws ``scale * (-log1p(-u)) ** (1 / concentration)``.

    >>> import funcgrad.random as fr
    >>> fr.weibull_min(fr.PRNGKey(0), 2.0, 1.5, (2,)).round(6)
    array([1.329639, 0.780359])
    """
    key = check_key("weibull_min", key)
    dtype = _float_dtype("weibull_min", dtype)
    u = _uniform(key, canonical_shape("weibull_min", shape), dtype, 0, 1)
    return fnp.power(-fnp.log1p(-u), 1.0 / concentration) * scale


def rayleigh(key: Any, scale: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Rayleigh draws ``scale * sqrt(-2 log u)``.

    >>> import funcgrad.random as fr
    >>> fr.rayleigh(fr.PRNGKey(0), 2.0, (2,)).round(6)
    array([2.639971, 3.49984 ])
    """
    key = check_key("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    shape = _broadcast_shapes("rayleigh", shape, scale)
    _check_safe_cast("rayleigh", dtype, scale)
    u = _uniform(key, shape, dtype, 0.0, 1.0)
    scale = fnp.broadcast_to(_cast(scale, dtype), shape)
    return scale * fnp.sqrt(fnp.log(u) * dtype.type(-2))


def triangular(
    key: Any, left: Any, mode: Any, right: Any, shape: Shape | None = None, dtype: Any = None
) -> Any:
    """Triangular draws on ``[left, right]`` with peak ``mode`` (inverse CDF).

    >>> import funcgrad.random as fr
    >>> fr.triangular(fr.PRNGKey(0), 0.0, 1.0, 3.0, (2,)).round(6)
    array([1.132045, 0.805535])
    """
    key = check_key("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    shape = _broadcast_shapes("triangular", shape, left, mode, right)
    _check_safe_cast("triangular", dtype, left, mode, right)
    left = fnp.broadcast_to(_cast(left, dtype), shape)
    right = fnp.broadcast_to(_cast(right, dtype), shape)
    mode = fnp.broadcast_to(_cast(mode, dtype), shape)
    fc = (mode - left) / (right - left)
    u = _uniform(key, shape, dtype, 0.0, 1.0)
    out1 = left + fnp.sqrt(u * (right - left) * (mode - left))
    out2 = right - fnp.sqrt((1 - u) * (right - left) * (right - mode))
    return fnp.where(u < fc, out1, out2)


def geometric(key: Any, p: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Number of Bernoulli(p) trials up to the first success (1, 2, ...).

    >>> import funcgrad.random as fr
    >>> fr.geometric(fr.PRNGKey(0), 0.3, (4,))
    Array([3, 5, 1, 2])
    """
    key = check_key("geometric", key)
    dtype = _int_dtype("geometric", dtype)
    shape = _broadcast_shapes("geometric", shape, p)
    p = _inexact(p)
    u = _uniform(key, shape, _dtype_of(p), 0.0, 1.0)
    u = fnp.where(u == 0, 1, u)
    g = fnp.floor(fnp.log(u) / fnp.broadcast_to(fnp.log1p(-p), shape)) + 1
    return g.astype(dtype)


def wald(key: Any, mean: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Wald (inverse Gaussian, scale 1) draws (Michael–Schucany–Haas).

    >>> import funcgrad.random as fr
    >>> fr.wald(fr.PRNGKey(0), 1.5, (2,)).shape
    (2,)
    """
    key = check_key("wald", key)
    dtype = _float_dtype("wald", dtype)
    shape = _broadcast_shapes("wald", shape, mean)
    _check_safe_cast("wald", dtype, mean)
    k1, k2 = _rb.random_split(key, (2,))
    mean = fnp.broadcast_to(_cast(mean, dtype), shape)
    v = _normal(k1, shape, dtype)
    z = _uniform(k2, shape, dtype, 0.0, 1.0)
    y = v * v
    y_sq = y * y
    mean_sq = mean * mean
    sqrt_term = fnp.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return fnp.where(z <= mean / (mean + x), x, mean_sq / x)


def maxwell(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Maxwell draws: the length of a standard normal 3-vector.

    >>> import funcgrad.random as fr
    >>> fr.maxwell(fr.PRNGKey(0), (2,)).shape
    (2,)
    """
    key = check_key("maxwell", key)
    dtype = _float_dtype("maxwell", dtype)
    z = _normal(key, canonical_shape("maxwell", shape) + (3,), dtype)
    return fnp.sqrt(fnp.sum(z * z, axis=-1))


def double_sided_maxwell(
    key: Any, loc: Any, scale: Any, shape: Shape = (), dtype: Any = None
) -> Any:
    """Maxwell draws with a random sign, ``sign * maxwell * scale + loc``.

    >>> import funcgrad.random as fr
    >>> fr.double_sided_maxwell(fr.PRNGKey(0), 1.0, 2.0, (2,)).shape
    (2,)
    """
    key = check_key("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    shape = canonical_shape("double_sided_maxwell", shape)
    params = tuple(np.broadcast_shapes(_shape_of(loc), _shape_of(scale)))
    if not shape:
        shape = params
    shape = shape + params
    mk, rk = _rb.random_split(key, (2,))
    m = maxwell(mk, shape, dtype)
    sign = rademacher(rk, shape, dtype)
    return sign * m * scale + loc


# --- gamma family -------------------------------------------------------------------------------
def _gamma(key: Any, a: Any, shape: Any, dtype: np.dtype, log_space: bool) -> Any:
    ashape = _shape_of(a)
    shape = ashape if shape is None else canonical_shape("gamma", shape)
    _check_shape("gamma", shape, ashape)
    a = _cast(a, dtype)
    if ashape != shape:
        a = fnp.broadcast_to(a, shape)
    return _rs.random_gamma(key, a, log_space)


def gamma(key: Any, a: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Gamma(a, 1) draws (Marsaglia–Tsang), differentiable in ``a`` through the implicit
    reparameterisation gradient.

    >>> import funcgrad.random as fr
    >>> fr.gamma(fr.PRNGKey(0), 2.5, (2,)).round(6)
    array([1.80488, 1.53856])
    """
    key = check_key("gamma", key)
    dtype = _float_dtype("gamma", dtype)
    return _gamma(key, a, shape, dtype, False)


def loggamma(key: Any, a: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Logs of Gamma(a, 1) draws, computed in log space (accurate for small ``a``).

    >>> import funcgrad.random as fr
    >>> fr.loggamma(fr.PRNGKey(0), 2.5, (2,)).round(6)
    array([0.590494, 0.430847])
    """
    key = check_key("loggamma", key)
    dtype = _float_dtype("loggamma", dtype)
    return _gamma(key, a, shape, dtype, True)


def beta(key: Any, a: Any, b: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Beta(a, b) draws from two log-gamma draws; differentiable in ``a`` and ``b``.

    >>> import funcgrad.random as fr
    >>> fr.beta(fr.PRNGKey(0), 2.0, 3.0, (2,)).round(6)
    array([0.327956, 0.613809])
    """
    key = check_key("beta", key)
    dtype = _float_dtype("beta", dtype)
    _check_safe_cast("beta", dtype, a, b)
    shape = _broadcast_shapes("beta", shape, a, b)
    ka, kb = _rb.random_split(key, (2,))
    a = fnp.broadcast_to(_cast(a, dtype), shape)
    b = fnp.broadcast_to(_cast(b, dtype), shape)
    lga = _rs.random_gamma(ka, a, True)
    lgb = _rs.random_gamma(kb, b, True)
    log_max = fnp.maximum(lga, lgb)
    ga = fnp.exp(lga - log_max)
    gb = fnp.exp(lgb - log_max)
    return ga / (ga + gb)


def dirichlet(key: Any, alpha: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Dirichlet(alpha) draws (normalised log-gamma draws); differentiable in ``alpha``.

    >>> import numpy as np, funcgrad.random as fr
    >>> fr.dirichlet(fr.PRNGKey(0), np.array([1.0, 2.0])).round(6)
    array([0.297226, 0.702774])
    """
    key = check_key("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    ashape = _shape_of(alpha)
    if len(ashape) < 1:
        raise LocatedValueError(
            f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {len(ashape)}"
        )
    if shape is None:
        shape = ashape[:-1]
    else:
        shape = canonical_shape("dirichlet", shape)
        _check_shape("dirichlet", shape, ashape[:-1])
    alpha = _cast(alpha, dtype)
    full = shape + ashape[-1:]
    if ashape != full:
        alpha = fnp.broadcast_to(alpha, full)
    lg = _rs.random_gamma(key, alpha, True)
    e = fnp.exp(lg - fnp.stop_gradient(fnp.max(lg, axis=-1, keepdims=True)))
    return e / fnp.sum(e, axis=-1, keepdims=True)


def t(key: Any, df: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Student's t draws ``normal * sqrt(df / 2 / gamma(df / 2))``.

    >>> import funcgrad.random as fr
    >>> fr.t(fr.PRNGKey(0), 4.0, (2,)).round(6)
    array([ 1.438814, -0.57619 ])
    """
    key = check_key("t", key)
    dtype = _float_dtype("t", dtype)
    shape = _broadcast_shapes("t", shape, df)
    _check_safe_cast("t", dtype, df)
    df = _cast(df, dtype)
    kn, kg = _rb.random_split(key, (2,))
    n = _normal(kn, shape, dtype)
    half_df = df / dtype.type(2)
    g = _gamma(kg, half_df, shape, dtype, False)
    return n * fnp.sqrt(half_df / g)


def _chisquare(key: Any, df: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    df = _cast(df, dtype)
    two = dtype.type(2)
    return fnp.exp(_gamma(key, df / two, shape, dtype, True)) * two


def chisquare(key: Any, df: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Chi-square(df) draws ``2 * gamma(df / 2)`` (via log-gamma).

    >>> import funcgrad.random as fr
    >>> fr.chisquare(fr.PRNGKey(0), 3.0, (2,)).shape
    (2,)
    """
    key = check_key("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    shape = _broadcast_shapes("chisquare", shape, df)
    _check_safe_cast("chisquare", dtype, df)
    return _chisquare(key, df, shape, dtype)


def f(key: Any, dfnum: Any, dfden: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """F(dfnum, dfden) draws, a ratio of scaled chi-square draws.

    >>> import funcgrad.random as fr
    >>> fr.f(fr.PRNGKey(0), 4.0, 7.0, (2,)).shape
    (2,)
    """
    key = check_key("f", key)
    dtype = _float_dtype("f", dtype)
    shape = _broadcast_shapes("f", shape, dfnum, dfden)
    _check_safe_cast("f", dtype, dfnum, dfden)
    dfden = _cast(dfden, dtype)
    dfnum = _cast(dfnum, dtype)
    k_den, k_num = _rb.random_split(key, (2,))
    num = _chisquare(k_num, dfnum, shape, dtype) / dfnum
    den = _chisquare(k_den, dfden, shape, dtype) / dfden
    return num / den


def generalized_normal(key: Any, p: float, shape: Shape = (), dtype: Any = None) -> Any:
    """Generalized normal draws (density ``∝ exp(-|x|**p)``): ``sign * gamma(1/p) ** (1/p)``.

    >>> import funcgrad.random as fr
    >>> fr.generalized_normal(fr.PRNGKey(0), 1.5, (2,)).shape
    (2,)
    """
    key = check_key("generalized_normal", key)
    dtype = _float_dtype("generalized_normal", dtype)
    shape = canonical_shape("generalized_normal", shape)
    k0, k1 = _rb.random_split(key, (2,))
    g = _gamma(k0, 1 / p, shape, dtype, False)
    r = rademacher(k1, shape, dtype)
    return r * g ** (1 / p)


def ball(key: Any, d: int, p: float = 2, shape: Shape = (), dtype: Any = None) -> Any:
    """Points uniform in the unit ``p``-norm ball of dimension ``d`` (shape ``shape + (d,)``).

    >>> import funcgrad.random as fr
    >>> fr.ball(fr.PRNGKey(0), 3).shape
    (3,)
    """
    key = check_key("ball", key)
    dtype = _float_dtype("ball", dtype)
    shape = canonical_shape("ball", shape)
    d = _concrete_int("ball", "d", d)
    k1, k2 = _rb.random_split(key, (2,))
    g = generalized_normal(k1, p, (*shape, d), dtype)
    e = exponential(k2, shape, dtype)
    return g / (((fnp.abs(g) ** p).sum(-1) + e) ** (1 / p))[..., None]


def orthogonal(key: Any, n: int, shape: Shape = (), dtype: Any = None, m: int | None = None) -> Any:
    """Haar-random ``n x m`` matrices with orthonormal columns (or rows if ``n < m``): QR of a
    normal matrix, signs fixed by ``R``'s diagonal.

    >>> import numpy as np, funcgrad.random as fr
    >>> q = fr.orthogonal(fr.PRNGKey(0), 3)
    >>> bool(np.allclose(q @ q.T, np.eye(3)))
    True
    """
    key = check_key("orthogonal", key)
    dtype = _float_dtype("orthogonal", dtype)
    shape = canonical_shape("orthogonal", shape)
    n = _concrete_int("orthogonal", "n", n)
    m_ = n if m is None else _concrete_int("orthogonal", "m", m)
    z = _normal(key, (*shape, max(n, m_), min(n, m_)), dtype)
    q, r = fnp.linalg.qr(z)
    d = fnp.diagonal(r, axis1=-2, axis2=-1)
    x = q * fnp.expand_dims(fnp.sign(d), -2)
    return fnp.swapaxes(x, -1, -2) if n < m_ else x


# --- integer-valued rejection samplers ----------------------------------------------------------
_LANCZOS_G = 7.0
_LANCZOS_BASE = 0.99999999999980993227684700473478
_LANCZOS = (
    676.520368121885098567009190444019, -1259.13921672240287047156078755283,
    771.3234287776530788486528258894, -176.61502916214059906584551354,
    12.507343278686904814458936853, -0.13857109526572011689554707,
    9.984369578019570859563e-6, 1.50563273514931155834e-7,
)  # fmt: skip


def _lgamma_ge_half(x: Any) -> Any:
    """XLA's Lanczos ``lgamma`` (g = 7, n = 9) for ``x >= 0.5`` in ``x``'s dtype, so that the
    Poisson sampler's acceptance test sees JAX's float32 numbers."""
    dt = _dtype_of(x)
    c = dt.type
    z = x - c(1)
    acc = c(_LANCZOS_BASE)
    for i, coef in enumerate(_LANCZOS):
        acc = acc + c(coef) / (z + c(i) + c(1))
    tz = c(_LANCZOS_G + 0.5) + z
    log_t = c(math.log(_LANCZOS_G + 0.5)) + fnp.log1p(z / c(_LANCZOS_G + 0.5))
    log_sqrt_2pi = c((math.log(2) + math.log(math.pi)) / 2)
    return log_sqrt_2pi + (z + c(0.5) - tz / log_t) * log_t + fnp.log(acc)


def _poisson_knuth(key: Any, lam: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    def cond(carry: Any) -> Any:
        return fnp.any(carry[2] > -lam)

    def body(carry: Any) -> Any:
        k, rng, log_prod = carry
        rng, sub = _rb.random_split(rng, (2,))
        k = fnp.where(log_prod > -lam, k + 1, k)
        u = _uniform(sub, shape, np.dtype(np.float32), 0.0, 1.0)
        return k, rng, log_prod + fnp.log(u)

    init = (np.zeros(shape, dtype), key, np.zeros(shape, np.float32))
    k = _lax.while_loop(cond, body, init)[0]
    return (k - 1).astype(dtype)


def _poisson_rejection(key: Any, lam: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    f32 = np.dtype(np.float32)
    log_lam = fnp.log(lam)
    b = 0.931 + 2.53 * fnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def cond(carry: Any) -> Any:
        return fnp.any(~carry[1])

    def body(carry: Any) -> Any:
        k_out, accepted, rng = carry
        ks = _rb.random_split(rng, (3,))
        rng, k0, k1 = ks[0], ks[1], ks[2]
        u = _uniform(k0, shape, f32, 0.0, 1.0) - 0.5
        v = _uniform(k1, shape, f32, 0.0, 1.0)
        us = 0.5 - fnp.abs(u)
        k = fnp.floor((2 * a / us + b) * u + lam + 0.43)
        s = fnp.log(v * inv_alpha / (a / (us * us) + b))
        kp1 = k + 1
        lg = _lgamma_ge_half(fnp.where(kp1 >= 0.5, kp1, np.float32(1)))
        tt = -lam + k * log_lam - lg
        accept1 = (us >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((us < 0.013) & (v > us))
        accept = accept1 | (~reject & (s <= tt))
        return fnp.where(accept, k, k_out), accepted | accept, rng

    init = (np.full(shape, -1, f32), np.zeros(shape, bool), key)
    return _lax.while_loop(cond, body, init)[0].astype(dtype)


@_quiet
def poisson(key: Any, lam: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Poisson(lam) draws: Knuth's multiplication method for ``lam < 10``, Hörmann's
    transformed rejection (PTRS) otherwise; computed in float32 as JAX does.

    >>> import funcgrad.random as fr
    >>> fr.poisson(fr.PRNGKey(0), 3.0, (4,))
    Array([0, 0, 4, 4])
    """
    key = check_key("poisson", key)
    dtype = _int_dtype("poisson", dtype)
    shape = _shape_of(lam) if shape is None else canonical_shape("poisson", shape)
    lam = _cast(fnp.broadcast_to(lam, shape), np.dtype(np.float32))
    use_knuth = fnp.isnan(lam) | (lam < 10)
    lam_knuth = fnp.where(use_knuth, lam, np.float32(0))
    lam_rej = fnp.where(use_knuth, np.float32(1e5), lam)
    out = fnp.where(
        use_knuth,
        _poisson_knuth(key, lam_knuth, shape, dtype),
        _poisson_rejection(key, lam_rej, shape, dtype),
    )
    return fnp.where(lam == 0, np.zeros((), dtype), out).astype(dtype)


_STIRLING_TAIL = np.array([
    0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
    0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.010411265261972,
    0.00925546218271273, 0.00833056343336287,
])  # fmt: skip


def _stirling_tail(k: Any) -> Any:
    dt = _dtype_of(k)
    use_table = k <= 9
    k = fnp.clip(k, dt.type(0), dt.type(9))
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    idx = fnp.floor(k).astype(np.int32)
    return fnp.where(use_table, fnp.take(_STIRLING_TAIL.astype(dt), idx), approx)


def _binomial_inversion(key: Any, count: Any, prob: Any, shape: tuple[int, ...]) -> Any:
    dt = _dtype_of(prob)
    log1mp = fnp.log1p(-prob)

    def cond(carry: Any) -> Any:
        return fnp.any(carry[1] <= count)

    def body(carry: Any) -> Any:
        num_geom, geom_sum, rng = carry
        ks = _rb.random_split(rng, (2,))
        sub, rng = ks[0], ks[1]
        num_geom = fnp.where(geom_sum <= count, num_geom + 1, num_geom)
        u = _uniform(sub, shape, dt, 0.0, 1.0)
        geom = fnp.ceil(fnp.log(u) / log1mp)
        return num_geom, geom_sum + geom, rng

    init = (np.zeros(shape, dt), np.zeros(shape, dt), key)
    return _lax.while_loop(cond, body, init)[0] - 1


def _btrs(key: Any, count: Any, prob: Any, shape: tuple[int, ...]) -> Any:
    dt = _dtype_of(prob)
    stddev = fnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = fnp.floor((count + 1) * prob)

    def cond(carry: Any) -> Any:
        return fnp.any(~carry[1])

    def body(carry: Any) -> Any:
        k_out, accepted, rng = carry
        ks = _rb.random_split(rng, (3,))
        rng, k0, k1 = ks[0], ks[1], ks[2]
        u = _uniform(k0, shape, dt, 0.0, 1.0)
        v = _uniform(k1, shape, dt, 0.0, 1.0)
        u = u - 0.5
        us = 0.5 - fnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = fnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = fnp.log(v * alpha / (a / (us * us) + b))
        ub = (
            (m + 0.5) * fnp.log((m + 1) / (r * (count - m + 1)))
            + (count + 1) * fnp.log((count - m + 1) / (count - k + 1))
            + (k + 0.5) * fnp.log(r * (count - k + 1) / (k + 1))
            + _stirling_tail(m)
            + _stirling_tail(count - m)
            - _stirling_tail(k)
            - _stirling_tail(count - k)
        )
        accept = accept1 | (~reject & (v <= ub))
        return fnp.where(accept, k, k_out), accepted | accept, rng

    init = (np.full(shape, -1, dt), np.zeros(shape, bool), key)
    return _lax.while_loop(cond, body, init)[0]


@_quiet
def binomial(key: Any, n: Any, p: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Binomial(n, p) draws (as floats): geometric-sum inversion when ``n min(p, 1-p) <= 10``,
    Hörmann's BTRS rejection otherwise.

    >>> import funcgrad.random as fr
    >>> fr.binomial(fr.PRNGKey(0), 8.0, 0.3, (4,))
    Array([3., 1., 2., 4.])
    """
    key = check_key("binomial", key)
    dtype = _float_dtype("binomial", dtype)
    shape = _broadcast_shapes("binomial", shape, n, p)
    prob = _inexact(p)
    pdt = _dtype_of(prob)
    count = fnp.broadcast_to(_cast(n, pdt), shape)
    prob = fnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = fnp.where(p_lt_half, prob, 1.0 - prob)
    count_bad = fnp.isnan(count) | (count < 0.0)
    count_inf = fnp.isinf(count)
    q_nan = fnp.isnan(q)
    q_neg = q < 0.0
    q = fnp.where(q_nan | q_neg, pdt.type(0.01), q)
    use_inv = count_bad | (count * q <= 10.0)
    count = fnp.floor(count)
    count_inv = fnp.where(use_inv, count, pdt.type(0))
    count_btrs = fnp.where(use_inv, pdt.type(10000), count)
    q_btrs = fnp.where(use_inv, pdt.type(0.5), q)
    inv = _binomial_inversion(key, count_inv, q, shape).astype(dtype)
    btrs = _btrs(key, count_btrs, q_btrs, shape).astype(dtype)
    samples = fnp.where(use_inv, inv, btrs)
    invalid = q_neg | q_nan | count_bad
    samples = fnp.where(invalid, dtype.type(np.nan), samples)
    samples = fnp.where(count_inf & ~invalid, dtype.type(np.inf), samples)
    keep = p_lt_half | count_bad | q_nan | count_inf
    return fnp.where(keep, samples, count.astype(dtype) - samples)


@_quiet
def multinomial(key: Any, n: Any, p: Any, *, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Multinomial(n, p) counts over the last axis of ``p``, one binomial per category.

    >>> import numpy as np, funcgrad.random as fr
    >>> float(fr.multinomial(fr.PRNGKey(0), 10.0, np.array([0.2, 0.3, 0.5])).sum())
    10.0
    """
    key = check_key("multinomial", key)
    n = _inexact(n)
    p = _inexact(p)
    common = np.result_type(_dtype_of(n), _dtype_of(p))
    n, p = _cast(n, common), _cast(p, common)
    dtype = common if dtype is None else _float_dtype("multinomial", dtype)
    shape = _shape_of(p) if shape is None else canonical_shape("multinomial", shape)
    if not shape:
        raise LocatedValueError("multinomial: p must have at least one dimension (the categories)")
    n = fnp.broadcast_to(n, shape[:-1])
    p = fnp.broadcast_to(p, shape)
    p = fnp.moveaxis(p, -1, 0)
    remaining = fnp.flip(fnp.cumsum(fnp.flip(p, 0), axis=0), 0)
    ratios = p / fnp.where(remaining == 0, 1, remaining)
    keys = split(key, _shape_of(ratios)[0])

    def step(remainder: Any, rk: Any) -> Any:
        ratio, k = rk
        count = binomial(k, remainder, fnp.clip(ratio, 0, 1), dtype=_dtype_of(remainder))
        return remainder - count, count

    _, counts = _lax.scan(step, n, (ratios, keys))
    return fnp.moveaxis(counts, 0, -1).astype(dtype)
