"""Composition of transforms: grad, jvp, vjp, vmap (and jit when available) nested two and
three deep on an MLP loss, a max-shifted logsumexp and a function with Python control flow,
checked against finite differences; third derivatives against closed forms; and the usual
compositions (vmap(jacrev(f)), jacfwd(vmap(f)), vmap(vmap(grad(f))), ...)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import funcgrad
import funcgrad as fg
import funcgrad.numpy as fnp

RNG = np.random.default_rng(2024)

# ---------------------------------------------------------------------------------------------
# Test functions: R^n -> R
# ---------------------------------------------------------------------------------------------

N_IN, N_HID, N_OUT, N_DATA = 2, 3, 2, 4
_SIZES = [(N_IN, N_HID), (N_HID,), (N_HID, N_OUT), (N_OUT,)]
N_MLP = sum(int(np.prod(s)) for s in _SIZES)
_XD = RNG.standard_normal((N_DATA, N_IN))
_YD = RNG.standard_normal((N_DATA, N_OUT))


def mlp_loss(theta: Any) -> Any:
    """Mean squared error of a one-hidden-layer tanh MLP; parameters unpacked from a flat
    vector by slicing and reshaping."""
    parts, start = [], 0
    for s in _SIZES:
        n = int(np.prod(s))
        parts.append(fnp.reshape(theta[start : start + n], s))
        start += n
    w1, b1, w2, b2 = parts
    h = fnp.tanh(_XD @ w1 + b1)
    out = h @ w2 + b2
    return fnp.mean((out - _YD) ** 2)


def logsumexp(x: Any) -> Any:
    m = fnp.max(x)
    return m + fnp.log(fnp.sum(fnp.exp(x - m)))


def control_flow(x: Any) -> Any:
    """Python `while` and `if` on traced values (fine without jit/vmap)."""
    z = x
    while fnp.sum(z * z) > 1.0:
        z = z * 0.5
    if fnp.sum(z) > 0:
        return fnp.sum(fnp.sin(z) * z) + fnp.sum(z**3)
    return fnp.sum(fnp.exp(z))


def _control_point() -> np.ndarray:
    # |x|^2 = 5.3: two halvings leave |z|^2 = 0.33, far from the loop's threshold 1; sum(z) > 0
    x = np.array([1.9, 0.7, -0.4])
    return x * np.sqrt(5.3 / np.sum(x * x))


FUNCTIONS: dict[str, tuple[Callable[..., Any], np.ndarray]] = {
    "mlp": (mlp_loss, RNG.standard_normal(N_MLP) * 0.5),
    "logsumexp": (logsumexp, RNG.standard_normal(5)),
    "control_flow": (control_flow, _control_point()),
}

# ---------------------------------------------------------------------------------------------
# Transforms as maps from scalar functions of x in R^n to scalar functions of x
# ---------------------------------------------------------------------------------------------
#
# Each derivative transform T turns g into x -> D g(x)[w] (a directional derivative along a
# fixed direction w, one direction per derivative level), computed with grad / jvp / vjp. The
# vmap transform turns g into x -> sum_k c_k g(x + d_k) (one batched call over K shifted copies).
# The jit transform is the identity. Since directional derivatives commute with each other and
# with shifted sums, the result only depends on how many derivative and vmap levels a chain
# has, so one reference per (function, #derivatives, #vmaps) serves every ordering.

K_SHIFTS = 3
LEVELS = 3


def _dirs(n: int) -> list[np.ndarray]:
    r = np.random.default_rng(n)
    return [r.standard_normal(n) for _ in range(LEVELS)]


def _shifts(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    r = np.random.default_rng(100 + n)
    return [
        (r.standard_normal((K_SHIFTS, n)) * 0.05, r.standard_normal(K_SHIFTS))
        for _ in range(LEVELS)
    ]


def t_grad(g: Callable[..., Any], w: np.ndarray) -> Callable[..., Any]:
    return lambda x: fnp.sum(fg.grad(g)(x) * w)


def t_jvp(g: Callable[..., Any], w: np.ndarray) -> Callable[..., Any]:
    return lambda x: fg.jvp(g, (x,), (w,))[1]


def t_vjp(g: Callable[..., Any], w: np.ndarray) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        out, f_vjp = fg.vjp(g, x)
        (ct,) = f_vjp(np.ones((), np.result_type(out)))
        return fnp.sum(ct * w)

    return f


def t_vmap(g: Callable[..., Any], shift: tuple[np.ndarray, np.ndarray]) -> Callable[..., Any]:
    d, c = shift
    return lambda x: fg.vmap(g)(x[None, :] + d) @ c


def t_jit(g: Callable[..., Any], _: Any) -> Callable[..., Any]:
    return funcgrad.jit(g)


DERIV = {"grad": t_grad, "jvp": t_jvp, "vjp": t_vjp}
ALL = {**DERIV, "vmap": t_vmap, "jit": t_jit}


def build_chain(f: Callable[..., Any], chain: tuple[str, ...], n: int) -> Callable[..., Any]:
    """chain[0] is the outermost transform."""
    dirs, shifts = _dirs(n), _shifts(n)
    n_deriv = sum(t in DERIV for t in chain)
    n_vmap = sum(t == "vmap" for t in chain)
    g = f
    # Build from the inside out; number the levels so that the outermost derivative uses
    # dirs[0] and so on (the order does not matter for the value, only for reproducibility).
    di, vi = n_deriv, n_vmap
    for t in reversed(chain):
        if t in DERIV:
            di -= 1
            g = DERIV[t](g, dirs[di])
        elif t == "vmap":
            vi -= 1
            g = t_vmap(g, shifts[vi])
        else:
            g = t_jit(g, None)
    return g


def _fd_derivative(g: Callable[..., Any], x: np.ndarray, w: np.ndarray, eps: float) -> float:
    return (float(g(x + eps * w)) - float(g(x - eps * w))) / (2 * eps)


@functools.cache
def reference(name: str, n_deriv: int, n_vmap: int) -> float:
    """Mixed directional derivative of order n_deriv (top level by central differences of the
    order n_deriv - 1 forward-mode derivative), summed over the vmap levels' shifts by a
    Python loop."""
    f, x0 = FUNCTIONS[name]
    n = x0.size
    dirs, shifts = _dirs(n), _shifts(n)
    g = f
    for k in range(n_deriv - 1):
        g = t_jvp(g, dirs[k])

    def deriv(x: np.ndarray) -> float:
        if n_deriv == 0:
            return float(f(x))
        return _fd_derivative(g, x, dirs[n_deriv - 1], 1e-5)

    total = 0.0
    for combo in itertools.product(range(K_SHIFTS), repeat=n_vmap):
        x, coef = x0.copy(), 1.0
        for level, k in enumerate(combo):
            d, c = shifts[level]
            x = x + d[k]
            coef *= c[k]
        total += coef * deriv(x)
    return total


def _chains(depth: int, transforms: list[str]) -> list[tuple[str, ...]]:
    return list(itertools.product(transforms, repeat=depth))


MATRIX = [
    (name, chain)
    for name in ("mlp", "logsumexp")
    for depth in (2, 3)
    for chain in _chains(depth, list(ALL))
] + [
    # Value-dependent Python control flow needs concrete tracers: grad / jvp / vjp only.
    ("control_flow", chain)
    for depth in (2, 3)
    for chain in _chains(depth, list(DERIV))
]


@pytest.mark.parametrize("name,chain", MATRIX, ids=[f"{n}-{'.'.join(c)}" for n, c in MATRIX])
def test_composition_matrix(name: str, chain: tuple[str, ...]) -> None:
    if "jit" in chain and not hasattr(funcgrad, "jit"):
        pytest.skip("funcgrad.jit is not available")
    f, x0 = FUNCTIONS[name]
    g = build_chain(f, chain, x0.size)
    got = g(x0)
    assert isinstance(got, (np.ndarray, np.generic)) and np.shape(got) == ()
    n_deriv = sum(t in DERIV for t in chain)
    want = reference(name, n_deriv, sum(t == "vmap" for t in chain))
    tol = 1e-6 if n_deriv else 1e-12
    np.testing.assert_allclose(float(got), want, rtol=tol, atol=tol)


def test_reference_sanity_first_derivatives() -> None:
    """The machinery above, checked against closed-form gradients."""
    x = FUNCTIONS["logsumexp"][1]
    w = _dirs(x.size)[0]
    softmax = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    np.testing.assert_allclose(reference("logsumexp", 1, 0), softmax @ w, rtol=1e-8)
    # Hessian of logsumexp: diag(p) - p p^T.
    H = np.diag(softmax) - np.outer(softmax, softmax)
    w1 = _dirs(x.size)[1]
    got = build_chain(logsumexp, ("grad", "jvp"), x.size)(x)
    np.testing.assert_allclose(got, w @ H @ w1, rtol=1e-12)


def test_control_flow_first_derivative_closed_form() -> None:
    x = _control_point()
    z = x / 4.0  # two halvings
    # f = sum(sin(z) z + z^3), z = x / 4
    want = (np.cos(z) * z + np.sin(z) + 3 * z**2) / 4.0
    np.testing.assert_allclose(fg.grad(control_flow)(x), want, rtol=1e-12)
    # The other branch (sum(z) <= 0).
    np.testing.assert_allclose(fg.grad(control_flow)(-x), np.exp(-z) / 4.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Third derivatives of scalar functions against closed forms
# ---------------------------------------------------------------------------------------------

THIRD = {
    "sin": (lambda x: fnp.sin(x), lambda x: -np.cos(x)),
    "exp": (lambda x: fnp.exp(x), np.exp),
    "tanh": (lambda x: fnp.tanh(x), lambda x: (6 * np.tanh(x) ** 2 - 2) * (1 - np.tanh(x) ** 2)),
    "x4": (lambda x: x**4, lambda x: 24 * x),
    "log1px2": (lambda x: fnp.log(1 + x**2), lambda x: 4 * x * (x**2 - 3) / (1 + x**2) ** 3),
}


def _d_grad(f: Callable[..., Any]) -> Callable[..., Any]:
    return fg.grad(f)


def _d_jvp(f: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x: fg.jvp(f, (x,), (np.ones_like(x),))[1]


def _d_vjp(f: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x: fg.vjp(f, x)[1](np.ones((), np.result_type(x)))[0]


def _d_jacfwd(f: Callable[..., Any]) -> Callable[..., Any]:
    return fg.jacfwd(f)


def _d_jacrev(f: Callable[..., Any]) -> Callable[..., Any]:
    return fg.jacrev(f)


SCALAR_D = {"grad": _d_grad, "jvp": _d_jvp, "vjp": _d_vjp, "jacfwd": _d_jacfwd, "jacrev": _d_jacrev}
THIRD_CHAINS = [
    ("grad", "grad", "grad"),
    ("jvp", "jvp", "jvp"),
    ("vjp", "vjp", "vjp"),
    ("jacfwd", "jacfwd", "jacfwd"),
    ("jacrev", "jacrev", "jacrev"),
    ("grad", "jvp", "vjp"),
    ("jvp", "grad", "jacrev"),
    ("jacfwd", "vjp", "grad"),
    ("jacrev", "jacfwd", "jvp"),
]


@pytest.mark.parametrize("chain", THIRD_CHAINS, ids=[".".join(c) for c in THIRD_CHAINS])
@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivative_closed_form(name: str, chain: tuple[str, ...]) -> None:
    f, f3 = THIRD[name]
    g = f
    for t in reversed(chain):
        g = SCALAR_D[t](g)
    for x in (-1.3, -0.2, 0.0, 0.7, 2.1):
        got = g(np.float64(x))
        assert np.shape(got) == ()
        np.testing.assert_allclose(got, f3(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivative_vectorized(name: str) -> None:
    """vmap over points of grad^3, and the elementwise third derivative by nested jvp on arrays."""
    f, f3 = THIRD[name]
    xs = np.linspace(-2.0, 2.0, 7)
    g3 = fg.grad(fg.grad(fg.grad(f)))
    np.testing.assert_allclose(fg.vmap(g3)(xs), f3(xs), rtol=1e-10, atol=1e-12)
    d = lambda h: lambda x: fg.jvp(h, (x,), (np.ones_like(x),))[1]
    np.testing.assert_allclose(d(d(d(f)))(xs), f3(xs), rtol=1e-10, atol=1e-12)
    if hasattr(funcgrad, "jit"):
        np.testing.assert_allclose(funcgrad.jit(fg.vmap(g3))(xs), f3(xs), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Named compositions
# ---------------------------------------------------------------------------------------------

W = RNG.standard_normal((3, 4)) * 0.5


def vec_fn(x: Any) -> Any:
    """R^4 -> R^3."""
    return fnp.tanh(W @ x) * fnp.sum(x**2)


def vec_fn_jac(x: np.ndarray) -> np.ndarray:
    t = np.tanh(W @ x)
    s = np.sum(x**2)
    return (1 - t**2)[:, None] * W * s + np.outer(t, 2 * x)


XS = RNG.standard_normal((5, 4))


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_vmap_of_jacobian(jac: str) -> None:
    J = fg.vmap(getattr(fg, jac)(vec_fn))(XS)
    assert J.shape == (5, 3, 4)
    np.testing.assert_allclose(J, np.stack([vec_fn_jac(x) for x in XS]), rtol=1e-12, atol=1e-14)
    J1 = fg.vmap(getattr(fg, jac)(vec_fn), in_axes=1, out_axes=-1)(XS.T)
    np.testing.assert_allclose(J1, np.moveaxis(J, 0, -1), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobian_of_vmap(jac: str) -> None:
    J = getattr(fg, jac)(fg.vmap(vec_fn))(XS)
    assert J.shape == (5, 3, 5, 4)
    want = np.zeros((5, 3, 5, 4))
    for b, x in enumerate(XS):
        want[b, :, b, :] = vec_fn_jac(x)  # examples do not interact
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-14)


def test_grad_of_vmap_sum() -> None:
    f = lambda x: fnp.sum(fnp.sin(x) * x)  # per-example scalar
    g = fg.grad(lambda xs: fg.vmap(f)(xs).sum())(XS)
    np.testing.assert_allclose(g, np.cos(XS) * XS + np.sin(XS), rtol=1e-12)
    g = fg.grad(lambda xs: fg.vmap(f, in_axes=1)(xs).sum())(XS.T)
    np.testing.assert_allclose(g, (np.cos(XS) * XS + np.sin(XS)).T, rtol=1e-12)


def test_vmap_vmap_grad() -> None:
    f = lambda x: fnp.sin(x) * x**2
    X = RNG.standard_normal((3, 4))
    got = fg.vmap(fg.vmap(fg.grad(f)))(X)
    np.testing.assert_allclose(got, np.cos(X) * X**2 + 2 * X * np.sin(X), rtol=1e-12)
    got = fg.vmap(fg.vmap(fg.grad(f), in_axes=0), in_axes=1, out_axes=1)(X)
    np.testing.assert_allclose(got, np.cos(X) * X**2 + 2 * X * np.sin(X), rtol=1e-12)


def test_vmap_grad_with_unbatched_params_and_hessian_vector_products() -> None:
    theta = FUNCTIONS["mlp"][1]
    vs = RNG.standard_normal((4, N_MLP))
    hvp = lambda v: fg.jvp(fg.grad(mlp_loss), (theta,), (v,))[1]
    got = fg.vmap(hvp)(vs)
    H = fg.hessian(mlp_loss)(theta)
    np.testing.assert_allclose(got, vs @ H.T, rtol=1e-10, atol=1e-12)
    # Reverse-over-forward and reverse-over-reverse give the same products.
    hvp2 = lambda v: fg.grad(lambda t: fg.jvp(mlp_loss, (t,), (v,))[1])(theta)
    hvp3 = lambda v: fg.grad(lambda t: fnp.sum(fg.grad(mlp_loss)(t) * v))(theta)
    np.testing.assert_allclose(fg.vmap(hvp2)(vs), got, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fg.vmap(hvp3)(vs), got, rtol=1e-10, atol=1e-12)
    # Hessian vs finite differences of the gradient.
    eps = 1e-6
    e = np.eye(N_MLP)
    fd = np.stack(
        [
            (fg.grad(mlp_loss)(theta + eps * e[i]) - fg.grad(mlp_loss)(theta - eps * e[i]))
            / (2 * eps)
            for i in range(N_MLP)
        ]
    )
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


def test_hessian_of_logsumexp_closed_form() -> None:
    x = FUNCTIONS["logsumexp"][1]
    p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    want = np.diag(p) - np.outer(p, p)
    for h in (
        fg.hessian(logsumexp),
        fg.jacrev(fg.jacrev(logsumexp)),
        fg.jacfwd(fg.grad(logsumexp)),
        fg.jacrev(fg.jacfwd(logsumexp)),
    ):
        np.testing.assert_allclose(h(x), want, rtol=1e-12, atol=1e-14)
    # Batched over several points.
    xs = RNG.standard_normal((3, 5))
    got = fg.vmap(fg.hessian(logsumexp))(xs)
    for b in range(3):
        pb = np.exp(xs[b] - xs[b].max()) / np.exp(xs[b] - xs[b].max()).sum()
        np.testing.assert_allclose(got[b], np.diag(pb) - np.outer(pb, pb), rtol=1e-12, atol=1e-14)


def test_grad_of_function_using_jvp_and_vjp_internally() -> None:
    x = RNG.standard_normal(3)

    def f(x: Any) -> Any:
        # d/dt sin(x + t) at t=0 along x, i.e. cos(x) * x, summed
        a = fg.jvp(fnp.sin, (x,), (x,))[1]
        (b,) = fg.vjp(lambda y: fnp.exp(y) * 2.0, x)[1](np.ones(3))
        return fnp.sum(a) + fnp.sum(b)

    want = -np.sin(x) * x + np.cos(x) + 2 * np.exp(x)
    np.testing.assert_allclose(fg.grad(f)(x), want, rtol=1e-12)
    np.testing.assert_allclose(fg.jacfwd(f)(x), want, rtol=1e-12)


@pytest.mark.skipif(not hasattr(funcgrad, "jit"), reason="funcgrad.jit is not available")
def test_jit_compositions() -> None:
    jit = funcgrad.jit
    f = lambda x: fnp.sum(fnp.tanh(W @ x) ** 2)
    x = XS[0]
    t = np.tanh(W @ x)
    H = W.T @ np.diag((2 - 6 * t**2) * (1 - t**2)) @ W
    np.testing.assert_allclose(jit(fg.hessian(f))(x), H, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(fg.hessian(jit(f))(x), H, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(jit(fg.vmap(fg.grad(f)))(XS), fg.vmap(fg.grad(f))(XS), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(lambda w: jit(f)(w) * 2.0)(x), 2 * fg.grad(f)(x), rtol=1e-12)
