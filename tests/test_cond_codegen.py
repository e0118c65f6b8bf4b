"""``cond``/``switch`` under jit: the branches are inlined under ``if``/``elif``/``else``
(``codegen_loops.emit_cond``). Values and gradients against numpy closed forms, index
clamping, aliasing (the operands are never written into, results are the caller's own),
scalar dtypes, effects only in the branch taken, nesting in loops, debug_nans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

X = np.linspace(-1.0, 2.0, 5)


def three_way(x: Any, i: Any) -> Any:
    y = lax.switch(i, [lambda v: fnp.sin(v) * 2.0, lambda v: v * v - 1.0, lambda v: v], x)
    return (y * y).sum()


def three_way_np(x: np.ndarray, i: int) -> tuple[float, np.ndarray]:
    """Value and gradient by hand (index clamped to 0..2)."""
    k = min(max(i, 0), 2)
    if k == 0:
        y, dy = np.sin(x) * 2.0, 2.0 * np.cos(x)
    elif k == 1:
        y, dy = x * x - 1.0, 2.0 * x
    else:
        y, dy = x, np.ones_like(x)
    return float((y * y).sum()), 2.0 * y * dy


def test_source_inlines_every_branch_and_no_call() -> None:
    src = fg.jit(three_way).lower(X, 1).source
    assert "if branch == 0:" in src and "elif branch == 1:" in src and "else:" in src
    assert "branch = min(max(int(i), 0), 2)" in src
    assert "_cond_0(" not in src and "runs cond" not in src
    compile(src, "<generated>", "exec")


@pytest.mark.parametrize("i", [-3, 0, 1, 2, 7])
def test_values_and_gradients_match_closed_forms_with_clamped_index(i: int) -> None:
    want_v, want_g = three_way_np(X, i)
    v, g = fg.jit(fg.value_and_grad(three_way))(X, i)
    np.testing.assert_allclose(v, want_v, rtol=1e-14)
    np.testing.assert_allclose(g, want_g, rtol=1e-14)
    # eager and jit agree on the branch picked
    np.testing.assert_allclose(fg.grad(three_way)(X, i), want_g, rtol=1e-14)


def test_operands_are_never_written_and_results_are_the_callers_own() -> None:
    def f(x: Any, p: Any) -> Any:
        y = lax.cond(p, lambda v: v, lambda v: v * 2.0, x)  # branch 1 returns the operand
        z = y + 1.0  # fresh: may be written in place by what follows
        return y, z * 3.0

    x = X.copy()
    jf = fg.jit(f)
    for p in (True, False):
        y, w = jf(x, p)
        want_y = X if p else 2.0 * X
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(w, (want_y + 1.0) * 3.0)
        np.testing.assert_array_equal(x, X)
        assert not np.shares_memory(y, x)
        y[...] = -5.0  # the caller's own array: the next call is not affected
        np.testing.assert_array_equal(jf(x, p)[0], want_y)


def test_output_fresh_in_one_branch_only_is_not_reused_in_place() -> None:
    def f(x: Any, p: Any) -> Any:
        y = lax.cond(p, lambda v: fnp.exp(v), lambda v: v, x)
        a = fnp.sin(y)  # y's last use: an in-place write would clobber x in branch 2
        return a * 2.0 + x

    jf = fg.jit(f)
    for p in (True, False):
        y = np.exp(X) if p else X
        np.testing.assert_allclose(jf(X.copy(), p), np.sin(y) * 2.0 + X, rtol=1e-15)


def test_scalar_outputs_get_the_declared_dtype() -> None:
    def f(x: Any, p: Any) -> Any:
        return lax.cond(p, lambda v: v * 2.0, lambda v: fnp.float32(1.5), x)

    jf = fg.jit(f)
    for p, want in ((True, np.float32(5.0)), (False, np.float32(1.5))):
        got = jf(np.float32(2.5), p)
        assert np.asarray(got).dtype == np.float32
        assert got == want


def test_only_the_branch_taken_runs_its_effects() -> None:
    seen: list[Any] = []

    def f(x: Any, p: Any) -> Any:
        def yes(v: Any) -> Any:
            fg.debug.callback(lambda a: seen.append(("yes", float(a))), v)
            return v + 1.0

        def no(v: Any) -> Any:
            fg.debug.callback(lambda a: seen.append(("no", float(a))), v)
            return v - 1.0

        return lax.cond(p, yes, no, x)

    jf = fg.jit(f)
    assert jf(1.0, True) == 2.0 and jf(1.0, False) == 0.0
    assert seen == [("yes", 1.0), ("no", 1.0)]


def test_cond_in_a_fori_body_with_grad_matches_finite_differences() -> None:
    def f(x: Any) -> Any:
        def body(k: Any, v: Any) -> Any:
            return lax.cond(k % 2 == 0, lambda u: fnp.tanh(u) * 1.5, lambda u: u * u * 0.5, v)

        return lax.fori_loop(0, 5, body, x).sum()

    def f_np(x: np.ndarray) -> float:
        for k in range(5):
            x = np.tanh(x) * 1.5 if k % 2 == 0 else x * x * 0.5
        return float(x.sum())

    x = np.linspace(-0.7, 0.8, 4)
    src = fg.jit(fg.grad(f)).lower(x).source
    assert "        if branch" in src  # inside the loop body
    g = fg.jit(fg.grad(f))(x)
    eps = 1e-6
    fd = np.array([(f_np(x + eps * e) - f_np(x - eps * e)) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(fg.jit(f)(x), f_np(x), rtol=1e-14)


def test_batched_predicate_under_vmap_and_jit_selects_per_example() -> None:
    def f(x: Any) -> Any:
        return lax.cond(x > 0.5, lambda v: v * 10.0, lambda v: -v, x)

    got = fg.jit(fg.vmap(f))(X)
    np.testing.assert_array_equal(got, np.where(X > 0.5, X * 10.0, -X))


def test_unused_outputs_are_not_assigned() -> None:
    def f(x: Any, p: Any) -> Any:
        a, _ = lax.cond(p, lambda v: (v + 1.0, fnp.exp(v)), lambda v: (v - 1.0, v), x)
        return a

    jf = fg.jit(f)
    np.testing.assert_array_equal(jf(X, True), X + 1.0)
    np.testing.assert_array_equal(jf(X, False), X - 1.0)


def test_debug_nans_names_the_line_inside_a_branch() -> None:
    def f(x: Any, p: Any) -> Any:
        return lax.cond(p, lambda v: fnp.log(v), lambda v: v, x)

    fg.config.update("debug_nans", True)
    try:
        jf = fg.jit(f)
        np.testing.assert_array_equal(jf(np.array([-1.0]), False), [-1.0])
        with pytest.raises(FloatingPointError, match="log"):
            jf(np.array([-1.0]), True)
    finally:
        fg.config.update("debug_nans", False)
