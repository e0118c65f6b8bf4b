"""Tests for ``funcgrad.config``'s ``debug_nans`` / ``debug_infs``: the first primitive that
produces a NaN (inf) raises ``FloatingPointError`` naming the primitive and the user's line —
eagerly, under grad / jvp / vmap, and in jit-compiled code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

THIS_FILE = os.path.basename(__file__)


def line_of(marker: str) -> int:
    """Line number (1-based) of the line in this file carrying ``# <marker>``."""
    with open(__file__) as fh:
        for i, text in enumerate(fh, 1):
            if text.rstrip().endswith(f"# {marker}"):
                return i
    raise AssertionError(marker)


def where(marker: str) -> str:
    return f"{THIS_FILE}:{line_of(marker)}"


@pytest.fixture
def nans() -> Iterator[None]:
    fg.config.update("debug_nans", True)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        fg.config.update("debug_nans", False)


@pytest.fixture
def infs() -> Iterator[None]:
    fg.config.update("debug_infs", True)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        fg.config.update("debug_infs", False)


# Functions whose NaN / inf comes from a known line.
def log_fn(x: Any) -> Any:
    y = fnp.log(x)  # NAN-LOG
    return y * 2.0


def div_fn(x: Any) -> Any:
    z = x - x
    return z / z  # NAN-DIV


def sqrt_fn(x: Any) -> Any:
    # Forward is finite at 0; the backward pass computes 0 * inf -> NaN (in sqrt's rule).
    return np.sum(fnp.sqrt(x) * 0.0)  # NAN-SQRT


def recip_fn(x: Any) -> Any:
    return 1.0 / x  # INF-DIV


def exp_fn(x: Any) -> Any:
    return np.exp(x)  # INF-EXP


NEG = np.array([1.0, -1.0])


def test_off_by_default() -> None:
    assert fg.config.debug_nans is False
    assert fg.config.debug_infs is False
    with np.errstate(all="ignore"):
        assert np.isnan(log_fn(NEG)[1])
        assert np.isnan(fg.jit(log_fn)(NEG)[1])
        assert np.isnan(fg.grad(lambda x: np.sum(log_fn(x)))(np.array([np.nan]))[0])
        assert np.isinf(fg.jit(recip_fn)(np.zeros(1))[0])


def test_unknown_option_and_bad_value() -> None:
    with pytest.raises(ValueError, match="debug_nan"):
        fg.config.update("debug_nan", True)
    with pytest.raises(ValueError):
        fg.config.update("no_such_option", False)
    with pytest.raises(TypeError):
        fg.config.update("debug_nans", "yes")
    assert fg.config.debug_nans is False


def test_eager(nans: None) -> None:
    with pytest.raises(FloatingPointError) as ei:
        log_fn(NEG)
    msg = str(ei.value)
    assert "'log'" in msg and where("NAN-LOG") in msg
    with pytest.raises(FloatingPointError) as ei:
        fnp.divide(np.zeros(2), np.zeros(2))
    assert "div" in str(ei.value)
    # Finite results are untouched.
    np.testing.assert_allclose(log_fn(np.array([1.0, np.e])), [0.0, 2.0])


def test_eager_on_tracer_ops(nans: None) -> None:
    with pytest.raises(FloatingPointError) as ei:
        fg.grad(lambda x: np.sum(div_fn(x)))(np.ones(2))
    msg = str(ei.value)
    assert "'div'" in msg and where("NAN-DIV") in msg


def test_under_grad(nans: None) -> None:
    with pytest.raises(FloatingPointError) as ei:
        fg.grad(lambda x: np.sum(log_fn(x)))(NEG)
    msg = str(ei.value)
    assert "'log'" in msg and where("NAN-LOG") in msg
    # A NaN produced only by the backward pass names the rule's primitive and the user's line.
    np.testing.assert_allclose(sqrt_fn(np.zeros(2)), 0.0)
    with pytest.raises(FloatingPointError) as ei:
        fg.grad(sqrt_fn)(np.zeros(2))
    assert where("NAN-SQRT") in str(ei.value)


def test_under_jvp_and_vmap(nans: None) -> None:
    with pytest.raises(FloatingPointError, match="log"):
        fg.jvp(log_fn, (NEG,), (np.ones(2),))
    with pytest.raises(FloatingPointError, match="log"):
        fg.vmap(log_fn)(NEG)


def test_under_jit(nans: None) -> None:
    with pytest.raises(FloatingPointError) as ei:
        fg.jit(log_fn)(NEG)
    msg = str(ei.value)
    assert "'log'" in msg and where("NAN-LOG") in msg
    with pytest.raises(FloatingPointError) as ei:
        fg.jit(div_fn)(np.ones(3))
    assert "'div'" in str(ei.value) and where("NAN-DIV") in str(ei.value)
    # Under jit(grad): the gradient 2 log(x) + 2 needs log(x). (The gradient of log alone,
    # 2/x, is finite, and the NaN forward value is dead code there, as in JAX.)
    with pytest.raises(FloatingPointError, match="log"):
        fg.jit(fg.grad(lambda x: np.sum(log_fn(x) * x)))(NEG)
    with pytest.raises(FloatingPointError) as ei:
        fg.jit(fg.grad(sqrt_fn))(np.zeros(2))
    assert where("NAN-SQRT") in str(ei.value)
    # jit of a finite computation runs normally with the check on.
    np.testing.assert_allclose(fg.jit(log_fn)(np.array([1.0, np.e])), [0.0, 2.0])


def test_jit_compiled_with_flag_on_then_off() -> None:
    jf = fg.jit(log_fn)
    fg.config.update("debug_nans", True)
    try:
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError):
            jf(NEG)
    finally:
        fg.config.update("debug_nans", False)
    with np.errstate(all="ignore"):
        assert np.isnan(jf(NEG)[1])  # the flag is off again: no error


def test_jit_honours_flag_enabled_after_compilation() -> None:
    jf = fg.jit(log_fn)
    with np.errstate(all="ignore"):
        assert np.isnan(jf(NEG)[1])  # compiled with the flag off
    fg.config.update("debug_nans", True)
    try:
        with np.errstate(all="ignore"), pytest.raises(FloatingPointError):
            jf(NEG)
    finally:
        fg.config.update("debug_nans", False)


def test_debug_infs(infs: None) -> None:
    with pytest.raises(FloatingPointError) as ei:
        fg.grad(lambda x: np.sum(recip_fn(x)))(np.zeros(2))
    msg = str(ei.value)
    assert "'div'" in msg and where("INF-DIV") in msg and "inf" in msg
    with pytest.raises(FloatingPointError) as ei:
        fg.jit(recip_fn)(np.zeros(2))
    assert "'div'" in str(ei.value) and where("INF-DIV") in str(ei.value)
    with pytest.raises(FloatingPointError) as ei:
        fg.jit(exp_fn)(np.array([1000.0]))
    assert "'exp'" in str(ei.value) and where("INF-EXP") in str(ei.value)
    with pytest.raises(FloatingPointError, match="exp"):
        fg.jvp(exp_fn, (np.array([1000.0]),), (np.ones(1),))
    # debug_infs alone does not complain about NaNs.
    assert np.isnan(fg.jit(log_fn)(NEG)[1])
    assert np.isnan(log_fn(NEG)[1])


def test_debug_nans_alone_ignores_infs(nans: None) -> None:
    assert np.isinf(fg.jit(recip_fn)(np.zeros(1))[0])
    assert np.isinf(recip_fn(fnp.zeros(1))[0])
    assert np.isinf(fg.grad(lambda x: np.sum(exp_fn(x)))(np.array([1000.0]))[0])


def test_flag_restored_by_fixture() -> None:
    assert fg.config.debug_nans is False and fg.config.debug_infs is False
    assert "debug_nans=False" in repr(fg.config)
