"""JAX's and autograd's top-level names (issue 15, item 1): each checked against closed forms,
finite differences, or outputs recorded once from JAX/autograd (tests/data/compat_reference.json,
made by tests/data/record_compat_reference.py)."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import tree_util as tu

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())
XV, YV = np.array([0.3, -1.2]), np.array([0.7, 2.0])


def g2(x, y):
    return fnp.sum(fnp.sin(x) * y**3)


# --- transforms -----------------------------------------------------------------------------
def test_make_jaxpr_is_make_ir():
    f = lambda x: fnp.sin(x) * 2.0  # noqa: E731
    assert str(fg.make_jaxpr(f)(np.ones(3))) == str(fg.make_ir(f)(np.ones(3)))
    ir = fg.make_jaxpr(lambda x, n: x * n, static_argnums=1)(1.0, 3)
    assert "mul" in str(ir) and len(ir.invars) == 1


def test_value_and_grad_argnums_tuple_matches_jax():
    v, (gx, gy) = fg.value_and_grad(g2, argnums=(0, 1))(XV, YV)
    want_v, want_gx, want_gy = REF["value_and_grad_tuple"]
    assert np.isclose(v, want_v) and np.allclose(gx, want_gx) and np.allclose(gy, want_gy)
    assert np.allclose(gx, np.cos(XV) * YV**3) and np.allclose(gy, 3 * np.sin(XV) * YV**2)


def test_hessian_of_two_arguments_matches_jax():
    H = fg.hessian(g2, argnums=(0, 1))(XV, YV)
    for i in range(2):
        for j in range(2):
            assert np.allclose(H[i][j], REF["hessian_two_args"][i][j]), (i, j)
    # closed form of the mixed block: d2/dx dy = diag(3 cos(x) y^2)
    assert np.allclose(H[0][1], np.diag(3 * np.cos(XV) * YV**2))


def test_linearize_matches_jax_and_does_not_recompute_the_primal():
    calls = []

    def f(x):
        calls.append(1)
        return fnp.sin(x) * fnp.exp(x)

    y, f_jvp = fg.linearize(f, XV)
    n = len(calls)
    t = np.array([1.0, 0.5])
    assert np.allclose(y, REF["linearize"][0]) and np.allclose(f_jvp(t), REF["linearize"][1])
    assert np.allclose(f_jvp(t), (np.cos(XV) + np.sin(XV)) * np.exp(XV) * t)
    f_jvp(2 * t)
    assert len(calls) == n  # the tangent function replays the linear part only
    assert np.allclose(fg.jit(f_jvp)(t), f_jvp(t))
    assert np.allclose(fg.vmap(f_jvp)(np.stack([t, 2 * t])), np.stack([f_jvp(t), f_jvp(2 * t)]))


def test_linearize_inside_grad_composes():
    # d/dx of <f_jvp(1), 1> at x = d/dx sum f'(x) = sum f''(x), f = sin
    g = fg.grad(lambda x: fnp.sum(fg.linearize(fnp.sin, x)[1](np.ones(2))))(XV)
    assert np.allclose(g, -np.sin(XV))


def test_linearize_errors():
    _, f_jvp = fg.linearize(fnp.sin, XV)
    with pytest.raises(ValueError, match="shape"):
        f_jvp(np.ones(3))
    with pytest.raises(ValueError, match="one tangent per primal"):
        f_jvp(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="floating-point"):
        fg.linearize(fnp.sin, 1)


def test_linear_transpose_matches_jax_and_the_dot_product_identity():
    def f(x, y):
        return (2.0 * x + y[::-1], fnp.sum(x))

    f_t = fg.linear_transpose(f, np.zeros(2), fg.ShapeDtypeStruct((2,), np.float64))
    ct = f_t((np.array([1.0, 2.0]), 3.0))
    assert np.allclose(ct[0], REF["linear_transpose"][0])
    assert np.allclose(ct[1], REF["linear_transpose"][1])
    rng = np.random.default_rng(0)
    x, y, u, s = rng.normal(size=2), rng.normal(size=2), rng.normal(size=2), rng.normal()
    out = f(x, y)
    cx, cy = f_t((u, s))
    assert np.isclose(np.dot(out[0], u) + out[1] * s, np.dot(cx, x) + np.dot(cy, y))


def test_linear_transpose_refuses_nonlinear_functions():
    with pytest.raises(ValueError, match="not linear"):
        fg.linear_transpose(lambda x: x * x, np.zeros(3))
    with pytest.raises(ValueError, match="nonzero at zero"):
        fg.linear_transpose(lambda x: x + 1.0, np.zeros(3))
    with pytest.raises(TypeError, match="one argument"):
        fg.linear_transpose(lambda x: 2.0 * x, np.zeros(3))(np.ones(3), np.ones(3))


def test_eval_shape_with_shape_dtype_struct_matches_jax():
    out = fg.eval_shape(
        lambda a, b: {"m": a @ b, "s": a.sum(0)},
        fg.ShapeDtypeStruct((2, 3), np.float32),
        np.ones((3, 4)),
    )
    for k, (shape, dtype) in REF["eval_shape"].items():
        assert out[k] == fg.ShapeDtypeStruct(tuple(shape), np.dtype(dtype)), k
    assert repr(out["m"]) == "ShapeDtypeStruct(shape=(2, 4), dtype=float64)"
    s = fg.ShapeDtypeStruct([2, 3], "float32")
    assert (s.shape, s.dtype, s.ndim, s.size) == ((2, 3), np.float32, 2, 6)


def test_eval_shape_computes_nothing():
    def f(x):
        return fg.pure_callback(_fail, fg.ShapeDtypeStruct((2,), np.float64), x)

    def _fail(x):
        raise AssertionError("eval_shape ran the computation")

    assert fg.eval_shape(f, fg.ShapeDtypeStruct((5,), np.float64)).shape == (2,)
    with pytest.raises(TypeError, match="ShapeDtypeStruct"):
        fg.eval_shape(lambda x: x, "not an array")


def test_autograd_jacobian_and_elementwise_grad_match_autograd():
    X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    J = fg.jacobian(lambda x: fnp.tanh(x) * fnp.sum(x**2))(X)
    assert J.shape == (2, 3, 2, 3) and np.allclose(J, REF["ag_jacobian"])
    J1 = fg.jacobian(lambda a, b: a * fnp.sin(b), 1)(2.0, X[0])
    assert np.allclose(J1, REF["ag_jacobian_argnum1"])
    assert np.allclose(fg.elementwise_grad(lambda x: fnp.sin(x) * x**2)(X), REF["ag_egrad"])
    eg = fg.elementwise_grad(lambda a, b: a * b, 1)(3.0, np.array([1.0, 2.0]))
    assert np.allclose(eg, [3.0, 3.0])


def test_holomorphic_grad():
    # d/dz z**3 = 3 z**2 (a closed form), and autograd refuses real inputs
    hg = fg.holomorphic_grad(lambda z: z * z * z)
    z = np.complex128(1 + 2j)
    assert np.isclose(hg(z), 3 * z**2)
    zs = np.array([1 + 2j, -0.5 + 1j])
    np.testing.assert_allclose(fg.holomorphic_grad(lambda z: (z * z).sum())(zs), 2 * zs)
    with pytest.raises(TypeError, match="must be complex"):
        hg(1.0)


# --- checkpoint / remat, named_call -----------------------------------------------------------
def test_remat_keywords_and_static_argnums():
    @fg.remat
    def f(x):
        return fnp.sin(fnp.sin(x))

    assert np.isclose(fg.grad(f)(0.4), np.cos(np.sin(0.4)) * np.cos(0.4))

    @fg.checkpoint(static_argnums=(1,), prevent_cse=False, policy=None)
    def g(x, n):
        for _ in range(n):  # n is a Python int: static
            x = fnp.sin(x)
        return x

    assert np.isclose(fg.grad(g)(0.4, 2), np.cos(np.sin(0.4)) * np.cos(0.4))
    assert np.isclose(fg.jit(fg.grad(g), static_argnums=1)(0.4, 1), np.cos(0.4))


def test_named_call_keeps_results_and_sets_the_name():
    f = fg.named_call(lambda x: x * 3.0, name="triple")
    assert f.__name__ == "triple" and fg.grad(f)(1.0) == 3.0


# --- runtime names -------------------------------------------------------------------------------
def test_devices_and_transfers():
    assert repr(fg.devices()) == "[CpuDevice(id=0)]" and fg.devices()[0].platform == "cpu"
    assert fg.local_devices() == fg.devices() and fg.device_count() == 1
    assert fg.default_backend() == "cpu"
    with pytest.raises(ValueError, match="CPU only"):
        fg.devices("gpu")
    a = np.zeros(3)
    b = fg.device_put({"a": a}, fg.devices()[0])["a"]
    a[0] = 5.0  # JAX arrays are immutable: a device_put copy must not follow the original
    assert b[0] == 0.0
    assert fg.device_get({"x": [np.ones(2)]})["x"][0].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="device_get of a traced value"):
        fg.jit(lambda x: fg.device_get(x))(np.ones(2))
    y = np.ones(2)
    assert fg.block_until_ready(y) is y
    assert not hasattr(y, "block_until_ready")  # numpy arrays: the function form only


def test_array_for_annotations_and_isinstance():
    assert isinstance(np.ones(2), fg.Array) and isinstance(np.float64(1.0), fg.Array)
    assert not isinstance([1.0], fg.Array) and not isinstance(1.0, fg.Array)
    seen = []
    fg.grad(lambda x: (seen.append(isinstance(x, fg.Array)), x * x)[1])(1.0)
    assert seen == [True]
    with pytest.raises(TypeError, match="cannot be instantiated"):
        fg.Array()


def test_config_accepts_jax_names():
    fg.config.update("jax_enable_x64", True)
    assert fg.config.jax_enable_x64 is True
    assert fnp.ones(2).dtype == np.float64
    with pytest.raises(ValueError, match="no 32-bit mode"):
        fg.config.update("jax_enable_x64", False)
    fg.config.update("jax_platform_name", "cpu")
    with pytest.raises(ValueError, match="CPU only"):
        fg.config.update("jax_platforms", "gpu")
    try:
        fg.config.update("jax_debug_nans", True)
        assert fg.config.debug_nans
        with pytest.raises(FloatingPointError), np.errstate(invalid="ignore"):
            fnp.log(-np.ones(1))
    finally:
        fg.config.update("debug_nans", False)


# --- callbacks ---------------------------------------------------------------------------------
def _h(x):
    fg.debug.print("x = {}", x)
    fg.debug.print("x = {x}", x=x * 2)
    return x


def test_debug_print_under_vmap_jit_and_grad_matches_jax(capsys):
    fg.vmap(_h)(np.arange(2.0))
    fg.jit(_h)(np.arange(2.0))
    fg.grad(lambda x: _h(x).sum())(np.arange(2.0))
    assert capsys.readouterr().out == REF["debug_print"]


def test_debug_print_runs_on_every_call_of_compiled_code(capsys):
    f = fg.jit(_h)
    f(np.zeros(1))
    f(np.ones(1))
    assert capsys.readouterr().out == "x = [0.]\nx = [0.]\nx = [1.]\nx = [2.]\n"
    assert "debug_callback" in fg.jit(_h).lower(np.zeros(1)).source


def test_debug_callback_survives_jit_optimizations():
    seen = []

    @fg.jit
    def f(x):
        fg.debug.callback(lambda v: seen.append(float(v)), x * 0.0 + 1.0)  # foldable input
        fg.debug.callback(lambda v: seen.append(float(v)), x * 0.0 + 1.0)  # same again (CSE)
        return x

    f(3.0)
    f(4.0)
    assert seen == [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="callable"):
        fg.debug.callback(3, 1.0)
    with pytest.raises(TypeError, match="format must be a str"):
        fg.debug.print(1.0)


def test_debug_print_under_jvp_and_grad_of_jit(capsys):
    fg.jvp(_h, (1.0,), (1.0,))
    fg.jit(fg.grad(lambda x: _h(x).sum()))(np.arange(2.0))
    assert capsys.readouterr().out == "x = 1.0\nx = 2.0\nx = [0. 1.]\nx = [0. 2.]\n"


def _pc(x, method="sequential"):
    return fg.pure_callback(
        lambda a: np.sin(a) * np.arange(a.shape[-1]),
        fg.ShapeDtypeStruct(x.shape, x.dtype),
        x,
        vmap_method=method,
    )


def test_pure_callback_eager_jit_vmap():
    X = np.arange(6.0).reshape(2, 3)
    assert np.allclose(fg.vmap(_pc)(X), REF["pure_callback_vmap"])
    assert np.allclose(fg.jit(fg.vmap(_pc))(X), REF["pure_callback_vmap"])
    assert np.allclose(fg.vmap(lambda x: _pc(x, "expand_dims"))(X), np.sin(X) * np.arange(3))
    assert np.allclose(fg.jit(_pc)(X[0]), np.sin(X[0]) * np.arange(3))
    with pytest.raises(NotImplementedError, match="vmap_method"):
        fg.vmap(lambda x: _pc(x, None))(X)


def test_pure_callback_has_no_derivative_and_checks_its_result():
    with pytest.raises(TypeError, match="custom_jvp"):
        fg.grad(lambda x: _pc(x).sum())(np.ones(3))
    with pytest.raises(TypeError, match="custom_jvp"):
        fg.jvp(_pc, (np.ones(3),), (np.ones(3),))
    bad = lambda x: fg.pure_callback(lambda a: a[:2], fg.ShapeDtypeStruct((3,), x.dtype), x)  # noqa: E731
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        fg.jit(bad)(np.ones(3))

    @fg.custom_jvp
    def sin_cb(x):
        return fg.pure_callback(np.sin, fg.ShapeDtypeStruct(x.shape, x.dtype), x)

    sin_cb.defjvps(lambda t, ans, x: fnp.cos(x) * t)
    assert np.allclose(fg.grad(lambda x: sin_cb(x).sum())(XV), np.cos(XV))


# --- trees ---------------------------------------------------------------------------------------
P = namedtuple("P", ["x", "y"])


def test_key_paths_match_jax():
    tree = {"b": [1.0, (2.0, None)], "a": P(3.0, {"k": 4.0})}
    pairs, treedef = tu.tree_flatten_with_path(tree)
    assert [tu.keystr(p) for p, _ in pairs] == REF["tree_paths"]
    assert [x for _, x in pairs] == tu.tree_leaves(tree) and treedef == tu.tree_structure(tree)
    out = fg.tree.map_with_path(lambda p, x, y: (tu.keystr(p), x + y), tree, tree)
    assert out["a"].y["k"] == ("['a'].y['k']", 8.0)
    assert fg.tree.leaves_with_path([1.0])[0][0] == (tu.SequenceKey(0),)


def test_tree_namespace_and_reductions():
    t = {"a": 1, "b": (2, [3])}
    assert fg.tree.map(lambda x: x * 2, t) == {"a": 2, "b": (4, [6])}
    assert fg.tree.leaves(t) == [1, 2, 3] and fg.tree.structure(t) == tu.tree_structure(t)
    leaves, d = fg.tree.flatten(t)
    assert fg.tree.unflatten(d, leaves) == t
    assert fg.tree.reduce(lambda a, b: a * b, t) == 6 and fg.tree.reduce(max, t, 10) == 10
    assert fg.tree.all({"a": True, "b": [1]}) and not fg.tree.all([1, 0])
    with pytest.raises(TypeError, match="initializer"):
        tu.tree_reduce(max, [])
    got = fg.tree.transpose(
        tu.tree_structure([0, 0, 0]), tu.tree_structure((0, 0)), [(1, 2), (3, 4), (5, 6)]
    )
    assert [list(x) for x in got] == REF["tree_transpose"] and isinstance(got, tuple)
    with pytest.raises(ValueError, match="structure"):
        fg.tree.transpose(tu.tree_structure([0, 0]), tu.tree_structure((0, 0)), [(1, 2), [3, 4]])


def test_register_pytree_with_keys_and_static():
    class Pt:
        def __init__(self, x, y):
            self.x, self.y = x, y

    tu.register_pytree_with_keys(
        Pt,
        lambda p: (((tu.GetAttrKey("x"), p.x), (tu.GetAttrKey("y"), p.y)), None),
        lambda _, c: Pt(*c),
    )
    g = fg.grad(lambda p: p.x * p.y)(Pt(2.0, 5.0))
    assert (g.x, g.y) == (5.0, 2.0)
    assert [tu.keystr(k) for k, _ in tu.tree_flatten_with_path(Pt(1.0, 2.0))[0]] == [".x", ".y"]

    class Plain:
        def __init__(self, a):
            self.a = a

    tu.register_pytree_node(Plain, lambda p: ((p.a,), None), lambda _, c: Plain(*c))
    assert tu.keystr(tu.tree_flatten_with_path(Plain(1.0))[0][0][0]) == "[<flat index 0>]"

    @tu.register_static
    class Mode:
        def __init__(self, name):
            self.name = name

        def __eq__(self, other):
            return isinstance(other, Mode) and other.name == self.name

        def __hash__(self):
            return hash(self.name)

    calls = []

    @fg.jit
    def f(x, mode):
        calls.append(mode.name)
        return x * (2.0 if mode.name == "double" else 3.0)

    assert f(1.0, Mode("double")) == 2.0 and f(1.0, Mode("triple")) == 3.0
    assert f(2.0, Mode("double")) == 4.0 and calls == ["double", "triple"]
    assert tu.tree_leaves((1.0, Mode("a"))) == [1.0]


def test_partial_is_a_pytree_through_jit():
    def apply(fn, x):
        return fn(x)

    p = tu.Partial(lambda a, x: a * x, np.array([2.0, 3.0]))
    assert np.allclose(fg.jit(apply)(p, 2.0), [4.0, 6.0])
    assert tu.tree_leaves(p)[0].tolist() == [2.0, 3.0]
    g = fg.grad(lambda a: apply(tu.Partial(lambda a, x: (a * x).sum(), a), 2.0))(np.ones(2))
    assert np.allclose(g, [2.0, 2.0])
    nested = tu.Partial(tu.Partial(lambda a, b, c: a + b + c, 1.0), 2.0)
    assert nested(3.0) == 6.0 and len(tu.tree_leaves(nested)) == 2


def test_import_funcgrad_reaches_the_compat_modules():
    for name in ("tree", "debug", "extend", "misc", "example_libraries"):
        assert getattr(fg, name).__name__ == "funcgrad." + name
    assert fg.misc.fixed_points.fixed_point and fg.example_libraries.optimizers.adam


def test_vmap_maps_keyword_arguments_over_their_leading_axis_as_jax():
    f = lambda x, scale: x * scale  # noqa: E731
    s = np.array([1.0, 2.0, 3.0])
    assert fg.vmap(f)(np.arange(3.0), scale=s).tolist() == [0.0, 2.0, 6.0]
    out = fg.vmap(f, in_axes=(None,))(np.arange(2.0), scale=s)  # JAX: [[0,1],[0,2],[0,3]]
    assert out.tolist() == [[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]
    assert fg.jit(fg.vmap(f))(np.arange(3.0), scale=s).tolist() == [0.0, 2.0, 6.0]
    with pytest.raises(ValueError, match="keyword argument 'scale' holds a scalar"):
        fg.vmap(f)(np.arange(3.0), scale=2.0)
