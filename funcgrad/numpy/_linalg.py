"""Implementation of :mod:`funcgrad.numpy.linalg`; the public names are gathered there."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as _np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.numpy import _core, _elementwise, _products, _reductions, _shape
from funcgrad.primitives import linalg_extra as _lx

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "LinAlgError",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]

LinAlgError = _np.linalg.LinAlgError


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


def _prep(a: Any, name: str, min_ndim: int = 2) -> Any:
    """Array-ify, check the rank and dtype, convert integers/bools to float64."""
    a = _core.asarray(a)
    dt = a.dtype
    if dt.kind == "c":
        raise LocatedTypeError(
            f"{name}: complex matrices are not supported by funcgrad.numpy.linalg"
        )
    if dt.kind == "f" and dt.itemsize < 4:
        raise LocatedTypeError(f"{name}: array type {dt} is unsupported in linalg; use float32/64")
    if dt.kind not in "f":
        if dt.kind not in "biu":
            raise LocatedTypeError(f"{name}: expected a numeric array, got dtype {dt}")
        a = _core.astype(a, _np.float64)
    if a.ndim < min_ndim:
        raise _np.linalg.LinAlgError(
            f"{a.ndim}-dimensional array given. Array must be at least two-dimensional"
            if min_ndim == 2
            else f"{name}: {a.ndim}-dimensional array given"
        )
    return a


def _square(a: Any, name: str) -> Any:
    a = _prep(a, name)
    if a.shape[-1] != a.shape[-2]:
        raise _np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    return a


def _swap(a: Any) -> Any:
    return _shape.swapaxes(a, -1, -2)


def _symmetrize(a: Any) -> Any:
    return _elementwise.multiply(_elementwise.add(a, _swap(a)), 0.5)


# --- solvers and inverses ------------------------------------------------------------------
def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b``; ``b`` is a vector only when 1-D (numpy 2 semantics)."""
    a = _square(a, "solve")
    b = _prep(b, "solve", min_ndim=1)
    dt = _np.result_type(a.dtype, b.dtype)
    a, b = _core.astype(a, dt), _core.astype(b, dt)
    if b.ndim == 1:
        if b.shape[0] != a.shape[-1]:
            raise LocatedValueError(
                f"solve: a has shape {a.shape} but the vector b has {b.shape[0]} entries "
                f"(needs {a.shape[-1]})"
            )
        x = _lx.solve(a, _shape.reshape(b, (b.shape[0], 1)))
        return _shape.reshape(x, x.shape[:-1])
    return _lx.solve(a, b)


def inv(a: Any) -> Any:
    """Matrix inverse (``d inv = -inv dA inv``)."""
    return _lx.inv(_square(a, "inv"))


def det(a: Any) -> Any:
    """Determinant (derivative ``det(a) * inv(a).T``; needs an invertible ``a``)."""
    return _lx.det(_square(a, "det"))


def slogdet(a: Any) -> SlogdetResult:
    """``(sign, logabsdet)``; ``sign`` has no derivative."""
    sign, logdet = _lx.slogdet(_square(a, "slogdet"))
    return SlogdetResult(sign, logdet)


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:
    """Moore–Penrose pseudo-inverse (derivative assumes a locally constant rank)."""
    a = _prep(a, "pinv")
    if rcond is not None and rtol is not None:
        raise LocatedValueError("pinv: give rcond or rtol, not both")
    cut = rcond if rcond is not None else rtol
    if cut is None:
        cut = 1e-15
    if not isinstance(cut, (int, float, _np.floating, _np.integer)):
        raise LocatedTypeError("pinv: funcgrad supports a scalar rcond/rtol only")
    return _lx.pinv(a, rcond=float(cut), hermitian=bool(hermitian))


def matrix_power(a: Any, n: int) -> Any:
    """``a`` multiplied by itself ``n`` times (``n < 0``: powers of ``inv(a)``)."""
    if not isinstance(n, (int, _np.integer)) or isinstance(n, bool):
        raise LocatedTypeError(f"matrix_power: the exponent must be an integer, got {n!r}")
    a = _core.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise _np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    n = int(n)
    if n == 0:
        return _np.broadcast_to(_np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while n:  # binary exponentiation: O(log n) matmuls
        if n & 1:
            result = base if result is None else _products.matmul(result, base)
        n >>= 1
        if n:
            base = _products.matmul(base, base)
    return result


def multi_dot(arrays: Any) -> Any:
    """Chained matrix product, left to right (1-D first/last operands as in numpy)."""
    arrays = [_core.asarray(x) for x in arrays]
    if len(arrays) < 2:
        raise LocatedValueError("multi_dot: expecting at least two arrays")
    out = arrays[0]
    for x in arrays[1:]:
        out = _products.matmul(out, x)
    return out


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Any, Any, Any, Any]:
    """Least squares ``(x, residuals, rank, s)`` via the pseudo-inverse (differentiable in
    ``a`` and ``b``)."""
    a = _prep(a, "lstsq")
    b = _prep(b, "lstsq", min_ndim=1)
    if a.ndim != 2:
        raise _np.linalg.LinAlgError(
            f"{a.ndim}-dimensional array given. Array must be two-dimensional"
        )
    if b.ndim > 2:
        raise _np.linalg.LinAlgError(
            f"{b.ndim}-dimensional array given. Array must be at most two-dimensional"
        )
    m, n = a.shape
    if b.shape[0] != m:
        raise _np.linalg.LinAlgError("Incompatible dimensions")
    dt = _np.result_type(a.dtype, b.dtype)
    a, b = _core.astype(a, dt), _core.astype(b, dt)
    if rcond is None:
        rcond = float(_np.finfo(dt).eps) * max(m, n)
    x = _products.matmul(_lx.pinv(a, rcond=float(rcond), hermitian=False), b)
    s = _lx.svdvals(a)
    smax = _reductions.max(_elementwise.stop_gradient(s)) if min(m, n) else 0.0
    rank = _reductions.sum(
        _core.astype(
            _elementwise.greater(_elementwise.stop_gradient(s), _elementwise.multiply(smax, rcond)),
            _np.int32,
        )
    )
    rank = _core.astype(rank, _np.int32)
    if m > n:
        r = _elementwise.subtract(b, _products.matmul(a, x))
        resid = _reductions.sum(_elementwise.square(r), axis=0)
        if b.ndim == 1:
            resid = _shape.reshape(resid, (1,))
    else:
        resid = _np.zeros((0,), dt)
    return x, resid, rank, s


# --- decompositions ------------------------------------------------------------------------
def cholesky(a: Any, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """Lower Cholesky factor ``L`` with ``a = L @ L.T`` (``upper=True``: ``L.T``)."""
    a = _square(a, "cholesky")
    if symmetrize_input:
        a = _symmetrize(a)
    L = _lx.cholesky(a)
    return _swap(L) if upper else L


def qr(a: Any, mode: str = "reduced") -> Any:
    """``QRResult(Q, R)`` (``mode='r'``: ``R`` only)."""
    if mode not in ("reduced", "complete", "r"):
        raise LocatedValueError(
            f"qr: unsupported mode {mode!r}; funcgrad supports 'reduced', 'complete' and 'r'"
        )
    a = _prep(a, "qr")
    q, r = _lx.qr(a, full_matrices=(mode == "complete"))
    return r if mode == "r" else QRResult(q, r)


def eigh(a: Any, UPLO: str = "L", *, symmetrize_input: bool = True) -> EighResult:  # noqa: N803
    """Eigen-decomposition of a symmetric matrix: ``EighResult(eigenvalues, eigenvectors)``,
    eigenvalues ascending."""
    if UPLO not in ("L", "U"):
        raise LocatedValueError("UPLO argument must be 'L' or 'U'")
    a = _square(a, "eigh")
    if symmetrize_input:
        a = _symmetrize(a)
    elif UPLO == "U":
        a = _swap(a)  # numpy reads the upper triangle: the lower one of the transpose
    w, v = _lx.eigh(a)
    return EighResult(w, v)


def eigvalsh(a: Any, UPLO: str = "L", *, symmetrize_input: bool = True) -> Any:  # noqa: N803
    """Eigenvalues of a symmetric matrix, ascending."""
    return eigh(a, UPLO, symmetrize_input=symmetrize_input).eigenvalues


def svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """``SVDResult(U, S, Vh)`` with ``a = U @ diag(S) @ Vh`` (or ``S`` with
    ``compute_uv=False``). Derivatives need ``full_matrices=False`` or a square ``a``."""
    a = _prep(a, "svd")
    if not compute_uv:
        return _lx.svdvals(a)
    u, s, vh = _lx.svd(a, full_matrices=bool(full_matrices))
    return SVDResult(u, s, vh)


def svdvals(x: Any) -> Any:
    """Singular values, descending."""
    return _lx.svdvals(_prep(x, "svdvals"))


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:  # noqa: N803
    """Number of singular values above the tolerance (no derivative)."""
    A = _core.asarray(A)
    if A.ndim < 2:
        return _core.astype(
            _elementwise.greater(
                _reductions.sum(_elementwise.abs(_core.astype(A, _np.float64))), 0
            ),
            _np.int64,
        )
    s = _elementwise.stop_gradient(svdvals(A))
    if tol is None:
        if rtol is None:
            rtol = max(A.shape[-2:]) * _np.finfo(s.dtype).eps
        tol = _elementwise.multiply(_reductions.max(s, axis=-1, keepdims=True), rtol)
    else:
        tol = _shape.expand_dims(_core.asarray(tol), -1) if _np.ndim(tol) else tol
    return _reductions.sum(_core.astype(_elementwise.greater(s, tol), _np.int64), axis=-1)


# --- norms ---------------------------------------------------------------------------------
def _safe_sqrt(sq: Any) -> Any:
    """``sqrt`` with derivative 0 (not inf/NaN) at 0."""
    positive = _elementwise.greater(sq, 0)
    return _elementwise.where(
        positive, _elementwise.sqrt(_elementwise.where(positive, sq, 1.0)), 0.0
    )


def _scaled_l2(x: Any, axis: Any, keepdims: bool) -> Any:
    """Euclidean norm scaled by max|x| (no underflow at 1e-200, no overflow at 1e200). The
    scale is a constant for differentiation: the norm is homogeneous, so that is exact."""
    m = _elementwise.stop_gradient(_reductions.max(_elementwise.abs(x), axis=axis, keepdims=True))
    scale = _elementwise.where(_elementwise.greater(m, 0), m, 1.0)
    r = scale * _safe_sqrt(
        _reductions.sum(_elementwise.square(x / scale), axis=axis, keepdims=True)
    )
    return r if keepdims else _shape.squeeze(r, axis=axis)


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:  # noqa: A002
    if ord is None or ord == 2:
        if x.shape[axis] == 0:
            return _safe_sqrt(_reductions.sum(_elementwise.square(x), axis=axis, keepdims=keepdims))
        return _scaled_l2(x, axis, keepdims)
    if ord == _np.inf:
        return _reductions.max(_elementwise.abs(x), axis=axis, keepdims=keepdims)
    if ord == -_np.inf:
        return _reductions.min(_elementwise.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return _reductions.sum(
            _core.astype(_elementwise.not_equal(x, 0), x.dtype), axis=axis, keepdims=keepdims
        )
    if ord == 1:
        return _reductions.sum(_elementwise.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise LocatedValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    total = _reductions.sum(
        _elementwise.power(_elementwise.abs(x), p), axis=axis, keepdims=keepdims
    )
    positive = _elementwise.greater(total, 0)
    return _elementwise.where(
        positive, _elementwise.power(_elementwise.where(positive, total, 1.0), 1.0 / p), 0.0
    )


def _matrix_norm(x: Any, ord: Any, axis: tuple[int, int], keepdims: bool) -> Any:  # noqa: A002
    nd = x.ndim
    row, col = (int(a) % nd for a in axis)
    if row == col:
        raise LocatedValueError("Duplicate axes given.")
    if ord in (None, "fro", "f"):
        ret = _safe_sqrt(_reductions.sum(_elementwise.square(x), axis=(row, col)))
    elif ord in (2, -2, "nuc"):
        s = svdvals(_shape.moveaxis(x, (row, col), (-2, -1)))
        ret = {2: _reductions.max, -2: _reductions.min, "nuc": _reductions.sum}[ord](s, axis=-1)
    elif ord in (1, -1):
        c = col - 1 if col > row else col
        red = _reductions.max if ord == 1 else _reductions.min
        ret = red(_reductions.sum(_elementwise.abs(x), axis=row), axis=c)
    elif ord in (_np.inf, -_np.inf):
        r = row - 1 if row > col else row
        red = _reductions.max if ord == _np.inf else _reductions.min
        ret = red(_reductions.sum(_elementwise.abs(x), axis=col), axis=r)
    else:
        raise LocatedValueError(f"Invalid norm order {ord!r} for matrices")
    if keepdims:
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        ret = _shape.reshape(ret, tuple(shape))
    return ret


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector norms (``ord`` None/2, 1, inf, -inf, 0, any p) along one axis; matrix norms
    (``ord`` None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf) over two axes — numpy's rules for
    ``axis=None``. The derivative at ``x = 0`` is a zero subgradient, not NaN."""
    x = _core.asarray(x)
    if x.dtype.kind not in "f":
        x = _core.astype(x, _np.float64)
    nd = x.ndim
    if axis is None:
        if ord is None:
            if x.size == 0:
                ret = _safe_sqrt(_reductions.sum(_elementwise.square(x)))
            else:
                ret = _scaled_l2(_shape.ravel(x), 0, False)
            return _shape.reshape(ret, (1,) * nd) if keepdims else ret
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise LocatedValueError("Improper number of dimensions to norm.")
    elif isinstance(axis, (int, _np.integer)):
        axis = (int(axis),)
    else:
        axis = tuple(int(a) for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis[0], keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, (axis[0], axis[1]), keepdims)
    raise LocatedValueError("Improper number of dimensions to norm.")


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    """numpy 2's ``vector_norm``: ``axis=None`` flattens."""
    x = _core.asarray(x)
    if axis is None:
        shape = x.shape
        out = norm(_shape.ravel(x), ord=ord, axis=0)
        return _shape.reshape(out, (1,) * len(shape)) if keepdims else out
    if isinstance(axis, tuple) and len(axis) > 1:
        x = _core.asarray(x)
        axes = tuple(int(a) % x.ndim for a in axis)
        rest = [i for i in range(x.ndim) if i not in axes]
        moved = _shape.transpose(x, tuple(rest) + axes)
        flat = _shape.reshape(moved, tuple(x.shape[i] for i in rest) + (-1,))
        out = norm(flat, ord=ord, axis=-1)
        if keepdims:
            out = _shape.reshape(out, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
        return out
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    """numpy 2's ``matrix_norm`` over the last two axes."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)
