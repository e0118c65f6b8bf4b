"""funcgrad.lax beyond control flow: values against recorded jax.lax outputs
(tests/data/lax_breadth.npz, made by tests/data/record_lax_breadth.py) and numpy, derivatives
against central finite differences and recorded JAX VJPs, the jvp/vjp dot-product identity of
the conv primitive, vmap against a loop, jit against eager."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.primitives.conv import conv as conv_prim
from funcgrad.test_util import check_grads

REF = np.load(Path(__file__).parent / "data" / "lax_breadth.npz")
RNG = np.random.default_rng(7)


def ref(name: str, key: str) -> np.ndarray:
    return REF[f"{name}/{key}"]


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# --- pad ---------------------------------------------------------------------------------------
PAD_CFG = {
    "pad1": [(1, -1, 1)],
    "pad2": [(2, 1, 0), (-1, 3, 2)],
    "pad3": [(-2, -1, 1), (0, 0, 3)],
}


@pytest.mark.parametrize("name", sorted(PAD_CFG))
def test_pad_matches_jax_values_and_vjp(name):
    cfg = PAD_CFG[name]
    x = ref(name, "x")
    y, vjp = fg.vjp(lambda a, v: lax.pad(a, v, cfg), x, 0.5)
    close(y, ref(name, "y"))
    gx, gv = vjp(ref(name, "g"))
    close(gx, ref(name, "gx"))
    close(gv, ref(name, "gv"))


def test_pad_jit_vmap_and_errors():
    cfg = PAD_CFG["pad2"]
    x = ref("pad2", "x")
    close(fg.jit(lambda a: lax.pad(a, 0.5, cfg))(x), ref("pad2", "y"))
    xs = np.stack([x, 2 * x, -x])
    got = fg.vmap(lambda a: lax.pad(a, 0.5, cfg))(xs)
    close(got, np.stack([lax.pad(a, 0.5, cfg) for a in xs]))
    with pytest.raises(ValueError, match="interior padding must be non-negative"):
        lax.pad(x, 0.0, [(0, 0, -1), (0, 0, 0)])
    with pytest.raises(ValueError, match="one \\(low, high, interior\\) triple per axis"):
        lax.pad(x, 0.0, [(0, 0, 0)])


# --- convolutions ------------------------------------------------------------------------------
CONV_KW = {
    "conv_nchw": dict(window_strides=(2, 1), padding="SAME"),
    "conv_nhwc": dict(
        window_strides=(1, 2), padding="VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    ),
    "conv_dil": dict(
        window_strides=(2, 2),
        padding=((1, 2), (-1, 1)),
        lhs_dilation=(2, 1),
        rhs_dilation=(1, 2),
    ),
    "conv_1d_groups": dict(
        window_strides=(1,),
        padding="SAME",
        feature_group_count=2,
        dimension_numbers=("NWC", "WIO", "NWC"),
    ),
    "conv_mixed": dict(
        window_strides=(1, 1), padding="SAME", dimension_numbers=("CNHW", "HWIO", "NHWC")
    ),
}


@pytest.mark.parametrize("name", sorted(CONV_KW))
def test_conv_general_dilated_matches_jax(name):
    kw = CONV_KW[name]
    x, w = ref(name, "x"), ref(name, "w")
    y, vjp = fg.vjp(lambda a, b: lax.conv_general_dilated(a, b, **kw), x, w)
    close(y, ref(name, "y"), 1e-9)
    gx, gw = vjp(ref(name, "g"))
    close(gx, ref(name, "gx"), 1e-9)
    close(gw, ref(name, "gw"), 1e-9)
    close(fg.jit(lambda a, b: lax.conv_general_dilated(a, b, **kw))(x, w), y, 1e-12)


@pytest.mark.parametrize("pad", ["SAME", "VALID"])
def test_conv_transpose_matches_jax(pad):
    name = f"conv_transpose_{pad}"
    x, w = ref(name, "x"), ref(name, "w")
    y = lax.conv_transpose(x, w, (2, 2), pad, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    close(y, ref(name, "y"), 1e-9)


def test_conv_and_conv_with_general_padding_are_nchw_forms():
    x, w = RNG.normal(size=(2, 3, 6, 5)), RNG.normal(size=(4, 3, 2, 3))
    a = lax.conv(x, w, (1, 2), "SAME")
    b = lax.conv_general_dilated(x, w, (1, 2), "SAME")
    close(a, b, 0)
    # VALID conv against a direct loop
    v = lax.conv(x, w, (1, 1), "VALID")
    want = np.zeros((2, 4, 5, 3))
    for i in range(5):
        for j in range(3):
            want[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i : i + 2, j : j + 3], w)
    close(v, want, 1e-12)
    c = lax.conv_with_general_padding(x, w, (1, 1), ((1, 0), (0, 2)), (2, 1), (1, 2))
    d = lax.conv_general_dilated(x, w, (1, 1), ((1, 0), (0, 2)), (2, 1), (1, 2))
    close(c, d, 0)


CONV_PRIM_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 2), (2, 1), ((1, 2), (0, -1)), (1, 2), (2, 1), 1),
    ((2, 4, 7), (6, 2, 3), (2,), ((1, 1),), (1,), (2,), 2),
    ((1, 2, 5), (2, 2, 2), (3,), ((-1, 2),), (3,), (1,), 1),
]


@pytest.mark.parametrize("case", CONV_PRIM_CASES)
def test_conv_primitive_derivatives_and_dot_product_identity(case):
    ls, rs, st, pad, ld, rd, groups = case
    x, w = RNG.normal(size=ls), RNG.normal(size=rs)

    def f(a, b):
        return conv_prim(a, b, st, pad, ld, rd, groups)

    check_grads(f, (x, w), order=2, modes=("fwd", "rev"))
    # <u, J t> == <J^T u, t>
    tx, tw = RNG.normal(size=ls), RNG.normal(size=rs)
    y, jt = fg.jvp(f, (x, w), (tx, tw))
    u = RNG.normal(size=y.shape)
    _, vjp = fg.vjp(f, x, w)
    cx, cw = vjp(u)
    assert np.isclose(np.sum(u * jt), np.sum(cx * tx) + np.sum(cw * tw), rtol=1e-10)


@pytest.mark.parametrize("case", CONV_PRIM_CASES)
def test_conv_vmap_matches_loop(case):
    ls, rs, st, pad, ld, rd, groups = case
    X, W = RNG.normal(size=(3,) + ls), RNG.normal(size=(3,) + rs)
    x, w = X[0], W[0]

    def f(a, b):
        return conv_prim(a, b, st, pad, ld, rd, groups)

    close(fg.vmap(f)(X, W), np.stack([f(a, b) for a, b in zip(X, W)]), 1e-12)
    close(fg.vmap(f, in_axes=(0, None))(X, w), np.stack([f(a, w) for a in X]), 1e-12)
    close(fg.vmap(f, in_axes=(None, 0))(x, W), np.stack([f(x, b) for b in W]), 1e-12)
    close(
        fg.vmap(f, in_axes=(2, 1), out_axes=1)(np.moveaxis(X, 0, 2), np.moveaxis(W, 0, 1)),
        np.stack([f(a, b) for a, b in zip(X, W)], axis=1),
        1e-12,
    )
    # batched gradients (vmap of vjp rules)
    g = fg.vmap(fg.grad(lambda a, b: fnp.sum(f(a, b) ** 2), argnums=(0, 1)))(X, W)
    for i in range(3):
        gi = fg.grad(lambda a, b: fnp.sum(f(a, b) ** 2), argnums=(0, 1))(X[i], W[i])
        close(g[0][i], gi[0], 1e-10)
        close(g[1][i], gi[1], 1e-10)


def test_conv_errors_name_the_problem():
    x, w = np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))
    with pytest.raises(ValueError, match="input has 3 features but the kernel"):
        lax.conv(x, w, (1, 1), "VALID")
    with pytest.raises(ValueError, match="one entry per spatial dimension"):
        conv_prim(x, np.ones((2, 3, 3, 3)), (1,), ((0, 0),), (1,), (1,))
    with pytest.raises(NotImplementedError, match="batch_group_count"):
        lax.conv_general_dilated(x, w, (1, 1), "VALID", batch_group_count=2)
    with pytest.raises(ValueError, match="unknown padding"):
        lax.conv(x, np.ones((2, 3, 3, 3)), (1, 1), "FULL")


# --- reduce_window / pooling --------------------------------------------------------------------
def test_reduce_window_max_pool_matches_jax():
    x = ref("rw_max", "x")

    def f(a):
        return lax.reduce_window(a, -np.inf, lax.max, (1, 3, 2, 1), (1, 2, 2, 1), "SAME")

    y, vjp = fg.vjp(f, x)
    close(y, ref("rw_max", "y"))
    # random data has no ties: the derivative goes to the one maximum, as in JAX
    close(vjp(ref("rw_max", "g"))[0], ref("rw_max", "gx"))
    close(fg.jit(f)(x), y)


@pytest.mark.parametrize("pad", ["VALID", "SAME"])
def test_non_overlapping_pooling_matches_jax(pad):
    name = f"pool_{pad}"
    x = ref(name, "x")

    def f(a):
        return lax.reduce_window(a, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), pad)

    y, vjp = fg.vjp(f, x)
    close(y, ref(name, "y"))
    close(vjp(ref(name, "g"))[0], ref(name, "gx"))
    close(lax.reduce_window(x, 0.0, lax.add, (1, 3, 1, 1), (1, 3, 1, 1), pad), ref(name, "ysum"))
    close(fg.jit(f)(x), y)
    close(fg.vmap(f)(np.stack([x, -x])), np.stack([f(x), f(-x)]))
    check_grads(
        lambda a: lax.reduce_window(a, 0.0, lax.add, (1, 3, 1, 1), (1, 3, 1, 1), pad), (x,), order=1
    )


def test_reduce_window_sum_dilations_match_jax():
    x = ref("rw_sum", "x")

    def f(a):
        return lax.reduce_window(
            a,
            0.0,
            lax.add,
            (2, 3),
            (1, 2),
            ((1, 0), (2, 1)),
            base_dilation=(2, 1),
            window_dilation=(1, 2),
        )

    y, vjp = fg.vjp(f, x)
    close(y, ref("rw_sum", "y"))
    close(vjp(ref("rw_sum", "g"))[0], ref("rw_sum", "gx"))
    xs = np.stack([x, x**2])
    close(fg.vmap(f)(xs), np.stack([f(a) for a in xs]))
    check_grads(f, (x,), order=1)


def test_reduce_window_init_value_and_errors():
    x = np.arange(6.0)
    close(lax.reduce_window(x, 10.0, lax.add, (3,), (3,)), [13.0, 22.0])
    close(lax.reduce_window(x, 4.0, fnp.maximum, (2,), (2,)), [4.0, 4.0, 5.0])
    with pytest.raises(NotImplementedError, match="computation must be lax.add"):
        lax.reduce_window(x, 0.0, lambda a, b: a + b, (2,), (2,))


# --- scans ---------------------------------------------------------------------------------------
def test_associative_scan_matches_jax():
    x = ref("as_add", "x")
    close(lax.associative_scan(fnp.add, x), ref("as_add", "y"))
    close(lax.associative_scan(fnp.maximum, x, reverse=True, axis=1), ref("as_max_rev", "y"))
    a, b = ref("as_affine", "a"), ref("as_affine", "b")

    def affine(e1, e2):
        return (e1[0] * e2[0], e1[1] * e2[0] + e2[1])

    ya, yb = lax.associative_scan(affine, (a, b))
    close(ya, ref("as_affine", "ya"))
    close(yb, ref("as_affine", "yb"))
    for n in range(1, 12):  # every length, odd and even, against numpy
        v = RNG.normal(size=n)
        close(lax.associative_scan(fnp.add, v), np.cumsum(v), 1e-12)
    check_grads(lambda a, b: lax.associative_scan(affine, (a, b))[1], (a, b), order=1)
    close(
        fg.jit(lambda a, b: lax.associative_scan(affine, (a, b))[1])(a, b), ref("as_affine", "yb")
    )


def test_cumulative_ops_match_jax_and_numpy():
    x = ref("cumlogsumexp", "x")
    close(lax.cumlogsumexp(x, axis=0), ref("cumlogsumexp", "y"))
    close(lax.cumlogsumexp(x, axis=1, reverse=True), ref("cumlogsumexp", "yr"))
    close(lax.cummax(x, axis=0, reverse=True), ref("cummax", "y"))
    close(lax.cummin(x, axis=1), ref("cummax", "y2"))
    close(lax.cumsum(x, axis=1, reverse=True), np.cumsum(x[:, ::-1], axis=1)[:, ::-1])
    close(lax.cumprod(x[:3], axis=0), np.cumprod(x[:3], axis=0))
    small = x / 30
    check_grads(lambda v: lax.cumlogsumexp(v, axis=0), (small,), order=2)
    check_grads(lambda v: lax.cummax(v, axis=1), (small,), order=1)
    got = fg.vmap(lambda v: lax.cumlogsumexp(v, reverse=True))(small)
    close(got, np.stack([lax.cumlogsumexp(r, reverse=True) for r in small]))


def test_map_is_a_loop():
    xs = RNG.normal(size=(7, 3))

    def f(r):
        return {"s": fnp.sum(r**2), "v": fnp.sin(r)}

    out = lax.map(f, xs)
    close(out["s"], np.sum(xs**2, axis=1))
    close(out["v"], np.sin(xs))
    out2 = lax.map(f, xs, batch_size=3)
    close(out2["s"], out["s"])
    close(out2["v"], out["v"])
    g = fg.grad(lambda v: fnp.sum(lax.map(lambda r: fnp.prod(r), v)))(xs)
    close(g, np.stack([[np.prod(np.delete(r, i)) for i in range(3)] for r in xs]))


# --- sorting -------------------------------------------------------------------------------------
def test_top_k_matches_jax_and_differentiates():
    x = ref("top_k", "x")
    v, i = lax.top_k(x, 4)
    close(v, ref("top_k", "v"))
    np.testing.assert_array_equal(i, ref("top_k", "i"))
    assert i.dtype == np.int32
    y = RNG.normal(size=(3, 6))
    g = fg.grad(lambda a: fnp.sum(lax.top_k(a, 2)[0] * np.array([1.0, 10.0])))(y)
    want = np.zeros_like(y)
    for r in range(3):
        order = np.argsort(-y[r], kind="stable")
        want[r, order[0]], want[r, order[1]] = 1.0, 10.0
    close(g, want)
    vs, is_ = fg.vmap(lambda a: lax.top_k(a, 3))(y)
    for r in range(3):
        close(vs[r], np.sort(y[r])[::-1][:3])
    close(fg.jit(lambda a: lax.top_k(a, 3)[0])(y), vs)


def test_sort_with_several_keys_matches_jax():
    k1, k2, v = ref("sort2", "k1"), ref("sort2", "k2"), ref("sort2", "v")
    s1, s2, s3 = lax.sort((k1, k2, v), num_keys=2)
    np.testing.assert_array_equal(s1, ref("sort2", "s1"))
    close(s2, ref("sort2", "s2"))
    close(s3, ref("sort2", "s3"))
    keys, vals = lax.sort_key_val(k2, v)
    close(keys, np.sort(k2))
    close(vals, v[np.argsort(k2)])
    close(lax.sort(k2), np.sort(k2))


# --- products ------------------------------------------------------------------------------------
def test_dot_general_matches_jax_and_einsum():
    a, b = ref("dot_general", "a"), ref("dot_general", "b")
    dn = (((1, 2), (3, 0)), ((0,), (1,)))
    close(lax.dot_general(a, b, dn), ref("dot_general", "y"))
    check_grads(lambda p, q: lax.dot_general(p, q, dn), (a, b), order=1)
    m, n = RNG.normal(size=(4, 2, 3)), RNG.normal(size=(4, 3, 5))
    close(lax.batch_matmul(m, n), m @ n)
    close(lax.dot(m[0], n[0]), m[0] @ n[0])
    close(lax.dot(m[0, 0], n[0]), m[0, 0] @ n[0])
    out = lax.dot(m[0], n[0], preferred_element_type=np.float32)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="are paired but differ"):
        lax.dot_general(m, n, (((2,), (2,)), ((), ())))


# --- gather / scatter / dynamic slicing ---------------------------------------------------------
def test_gather_and_scatter_match_jax():
    op, idx = ref("gather", "op"), ref("gather", "idx")
    dn = lax.GatherDimensionNumbers(
        offset_dims=(1,), collapsed_slice_dims=(0, 1), start_index_map=(0, 1)
    )
    close(lax.gather(op, idx, dn, (1, 1, 3), mode="clip"), ref("gather", "y"))
    close(lax.gather(op, idx, dn, (1, 1, 3), mode="fill"), ref("gather_fill", "y"))
    dn2 = lax.GatherDimensionNumbers(
        offset_dims=(0, 2), collapsed_slice_dims=(1,), start_index_map=(1,)
    )
    close(
        lax.gather(op, ref("gather_win", "idx"), dn2, (2, 1, 3), mode="clip"),
        ref("gather_win", "y"),
    )
    sdn = lax.ScatterDimensionNumbers(
        update_window_dims=(1,), inserted_window_dims=(0, 1), scatter_dims_to_operand_dims=(0, 1)
    )
    upd = ref("scatter_add", "upd")
    close(lax.scatter_add(op, idx, upd, sdn), ref("scatter_add", "y"))
    close(lax.scatter(op, idx[:3], upd[:3], sdn), ref("scatter", "y"))
    # derivatives w.r.t. the data, with traced indices (under jit)
    check_grads(lambda o: lax.gather(o, idx, dn, (1, 1, 3), mode="clip"), (op,), order=1)
    check_grads(lambda o, u: lax.scatter_add(o, idx, u, sdn), (op, upd), order=1)
    got = fg.jit(lambda o, i: lax.gather(o, i, dn, (1, 1, 3), mode="fill"))(op, idx)
    close(got, ref("gather_fill", "y"))
    # batched indices and operands against a loop
    idxs = np.stack([idx, idx[::-1], np.minimum(idx, 2)])
    ops = np.stack([op, op * 2.0, op - 1.0])
    gat = lambda o, i: lax.gather(o, i, dn, (1, 1, 3), mode="fill")  # noqa: E731
    close(fg.vmap(gat, in_axes=(None, 0))(op, idxs), np.stack([gat(op, i) for i in idxs]))
    close(fg.vmap(gat)(ops, idxs), np.stack([gat(o, i) for o, i in zip(ops, idxs)]))
    sca = lambda o, i, u: lax.scatter_add(o, i, u, sdn)  # noqa: E731
    ups = np.stack([upd, -upd, upd * 3])
    close(fg.vmap(sca)(ops, idxs, ups), np.stack([sca(*a) for a in zip(ops, idxs, ups)]))


def test_scatter_modes_match_jax():
    dn1 = lax.ScatterDimensionNumbers(
        update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
    )
    idx, upd = ref("scatter_modes", "idx"), ref("scatter_modes", "upd")
    close(lax.scatter_add(np.zeros(3), idx, upd, dn1), ref("scatter_modes", "add_drop"))
    close(
        lax.scatter_add(np.zeros(3), idx, upd, dn1, mode="clip"), ref("scatter_modes", "add_clip")
    )
    close(lax.scatter_max(np.zeros(3), idx, upd, dn1), ref("scatter_modes", "max_drop"))
    close(lax.scatter_mul(np.full(3, 2.0), idx, upd, dn1), ref("scatter_modes", "mul_drop"))
    close(lax.scatter(np.zeros(3), idx[:4], upd[:4], dn1), ref("scatter_modes", "set_drop"))
    got = fg.jit(lambda o, i, u: lax.scatter_add(o, i, u, dn1))(np.zeros(3), idx, upd)
    close(got, ref("scatter_modes", "add_drop"))
    # dropped updates get no derivative
    g = fg.grad(lambda u: fnp.sum(lax.scatter_add(np.zeros(3), idx, u, dn1) * np.arange(1.0, 4.0)))(
        upd
    )
    close(g, [1.0, 0.0, 3.0, 0.0, 3.0])


def test_dynamic_slicing_clamps_like_jax():
    x, u = ref("dyn", "x"), ref("dyn_upd", "u")
    close(lax.dynamic_slice(x, (4, -2), (2, 3)), ref("dyn", "y"))
    close(lax.dynamic_update_slice(x, u, (10, 1)), ref("dyn_upd", "y"))

    def f(a, s):
        i = fnp.floor(s).astype(np.int64)
        return lax.dynamic_slice(a, (i, 1), (2, 3))

    for s in (0.3, 2.7, 9.0):  # traced start, clamped
        want = x[min(int(np.floor(s)), 3) : min(int(np.floor(s)), 3) + 2, 1:4]
        close(fg.jit(f)(x, s), want)
        close(f(x, s), want)
    starts = np.array([0.0, 1.5, 3.9])
    close(fg.vmap(f, in_axes=(None, 0))(x, starts), np.stack([f(x, s) for s in starts]))
    g = fg.grad(lambda a: fnp.sum(f(a, 1.5) ** 2))(x)
    want = np.zeros_like(x)
    want[1:3, 1:4] = 2 * x[1:3, 1:4]
    close(g, want)

    def h(a, v, s):
        return lax.dynamic_update_slice(a, v, (fnp.floor(s).astype(np.int64), 0))

    check_grads(lambda a, v: h(a, v, 2.5), (x, u), order=1)
    ss = np.array([0.0, 2.5, 7.0])
    us = np.stack([u, 2 * u, -u])
    close(
        fg.vmap(h, in_axes=(None, 0, 0))(x, us, ss), np.stack([h(x, a, b) for a, b in zip(us, ss)])
    )
    xs = np.stack([x, x + 1.0, -x])
    close(fg.vmap(f)(xs, ss), np.stack([f(a, b) for a, b in zip(xs, ss)]))
    close(fg.jit(h)(x, u, 10.0), lax.dynamic_update_slice(x, u, (4, 0)))
    close(lax.dynamic_index_in_dim(x, 2, axis=1, keepdims=False), x[:, 2])
    close(lax.dynamic_update_index_in_dim(x, np.zeros(6), 1, 0)[1], np.zeros(6))
    close(lax.dynamic_slice_in_dim(x, 3, 2, axis=1), x[:, 3:5])
    close(lax.dynamic_update_slice_in_dim(x, u, 1, axis=1)[:2, 1:3], u)


def test_static_slicing_and_shapes():
    x = RNG.normal(size=(4, 5, 6))
    close(lax.slice(x, (1, 0, 2), (3, 5, 6), (1, 2, 3)), x[1:3, 0:5:2, 2:6:3])
    close(lax.slice_in_dim(x, 1, -1, axis=2), x[:, :, 1:-1])
    close(lax.index_in_dim(x, -1, axis=1, keepdims=False), x[:, -1])
    close(lax.rev(x, (0, 2)), x[::-1, :, ::-1])
    close(lax.broadcast(x[0, 0], (2, 3)), np.broadcast_to(x[0, 0], (2, 3, 6)))
    close(
        lax.broadcast_in_dim(x[0, :, 0], (3, 5, 2), (1,)),
        np.broadcast_to(x[0, :, 0][None, :, None], (3, 5, 2)),
    )
    close(lax.reshape(x, (6, 20), dimensions=(2, 0, 1)), x.transpose(2, 0, 1).reshape(6, 20))
    close(lax.transpose(x, (2, 0, 1)), x.transpose(2, 0, 1))
    close(lax.squeeze(x[:, :1], (1,)), x[:, 0])
    close(lax.expand_dims(x, (0, 3)), x[None, :, :, None])
    close(lax.concatenate([x, x], 1), np.concatenate([x, x], 1))
    close(lax.collapse(x, 1), x.reshape(4, 30))
    a, b = lax.split(x, (2, 4), axis=2)
    close(a, x[:, :, :2])
    close(b, x[:, :, 2:])
    close(lax.tile(x[0], (2, 1)), np.tile(x[0], (2, 1)))
    close(lax.broadcasted_iota(np.int32, (2, 3), 1), [[0, 1, 2], [0, 1, 2]])
    close(lax.iota(np.float32, 3), [0, 1, 2])
    close(lax.index_take(x, (np.array([0, 3]), np.array([1, 1])), (0, 2)), x[[0, 3], :, [1, 1]])
    # JAX's layout: index axes first, negative indices wrap
    i = np.array([2, -1, 0])
    close(lax.index_take(x, (i,), (1,)), np.moveaxis(x[:, i % 5], 1, 0))
    close(lax.index_take(x, (i, i), (1, 2)), np.moveaxis(x[:, i % 5, i % 6], 1, 0))
    assert lax.broadcast_shapes((2, 1), (3,)) == (2, 3)
    close(lax.broadcast_to_rank(x[0, 0], 3), x[0, 0][None, None])
    with pytest.raises(ValueError, match="within shape"):
        lax.slice(x, (0, 0, 0), (5, 5, 6))
    with pytest.raises(ValueError, match="does not have size 1"):
        lax.squeeze(x, (0,))
    with pytest.raises(ValueError, match="strictly increasing"):
        lax.broadcast_in_dim(x[0], (5, 6, 2), (1, 0))
    g = fg.grad(lambda v: fnp.sum(lax.rev(lax.slice(v, (0, 1, 0), (4, 5, 6)), (1,)) ** 2))(x)
    want = 2 * x
    want[:, 0] = 0
    close(g, want)


# --- elementwise ---------------------------------------------------------------------------------
def test_elementwise_lax_names_match_numpy():
    x = RNG.uniform(0.2, 0.9, size=5)
    y = RNG.uniform(0.2, 0.9, size=5)
    pairs = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "max": np.maximum,
        "min": np.minimum,
        "pow": np.power,
        "atan2": np.arctan2,
        "rem": np.fmod,
        "nextafter": np.nextafter,
    }
    for name, f in pairs.items():
        close(getattr(lax, name)(x, y), f(x, y))
    unary = {
        "abs": np.abs,
        "acos": np.arccos,
        "acosh": lambda v: np.arccosh(v + 1),
        "asin": np.arcsin,
        "asinh": np.arcsinh,
        "atan": np.arctan,
        "atanh": np.arctanh,
        "cbrt": np.cbrt,
        "ceil": np.ceil,
        "cos": np.cos,
        "cosh": np.cosh,
        "exp": np.exp,
        "exp2": np.exp2,
        "expm1": np.expm1,
        "floor": np.floor,
        "log": np.log,
        "log1p": np.log1p,
        "neg": np.negative,
        "sign": np.sign,
        "sin": np.sin,
        "sinh": np.sinh,
        "sqrt": np.sqrt,
        "square": np.square,
        "tan": np.tan,
        "tanh": np.tanh,
        "reciprocal": np.reciprocal,
        "is_finite": np.isfinite,
    }
    for name, f in unary.items():
        arg = x + 1 if name == "acosh" else x
        close(getattr(lax, name)(arg), f(x))
    close(lax.rsqrt(x), 1 / np.sqrt(x))
    close(lax.logistic(x), 1 / (1 + np.exp(-x)))
    close(lax.integer_pow(x, 3), x**3)
    close(lax.erfc(x), 1 - lax.erf(x))
    close(lax.erf_inv(lax.erf(x)), x, 1e-9)
    close(lax.clamp(0.3, x, 0.6), np.clip(x, 0.3, 0.6))
    close(lax.select(x > y, x, y), np.maximum(x, y))
    close(lax.select_n(x > y, y, x), np.maximum(x, y))
    close(lax.convert_element_type(np.array([1.7, -1.7]), np.int32), [1, -1])
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        f = {
            "eq": np.equal,
            "ne": np.not_equal,
            "lt": np.less,
            "le": np.less_equal,
            "gt": np.greater,
            "ge": np.greater_equal,
        }[name]
        np.testing.assert_array_equal(getattr(lax, name)(x, y), f(x, y))
    p, q = x > 0.5, y > 0.5
    np.testing.assert_array_equal(lax.bitwise_and(p, q), p & q)
    np.testing.assert_array_equal(lax.bitwise_or(p, q), p | q)
    np.testing.assert_array_equal(lax.bitwise_xor(p, q), p ^ q)
    np.testing.assert_array_equal(lax.bitwise_not(p), ~p)
    check_grads(lambda v: lax.rsqrt(v) * lax.logistic(v) + lax.integer_pow(v, 3), (x,), order=2)
    g = fg.grad(lambda v: fnp.sum(lax.stop_gradient(v) * v))(x)
    close(g, x)


def test_integer_division_and_rounding_match_jax():
    a, b = ref("intdiv", "a"), ref("intdiv", "b")
    np.testing.assert_array_equal(lax.div(a, b), ref("intdiv", "q"))
    np.testing.assert_array_equal(lax.rem(a, b), ref("intdiv", "r"))
    x = ref("round", "x")
    close(lax.round(x), ref("round", "away"))
    close(lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN), ref("round", "even"))


def test_lax_does_not_promote_and_says_so():
    with pytest.raises(TypeError, match="lax.add requires arguments to have the same dtypes"):
        lax.add(np.ones(2, np.float32), np.ones(2))
    close(lax.add(np.ones(2, np.float32), 1.0), [2.0, 2.0])  # Python scalars are weak
    with pytest.raises(ValueError, match="must have one shape"):
        lax.select(np.array([True, False]), np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="pred must be boolean"):
        lax.select(np.ones(2), np.ones(2), np.ones(2))


def test_reductions_and_argminmax():
    x = RNG.normal(size=(3, 4))
    close(lax.reduce_sum(x, (0,)), x.sum(0))
    close(lax.reduce_prod(x, (1,)), x.prod(1))
    close(lax.reduce_max(x, (0, 1)), x.max())
    close(lax.reduce_min(x, (1,)), x.min(1))
    np.testing.assert_array_equal(lax.reduce_and(x > 0, (1,)), (x > 0).all(1))
    np.testing.assert_array_equal(lax.reduce_or(x > 0, (0,)), (x > 0).any(0))
    i = lax.argmax(x, 1, np.int32)
    assert i.dtype == np.int32
    np.testing.assert_array_equal(i, x.argmax(1))
    np.testing.assert_array_equal(lax.argmin(x, 0, np.int64), x.argmin(0))


def test_patches_shape_helpers_and_generic_reduce_match_jax():
    x = ref("patches", "x")
    y = lax.conv_general_dilated_patches(
        x, (2, 3), (1, 2), "SAME", dimension_numbers=("NHWC", "OIHW", "NHWC")
    )
    close(y, ref("patches", "y"))
    y2 = lax.conv_general_dilated_patches(np.moveaxis(x, 3, 1), (3, 2), (2, 1), "VALID")
    close(y2, ref("patches", "y_nchw"))
    check_grads(
        lambda v: lax.conv_general_dilated_patches(v, (3, 2), (2, 1), "VALID"),
        (np.moveaxis(x, 3, 1),),
        order=1,
    )
    perms = lax.conv_general_permutations(("NHWC", "HWIO", "NHWC"))
    np.testing.assert_array_equal(np.array(perms), ref("patches", "perms"))
    shape = lax.conv_general_shape_tuple(
        (2, 9, 8, 3), (3, 3, 3, 5), (2, 1), "SAME", ("NHWC", "HWIO", "NHWC")
    )
    assert shape == tuple(ref("patches", "shape"))
    rw = lax.reduce_window_shape_tuple((7, 6), (3, 2), (2, 1), ((1, 1), (0, 2)))
    assert rw == tuple(ref("patches", "rw_shape"))
    cs = lax.conv_shape_tuple((2, 3, 9, 8), (5, 3, 3, 2), (2, 1), "SAME")
    assert cs == tuple(ref("patches", "conv_shape"))
    x = ref("reduce", "x")
    close(lax.reduce(x, 1.0, lambda a, b: a * b, (1,)), ref("reduce", "y"))
    close(lax.reduce(x, -np.inf, lax.max, (0,)), ref("reduce", "ymax"))
    # a pytree reduction (value, index): argmax along an axis, as XLA's variadic reduce
    idx = np.broadcast_to(np.arange(7), x.shape)

    def pick(a, b):
        take_a = a[0] >= b[0]
        return (fnp.where(take_a, a[0], b[0]), fnp.where(take_a, a[1], b[1]))

    v, i = lax.reduce((x, idx), (-np.inf, 0), pick, (1,))
    close(v, x.max(1))
    np.testing.assert_array_equal(i, x.argmax(1))
    close(lax.reduce(np.zeros((0, 3)), 5.0, lambda a, b: a + b, (0,)), [5.0] * 3)
    g = fg.grad(lambda v: fnp.sum(lax.reduce(v, 0.0, lambda a, b: a + b * 1.0, (0, 1))))(x)
    close(g, np.ones_like(x))


def test_small_compat_names():
    x = RNG.normal(size=(3, 4))
    close(lax.stack([x, x], 1), np.stack([x, x], 1))
    parts = lax.unstack(x, 1)
    assert len(parts) == 4
    close(parts[2], x[:, 2])
    np.testing.assert_array_equal(lax.reduce_xor(x > 0, (1,)), np.sum(x > 0, 1) % 2 == 1)
    assert lax.dtype(1.0) == np.float64 and lax.dtype(np.ones(2, np.float32)) == np.float32
    v, i = lax.approx_max_k(x, 2)
    close(v, -np.sort(-x, 1)[:, :2])
    v, i = lax.approx_min_k(x, 2)
    close(v, np.sort(x, 1)[:, :2])
    np.testing.assert_array_equal(i, np.argsort(x, 1)[:, :2])
    assert lax.platform_dependent(2.0, cpu=lambda a: a * 3, default=lambda a: a) == 6.0
    assert lax.with_sharding_constraint(x, None) is x
    r = lax.reduce_precision(x, 8, 23)
    close(r, x.astype(np.float32).astype(np.float64), 0)
    close(fg.grad(lambda v: fnp.sum(lax.reduce_precision(v, 5, 10)))(x), np.ones_like(x))
    with pytest.raises(NotImplementedError, match="IEEE formats"):
        lax.reduce_precision(x, 4, 3)


def test_lax_count_reaches_forty_percent_of_jax_lax():
    # jax.lax 0.10.2 has 372 public names (154 of them primitive objects ``*_p``)
    assert len(lax.__all__) >= 0.4 * 372
