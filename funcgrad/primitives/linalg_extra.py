"""Linear-algebra primitives beyond matmul: solve, inv, det, slogdet, cholesky, qr, eigh, svd,
singular values and pinv.

All act on the last two axes and broadcast over leading (batch) axes, as ``numpy.linalg``
does, so a batching rule only moves the batch axis to the front. Inputs are real floating
matrices (float32 or float64; the ``funcgrad.numpy.linalg`` wrappers convert integers).

Derivative rules (real case) follow the standard derivations (Giles 2008; Murray 2016 for
Cholesky; Walter & Lehmann / Seeger et al. for QR; Townsend 2016 for the SVD), as used by
JAX and autograd. They are written with the op functions, so they are differentiable again.

Conventions and limits:

* ``cholesky`` and ``eigh`` assume a symmetric input; their tangents/cotangents are those of
  the function on symmetric matrices (the ``funcgrad.numpy.linalg`` wrappers symmetrize the
  input, as ``jax.numpy.linalg`` does).
* ``eigh`` / ``svd``: eigenvector / singular-vector derivatives assume distinct eigenvalues /
  singular values. Terms for exactly equal pairs are set to 0 (instead of inf/NaN), which is
  right for functions invariant to the choice of basis of a degenerate subspace.
* ``qr`` derivatives: square or tall matrices (m >= n) in reduced mode only.
* ``svd`` derivatives: ``full_matrices=False`` (or square matrices) only.
* ``pinv``'s derivative assumes the rank is locally constant (e.g. full rank).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import define
from funcgrad.primitives.elementwise import (
    add,
    batch_elementwise,
    div,
    eq,
    mul,
    neg,
    select,
    sub,
)
from funcgrad.primitives.linalg import matmul
from funcgrad.primitives.structural import moveaxis_to_front, reduce_sum, reshape, transpose

__all__ = [
    "solve",
    "inv",
    "det",
    "slogdet",
    "cholesky",
    "qr",
    "eigh",
    "svd",
    "svdvals",
    "pinv",
]


# --- small array helpers (all through bind, so usable on tracers) -----------------------------
def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype(x: Any) -> np.dtype:
    return x.dtype


def _T(x: Any) -> Any:
    """Swap the last two axes."""
    nd = len(_shape(x))
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _eye(n: int, x: Any) -> np.ndarray:
    return np.eye(n, dtype=_dtype(x))


def _diag_part(x: Any) -> Any:
    """Diagonal of the last two axes (square)."""
    n = _shape(x)[-1]
    return reduce_sum(mul(x, _eye(n, x)), (len(_shape(x)) - 1,))


def _diag_embed(v: Any) -> Any:
    """Vector(s) ``v[..., n]`` -> diagonal matrices ``[..., n, n]``."""
    s = _shape(v)
    return mul(reshape(v, s[:-1] + (1, s[-1])), _eye(s[-1], v))


def _trace(x: Any) -> Any:
    return reduce_sum(_diag_part(x), (len(_shape(x)) - 2,))


def _tril_mask(n: int, k: int, x: Any, diag: float = 1.0) -> np.ndarray:
    m = np.tril(np.ones((n, n), dtype=_dtype(x)), k)
    if diag != 1.0:
        m[np.diag_indices(n)] = diag
    return m


def _tril(x: Any, k: int = 0) -> Any:
    return mul(x, _tril_mask(_shape(x)[-1], k, x))


def _col(x: Any) -> Any:
    """``x[..., None, :]`` — scales matrix columns when multiplied."""
    s = _shape(x)
    return reshape(x, s[:-1] + (1, s[-1]))


def _row(x: Any) -> Any:
    """``x[..., :, None]`` — scales matrix rows when multiplied."""
    s = _shape(x)
    return reshape(x, s + (1,))


def _expand2(x: Any) -> Any:
    """``x[..., None, None]``."""
    return reshape(x, _shape(x) + (1, 1))


def _sym(x: Any) -> Any:
    return mul(add(x, _T(x)), 0.5)


def _safe_reciprocal_diff(d: Any) -> Any:
    """``1/d`` where ``d != 0`` and 0 where ``d == 0`` (degenerate pairs, diagonal)."""
    zero = eq(d, 0.0)
    return select(zero, 0.0, div(1.0, select(zero, 1.0, d)))


def _pairwise_inv_diff(w: Any) -> Any:
    """``F[..., i, j] = 1 / (w_j - w_i)``, 0 on equal pairs."""
    return _safe_reciprocal_diff(sub(_col(w), _row(w)))


# --- shape-rule helpers -----------------------------------------------------------------------
def _check_matrix(name: str, a: ShapedArray, square: bool = True) -> None:
    if a.dtype.kind != "f" or a.dtype.itemsize < 4:
        raise LocatedTypeError(
            f"{name}: expected a float32 or float64 array, got {a}; convert with "
            ".astype(np.float64) (complex and float16 matrices are not supported)"
        )
    if a.ndim < 2:
        raise LocatedValueError(
            f"{name}: {a.ndim}-dimensional array given; the array must be at least "
            "two-dimensional (a matrix, or a stack of matrices in the leading axes)"
        )
    if square and a.shape[-1] != a.shape[-2]:
        raise LocatedValueError(
            f"{name}: the last two dimensions of {a} must be square, got "
            f"{a.shape[-2]}x{a.shape[-1]}"
        )


def _batch_front(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, Any]:
    """Batching rule for one-operand primitives that broadcast over leading axes."""
    (x,), (d,) = args, dims
    out = bind(prim, moveaxis_to_front(x, d), **params)
    return (out, [0] * len(out)) if prim.multiple_results else (out, 0)


# --- inv -------------------------------------------------------------------------------------
def inv(a: Any) -> Any:
    return bind(inv_p, a)


def _inv_shape(a: ShapedArray) -> ShapedArray:
    _check_matrix("inv", a)
    return ShapedArray(a.shape, a.dtype)


inv_p = define(
    "inv",
    np.linalg.inv,
    _inv_shape,
    # d(A^-1) = -A^-1 dA A^-1;  cotangent: -A^-T G A^-T
    vjp=(lambda g, ans, a: neg(matmul(matmul(_T(ans), g), _T(ans))),),
    jvp=(lambda t, ans, a: neg(matmul(matmul(ans, t), ans)),),
    batch=_batch_front,
    emit="np.linalg.inv({0})",
    fresh=True,
)


# --- solve -----------------------------------------------------------------------------------
def solve(a: Any, b: Any) -> Any:
    """``A X = B`` for matrices ``b[..., M, K]`` (batch axes broadcast)."""
    return bind(solve_p, a, b)


def _solve_shape(a: ShapedArray, b: ShapedArray) -> ShapedArray:
    _check_matrix("solve", a)
    _check_matrix("solve", b, square=False)
    if b.shape[-2] != a.shape[-1]:
        raise LocatedValueError(
            f"solve: the matrix {a} and the right-hand side {b} do not match: b needs "
            f"{a.shape[-1]} rows (b.shape[-2])"
        )
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise LocatedValueError(
            f"solve: batch dimensions of {a} and {b} do not broadcast"
        ) from None
    return ShapedArray(batch + b.shape[-2:], np.result_type(a.dtype, b.dtype))


def _solve_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    a, _ = args
    ct_b = solve(_T(a), g)  # shared by both cotangents
    ct_a = neg(matmul(ct_b, _T(ans))) if needs[0] else None
    return [ct_a, ct_b if needs[1] else None]


def _solve_batch(prim: Any, args: Any, dims: Any) -> tuple[Any, int]:

    return batch_elementwise(prim, args, dims)


solve_p = define(
    "solve",
    np.linalg.solve,
    _solve_shape,
    vjp_full=_solve_vjp,
    jvp=(
        lambda t, ans, a, b: neg(solve(a, matmul(t, ans))),
        lambda t, ans, a, b: solve(a, t),
    ),
    batch=_solve_batch,
    emit="np.linalg.solve({0}, {1})",
    fresh=True,
)


# --- det / slogdet ---------------------------------------------------------------------------
def det(a: Any) -> Any:
    return bind(det_p, a)


def _det_shape(a: ShapedArray) -> ShapedArray:
    _check_matrix("det", a)
    return ShapedArray(a.shape[:-2], a.dtype)


det_p = define(
    "det",
    np.linalg.det,
    _det_shape,
    # d det = det * tr(A^-1 dA);  cotangent: g det A^-T  (needs A invertible)
    vjp=(lambda g, ans, a: mul(_expand2(mul(g, ans)), _T(inv(a))),),
    jvp=(lambda t, ans, a: mul(ans, _trace(solve(a, t))),),
    batch=_batch_front,
    emit="np.linalg.det({0})",
    fresh=True,
)


def slogdet(a: Any) -> Any:
    return bind(slogdet_p, a)


def _slogdet_shape(a: ShapedArray) -> list[ShapedArray]:
    _check_matrix("slogdet", a)
    return [ShapedArray(a.shape[:-2], a.dtype), ShapedArray(a.shape[:-2], a.dtype)]


def _slogdet_impl(a: Any) -> tuple[Any, Any]:
    sign, logabsdet = np.linalg.slogdet(a)
    return sign, logabsdet


def _slogdet_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    g_log = g[1]  # the sign is piecewise constant: no derivative
    if g_log is None:
        return [None]
    return [mul(_expand2(g_log), _T(inv(args[0])))]


def _slogdet_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    return [None, _trace(solve(ins[0], tangents[0]))]


slogdet_p = define(
    "slogdet",
    _slogdet_impl,
    _slogdet_shape,
    vjp_full=_slogdet_vjp,
    jvp_full=_slogdet_jvp,
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)


# --- cholesky --------------------------------------------------------------------------------
def cholesky(a: Any) -> Any:
    return bind(cholesky_p, a)


def _cholesky_shape(a: ShapedArray) -> ShapedArray:
    _check_matrix("cholesky", a)
    return ShapedArray(a.shape, a.dtype)


def _phi(x: Any) -> Any:
    """Lower triangle with the diagonal halved."""
    return mul(x, _tril_mask(_shape(x)[-1], 0, x, diag=0.5))


def _cholesky_jvp(t: Any, L: Any, a: Any) -> Any:
    # dL = L Phi(L^-1 sym(dA) L^-T)
    tmp = solve(L, _sym(t))
    return matmul(L, _phi(_T(solve(L, _T(tmp)))))


def _cholesky_vjp(g: Any, L: Any, a: Any) -> Any:
    # transpose of the JVP: sym(L^-T Phi(L^T G) L^-1)
    p = _phi(matmul(_T(L), g))
    return _sym(solve(_T(L), _T(solve(_T(L), _T(p)))))


cholesky_p = define(
    "cholesky",
    np.linalg.cholesky,
    _cholesky_shape,
    vjp=(_cholesky_vjp,),
    jvp=(_cholesky_jvp,),
    batch=_batch_front,
    emit="np.linalg.cholesky({0})",
    fresh=True,
)


# --- qr ----------------------------------------------------------------------------------------
def qr(a: Any, full_matrices: bool = False) -> Any:
    """``[Q, R]`` of ``a`` (reduced unless ``full_matrices``)."""
    return bind(qr_p, a, full_matrices=bool(full_matrices))


def _qr_shape(a: ShapedArray, *, full_matrices: bool) -> list[ShapedArray]:
    _check_matrix("qr", a, square=False)
    m, n = a.shape[-2:]
    k = m if full_matrices else min(m, n)
    b = a.shape[:-2]
    return [ShapedArray(b + (m, k), a.dtype), ShapedArray(b + (k, n), a.dtype)]


def _qr_impl(a: Any, *, full_matrices: bool) -> tuple[Any, Any]:
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return q, r


def _qr_check_diff(a: Any, full_matrices: bool) -> None:
    m, n = _shape(a)[-2:]
    if m < n or (full_matrices and m != n):
        raise LocatedNotImplementedError(
            f"qr: derivatives are implemented for square or tall matrices (m >= n) in reduced "
            f"mode only, got a {m}x{n} matrix with mode="
            f"{'complete' if full_matrices else 'reduced'}"
        )


def _r_inv_right(x: Any, r: Any) -> Any:
    """``x R^-1`` as a solve."""
    return _T(solve(_T(r), _T(x)))


def _qr_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    (a,), (t,), (q, r) = ins, tangents, outs
    _qr_check_diff(a, params["full_matrices"])
    dx_rinv = _r_inv_right(t, r)
    c = matmul(_T(q), dx_rinv)
    low = _tril(c, -1)
    omega = sub(low, _T(low))  # skew-symmetric
    dq = add(matmul(q, sub(omega, c)), dx_rinv)
    dr = matmul(sub(c, omega), r)
    return [dq, dr]


def _qr_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    (a,), (q, r) = args, ans
    _qr_check_diff(a, params["full_matrices"])
    gq, gr = g
    # M = Rbar R^T - Q^T Qbar;  Cbar = M - tril(M - M^T, -1);  Abar = (Qbar + Q Cbar) R^-T
    terms = []
    if gr is not None:
        terms.append(matmul(gr, _T(r)))
    if gq is not None:
        terms.append(neg(matmul(_T(q), gq)))
    m = terms[0] if len(terms) == 1 else add(terms[0], terms[1])
    cbar = sub(m, _tril(sub(m, _T(m)), -1))
    x = matmul(q, cbar)
    if gq is not None:
        x = add(gq, x)
    return [_T(solve(r, _T(x)))]


qr_p = define(
    "qr",
    _qr_impl,
    _qr_shape,
    vjp_full=_qr_vjp,
    jvp_full=_qr_jvp,
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)


# --- eigh --------------------------------------------------------------------------------------
def eigh(a: Any) -> Any:
    """``[w, V]`` of a symmetric matrix (eigenvalues ascending, as numpy)."""
    return bind(eigh_p, a)


def _eigh_shape(a: ShapedArray) -> list[ShapedArray]:
    _check_matrix("eigh", a)
    return [ShapedArray(a.shape[:-1], a.dtype), ShapedArray(a.shape, a.dtype)]


def _eigh_impl(a: Any) -> tuple[Any, Any]:
    w, v = np.linalg.eigh(a)
    return w, v


def _eigh_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    (t,), (w, v) = tangents, outs
    vdv = matmul(matmul(_T(v), t), v)
    dw = _diag_part(vdv)
    dv = matmul(v, mul(_pairwise_inv_diff(w), vdv))
    return [dw, dv]


def _eigh_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    gw, gv = g
    w, v = ans
    # Abar = V (diag(wbar) + F o (V^T Vbar)) V^T
    inner = None
    if gw is not None:
        inner = _diag_embed(gw)
    if gv is not None:
        f_term = mul(_pairwise_inv_diff(w), matmul(_T(v), gv))
        inner = f_term if inner is None else add(inner, f_term)
    return [matmul(matmul(v, inner), _T(v))]


eigh_p = define(
    "eigh",
    _eigh_impl,
    _eigh_shape,
    vjp_full=_eigh_vjp,
    jvp_full=_eigh_jvp,
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)


# --- svd ---------------------------------------------------------------------------------------
def svd(a: Any, full_matrices: bool = False) -> Any:
    """``[U, S, Vh]`` with ``A = U diag(S) Vh``."""
    return bind(svd_p, a, full_matrices=bool(full_matrices))


def _svd_shape(a: ShapedArray, *, full_matrices: bool) -> list[ShapedArray]:
    _check_matrix("svd", a, square=False)
    m, n = a.shape[-2:]
    k = min(m, n)
    b = a.shape[:-2]
    if full_matrices:
        return [
            ShapedArray(b + (m, m), a.dtype),
            ShapedArray(b + (k,), a.dtype),
            ShapedArray(b + (n, n), a.dtype),
        ]
    return [
        ShapedArray(b + (m, k), a.dtype),
        ShapedArray(b + (k,), a.dtype),
        ShapedArray(b + (k, n), a.dtype),
    ]


def _svd_impl(a: Any, *, full_matrices: bool) -> tuple[Any, Any, Any]:
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


def _svd_check_diff(a: Any, full_matrices: bool) -> None:
    m, n = _shape(a)[-2:]
    if full_matrices and m != n:
        raise LocatedNotImplementedError(
            f"svd: derivatives of the full_matrices=True decomposition of a non-square "
            f"({m}x{n}) matrix are not defined; use full_matrices=False"
        )


def _safe_inv(s: Any) -> Any:
    return _safe_reciprocal_diff(s)


def _svd_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    (a,), (t,), (u, s, vh) = ins, tangents, outs
    _svd_check_diff(a, params["full_matrices"])
    v = _T(vh)
    m, n = _shape(a)[-2:]
    ds_mat = matmul(matmul(_T(u), t), v)  # U^T dA V  (k x k)
    ds = _diag_part(ds_mat)
    s_col = _col(s)
    f = _safe_reciprocal_diff(mul(add(s_col, _row(s)), sub(s_col, _row(s))))  # 1/(s_j^2-s_i^2)
    dss = mul(s_col, ds_mat)  # dS diag(s)
    sds = mul(_row(s), ds_mat)  # diag(s) dS
    du = matmul(u, mul(f, add(dss, _T(dss))))
    dv = matmul(v, mul(f, add(sds, _T(sds))))
    s_inv = _col(_safe_inv(s))
    if m > n:
        dav = matmul(t, v)
        du = add(du, mul(sub(dav, matmul(u, matmul(_T(u), dav))), s_inv))
    if n > m:
        dau = matmul(_T(t), u)
        dv = add(dv, mul(sub(dau, matmul(v, matmul(vh, dau))), s_inv))
    return [du, ds, _T(dv)]


def _svd_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    (a,), (u, s, vh) = args, ans
    _svd_check_diff(a, params["full_matrices"])
    gu, gs, gvh = g
    v = _T(vh)
    m, n = _shape(a)[-2:]
    s_col, s_row = _col(s), _row(s)
    f = _safe_reciprocal_diff(mul(add(s_col, s_row), sub(s_col, s_row)))
    inner = None

    def plus(x: Any, y: Any) -> Any:
        return y if x is None else add(x, y)

    if gs is not None:
        inner = _diag_embed(gs)
    if gu is not None:
        utgu = matmul(_T(u), gu)
        inner = plus(inner, mul(mul(f, sub(utgu, _T(utgu))), s_col))
    if gvh is not None:
        gv = _T(gvh)
        vtgv = matmul(_T(v), gv)
        inner = plus(inner, mul(s_row, mul(f, sub(vtgv, _T(vtgv)))))
    out = matmul(matmul(u, inner), vh) if inner is not None else None
    s_inv = _col(_safe_inv(s))
    if gu is not None and m > n:
        # (I - U U^T) Ubar S^-1 V^T
        proj = sub(gu, matmul(u, matmul(_T(u), gu)))
        out = plus(out, matmul(mul(proj, s_inv), vh))
    if gvh is not None and n > m:
        # U S^-1 Vbar^T (I - V V^T)
        gv = _T(gvh)
        proj = sub(gv, matmul(v, matmul(vh, gv)))  # (I - V V^T) Vbar
        out = plus(out, matmul(mul(u, s_inv), _T(proj)))
    return [out]


svd_p = define(
    "svd",
    _svd_impl,
    _svd_shape,
    vjp_full=_svd_vjp,
    jvp_full=_svd_jvp,
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)


# --- singular values only ------------------------------------------------------------------
def svdvals(a: Any) -> Any:
    return bind(svdvals_p, a)


def _svdvals_shape(a: ShapedArray) -> ShapedArray:
    _check_matrix("svd", a, square=False)
    return ShapedArray(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)


def _svdvals_jvp(t: Any, s: Any, a: Any) -> Any:
    u, _, vh = svd(a)
    return _diag_part(matmul(matmul(_T(u), t), _T(vh)))


def _svdvals_vjp(g: Any, s: Any, a: Any) -> Any:
    u, _, vh = svd(a)
    return matmul(mul(u, _col(g)), vh)


svdvals_p = define(
    "svdvals",
    lambda a: np.linalg.svd(a, compute_uv=False),
    _svdvals_shape,
    vjp=(_svdvals_vjp,),
    jvp=(_svdvals_jvp,),
    batch=_batch_front,
    emit="np.linalg.svd({0}, compute_uv=False)",
    fresh=True,
)


# --- pinv ----------------------------------------------------------------------------------------
def pinv(a: Any, rcond: float = 1e-15, hermitian: bool = False) -> Any:
    return bind(pinv_p, a, rcond=float(rcond), hermitian=bool(hermitian))


def _pinv_shape(a: ShapedArray, *, rcond: float, hermitian: bool) -> ShapedArray:
    _check_matrix("pinv", a, square=hermitian)
    return ShapedArray(a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype)


def _pinv_jvp(t: Any, p: Any, a: Any, *, rcond: float, hermitian: bool) -> Any:
    # Golub & Pereyra: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
    pdap = matmul(matmul(p, t), p)
    tt = _T(t)
    x = matmul(tt, sub(np.eye(_shape(a)[-2], dtype=_dtype(p)), matmul(a, p)))
    term2 = matmul(matmul(p, _T(p)), x)
    y = matmul(tt, matmul(_T(p), p))
    term3 = sub(y, matmul(p, matmul(a, y)))
    return add(neg(pdap), add(term2, term3))


def _pinv_vjp(g: Any, p: Any, a: Any, *, rcond: float, hermitian: bool) -> Any:
    # Abar = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)
    pt = _T(p)
    gt = _T(g)
    term1 = neg(matmul(matmul(pt, g), pt))
    x = matmul(gt, matmul(p, pt))
    term2 = sub(x, matmul(a, matmul(p, x)))
    y = matmul(matmul(pt, p), gt)
    term3 = sub(y, matmul(matmul(y, p), a))
    return add(term1, add(term2, term3))


pinv_p = define(
    "pinv",
    lambda a, *, rcond, hermitian: np.linalg.pinv(a, rcond=rcond, hermitian=hermitian),
    _pinv_shape,
    vjp=(_pinv_vjp,),
    jvp=(_pinv_jvp,),
    batch=_batch_front,
    emit="np.linalg.pinv({0}, rcond={rcond}, hermitian={hermitian})",
    fresh=True,
)
