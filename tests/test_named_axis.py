"""Named vmap axes and the lax collectives over them, against JAX's recorded outputs
(tests/data/named_axis_ref.npz, from tests/data/record_named_axis.py) and closed forms."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))
from named_axis_cases import CASES, A, B, C, V, namespace, ref_key  # noqa: E402

with np.load(DATA / "named_axis_ref.npz") as _f:
    REF = {k: _f[k] for k in _f.files}
NS = namespace(fg, lax, fnp, lax.pbroadcast)
HERE = Path(__file__).name


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_jax(name):
    leaves = fg.tree_util.tree_leaves(CASES[name](NS))
    n = sum(k.startswith(name + "/") for k in REF)
    assert len(leaves) == n, name
    keys = [ref_key(name, i) for i in range(n)]
    for k, got in zip(keys, leaves):
        want = REF[k]
        got = np.asarray(got)
        assert got.shape == want.shape, (k, got.shape, want.shape)
        if want.dtype.kind in "iub":
            assert got.dtype.kind in "iu", (k, got.dtype)
            np.testing.assert_array_equal(got, want, err_msg=k)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=k)


def test_axis_index_is_int32_and_psum_of_bool_int32():
    idx, s = fg.vmap(lambda x: (lax.axis_index("i"), lax.psum(x > 0, "i")), axis_name="i")(A)
    assert idx.dtype == np.int32 and s.dtype == np.int32
    np.testing.assert_array_equal(idx, np.arange(4))


# --- closed forms, where JAX has no reference -----------------------------------------------------
def test_pmax_pmin_gradients_share_among_ties():
    # JAX defines no derivative for pmax; funcgrad's is max's: members attaining the maximum
    # share the summed cotangent. Members 0 and 2 tie at 3 in column 0.
    x = np.array([[3.0, 1.0], [2.0, 5.0], [3.0, 0.0]])
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    g = fg.vmap(fg.grad(lambda r, c: (lax.pmax(r, "i") * c).sum()), axis_name="i")(x, w)
    np.testing.assert_allclose(g, [[4.5, 0.0], [0.0, 12.0], [4.5, 0.0]])
    # The same objective through grad of the vmap (which batches pmax into a max) agrees.
    g2 = fg.grad(lambda a: (fg.vmap(lambda r: lax.pmax(r, "i"), axis_name="i")(a) * w).sum())(x)
    np.testing.assert_allclose(g2, g)
    gmin = fg.vmap(fg.grad(lambda r: lax.pmin(r, "i").sum()), axis_name="i")(x)
    np.testing.assert_allclose(gmin, [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    # Forward mode: the tangent of the attaining members, averaged over ties.
    t = np.array([[1.0, 0.0], [0.0, 0.0], [3.0, 0.0]])
    _, dt = fg.vmap(lambda r, s: fg.jvp(lambda a: lax.pmax(a, "i"), (r,), (s,)), axis_name="i")(
        x, t
    )
    np.testing.assert_allclose(dt, [[2.0, 0.0]] * 3)


def test_ppermute_partial_perm_fills_zeros_and_transposes():
    # JAX's vmap asserts a full permutation; the documented semantics fill zeros.
    perm = [(0, 1), (1, 2)]
    y = fg.vmap(lambda x: lax.ppermute(x, "i", perm), axis_name="i")(A)
    np.testing.assert_array_equal(y, [np.zeros(3), A[0], A[1], np.zeros(3)])
    g = fg.vmap(fg.grad(lambda x: (lax.ppermute(x, "i", perm) * V).sum()), axis_name="i")(A)
    np.testing.assert_array_equal(g, [V, V, np.zeros(3), np.zeros(3)])
    # An unbatched operand: every receiving member gets the same value.
    z = fg.vmap(lambda x, c: lax.ppermute(c, "i", perm) + 0 * x, in_axes=(0, None), axis_name="i")(
        A, V
    )
    np.testing.assert_array_equal(z, [np.zeros(3), V, V, np.zeros(3)])


def test_ppermute_over_two_names_uses_row_major_members():
    # Members (i, j) are numbered i * 3 + j, as axis_index(("i", "j")) numbers them; JAX's vmap
    # does not implement this case.
    x = np.arange(6.0).reshape(2, 3)
    perm = [(k, (k + 1) % 6) for k in range(6)]
    f = fg.vmap(fg.vmap(lambda v: lax.ppermute(v, ("i", "j"), perm), axis_name="j"), axis_name="i")
    np.testing.assert_array_equal(f(x), np.roll(x.ravel(), 1).reshape(2, 3))
    g = fg.grad(lambda a: (f(a) * np.arange(6.0).reshape(2, 3)).sum())(x)
    np.testing.assert_array_equal(g, np.roll(np.arange(6.0), -1).reshape(2, 3))


def test_all_gather_and_psum_scatter_over_two_names():
    def inner(v):
        return (
            lax.all_gather(v, ("i", "j")),
            lax.all_gather(v[None], ("i", "j"), axis=1, tiled=True),
            lax.psum_scatter(fnp.stack([v] * 6), ("i", "j")),
        )

    g, gt, ps = fg.vmap(fg.vmap(inner, axis_name="j"), axis_name="i")(C)
    flat = C.reshape(6, 6)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(g[i, j], flat)
            np.testing.assert_array_equal(gt[i, j], flat.reshape(1, 36))
            np.testing.assert_allclose(ps[i, j], flat.sum(0), rtol=1e-14)
    pb = fg.vmap(fg.vmap(lambda v: lax.pbroadcast(v, ("i", "j"), 4), axis_name="j"), axis_name="i")
    np.testing.assert_array_equal(pb(C), np.broadcast_to(C[1, 1], C.shape))
    # psum_scatter over two names: member (i, j) keeps row i * 3 + j of the sum.
    x = np.arange(2 * 3 * 6 * 2.0).reshape(2, 3, 6, 2)
    ps = fg.vmap(fg.vmap(lambda v: lax.psum_scatter(v, ("i", "j")), axis_name="j"), axis_name="i")(
        x
    )
    np.testing.assert_allclose(ps.reshape(6, 2), x.reshape(6, 6, 2).sum(0))


def _fd_check(f, x, eps=1e-6):
    g = fg.grad(f)(x)
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        num[idx] = (f(x + e) - f(x - e)) / (2 * eps)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "op",
    [
        lambda v: lax.all_to_all(v, "i", 0, 1),
        lambda v: lax.all_to_all(v.T, "i", 1, 0),
        lambda v: lax.psum_scatter(v, "i", scatter_dimension=0),
        lambda v: lax.all_gather(v[0], "i", axis=0, tiled=True),
        lambda v: lax.pshuffle(v, "i", [1, 3, 0, 2]),
        lambda v: lax.pmax(v, "i"),
    ],
)
def test_gradients_match_finite_differences(op):
    w = np.random.default_rng(3).normal(size=(4, 4, 2))

    def member(r, c):
        return (fnp.sin(op(r)) * c.sum()).sum()

    def total(x):
        return fg.vmap(member, axis_name="i")(x, w).sum()

    _fd_check(total, B.copy())
    # grad inside the vmap of the pmean over members: per member, the derivative of the sum
    # of the members' objectives (psum's transpose is psum, as in JAX).
    inside = fg.vmap(fg.grad(lambda r, c: lax.pmean(member(r, c), "i")), axis_name="i")(B, w)
    np.testing.assert_allclose(inside, fg.grad(total)(B), rtol=1e-12, atol=1e-12)


_LINEAR = {
    "psum": lambda v: lax.psum(v, "i"),
    "all_gather": lambda v: lax.all_gather(v, "i", axis=1),
    "psum_scatter": lambda v: lax.psum_scatter(v, "i"),
    "ppermute": lambda v: lax.ppermute(v, "i", [(0, 2), (2, 3), (3, 0)]),
    "all_to_all": lambda v: lax.all_to_all(v, "i", 0, 1),
    "all_to_all_tiled": lambda v: lax.all_to_all(v, "i", 0, 1, tiled=True),
}


@pytest.mark.parametrize("name", sorted(_LINEAR))
def test_complex_jvp_and_vjp_inside_match_the_batched_function(name):
    # JAX's convention for complex values: the VJP is the plain transpose of the JVP (no
    # conjugation). Inside the vmap, a member's JVP/VJP must be the batched function's.
    op = _LINEAR[name]
    rng = np.random.default_rng(11)

    def c(*shape):
        return rng.normal(size=shape) + 1j * rng.normal(size=shape)

    z, t = c(4, 4, 2), c(4, 4, 2)
    batched = fg.vmap(op, axis_name="i")
    y, ty = fg.jvp(batched, (z,), (t,))
    y_in, ty_in = fg.vmap(lambda a, b: fg.jvp(op, (a,), (b,)), axis_name="i")(z, t)
    np.testing.assert_allclose(y_in, y, rtol=1e-13)
    np.testing.assert_allclose(ty_in, ty, rtol=1e-13)
    u = c(*np.shape(y))
    (ct,) = fg.vjp(batched, z)[1](u)
    ct_in = fg.vmap(lambda a, b: fg.vjp(op, a)[1](b)[0], axis_name="i")(z, u)
    np.testing.assert_allclose(ct_in, ct, rtol=1e-13)
    # and the dot-product identity Re <u, J t> = Re <J^T u, t> (no conjugation)
    np.testing.assert_allclose((u * ty).sum().real, (ct * t).sum().real, rtol=1e-12)


def test_pmax_pmin_refuse_complex():
    for f in (lax.pmax, lax.pmin):
        with pytest.raises(TypeError, match="complex operands have no order"):
            fg.vmap(lambda v, f=f: f(v, "i"), axis_name="i")(np.ones((2, 2), complex))


def test_all_to_all_over_two_names_tiled():
    # Against the one-name form on a merged axis: vmap over 6 members = nested 2 x 3.
    x = np.random.default_rng(5).normal(size=(6, 12, 2))
    one = fg.vmap(lambda v: lax.all_to_all(v, "k", 0, 1, tiled=True), axis_name="k")(x)
    two = fg.vmap(
        fg.vmap(lambda v: lax.all_to_all(v, ("i", "j"), 0, 1, tiled=True), axis_name="j"),
        axis_name="i",
    )(x.reshape(2, 3, 12, 2))
    np.testing.assert_allclose(two.reshape(one.shape), one)


def test_named_vmap_inside_jit_is_compiled_once():
    f = fg.jit(fg.vmap(lambda x: lax.psum(x, "i") * lax.axis_index("i"), axis_name="i"))
    np.testing.assert_allclose(f(A), A.sum(0) * np.arange(4)[:, None])
    f(A + 1.0)
    assert f.cache_info().misses == 1
    assert "psum" not in str(f.lower(A).ir)  # resolved by vmap while tracing


def test_jit_inside_vmap_sees_the_sizes_of_each_call():
    g = fg.jit(lambda x: lax.all_gather(x, "i"))
    assert fg.vmap(g, axis_name="i")(A).shape == (4, 4, 3)
    assert fg.vmap(g, axis_name="i")(A[:2]).shape == (2, 2, 3)


def test_vmap_axis_size_and_spmd_axis_name():
    out = fg.vmap(lambda x: x * 2, spmd_axis_name="devices")(V)
    np.testing.assert_array_equal(out, V * 2)
    out = fg.vmap(lambda: lax.axis_size("i"), axis_name="i", axis_size=3)()
    np.testing.assert_array_equal(out, [3, 3, 3])
    assert fg.vmap(lambda v: v, in_axes=None, axis_size=2)(V).shape == (2, 3)


def test_the_ir_shows_the_collectives():
    ir = fg.make_ir(fg.vmap(fg.grad(lambda r: lax.psum(r**2, "i").sum()), axis_name="i"))(A)
    assert "reduce_sum" in str(ir) and "psum" not in str(ir)
    seen = []

    def f(r):
        seen.append(str(fg.make_ir(lambda v: lax.psum(v, "i"))(r)))
        return r

    fg.vmap(f, axis_name="i")(A)
    assert re.search(r"psum\[axis_name=\('i',\)\]", seen[0]), seen[0]


# --- errors -------------------------------------------------------------------------------------
def _line_of(marker):
    for n, line in enumerate(Path(__file__).read_text().splitlines(), 1):
        if marker in line and "_line_of" not in line:
            return n
    raise AssertionError(marker)


def test_unbound_axis_name_is_a_located_name_error():
    with pytest.raises(NameError) as e:
        lax.psum(A, "i")  # MARK-unbound-eager
    msg = str(e.value)
    assert msg.startswith(
        f"in {HERE}:{_line_of('MARK-unbound-eager')}, psum: unbound axis name 'i'"
    )
    assert "vmap(..., axis_name='i')" in msg
    assert type(e.value).__name__ == "LocatedNameError"
    with pytest.raises(NameError, match=rf"{HERE}:\d+, all_gather: unbound axis name 'j'"):
        fg.jit(lambda x: lax.all_gather(x, "j"))(A)
    # Bound: 'i'; asked: 'j'.
    with pytest.raises(
        NameError, match=r"axis_index: unbound axis name 'j' \(the axis names bound here are 'i'\)"
    ):
        fg.vmap(lambda x: x * lax.axis_index("j"), axis_name="i")(A)
    with pytest.raises(NameError, match="psum: unbound axis name 'i'"):
        fg.grad(lambda x: lax.psum(x, "i").sum())(A)
    # The name is bound only while the vmap traces.
    keep = []
    fg.vmap(lambda x: keep.append(lambda: lax.axis_size("i")) or x, axis_name="i")(A)
    with pytest.raises(NameError, match="axis_size: unbound axis name 'i'"):
        keep[0]()
    for name in (
        "pmean",
        "pmax",
        "pmin",
        "ppermute",
        "pshuffle",
        "all_to_all",
        "pswapaxes",
        "pbroadcast",
    ):
        fn = getattr(lax, name)
        args = {
            "ppermute": ([(0, 0)],),
            "pshuffle": ([0],),
            "all_to_all": (0, 0),
            "pswapaxes": (0,),
            "pbroadcast": (0,),
        }
        with pytest.raises(NameError, match="unbound axis name 'i'"):
            fn(A, "i", *args.get(name, ()))


def test_shape_and_argument_errors():
    def run(f, x=B):
        return fg.vmap(f, axis_name="i")(x)

    with pytest.raises(
        ValueError,
        match=r"all_to_all requires the size of the mapped axis 'i' \(4\) to equal "
        r"x.shape\[split_axis\] \(2\)",
    ):
        run(lambda x: lax.all_to_all(x, "i", 1, 0))
    with pytest.raises(
        ValueError, match=r"psum_scatter: dimension 0 of .* has size 3, but axis 'i' has size 4"
    ):
        run(lambda x: lax.psum_scatter(x, "i"), A)
    with pytest.raises(ValueError, match="not divisible"):
        run(lambda x: lax.all_to_all(x, "i", 1, 0, tiled=True))
    with pytest.raises(ValueError, match="all_gather: axis=3 is out of range"):
        run(lambda x: lax.all_gather(x, "i", axis=3))
    with pytest.raises(ValueError, match="pshuffle: `perm` does not represent a permutation"):
        run(lambda x: lax.pshuffle(x, "i", [0, 0, 1, 2]))
    with pytest.raises(ValueError, match="sources and destinations of perm must be unique"):
        run(lambda x: lax.ppermute(x, "i", [(0, 1), (1, 1)]))
    with pytest.raises(
        ValueError, match=r"pair \(0, 4\) of perm is out of range for an axis of size 4"
    ):
        run(lambda x: lax.ppermute(x, "i", [(0, 4)]))
    with pytest.raises(
        ValueError, match="pbroadcast: source 4 is out of range for an axis of size 4"
    ):
        run(lambda x: lax.pbroadcast(x, "i", 4))
    with pytest.raises(ValueError, match="ppermute: axis_name is an empty tuple"):
        run(lambda x: lax.ppermute(x, (), []))
    np.testing.assert_array_equal(run(lambda x: lax.psum(x, ()) + lax.axis_index(())), B)
    with pytest.raises(ValueError, match="repeats a name"):
        run(lambda x: lax.psum(x, ("i", "i")))
    with pytest.raises(NotImplementedError, match="axis_index_groups"):
        run(lambda x: lax.psum(x, "i", axis_index_groups=[[0, 1], [2, 3]]))
    with pytest.raises(TypeError, match="axis_name must be hashable"):
        fg.vmap(lambda x: x, axis_name=["i"])
    with pytest.raises(TypeError, match="axis_size must be an int"):
        fg.vmap(lambda x: x, axis_size=2.5)
    with pytest.raises(ValueError, match="axis_size must be >= 0"):
        fg.vmap(lambda x: x, axis_size=-1)
    with pytest.raises(
        ValueError, match="the axis_size argument was 5, the mapped arguments have leaf 0: 4"
    ):
        fg.vmap(lambda x: x, axis_size=5)(A)
    with pytest.raises(
        ValueError, match=r"vmap needs at least one argument mapped .* or axis_size="
    ):
        fg.vmap(lambda x: x, in_axes=None, axis_name="i")(A)


def test_custom_rules_and_collectives():
    # A collective in a custom_vjp's backward rule, with grad inside the vmap: works.
    @fg.custom_vjp
    def g(x):
        return x * 2.0

    g.defvjp(lambda x: (g(x), None), lambda r, ct: (lax.psum(ct, "i"),))
    np.testing.assert_array_equal(fg.vmap(fg.grad(g), axis_name="i")(V), [3.0, 3.0, 3.0])

    # A collective in the function of a custom_jvp/custom_vjp under the vmap: not supported
    # (the function would close over the vmap's axis); a clear error, never a wrong number.
    @fg.custom_jvp
    def f(x):
        return lax.psum(x, "i")

    f.defjvp(lambda p, t: (f(p[0]), lax.psum(t[0], "i")))
    with pytest.raises(NotImplementedError, match="custom_jvp function that closes over batched"):
        fg.vmap(f, axis_name="i")(V)
    # checkpoint (remat) is fine.
    h = fg.checkpoint(lambda x: fnp.sin(lax.psum(x, "i")) * x)
    got = fg.grad(lambda a: fg.vmap(h, axis_name="i")(a).sum())(A)
    s = A.sum(0)  # d/dx_j of sum_k sin(s) x_k, the same for every member j
    np.testing.assert_allclose(got, np.broadcast_to(np.sin(s) + np.cos(s) * s, A.shape), rtol=1e-12)


def test_a_collective_never_runs_outside_its_vmap():
    from funcgrad.primitives import named_axis

    with pytest.raises(NameError, match="psum over axis 'i' was evaluated outside the vmap"):
        named_axis.psum_p.impl(np.ones(3), np.int32(0), axis_name=("i",))
    # An IR kept from inside the vmap holds the dead token: using it is a tracer leak.
    kept = []

    def f(x):
        kept.append(fg.make_ir(lambda v: lax.psum(v, "i"))(x))
        return x

    fg.vmap(f, axis_name="i")(A)
    from funcgrad.core.tracing import eval_ir

    with pytest.raises(fg.errors.TracerLeakError):
        eval_ir(kept[0], np.ones(3))


def test_distributed_collectives_untouched():
    from funcgrad.primitives import collectives, named_axis

    assert collectives.allreduce_p is not named_axis.psum_p
    assert {"allreduce", "psum", "all_gather", "allgather"} <= set(fg.primitives.registry)
