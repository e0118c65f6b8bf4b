"""Errors of the core: right exception type, and a message that says what and where."""

from __future__ import annotations

import os

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.errors import TracerConversionError

THIS_FILE = os.path.basename(__file__)


def line_of(fn, offset=1):
    """Line number of the ``offset``-th line after ``fn``'s ``def`` line."""
    return fn.__code__.co_firstlineno + offset


# --- grad's output and inputs --------------------------------------------------------------
def test_non_scalar_output():
    with pytest.raises(TypeError, match="scalar") as info:
        fg.grad(lambda x: x * 2.0)(np.ones(3))
    msg = str(info.value)
    assert "f64[3]" in msg and ".sum()" in msg and "jacrev" in msg
    with pytest.raises(TypeError, match="scalar"):
        fg.value_and_grad(lambda x: (x, x))(1.0)
    with pytest.raises(TypeError, match="scalar"):
        fg.grad(lambda x: (x**2, 1.0), has_aux=False)(1.0)


def test_integer_output():
    with pytest.raises(TypeError, match="floating"):
        fg.grad(lambda x: fnp.argmax(x))(np.ones(3))


@pytest.mark.parametrize(
    "arg,words",
    [
        (3, ["Python int", "3.0"]),
        (True, ["bool"]),
        (np.arange(3), ["int64", "astype"]),
        (np.array([True]), ["bool"]),
        ("abc", ["str"]),
        ([1.0, 2.0], None),  # a list is a pytree: its leaves are floats, so this works
        ({"w": np.int32(1)}, ["int32", "argument 0"]),
        ((1.0, 2), ["leaf 1", "Python int 2"]),
        (object(), ["object"]),
        (1 + 2j, ["complex"]),
    ],
    ids=[
        "int",
        "bool",
        "int-array",
        "bool-array",
        "str",
        "list-of-floats",
        "np-int",
        "tuple",
        "object",
        "complex",
    ],
)
def test_non_float_inputs(arg, words):
    f = fg.grad(lambda x: 1.0 * sum(fg.tree_util.tree_leaves(x)))
    if words is None:
        assert f(arg) == [1.0, 1.0]
        return
    with pytest.raises(TypeError, match="float") as info:
        f(arg)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_non_float_inputs_through_other_transforms():
    with pytest.raises(TypeError, match="float"):
        fg.vjp(lambda x: x, 2)
    with pytest.raises(TypeError, match="float"):
        fg.value_and_grad(lambda x, y: x * y, argnums=1)(1.0, 2)
    # non-differentiated integer arguments are fine
    assert fg.grad(lambda x, n: x * n)(1.0, 2) == 2.0


def test_not_callable():
    with pytest.raises(TypeError, match="callable"):
        fg.grad(3.0)


# --- tracer leaks ---------------------------------------------------------------------------
def test_tracer_leak_names_creation_site():
    leaked = []

    def f(x):
        y = x * 2.0
        leaked.append(y)
        return y

    fg.grad(f)(1.0)
    for use in (lambda t: t + 1.0, lambda t: np.sin(t), lambda t: fnp.sum(t), lambda t: t @ t):
        with pytest.raises(fg.TracerLeakError, match="leaked") as info:
            use(leaked[0])
        msg = str(info.value)
        assert f"{THIS_FILE}:{line_of(f)}" in msg  # where the leaked value was created
        assert "grad" in msg and "return" in msg


def test_tracer_leak_of_input_tracer_and_inside_another_transform():
    box = []
    fg.grad(lambda x: box.append(x) or x)(1.0)
    with pytest.raises(fg.TracerLeakError, match="leaked"):
        box[0] * 2.0

    def outer(x):
        def inner(y):
            box.append(y * x)
            return y * x

        fg.grad(inner)(x)
        return box[-1] * x  # a tracer of the finished inner grad

    with pytest.raises(fg.TracerLeakError, match="leaked") as info:
        fg.grad(outer)(2.0)
    assert THIS_FILE in str(info.value)


def test_tracer_leak_is_a_runtime_error_not_a_crash():
    box = []
    fg.vjp(lambda x: box.append(x) or x, np.ones(2))
    assert issubclass(fg.TracerLeakError, Exception)
    with pytest.raises(fg.TracerLeakError):
        fg.grad(lambda w: np.sum(w * box[0]))(np.ones(2))


def test_vjp_function_escaping_an_outer_transform():
    box = []

    def outer(x):
        out, f_vjp = fg.vjp(lambda y: y * x, x)
        box.append(f_vjp)
        return out

    assert fg.grad(outer)(2.0) == 4.0
    with pytest.raises(fg.TracerLeakError, match="leaked"):
        box[0](1.0)


# --- shape errors name the user's line ------------------------------------------------------
def test_matmul_shape_mismatch():
    def f(x):
        return np.sum(x @ np.ones((4, 2)))

    with pytest.raises(ValueError, match="inner dimensions") as info:
        fg.grad(f)(np.ones((2, 3)))
    msg = str(info.value)
    assert "f64[2,3]" in msg and "f64[4,2]" in msg
    assert f"{THIS_FILE}:{line_of(f)}" in msg
    with pytest.raises(ValueError, match="inner dimensions"):
        fg.make_ir(lambda x, w: fnp.matmul(x, w))(np.ones(3), np.ones((2, 5)))


def test_broadcast_mismatch():
    def f(x):
        y = x * 2.0
        return np.sum(y + np.ones(4))

    with pytest.raises(ValueError, match="broadcast") as info:
        fg.grad(f)(np.ones(3))
    msg = str(info.value)
    assert "f64[3]" in msg and "f64[4]" in msg
    assert f"{THIS_FILE}:{line_of(f, 2)}" in msg


def test_shape_error_line_inside_nested_transform():
    def f(x):
        return np.sum(x.reshape(4, 2))

    with pytest.raises(ValueError) as info:
        fg.grad(lambda x: np.sum(fg.grad(f)(x)))(np.ones(6))
    assert "reshape" in str(info.value)
    assert f"{THIS_FILE}:{line_of(f)}" in str(info.value)


# --- calls that cannot be traced say what to use instead ------------------------------------
def test_np_array_of_tracers_names_stack():
    with pytest.raises(TypeError, match=r"fnp\.stack") as info:
        fg.grad(lambda x: np.sum(np.array([x, x])))(1.0)
    assert isinstance(info.value, TracerConversionError)
    with pytest.raises(TypeError, match=r"fnp\.stack"):
        fg.grad(lambda x: np.sum(np.asarray(x)))(np.ones(2))
    # the suggested replacement works
    assert fg.grad(lambda x: np.sum(fnp.stack([x, x])))(1.0) == 2.0


def test_inplace_setitem_names_at():
    def f(x):
        x[0] = 1.0
        return np.sum(x)

    with pytest.raises(TypeError, match=r"\.at\[") as info:
        fg.grad(f)(np.ones(3))
    assert "immutable" in str(info.value)


def test_inplace_add_into_numpy_array():
    def f(x):
        a = np.zeros(3)
        a += x
        return np.sum(a)

    with pytest.raises(TypeError, match=r"a = a \+ x"):
        fg.grad(f)(np.ones(3))

    def g(x):
        out = np.empty(3)
        np.multiply(x, 2.0, out=out)
        return np.sum(out)

    with pytest.raises(TypeError, match="out="):
        fg.grad(g)(np.ones(3))


def test_float_of_tracer():
    with pytest.raises(TypeError, match="derivative"):
        fg.grad(lambda x: float(x) * x)(1.0)


def test_unsupported_numpy_function_is_a_clear_type_error():
    with pytest.raises(TypeError, match="not supported on funcgrad traced values"):
        fg.grad(lambda x: np.sum(np.fft.fft(x).real))(np.ones(4))


# --- argnums, has_aux, vjp cotangents -------------------------------------------------------
@pytest.mark.parametrize("argnums", [2, -3, (0, 2), (5,)])
def test_bad_argnums(argnums):
    with pytest.raises(ValueError, match="argnums") as info:
        fg.grad(lambda x, y: x * y, argnums=argnums)(1.0, 2.0)
    assert "2 positional argument" in str(info.value)


def test_empty_or_non_int_argnums():
    with pytest.raises(ValueError, match="at least one"):
        fg.grad(lambda x: x, argnums=())(1.0)
    with pytest.raises(TypeError, match="argnums must be ints"):
        fg.grad(lambda x: x, argnums=(0.0,))(1.0)


@pytest.mark.parametrize(
    "ret",
    [lambda x: x, lambda x: (x, 1.0, 2.0), lambda x: [x, 1.0]],
    ids=["single", "triple", "list"],
)
def test_has_aux_needs_a_pair(ret):
    with pytest.raises(TypeError, match="pair") as info:
        fg.grad(ret, has_aux=True)(1.0)
    assert "has_aux" in str(info.value)
    with pytest.raises(TypeError, match="pair"):
        fg.value_and_grad(ret, has_aux=True)(1.0)


def test_vjp_wrong_cotangent_shape_or_structure():
    _, f_vjp = fg.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match="shape") as info:
        f_vjp(np.ones(4))
    assert "(4,)" in str(info.value) and "(3,)" in str(info.value)
    with pytest.raises(ValueError, match="shape"):
        f_vjp(np.ones((3, 1)))
    _, f_vjp = fg.vjp(lambda x: (x, {"a": x}), np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        f_vjp(np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        f_vjp((np.ones(2), {"b": np.ones(2)}))
    # and the right one works
    (c,) = f_vjp((np.ones(2), {"a": np.ones(2)}))
    np.testing.assert_array_equal(c, [2.0, 2.0])


# --- recovery after errors ------------------------------------------------------------------
def test_next_call_works_after_user_exception():
    class Boom(Exception):
        pass

    def f(x):
        y = np.sin(x) * 2.0
        if y > 0:
            raise Boom("user error")
        return y

    with pytest.raises(Boom):
        fg.grad(f)(1.0)
    with pytest.raises(Boom):
        fg.grad(lambda x: fg.grad(f)(x))(1.0)
    assert fg.grad(f)(-1.0) == 2.0 * np.cos(-1.0)
    assert fg.grad(fg.grad(f))(-1.0) == -2.0 * np.sin(-1.0)

    # no stale source location: the next shape error names its own line
    def g(x):
        return np.sum(x + np.ones(5))

    with pytest.raises(ValueError) as info:
        fg.grad(g)(np.ones(2))
    assert f"{THIS_FILE}:{line_of(g)}" in str(info.value)


def test_next_call_works_after_shape_error_in_nested_transform():
    def bad(x):
        return np.sum(x @ np.ones((5, 1)))

    with pytest.raises(ValueError):
        fg.grad(lambda x: np.sum(fg.grad(bad)(x)))(np.ones(2))
    assert fg.grad(lambda x: np.sum(fg.grad(lambda y: np.sum(y**2))(x)))(np.ones(2)).tolist() == [
        2.0,
        2.0,
    ]
    out, f_vjp = fg.vjp(lambda x: x * 3.0, np.ones(2))
    np.testing.assert_array_equal(f_vjp(np.ones(2))[0], [3.0, 3.0])
