"""autograd's dialect at autograd's module paths (issue 15, item 3): ``funcgrad.extend``
(user primitives in the one rule table, under every transform), ``funcgrad.misc`` (flatten,
fixed_point, optimizers) and ``check_grads``' curried form. References: closed forms, finite
differences, and outputs recorded from autograd (tests/data/compat_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as onp
import pytest

import funcgrad as fg
import funcgrad.numpy as np
from funcgrad.extend import (
    defjvp,
    defjvp_argnum,
    defjvp_argnums,
    defvjp,
    defvjp_argnum,
    defvjp_argnums,
    notrace_primitive,
    primitive,
)
from funcgrad.misc import flatten
from funcgrad.misc.fixed_points import fixed_point
from funcgrad.misc.flatten import flatten_func
from funcgrad.misc.optimizers import adam, rmsprop, sgd
from funcgrad.primitives.base import registry
from funcgrad.test_util import check_grads

REF = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())
X = onp.array([0.3, -1.1, 2.0])


@primitive
def logsumexp(x):
    m = onp.max(x)
    return m + onp.log(onp.sum(onp.exp(x - m)))


defvjp(logsumexp, lambda ans, x: lambda g: np.full(x.shape, g) * np.exp(x - np.full(x.shape, ans)))
defjvp(logsumexp, lambda g, ans, x: np.sum(g * np.exp(x - ans)))

SOFTMAX = onp.exp(X) / onp.exp(X).sum()


# --- extend ------------------------------------------------------------------------------------
def test_user_primitive_is_an_entry_of_the_rule_table():
    assert registry["logsumexp"] is logsumexp.prim
    ir = fg.make_ir(lambda x: logsumexp(x) * 2.0)(X)
    assert "logsumexp" in str(ir) and len(ir.eqns) == 2  # one opaque equation, not its body


def test_user_primitive_under_every_transform():
    assert onp.allclose(fg.grad(logsumexp)(X), SOFTMAX)
    assert onp.allclose(fg.jit(fg.grad(logsumexp))(X), SOFTMAX)
    assert onp.isclose(fg.jit(logsumexp)(X), onp.log(onp.exp(X).sum()))
    assert onp.isclose(fg.jvp(logsumexp, (X,), (onp.ones(3),))[1], 1.0)
    B = onp.stack([X, 2 * X])
    want = onp.stack([SOFTMAX, onp.exp(2 * X) / onp.exp(2 * X).sum()])
    assert onp.allclose(fg.vmap(fg.grad(logsumexp))(B), want)
    assert onp.allclose(fg.jit(fg.vmap(fg.grad(logsumexp)))(B), want)
    assert onp.allclose(fg.grad(lambda b: fg.vmap(logsumexp)(b).sum())(B), want)
    H = fg.hessian(logsumexp)(X)  # forward over reverse: the rules are differentiable
    assert onp.allclose(H, onp.diag(SOFTMAX) - onp.outer(SOFTMAX, SOFTMAX))
    assert onp.allclose(fg.jacrev(fg.grad(logsumexp))(X), H)
    check_grads(logsumexp, (X,), order=2)


def test_primitive_runs_numpy_code_that_cannot_be_traced():
    @primitive
    def cumulative_max(x):
        out = onp.empty_like(x)
        best = -onp.inf
        for i, v in enumerate(x):  # in-place writes and Python loops on values
            best = max(best, v)
            out[i] = best
        return out

    def vjp_maker(ans, x):
        return lambda g: g * (x == ans)  # ties aside, the max is passed through where x is

    defvjp(cumulative_max, vjp_maker)
    x = onp.array([1.0, 3.0, 2.0, 5.0])
    assert fg.jit(cumulative_max)(x).tolist() == [1.0, 3.0, 3.0, 5.0]
    assert fg.grad(lambda x: cumulative_max(x).sum())(x).tolist() == [1.0, 1.0, 0.0, 1.0]


def test_static_and_pytree_arguments_and_kwargs():
    @primitive
    def scaled_norm(pair, power, axis=None):
        a, b = pair
        return onp.sum(onp.abs(a * b) ** power, axis=axis)

    def vjp_pair(ans, pair, power, axis=None):
        a, b = pair
        return lambda g: (
            g * power * np.abs(a * b) ** (power - 1) * np.sign(a) * np.abs(b),
            g * power * np.abs(a * b) ** (power - 1) * np.sign(b) * np.abs(a),
        )

    defvjp(scaled_norm, vjp_pair)
    a, b = onp.array([1.0, -2.0]), onp.array([3.0, 0.5])
    ga, gb = fg.grad(lambda a, b: scaled_norm((a, b), 2.0), argnums=(0, 1))(a, b)
    assert onp.allclose(ga, 2 * a * b**2) and onp.allclose(gb, 2 * b * a**2)
    m = onp.arange(6.0).reshape(2, 3)
    out = fg.jit(lambda m: scaled_norm((m, m), 1.0, axis=1))(m)
    assert onp.allclose(out, (m * m).sum(1))
    with pytest.raises(NotImplementedError, match="argument 1"):
        fg.grad(lambda p: scaled_norm((a, b), p))(2.0)
    with pytest.raises(TypeError, match="keyword arguments are static"):
        fg.grad(lambda ax: scaled_norm((a, b), 2.0, axis=ax))(1.0)


def test_missing_rules_raise_instead_of_a_silent_zero():
    f = primitive(lambda x: x * 2.0)
    with pytest.raises(NotImplementedError, match="VJP of .* argument 0 is not defined"):
        fg.grad(f)(1.0)
    with pytest.raises(NotImplementedError, match="JVP of .* argument 0 is not defined"):
        fg.jvp(f, (1.0,), (1.0,))
    defvjp(f, None)  # None: an explicit zero, as in autograd
    assert fg.grad(lambda x: f(x) + x)(1.0) == 1.0
    with pytest.raises(TypeError, match="decorate it with @primitive"):
        defvjp(lambda x: x, None)


def test_defjvp_same_and_argnums_keyword():
    add = primitive(lambda x, y: x + y)
    defjvp(add, "same", "same")
    defvjp(add, lambda ans, x, y: lambda g: g, argnums=[1])
    assert fg.jvp(add, (1.0, 2.0), (3.0, 4.0))[1] == 7.0
    assert fg.grad(add, 1)(1.0, 2.0) == 1.0
    with pytest.raises(NotImplementedError, match="argument 0"):
        fg.grad(add, 0)(1.0, 2.0)


def test_argnum_variants():
    mul = primitive(lambda x, y: x * y)
    defvjp_argnum(mul, lambda argnum, ans, args, kwargs: lambda g: g * args[1 - argnum])
    defjvp_argnum(mul, lambda argnum, g, ans, args, kwargs: g * args[1 - argnum])
    assert fg.grad(mul, (0, 1))(2.0, 5.0) == (5.0, 2.0)
    assert fg.jvp(mul, (2.0, 5.0), (1.0, 1.0))[1] == 7.0
    assert fg.hessian(mul, (0, 1))(2.0, 5.0)[0][1] == 1.0

    mul2 = primitive(lambda x, y: x * y)
    defvjp_argnums(
        mul2, lambda argnums, ans, args, kwargs: lambda g: tuple(g * args[1 - i] for i in argnums)
    )
    defjvp_argnums(
        mul2,
        lambda argnums, gs, ans, args, kwargs: sum(g * args[1 - i] for i, g in zip(argnums, gs)),
    )
    assert fg.grad(mul2, (0, 1))(2.0, 5.0) == (5.0, 2.0)
    assert fg.jvp(mul2, (2.0, 5.0), (1.0, 0.0))[1] == 5.0


def test_notrace_primitive_is_a_constant_to_derivatives():
    counts = notrace_primitive(lambda x: onp.floor(onp.abs(x)))
    f = lambda x: counts(x) * x  # noqa: E731
    assert fg.grad(f)(2.5) == 2.0 and fg.jit(fg.grad(f))(2.5) == 2.0
    assert onp.allclose(fg.vmap(fg.grad(f))(onp.array([0.5, 1.5, -3.2])), [0.0, 1.0, 3.0])
    assert fg.jvp(f, (2.5,), (1.0,))[1] == 2.0
    with pytest.raises(TypeError, match="notrace_primitive"):
        defvjp(counts, None)


def test_shape_rule_when_ones_are_not_a_valid_input():
    def strict(a):  # validates its input: cannot run on the arrays of ones used for shapes
        if onp.any(a >= 1.0):
            raise ValueError("needs entries below 1")
        return onp.sqrt(1.0 - a)

    f = primitive(strict)
    with pytest.raises(TypeError, match="shape_rule"):
        fg.jit(f)(onp.zeros(2))
    g = primitive(strict, shape_rule=lambda a: fg.ShapeDtypeStruct(a.shape, a.dtype))
    assert fg.jit(g)(onp.array([0.0, 0.75])).tolist() == [1.0, 0.5]


def test_define_gradient_example_matches_autograd():
    # examples/define_gradient.py's function, at a fixed input
    x = onp.linspace(-1.0, 2.0, 10)
    g = fg.grad(lambda y: np.sum(logsumexp(y**2)))(x)
    assert onp.allclose(g, REF["define_gradient_grad"])


# --- misc ---------------------------------------------------------------------------------------
def test_flatten_matches_autograd_and_is_differentiable():
    tree = {"b": [onp.array([1.0, 2.0]), 3.0], "a": onp.array([[4.0, 5.0], [6.0, 7.0]])}
    flat, unflatten = flatten(tree)
    assert flat.tolist() == REF["ag_flatten"]
    back = unflatten(flat)
    assert back["a"].tolist() == tree["a"].tolist() and back["b"][1] == 3.0
    g = fg.grad(lambda v: np.sum(unflatten(v)["a"] ** 2))(flat)
    assert g.tolist() == [8.0, 10.0, 12.0, 14.0, 0.0, 0.0, 0.0]  # dict keys sorted: 'a' first
    with pytest.raises(ValueError, match=r"shape \(7,\)"):
        unflatten(onp.ones(3))
    f, unf, ex = flatten_func(lambda t: {"s": t["a"] * 2.0}, tree)
    assert f(ex).tolist() == [8.0, 10.0, 12.0, 14.0]
    assert flatten([])[0].shape == (0,)


def test_fixed_point_matches_autograd_example_to_third_order():
    # autograd's examples/fixed_points.py (also a port in tests/ports/)
    def sqrt(a):
        it = lambda a: lambda x: x - 0.05 * (x**2 - a)  # noqa: E731
        return fixed_point(it, a, 10.0, lambda x, y: np.abs(x - y), 1e-4)

    out = [float(x) for x in REF["autograd_example_stdout"]["fixed_points"].split()]
    assert onp.isclose(sqrt(2.0), out[1])
    assert onp.isclose(fg.grad(sqrt)(2.0), out[3], rtol=1e-12)
    assert onp.isclose(fg.grad(fg.grad(sqrt))(2.0), out[5], rtol=1e-12)
    assert onp.isclose(fg.jit(fg.grad(fg.grad(sqrt)))(2.0), out[5], rtol=1e-12)


def test_fixed_point_of_a_vector_map_against_the_closed_form():
    # x = A x + a  =>  x* = (I - A)^-1 a, d x*/da = (I - A)^-1
    A = onp.array([[0.2, 0.1], [-0.3, 0.4]])
    a = onp.array([1.0, -2.0])
    step = lambda a: lambda x: A @ x + a  # noqa: E731
    dist = lambda x, y: np.max(np.abs(x - y))  # noqa: E731
    sol = lambda a: fixed_point(step, a, onp.zeros(2), dist, 1e-13)  # noqa: E731
    inv = onp.linalg.inv(onp.eye(2) - A)
    assert onp.allclose(sol(a), inv @ a)
    assert onp.allclose(fg.jacrev(sol)(a), inv, atol=1e-10)
    assert onp.allclose(fg.vmap(sol)(onp.stack([a, 2 * a])), onp.stack([inv @ a, 2 * inv @ a]))


@pytest.mark.parametrize(
    "name,opt,kw",
    [
        ("sgd", sgd, {"step_size": 0.1}),
        ("rmsprop", rmsprop, {"step_size": 0.05}),
        ("adam", adam, {"step_size": 0.1}),
    ],
)
def test_misc_optimizers_match_autograd(name, opt, kw):
    def objective(p, i):
        return np.sum((p["w"] - 1.5) ** 2) + np.sum(np.cos(p["b"]) * (i + 1) * 0.1)

    g = fg.grad(objective)
    log = []
    res = opt(
        g,
        {"w": onp.array([0.0, 3.0]), "b": onp.array([0.3])},
        callback=lambda p, i, gr: log.append([i, p["w"].tolist(), gr["b"].tolist()]),
        num_iters=25,
        **kw,
    )
    want = REF[f"ag_opt_{name}"]
    assert onp.allclose(res["w"], want["w"], rtol=1e-12) and onp.allclose(res["b"], want["b"])
    assert [e[0] for e in log] == [e[0] for e in want["log"]]
    assert onp.allclose([e[1] for e in log], [e[1] for e in want["log"]], rtol=1e-12)
    assert onp.allclose([e[2] for e in log], [e[2] for e in want["log"]], rtol=1e-12)


def test_misc_optimizer_defaults_are_autographs():
    import inspect

    assert inspect.signature(sgd).parameters["num_iters"].default == 200
    assert inspect.signature(adam).parameters["step_size"].default == 0.001
    assert inspect.signature(rmsprop).parameters["gamma"].default == 0.9


# --- check_grads --------------------------------------------------------------------------------
def test_check_grads_curried_form():
    check_grads(lambda x, y: np.sin(x) * y, modes=["rev"])(X, 2.0)
    check_grads(lambda x, y: np.sin(x) * y, 1)(X, 2.0)  # argnum positionally
    check_grads(lambda x, y: np.sin(x) * y, (0, 1), ["fwd"], 1)(X, 2.0)
    check_grads(lambda x, scale=1.0: np.sum(np.sin(x)) * scale)(X, scale=3.0)

    @primitive
    def wrong(x):
        return x**2

    defvjp(wrong, lambda ans, x: lambda g: 3.0 * x * g)  # wrong on purpose
    with pytest.raises(AssertionError, match="rev"):
        check_grads(wrong, modes=["rev"])(X)
    with pytest.raises(TypeError, match="give the arguments"):
        check_grads(np.sin)()
