"""Custom derivative rules as JAX has them (issue 15, item 2): the examples of JAX's guide
"Custom derivative rules" written as tests (reference values recorded from JAX in
tests/data/compat_reference.json, or closed forms), ``defjvps``, ``nondiff_argnums`` on both
decorators, keyword arguments, and the rules under ``vmap`` and ``jit``."""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import funcgrad.numpy as jnp
from funcgrad import custom_jvp, custom_vjp, grad, jit, jvp, vjp, vmap
from funcgrad.lax import while_loop

GUIDE = json.loads((Path(__file__).parent / "data" / "compat_reference.json").read_text())["guide"]


# --- TL;DR -----------------------------------------------------------------------------------
def test_summary_custom_jvp_and_defjvps():
    @custom_jvp
    def f(x, y):
        return jnp.sin(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        x, y = primals
        x_dot, y_dot = tangents
        return f(x, y), jnp.cos(x) * x_dot * y + jnp.sin(x) * y_dot

    @custom_jvp
    def f2(x, y):
        return jnp.sin(x) * y

    f2.defjvps(
        lambda x_dot, primal_out, x, y: jnp.cos(x) * x_dot * y,
        lambda y_dot, primal_out, x, y: jnp.sin(x) * y_dot,
    )
    for fun in (f, f2):
        y, y_dot = jvp(fun, (2.0, 3.0), (1.0, 0.0))
        got = [fun(2.0, 3.0), y, y_dot, grad(fun)(2.0, 3.0)]
        assert np.allclose(got, GUIDE["defjvps_f"])


def test_summary_custom_vjp():
    @custom_vjp
    def f(x, y):
        return jnp.sin(x) * y

    f.defvjp(
        lambda x, y: (f(x, y), (jnp.cos(x), jnp.sin(x), y)),
        lambda res, g: (res[0] * g * res[2], res[1] * g),
    )
    assert np.isclose(grad(f)(2.0, 3.0), np.cos(2.0) * 3.0)
    assert np.isclose(grad(f, 1)(2.0, 3.0), np.sin(2.0))


# --- numerical stability ----------------------------------------------------------------------
def test_log1pexp_numerical_stability():
    def naive(x):
        return jnp.log(1.0 + jnp.exp(x))

    # The guide's problem (nan at 100 in float32, where exp(100) overflows) appears in float64
    # further out, where exp overflows too.
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(grad(naive)(1000.0))

    @custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,) = primals
        (x_dot,) = tangents
        return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * x_dot

    @custom_jvp
    def log1pexp2(x):
        return jnp.log(1.0 + jnp.exp(x))

    log1pexp2.defjvps(lambda t, ans, x: (1 - 1 / (1 + jnp.exp(x))) * t)
    for fn in (log1pexp, log1pexp2):
        with np.errstate(over="ignore"):
            g100 = grad(fn)(100.0)
            assert grad(fn)(1000.0) == 1.0
        got = [g100, jit(fn)(3.0), jit(grad(fn))(3.0)]
        assert np.allclose(got, GUIDE["log1pexp"][:3])
        assert np.allclose(vmap(jit(grad(fn)))(jnp.arange(3.0)), GUIDE["log1pexp"][3])


def test_enforcing_a_differentiation_convention():
    def f(x):
        return x / (1 + jnp.sqrt(x))

    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(grad(f)(0.0))

    @custom_jvp
    def f1(x):
        return x / (1 + jnp.sqrt(x))

    @f1.defjvp
    def f_jvp(primals, tangents):
        (x,) = primals
        (x_dot,) = tangents
        return f1(x), ((jnp.sqrt(x) + 2) / (2 * (jnp.sqrt(x) + 1) ** 2)) * x_dot

    @custom_jvp
    def f2(x):
        return x / (1 + jnp.sqrt(x))

    f2.defjvps(lambda t, ans, x: ((jnp.sqrt(x) + 2) / (2 * (jnp.sqrt(x) + 1) ** 2)) * t)
    assert grad(f1)(0.0) == 1.0 and grad(f2)(0.0) == 1.0
    x = 0.7
    fd = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6
    assert np.isclose(grad(f1)(x), fd) and np.isclose(grad(f2)(x), fd)


def test_gradient_clipping():
    @custom_vjp
    def clip_gradient(lo, hi, x):
        return x

    def clip_gradient_fwd(lo, hi, x):
        return x, (lo, hi)

    def clip_gradient_bwd(res, g):
        lo, hi = res
        return (None, None, jnp.clip(g, lo, hi))

    clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)

    def clip_sin(x):
        x = clip_gradient(-0.75, 0.75, x)
        return jnp.sin(x)

    t = jnp.linspace(0, 10, 50)
    assert np.allclose(vmap(grad(clip_sin))(t), GUIDE["clip_sin"])
    assert np.allclose(jit(vmap(grad(clip_sin)))(t), GUIDE["clip_sin"])
    assert np.allclose(clip_sin(t), np.sin(t))


# --- implicit differentiation of a fixed point ----------------------------------------------------
@partial(custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return jnp.abs(x_prev - x) > 1e-6

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)

    _, x_star = while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


def fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def fixed_point_rev(f, res, x_star_bar):
    a, x_star = res
    _, vjp_a = vjp(lambda a: f(a, x_star), a)
    (a_bar,) = vjp_a(fixed_point(partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar))
    return a_bar, jnp.zeros_like(x_star)


def rev_iter(f, packed, u):
    a, x_star, x_star_bar = packed
    _, vjp_x = vjp(lambda x: f(a, x), x_star)
    return x_star_bar + vjp_x(u)[0]


fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)


def newton_sqrt(a):
    update = lambda a, x: 0.5 * (x + a / x)  # noqa: E731
    return fixed_point(update, a, a)


def test_fixed_point_example():
    want = GUIDE["newton_sqrt"]
    assert np.isclose(newton_sqrt(2.0), want[0])
    assert np.allclose(jit(vmap(newton_sqrt))(jnp.array([1.0, 2.0, 3.0, 4.0])), want[1])
    assert np.isclose(grad(newton_sqrt)(2.0), want[2])
    assert np.isclose(grad(newton_sqrt)(2.0), grad(jnp.sqrt)(2.0))
    assert np.isclose(grad(grad(newton_sqrt))(2.0), want[3], rtol=1e-6)
    assert np.isclose(jit(grad(newton_sqrt))(2.0), want[2])


# --- basic usage ------------------------------------------------------------------------------
def test_custom_jvp_rule_used_in_reverse_mode_and_higher_order():
    @custom_jvp
    def f(x):
        return jnp.sin(x)

    def f_jvp(primals, tangents):
        (x,) = primals
        (t,) = tangents
        return f(x), jnp.cos(x) * t

    f.defjvp(f_jvp)
    assert np.isclose(jvp(f, (3.0,), (1.0,))[1], np.cos(3.0))
    assert np.isclose(grad(f)(3.0), np.cos(3.0))
    assert np.isclose(grad(grad(f))(3.0), -np.sin(3.0))


def test_defjvps_with_several_arguments_and_none():
    @custom_jvp
    def f(x, y):
        return x**2 * y

    f.defjvps(
        lambda x_dot, primal_out, x, y: 2 * x * y * x_dot,
        lambda y_dot, primal_out, x, y: x**2 * y_dot,
    )
    assert grad(f)(2.0, 3.0) == 12.0 and grad(f, 0)(2.0, 3.0) == 12.0
    assert grad(f, 1)(2.0, 3.0) == 4.0

    @custom_jvp
    def g(x, y):
        return x**2 * y

    g.defjvps(lambda x_dot, primal_out, x, y: 2 * x * y * x_dot, None)
    assert grad(g)(2.0, 3.0) == 12.0 and grad(g, 1)(2.0, 3.0) == 0.0
    with pytest.raises(TypeError, match="2 rules but the function has 1"):
        h = custom_jvp(lambda x: x)
        h.defjvps(None, None)
        grad(h)(1.0)


def test_rules_are_invoked_only_when_differentiating(capsys):
    @custom_jvp
    def f(x):
        print("called f!")
        return jnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        print("called f_jvp!")
        (x,) = primals
        (t,) = tangents
        return f(x), jnp.cos(x) * t

    assert np.isclose(f(3.0), np.sin(3.0))
    assert capsys.readouterr().out == "called f!\n"
    assert np.allclose(vmap(f)(jnp.arange(3.0)), np.sin(np.arange(3.0)))
    jit(f)(3.0)
    assert "f_jvp" not in capsys.readouterr().out
    assert np.isclose(grad(f)(3.0), np.cos(3.0))
    assert "called f_jvp!" in capsys.readouterr().out


def test_python_control_flow_in_rule():
    @custom_jvp
    def f(x):
        if x > 0:
            return jnp.sin(x)
        else:
            return jnp.cos(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,) = primals
        (x_dot,) = tangents
        ans = f(x)
        if x > 0:
            return ans, 2 * x_dot
        else:
            return ans, 3 * x_dot

    assert grad(f)(1.0) == 2.0 and grad(f)(-1.0) == 3.0


def test_custom_vjp_rules_and_forward_mode_error(capsys):
    @custom_vjp
    def f(x):
        print("called f!")
        return jnp.sin(x)

    def f_fwd(x):
        print("called f_fwd!")
        return f(x), jnp.cos(x)

    def f_bwd(cos_x, y_bar):
        print("called f_bwd!")
        return (cos_x * y_bar,)

    f.defvjp(f_fwd, f_bwd)
    f(3.0)
    assert capsys.readouterr().out == "called f!\n"
    assert np.isclose(grad(f)(3.0), np.cos(3.0))
    assert "called f_bwd!" in capsys.readouterr().out
    y, f_vjp = vjp(f, 3.0)
    assert np.isclose(y, np.sin(3.0)) and np.isclose(f_vjp(1.0)[0], np.cos(3.0))
    with pytest.raises(TypeError, match="forward-mode"):
        jvp(f, (3.0,), (1.0,))


Point = namedtuple("Point", ["x", "y"])


def test_pytrees_custom_jvp_and_custom_vjp():
    @custom_jvp
    def f(pt):
        x, y = pt.x, pt.y
        return {"a": x**2, "b": (jnp.sin(x), jnp.cos(y))}

    @f.defjvp
    def f_jvp(primals, tangents):
        (pt,) = primals
        (pt_dot,) = tangents
        ans = f(pt)
        ans_dot = {
            "a": 2 * pt.x * pt_dot.x,
            "b": (jnp.cos(pt.x) * pt_dot.x, -jnp.sin(pt.y) * pt_dot.y),
        }
        return ans, ans_dot

    @custom_vjp
    def fv(pt):
        x, y = pt.x, pt.y
        return {"a": x**2, "b": (jnp.sin(x), jnp.cos(y))}

    def f_bwd(pt, g):
        a_bar, (b0_bar, b1_bar) = g["a"], g["b"]
        return (Point(2 * pt.x * a_bar + jnp.cos(pt.x) * b0_bar, -jnp.sin(pt.y) * b1_bar),)

    fv.defvjp(lambda pt: (fv(pt), pt), f_bwd)
    for fn in (f, fv):
        g = grad(lambda pt: fn(pt)["a"] + fn(pt)["b"][0])(Point(1.0, 2.0))
        assert isinstance(g, Point)
        assert np.isclose(g.x, 2.0 + np.cos(1.0)) and g.y == 0.0


# --- nondiff_argnums ------------------------------------------------------------------------------
def test_custom_jvp_nondiff_argnums():
    @partial(custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def app_jvp(f, primals, tangents):
        (x,) = primals
        (x_dot,) = tangents
        return f(x), 2.0 * x_dot

    assert app(lambda x: x**3, 3.0) == 27.0
    assert grad(app, 1)(lambda x: x**3, 3.0) == 2.0

    @partial(custom_jvp, nondiff_argnums=(0, 2))
    def app2(f, x, g):
        return f(g(x))

    @app2.defjvp
    def app2_jvp(f, g, primals, tangents):
        (x,) = primals
        (x_dot,) = tangents
        return f(g(x)), 3.0 * x_dot

    assert app2(lambda x: x**3, 3.0, lambda y: 5 * y) == 3375.0
    assert grad(app2, 1)(lambda x: x**3, 3.0, lambda y: 5 * y) == 3.0
    assert jit(grad(app2, 1), static_argnums=(0, 2))(np.cbrt, 3.0, np.abs) == 3.0
    sq = lambda x: x * x  # noqa: E731
    assert np.allclose(vmap(lambda x: app(sq, x))(np.arange(3.0)), [0.0, 1.0, 4.0])


def test_custom_jvp_nondiff_argnums_with_defjvps():
    @partial(custom_jvp, nondiff_argnums=(1,))
    def scale(x, k):
        return x * k

    scale.defjvps(lambda t, ans, x: 10.0 * t)  # one rule: one differentiable argument
    assert grad(scale)(2.0, 3) == 10.0 and scale(2.0, 3) == 6.0


def test_custom_vjp_nondiff_argnums():
    @partial(custom_vjp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    app.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,))
    assert app(lambda x: x**2, 4.0) == 16.0
    assert grad(app, 1)(lambda x: x**2, 4.0) == 5.0
    assert np.allclose(vmap(grad(lambda x: app(jnp.square, x)))(np.ones(3)), 5.0)


def test_nondiff_argnums_refuses_traced_values():
    @partial(custom_vjp, nondiff_argnums=(0,))
    def f(k, x):
        return k * x

    f.defvjp(lambda k, x: (k * x, None), lambda k, res, g: (k * g,))
    with pytest.raises(TypeError, match="nondiff_argnums is for non-array values"):
        grad(f)(2.0, 3.0)


def test_keyword_arguments_and_defaults_map_to_positions():
    @custom_jvp
    def f(x, y=2.0):
        return x * y

    f.defjvp(lambda p, t: (f(*p), t[0] * p[1] + p[0] * t[1]))
    assert f(3.0) == 6.0 and f(3.0, y=4.0) == 12.0
    assert grad(lambda x: f(x, y=4.0))(3.0) == 4.0
    assert grad(f, 0)(3.0) == 2.0

    @custom_vjp
    def g(x, scale=3.0):
        return x * scale

    g.defvjp(lambda x, scale: (x * scale, scale), lambda s, ct: (ct * s, None))
    assert grad(lambda x: g(x, scale=5.0))(1.0) == 5.0 and grad(g)(1.0) == 3.0


def test_symbolic_zeros_is_refused_clearly():
    f = custom_jvp(lambda x: x)
    with pytest.raises(NotImplementedError, match="symbolic_zeros"):
        f.defjvp(lambda p, t: (p[0], t[0]), symbolic_zeros=True)


def test_custom_rules_under_vmap_and_jit_against_closed_forms():
    @custom_jvp
    def softplus(x):
        return jnp.log1p(jnp.exp(x))

    softplus.defjvps(lambda t, ans, x: t / (1.0 + jnp.exp(-x)))

    @custom_vjp
    def cube(x):
        return x**3

    cube.defvjp(lambda x: (x**3, x), lambda x, g: (3.0 * x**2 * g,))
    X = np.linspace(-2.0, 2.0, 5)
    sig = 1.0 / (1.0 + np.exp(-X))
    for tr in (lambda f: f, jit, lambda f: jit(jit(f))):
        assert np.allclose(tr(vmap(grad(softplus)))(X), sig)
        assert np.allclose(tr(vmap(grad(cube)))(X), 3 * X**2)
        assert np.allclose(tr(grad(lambda x: vmap(cube)(x).sum()))(X), 3 * X**2)
        assert np.allclose(tr(vmap(vmap(grad(softplus))))(X.reshape(1, 5)), sig.reshape(1, 5))
    # jvp of a vmapped custom_jvp function, and its second derivative
    assert np.allclose(jvp(vmap(softplus), (X,), (np.ones(5),))[1], sig)
    assert np.allclose(vmap(grad(grad(softplus)))(X), sig * (1 - sig))
    assert np.allclose(functools.reduce(lambda f, _: grad(f), range(1), softplus)(0.0), 0.5)
