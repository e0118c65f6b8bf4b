"""The named-axis cases shared by ``record_named_axis.py`` (run with JAX) and
``tests/test_named_axis.py`` (run with funcgrad): each case is a function of a namespace
``ns`` holding ``vmap``, ``grad``, ``jit``, ``jvp``, ``value_and_grad``, ``hessian``,
``jacfwd``, ``jacrev``, ``pbroadcast``, ``lax``
and ``xp`` (``jax.numpy`` or ``funcgrad.numpy``), returning a tuple of arrays; ``namespace``
builds that ``ns`` from either library, and ``ref_key`` names the recorded arrays. This module
imports neither library."""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_rng = np.random.default_rng(1234)
A = _rng.normal(size=(4, 3))  # 4 members, per member a (3,) vector
B = _rng.normal(size=(4, 4, 2))  # per member (4, 2): split axis 0 has the axis size
C = _rng.normal(size=(2, 3, 6))  # nested: 2 x 3 members, per member (6,)
D = _rng.normal(size=(4, 8, 3))  # per member (8, 3): tiled split over 4 members
W = _rng.normal(size=(4, 3))  # weights for scalar losses
V = _rng.normal(size=(3,))
P4 = [(0, 2), (1, 0), (2, 3), (3, 1)]


def _cases() -> dict:
    c = {}

    def case(f):
        c[f.__name__] = f
        return f

    # --- reductions ---------------------------------------------------------------------------
    @case
    def psum_fwd(ns):
        return (ns.vmap(lambda x: ns.lax.psum(x, "i"), axis_name="i")(A),)

    @case
    def psum_tree(ns):
        f = ns.vmap(lambda t: ns.lax.psum(t, "i"), axis_name="i")
        out = f({"a": A, "b": A[:, 0]})
        return out["a"], out["b"]

    @case
    def psum_grad_inside(ns):
        def loss(x, w):
            return (ns.lax.psum(ns.xp.sin(x) * x, "i") * w).sum()

        return ns.vmap(ns.grad(loss), axis_name="i")(A, W)

    @case
    def psum_grad_outside(ns):
        def total(x):
            y = ns.vmap(lambda r: ns.lax.psum(ns.xp.sin(r) * r, "i"), axis_name="i")(x)
            return (y * W).sum()

        return (ns.grad(total)(A),)

    @case
    def psum_jvp_inside(ns):
        def f(x, t):
            return ns.jvp(lambda a: ns.lax.psum(a**3, "i"), (x,), (t,))

        return ns.vmap(f, axis_name="i")(A, W)

    @case
    def psum_jvp_outside(ns):
        g = ns.vmap(lambda r: ns.lax.psum(r**3, "i"), axis_name="i")
        return ns.jvp(g, (A,), (W,))

    @case
    def pmean_fwd_grad(ns):
        def loss(x):
            return (ns.lax.pmean(x**2, "i") * V).sum()

        return (
            ns.vmap(lambda x: ns.lax.pmean(x, "i"), axis_name="i")(A),
            ns.vmap(ns.grad(loss), axis_name="i")(A),
        )

    @case
    def pmax_pmin_fwd(ns):
        f = ns.vmap(lambda x: (ns.lax.pmax(x, "i"), ns.lax.pmin(x, "i")), axis_name="i")
        return f(A)

    @case
    def psum_unbatched_and_constant(ns):
        f = ns.vmap(
            lambda x, y: (ns.lax.psum(y, "i"), ns.lax.psum(2.5, "i"), ns.lax.pmean(y, "i") + x),
            in_axes=(0, None),
            axis_name="i",
        )
        return f(A, V)

    @case
    def psum_int_bool(ns):
        f = ns.vmap(lambda k: (ns.lax.psum(k, "i"), ns.lax.psum(k > 1, "i")), axis_name="i")
        return f(np.arange(4))

    # --- all_gather, psum_scatter ----------------------------------------------------------------
    @case
    def all_gather_fwd(ns):
        f = ns.vmap(
            lambda x: (
                ns.lax.all_gather(x, "i"),
                ns.lax.all_gather(x, "i", axis=1),
                ns.lax.all_gather(x, "i", axis=-1),
                ns.lax.all_gather(x, "i", tiled=True),
            ),
            axis_name="i",
        )
        return f(A)

    @case
    def all_gather_grad_inside(ns):
        w = _rng_fixed(4, 3, 4)

        def loss(x):
            return (ns.xp.cos(ns.lax.all_gather(x, "i", axis=1)) * w).sum()

        return (ns.vmap(ns.grad(loss), axis_name="i")(A),)

    @case
    def all_gather_unbatched(ns):
        f = ns.vmap(lambda x, y: ns.lax.all_gather(y, "i") + x, in_axes=(0, None), axis_name="i")
        return (f(A, V),)

    @case
    def psum_scatter_fwd(ns):
        f = ns.vmap(
            lambda x: (
                ns.lax.psum_scatter(x, "i"),
                ns.lax.psum_scatter(x, "i", tiled=True),
                ns.lax.psum_scatter(ns.xp.swapaxes(x, 0, 1), "i", scatter_dimension=1),
            ),
            axis_name="i",
        )
        return f(B)

    @case
    def psum_scatter_tiled(ns):
        f = ns.vmap(lambda x: ns.lax.psum_scatter(x, "i", tiled=True), axis_name="i")
        return (f(D),)

    @case
    def psum_scatter_grad_inside(ns):
        def loss(x):
            return (ns.xp.sin(ns.lax.psum_scatter(x, "i")) * V[:2]).sum()

        return (ns.vmap(ns.grad(loss), axis_name="i")(B),)

    # --- ppermute, pshuffle ----------------------------------------------------------------------
    @case
    def ppermute_fwd_grad(ns):
        def loss(x):
            return (ns.lax.ppermute(x**2, "i", P4) * V).sum()

        return (
            ns.vmap(lambda x: ns.lax.ppermute(x, "i", P4), axis_name="i")(A),
            ns.vmap(ns.grad(loss), axis_name="i")(A),
        )

    @case
    def pbroadcast_fwd_grad(ns):
        # (JAX 0.10's vmap of lax.pbroadcast fails; ns.pbroadcast is JAX's documented
        # equivalent there, psum of x masked to the source, and lax.pbroadcast here.)
        def loss(x):
            return (ns.pbroadcast(ns.xp.sin(x), "i", 2) * V).sum()

        return (
            ns.vmap(lambda x: ns.pbroadcast(x, "i", 1), axis_name="i")(A),
            ns.vmap(ns.grad(loss), axis_name="i")(A),
        )

    @case
    def pshuffle_fwd(ns):
        return (ns.vmap(lambda x: ns.lax.pshuffle(x, "i", [3, 0, 2, 1]), axis_name="i")(A),)

    # --- all_to_all, pswapaxes -------------------------------------------------------------------
    @case
    def all_to_all_fwd(ns):
        f = ns.vmap(
            lambda x: (
                ns.lax.all_to_all(x, "i", 0, 0),
                ns.lax.all_to_all(x, "i", 0, 1),
                ns.lax.all_to_all(ns.xp.swapaxes(x, 0, 1), "i", 1, 0),
                ns.lax.pswapaxes(x, "i", 0),
            ),
            axis_name="i",
        )
        return f(B)

    @case
    def all_to_all_tiled(ns):
        f = ns.vmap(
            lambda x: (
                ns.lax.all_to_all(x, "i", 0, 0, tiled=True),
                ns.lax.all_to_all(x, "i", 0, 1, tiled=True),
            ),
            axis_name="i",
        )
        return f(D)

    @case
    def all_to_all_grad_inside(ns):
        # (JAX 0.10's transpose fails for split_axis != concat_axis without tiling; that case
        # is checked against finite differences in the tests.)
        w = _rng_fixed(7, 4, 2)
        w2 = _rng_fixed(8, 2, 12)

        def loss(x):
            return (ns.xp.tanh(ns.lax.all_to_all(x, "i", 0, 0)) * w).sum()

        def loss_tiled(x):
            return (ns.xp.tanh(ns.lax.all_to_all(x, "i", 0, 1, tiled=True)) * w2).sum()

        return (
            ns.vmap(ns.grad(loss), axis_name="i")(B),
            ns.vmap(ns.grad(loss_tiled), axis_name="i")(D),
        )

    # --- axis_index, axis_size, axis_size= -------------------------------------------------------
    @case
    def axis_index_size(ns):
        f = ns.vmap(
            lambda x: (ns.lax.axis_index("i"), x * ns.lax.axis_size("i") + ns.lax.axis_index("i")),
            axis_name="i",
        )
        return f(A)

    @case
    def axis_size_no_inputs(ns):
        return (ns.vmap(lambda: ns.lax.axis_index("i") * 2, axis_name="i", axis_size=5)(),)

    @case
    def axis_size_unbatched(ns):
        f = ns.vmap(lambda y: y * ns.lax.axis_index("i"), in_axes=None, axis_name="i", axis_size=3)
        return (f(V),)

    # --- two names (nested vmaps) ----------------------------------------------------------------
    @case
    def nested_reductions(ns):
        def inner(x):
            return (
                ns.lax.psum(x, ("i", "j")),
                ns.lax.psum(x, "i"),
                ns.lax.psum(x, "j"),
                ns.lax.pmean(x, ("j", "i")),
                ns.lax.pmax(x, ("i", "j")),
                ns.lax.axis_index(("i", "j")),
                ns.lax.axis_index("i") * 10 + ns.lax.axis_index("j"),
            )

        return ns.vmap(ns.vmap(inner, axis_name="j"), axis_name="i")(C)

    @case
    def nested_grad(ns):
        def loss(x):
            return (ns.lax.psum(ns.xp.sin(x), ("i", "j")) * x).sum()

        f = ns.vmap(ns.vmap(ns.grad(loss), axis_name="j"), axis_name="i")
        return (f(C),)

    @case
    def nested_grad_outside(ns):
        def total(x):
            inner = ns.vmap(lambda r: ns.lax.pmean(ns.xp.sin(r) * r, "i"), axis_name="j")
            return ns.vmap(inner, axis_name="i")(x).sum()

        return (ns.grad(total)(C),)

    @case
    def nested_all_to_all(ns):
        f = ns.vmap(
            ns.vmap(lambda y: ns.lax.all_to_all(y, ("i", "j"), 0, 0), axis_name="j"),
            axis_name="i",
        )
        return (f(C),)

    @case
    def nested_shadowing(ns):
        f = ns.vmap(ns.vmap(lambda y: ns.lax.psum(y, "i"), axis_name="i"), axis_name="i")
        return (f(C),)

    @case
    def nested_in_axes(ns):
        # The inner vmap maps axis 1; psum over the outer name from the inner function.
        f = ns.vmap(
            ns.vmap(lambda y: ns.lax.psum(y, "i") - y, in_axes=1, axis_name="j"),
            in_axes=0,
            out_axes=1,
            axis_name="i",
        )
        return (f(C),)

    # --- jit compositions -----------------------------------------------------------------------
    @case
    def jit_of_vmap(ns):
        f = ns.jit(ns.vmap(lambda x: x / ns.lax.psum(ns.xp.abs(x), "i"), axis_name="i"))
        return (f(A),)

    @case
    def vmap_of_jit(ns):
        g = ns.jit(lambda x: ns.lax.all_gather(x, "i", axis=1) * ns.lax.axis_index("i"))
        return (ns.vmap(g, axis_name="i")(A),)

    @case
    def jit_grad_vmap(ns):
        def total(x):
            return (ns.vmap(lambda r: ns.lax.pmean(r**3, "i"), axis_name="i")(x) * W).sum()

        return (ns.jit(ns.grad(total))(A),)

    @case
    def vmap_jit_grad(ns):
        def loss(x):
            return (ns.lax.psum_scatter(ns.xp.exp(x), "i", tiled=True) ** 2).sum()

        return (ns.vmap(ns.jit(ns.grad(loss)), axis_name="i")(D),)

    # --- control flow, out_axes, training pattern -------------------------------------------------
    @case
    def fori_loop_psum(ns):
        def f(x):
            return ns.lax.fori_loop(0, 3, lambda k, c: c + 0.1 * ns.lax.psum(c * x, "i"), x)

        return ns.vmap(f, axis_name="i")(A), ns.grad(lambda a: ns.vmap(f, axis_name="i")(a).sum())(
            A
        )

    @case
    def scan_ppermute(ns):
        def f(x):
            def body(c, _):
                c = ns.lax.ppermute(c, "i", P4) * 0.5 + c
                return c, ns.lax.pmax(c, "i")

            return ns.lax.scan(body, x, None, length=3)

        return ns.vmap(f, axis_name="i")(A)

    @case
    def cond_pmean(ns):
        def f(x):
            return ns.lax.cond(x.sum() > 0, lambda v: ns.lax.pmean(v, "i"), lambda v: v * 2, x)

        return (ns.vmap(f, axis_name="i")(A),)

    @case
    def out_axes_in_axes(ns):
        f = ns.vmap(lambda x: ns.lax.all_gather(x, "i"), in_axes=1, out_axes=2, axis_name="i")
        return (f(A),)

    @case
    def data_parallel_step(ns):
        def loss(w, x):
            return ns.xp.tanh(x @ w) ** 2

        def step(w, x):
            lv, g = ns.value_and_grad(loss)(w, x)
            return ns.lax.pmean(lv, "i"), ns.lax.pmean(g, "i")

        return ns.vmap(step, in_axes=(None, 0), axis_name="i")(V, A)

    @case
    def hessian_inside(ns):
        def f(x):
            return (ns.lax.psum(x**3, "i") * x).sum()

        return (ns.vmap(ns.hessian(f), axis_name="i")(A[:, :2]),)

    @case
    def jacobians_inside(ns):
        # Forward and reverse mode differ here, in JAX too: the tangent basis is the same on
        # every member (psum adds them), the cotangent basis too (psum's transpose adds them).
        def f(x):
            return ns.lax.psum(x**2, "i")

        return (
            ns.vmap(ns.jacfwd(f), axis_name="i")(A),
            ns.vmap(ns.jacrev(f), axis_name="i")(A),
        )

    @case
    def while_loop_psum_predicate(ns):
        def f(x):
            return ns.lax.while_loop(
                lambda c: ns.lax.psum(c[0], "i") < 10.0 + ns.lax.axis_index("i"),
                lambda c: c + 1.0,
                x,
            )

        return (ns.vmap(f, axis_name="i")(np.zeros((4, 2))),)

    @case
    def unnamed_inner_vmap(ns):
        def f(r):
            inner = ns.vmap(lambda v: ns.lax.all_gather(v, "i") * ns.lax.axis_index("i"))
            return inner(r), ns.vmap(lambda v: ns.lax.pmean(v, "i"), in_axes=0)(r)

        return ns.vmap(f, axis_name="i")(A)

    return c


def _rng_fixed(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


CASES = _cases()

TRANSFORMS = ("vmap", "grad", "jit", "jvp", "value_and_grad", "hessian", "jacfwd", "jacrev")


def namespace(lib: Any, lax: Any, xp: Any, pbroadcast: Any) -> types.SimpleNamespace:
    """The ``ns`` the cases take: the ``TRANSFORMS`` of ``lib`` (``jax`` or ``funcgrad``), its
    ``lax``, its numpy ``xp`` and a ``pbroadcast``."""
    ns = types.SimpleNamespace(pbroadcast=pbroadcast, lax=lax, xp=xp)
    for name in TRANSFORMS:
        setattr(ns, name, getattr(lib, name))
    return ns


def ref_key(case: str, leaf: int) -> str:
    """The key of a case's ``leaf``-th output (pytree leaf order) in named_axis_ref.npz."""
    return f"{case}/{leaf}"
