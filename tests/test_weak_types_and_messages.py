"""Loop carries follow JAX's weak-type rule, and conversions of traced values by code outside
funcgrad (the math module, other libraries' ufuncs) get messages that say what to use."""

from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def test_scan_python_scalar_carry_takes_the_body_dtype():
    # JAX keeps float32 here: the Python scalar 0.0 is weakly typed
    carry, ys = lax.scan(lambda c, x: (c + x, c), 0.0, np.ones(4, np.float32))
    assert np.asarray(carry).dtype == np.float32 and ys.dtype == np.float32
    assert float(carry) == 4.0 and ys.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_scan_numpy_scalar_carry_keeps_its_dtype():
    carry, ys = lax.scan(lambda c, x: (c + x, c), np.float64(0.0), np.ones(4, np.float32))
    assert np.asarray(carry).dtype == np.float64 and ys.dtype == np.float64


def test_weak_carry_under_jit_and_grad():
    xs = np.ones(4, np.float32)
    carry, ys = fg.jit(lambda xs: lax.scan(lambda c, x: (c + x, c), 0.0, xs))(xs)
    assert np.asarray(carry).dtype == np.float32 and ys.dtype == np.float32
    g = fg.grad(lambda w: lax.scan(lambda c, x: (c + x * w, c), 0.0, xs)[0])(np.float32(2.0))
    assert np.asarray(g).dtype == np.float32 and float(g) == 4.0


def test_while_and_fori_python_scalar_carry():
    r = lax.while_loop(lambda c: c < 3, lambda c: c + np.float32(1), 0.0)
    assert np.asarray(r).dtype == np.float32 and float(r) == 3.0
    r = lax.fori_loop(0, 3, lambda i, c: c + np.float32(1), 0.0)
    assert np.asarray(r).dtype == np.float32 and float(r) == 3.0
    r = lax.fori_loop(0, 3, lambda i, c: c + 0.5, 0)  # weak int carry becomes float
    assert float(r) == 1.5


def test_math_function_on_a_traced_value_names_math():
    with pytest.raises(fg.TracerConversionError, match=r"math\.exp.*fnp\.exp instead of math"):
        fg.grad(lambda x: math.exp(x))(1.0)


def test_foreign_ufunc_names_itself_not_numpy():
    special = pytest.importorskip("scipy.special")
    with pytest.raises(TypeError, match=r"the ufunc 'expit' \(not numpy's") as info:
        fg.grad(lambda x: special.expit(x))(1.0)
    assert "numpy.expit" not in str(info.value)
    assert "funcgrad.scipy.special.expit" in str(info.value)


def test_writing_a_traced_value_into_a_numpy_array_explains_itself():
    def f(x):
        a = np.zeros(3)
        a[0] = x  # numpy raises "setting an array element with a sequence" from our error
        return a.sum()

    with pytest.raises(ValueError) as info:
        fg.grad(f)(1.0)
    cause = info.value.__cause__
    assert isinstance(cause, fg.TracerConversionError)
    assert "a[i] = x" in str(cause) and "a.at[i].set(x)" in str(cause)


def test_numpy_runtime_warnings_name_the_users_line_each_time():
    import inspect
    import warnings

    def f(x):
        a = fnp.log(x - 2.0)  # first
        b = fnp.sqrt(x - 3.0)  # second
        return fnp.sum(a + b)

    lines, start = inspect.getsourcelines(f)
    first = start + next(i for i, l in enumerate(lines) if "# first" in l)
    second = start + next(i for i, l in enumerate(lines) if "# second" in l)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        fg.grad(f)(np.ones(2))
    where = {(w.filename, w.lineno) for w in caught if issubclass(w.category, RuntimeWarning)}
    # forward (log, sqrt of negatives) and backward (sqrt's rule) warnings: each at its own
    # line of this file, none inside funcgrad
    assert (__file__, first) in where and (__file__, second) in where, where
    assert all(fname == __file__ for fname, _ in where), where
