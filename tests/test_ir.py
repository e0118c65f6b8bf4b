"""The IR: make_ir listings, eval_ir round trips, check_ir, very long programs, linear time."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _work import count_work

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.ir import IR, Eqn, ShapedArray, Var, check_ir


def loss(w, x, y):
    return ((x @ w - y) ** 2).sum() / 8.0


W, X, Y = np.zeros(3), np.ones((8, 3)), np.ones(8)

LOSS_LISTING = """\
{ lambda ; w:f64[3] x:f64[8,3] y:f64[8] .
    a:f64[8] = matmul x w
    b:f64[8] = sub a y
    c:f64[8] = integer_pow[y=2] b
    d:f64[] = reduce_sum[axes=(0,)] c
    e:f64[] = div d 8.0
  return e }"""


def test_contract_example_listing_is_exact():
    ir = fg.make_ir(loss)(W, X, Y)
    assert isinstance(ir, IR)
    assert str(ir) == LOSS_LISTING
    assert repr(ir) == LOSS_LISTING
    assert [v.aval for v in ir.invars] == [
        ShapedArray((3,), np.float64),
        ShapedArray((8, 3), np.float64),
        ShapedArray((8,), np.float64),
    ]
    assert ir.out_avals == [ShapedArray((), np.float64)]
    assert ir.consts == []


def test_listing_does_not_depend_on_values():
    rng = np.random.default_rng(0)
    ir = fg.make_ir(loss)(rng.standard_normal(3), rng.standard_normal((8, 3)), np.zeros(8))
    assert str(ir) == LOSS_LISTING


def test_listing_float32_literal_consts_and_params():
    ir = fg.make_ir(lambda x: x * np.float32(2.0) + 1.0)(np.ones(2, np.float32))
    assert str(ir) == (
        "{ lambda ; x:f32[2] .\n"
        "    a:f32[2] = mul x 2.0:f32\n"
        "    b:f32[2] = add a 1.0\n"
        "  return b }"
    )
    A = np.ones((2, 2))
    ir = fg.make_ir(lambda v: (A @ v)[::-1, None].T)(np.ones(2))
    assert str(ir) == (
        "{ lambda a:f64[2,2] ; v:f64[2] .\n"
        "    b:f64[2] = matmul a v\n"
        "    c:f64[2,1] = getitem[idx=[::-1, None]] b\n"
        "    d:f64[1,2] = transpose[permutation=(1, 0)] c\n"
        "  return d }"
    )
    assert ir.consts[0] is A


def test_pytree_arguments_are_named_by_path():
    ir = fg.make_ir(lambda p, s: p["w"] * s + p["b"][0])(
        {"w": np.ones(2), "b": [np.float32(1.0)]}, 2.0
    )
    first = str(ir).splitlines()[0]
    assert first == "{ lambda ; p_b_0:f32[] p_w:f64[2] s:f64[] ."


def test_static_argnums_and_control_flow_path():
    def f(x, n):
        return x**n if n > 1 else -x

    assert "integer_pow[y=3] x" in str(fg.make_ir(f, static_argnums=1)(np.ones(2), 3))
    ir = fg.make_ir(lambda x: x * 2.0 if x.sum() > 0 else x - 1.0)(np.array([-1.0]))
    assert [e.prim.name for e in ir.eqns] == ["reduce_sum", "gt", "sub"]


def test_show_src_names_this_file():
    ir = fg.make_ir(loss)(W, X, Y)
    listing = ir.pretty(show_src=True)
    assert "test_ir.py" in listing
    line = loss.__code__.co_firstlineno + 1
    assert all(e.src[1] == line for e in ir.eqns)


def test_grad_ir_has_forward_and_backward():
    ir = fg.make_ir(fg.grad(loss))(W, X, Y)
    names = [e.prim.name for e in ir.eqns]
    # forward pass first (same equations as the loss) ...
    assert names[:5] == ["matmul", "sub", "integer_pow", "reduce_sum", "div"]
    # ... then the backward pass: d/db b**2 = 2 b, and a second matmul for the matmul's VJP
    assert names.count("matmul") == 2
    assert "mul" in names[5:]
    assert ir.out_avals == [ShapedArray((3,), np.float64)]
    check_ir(ir)
    # the backward matmul contracts the cotangent with x
    last = ir.eqns[-1]
    assert last.prim.name == "matmul" and last.inputs[1] is ir.invars[1]


def test_eval_ir_round_trip():
    rng = np.random.default_rng(1)
    ir = fg.make_ir(loss)(W, X, Y)
    for _ in range(3):
        w, x, y = rng.standard_normal(3), rng.standard_normal((8, 3)), rng.standard_normal(8)
        np.testing.assert_allclose(fg.eval_ir(ir, w, x, y), loss(w, x, y), rtol=1e-14)
    # the gradient's IR evaluates to the gradient at another point
    gir = fg.make_ir(fg.grad(loss))(W, X, Y)
    w, x, y = rng.standard_normal(3), rng.standard_normal((8, 3)), rng.standard_normal(8)
    np.testing.assert_allclose(fg.eval_ir(gir, w, x, y), fg.grad(loss)(w, x, y), rtol=1e-12)
    np.testing.assert_allclose(fg.eval_ir(gir, w, x, y), x.T @ (x @ w - y) / 4.0, rtol=1e-12)


def test_eval_ir_several_outputs_and_composition():
    ir = fg.make_ir(lambda a, b: (a * b, np.sin(a) + b))(np.ones(2), np.ones(2))
    out = fg.eval_ir(ir, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out[0], [3.0, 8.0])
    np.testing.assert_allclose(out[1], np.sin([1.0, 2.0]) + [3.0, 4.0])
    # eval_ir on tracers re-emits the equations: IRs compose with transforms
    sq = fg.make_ir(lambda x: np.sum(np.sin(x) * x))(np.ones(3))
    x = np.array([0.1, 0.5, 2.0])
    g = fg.grad(lambda x: fg.eval_ir(sq, x))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-13)
    gg = fg.grad(lambda x: np.sum(fg.grad(lambda x: fg.eval_ir(sq, x))(x)))(x)
    np.testing.assert_allclose(gg, 2 * np.cos(x) - x * np.sin(x), rtol=1e-13)


def test_eval_ir_wrong_number_of_arguments():
    ir = fg.make_ir(loss)(W, X, Y)
    with pytest.raises(TypeError, match="3 inputs, got 2"):
        fg.eval_ir(ir, W, X)


TRACED = [
    lambda x: loss(x, X, Y),
    fg.grad(lambda x: loss(x, X, Y)),
    fg.grad(lambda w: fnp.sum(fnp.tanh(X @ w) ** 2) + fnp.max(w) - fnp.min(w[1:])),
    lambda w: fnp.concatenate([w, w[::-1] * 2.0]).reshape(2, 3).T,
    fg.grad(lambda w: fnp.sum(fnp.stack([w, w**2], axis=1)[None, ..., 0])),
    fg.grad(lambda w: fnp.sum(fg.grad(lambda w: fnp.sum(fnp.where(w > 0, w**3, fnp.exp(w))))(w))),
    lambda w: fnp.broadcast_to(w, (2, 3)).astype(np.float32).sum(axis=0, keepdims=True),
    lambda w: fnp.expand_dims(w, 0).squeeze() @ np.eye(3) @ w,
]


@pytest.mark.parametrize("f", TRACED)
def test_check_ir_accepts_traced_irs(f):
    check_ir(fg.make_ir(f)(np.array([0.5, -1.0, 2.0])))


def _fresh_ir():
    return fg.make_ir(loss)(W, X, Y)


def test_check_ir_rejects_wrong_output_type():
    ir = _fresh_ir()
    ir.eqns[1].outputs = [Var(ShapedArray((7,), np.float64))]
    with pytest.raises(TypeError, match=r"equation 1 \(sub\) declares outputs"):
        check_ir(ir)
    ir = _fresh_ir()
    ir.eqns[0].outputs = [Var(ShapedArray((8,), np.float32))]
    with pytest.raises(TypeError, match="matmul"):
        check_ir(ir)


def test_check_ir_rejects_use_before_definition():
    ir = _fresh_ir()
    ir.eqns[0], ir.eqns[1] = ir.eqns[1], ir.eqns[0]
    with pytest.raises(TypeError, match="undefined var"):
        check_ir(ir)


def test_check_ir_rejects_undefined_output_and_redefinition():
    ir = _fresh_ir()
    ir.outvars = [Var(ShapedArray((), np.float64))]
    with pytest.raises(TypeError, match="output var is never defined"):
        check_ir(ir)
    ir = _fresh_ir()
    e = ir.eqns[1]
    ir.eqns.append(Eqn(e.prim, e.inputs, e.params, e.outputs, e.src))
    with pytest.raises(TypeError, match="redefines"):
        check_ir(ir)


def test_check_ir_rejects_bad_params():
    ir = _fresh_ir()
    ir.eqns[3].params = {"axes": (1,)}  # reduce_sum over a missing axis
    with pytest.raises(ValueError, match="reduce_sum"):
        check_ir(ir)


# --- long programs --------------------------------------------------------------------------
def chain(x, n):
    for _ in range(n):
        x = x * 1.0001 + 0.0
    return x


def _stack_depth():
    depth, f = 0, sys._getframe()
    while f is not None:
        depth += 1
        f = f.f_back
    return depth


N_LONG = 50_000  # two equations per step: 100 000 equations


def test_100k_equations_without_recursion():
    old = sys.getrecursionlimit()
    # allow only a fixed number of frames beyond the test's own: any recursion over the
    # equations (tracing, the backward pass, freeing the IR) would fail
    sys.setrecursionlimit(_stack_depth() + 150)
    try:
        ir = fg.make_ir(lambda x: chain(x, N_LONG))(1.0)
        n_eqns = len(ir.eqns)
        del ir
        g = fg.grad(lambda x: chain(x, N_LONG))(1.0)
    finally:
        sys.setrecursionlimit(old)
    assert n_eqns == 2 * N_LONG
    np.testing.assert_allclose(g, 1.0001**N_LONG, rtol=1e-9)


def test_long_ir_print_check_eval_without_recursion():
    n = 2_000  # far deeper than the recursion limit allows
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 150)
    try:
        ir = fg.make_ir(lambda x: chain(x, n))(1.0)
        listing = str(ir)
        check_ir(ir)
        value = fg.eval_ir(ir, 1.0)
        gir = fg.make_ir(fg.grad(lambda x: chain(x, n) * x))(1.0)
        check_ir(gir)
    finally:
        sys.setrecursionlimit(old)
    assert listing.count("\n") == 2 * n + 1
    np.testing.assert_allclose(value, 1.0001**n, rtol=1e-12)
    np.testing.assert_allclose(fg.eval_ir(gir, 2.0), 2 * 2.0 * 1.0001**n, rtol=1e-12)


def test_grad_of_long_chain_depending_on_input():
    # the backward pass here is value-dependent (cotangents involve x), 8 000 equations
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 150)
    try:

        def f(x):
            for _ in range(2_000):
                x = np.sin(x) * 0.5 + x * 0.5
            return x

        g = fg.grad(f)(0.3)
    finally:
        sys.setrecursionlimit(old)
    x, d = 0.3, 1.0
    for _ in range(2_000):
        d *= 0.5 * np.cos(x) + 0.5
        x = np.sin(x) * 0.5 + x * 0.5
    np.testing.assert_allclose(g, d, rtol=1e-9)


def _trace_work(n):
    ir = []
    work = count_work(lambda: ir.append(fg.make_ir(lambda x: chain(x, n // 2))(1.0)))
    assert len(ir[0].eqns) == n
    return work


def test_tracing_time_is_linear():
    # Work inside funcgrad (lines executed + C calls), not wall-clock time, which depends on
    # the machine's load (timings: benchmarks/scaling.py). 4x the equations: linear is ~4x,
    # quadratic ~16x.
    small, large = _trace_work(5_000), _trace_work(20_000)
    assert 3.6 * small < large < 4.4 * small, (small, large)
