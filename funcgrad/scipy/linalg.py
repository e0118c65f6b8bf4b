"""``funcgrad.scipy.linalg``: ``jax.scipy.linalg``'s names and signatures (scipy's defaults,
e.g. ``cholesky(a, lower=False)``), differentiable and batchable over leading axes.

Kernels are scipy's/numpy's LAPACK routines; derivatives are the rules of
:mod:`funcgrad.primitives.linalg_extra` and :mod:`funcgrad.primitives.linalg_scipy`
(``expm`` through its Fréchet derivative). ``schur`` and ``hessenberg`` give values only:
differentiating them raises ``NotImplementedError`` (as in JAX). Real matrices only.

>>> import numpy as np, funcgrad as fg
>>> a = np.array([[0.0, 1.0], [-1.0, 0.0]])
>>> np.round(expm(a), 6)  # a rotation by 1 radian
array([[ 0.540302,  0.841471],
       [-0.841471,  0.540302]])
>>> round(float(fg.grad(lambda t: expm(t * a)[0, 1])(1.0)), 12)  # d/dt sin(t) = cos(1)
0.540302305868
"""

from __future__ import annotations

from typing import Any

import numpy as _np

import funcgrad.numpy as _fnp
from funcgrad.core import errors as _errors
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.primitives import linalg_scipy as _ls

__all__ = [
    "block_diag",
    "cho_factor",
    "cho_solve",
    "cholesky",
    "det",
    "eigh",
    "expm",
    "expm_frechet",
    "hessenberg",
    "hilbert",
    "inv",
    "lu",
    "lu_factor",
    "lu_solve",
    "polar",
    "qr",
    "schur",
    "solve",
    "solve_sylvester",
    "solve_triangular",
    "sqrtm",
    "svd",
    "toeplitz",
]


def __dir__() -> list[str]:
    return list(__all__)


_la = _fnp.linalg


def _mat(a: Any, name: str, square: bool = True) -> Any:
    a = a if type(a) is _Tracer else _np.asarray(a)
    if a.dtype.kind == "c":
        raise _errors.LocatedTypeError(
            f"{name}: complex matrices are not supported (got {a.dtype})"
        )
    if a.dtype.kind != "f":
        a = _fnp.astype(a, _np.float64)
    if _np.ndim(a) < 2:
        raise _errors.LocatedValueError(f"{name}: expected a matrix, got shape {_np.shape(a)}")
    if square and _np.shape(a)[-1] != _np.shape(a)[-2]:
        raise _errors.LocatedValueError(
            f"{name}: expected a square matrix, got shape {_np.shape(a)}"
        )
    return a


def _swap(a: Any) -> Any:
    return _fnp.swapaxes(a, -1, -2)


def _from_triangle(a: Any, lower: bool) -> Any:
    """The symmetric matrix whose lower (upper) triangle is ``a``'s: scipy reads one triangle
    only, and so do the derivatives (the other triangle gets a zero cotangent)."""
    if lower:
        return _fnp.tril(a) + _swap(_fnp.tril(a, -1))
    return _fnp.triu(a) + _swap(_fnp.triu(a, 1))


def cholesky(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """Cholesky factor of a symmetric positive-definite matrix: upper ``U`` with
    ``a = Uᵀ U`` by default (scipy's convention), lower ``L`` with ``lower=True``. Like scipy
    (and JAX) it reads only the upper (``lower=False``) or lower triangle of ``a``."""
    a = _from_triangle(_mat(a, "cholesky"), lower)
    c = _la.cholesky(a, symmetrize_input=False)
    return c if lower else _swap(c)


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[Any, bool]:
    """``(c, lower)`` for ``cho_solve``; ``c`` is the triangular factor (zeros elsewhere)."""
    return cholesky(a, lower=lower), lower


def _rhs(b: Any, name: str) -> tuple[Any, bool]:
    b = b if type(b) is _Tracer else _np.asarray(b)
    if b.dtype.kind != "f":
        b = _fnp.astype(b, _np.float64)
    vec = _np.ndim(b) == 1
    return (b[:, None] if vec else b), vec


def solve_triangular(
    a: Any,
    b: Any,
    trans: int | str = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    debug: Any = None,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(a) x = b`` reading only one triangle of ``a``; ``trans`` is 0/'N', 1/'T'
    or 2/'C' (the same as 'T' for real matrices)."""
    codes = {0: False, "N": False, 1: True, "T": True, 2: True, "C": True}
    if trans not in codes:
        raise _errors.LocatedValueError(
            f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}"
        )
    a = _mat(a, "solve_triangular")
    b, vec = _rhs(b, "solve_triangular")
    lead = _np.broadcast_shapes(_np.shape(a)[:-2], _np.shape(b)[:-2])
    n = _np.shape(a)[-1]
    a = _fnp.broadcast_to(a, lead + (n, n))
    b = _fnp.broadcast_to(b, lead + _np.shape(b)[-2:])
    x = _ls.triangular_solve(a, b, lower, codes[trans], unit_diagonal)
    return x[..., 0] if vec else x


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``a x = b`` given ``cho_factor(a)``."""
    c, lower = c_and_lower
    if lower:
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)
    return solve_triangular(c, y, lower=False)


def solve(
    a: Any,
    b: Any,
    lower: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    debug: Any = None,
    check_finite: bool = True,
    assume_a: str = "gen",
) -> Any:
    """Solve ``a x = b``; ``assume_a`` in 'gen', 'sym', 'her', 'pos' ('pos' reads one
    triangle of ``a``, chosen by ``lower``, as scipy; 'sym'/'her' use the whole matrix: pass a
    symmetric one)."""
    if assume_a not in (
        "gen",
        "general",
        "sym",
        "symmetric",
        "her",
        "hermitian",
        "pos",
        "positive definite",
    ):
        raise _errors.LocatedValueError(f"solve: unsupported assume_a={assume_a!r}")
    a = _mat(a, "solve")
    if assume_a in ("pos", "positive definite"):
        return cho_solve(cho_factor(a, lower=lower), b)
    return _la.solve(a, b)


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """``(lu, piv)`` as scipy: packed ``L`` (unit lower, below the diagonal) and ``U``, and
    LAPACK's 0-based row interchanges (int32)."""
    packed, piv, _ = _ls.lu(_mat(a, "lu_factor"))
    return packed, piv


def _perm_from_piv(piv: Any, n: int) -> Any:
    if type(piv) is not _Tracer:
        piv = _np.asarray(piv)
        perm = _np.broadcast_to(_np.arange(n), piv.shape[:-1] + (n,)).copy()
        for idx in _np.ndindex(piv.shape[:-1]):
            for i, p in enumerate(piv[idx]):
                perm[idx + (i,)], perm[idx + (p,)] = perm[idx + (p,)], perm[idx + (i,)]
        return perm
    perm = _fnp.broadcast_to(_fnp.arange(n), _np.shape(piv)[:-1] + (n,))
    for i in range(_np.shape(piv)[-1]):
        p = piv[..., i : i + 1]
        at_i = perm[..., i : i + 1]
        at_p = _fnp.take_along_axis(perm, p, axis=-1)
        cols = _fnp.arange(n)
        perm = _fnp.where(cols == i, at_p, _fnp.where(cols == p, at_i, perm))
    return perm


def lu_solve(
    lu_and_piv: tuple[Any, Any],
    b: Any,
    trans: int = 0,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``a x = b`` (``trans=1``/``2``: ``aᵀ x = b``) given ``lu_factor(a)``."""
    packed, piv = lu_and_piv
    packed = _mat(packed, "lu_solve")
    n = _np.shape(packed)[-1]
    perm = _perm_from_piv(piv, n)
    b2, vec = _rhs(b, "lu_solve")
    # pm[..., i, j] = [perm[i] == j]: pm @ a == a[perm] (works for traced pivots too)
    pm = _fnp.astype(_fnp.expand_dims(perm, -1) == _np.arange(n), packed.dtype)
    if trans == 0:
        y = solve_triangular(packed, _fnp.matmul(pm, b2), lower=True, unit_diagonal=True)
        x = solve_triangular(packed, y, lower=False)
    elif trans in (1, 2):
        y = solve_triangular(packed, b2, trans=1, lower=False)
        z = solve_triangular(packed, y, trans=1, lower=True, unit_diagonal=True)
        x = _fnp.matmul(_swap(pm), z)
    else:
        raise _errors.LocatedValueError(f"lu_solve: trans must be 0, 1 or 2, got {trans!r}")
    return x[..., 0] if vec else x


def lu(
    a: Any, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """``(p, l, u)`` with ``a = p @ l @ u`` (square ``a``); ``permute_l=True`` gives
    ``(p @ l, u)``."""
    a = _mat(a, "lu")
    packed, _, perm = _ls.lu(a)
    n = _np.shape(a)[-1]
    low = _fnp.tril(packed, -1) + _np.eye(n, dtype=packed.dtype)
    up = _fnp.triu(packed)
    p = _fnp.astype(_swap(_fnp.expand_dims(perm, -1) == _np.arange(n)), packed.dtype)
    if permute_l:
        return _fnp.matmul(p, low), up
    return p, low, up


def qr(
    a: Any,
    overwrite_a: bool = False,
    lwork: Any = None,
    mode: str = "full",
    pivoting: bool = False,
    check_finite: bool = True,
) -> Any:
    """QR decomposition; ``mode`` 'full' (default), 'economic' or 'r' (returns ``(r,)``)."""
    if pivoting:
        raise _errors.LocatedNotImplementedError("qr: pivoting=True is not supported (as in JAX)")
    a = _mat(a, "qr", square=False)
    if mode == "full":
        return tuple(_la.qr(a, mode="complete"))
    if mode == "economic":
        return tuple(_la.qr(a, mode="reduced"))
    if mode == "r":
        return (_la.qr(a, mode="complete")[1],)
    raise _errors.LocatedValueError(f"qr: mode must be 'full', 'economic' or 'r', got {mode!r}")


def svd(
    a: Any,
    full_matrices: bool = True,
    compute_uv: bool = True,
    overwrite_a: bool = False,
    check_finite: bool = True,
    lapack_driver: str = "gesdd",
) -> Any:
    """``(u, s, vh)`` (or ``s`` with ``compute_uv=False``)."""
    a = _mat(a, "svd", square=False)
    if not compute_uv:
        return _la.svdvals(a)
    return tuple(_la.svd(a, full_matrices=full_matrices))


def eigh(
    a: Any,
    b: Any = None,
    lower: bool = True,
    eigvals_only: bool = False,
    overwrite_a: bool = False,
    overwrite_b: bool = False,
    turbo: bool = True,
    eigvals: Any = None,
    type: int = 1,  # noqa: A002 - scipy's name
    check_finite: bool = True,
) -> Any:
    """Eigenvalues (ascending) and eigenvectors of a symmetric ``a``; with ``b`` (symmetric
    positive definite) the generalized problem ``a v = w b v`` (``type=1``)."""
    if eigvals is not None or type != 1:
        raise _errors.LocatedNotImplementedError("eigh: eigvals= and type != 1 are not supported")
    a = _mat(a, "eigh")
    a = _fnp.tril(a) + _swap(_fnp.tril(a, -1)) if lower else _fnp.triu(a) + _swap(_fnp.triu(a, 1))
    if b is None:
        w, v = _la.eigh(a, symmetrize_input=False)
    else:
        c = _la.cholesky(_from_triangle(_mat(b, "eigh"), lower), symmetrize_input=False)
        ct = _swap(solve_triangular(c, _swap(solve_triangular(c, a, lower=True)), lower=True))
        w, v = _la.eigh(ct)
        v = solve_triangular(c, v, trans=1, lower=True)
    return w if eigvals_only else (w, v)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """Matrix inverse."""
    return _la.inv(_mat(a, "inv"))


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """Determinant."""
    return _la.det(_mat(a, "det"))


def expm(A: Any, *, upper_triangular: bool = False, max_squarings: int = 16) -> Any:  # noqa: N803
    """Matrix exponential (scipy's Padé scaling-and-squaring); differentiable through its
    Fréchet derivative, to any order."""
    return _ls.expm(_mat(A, "expm"))


def expm_frechet(
    A: Any,  # noqa: N803
    E: Any,  # noqa: N803
    method: Any = None,
    compute_expm: bool = True,
    check_finite: bool = True,
) -> Any:
    """``(expm(A), L(A, E))`` — the Fréchet derivative of ``expm`` at ``A`` along ``E``
    (only ``L`` with ``compute_expm=False``)."""
    a, e = _mat(A, "expm_frechet"), _mat(E, "expm_frechet")
    big = _ls.frechet(a, e)
    return (_ls.expm(a), big) if compute_expm else big


def sqrtm(A: Any, blocksize: int = 1) -> Any:  # noqa: N803
    """Principal matrix square root (real results only); differentiable (Sylvester
    equation), assuming no eigenvalue pair sums to zero."""
    return _ls.sqrtm(_mat(A, "sqrtm"))


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """Solve ``a x + x b = q`` (Bartels-Stewart, scipy's kernel); differentiable in all three
    (the derivative solves Sylvester equations again)."""
    return _ls.solve_sylvester(
        _mat(a, "solve_sylvester"), _mat(b, "solve_sylvester"), _mat(q, "solve_sylvester", False)
    )


def schur(a: Any, output: str = "real") -> tuple[Any, Any]:
    """Real Schur form ``(T, Z)`` with ``a = Z T Zᵀ`` (values only, not differentiable)."""
    if output != "real":
        raise _errors.LocatedNotImplementedError(
            "schur: only output='real' is supported (no complex)"
        )
    t, z = _ls.schur(_mat(a, "schur"))
    return t, z


def hessenberg(
    a: Any, calc_q: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> Any:
    """Upper Hessenberg form ``H`` (and ``Q`` with ``calc_q``, ``a = Q H Qᵀ``); values only."""
    h, q = _ls.hessenberg(_mat(a, "hessenberg"))
    return (h, q) if calc_q else h


def polar(a: Any, side: str = "right", *, method: str = "svd") -> tuple[Any, Any]:
    """Polar decomposition ``a = u p`` (``side='right'``) or ``a = p u`` (``'left'``), from
    the SVD (so differentiable where the singular values are distinct)."""
    if side not in ("right", "left"):
        raise _errors.LocatedValueError(f"polar: side must be 'right' or 'left', got {side!r}")
    if method != "svd":
        raise _errors.LocatedNotImplementedError("polar: only method='svd' is supported")
    a = _mat(a, "polar", square=False)
    uu, s, vh = _la.svd(a, full_matrices=False)
    u = _fnp.matmul(uu, vh)
    if side == "right":
        p = _fnp.matmul(_swap(vh) * s[..., None, :], vh)
    else:
        p = _fnp.matmul(uu * s[..., None, :], _swap(uu))
    return u, p


def block_diag(*arrs: Any) -> Any:
    """Block-diagonal matrix of the given 0-, 1- or 2-d arrays (scipy's shapes rules)."""
    if not arrs:
        return _np.zeros((1, 0))
    mats = []
    for x in arrs:
        x = x if type(x) is _Tracer else _np.asarray(x)
        if _np.ndim(x) > 2:
            raise _errors.LocatedValueError(
                f"block_diag: arguments must have 2 or fewer dimensions, got shape {_np.shape(x)}"
            )
        mats.append(_fnp.atleast_2d(x))
    cols = sum(_np.shape(m)[1] for m in mats)
    rows = []
    left = 0
    for m in mats:
        r, c = _np.shape(m)
        rows.append(_fnp.pad(m, ((0, 0), (left, cols - left - c))))
        left += c
    return _fnp.concatenate(rows, axis=0)


def toeplitz(c: Any, r: Any = None) -> Any:
    """Toeplitz matrix with first column ``c`` and first row ``r`` (``r[0]`` ignored);
    ``r=None`` gives the symmetric one, as scipy (no conjugation: real inputs)."""
    c = _fnp.ravel(c if type(c) is _Tracer else _np.asarray(c))
    r = c if r is None else _fnp.ravel(r if type(r) is _Tracer else _np.asarray(r))
    m, n = _np.shape(c)[0], _np.shape(r)[0]
    vals = _fnp.concatenate([_fnp.flip(c), r[1:]])  # vals[m - 1 - i + j] = entry (i, j)
    idx = (m - 1) - _np.arange(m)[:, None] + _np.arange(n)[None, :]
    return vals[idx]


def hilbert(n: int) -> _np.ndarray:
    """The n x n Hilbert matrix ``1 / (i + j + 1)`` (a constant)."""
    i = _np.arange(n)
    return 1.0 / (i[:, None] + i[None, :] + 1.0)
