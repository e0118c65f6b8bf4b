"""Record JAX's answers for the complex-number and edge-value tests (tests/test_complex*.py).

Run with the scratch venv that has JAX (the tests never import JAX):

    /work/venvs/ref/bin/python tests/data/record_complex_refs.py

Each case is an expression in ``np`` (bound to ``jax.numpy`` here and to ``funcgrad.numpy`` in
the tests), the variable ``z`` (the differentiated argument) and the named constants below; the
JSON stores the inputs and JAX's outputs, complex values as ``[real, imag]`` pairs.
"""

from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(13)
A = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
b = rng.normal(size=3) + 1j * rng.normal(size=3)
M = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)) + 3 * np.eye(3)
zv = rng.normal(size=3) + 1j * rng.normal(size=3)
xv = rng.normal(size=3)
CONSTS = {"A": A, "b": b}


def enc(x):
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return {"re": x.real.tolist(), "im": x.imag.tolist(), "dtype": str(x.dtype)}
    return {"re": x.tolist(), "dtype": str(x.dtype)}


def fn(expr):
    env = {"np": jnp, **{k: jnp.asarray(v) for k, v in CONSTS.items()}}
    return lambda z: eval(expr, env, {"z": z})  # noqa: S307 - our own expressions


GRAD = [  # f: C -> R or R -> R through complex intermediates
    ("np.abs(z) ** 2", 3 + 4j),
    ("np.real(z * z)", 3 + 4j),
    ("np.abs(z)", 3 + 4j),
    ("np.angle(z)", 1 + 2j),
    ("np.imag(np.exp(z))", 0.3 + 0.7j),
    ("np.real(np.conj(z) * np.sin(z))", 0.3 + 0.7j),
    ("np.real(np.conjugate(z) ** 3)", 0.5 - 0.2j),
    ("np.real(np.log(z) * np.sqrt(z))", 1.2 + 0.4j),
    ("np.imag(np.power(z, 2.5))", 1.2 + 0.4j),
    ("np.imag(np.power(z, z))", 1.2 + 0.4j),
    ("np.abs(np.tanh(z)) ** 2", 0.3 - 0.8j),
    ("np.sum(np.abs(np.sin(z) * np.conj(z)))", zv),
    ("np.sum(np.real(np.cumsum(z) * np.conj(z)))", zv),
    ("np.real(np.prod(z))", zv),
    ("np.abs(np.mean(z * z))", zv),
    ("np.sum(np.abs(A @ z) ** 2)", zv),
    ("np.real(np.dot(z, A @ z))", zv),
    ("np.imag(np.einsum('ij,j,i->', A, z, z))", zv),
    ("np.sum(np.abs(np.cos(z)))", zv),
    ("np.sum(np.abs(z * 1j))", xv),
    ("np.sum(np.abs(z * (1 + 1j)))", xv),
    ("np.sum(np.abs(A @ z) ** 2)", xv),
    ("np.real(np.sum(np.exp(1j * z)))", xv),
    ("np.sum(np.angle(z + 1j))", xv),
    ("np.sum(np.abs(z - b) ** 2)", xv),
    ("np.abs(np.linalg.det(z.reshape(3, 1) * A + np.eye(3)))", zv),
    ("np.real(np.sum(np.linalg.inv(A + z.reshape(3, 1))))", zv),
    ("np.sum(np.abs(np.linalg.solve(A + np.diag(z), b)))", zv),
    ("np.linalg.slogdet(A + np.diag(z))[1]", zv),
    ("np.imag(np.linalg.slogdet(A + np.diag(z))[0])", zv),
    ("np.linalg.norm(z)", zv),
    ("np.linalg.norm(A * z, 'fro')", zv),
    ("np.linalg.norm(A * z, 1)", zv),
    ("np.linalg.norm(z, 3)", zv),
    ("np.real(np.linalg.det(A * z))", xv),
]
HOLO_GRAD = [
    ("z * z", 3 + 4j),
    ("np.exp(z) * np.sin(z)", 0.3 + 0.7j),
    ("np.sum(z ** 3)", zv),
    ("np.linalg.det(A + np.diag(z))", zv),
    ("np.sum(np.linalg.solve(A + np.diag(z), b))", zv),
    ("np.sum(np.linalg.inv(A + np.diag(z)))", zv),
]
HOLO_JAC = [
    ("np.sin(z) * z", zv),
    ("A @ z", zv),
    ("np.cumsum(z) * np.tanh(z)", zv),
]
JAC_REAL_TO_COMPLEX = [  # jacfwd accepts a real input with a complex output (as JAX)
    ("np.exp(1j * z) * z", xv),
]
VJP = [  # (expr, primal, cotangent)
    ("z * z", 3 + 4j, 1.0),
    ("z * z", 3 + 4j, 1 - 2j),
    ("np.conj(z)", 3 + 4j, 1 + 2j),
    ("np.real(z)", 3 + 4j, 2.0),
    ("np.imag(z)", 3 + 4j, 2.0),
    ("np.abs(z)", 3 + 4j, 2.0),
    ("np.angle(z)", 3 + 4j, 2.0),
    ("np.abs(z)", 0j, 1.0),
    ("np.exp(z) * np.conj(z)", zv, b),
    ("z * 1j", xv, b),
]
JVP = [  # (expr, primal, tangent)
    ("z * z", 3 + 4j, 1 - 2j),
    ("np.conj(z)", 3 + 4j, 1 + 2j),
    ("np.real(z)", 3 + 4j, 1 + 2j),
    ("np.imag(z)", 3 + 4j, 1 + 2j),
    ("np.abs(z)", 3 + 4j, 1 + 2j),
    ("np.angle(z)", 3 + 4j, 1 + 2j),
    ("np.exp(z) * np.conj(z)", zv, b),
    ("z * 1j", xv, xv[::-1].copy()),
    ("np.abs(z * (1 + 1j))", xv, xv[::-1].copy()),
]
EDGE = [  # item 2: (kind, expr, primal, tangent-or-cotangent)
    ("grad", "z ** 0", 0.0, None),
    ("grad", "z ** 0.0", 0.0, None),
    ("grad", "z ** 0", 2.0, None),
    ("jvp", "np.std(z)", xv, xv[::-1].copy()),
    ("jvp", "np.var(z)", xv, xv[::-1].copy()),
    ("jvp", "np.std(z * 0 + 1.0)", xv, xv[::-1].copy()),
    ("jvp", "np.var(z * 0 + 1.0)", xv, xv[::-1].copy()),
    ("jvp", "np.linspace(0.0, z, 5)", 2.0, 1.0),
    ("jvp", "np.linspace(z, 2 * z, 4)", 1.5, 0.5),
    ("vjp", "np.maximum(z, 1.0)", 2.0, 1.0),
    ("vjp", "np.minimum(z, 1.0)", 2.0, 1.0),
    ("vjp", "np.maximum(z, 2.0)", 2.0, 1.0),
    ("grad", "z.astype(np.int32) * z", 3.7, None),
    ("grad", "np.sum(z.astype(np.int64) * z)", xv, None),
]
ERRORS = [  # (transform, expr, primal) -> TypeError message
    ("grad", "z * z", 3 + 4j),
    ("grad", "np.exp(1j * z)", 0.5),
    ("grad_holo", "z * z", 3.0),
    ("grad_holo", "np.abs(z)", 3 + 4j),
    ("jacfwd", "z * z", zv),
    ("jacrev", "z * z", zv),
    ("jacfwd_holo", "z * z", xv),
    ("jacrev_holo", "z * 2.0", xv),
]


def main():
    out = {"consts": {k: enc(v) for k, v in CONSTS.items()}, "jax": jax.__version__}
    out["grad"] = [
        {"expr": e, "z": enc(z), "value": enc(fn(e)(z)), "grad": enc(jax.grad(fn(e))(z))}
        for e, z in GRAD
    ]
    out["holo_grad"] = [
        {"expr": e, "z": enc(z), "grad": enc(jax.grad(fn(e), holomorphic=True)(z))}
        for e, z in HOLO_GRAD
    ]
    out["holo_jac"] = [
        {
            "expr": e,
            "z": enc(z),
            "jacfwd": enc(jax.jacfwd(fn(e), holomorphic=True)(z)),
            "jacrev": enc(jax.jacrev(fn(e), holomorphic=True)(z)),
        }
        for e, z in HOLO_JAC
    ]
    out["jac_real_to_complex"] = [
        {"expr": e, "z": enc(z), "jacfwd": enc(jax.jacfwd(fn(e))(z))}
        for e, z in JAC_REAL_TO_COMPLEX
    ]
    vj = []
    for e, z, c in VJP:
        y, f_vjp = jax.vjp(fn(e), jnp.asarray(z))
        c = jnp.asarray(c, dtype=y.dtype) if np.iscomplexobj(c) or y.dtype.kind == "c" else c
        vj.append({"expr": e, "z": enc(z), "ct": enc(c), "out": enc(y), "vjp": enc(f_vjp(c)[0])})
    out["vjp"] = vj
    jv = []
    for e, z, t in JVP:
        z = jnp.asarray(z)
        y, ty = jax.jvp(fn(e), (z,), (jnp.asarray(t, z.dtype),))
        jv.append({"expr": e, "z": enc(z), "t": enc(t), "out": enc(y), "jvp": enc(ty)})
    out["jvp"] = jv
    edge = []
    for kind, e, z, t in EDGE:
        z = jnp.asarray(z)
        if kind == "grad":
            r = jax.grad(fn(e))(z)
        elif kind == "jvp":
            r = jax.jvp(fn(e), (z,), (jnp.asarray(t, z.dtype),))[1]
        else:
            r = jax.vjp(fn(e), z)[1](jnp.asarray(t))[0]
        edge.append({"kind": kind, "expr": e, "z": enc(z), "t": enc(t), "result": enc(r)})
    out["edge"] = edge
    errs = []
    for kind, e, z in ERRORS:
        tr = {
            "grad": lambda f: jax.grad(f),
            "grad_holo": lambda f: jax.grad(f, holomorphic=True),
            "jacfwd": lambda f: jax.jacfwd(f),
            "jacrev": lambda f: jax.jacrev(f),
            "jacfwd_holo": lambda f: jax.jacfwd(f, holomorphic=True),
            "jacrev_holo": lambda f: jax.jacrev(f, holomorphic=True),
        }[kind]
        try:
            tr(fn(e))(jnp.asarray(z))
            msg = None
        except TypeError as ex:
            msg = str(ex)
        errs.append({"kind": kind, "expr": e, "z": enc(z), "jax_message": msg})
    out["errors"] = errs
    path = pathlib.Path(__file__).with_name("complex_refs.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
