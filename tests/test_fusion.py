"""Fusion of elementwise runs in jit (transforms/fusion.py, codegen's fused groups,
transforms/kernels.py): every back end against numpy, the unfused path (the optimized IR run
eagerly) and finite differences; dtypes, broadcasting at group edges, aliasing, the kernel
disk cache, fallback when a back end is missing, buffer reuse by matmul."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.transforms import kernels
from funcgrad.transforms.fusion import Group, plan

RNG = np.random.default_rng(7)


pytestmark = pytest.mark.usefixtures("isolated_kernel_cache")  # (tests/conftest.py)


@pytest.fixture
def backend(jit_backend: str) -> str:
    return jit_backend


def _tol(dt: Any) -> dict[str, float]:
    return {"rtol": 2e-5, "atol": 1e-6} if np.dtype(dt) == np.float32 else {"rtol": 1e-12}


def body(x: Any, y: Any) -> Any:
    """Elementwise work with a broadcast operand (y), literals, a comparison and a where."""
    a = fnp.tanh(fnp.sin(x) * 1.5 + y)
    b = fnp.exp(-x * x) / (1.0 + y * y)
    c = fnp.where(x > y, a, b) - fnp.sqrt(fnp.abs(x) + 0.25)
    return c * (x > 0) + a**2 - b / 3


def body_np(x: Any, y: Any) -> Any:
    a = np.tanh(np.sin(x) * 1.5 + y)
    b = np.exp(-x * x) / (1.0 + y * y)
    c = np.where(x > y, a, b) - np.sqrt(np.abs(x) + 0.25)
    return c * (x > 0) + a**2 - b / 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backend_matches_numpy_and_unfused(backend: str, dtype: Any) -> None:
    x = RNG.normal(size=(3, 5)).astype(dtype)
    y = RNG.normal(size=(5,)).astype(dtype)  # broadcast at the group's edge
    jf = fg.jit(body)
    got = jf(x, y)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, body_np(x, y), **_tol(dtype))
    lowered = jf.lower(x, y)
    assert f"-> {backend}" in lowered.source
    assert "fused group 0" in lowered.source
    unfused = fg.eval_ir(lowered.ir, x, y)  # the same IR, one primitive at a time
    np.testing.assert_allclose(got, unfused, **_tol(dtype))


def test_scalar_and_row_operands_broadcast_into_a_group(backend: str) -> None:
    x = RNG.normal(size=(4, 3))
    col = RNG.normal(size=(4, 1))
    s = np.float64(0.3)

    def f(x: Any, col: Any, s: Any) -> Any:
        return fnp.sin(x * s + col) * col - s

    got = fg.jit(f)(x, col, s)
    np.testing.assert_allclose(got, np.sin(x * s + col) * col - s, rtol=1e-12)


def _central_fd(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        g.flat[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def test_grad_of_fused_chain_vs_finite_differences(backend: str) -> None:
    def loss(x: Any) -> Any:
        for _ in range(3):
            x = fnp.tanh(fnp.sin(x) * 1.01 + 0.1) + fnp.exp(-x * x) * 0.5
        return fnp.sum(x * x)

    x = RNG.normal(size=7)
    gj = fg.jit(fg.grad(loss))
    got = gj(x)
    assert "fused group" in gj.lower(x).source
    np.testing.assert_allclose(got, fg.grad(loss)(x), rtol=1e-12)
    np.testing.assert_allclose(got, _central_fd(lambda v: float(loss(v)), x), rtol=1e-6)


def test_float32_gradient_stays_float32(backend: str) -> None:
    x = RNG.normal(size=(2, 6)).astype(np.float32)
    g = fg.jit(fg.grad(lambda x: fnp.sum(fnp.tanh(x * 2.0 + 1) ** 2)))(x)
    assert g.dtype == np.float32
    t = np.tanh(x * np.float32(2) + np.float32(1))
    np.testing.assert_allclose(g, 2 * t * (1 - t * t) * 2, rtol=2e-5, atol=1e-6)


def test_no_writes_into_callers_arrays_or_live_buffers(backend: str) -> None:
    x = RNG.normal(size=(4, 4))
    m = RNG.normal(size=(4, 4))
    x0, m0 = x.copy(), m.copy()

    def f(x: Any, m: Any) -> Any:
        a = fnp.sin(x) + 1.0  # a group output used after a matmul breaks the run
        b = a * 2.0 - x
        c = b @ m  # not fusible
        d = fnp.exp(a) * c + b  # a and b are still live here
        return a, d, b * 3.0, x * 1.0

    def f_np(x: Any, m: Any) -> Any:
        a = np.sin(x) + 1.0
        b = a * 2.0 - x
        c = b @ m
        return a, np.exp(a) * c + b, b * 3.0, x * 1.0

    jf = fg.jit(f)
    first = jf(x, m)
    kept = [np.array(r) for r in first]
    for g, w in zip(first, f_np(x, m)):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(m, m0)
    for i, r in enumerate(first):  # every result is the caller's own memory
        assert not np.shares_memory(r, x) and not np.shares_memory(r, m)
        for r2 in first[i + 1 :]:
            assert not np.shares_memory(r, r2)
    jf(x * 3.0, m)  # a second call must not touch the first call's results
    for r, k in zip(first, kept):
        np.testing.assert_array_equal(r, k)


def test_input_passed_twice_and_returned(backend: str) -> None:
    x = RNG.normal(size=6)
    x0 = x.copy()
    out = fg.jit(lambda a, b: (fnp.cos(a) * b + a, a))(x, x)
    np.testing.assert_allclose(out[0], np.cos(x0) * x0 + x0, rtol=1e-12)
    np.testing.assert_array_equal(out[1], x0)
    assert not np.shares_memory(out[1], x)
    np.testing.assert_array_equal(x, x0)


def test_plan_groups_maximal_runs_and_breaks_at_other_primitives() -> None:
    def f(x: Any, m: Any) -> Any:
        a = fnp.tanh(fnp.sin(x) * 2.0 + 1.0)  # 4 fusible equations
        b = a @ m  # breaks the run
        return fnp.sum(fnp.exp(b) - b * 0.5)  # 3 fusible, then a reduction

    ir = fg.make_ir(f)(np.ones((3, 3)), np.ones((3, 3)))
    items = plan(ir)
    groups = [it for it in items if isinstance(it, Group)]
    assert [len(gr.eqns) for gr in groups] == [4, 3]
    assert all(len(gr.outputs) == 1 for gr in groups)
    # every equation appears exactly once, in order
    flat = []
    for it in items:
        flat += list(range(it.start, it.stop)) if isinstance(it, Group) else [it]
    assert flat == list(range(len(ir.eqns)))


def test_plan_splits_on_shape_and_dtype_changes() -> None:
    def f(x: Any) -> Any:
        a = fnp.sin(x) * 2.0
        b = fnp.sin(a[0]) + 1.0  # another shape
        c = (a * 3.0).astype(np.float32) + np.float32(1.0)  # another dtype
        return a, b, c

    ir = fg.make_ir(f)(np.ones((2, 3)))
    groups = [it for it in plan(ir) if isinstance(it, Group)]
    assert {(gr.shape, gr.dtype) for gr in groups} <= {
        ((2, 3), np.dtype(np.float64)),
        ((3,), np.dtype(np.float64)),
        ((2, 3), np.dtype(np.float32)),
    }
    for gr in groups:
        for e in gr.eqns:
            assert e.outputs[0].aval.shape == gr.shape


def test_fusion_reads_only_primitive_fields() -> None:
    src = open(os.path.join(os.path.dirname(fg.__file__), "transforms", "fusion.py")).read()
    for name in ('"sin"', '"add"', '"mul"', "sin_p", "add_p", ".name =="):
        assert name not in src


def test_missing_backend_falls_back_to_numpy(monkeypatch: Any) -> None:
    for missing in ("numexpr", "numba"):
        with monkeypatch.context() as mp:
            mp.setitem(sys.modules, missing, None)  # import raises ImportError
            assert not kernels.available(missing)
            fg.config.update("jit_backend", missing)
            try:
                jf = fg.jit(lambda x: fnp.sin(x) * 2.0 + 1.0)
                x = np.linspace(0.0, 1.0, 5)
                np.testing.assert_allclose(jf(x), np.sin(x) * 2.0 + 1.0, rtol=1e-14)
                src = jf.lower(x).source
                assert f"-> numpy ({missing} is not installed: fell back to numpy)" in src
            finally:
                fg.config.update("jit_backend", "auto")


def test_config_validates_backend_name() -> None:
    with pytest.raises(ValueError, match="jit_backend is one of"):
        fg.config.update("jit_backend", "cuda")
    with pytest.raises(TypeError, match="takes a str"):
        fg.config.update("jit_backend", 1)
    assert fg.config.jit_backend == "auto"


def test_changing_backend_recompiles_and_is_logged(caplog: Any) -> None:
    jf = fg.jit(lambda x: fnp.cos(x) * 3.0 - 1.0)
    x = np.ones(4)
    jf(x)
    fg.config.update("log_compiles", True)
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    try:
        fg.config.update("jit_backend", "numpy")
        jf(x)
    finally:
        fg.config.update("jit_backend", "auto")
        fg.config.update("log_compiles", False)
    text = caplog.text
    assert "config jit_backend changed auto -> numpy" in text
    assert "fused groups: 1 on numpy" in text
    assert jf.cache_info().misses == 2


def test_auto_runs_on_numpy_at_every_size() -> None:
    f = lambda x: fnp.sin(x) * 2.0 + 1.0  # noqa: E731
    for n in (10, 1 << 16):
        x = np.linspace(0, 1, n)
        jf = fg.jit(f)
        assert "-> numpy, ufuncs writing into dead buffers" in jf.lower(x).source
        np.testing.assert_allclose(jf(x), np.sin(x) * 2.0 + 1.0, rtol=1e-14)


def test_numpy_groups_use_read_only_literal_arrays_and_out_buffers() -> None:
    fg.config.update("jit_backend", "numpy")
    try:
        jf = fg.jit(lambda x: fnp.tanh(fnp.sin(x) * 1.01 + 0.1))
        src = jf.lower(np.ones(8)).source
    finally:
        fg.config.update("jit_backend", "auto")
    assert "_multiply(a, _c0, out=a)" in src and "* 1.01" not in src  # ufunc, literal array, out
    np.testing.assert_allclose(jf(np.ones(8)), np.tanh(np.sin(np.ones(8)) * 1.01 + 0.1))


def test_dead_buffer_is_reused_by_matmul() -> None:
    a = RNG.normal(size=(6, 6))
    b = RNG.normal(size=(6, 6))

    def f(a: Any, b: Any) -> Any:
        u = fnp.exp(a) @ b  # exp(a) dies here: a free f64[6,6] buffer
        return (u @ b) * 2.0  # ... which this matmul writes into

    jf = fg.jit(f)
    src = jf.lower(a, b).source
    assert "np.matmul(" in src and "out=" in src.split("np.matmul(", 1)[1].split("\n")[0]
    np.testing.assert_allclose(jf(a, b), (np.exp(a) @ b) @ b * 2.0, rtol=1e-12)


def test_numba_kernels_cached_on_disk_in_the_configured_directory(
    isolated_kernel_cache: str,
) -> None:
    if not kernels.available("numba"):
        pytest.skip("numba is not installed")
    fg.config.update("jit_backend", "numba")
    try:
        jf = fg.jit(lambda x: fnp.cos(x) * 0.5 + x)
        x = np.linspace(0.0, 1.0, 9)
        np.testing.assert_allclose(jf(x), np.cos(x) * 0.5 + x, rtol=1e-14)
        src = jf.lower(x).source
    finally:
        fg.config.update("jit_backend", "auto")
    assert f"disk cache {isolated_kernel_cache}" in src
    files = os.listdir(isolated_kernel_cache)
    assert any(f.startswith("fgk_") and f.endswith(".py") for f in files)
    assert any(
        f.startswith("fgk_") for f in os.listdir(os.path.join(isolated_kernel_cache, "__pycache__"))
    )


def test_kernel_cache_is_bounded(tmp_path: Any) -> None:
    pyc = tmp_path / "__pycache__"
    pyc.mkdir()
    for k, name in enumerate(["fgk_old", "fgk_mid", "fgk_new"]):
        (tmp_path / f"{name}.py").write_text("x" * 100)
        (pyc / f"{name}.kernel-1.py311.nbi").write_bytes(b"y" * 300)
        t = 1_000_000 + 1000 * k
        for p in (tmp_path / f"{name}.py", pyc / f"{name}.kernel-1.py311.nbi"):
            os.utime(p, (t, t))
    (tmp_path / "unrelated.txt").write_text("kept")
    kept = kernels.prune_cache(str(tmp_path), max_bytes=900)
    names = sorted(os.listdir(tmp_path))
    assert names == ["__pycache__", "fgk_mid.py", "fgk_new.py", "unrelated.txt"]
    assert kept == 800 and sorted(os.listdir(pyc)) == [
        "fgk_mid.kernel-1.py311.nbi",
        "fgk_new.kernel-1.py311.nbi",
    ]
    assert kernels.prune_cache(str(tmp_path), max_bytes=1) == 400  # the newest always stays
    assert sorted(os.listdir(tmp_path)) == ["__pycache__", "fgk_new.py", "unrelated.txt"]


@pytest.mark.parametrize(
    "xs, ys, axes",
    [
        ((5, 3), (3,), (0, None)),
        ((5, 2, 3), (3, 4), (0, None)),
        ((3, 5), (3, 4), (1, None)),
        ((3,), (5, 3), (None, 0)),
        ((4, 3), (3, 5), (None, 1)),
        ((5, 4, 3), (5, 3), (0, 0)),
    ],
)
def test_vmap_matmul_with_an_unbatched_operand(xs: Any, ys: Any, axes: Any) -> None:
    x, y = RNG.normal(size=xs), RNG.normal(size=ys)
    got = fg.vmap(lambda a, b: a @ b, in_axes=axes)(x, y)
    xa = None if axes[0] is None else np.moveaxis(x, axes[0], 0)
    ya = None if axes[1] is None else np.moveaxis(y, axes[1], 0)
    n = (xa if xa is not None else ya).shape[0]
    want = np.stack([(x if xa is None else xa[i]) @ (y if ya is None else ya[i]) for i in range(n)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_per_example_gradients_use_one_matmul() -> None:
    def loss(w: Any, x: Any, y: Any) -> Any:
        z = fnp.dot(x, w)
        return fnp.logaddexp(0.0, z) - y * z

    w, X, Y = RNG.normal(size=4), RNG.normal(size=(6, 4)), (RNG.random(6) > 0.5) * 1.0
    pe = fg.jit(fg.vmap(fg.grad(loss), in_axes=(None, 0, 0)))
    src = pe.lower(w, X, Y).source
    assert "(x @ w)" in src and "np.reshape(x" not in src
    p = 1 / (1 + np.exp(-(X @ w)))
    np.testing.assert_allclose(pe(w, X, Y), (p - Y)[:, None] * X, rtol=1e-10)


def test_edge_values_follow_numpy(backend: str) -> None:
    x = np.array([0.0, -1.0, 1.0, np.inf, -np.inf, np.nan, 1e-300])

    def f(x: Any) -> Any:
        return fnp.log(x * 1.0) + 1.0 / x, fnp.sqrt(x - 0.5) * 2.0, (x**2 - x) / (x * 0.0)

    with np.errstate(all="ignore"):
        want = (np.log(x * 1.0) + 1.0 / x, np.sqrt(x - 0.5) * 2.0, (x**2 - x) / (x * 0.0))
        got = fg.jit(f)(x)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g, w, rtol=1e-14)


def test_numba_compile_failure_falls_back_to_numpy(monkeypatch: Any) -> None:
    def boom(src: str) -> Any:
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(kernels, "numba_kernel", boom)
    monkeypatch.setattr(kernels, "available", lambda name: True)
    fg.config.update("jit_backend", "numba")
    try:
        jf = fg.jit(lambda x: fnp.sin(x) * 2.0 + 1.0)
        x = np.linspace(0.0, 1.0, 5)
        np.testing.assert_allclose(jf(x), np.sin(x) * 2.0 + 1.0, rtol=1e-14)
        assert "(numba failed: RuntimeError: fell back to numpy)" in jf.lower(x).source
    finally:
        fg.config.update("jit_backend", "auto")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_final_reduction_fused_into_numba_kernel(dtype: Any) -> None:
    if not kernels.available("numba"):
        pytest.skip("numba is not installed")

    def f(x: Any) -> Any:
        y = fnp.tanh(fnp.sin(x) * 1.5 + 0.2)
        return fnp.sum(y * y)

    x = np.linspace(-1.0, 1.0, 7).astype(dtype)
    ir = fg.make_ir(f)(x)
    groups = [it for it in plan(ir) if isinstance(it, Group)]
    assert groups[0].reduction is not None and groups[0].reduced_only
    fg.config.update("jit_backend", "numba")
    try:
        vg = fg.jit(fg.value_and_grad(f))
        v, g = vg(x)
        only = fg.jit(f)
        src = only.lower(x).source
        s = only(x)
    finally:
        fg.config.update("jit_backend", "auto")
    assert "and the final reduce_sum" in src and "def kernel(i0, r):" in src  # nothing stored
    assert v.dtype == dtype and g.dtype == dtype and s.dtype == dtype
    y = np.tanh(np.sin(x.astype(np.float64)) * 1.5 + 0.2)
    tol = _tol(dtype)
    np.testing.assert_allclose(v, np.sum(y * y), **tol)
    np.testing.assert_allclose(s, np.sum(y * y), **tol)
    np.testing.assert_allclose(g, 2 * y * (1 - y * y) * 1.5 * np.cos(x.astype(np.float64)), **tol)
