# ruff: noqa: E402
"""Records the reference outputs of tests/test_compat_*.py and tests/ports/ from JAX and
autograd. Run once, in a scratch environment that has jax, autograd and scipy:

    /work/venvs/ref/bin/python tests/data/record_compat_reference.py AUTOGRAD_EXAMPLES JAX_EXAMPLES

AUTOGRAD_EXAMPLES holds HIPS/autograd's examples/*.py; JAX_EXAMPLES holds JAX's
examples/newton_method.py and examples/bfgs_method.py (at the commits named in
tests/ports/jax_*.py). JAX runs with x64 enabled: funcgrad computes in float64.

It writes tests/data/compat_reference.json. The tests only read that file; they never import
jax or autograd."""

import contextlib
import io
import json
import os
import runpy
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as onp

jax.config.update("jax_enable_x64", True)

import autograd
import autograd.numpy as anp
from autograd.misc import flatten as ag_flatten
from autograd.misc import optimizers as ag_opt
from jax.example_libraries import optimizers as jopt

OUT: dict = {}


def lst(x):
    return onp.asarray(x, dtype=onp.float64).tolist()


# --- autograd examples: their printed output -------------------------------------------------
try:
    import matplotlib  # noqa: F401
except ImportError:  # the plots do not matter here: a stand-in that accepts every call
    import types

    class _Anything:
        def __getattr__(self, name):
            return lambda *a, **k: None

    sys.modules["matplotlib"] = types.ModuleType("matplotlib")
    sys.modules["matplotlib.pyplot"] = _Anything()
examples = Path(sys.argv[1])
stdout = {}
for name in ("fixed_points", "logistic_regression", "rosenbrock", "sinusoid"):
    buf = io.StringIO()
    with tempfile.TemporaryDirectory() as d, contextlib.redirect_stdout(buf):
        cwd = os.getcwd()
        os.chdir(d)
        os.environ["MPLBACKEND"] = "Agg"
        try:
            runpy.run_path(str(examples / f"{name}.py"), run_name="__main__")
        finally:
            os.chdir(cwd)
    stdout[name] = buf.getvalue()
OUT["autograd_example_stdout"] = stdout

jax_examples = Path(sys.argv[2])
sys.path.insert(0, str(jax_examples))
jax_stdout = {}
for name in ("newton_method", "bfgs_method"):
    sys.modules.pop("newton_method", None)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        runpy.run_path(str(jax_examples / f"{name}.py"), run_name="__main__")
    jax_stdout[name] = buf.getvalue()
OUT["jax_example_stdout"] = jax_stdout

# define_gradient's logsumexp and tanh's elementwise derivatives at fixed points
ns = runpy.run_path(str(examples / "define_gradient.py"), run_name="not_main")
x = onp.linspace(-1.0, 2.0, 10)
OUT["define_gradient_grad"] = lst(autograd.grad(lambda y: anp.sum(ns["logsumexp"](y**2)))(x))
tanh = lambda x: (1.0 - anp.exp(-2 * x)) / (1.0 + anp.exp(-(2 * x)))  # noqa: E731
x = onp.linspace(-3.0, 3.0, 7)
f, derivs = tanh, []
for _ in range(4):
    f = autograd.elementwise_grad(f)
    derivs.append(lst(f(x)))
OUT["tanh_derivatives"] = derivs

# --- autograd top level and misc ---------------------------------------------------------------
X = onp.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
OUT["ag_jacobian"] = lst(autograd.jacobian(lambda x: anp.tanh(x) * anp.sum(x**2))(X))
OUT["ag_jacobian_argnum1"] = lst(autograd.jacobian(lambda a, b: a * anp.sin(b), 1)(2.0, X[0]))
OUT["ag_egrad"] = lst(autograd.elementwise_grad(lambda x: anp.sin(x) * x**2)(X))
tree = {"b": [onp.array([1.0, 2.0]), 3.0], "a": onp.array([[4.0, 5.0], [6.0, 7.0]])}
flat, unflatten = ag_flatten(tree)
OUT["ag_flatten"] = lst(flat)


def objective(p, i):
    return anp.sum((p["w"] - 1.5) ** 2) + anp.sum(anp.cos(p["b"]) * (i + 1) * 0.1)


g = autograd.grad(objective)
for name, kw in (
    ("sgd", {"step_size": 0.1}),
    ("rmsprop", {"step_size": 0.05}),
    ("adam", {"step_size": 0.1}),
):
    log = []
    res = getattr(ag_opt, name)(
        g,
        {"w": onp.array([0.0, 3.0]), "b": onp.array([0.3])},
        callback=lambda p, i, gr: log.append([i, lst(p["w"]), lst(gr["b"])]),
        num_iters=25,
        **kw,
    )
    OUT[f"ag_opt_{name}"] = {"w": lst(res["w"]), "b": lst(res["b"]), "log": log}

# --- JAX: guide to custom derivative rules ----------------------------------------------------
guide = {}


@jax.custom_jvp
def f(x, y):
    return jnp.sin(x) * y


f.defjvps(
    lambda x_dot, primal_out, x, y: jnp.cos(x) * x_dot * y,
    lambda y_dot, primal_out, x, y: jnp.sin(x) * y_dot,
)
y, y_dot = jax.jvp(f, (2.0, 3.0), (1.0, 0.0))
guide["defjvps_f"] = [float(f(2.0, 3.0)), float(y), float(y_dot), float(jax.grad(f)(2.0, 3.0))]


@jax.custom_jvp
def log1pexp(x):
    return jnp.log(1.0 + jnp.exp(x))


log1pexp.defjvps(lambda t, ans, x: (1 - 1 / (1 + jnp.exp(x))) * t)
guide["log1pexp"] = [
    float(jax.grad(log1pexp)(100.0)),
    float(jax.jit(log1pexp)(3.0)),
    float(jax.jit(jax.grad(log1pexp))(3.0)),
    lst(jax.vmap(jax.jit(jax.grad(log1pexp)))(jnp.arange(3.0))),
]


@jax.custom_vjp
def clip_gradient(lo, hi, x):
    return x


clip_gradient.defvjp(
    lambda lo, hi, x: (x, (lo, hi)), lambda res, g: (None, None, jnp.clip(g, res[0], res[1]))
)
t = jnp.linspace(0, 10, 50)
guide["clip_sin"] = lst(jax.vmap(jax.grad(lambda x: jnp.sin(clip_gradient(-0.75, 0.75, x))))(t))


def fixed_point_impl(f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return jnp.abs(x_prev - x) > 1e-6

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)

    _, x_star = jax.lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


fixed_point = jax.custom_vjp(fixed_point_impl, nondiff_argnums=(0,))


def rev_iter(f, packed, u):
    a, x_star, x_star_bar = packed
    _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
    return x_star_bar + vjp_x(u)[0]


def fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def fixed_point_rev(f, res, x_star_bar):
    import functools

    a, x_star = res
    _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
    (a_bar,) = vjp_a(
        fixed_point(functools.partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar)
    )
    return a_bar, jnp.zeros_like(x_star)


fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)


def newton_sqrt(a):
    return fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


guide["newton_sqrt"] = [
    float(newton_sqrt(2.0)),
    lst(jax.jit(jax.vmap(newton_sqrt))(jnp.array([1.0, 2.0, 3.0, 4.0]))),
    float(jax.grad(newton_sqrt)(2.0)),
    float(jax.grad(jax.grad(newton_sqrt))(2.0)),
]
OUT["guide"] = guide

# --- JAX: top-level transforms ------------------------------------------------------------------
g2 = lambda x, y: jnp.sum(jnp.sin(x) * y**3)  # noqa: E731
xv, yv = jnp.array([0.3, -1.2]), jnp.array([0.7, 2.0])
v, (gx, gy) = jax.value_and_grad(g2, argnums=(0, 1))(xv, yv)
OUT["value_and_grad_tuple"] = [float(v), lst(gx), lst(gy)]
H = jax.hessian(g2, argnums=(0, 1))(xv, yv)
OUT["hessian_two_args"] = [[lst(H[i][j]) for j in range(2)] for i in range(2)]
y, f_jvp = jax.linearize(lambda x: jnp.sin(x) * jnp.exp(x), xv)
OUT["linearize"] = [lst(y), lst(f_jvp(jnp.array([1.0, 0.5])))]
f_t = jax.linear_transpose(lambda x, y: (2.0 * x + y[::-1], jnp.sum(x)), jnp.zeros(2), jnp.zeros(2))
ct = f_t((jnp.array([1.0, 2.0]), 3.0))
OUT["linear_transpose"] = [lst(ct[0]), lst(ct[1])]
es = jax.eval_shape(
    lambda a, b: {"m": a @ b, "s": a.sum(0)},
    jax.ShapeDtypeStruct((2, 3), jnp.float32),
    jnp.ones((3, 4)),
)
OUT["eval_shape"] = {k: [list(v.shape), str(v.dtype)] for k, v in es.items()}

# --- JAX: tree_util -------------------------------------------------------------------------------
from collections import namedtuple

P = namedtuple("P", ["x", "y"])
tree = {"b": [1.0, (2.0, None)], "a": P(3.0, {"k": 4.0})}
OUT["tree_paths"] = [
    jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]
]
OUT["tree_transpose"] = jax.tree_util.tree_transpose(
    jax.tree_util.tree_structure([0, 0, 0]),
    jax.tree_util.tree_structure((0, 0)),
    [(1, 2), (3, 4), (5, 6)],
)


# --- JAX: example_libraries.optimizers -----------------------------------------------------------
def loss(p):
    return jnp.sum(
        (p["w"] - jnp.array([1.0, -2.0, 0.5])) ** 2 * jnp.array([1.0, 3.0, 0.5])
    ) + jnp.sum(p["m"] ** 4)


params0 = {"w": jnp.array([0.5, 0.1, -1.0]), "m": jnp.array([[0.5, -0.3], [0.2, 0.9]])}
sched = jopt.exponential_decay(0.1, 5, 0.7)
runs = {
    "sgd": jopt.sgd(sched),
    "momentum": jopt.momentum(0.05, 0.9),
    "nesterov": jopt.nesterov(0.05, 0.8),
    "adagrad": jopt.adagrad(0.2),
    "rmsprop": jopt.rmsprop(0.05),
    "rmsprop_momentum": jopt.rmsprop_momentum(0.02),
    "adam": jopt.adam(jopt.inverse_time_decay(0.1, 4, 0.5, staircase=True)),
    "adamax": jopt.adamax(0.1),
    "sm3": jopt.sm3(0.1),
}
res = {}
for name, (init, update, get_params) in runs.items():
    state = init(params0)
    for i in range(12):
        state = update(i, jax.grad(loss)(get_params(state)), state)
    p = get_params(state)
    res[name] = {"w": lst(p["w"]), "m": lst(p["m"])}
OUT["jax_optimizers"] = res
OUT["jax_schedules"] = {
    "exponential_decay": [float(jopt.exponential_decay(0.1, 5, 0.7)(i)) for i in range(0, 20, 3)],
    "inverse_time_decay": [float(jopt.inverse_time_decay(0.1, 4, 0.5)(i)) for i in range(0, 20, 3)],
    "inverse_time_decay_stair": [
        float(jopt.inverse_time_decay(0.1, 4, 0.5, True)(i)) for i in range(0, 20, 3)
    ],
    "polynomial_decay": [
        float(jopt.polynomial_decay(0.1, 10, 0.01, 2.0)(i)) for i in range(0, 20, 3)
    ],
    "piecewise_constant": [
        float(jopt.piecewise_constant([3, 9], [0.1, 0.05, 0.01])(i)) for i in range(0, 20, 3)
    ],
}
gt = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([[12.0]])}
OUT["jax_l2_norm"] = float(jopt.l2_norm(gt))
OUT["jax_clip_grads"] = {k: lst(v) for k, v in jopt.clip_grads(gt, 5.0).items()}

# --- JAX: callbacks -------------------------------------------------------------------------------
buf = io.StringIO()


def h(x):
    jax.debug.print("x = {}", x)
    jax.debug.print("x = {x}", x=x * 2)
    return x


with contextlib.redirect_stdout(buf):
    jax.vmap(h)(jnp.arange(2.0))
    jax.effects_barrier()
    jax.jit(h)(jnp.arange(2.0))
    jax.effects_barrier()
    jax.grad(lambda x: h(x).sum())(jnp.arange(2.0))
    jax.effects_barrier()
OUT["debug_print"] = buf.getvalue()
pc = lambda x: jax.pure_callback(
    lambda a: onp.sin(a) * onp.arange(a.shape[-1]),
    jax.ShapeDtypeStruct(x.shape, x.dtype),
    x,
    vmap_method="sequential",
)  # noqa: E731
OUT["pure_callback_vmap"] = lst(jax.vmap(pc)(jnp.arange(6.0).reshape(2, 3)))

# --- JAX: example_libraries.stax ------------------------------------------------------------------
from jax.example_libraries import stax

net_init, net_apply = stax.serial(
    stax.Conv(4, (3, 3), padding="SAME"),
    stax.BatchNorm(),
    stax.Relu,
    stax.MaxPool((2, 2), strides=(2, 2)),
    stax.Conv(3, (2, 2), strides=(1, 2), padding="VALID"),
    stax.Tanh,
    stax.AvgPool((2, 2), strides=(1, 1), padding="SAME"),
    stax.FanOut(2),
    stax.parallel(stax.Identity, stax.serial(stax.Elu, stax.LeakyRelu, stax.Selu)),
    stax.FanInConcat(-1),
    stax.Flatten,
    stax.Dense(5),
    stax.Gelu,
    stax.FanOut(2),
    stax.parallel(stax.Softplus, stax.Sigmoid),
    stax.FanInSum,
    stax.Dense(3),
    stax.LogSoftmax,
)
out_shape, net_params = net_init(jax.random.PRNGKey(0), (2, 8, 8, 2))
xin = jnp.asarray(onp.sin(onp.arange(2 * 8 * 8 * 2).reshape(2, 8, 8, 2) * 0.37))
net_out = net_apply(net_params, xin)
net_grad = jax.grad(lambda p: jnp.sum(net_apply(p, xin)[:, 0]))(net_params)
gconv_init, gconv_apply = stax.GeneralConv(
    ("NCHW", "OIHW", "NCHW"), 2, (2, 3), strides=(2, 1), padding=((1, 0), (0, 2))
)
gshape, gparams = gconv_init(jax.random.PRNGKey(3), (1, 3, 5, 4))
gout = gconv_apply(gparams, jnp.asarray(onp.cos(onp.arange(60.0)).reshape(1, 3, 5, 4)))
d_init, d_apply = stax.serial(stax.Dense(4), stax.Dropout(0.7))
_, dparams = d_init(jax.random.PRNGKey(1), (3, 2))
dout = d_apply(dparams, jnp.ones((3, 2)), rng=jax.random.PRNGKey(5))
OUT["stax"] = {
    "out_shape": [int(d) for d in out_shape],
    "params": [lst(x) for x in jax.tree_util.tree_leaves(net_params)],
    "out": lst(net_out),
    "grad": [lst(x) for x in jax.tree_util.tree_leaves(net_grad)],
    "gconv_shape": [int(d) for d in gshape],
    "gconv_params": [lst(x) for x in gparams],
    "gconv_out": lst(gout),
    "dropout_out": lst(dout),
}

# --- JAX: jax.nn activations (values and derivatives, kinks included) -----------------------------
xs_act = jnp.array([-7.0, -3.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0, 6.0, 7.0])
acts = {}
for name in (
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_tanh",
    "elu",
    "celu",
    "selu",
    "leaky_relu",
    "soft_sign",
    "sparse_plus",
    "squareplus",
    "mish",
):
    fn = getattr(jax.nn, name)
    acts[name] = [lst(fn(xs_act)), lst(jax.vmap(jax.grad(fn))(xs_act))]
acts["celu_alpha2"] = [
    lst(jax.nn.celu(xs_act, alpha=2.0)),
    lst(jax.vmap(jax.grad(lambda x: jax.nn.celu(x, alpha=2.0)))(xs_act)),
]
m_act = xs_act.reshape(3, 4)
wts = jnp.arange(12.0).reshape(3, 4)
acts["glu"] = [
    lst(jax.nn.glu(m_act)),
    lst(jax.grad(lambda m: jnp.sum(jax.nn.glu(m) * wts[:, :2]))(m_act)),
]
acts["standardize"] = [
    lst(jax.nn.standardize(m_act)),
    lst(jax.grad(lambda m: jnp.sum(jax.nn.standardize(m) * wts))(m_act)),
]
xm = jnp.array([[0.5, -1.0, 2.0, 3.0], [1.0, 1.0, -2.0, 0.0]])
mask = jnp.array([[True, True, False, True], [False, True, True, True]])
wm = jnp.arange(8.0).reshape(2, 4)
acts["softmax_where"] = [
    lst(jax.nn.softmax(xm, where=mask)),
    lst(jax.grad(lambda x: jnp.sum(jax.nn.softmax(x, where=mask) * wm))(xm)),
]
acts["log_softmax_where"] = [
    lst(jax.nn.log_softmax(xm, where=mask)),
    lst(
        jax.grad(lambda x: jnp.sum(jnp.where(mask, jax.nn.log_softmax(x, where=mask), 0) * wm))(xm)
    ),
]
acts["one_hot_axis1"] = lst(jax.nn.one_hot(jnp.array([[0, 2], [1, 1]]), 3, axis=1))
rs = onp.random.default_rng(0)
qa, ka, va = (
    rs.normal(size=(2, 3, 4, 5)),
    rs.normal(size=(2, 6, 2, 5)),
    rs.normal(size=(2, 6, 2, 5)),
)
ba, ma = rs.normal(size=(2, 4, 3, 6)), rs.random((2, 4, 3, 6)) > 0.3
ma[..., 0] = True
att = jax.nn.dot_product_attention


def att_loss(q, k, v):
    return jnp.sum(att(q, k, v, bias=ba, mask=ma, is_causal=True) * jnp.arange(5.0))


acts["attention"] = [
    lst(att(qa, ka, va)),
    lst(att(qa, ka, va, bias=ba, mask=ma, is_causal=True)),
    lst(att(qa[0], ka[0], va[0], scale=0.3)),
    lst(att(qa, ka, va, key_value_seq_lengths=jnp.array([2, 5], dtype=jnp.int32))),
    [lst(g) for g in jax.grad(att_loss, argnums=(0, 1, 2))(qa, ka, va)],
]
OUT["nn_activations"] = acts

# --- JAX: jax.nn.initializers ------------------------------------------------------------------
ini = jax.nn.initializers
k0 = jax.random.PRNGKey(7)
inits = {
    "constant": ini.constant(0.3)(k0, (2, 3)),
    "uniform": ini.uniform(0.5)(k0, (3, 4)),
    "normal": ini.normal(0.2)(k0, (3, 4)),
    "truncated_normal": ini.truncated_normal(0.2, lower=-1.0, upper=1.5)(k0, (3, 4)),
    "glorot_uniform": ini.glorot_uniform()(k0, (5, 4)),
    "glorot_normal": ini.glorot_normal()(k0, (3, 3, 2, 4)),
    "lecun_uniform": ini.lecun_uniform()(k0, (6, 2)),
    "lecun_normal": ini.lecun_normal()(k0, (6, 2)),
    "he_uniform": ini.he_uniform()(k0, (4, 5)),
    "he_normal": ini.he_normal(in_axis=0, out_axis=1)(k0, (4, 5)),
    "variance_scaling_fan_out_normal": ini.variance_scaling(0.5, "fan_out", "normal", batch_axis=0)(
        k0, (2, 3, 4)
    ),
    "orthogonal": ini.orthogonal()(k0, (4, 6)),
    "orthogonal_tall": ini.orthogonal(scale=2.0, column_axis=0)(k0, (3, 2, 5)),
    "delta_orthogonal": ini.delta_orthogonal()(k0, (3, 3, 2, 3)),
}
OUT["nn_initializers"] = {k: lst(v) for k, v in inits.items()}

# --- optax: transformations and schedules -------------------------------------------------------
import optax

p_opt = {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array([[0.1, 0.0]])}


def grads_at(i):
    return {
        "w": jnp.array([0.3, -0.2, 0.1]) * (i + 1) - 0.05 * i * i,
        "b": jnp.array([[-0.4 + 0.1 * i, 0.0 if i % 2 else 0.2]]),
    }


ox = {
    "scale": optax.scale(-0.3),
    "scale_by_adam": optax.scale_by_adam(eps_root=1e-6),
    "scale_by_schedule": optax.scale_by_schedule(optax.linear_schedule(1.0, 0.1, 3)),
    "add_decayed_weights": optax.add_decayed_weights(0.1),
    "clip": optax.clip(0.25),
    "set_to_zero": optax.set_to_zero(),
    "adagrad": optax.adagrad(0.1),
    "adamax": optax.adamax(0.05),
    "adam_kw": optax.adam(learning_rate=0.05),
    "sgd_kw": optax.sgd(learning_rate=0.1, momentum=0.9, nesterov=True),
    "chain": optax.chain(optax.clip(0.3), optax.adamax(0.02)),
    "lion": optax.lion(0.05, weight_decay=0.01),
    "ema": optax.ema(0.8),
    "masked": optax.masked(optax.adam(0.1), {"w": True, "b": False}),
    "multi_transform": optax.multi_transform(
        {"fast": optax.adam(0.1), "slow": optax.sgd(0.01)}, {"w": "fast", "b": "slow"}
    ),
}
ox_out = {}
for name, tx in ox.items():
    params = p_opt
    state = tx.init(params)
    for i in range(5):
        updates, state = tx.update(grads_at(i), state, params)
        params = optax.apply_updates(params, updates)
    ox_out[name] = {k: lst(v) for k, v in params.items()}
steps = list(range(0, 30, 3))
sched = {
    "linear": optax.linear_schedule(0.1, 0.01, 10, transition_begin=3),
    "cosine": optax.cosine_decay_schedule(0.1, 20, alpha=0.1, exponent=2.0),
    "warmup_cosine": optax.warmup_cosine_decay_schedule(0.0, 0.2, 5, 25, end_value=0.02),
    "piecewise": optax.piecewise_constant_schedule(0.1, {6: 0.5, 15: 0.1}),
    "join": optax.join_schedules(
        [optax.constant_schedule(0.3), optax.linear_schedule(0.3, 0.0, 10)], [9]
    ),
}
OUT["optax"] = {
    "transforms": ox_out,
    "schedules": {k: [float(f(i)) for i in steps] for k, f in sched.items()},
}
zn = optax.zero_nans()
u, st = zn.update({"a": jnp.array([1.0, jnp.nan])}, zn.init({"a": jnp.zeros(2)}))
OUT["optax"]["zero_nans"] = [lst(u["a"]), bool(st.found_nan["a"])]
aif = optax.apply_if_finite(optax.adam(0.1), 1)
pa, sa = {"a": jnp.array([1.0, 2.0])}, None
sa = aif.init(pa)
aif_log = []
for g in ([0.5, 0.5], [jnp.nan, 1.0], [jnp.inf, 1.0], [0.3, -0.3], [jnp.nan, 0.0]):
    u, sa = aif.update({"a": jnp.array(g)}, sa, pa)
    pa = optax.apply_updates(pa, u)
    aif_log.append(
        [lst(pa["a"]), int(sa.notfinite_count), bool(sa.last_finite), int(sa.total_notfinite)]
    )
OUT["optax"]["apply_if_finite"] = aif_log

path = Path(__file__).with_name("compat_reference.json")
path.write_text(json.dumps(OUT, indent=1, default=list) + "\n")
print("wrote", path)
