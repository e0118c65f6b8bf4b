"""Every error on bad input names the user's file and line (one mechanism:
funcgrad/core/errors.py), whichever layer raises it: transforms, jit, vmap, lax, funcgrad.numpy
inside a traced function, nn, optim, make_ir."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn, optim

HERE = os.path.basename(__file__)


def _raised_at(call, exc=(TypeError, ValueError)):
    with pytest.raises(exc) as info:
        call()
    m = re.match(rf"in {re.escape(HERE)}:(\d+), ", str(info.value))
    assert m, f"message does not start with this file's line: {info.value}"
    assert str(info.value).count(f"{HERE}:") == 1, str(info.value)
    return int(m.group(1)), info.value


def _line_of(fn, text):
    """Line number of the first line of ``fn``'s source containing ``text``."""
    import inspect

    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, l in enumerate(lines) if text in l)


def test_transform_argument():
    def call():
        fg.grad(lambda x: x.sum())("abc")  # here

    assert _raised_at(call)[0] == _line_of(call, "# here")


def test_jit_static_argnums():
    def call():
        fg.jit(lambda x, n: x * n, static_argnums=(3,))(np.ones(2), 2)  # here

    assert _raised_at(call)[0] == _line_of(call, "# here")


def test_vmap_in_axes():
    def call():
        fg.vmap(lambda x: x, in_axes=(0, 1))(np.ones(2))  # here

    assert _raised_at(call)[0] == _line_of(call, "# here")


def test_lax_scan_structure():
    def call():
        lax.scan(lambda c, x: ((c, c), x), 0.0, np.ones(2))  # here

    assert _raised_at(call)[0] == _line_of(call, "# here")


def test_numpy_inside_a_traced_function_names_that_line():
    def loss(x):
        y = x * 2.0
        return fnp.concatenate([y, fnp.ones((2, 2))]).sum()  # bad

    line, err = _raised_at(lambda: fg.grad(loss)(np.ones(2)))
    assert line == _line_of(loss, "# bad")
    assert "concatenate" in str(err)


def test_nn_and_optim_and_make_ir():
    def c1():
        nn.relu("a")  # one

    def c2():
        optim.sgd("fast")  # two

    def c3():
        fg.make_ir(3)  # three

    def c4():
        fg.stop_gradient("abc")  # four

    for call, mark in ((c1, "# one"), (c2, "# two"), (c3, "# three"), (c4, "# four")):
        line, err = _raised_at(call, TypeError)
        assert line == _line_of(call, mark), err


def test_message_with_a_location_is_not_prefixed_twice():
    def loss(x):
        return (x @ fnp.ones((3, 4))).sum()  # shape error from the primitive's rule

    line, _ = _raised_at(lambda: fg.grad(loss)(np.ones(2)))
    assert line == _line_of(loss, "# shape")


def test_exception_types_subclass_builtins():
    assert issubclass(fg.TracerLeakError, TypeError)
    assert issubclass(fg.ConcretizationError, TypeError)
    assert issubclass(fg.TracerConversionError, TypeError)
    with pytest.raises(TypeError):
        fg.grad(lambda x: x.sum())("abc")
