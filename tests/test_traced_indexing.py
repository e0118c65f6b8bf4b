"""Indexing with index arrays computed from traced values (issue 15, item 7): values against
numpy, derivatives w.r.t. the data against finite differences and closed forms, the jvp/vjp
dot-product identity, eager vs jit vs vmap (against a loop). Also fnp.r_/c_, einsum's sublist
form, gradient, row_stack, partition, argpartition."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(15)
F0 = RNG.normal(size=(4, 5))
X0 = np.array([0.5, 1.2, 2.7, 0.1])


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def idx_of(x):
    ix = fnp.clip(fnp.floor(x).astype(int), 0, 2)
    iy = fnp.floor(x * 1.5).astype(int)
    return ix, iy


def np_idx(x):
    return np.clip(np.floor(x).astype(int), 0, 2), np.floor(x * 1.5).astype(int)


# every form takes (table, ix, iy) with traced or numpy ix, iy
FORMS = {
    "pair": lambda F, ix, iy: F[ix, iy],
    "pair_shifted": lambda F, ix, iy: F[ix + 1, iy],
    "rows": lambda F, ix, iy: F[ix],
    "cols": lambda F, ix, iy: F[:, iy],
    "row_slice": lambda F, ix, iy: F[ix, 1:3],
    "ellipsis": lambda F, ix, iy: F[..., iy],
    "outer": lambda F, ix, iy: F[ix[:, None], iy[None, :]],
    "negative": lambda F, ix, iy: F[-ix - 1, -iy - 1],
    "newaxis": lambda F, ix, iy: F[None, ix, iy],
    "two_d": lambda F, ix, iy: F[fnp.reshape(ix, (2, 2)), 0],
}


def interp(F, x):
    """Bilinear-style use: the indices come from x, the weights too."""
    ix, iy = idx_of(x)
    fx = x - ix
    return fnp.sum(F[ix, iy] * (1 - fx) + F[ix + 1, iy] * fx)


def interp_np(F, x):
    ix, iy = np_idx(x)
    fx = x - ix
    return np.sum(F[ix, iy] * (1 - fx) + F[ix + 1, iy] * fx)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_traced_index_values_eager_jit_vmap(form):
    f = FORMS[form]

    def g(F, x):
        ix, iy = idx_of(x)
        return f(F, ix, iy)

    ix, iy = np_idx(X0)
    if form == "two_d":
        want = F0[ix.reshape(2, 2), 0]
    else:
        want = f(F0, ix, iy)
    close(g(F0, X0), want)
    close(fg.jit(g)(F0, X0), want)
    xs = np.stack([X0, X0 * 0.7, X0[::-1]])
    close(fg.vmap(g, in_axes=(None, 0))(F0, xs), np.stack([g(F0, x) for x in xs]))
    Fs = np.stack([F0, 2 * F0 + 1])
    close(fg.vmap(g, in_axes=(0, None))(Fs, X0), np.stack([g(F, X0) for F in Fs]))
    close(fg.vmap(g)(Fs, xs[:2]), np.stack([g(F, x) for F, x in zip(Fs, xs[:2])]))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_traced_index_derivative_wrt_data(form):
    f = FORMS[form]
    w = None

    def loss(F, x):
        ix, iy = idx_of(x)
        out = f(F, ix, iy)
        return fnp.sum(out * fnp.arange(out.size).reshape(out.shape))

    # closed form: d loss / dF scatters the weights to the indexed positions (repeats add)
    ix, iy = np_idx(X0)
    if form == "two_d":
        ix, iy = ix.reshape(2, 2), None
    ids = np.arange(F0.size, dtype=float).reshape(F0.shape)
    picked = f(ids, ix, iy) if form != "two_d" else ids[ix, 0]
    w = np.arange(picked.size).reshape(picked.shape)
    want = np.zeros(F0.size)
    np.add.at(want, picked.astype(int).ravel(), w.ravel())
    want = want.reshape(F0.shape)
    close(fg.grad(loss)(F0, X0), want)
    close(fg.jit(fg.grad(loss))(F0, X0), want)
    xs = np.stack([X0, X0 * 0.7])
    gs = fg.vmap(fg.grad(loss), in_axes=(None, 0))(F0, xs)
    close(gs, np.stack([fg.grad(loss)(F0, x) for x in xs]))
    check_grads(lambda F: loss(F, X0), (F0,), order=2)


def test_interpolation_gradients_in_every_mode():
    # d/dF against central differences; d/dx: the index is piecewise constant, the weights
    # are not — compare with finite differences of the numpy version away from the kinks
    check_grads(lambda F: interp(F, X0), (F0,), order=1)
    eps = 1e-6
    num = np.array(
        [(interp_np(F0, X0 + eps * e) - interp_np(F0, X0 - eps * e)) / (2 * eps) for e in np.eye(4)]
    )
    close(fg.grad(interp, argnums=1)(F0, X0), num, 1e-6)
    close(fg.jit(fg.grad(interp, argnums=1))(F0, X0), num, 1e-6)
    # jvp/vjp dot-product identity w.r.t. the data
    t = RNG.normal(size=F0.shape)
    _, jt = fg.jvp(lambda F: interp(F, X0), (F0,), (t,))
    g = fg.grad(interp)(F0, X0)
    assert np.isclose(jt, np.sum(g * t), rtol=1e-12)


def test_traced_indices_in_updates():
    def upd(F, x, v):
        ix, iy = idx_of(x)
        return F.at[ix, iy].add(v).at[ix + 1].set(v[:, None] * 2.0)

    v = RNG.normal(size=4)
    ix, iy = np_idx(X0)
    want = F0.copy()
    np.add.at(want, (ix, iy), v)
    want[ix + 1] = v[:, None] * 2.0  # numpy keeps the last of repeated rows, as funcgrad
    # (eager x.at needs x traced: .at on plain numpy arrays is issue 15's item 8)
    close(fg.jit(upd)(F0, X0, v), want)
    check_grads(fg.jit(lambda F, w: upd(F, X0, w)), (F0, v), order=1)
    xs = np.stack([X0, X0 * 0.7])
    close(
        fg.vmap(upd, in_axes=(None, 0, None))(F0, xs, v),
        np.stack([fg.jit(upd)(F0, x, v) for x in xs]),
    )


def test_plain_numpy_table_with_traced_index():
    def bad(x):
        ix, _ = idx_of(x)
        return fnp.sum(F0[ix] * x[:, None])

    # eager grad/jvp: the integer index has a concrete value, numpy may convert it (an integer
    # carries no derivative); d/dx comes from the weights
    ix, iy = np_idx(X0)
    close(fg.grad(bad)(X0), F0[ix].sum(axis=1))
    close(fg.jvp(bad, (X0,), (np.ones(4),))[1], F0[ix].sum())
    # jit and vmap have no value to give numpy: a clear error saying what to use instead
    with pytest.raises(fg.TracerConversionError, match="index into a plain numpy array"):
        fg.jit(bad)(X0)
    with pytest.raises(fg.TracerConversionError, match="fnp.take"):
        fg.vmap(bad)(np.stack([X0, X0]))
    # a float tracer is never converted
    with pytest.raises(fg.TracerConversionError, match="drop the derivative"):
        fg.grad(lambda x: np.asarray(x).sum())(X0)

    def good(x):
        ix, iy = idx_of(x)
        a = fnp.take(F0, ix, axis=0)
        b = lax.index_take(F0, (ix, iy), (0, 1))
        return fnp.sum(a * x[:, None]) + fnp.sum(b * x)

    want = np.sum(F0[ix] * X0[:, None]) + np.sum(F0[ix, iy] * X0)
    close(good(X0), want)
    close(fg.jit(good)(X0), want)
    close(fg.grad(good)(X0), np.sum(F0[ix], axis=1) + F0[ix, iy])


def test_out_of_bounds_traced_index_raises():
    def f(F, x):
        return F[fnp.floor(x).astype(int) + 3]

    with pytest.raises(IndexError):
        fg.jit(f)(F0, X0)
    with pytest.raises(IndexError):
        f(F0, X0)


# --- r_ / c_ ------------------------------------------------------------------------------------
R_CASES = [
    lambda R, a, b: R[a, 0.0, 1:4],
    lambda R, a, b: R[0:1:5j, a],
    lambda R, a, b: R["0,2", a, a],
    lambda R, a, b: R["1,2,0", a, a],
    lambda R, a, b: R["-1", b, b],
    lambda R, a, b: R[a, np.int64(3)],
]
C_CASES = [
    lambda C, a, b: C[a, a],
    lambda C, a, b: C[b, b],
    lambda C, a, b: C[a, 1:3, a],
]


@pytest.mark.parametrize("i", range(len(R_CASES)))
def test_r_matches_numpy_and_traces(i):
    a, b = np.array([1.5, 2.0]), np.arange(6.0).reshape(2, 3)
    case = R_CASES[i]
    want = case(np.r_, a, b)
    got = case(fnp.r_, a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    close(got, want)
    close(fg.jit(lambda p, q: case(fnp.r_, p, q))(a, b), want)
    check_grads(lambda p, q: case(fnp.r_, p, q), (a, b), order=1)


@pytest.mark.parametrize("i", range(len(C_CASES)))
def test_c_matches_numpy_and_traces(i):
    a, b = np.array([1.5, 2.0]), np.arange(6.0).reshape(2, 3)
    case = C_CASES[i]
    want = case(np.c_, a, b)
    close(case(fnp.c_, a, b), want)
    close(fg.vmap(lambda p: case(fnp.c_, p, b), in_axes=0)(np.stack([a, a])), np.stack([want] * 2))
    check_grads(lambda p: case(fnp.c_, p, b), (a,), order=1)


def test_r_errors():
    with pytest.raises(NotImplementedError, match="matrix directives"):
        fnp.r_["r", np.ones(2)]
    with pytest.raises(ValueError, match="unknown directive"):
        fnp.r_["x", np.ones(2)]


# --- einsum sublists ----------------------------------------------------------------------------
def test_einsum_sublist_form():
    a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 5))
    close(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    close(fnp.einsum(a, [0, 1], b, [1, 2]), np.einsum(a, [0, 1], b, [1, 2]))
    close(fnp.einsum(a, [Ellipsis, 1], [Ellipsis]), a.sum(1))
    close(fnp.einsum(a, [0, 0 + 1], [1, 0]), a.T)
    check_grads(lambda p, q: fnp.einsum(p, [0, 1], q, [1, 2], [2, 0]), (a, b), order=2)
    close(fg.jit(lambda p, q: fnp.einsum(p, [0, 1], q, [1, 2], [0, 2]))(a, b), a @ b)
    with pytest.raises(ValueError, match="sublist entries must be integers"):
        fnp.einsum(a, ["i", "j"])


# --- gradient -----------------------------------------------------------------------------------
GRAD_CASES = [
    ((), {}),
    ((2.0,), {}),
    ((0.5, np.array([0.0, 1.0, 3.0, 4.5, 5.0])), {}),
    ((np.array([0.0, 1.0, 3.0, 6.0, 10.0, 11.0]),), {"axis": 0, "edge_order": 2}),
    ((), {"edge_order": 2}),
    ((), {"axis": -1}),
]


@pytest.mark.parametrize("i", range(len(GRAD_CASES)))
def test_gradient_matches_numpy(i):
    args, kw = GRAD_CASES[i]
    f = RNG.normal(size=(6, 5))
    want = np.gradient(f, *args, **kw)
    got = fnp.gradient(f, *args, **kw)
    assert type(got) is (fg.Array if isinstance(want, np.ndarray) else type(want))
    for p, q in zip(
        got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want]
    ):
        close(p, q)

    def loss(v):
        out = fnp.gradient(v, *args, **kw)
        outs = out if isinstance(out, tuple) else (out,)
        return sum(fnp.sum(o * np.cos(np.arange(o.size)).reshape(o.shape)) for o in outs)

    check_grads(loss, (f,), order=1)
    close(fg.jit(loss)(f), loss(f))


def test_gradient_errors_and_vmap():
    with pytest.raises(ValueError, match="too small"):
        fnp.gradient(np.ones(2), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        fnp.gradient(np.ones(5), edge_order=3)
    fs = RNG.normal(size=(3, 7))
    close(fg.vmap(fnp.gradient)(fs), np.stack([np.gradient(v) for v in fs]))


# --- row_stack, partition, argpartition -----------------------------------------------------------
def test_row_stack_partition_argpartition():
    a, b = RNG.normal(size=3), RNG.normal(size=3)
    close(fnp.row_stack([a, b]), np.vstack([a, b]))
    x = RNG.normal(size=(4, 7))
    for kth in (0, 3, -1, (1, 5)):
        p = fnp.partition(x, kth, axis=1)
        ap = fnp.argpartition(x, kth, axis=1)
        for k in np.atleast_1d(kth) % 7:
            close(p[:, k], np.partition(x, kth, axis=1)[:, k])
            close(np.take_along_axis(x, ap, 1)[:, k], np.partition(x, kth, axis=1)[:, k])
            assert np.all(p[:, :k] <= p[:, k : k + 1]) and np.all(p[:, k + 1 :] >= p[:, k : k + 1])
    g = fg.grad(lambda v: fnp.partition(v, 2)[2])(x[0])
    want = np.zeros(7)
    want[np.argsort(x[0])[2]] = 1.0
    close(g, want)
    close(fg.vmap(lambda v: fnp.partition(v, 1))(x), np.sort(x, axis=1))
    with pytest.raises(ValueError, match="out of bounds"):
        fnp.partition(x, 7)
