"""jit's tiers under ``jit_backend="auto"``: a signature runs on numpy until it has run
``config.jit_promote_after`` seconds, then is recompiled with numba kernels for its small
fused groups (funcgrad/transforms/jit.py, codegen.py ``AUTO_PROMOTED``)."""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.transforms import codegen, kernels
from funcgrad.transforms import jit as jit_module

HAS_NUMBA = kernels.available("numba")
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")


@pytest.fixture(autouse=True)
def _settings(tmp_path_factory: Any) -> Iterator[None]:
    """numba kernels go to a temporary directory; config restored after each test."""
    d = str(tmp_path_factory.mktemp("kernels"))
    old = os.environ.get("FUNCGRAD_KERNEL_CACHE")
    os.environ["FUNCGRAD_KERNEL_CACHE"] = d
    try:
        yield
    finally:
        fg.config.update("jit_promote_after", 2.0)
        fg.config.update("jit_backend", "auto")
        fg.config.update("log_compiles", False)
        if old is None:
            del os.environ["FUNCGRAD_KERNEL_CACHE"]
        else:
            os.environ["FUNCGRAD_KERNEL_CACHE"] = old


def chain(x: Any) -> Any:
    for _ in range(3):
        x = fnp.tanh(fnp.sin(x) * 1.01 + 0.1)
    return fnp.sum(x * x)


def chain_grad_np(x: np.ndarray) -> np.ndarray:
    xs = []
    for _ in range(3):
        t = np.tanh(np.sin(x) * 1.01 + 0.1)
        xs.append((x, t))
        x = t
    g = 2.0 * x
    for x_in, t in reversed(xs):
        g = g * (1.0 - t * t) * 1.01 * np.cos(x_in)
    return g


def _entry(jf: Any) -> Any:
    (entry,) = jf._cache.values()
    return entry


X = np.linspace(-1.0, 1.0, 37)


@needs_numba
def test_promoted_after_the_threshold_and_equal_to_numpy(caplog: Any) -> None:
    fg.config.update("jit_promote_after", 0.05)
    fg.config.update("log_compiles", True)
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    jf = fg.jit(fg.grad(chain))
    first = jf(X)
    src = jf.lower(X).source
    assert "first tier (numpy): 1 group goes to numba once this signature has run " in src
    assert "0.05 s (config jit_promote_after)" in src
    assert "-> numpy, ufuncs writing into dead buffers" in src and "-> numba" not in src
    entry = _entry(jf)
    calls = 1
    while not entry.settled:
        out = jf(X)
        calls += 1
        assert calls < 100_000
        if not entry.settled:  # still the first tier: numpy's results exactly
            np.testing.assert_array_equal(out, first)
    assert entry.spent >= 0.05  # not before the threshold
    src = jf.lower(X).source
    assert f"# promoted to numba after {calls} calls (" in src
    assert "jit_promote_after=0.05 s); compiled in " in src
    assert "-> numba" in src and "_fused_0(" in src and "numba kernel (disk cache" in src
    promoted = jf(X)
    # fused kernels may differ from numpy in the last bits only
    np.testing.assert_allclose(promoted, first, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(promoted, chain_grad_np(X), rtol=1e-12)
    log = [r.getMessage() for r in caplog.records]
    assert log[1].endswith(
        "fused groups: 1 on numpy; 1 group goes to numba once this signature has run 0.05 s "
        "(config jit_promote_after))"
    )
    (line,) = [m for m in log if "promoted to numba" in m]
    assert line.startswith(f"jit: grad_chain promoted to numba after {calls} calls")
    assert line.endswith("(fused groups: 1 on numba)")
    assert jf.cache_info().misses == 1  # promotion is not a new trace


@needs_numba
def test_zero_threshold_promotes_at_the_first_call_and_drops_the_numpy_code() -> None:
    fg.config.update("jit_promote_after", 0)
    jf = fg.jit(lambda x, y: fnp.exp(-x * y) + fnp.sqrt(fnp.abs(x)))
    y = X[::-1].copy()
    jf.lower(X, y)  # compiled, not run
    entry = _entry(jf)
    old = weakref.ref(entry.fn)
    assert not entry.settled
    out = jf(X, y)  # the first call is not timed (one-time costs): numpy
    assert not entry.settled
    np.testing.assert_allclose(jf(X, y), out, rtol=0)  # the second runs numpy, promotes
    assert entry.settled and "# promoted to numba after 2 calls (" in entry.source
    gc.collect()
    assert old() is None  # the numpy function is gone (and its linecache entry)
    np.testing.assert_allclose(jf(X, y), out, rtol=1e-14)
    np.testing.assert_allclose(out, np.exp(-X * y) + np.sqrt(np.abs(X)), rtol=1e-14)
    # both call paths run the promoted function: the fast one and keyword calls
    assert jf._fast and all(fn is entry.fn for fn in jf._fast.values())
    np.testing.assert_allclose(jf(x=X, y=y), out, rtol=1e-14)


@needs_numba
def test_big_groups_stay_on_numpy_and_are_not_timed() -> None:
    fg.config.update("jit_promote_after", 0)
    n = codegen.AUTO_NUMBA_MAX_ELEMENTS + 1
    x = np.linspace(0.0, 1.0, n)
    jf = fg.jit(lambda x: fnp.sin(x) * 2.0 + 1.0)
    jf(x)
    jf(x)
    entry = _entry(jf)
    assert entry.settled and entry.call is entry.fn and entry.calls == 0
    assert "first tier" not in jf.lower(x).source


@needs_numba
def test_only_small_groups_go_to_numba_in_the_promoted_tier() -> None:
    fg.config.update("jit_promote_after", 0)

    def f(x: Any, z: Any) -> Any:
        return fnp.sum(fnp.cos(x) * 3.0) + fnp.sum(fnp.sin(z) + 1.0)

    big = np.linspace(0.0, 1.0, 4096)
    jf = fg.jit(f)
    want = jf(X, big)
    np.testing.assert_allclose(jf(X, big), want, rtol=0)  # (promotes)
    src = jf.lower(X, big).source
    assert "-> numba" in src
    assert "-> numpy, ufuncs writing into dead buffers (out=) (auto: 4096 elements" in src
    assert "promoted tier: 2 fused groups (numba 1, numpy 1)" in src
    np.testing.assert_allclose(jf(X, big), want, rtol=1e-12)


def test_not_promoted_without_numba(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # import raises ImportError
    assert not kernels.installed("numba")
    fg.config.update("jit_promote_after", 0)
    jf = fg.jit(fg.grad(chain))
    for _ in range(3):
        np.testing.assert_allclose(jf(X), chain_grad_np(X), rtol=1e-12)
    entry = _entry(jf)
    # nothing timed: the fast path calls the generated numpy function itself
    assert entry.settled and entry.call is entry.fn and entry.calls == 0
    assert set(jf._fast.values()) == {entry.fn}
    src = jf.lower(X).source
    assert "first tier" not in src and "promoted" not in src and "-> numba" not in src


def test_explicit_backends_and_infinite_threshold_are_not_tiered() -> None:
    fg.config.update("jit_promote_after", float("inf"))
    jf = fg.jit(fg.grad(chain))
    jf(X)
    assert _entry(jf).settled and _entry(jf).call is _entry(jf).fn
    fg.config.update("jit_promote_after", 0)
    fg.config.update("jit_backend", "numpy")
    jn = fg.jit(fg.grad(chain))
    jn(X)
    jn(X)
    assert _entry(jn).settled and "promoted" not in jn.lower(X).source


@needs_numba
def test_failed_promotion_keeps_the_numpy_code(monkeypatch: Any, caplog: Any) -> None:
    fg.config.update("jit_promote_after", 0)
    jf = fg.jit(fg.grad(chain))
    jf.lower(X)
    entry = _entry(jf)
    numpy_fn = entry.fn

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(jit_module, "compile_ir", boom)
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    for _ in range(2):
        np.testing.assert_allclose(jf(X), chain_grad_np(X), rtol=1e-12)
    assert entry.settled and entry.fn is numpy_fn and entry.call is numpy_fn
    assert "promoting grad_chain to numba failed (RuntimeError: no compiler today)" in caplog.text
    np.testing.assert_allclose(jf(X), chain_grad_np(X), rtol=1e-12)


@needs_numba
def test_numba_kernel_failure_in_the_promoted_tier_falls_back_per_group(monkeypatch: Any) -> None:
    def boom(body: str) -> Any:
        raise RuntimeError("kernel compile failed")

    monkeypatch.setattr(kernels, "numba_kernel", boom)
    fg.config.update("jit_promote_after", 0)
    jf = fg.jit(fg.grad(chain))
    jf(X)
    jf(X)
    src = jf.lower(X).source
    assert "promoted to numba after 2 calls" in src
    assert "-> numpy (numba failed: RuntimeError: fell back to numpy)" in src
    np.testing.assert_allclose(jf(X), chain_grad_np(X), rtol=1e-12)


def test_config_validation_messages() -> None:
    with pytest.raises(ValueError, match=r"jit_promote_after takes seconds >= 0 .*got -1"):
        fg.config.update("jit_promote_after", -1)
    with pytest.raises(ValueError, match="jit_promote_after takes seconds >= 0"):
        fg.config.update("jit_promote_after", float("nan"))
    with pytest.raises(TypeError, match="jit_promote_after takes a number of seconds, got '1'"):
        fg.config.update("jit_promote_after", "1")
    with pytest.raises(TypeError, match="takes a number of seconds, got True"):
        fg.config.update("jit_promote_after", True)
    assert fg.config.jit_promote_after == 2.0
    fg.config.update("jit_promote_after", 3)
    assert fg.config.jit_promote_after == 3.0 and type(fg.config.jit_promote_after) is float


@needs_numba
def test_threads_share_one_promotion_and_never_see_half_built_code(caplog: Any) -> None:
    fg.config.update("jit_promote_after", 0.002)
    fg.config.update("log_compiles", True)
    caplog.set_level(logging.WARNING, logger="funcgrad.jit")
    jf = fg.jit(fg.grad(chain))
    want = chain_grad_np(X)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait()
            for _ in range(300):
                np.testing.assert_allclose(jf(X), want, rtol=1e-12)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert _entry(jf).settled and "-> numba" in jf.lower(X).source
    assert sum("promoted to numba" in r.getMessage() for r in caplog.records) == 1
    assert jf.cache_info().misses == 1


_SUBPROCESS = """
import numpy as np, funcgrad as fg, funcgrad.numpy as fnp
fg.config.update("jit_promote_after", 0)
jf = fg.jit(lambda x: fnp.cos(x) * 0.25 + x)
x = np.linspace(0.0, 1.0, 9)
jf(x)
jf(x)
print([ln.strip() for ln in jf.lower(x).source.splitlines() if "promoted" in ln or "->" in ln])
"""


@needs_numba
def test_promoted_kernel_loads_from_the_disk_cache_in_a_new_process(tmp_path: Any) -> None:
    """The second process finds the kernel the first compiled (numba's cache names the
    kernel's module, which must be importable by that name)."""
    import subprocess

    env = dict(os.environ, FUNCGRAD_KERNEL_CACHE=str(tmp_path), NUMBA_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    outs = []
    for _ in range(2):
        r = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS], env=env, capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    for out in outs:
        assert "-> numba" in out and "fell back" not in out, out
    assert os.path.isdir(tmp_path / "__pycache__")  # numba's index and object files
