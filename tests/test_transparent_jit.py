"""Transparent compilation: the generated source stands alone (constants previewed, scan/cond
bodies shown, gradient functions named apart) and config log_compiles says what is compiled
and why the cache missed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

K = np.arange(4.0)


def scan_and_cond(x: Any) -> Any:
    def step(c: Any, xi: Any) -> Any:
        c = fnp.tanh(c * xi) + 1.0
        return c, c * 2.0

    c, _ = lax.scan(step, x, K)
    return lax.cond(c > 0, lambda v: v * 3.0, lambda v: v - 1.0, c) + fnp.sum(K * c)


def test_source_previews_constants() -> None:
    src = fg.jit(lambda x: x * K + np.full((3, 4), 7.0)).lower(np.ones(4)).source
    assert "#   _k0: f64[4] = [0. 1. 2. 3.]" in src
    assert "f64[3,4] = [[7. 7. 7. 7.] [7. 7. 7. 7.] [7. 7. 7. 7.]]" in src
    big = np.arange(1000.0)
    src = fg.jit(lambda x: x * big).lower(np.ones(1000)).source
    line = next(ln for ln in src.splitlines() if "_k0:" in ln)
    assert "f64[1000] = [0. 1. ... 998. 999.]" in line


def test_source_shows_scan_and_cond_bodies_and_still_runs() -> None:
    jf = fg.jit(scan_and_cond)
    src = jf.lower(0.5).source
    # The scan's body is inlined as a for loop (tests/test_scan_codegen.py has the details).
    assert "    for t in range(4):  # test_transparent_jit.py:" in src
    assert "        e = np.tanh(d); del d" in src and "_scan" not in src
    # The cond's branches are inlined under if/else (tests/test_cond_codegen.py).
    assert "    branch = min(max(int(h), 0), 1)  # test_transparent_jit.py:27" in src
    assert "    if branch == 0:\n        j = (a - 1.0)" in src
    assert "    else:\n        k = (a * 3.0)" in src and "runs cond" not in src
    compile(src, "<generated>", "exec")
    np.testing.assert_allclose(jf(0.5), scan_and_cond(0.5))


def test_gradient_function_is_named_apart_from_the_forward_one() -> None:
    def loss(w: Any) -> Any:
        return fnp.sum(fnp.sin(w) * K)

    fwd = fg.jit(loss).lower(np.ones(4)).source
    bwd = fg.jit(fg.grad(loss)).lower(np.ones(4)).source
    vg = fg.jit(fg.value_and_grad(loss)).lower(np.ones(4)).source
    gg = fg.jit(fg.grad(lambda w: fg.grad(loss)(w).sum())).lower(np.ones(4)).source
    assert fwd.startswith("def loss(w):")
    assert bwd.startswith("def grad_loss(w):")
    assert vg.startswith("def value_and_grad_loss(w):")
    assert gg.startswith("def grad__lambda_(w):")
    assert "(backward)" in bwd and "(backward)" not in fwd
    assert fg.grad(loss).__name__ == "loss"  # functools.wraps kept


@pytest.fixture
def log_compiles(caplog: Any) -> Iterator[Any]:
    fg.config.update("log_compiles", True)
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    try:
        yield caplog
    finally:
        fg.config.update("log_compiles", False)


def messages(caplog: Any) -> list[str]:
    out = [r.getMessage() for r in caplog.records if r.name == "funcgrad.jit"]
    caplog.clear()
    return out


def test_log_compiles_reasons(log_compiles: Any) -> None:
    def f(x: Any, y: Any, n: int = 2) -> Any:
        return fnp.sum(x * y) * n

    jf = fg.jit(f, static_argnums=2)
    jf(np.ones(3), 2.0, 2)
    first = messages(log_compiles)
    assert len(first) == 2
    assert first[0] == (
        "jit: tracing and compiling f for (argument 0 (x): f64[3], "
        "argument 1 (y): Python float (weakly typed), static argument 2 (n)=2); "
        "reason: first call (nothing cached yet)"
    )
    assert first[1].startswith("jit: compiled f in ") and "equations traced" in first[1]

    jf(np.ones(3), 2.0, 2)  # cached: silent
    jf(np.zeros(3), 5.0, 2)
    assert messages(log_compiles) == []

    jf(np.ones(4), 2.0, 2)
    assert "reason: argument 0 (x): shape changed (3,) -> (4,)" in messages(log_compiles)[0]
    jf(np.ones(4, np.float32), 2.0, 2)
    assert (
        "reason: argument 0 (x): dtype changed float64 -> float32 "
        "(closest of 2 cached signatures)" in messages(log_compiles)[0]
    )
    jf(np.ones(4, np.float32), np.float64(2.0), 2)
    assert (
        "argument 1 (y): weak type changed Python float (weakly typed) -> f64[]"
        in messages(log_compiles)[0]
    )
    jf(np.ones(4, np.float32), np.float64(2.0), 3)
    assert "static argument 2 (n) changed 2 -> 3" in messages(log_compiles)[0]
    jf((np.ones(4, np.float32),), np.float64(2.0), 3)
    assert "argument structure changed" in messages(log_compiles)[0]


def test_log_compiles_names_gradients_and_is_off_by_default(caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    fg.jit(lambda x: x * 2.0)(1.0)
    assert messages(caplog) == []
    fg.config.update("log_compiles", True)
    try:
        fg.jit(fg.grad(lambda x: x**3))(1.0)
    finally:
        fg.config.update("log_compiles", False)
    assert messages(caplog)[0].startswith("jit: tracing and compiling grad__lambda_ for (")
    with pytest.raises(TypeError, match="takes a bool"):
        fg.config.update("log_compiles", 1)
    assert "log_compiles=False" in repr(fg.config)
