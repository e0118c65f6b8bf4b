"""Reverse mode: grad, value_and_grad, vjp — higher order, argnums, has_aux, pytrees, dtypes,
Python control flow, closures (no perturbation confusion), purity and result types."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections import namedtuple

import numpy as np
import pytest
from _work import count_work

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu

Point = namedtuple("Point", ["x", "y"])


@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray
    activation: str = "tanh"


tu.register_dataclass(Layer, data_fields=["w", "b"], meta_fields=["activation"])


def assert_tree_allclose(got, want, **kw):
    gl, gt = tu.tree_flatten(got)
    wl, wt = tu.tree_flatten(want)
    assert gt == wt, f"structure {gt} != {wt}"
    for g, w in zip(gl, wl):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, **kw)


# --- higher order against closed forms -----------------------------------------------------
X0 = 0.7
CLOSED_FORMS = {
    # name: (f, f', f'', f''')
    "sin": (np.sin, np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
    "exp": (np.exp, np.exp, np.exp, np.exp),
    "cube": (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6.0 + 0 * x),
    "tanh": (
        np.tanh,
        lambda x: 1 - np.tanh(x) ** 2,
        lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
        lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2),
    ),
    "log": (np.log, lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
    "xsinx": (
        lambda x: x * np.sin(x),
        lambda x: np.sin(x) + x * np.cos(x),
        lambda x: 2 * np.cos(x) - x * np.sin(x),
        lambda x: -3 * np.sin(x) - x * np.cos(x),
    ),
    "fnp_sqrt": (
        fnp.sqrt,
        lambda x: 0.5 * x**-0.5,
        lambda x: -0.25 * x**-1.5,
        lambda x: 0.375 * x**-2.5,
    ),
    "recip": (lambda x: 1.0 / x, lambda x: -(x**-2), lambda x: 2 * x**-3, lambda x: -6 * x**-4),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
@pytest.mark.parametrize("x", [X0, 1.9])
def test_first_second_third_order(name, x):
    f, d1, d2, d3 = CLOSED_FORMS[name]
    np.testing.assert_allclose(fg.grad(f)(x), d1(x), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(fg.grad(f))(x), d2(x), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(fg.grad(fg.grad(f)))(x), d3(x), rtol=1e-11)


@pytest.mark.parametrize("name", ["sin", "exp", "tanh", "xsinx"])
def test_higher_order_elementwise_arrays(name):
    f, _, d2, _ = CLOSED_FORMS[name]
    x = np.linspace(0.2, 2.0, 5)

    def df_sum(x):
        return np.sum(fg.grad(lambda x: np.sum(f(x)))(x))

    np.testing.assert_allclose(fg.grad(df_sum)(x), d2(x), rtol=1e-12)


def test_fourth_order_sin():
    g = fg.grad(fg.grad(fg.grad(fg.grad(np.sin))))
    np.testing.assert_allclose(g(0.3), np.sin(0.3), rtol=1e-12)


def test_mixed_partials_of_products():
    x, y = 1.3, -0.4
    # d2/dxdy (x*y) = 1
    assert fg.grad(fg.grad(lambda x, y: x * y, argnums=0), argnums=1)(x, y) == 1.0
    # d2/dxdy (x^2 y^3) = 6 x y^2
    g = fg.grad(fg.grad(lambda x, y: x**2 * y**3, argnums=0), argnums=1)(x, y)
    np.testing.assert_allclose(g, 6 * x * y**2, rtol=1e-12)
    # d2/dydx (x y sin x) = sin x + x cos x  (order of differentiation swapped)
    g = fg.grad(fg.grad(lambda x, y: x * y * np.sin(x), argnums=1), argnums=0)(x, y)
    np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-12)
    # d2/dx2 (x y sin x) = y (2 cos x - x sin x)
    g = fg.grad(fg.grad(lambda x, y: x * y * np.sin(x)))(x, y)
    np.testing.assert_allclose(g, y * (2 * np.cos(x) - x * np.sin(x)), rtol=1e-12)


def test_hessian_vector_product_quadratic_form():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    v = rng.standard_normal(4)
    x = rng.standard_normal(4)

    def f(x):
        return x @ A @ x + np.sum(x**3)

    hvp = fg.grad(lambda x: fg.grad(f)(x) @ v)(x)
    np.testing.assert_allclose(hvp, (A + A.T) @ v + 6 * x * v, rtol=1e-12)


# --- argnums ------------------------------------------------------------------------------
def f3(a, b, c):
    return a * b**2 + np.sin(c) * a


def test_argnums_int_tuple_negative():
    a, b, c = 1.5, -2.0, 0.3
    da, db, dc = b**2 + np.sin(c), 2 * a * b, np.cos(c) * a
    np.testing.assert_allclose(fg.grad(f3)(a, b, c), da)
    np.testing.assert_allclose(fg.grad(f3, argnums=1)(a, b, c), db)
    np.testing.assert_allclose(fg.grad(f3, argnums=-1)(a, b, c), dc)
    np.testing.assert_allclose(fg.grad(f3, argnums=-3)(a, b, c), da)
    g = fg.grad(f3, argnums=(2, 0))(a, b, c)
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_allclose(g, (dc, da))
    g = fg.grad(f3, argnums=(1,))(a, b, c)
    assert isinstance(g, tuple) and len(g) == 1
    np.testing.assert_allclose(g[0], db)
    g = fg.grad(f3, argnums=(0, -2, 2))(a, b, c)
    np.testing.assert_allclose(g, (da, db, dc))


def test_non_differentiated_args_may_be_ints_and_strings():
    def f(x, n, mode):
        return x**n if mode == "pow" else x * n

    assert fg.grad(f)(2.0, 3, "pow") == 12.0
    assert fg.grad(f)(2.0, 3, "mul") == 3.0


def test_kwargs_pass_through():
    def f(x, y, scale=1.0, *, shift=0.0):
        return scale * x * y + shift * x

    assert fg.grad(f)(2.0, 3.0, scale=5.0) == 15.0
    assert fg.grad(f, argnums=1)(2.0, 3.0, scale=5.0, shift=7.0) == 10.0
    assert fg.grad(f)(2.0, 3.0, shift=7.0) == 10.0
    v, g = fg.value_and_grad(f)(2.0, 3.0, scale=2.0)
    assert (v, g) == (12.0, 6.0)


# --- has_aux, value_and_grad --------------------------------------------------------------
def loss_with_aux(w, x):
    pred = x @ w
    loss = np.mean(pred**2)
    return loss, {"pred": pred, "norm": np.sum(w**2), "step": 3}


def test_has_aux():
    w, x = np.array([1.0, -2.0]), np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.5]])
    g, aux = fg.grad(loss_with_aux, has_aux=True)(w, x)
    pred = x @ w
    np.testing.assert_allclose(g, 2 * x.T @ pred / 3, rtol=1e-12)
    assert type(aux["pred"]) is fg.Array
    np.testing.assert_allclose(aux["pred"], pred)
    assert type(aux["norm"]) is np.float64 and aux["norm"] == 5.0
    assert aux["step"] == 3
    assert sorted(aux) == ["norm", "pred", "step"]


def test_value_and_grad():
    v, g = fg.value_and_grad(lambda x: np.sum(x**3))(np.array([1.0, 2.0]))
    assert type(v) is np.float64 and v == 9.0
    np.testing.assert_array_equal(g, [3.0, 12.0])
    w, x = np.array([1.0, -2.0]), np.array([[1.0, 2.0], [3.0, 4.0]])
    (v, aux), g = fg.value_and_grad(loss_with_aux, has_aux=True)(w, x)
    want_v, want_aux = loss_with_aux(w, x)
    assert v == want_v
    np.testing.assert_array_equal(aux["pred"], want_aux["pred"])
    np.testing.assert_allclose(g, fg.grad(lambda w: loss_with_aux(w, x)[0])(w))
    (v, aux), gs = fg.value_and_grad(loss_with_aux, argnums=(0, 1), has_aux=True)(w, x)
    assert len(gs) == 2 and gs[1].shape == x.shape


def test_value_and_grad_of_grad():
    v, g = fg.value_and_grad(fg.grad(lambda x: x**4))(2.0)
    assert v == 32.0 and g == 48.0


# --- vjp ----------------------------------------------------------------------------------
def test_vjp_pytree_outputs_and_cotangents():
    x = np.array([0.5, 1.0, 2.0])
    y = np.array(3.0)

    def f(x, y):
        return {"a": x * y, "b": (np.sin(x), np.sum(x) * y)}

    out, f_vjp = fg.vjp(f, x, y)
    assert sorted(out) == ["a", "b"]
    np.testing.assert_allclose(out["a"], x * 3.0)
    np.testing.assert_allclose(out["b"][0], np.sin(x))
    ct = {"a": np.array([1.0, 0.0, 2.0]), "b": (np.ones(3), 2.0)}
    cx, cy = f_vjp(ct)
    np.testing.assert_allclose(cx, ct["a"] * 3.0 + np.cos(x) + 2.0 * 3.0)
    np.testing.assert_allclose(cy, ct["a"] @ x + 2.0 * np.sum(x))
    # the vjp function can be called again with a different cotangent
    cx2, _ = f_vjp({"a": np.zeros(3), "b": (np.zeros(3), 1.0)})
    np.testing.assert_allclose(cx2, [3.0, 3.0, 3.0])


def test_vjp_pytree_inputs():
    p = {"w": np.array([1.0, 2.0]), "b": Point(np.array(0.5), [np.ones(2)])}
    out, f_vjp = fg.vjp(lambda p: p["w"] * p["b"].x + p["b"].y[0], p)
    (ct,) = f_vjp(np.array([1.0, 10.0]))
    assert tu.tree_structure(ct) == tu.tree_structure(p)
    np.testing.assert_allclose(ct["w"], [0.5, 5.0])
    np.testing.assert_allclose(ct["b"].x, 21.0)
    np.testing.assert_allclose(ct["b"].y[0], [1.0, 10.0])


def test_vjp_has_aux():
    out, f_vjp, aux = fg.vjp(lambda x: (x**2, x + 1), np.array([3.0]), has_aux=True)
    np.testing.assert_array_equal(out, [9.0])
    np.testing.assert_array_equal(aux, [4.0])
    np.testing.assert_array_equal(f_vjp(np.array([1.0]))[0], [6.0])


def test_vjp_of_unused_input_is_zero():
    out, f_vjp = fg.vjp(lambda x, y: x * 2.0, np.ones(2), np.ones((3,), np.float32))
    cx, cy = f_vjp(np.ones(2))
    np.testing.assert_array_equal(cy, np.zeros(3, np.float32))
    assert cy.dtype == np.float32


# --- pytree arguments ---------------------------------------------------------------------
def test_grad_nested_pytree_argument():
    params = {
        "layers": [
            Layer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.1, -0.1])),
            Layer(np.array([[0.5], [-0.5]]), np.array([0.0]), activation="identity"),
        ],
        "scale": (np.float64(2.0), Point(1.5, np.array([1.0, 1.0]))),
    }
    x = np.array([[1.0, -1.0], [0.5, 2.0]])

    def loss(params, x):
        h = x
        for layer in params["layers"]:
            h = h @ layer.w + layer.b
            h = np.tanh(h) if layer.activation == "tanh" else h
        s, pt = params["scale"]
        return np.sum(h**2) * s + pt.x * np.sum(pt.y**2)

    g = fg.grad(loss)(params, x)
    assert tu.tree_structure(g) == tu.tree_structure(params)
    assert g["layers"][1].activation == "identity"
    assert type(g["layers"][0]) is Layer and type(g["scale"][1]) is Point
    assert type(g["scale"][1].x) is np.float64  # Python float leaf -> numpy float64 scalar
    np.testing.assert_allclose(g["scale"][1].y, [3.0, 3.0])
    np.testing.assert_allclose(g["scale"][1].x, 2.0)
    # against finite differences on one entry per leaf
    leaves, tree = tu.tree_flatten(params)
    gleaves = tu.tree_leaves(g)
    for i, leaf in enumerate(leaves):
        arr = np.asarray(leaf, np.float64)
        idx = (0,) * arr.ndim
        eps = 1e-6

        def shifted(d, i=i, arr=arr, idx=idx):
            a = arr.copy()
            a[idx] += d
            return loss(tu.tree_unflatten(tree, leaves[:i] + [a] + leaves[i + 1 :]), x)

        fd = (shifted(eps) - shifted(-eps)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(gleaves[i])[idx], fd, rtol=1e-6, atol=1e-8)


def test_grad_with_none_in_pytree_and_empty_containers():
    p = {"a": np.array([2.0]), "none": None, "empty": [], "t": ()}
    g = fg.grad(lambda p: np.sum(p["a"] ** 2))(p)
    assert g["none"] is None and g["empty"] == [] and g["t"] == ()
    np.testing.assert_array_equal(g["a"], [4.0])


# --- dtypes, shapes, result types -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    x = np.array([[0.5, 1.0, 2.0]], dtype)
    g = fg.grad(lambda x: np.sum(np.sin(x) * x**2) / 3.0)(x)
    assert type(g) is fg.Array and g.dtype == dtype and g.shape == x.shape
    g2 = fg.grad(lambda x: np.sum(fg.grad(lambda y: np.sum(np.exp(y)))(x)))(x)
    assert g2.dtype == dtype
    s = fg.grad(lambda x: x * x)(dtype(3.0))
    assert type(s) is dtype and s == 6.0
    v, g = fg.value_and_grad(lambda x: np.sum(x))(x)
    assert v.dtype == dtype and g.dtype == dtype


def test_mixed_dtypes_each_keep_their_own():
    a, b = np.ones(2, np.float32), np.ones(2, np.float64)
    ga, gb = fg.grad(lambda a, b: np.sum(a * b), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float64


def test_python_float_in_numpy_float64_out():
    g = fg.grad(lambda x: x**2)(3.0)
    assert type(g) is np.float64 and g == 6.0
    v, g = fg.value_and_grad(lambda x: x**2)(3.0)
    assert type(v) is np.float64 and type(g) is np.float64
    g = fg.grad(lambda x: x * 2)(np.array(2.0))  # 0-d array -> numpy scalar
    assert type(g) is np.float64


@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 1), (2, 3, 1)])
def test_shapes_preserved(shape):
    x = np.full(shape, 0.5)
    g = fg.grad(lambda x: np.sum(x**2))(x)
    assert np.shape(g) == shape
    np.testing.assert_array_equal(g, np.full(shape, 1.0))
    if shape:
        assert type(g) is fg.Array
    else:
        assert type(g) is np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "f",
    [
        lambda x: 1.0,
        lambda x: np.float64(2.0),
        lambda x: np.sum(np.ones(3)),
        lambda x: np.sum(fnp.argmax(x) * 1.0),
        lambda x: np.sum(fg.stop_gradient(x)),
    ],
    ids=["const", "np-const", "sum-const", "argmax", "stop_gradient"],
)
def test_grad_of_function_ignoring_input_is_zeros(f, dtype):
    x = np.array([[1.0, 2.0, 3.0]], dtype)
    g = fg.grad(f)(x)
    assert type(g) is fg.Array and g.shape == x.shape and g.dtype == dtype
    np.testing.assert_array_equal(g, np.zeros_like(x))


def test_results_are_plain_writeable_numpy():
    x = np.array([1.0, 2.0])
    g = fg.grad(lambda x: np.sum(fnp.broadcast_to(x, (3, 2))))(x)
    assert type(g) is fg.Array
    g[0] = 5.0  # writeable, not a broadcast view
    out, f_vjp = fg.vjp(lambda x: fnp.broadcast_to(x, (3, 2)), x)
    assert type(out) is fg.Array
    out[0, 0] = 9.0
    (c,) = f_vjp(np.ones((3, 2)))
    assert type(c) is fg.Array
    c[1] = 0.0
    # grads of pytrees: every leaf is plain numpy, not a tracer or wrapper
    g = fg.grad(lambda p: p["a"] @ p["b"])({"a": np.ones(2), "b": np.ones(2)})
    assert all(type(v) is fg.Array for v in g.values())


# --- inputs never mutated -----------------------------------------------------------------
def test_inputs_not_mutated():
    rng = np.random.default_rng(0)
    p = {"w": rng.standard_normal((3, 2)), "b": [rng.standard_normal(2).astype(np.float32)]}
    x = rng.standard_normal((4, 3))
    saved_p, saved_x = copy.deepcopy(p), x.copy()

    def loss(p, x):
        h = np.maximum(x @ p["w"] + p["b"][0], 0.0)
        h = h[::-1] * 2.0
        return np.sum(h**2) + np.sum(p["w"].T)

    fg.grad(loss)(p, x)
    fg.value_and_grad(loss, argnums=(0, 1))(p, x)
    out, f_vjp = fg.vjp(loss, p, x)
    f_vjp(np.float64(1.0))
    fg.grad(lambda x: np.sum(fg.grad(lambda x: loss(p, x))(x) ** 2))(x)  # second order
    np.testing.assert_array_equal(p["w"], saved_p["w"])
    np.testing.assert_array_equal(p["b"][0], saved_p["b"][0])
    assert p["b"][0].dtype == np.float32
    np.testing.assert_array_equal(x, saved_x)


def test_cotangent_not_mutated_and_results_not_aliased():
    x = np.array([1.0, 2.0, 3.0])
    ct = np.array([1.0, 1.0, 1.0])
    out, f_vjp = fg.vjp(lambda x: x * 1.0, x)
    (c,) = f_vjp(ct)
    c += 100.0
    np.testing.assert_array_equal(ct, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    # the gradient of a sum is a broadcast: it must come back as its own writeable array
    g = fg.grad(lambda x: np.sum(x))(x)
    g += 1.0
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])


# --- Python control flow ------------------------------------------------------------------
def piecewise(x):
    if x > 0:
        return x**2
    return -(x**3)


def test_if_on_values_takes_the_path():
    assert fg.grad(piecewise)(3.0) == 6.0
    assert fg.grad(piecewise)(-2.0) == -12.0
    assert fg.grad(fg.grad(piecewise))(-2.0) == 12.0


def newton_sqrt(x):
    y = x
    err = np.abs(y * y - x)
    while err > 1e-13:
        y = (y + x / y) / 2.0
        err = np.abs(y * y - x)
    return y


def test_while_loop_on_values():
    for x in [2.0, 9.0, 0.3]:
        assert abs(newton_sqrt(x) - np.sqrt(x)) < 1e-12
        np.testing.assert_allclose(fg.grad(newton_sqrt)(x), 0.5 / np.sqrt(x), rtol=1e-8)


def test_loop_count_depends_on_value():
    def f(x):
        n = 0
        while x < 10.0:  # doubles until >= 10: f(x) = x * 2**n
            x = x * 2.0
            n += 1
        return x

    assert fg.grad(f)(3.0) == 4.0  # 3 -> 24: n = 3
    assert fg.grad(f)(0.5) == 32.0  # 0.5 -> 16: n = 5


def test_array_control_flow_with_any_all():
    def f(x):
        if np.all(x > 0):
            return np.sum(np.log(x))
        return np.sum(x)

    np.testing.assert_allclose(fg.grad(f)(np.array([1.0, 2.0])), [1.0, 0.5])
    np.testing.assert_allclose(fg.grad(f)(np.array([1.0, -2.0])), [1.0, 1.0])


# --- closures and nesting (perturbation confusion) ----------------------------------------
def test_no_perturbation_confusion():
    # d/dx [ d/dy (x*y) ]_{y=x} = d/dx x = 1
    assert fg.grad(lambda x: fg.grad(lambda y: x * y)(x))(3.0) == 1.0
    # d/dx [ x * d/dy (x + y) ] = d/dx x = 1  (Siskind & Pearlmutter's example)
    assert fg.grad(lambda x: x * fg.grad(lambda y: x + y)(1.0))(3.0) == 1.0
    # d/dx [ x * d/dy (x * y) at y=3 ] = d/dx x^2 = 2x
    assert fg.grad(lambda x: x * fg.grad(lambda y: x * y)(3.0))(3.0) == 6.0
    # inner derivative 2xy at y=x is 2x^2 -> outer 4x
    assert fg.grad(lambda x: fg.grad(lambda y: x * y**2)(x))(3.0) == 12.0


def test_three_level_nesting_with_closures():
    def f(x):
        def g(y):
            def h(z):
                return x * y * z**2

            return fg.grad(h)(y)  # 2 x y^2

        return fg.grad(g)(x)  # 4 x y at y=x: 4 x^2

    assert fg.grad(f)(1.5) == 12.0  # 8x


def test_closure_over_outer_tracer_in_array_code():
    w = np.array([1.0, 2.0])

    def outer(s):
        inner = fg.grad(lambda v: np.sum(np.sin(v * s)))(w)  # s cos(w s)
        return np.sum(inner)

    s = 0.5
    want = np.sum(np.cos(w * s) - s * w * np.sin(w * s))
    np.testing.assert_allclose(fg.grad(outer)(s), want, rtol=1e-12)


def test_inner_value_and_grad_and_vjp_inside_grad():
    def outer(x):
        v, g = fg.value_and_grad(lambda y: y**3 * x)(x)  # x^4, 3x^3
        out, f_vjp = fg.vjp(lambda y: y * x, x)  # x^2, cotangent ct * x
        return v + g + f_vjp(2.0)[0] + out

    x = 1.5
    np.testing.assert_allclose(fg.grad(outer)(x), 4 * x**3 + 9 * x**2 + 2.0 + 2 * x, rtol=1e-12)


def test_grad_of_closure_constant_array():
    A = np.array([[2.0, 0.0], [1.0, 3.0]])
    g = fg.grad(lambda x: np.sum(A @ x))(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(g, A.sum(0))
    np.testing.assert_array_equal(A, [[2.0, 0.0], [1.0, 3.0]])


def test_transformed_function_returned_from_inside_a_transform():
    def make(x):
        return fg.grad(lambda y: x * y**2)  # closes over the outer tracer x

    assert fg.grad(lambda x: make(x)(3.0))(2.0) == 6.0  # d/dx (6 x)
    assert fg.grad(lambda x: fg.grad(lambda y: fg.grad(lambda z: x * y * z)(1.0))(1.0))(1.0) == 1.0


def test_threads_do_not_interfere():
    xs = np.linspace(0.1, 2.0, 40)
    results = {}

    def work(i):
        results[i] = [
            fg.grad(lambda x: fg.grad(lambda y: np.sin(y) * y * (i + 1))(x))(float(v)) for v in xs
        ]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        np.testing.assert_allclose(
            results[i], (i + 1) * (2 * np.cos(xs) - xs * np.sin(xs)), rtol=1e-12
        )


# --- cost in the number of pytree leaves ----------------------------------------------------
def _grad_work(n_leaves):
    params = [np.ones(1) for _ in range(n_leaves)]
    f = fg.grad(lambda p: sum(np.sum(x) for x in p))
    g = []
    work = count_work(lambda: g.append(f(params)))
    assert len(g[0]) == n_leaves
    return work


def test_grad_time_linear_in_number_of_leaves():
    # Work inside funcgrad (lines executed + C calls), not wall-clock time (load-dependent).
    # 4x the leaves: linear ~4x, quadratic ~16x.
    small, large = _grad_work(150), _grad_work(600)
    assert 3.6 * small < large < 4.4 * small, (small, large)
