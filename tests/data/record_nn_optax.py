"""Record ``nn_optax_reference.json`` from JAX and optax (run with the scratch venv, never in
tests):

    /work/venvs/ref/bin/python tests/data/record_nn_optax.py

The expressions are in ``nn_optax_cases.py``; funcgrad's default float is float64, so JAX runs
with x64 on.
"""

import json
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import nn_optax_cases as C  # noqa: E402

N = jax.nn
I = jax.nn.initializers  # noqa: E741
O = optax  # noqa: E741


def flat(x):
    a = np.asarray(x)
    out = {"shape": list(a.shape), "dtype": str(a.dtype)}
    if a.dtype.kind == "c":
        out["real"] = a.real.ravel().tolist()
        out["imag"] = a.imag.ravel().tolist()
    else:
        out["values"] = a.ravel().astype(float).tolist()
    return out


def env(**extra):
    e = {k: getattr(C, k) for k in dir(C) if not k.startswith("_")}
    e.update(N=N, I=I, O=O, np=np, **extra)
    return e


def weights_like(out):
    return C.W2.ravel()[: out.size].reshape(out.shape) if out.size <= C.W2.size else None


rec = {
    "generator": f"jax {jax.__version__}, optax {optax.__version__}, x64 on",
    "elementwise": {},
    "array": {},
    "one_hot": {},
    "attention": {},
    "initializers": {},
    "optimizers": {},
    "schedules": {},
}

for name, src in C.ELEMENTWISE.items():
    f = lambda x, src=src: eval(src, env(x=x))  # noqa: E731
    x = jnp.asarray(C.X)
    rec["elementwise"][name] = {
        "value": flat(f(x)),
        "grad": flat(jax.grad(lambda x: jnp.sum(f(x)))(x)),
    }

for name, src in C.POSITIVE.items():
    f = lambda x, src=src: eval(src, env(x=x))  # noqa: E731
    x = jnp.asarray(C.XPOS)
    rec["elementwise"][name] = {
        "value": flat(f(x)),
        "grad": flat(jax.grad(lambda x: jnp.sum(f(x)))(x)),
    }

for name, src in {**C.ARRAY, **C.NO_GRAD}.items():
    f = lambda x, src=src: eval(src, env(x=x))  # noqa: E731
    out = np.asarray(f(jnp.asarray(C.X2)))
    entry = {"value": flat(out)}
    if name in C.ARRAY:
        w = weights_like(out)
        entry["grad"] = flat(jax.grad(lambda x: jnp.sum(f(x) * w))(jnp.asarray(C.X2)))
    rec["array"][name] = entry

for name, src in C.ONE_HOT.items():
    rec["one_hot"][name] = flat(eval(src, env()))

for name, src in C.ATTENTION.items():

    def f(q, k, v, src=src):
        out = eval(src, env(q=q, k=k, v=v))
        return out

    out = f(C.Q, C.K, C.V)
    entry = {}
    if isinstance(out, tuple):
        entry["residual"] = flat(out[1])
        out = out[0]
        g = lambda q, k, v: f(q, k, v)[0]  # noqa: E731
    else:
        g = f
    w = C.WOUT.ravel()[: np.size(out)].reshape(np.shape(out))
    grads = jax.grad(lambda q, k, v: jnp.sum(g(q, k, v) * w), argnums=(0, 1, 2))(C.Q, C.K, C.V)
    entry["value"] = flat(out)
    entry["grads"] = [flat(x) for x in grads]
    rec["attention"][name] = entry

for seed in C.SEEDS:
    key = jax.random.PRNGKey(seed)
    rec["initializers"][str(seed)] = {
        name: flat(eval(src, env(key=key))) for name, src in C.INITIALIZERS.items()
    }

for name, (src, grads_name) in C.OPTIMIZERS.items():
    opt = eval(src, env())
    grads = getattr(C, grads_name)
    params = {k: jnp.asarray(v) for k, v in C.PARAMS.items()}
    state = opt.init(params)
    steps = []
    for t, g in enumerate(grads):
        if name in C.INJECT_CHANGE and t == 3:
            hp, value = C.INJECT_CHANGE[name]
            state.hyperparams[hp] = jnp.asarray(value)
        updates, state = opt.update({k: jnp.asarray(v) for k, v in g.items()}, state, params)
        params = optax.apply_updates(params, updates)
        steps.append({k: flat(v) for k, v in updates.items()})
    rec["optimizers"][name] = {"updates": steps, "params": {k: flat(v) for k, v in params.items()}}
rec["global_norm"] = float(optax.global_norm(C.GRADS[0]))

for name, src in C.SCHEDULES.items():
    s = eval(src, env())
    # a float64 count: JAX divides an int32 count in float32 (jnp.true_divide of int32 is
    # float32 even with x64 on), which would round the reference to float32 precision
    rec["schedules"][name] = [float(s(jnp.asarray(i, jnp.float64))) for i in C.SCHEDULE_STEPS]

out_path = os.path.join(os.path.dirname(__file__), "nn_optax_reference.json")
with open(out_path, "w") as fh:
    json.dump(rec, fh, indent=None, separators=(",", ":"))
print("wrote", out_path, os.path.getsize(out_path), "bytes")
