"""Linear-algebra primitives whose kernels come from ``scipy.linalg``: triangular solve, LU,
matrix exponential, matrix square root, Sylvester equations, and the (non-differentiable)
Schur and Hessenberg decompositions.

Like :mod:`.special`, this family imports scipy at the top and is registered when
``funcgrad.scipy`` is imported (never by the numpy-only core). Matrices are real floating;
leading axes are batch axes (the impls loop over them where scipy does not).

Derivatives (written with other primitives, so they can be differentiated again):

* ``triangular_solve``: ``X = op(A)^-1 B`` with ``A`` read from one triangle; the cotangent
  of ``A`` is confined to that triangle (and off the diagonal for ``unit_diagonal``).
* ``lu`` (square matrices): with ``A[perm] = L U`` and ``F = L^-1 dA[perm] U^-1``,
  ``d(lu) = L tril(F, -1) + triu(F) U`` (the packed ``L - I + U``).
* ``expm``: the Fréchet derivative ``L(A, E)``, the top-right block of
  ``expm([[A, E], [0, A]])`` (Higham); its transpose is ``L(Aᵀ, G)``.
* ``sqrtm``: ``X dX + dX X = dA``, a Sylvester equation (``solve_sylvester``); assumes
  the principal square root is real and no two eigenvalues of ``X`` sum to zero.
* ``solve_sylvester`` (``A X + X B = Q``): ``dX`` solves ``A dX + dX B = dQ - dA X - X dB``;
  the transpose solves ``Aᵀ Y + Y Bᵀ = G``.
* ``schur`` / ``hessenberg`` raise ``NotImplementedError`` when differentiated (as in JAX).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg as _sl

from funcgrad.core.errors import LocatedNotImplementedError, LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.tracer import bind
from funcgrad.primitives.base import define
from funcgrad.primitives.elementwise import add, convert_element_type, eq, mul, neg
from funcgrad.primitives.linalg import matmul
from funcgrad.primitives.structural import broadcast_to, moveaxis_to_front, reshape, transpose

__all__ = [
    "triangular_solve",
    "lu",
    "expm",
    "sqrtm",
    "solve_sylvester",
    "schur",
    "hessenberg",
]


# --- helpers -----------------------------------------------------------------------------
def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _T(x: Any) -> Any:
    nd = len(_shape(x))
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _mask(x: Any, lower: bool, k: int = 0) -> Any:
    """Keep one triangle of ``x`` (``k`` as numpy's tril/triu offset)."""
    n = _shape(x)[-1]
    m = np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), k)
    return mul(x, m.astype(x.dtype))


def _check_square(name: str, a: ShapedArray) -> None:
    if len(a.shape) < 2 or a.shape[-1] != a.shape[-2]:
        raise LocatedValueError(f"{name}: expected a square matrix (or a stack of them), got {a}")
    if a.dtype.kind != "f":
        raise LocatedTypeError(f"{name}: expected a real floating matrix, got {a}")


def _batched(fn: Any, a: np.ndarray, n_out: int = 1) -> Any:
    """Apply a 2-D scipy routine over the leading axes of ``a``."""
    a = np.asarray(a)
    if a.ndim == 2:
        return fn(a)
    lead = a.shape[:-2]
    results = [fn(a[i]) for i in np.ndindex(lead)]
    if n_out == 1:
        return np.stack(results).reshape(lead + results[0].shape)
    return tuple(
        np.stack([r[j] for r in results]).reshape(lead + results[0][j].shape) for j in range(n_out)
    )


def _batch_front(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, Any]:
    (x,), (d,) = args, dims
    out = bind(prim, moveaxis_to_front(x, d), **params)
    return (out, [0] * len(out)) if prim.multiple_results else (out, 0)


def _not_differentiable(name: str) -> Any:
    def rule(*args: Any, **kw: Any) -> Any:
        raise LocatedNotImplementedError(
            f"{name}: differentiation is not implemented (JAX has no derivative rule for it "
            "either); apply it to constants or wrap the input in stop_gradient"
        )

    return rule


# --- triangular solve ----------------------------------------------------------------------
def triangular_solve(
    a: Any, b: Any, lower: bool, trans: bool = False, unit_diagonal: bool = False
) -> Any:
    """``op(A) X = B`` for ``b[..., n, k]``, ``op(A) = A`` or ``Aᵀ`` (``trans``), with ``A``
    read from its lower or upper triangle."""
    return bind(
        triangular_solve_p,
        a,
        b,
        lower=bool(lower),
        trans=bool(trans),
        unit_diagonal=bool(unit_diagonal),
    )


def _ts_shape(
    a: ShapedArray, b: ShapedArray, *, lower: bool, trans: bool, unit_diagonal: bool
) -> ShapedArray:
    _check_square("solve_triangular", a)
    if len(b.shape) < 2 or b.shape[-2] != a.shape[-1]:
        raise LocatedValueError(
            f"solve_triangular: the right-hand side {b} does not match the matrix {a} "
            f"(it needs {a.shape[-1]} rows)"
        )
    if a.shape[:-2] != b.shape[:-2]:
        raise LocatedValueError(f"solve_triangular: batch axes of {a} and {b} differ")
    return ShapedArray(b.shape, np.result_type(a.dtype, b.dtype))


def _ts_impl(a: Any, b: Any, *, lower: bool, trans: bool, unit_diagonal: bool) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    dt = np.result_type(a.dtype, b.dtype)
    if a.ndim == 2:
        return _sl.solve_triangular(
            a, b, trans=int(trans), lower=lower, unit_diagonal=unit_diagonal
        ).astype(dt, copy=False)
    out = np.empty(b.shape, dt)
    for i in np.ndindex(a.shape[:-2]):
        out[i] = _sl.solve_triangular(
            a[i], b[i], trans=int(trans), lower=lower, unit_diagonal=unit_diagonal
        )
    return out


def _tri(x: Any, lower: bool, unit_diagonal: bool) -> Any:
    """The part of a matrix that the solve reads."""
    return _mask(x, lower, (-1 if lower else 1) if unit_diagonal else 0)


def _ts_jvp_a(
    t: Any, ans: Any, a: Any, b: Any, *, lower: bool, trans: bool, unit_diagonal: bool
) -> Any:
    dt = _tri(t, lower, unit_diagonal)
    return neg(
        triangular_solve(a, matmul(_T(dt) if trans else dt, ans), lower, trans, unit_diagonal)
    )


def _ts_jvp_b(
    t: Any, ans: Any, a: Any, b: Any, *, lower: bool, trans: bool, unit_diagonal: bool
) -> Any:
    return triangular_solve(a, t, lower, trans, unit_diagonal)


def _ts_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    a, _ = args
    lower, trans, unit = params["lower"], params["trans"], params["unit_diagonal"]
    ct_b = triangular_solve(a, g, lower, not trans, unit)
    ct_a = None
    if needs[0]:
        outer = matmul(ans, _T(ct_b)) if trans else matmul(ct_b, _T(ans))
        ct_a = neg(_tri(outer, lower, unit))
    return [ct_a, ct_b if needs[1] else None]


def _ts_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    size = next(np.shape(x)[d] for x, d in zip(args, dims) if d is not None)
    new = []
    for x, d in zip(args, dims):
        if d is None:
            x = broadcast_to(x, (size,) + _shape(x))
        else:
            x = moveaxis_to_front(x, d)
        new.append(x)
    return bind(prim, *new, **params), 0


triangular_solve_p = define(
    "triangular_solve",
    _ts_impl,
    _ts_shape,
    vjp_full=_ts_vjp,
    jvp=(_ts_jvp_a, _ts_jvp_b),
    batch=_ts_batch,
    fresh=True,
)


# --- LU ------------------------------------------------------------------------------------
def lu(a: Any) -> Any:
    """``[lu, pivots, perm]`` of square ``a``: ``lu`` packs unit-lower ``L`` (below the
    diagonal) and ``U``; ``pivots`` are LAPACK's row swaps; ``a[perm] = L U``."""
    return bind(lu_p, a)


def _lu_shape(a: ShapedArray) -> list[ShapedArray]:
    _check_square("lu", a)
    b = a.shape[:-2]
    n = a.shape[-1]
    return [
        ShapedArray(a.shape, a.dtype),
        ShapedArray(b + (n,), np.dtype(np.int32)),
        ShapedArray(b + (n,), np.dtype(np.int32)),
    ]


def _lu_one(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    packed, piv = _sl.lu_factor(a, check_finite=False)
    perm = np.arange(a.shape[-1])
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return packed, piv.astype(np.int32), perm.astype(np.int32)


def _lu_impl(a: Any) -> tuple[Any, Any, Any]:
    return _batched(_lu_one, np.asarray(a), n_out=3)


def _lu_parts(packed: Any) -> tuple[Any, Any]:
    n = _shape(packed)[-1]
    low = add(_mask(packed, True, -1), np.eye(n, dtype=packed.dtype))
    return low, _mask(packed, False)


def _permute_rows(x: Any, perm: Any, inverse: bool = False) -> Any:
    """``x[perm]`` (or the inverse permutation) as a product with a permutation matrix."""
    n = _shape(x)[-2]
    # pm[i, j] = [perm[i] == j] (traced when perm is: higher-order derivatives under jit)
    pm = convert_element_type(eq(reshape(perm, _shape(perm) + (1,)), np.arange(n)), x.dtype)
    return matmul(_T(pm) if inverse else pm, x)


def _lu_jvp(ins: Any, tangents: Any, outs: Any, params: Any) -> list[Any]:
    (t,), (packed, _, perm) = tangents, outs
    low, up = _lu_parts(packed)
    # F = L^-1 dA[perm] U^-1
    x = triangular_solve(low, _permute_rows(t, perm), True, False, True)
    f = _T(triangular_solve(up, _T(x), False, True, False))
    d = add(matmul(low, _mask(f, True, -1)), matmul(_mask(f, False), up))
    return [d, None, None]


def _lu_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    gp = g[0]
    packed, _, perm = ans
    low, up = _lu_parts(packed)
    # F̄ = tril(Lᵀ Ḡ, -1) + triu(Ḡ Uᵀ);  Ā[perm] = L^-T F̄ U^-T
    fbar = add(_mask(matmul(_T(low), gp), True, -1), _mask(matmul(gp, _T(up)), False))
    x = triangular_solve(low, fbar, True, True, True)
    y = _T(triangular_solve(up, _T(x), False, False, False))
    return [_permute_rows(y, perm, inverse=True)]


lu_p = define(
    "lu",
    _lu_impl,
    _lu_shape,
    vjp_full=_lu_vjp,
    jvp_full=_lu_jvp,
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)


# --- expm ----------------------------------------------------------------------------------
def expm(a: Any) -> Any:
    return bind(expm_p, a)


def _square_shape(name: str) -> Any:
    def rule(a: ShapedArray) -> ShapedArray:
        _check_square(name, a)
        return ShapedArray(a.shape, a.dtype)

    return rule


def frechet(a: Any, e: Any) -> Any:
    """The Fréchet derivative of expm at ``a`` in direction ``e``: the top-right block of
    ``expm([[a, e], [0, a]])``."""
    n = _shape(a)[-1]
    dt = a.dtype
    top = np.concatenate([np.eye(n), np.zeros((n, n))], axis=1).astype(dt)  # [I 0]  n x 2n
    bot = np.concatenate([np.zeros((n, n)), np.eye(n)], axis=1).astype(dt)  # [0 I]  n x 2n
    # block = topᵀ a top + topᵀ e bot + botᵀ a bot
    block = add(
        add(matmul(matmul(top.T, a), top), matmul(matmul(top.T, e), bot)),
        matmul(matmul(bot.T, a), bot),
    )
    return matmul(matmul(top, expm(block)), bot.T)


def _expm_impl(a: Any) -> Any:
    return _sl.expm(np.asarray(a))


expm_p = define(
    "expm",
    _expm_impl,
    _square_shape("expm"),
    vjp=(lambda g, ans, a: frechet(_T(a), g),),
    jvp=(lambda t, ans, a: frechet(a, t),),
    batch=_batch_front,
    fresh=True,
)


# --- sqrtm ---------------------------------------------------------------------------------
def sqrtm(a: Any) -> Any:
    return bind(sqrtm_p, a)


def _sqrtm_impl(a: Any) -> Any:
    def one(m: np.ndarray) -> np.ndarray:
        r = _sl.sqrtm(m)
        r = r[0] if isinstance(r, tuple) else r
        if np.iscomplexobj(r):
            if np.abs(r.imag).max() > 1e-10 * max(1.0, np.abs(r.real).max()):
                raise LocatedValueError(
                    "sqrtm: the principal square root of this matrix is complex (it has "
                    "negative real eigenvalues); funcgrad.scipy.linalg.sqrtm supports real "
                    "square roots only"
                )
            r = r.real
        return r.astype(m.dtype, copy=False)

    return _batched(one, np.asarray(a))


# X dX + dX X = dA: a Sylvester equation in dX; its transpose has Xᵀ in place of X.
def _sqrtm_jvp(t: Any, x: Any, a: Any) -> Any:
    return solve_sylvester(x, x, t)


def _sqrtm_vjp(g: Any, x: Any, a: Any) -> Any:
    return solve_sylvester(_T(x), _T(x), g)


sqrtm_p = define(
    "sqrtm",
    _sqrtm_impl,
    _square_shape("sqrtm"),
    vjp=(_sqrtm_vjp,),
    jvp=(_sqrtm_jvp,),
    batch=_batch_front,
    fresh=True,
)


# --- Sylvester equation A X + X B = Q ------------------------------------------------------
def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    return bind(solve_sylvester_p, a, b, q)


def _sylv_shape(a: ShapedArray, b: ShapedArray, q: ShapedArray) -> ShapedArray:
    _check_square("solve_sylvester", a)
    _check_square("solve_sylvester", b)
    if len(q.shape) < 2 or q.shape[-2:] != (a.shape[-1], b.shape[-1]):
        raise LocatedValueError(
            f"solve_sylvester: q must be {a.shape[-1]}x{b.shape[-1]} for a of {a} and b of {b}, "
            f"got {q}"
        )
    if not a.shape[:-2] == b.shape[:-2] == q.shape[:-2]:
        raise LocatedValueError(f"solve_sylvester: batch axes of {a}, {b} and {q} differ")
    return ShapedArray(q.shape, np.result_type(a.dtype, b.dtype, q.dtype))


def _sylv_impl(a: Any, b: Any, q: Any) -> Any:
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    dt = np.result_type(a.dtype, b.dtype, q.dtype)
    if a.ndim == 2:
        return _sl.solve_sylvester(a, b, q).astype(dt, copy=False)
    out = np.empty(q.shape, dt)
    for i in np.ndindex(a.shape[:-2]):
        out[i] = _sl.solve_sylvester(a[i], b[i], q[i])
    return out


# dX solves A dX + dX B = dQ - dA X - X dB;  the transpose: Y solves Aᵀ Y + Y Bᵀ = G, then
# Q̄ = Y, Ā = -Y Xᵀ, B̄ = -Xᵀ Y.
def _sylv_vjp(g: Any, ans: Any, args: Any, params: Any, needs: Any) -> list[Any]:
    a, b, _ = args
    y = solve_sylvester(_T(a), _T(b), g)
    return [
        neg(matmul(y, _T(ans))) if needs[0] else None,
        neg(matmul(_T(ans), y)) if needs[1] else None,
        y if needs[2] else None,
    ]


def _sylv_batch(prim: Any, args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    return _ts_batch(prim, args, dims, **params)


solve_sylvester_p = define(
    "solve_sylvester",
    _sylv_impl,
    _sylv_shape,
    vjp_full=_sylv_vjp,
    jvp=(
        lambda t, x, a, b, q: neg(solve_sylvester(a, b, matmul(t, x))),
        lambda t, x, a, b, q: neg(solve_sylvester(a, b, matmul(x, t))),
        lambda t, x, a, b, q: solve_sylvester(a, b, t),
    ),
    batch=_sylv_batch,
    fresh=True,
)


# --- schur / hessenberg (values only) --------------------------------------------------------
def schur(a: Any) -> Any:
    """``[T, Z]`` of the real Schur form ``a = Z T Zᵀ``."""
    return bind(schur_p, a)


def hessenberg(a: Any) -> Any:
    """``[H, Q]`` with ``a = Q H Qᵀ``, ``H`` upper Hessenberg."""
    return bind(hessenberg_p, a)


def _two_square(name: str) -> Any:
    def rule(a: ShapedArray) -> list[ShapedArray]:
        _check_square(name, a)
        return [ShapedArray(a.shape, a.dtype), ShapedArray(a.shape, a.dtype)]

    return rule


schur_p = define(
    "schur",
    lambda a: _batched(lambda m: _sl.schur(m, output="real"), np.asarray(a), n_out=2),
    _two_square("schur"),
    vjp_full=_not_differentiable("schur"),
    jvp_full=_not_differentiable("schur"),
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)
hessenberg_p = define(
    "hessenberg",
    lambda a: _batched(lambda m: _sl.hessenberg(m, calc_q=True), np.asarray(a), n_out=2),
    _two_square("hessenberg"),
    vjp_full=_not_differentiable("hessenberg"),
    jvp_full=_not_differentiable("hessenberg"),
    batch=_batch_front,
    multiple_results=True,
    fresh=True,
)
