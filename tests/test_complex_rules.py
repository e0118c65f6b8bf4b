"""Audit of every differentiable primitive's rules on complex numbers.

The convention is JAX's (and autograd's): ``jvp`` is the R-linear pushforward ``v -> J v`` and
``vjp`` its transpose under the bilinear pairing ``<a, b> = Re(sum(a * b))`` — no complex
conjugation anywhere. So for every program, input ``z``, tangent ``v`` and cotangent ``u``:

* ``jvp(v)`` equals the central finite difference ``(f(z + h v) - f(z - h v)) / 2h``, checked
  for a real direction, an imaginary direction and a general complex one;
* ``Re <u, jvp(v)> == Re <vjp(u), v>`` (the dot-product identity of this convention; for a
  holomorphic f it reads ``vjp(u) = f'(z)·u``, e.g. ``vjp(z*z)(1) = 2z`` with no conjugate).

Each example is a small program built on one primitive. ``test_every_primitive_is_audited``
fails when a differentiable primitive is neither exercised here with complex values nor listed
as refusing complex input (and then checked to raise, never to compute a wrong number).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp
import funcgrad.numpy.fft  # noqa: F401  (registers the fft primitive)
import funcgrad.random as fr
from funcgrad.core.ir import ShapedArray
from funcgrad.numpy._indexing import IndexUpdateHelper
from funcgrad.primitives.base import registry

sl = pytest.importorskip("funcgrad.scipy.linalg")  # the [scipy] extra registers its families
import funcgrad.scipy.special  # noqa: E402, F401
from funcgrad.primitives import special as _special_family  # noqa: E402

RNG = np.random.default_rng(20261203)


def _c(*shape: int, scale: float = 0.5, shift: complex = 0.0) -> np.ndarray:
    return shift + scale * (RNG.normal(size=shape) + 1j * RNG.normal(size=shape))


W3 = _c(3)
M33 = _c(3, 3) + 2.0 * np.eye(3)
K113 = _c(1, 1, 3)  # a 1-d convolution kernel (out, in, width)
K116 = _c(1, 1, 6)
IDX = np.array([2, 0, 2])


@fg.custom_vjp
def _cvjp(z: Any) -> Any:
    return z * fnp.sin(z)


_cvjp.defvjp(
    lambda z: (z * fnp.sin(z), z),
    lambda z, g: (g * (fnp.sin(z) + z * fnp.cos(z)),),  # holomorphic: g·f'(z), no conjugate
)


@fg.custom_jvp
def _cjvp(z: Any) -> Any:
    return fnp.exp(z) * z


_cjvp.defjvp(
    lambda primals, tangents: (
        _cjvp(primals[0]),
        fnp.exp(primals[0]) * (primals[0] + 1.0) * tangents[0],
    )
)


def _scan_body(c: Any, x: Any) -> tuple[Any, Any]:
    c = c * x + fnp.conj(c) * 0.3
    return c, fnp.abs(c) * x


def _while(z: Any) -> Any:
    def body(s: Any) -> Any:
        i, v = s
        return i + 1, v * (1.0 + 0.2j) + fnp.conj(v) * 0.1

    return lax.while_loop(lambda s: s[0] < 3, body, (0, z))[1]


def _at(z: Any) -> Any:
    return IndexUpdateHelper(z)  # x.at[...] for numpy arrays and tracers alike


# name -> (program, input); the program's IR must contain the primitive `name`
EXAMPLES: dict[str, tuple[Callable[[Any], Any], np.ndarray]] = {
    "add": (lambda z: z + W3, _c(3)),
    "sub": (lambda z: W3 - z, _c(3)),
    "mul": (lambda z: z * W3 * z, _c(3)),
    "div": (lambda z: (z + 1.5) / (W3 + z + 2.0), _c(3)),
    "neg": (lambda z: -z, _c(3)),
    "integer_pow": (lambda z: z**3, _c(3)),
    "pow": (lambda z: fnp.power(z + 2.0, W3 + z), _c(3)),
    "exp": (fnp.exp, _c(3)),
    "log": (fnp.log, _c(3, shift=1.5)),
    "log1p": (fnp.log1p, _c(3, shift=0.5)),
    "expm1": (fnp.expm1, _c(3)),
    "sin": (fnp.sin, _c(3)),
    "cos": (fnp.cos, _c(3)),
    "tan": (fnp.tan, _c(3)),
    "tanh": (fnp.tanh, _c(3)),
    "arctan": (fnp.arctan, _c(3, scale=0.3)),
    "sqrt": (fnp.sqrt, _c(3, shift=1.5)),
    "abs": (lambda z: fnp.abs(z * W3), _c(3)),
    "conj": (lambda z: fnp.conj(z) * W3, _c(3)),
    "real": (lambda z: fnp.real(z * W3), _c(3)),
    "imag": (lambda z: fnp.imag(z * W3), _c(3)),
    "select": (lambda z: fnp.where(np.array([True, False, True]), z * 2.0, W3 * z), _c(3)),
    "convert_element_type": (lambda z: fnp.real(z).astype(np.complex128) * W3, _c(3)),
    "maximum": (lambda z: fnp.maximum(z, W3), _c(3)),
    "minimum": (lambda z: fnp.minimum(z, W3), _c(3)),
    "fmax": (lambda z: fnp.fmax(z, W3), _c(3)),
    "fmin": (lambda z: fnp.fmin(z, W3), _c(3)),
    "arcsin": (fnp.arcsin, _c(3, scale=0.3)),
    "arccos": (fnp.arccos, _c(3, scale=0.3)),
    "arctanh": (fnp.arctanh, _c(3, scale=0.3)),
    "sinh": (fnp.sinh, _c(3)),
    "cosh": (fnp.cosh, _c(3)),
    "arcsinh": (fnp.arcsinh, _c(3, scale=0.3)),
    "arccosh": (fnp.arccosh, _c(3, shift=2.0)),
    "log2": (fnp.log2, _c(3, shift=1.5)),
    "log10": (fnp.log10, _c(3, shift=1.5)),
    "exp2": (fnp.exp2, _c(3)),
    "reciprocal": (lambda z: fnp.reciprocal(z + 2.0), _c(3)),
    "sinc": (fnp.sinc, _c(3)),
    "broadcast_in_dim": (lambda z: fnp.broadcast_to(z, (2, 3)) * M33[:2], _c(3)),
    "reshape": (lambda z: fnp.reshape(z, (3, 1)) * W3, _c(3)),
    "squeeze": (lambda z: fnp.squeeze(z[None] * W3), _c(3)),
    "expand_dims": (lambda z: fnp.expand_dims(z, 0) * M33, _c(3)),
    "transpose": (lambda z: fnp.transpose(z) * M33, _c(3, 3)),
    "getitem": (lambda z: z[1:] * W3[:2], _c(3)),
    "scatter_add": (lambda z: fg.grad(lambda w: fnp.real(fnp.sum(w[1:] * z[:2])))(W3), _c(3)),
    "concatenate": (lambda z: fnp.concatenate([z, z * W3]), _c(3)),
    "reduce_sum": (lambda z: fnp.sum(z * M33, axis=0), _c(3)),
    "reduce_max": (lambda z: fnp.max(z * W3), _c(3)),
    "reduce_min": (lambda z: fnp.min(z * W3), _c(3)),
    "reduce_prod": (lambda z: fnp.prod(z * W3), _c(3)),
    "cumsum": (lambda z: fnp.cumsum(z * W3), _c(3)),
    "take_along_axis": (lambda z: fnp.take_along_axis(z * W3, IDX, 0), _c(3)),
    "scatter_add_along_axis": (
        lambda z: fg.grad(lambda w: fnp.real(fnp.sum(fnp.take_along_axis(w, IDX, 0) * z)))(W3),
        _c(3),
    ),
    "einsum": (lambda z: fnp.einsum("ij,j,i->i", M33, z, z), _c(3)),
    "matmul": (lambda z: M33 @ z + z @ M33, _c(3)),
    "conv": (
        lambda z: (
            lax.conv(z.reshape(1, 1, 6), K113 * 1.0, (1,), "VALID").ravel()
            + lax.conv(K116, z.reshape(1, 1, 6)[:, :, :3], (1,), "SAME").ravel()[:4]
        ),
        _c(6),
    ),
    "gather": (lambda z: z[IDX] * W3, _c(3)),
    "index_add": (lambda z: _at(z)[IDX].add(W3 * z), _c(3)),
    "index_set": (lambda z: _at(z)[np.array([0, 2])].set(W3[:2] * z[1:]), _c(3)),
    "index_mul": (lambda z: _at(z)[IDX].multiply(W3 * z), _c(3)),
    "inv": (lambda z: fnp.linalg.inv(M33 + fnp.diag(z)), _c(3)),
    "solve": (lambda z: fnp.linalg.solve(M33 + fnp.diag(z), W3 * z), _c(3)),
    "det": (lambda z: fnp.linalg.det(M33 * z), _c(3)),
    "slogdet": (
        lambda z: fnp.stack(
            [fnp.linalg.slogdet(M33 * z).sign, fnp.linalg.slogdet(M33 * z).logabsdet]
        ),
        _c(3),
    ),
    "cond": (lambda z: lax.cond(True, lambda w: w * fnp.conj(w), lambda w: w, z), _c(3)),
    "scan": (lambda z: lax.scan(_scan_body, z[0], z * W3)[1], _c(3)),
    "while": (_while, _c(3)),
    "custom_vjp_call": (_cvjp, _c(3)),
    "custom_jvp_call": (_cjvp, _c(3)),
    "checkpoint": (fg.checkpoint(lambda z: fnp.abs(fnp.sin(z)) * z), _c(3)),
    # one primitive, every kind (real <-> complex kinds take real/imaginary parts)
    "fft": (
        lambda z: fnp.concatenate(
            [
                fnp.fft.fft(z * W3),
                fnp.fft.ifft(z, n=4),
                fnp.fft.rfft(fnp.real(z) * 2.0),
                fnp.fft.irfft(z * W3, n=4),
                fnp.fft.hfft(z, n=4),
                fnp.fft.ihfft(fnp.imag(z)),
            ]
        ),
        _c(3),
    ),
}
# The selection primitives pick between operands by numpy's ordering of complex numbers
# (lexicographic); their derivative is the selected operand's, as for reals.

# Differentiable primitives that refuse complex input: calling them must raise, not compute.
REFUSES: dict[str, tuple[Callable[[Any], Any], type[Exception], str]] = {
    "arctan2": (lambda z: fnp.arctan2(z, z), TypeError, "arctan2"),
    "hypot": (lambda z: fnp.hypot(z, z), TypeError, "hypot"),
    "cbrt": (fnp.cbrt, TypeError, "cbrt"),
    "logaddexp": (lambda z: fnp.logaddexp(z, z), TypeError, "logaddexp"),
    "logaddexp2": (lambda z: fnp.logaddexp2(z, z), TypeError, "logaddexp2"),
    "remainder": (lambda z: fnp.remainder(z, 2.0), TypeError, "remainder"),
    "fmod": (lambda z: fnp.fmod(z, 2.0), TypeError, "fmod"),
    "heaviside": (lambda z: fnp.heaviside(z, 0.5), TypeError, "heaviside"),
    "index_max": (lambda z: _at(z)[np.array([0, 2])].max(z[1]), TypeError, "index_max"),
    "index_min": (lambda z: _at(z)[np.array([0, 2])].min(z[1]), TypeError, "index_min"),
    "expm": (lambda z: sl.expm(z), TypeError, "expm"),
    "sqrtm": (lambda z: sl.sqrtm(z), TypeError, "sqrtm"),
    "lu": (lambda z: sl.lu(z), TypeError, "lu"),
    "schur": (lambda z: sl.schur(z), TypeError, "schur"),
    "hessenberg": (lambda z: sl.hessenberg(z), TypeError, "hessenberg"),
    "solve_sylvester": (lambda z: sl.solve_sylvester(z, z, z), TypeError, "solve_sylvester"),
    "triangular_solve": (lambda z: sl.solve_triangular(z, z[0]), TypeError, "solve_triangular"),
    "cholesky": (lambda z: fnp.linalg.cholesky(z), NotImplementedError, "cholesky"),
    "qr": (lambda z: fnp.linalg.qr(z), NotImplementedError, "qr"),
    "eigh": (lambda z: fnp.linalg.eigh(z), NotImplementedError, "eigh"),
    "svd": (lambda z: fnp.linalg.svd(z), NotImplementedError, "svd"),
    "svdvals": (lambda z: fnp.linalg.svdvals(z), NotImplementedError, "svdvals"),
    "pinv": (lambda z: fnp.linalg.pinv(z), NotImplementedError, "pinv"),
}


# Elementwise special functions (scipy.special, erf and XLA's erf_inv): their shape rules refuse
# complex operands, so every call (eager or traced) raises before computing anything.
SHAPE_RULE_REFUSES = sorted(
    {
        p.name
        for p in vars(_special_family).values()
        if type(p).__name__ == "Primitive" and p.differentiable and p.name not in ("log1p",)
    }
    - {"gammainc_da"}
    | {"erf", "erf_inv"}
)
# gammainc's derivative in ``a``: bound only by gammainc's own rule, whose operands already
# passed gammainc's refusal of complex input.
INTERNAL = {"gammainc_da"}
# MPI collectives (funcgrad.distributed): linear data movement (sum, mean, gather, scatter,
# copy); each rule is another collective with no conjugation, the same for complex values.
# With one process they are the identity and are not bound; tests/test_distributed.py runs
# them under mpirun (real dtypes). Complex pytrees through MPI are not tested yet.
MPI_COLLECTIVES = {"allreduce", "allgather", "reduce_scatter", "broadcast"}
# Collectives over named vmap axes exist only inside a vmap: their complex rules are checked in
# tests/test_named_axis.py (inside-vmap JVP/VJP against those of the batched function).
NAMED_AXIS = {"psum", "pmax", "pmin", "all_gather", "psum_scatter", "ppermute", "all_to_all"}
# gamma sampling: the public wrappers cast their real parameters (numpy's casting, dropping an
# imaginary part with a ComplexWarning), so these primitives only ever see real values; the
# derivative is then that of the real part, the transpose of the cast (checked below).
CAST_TO_REAL = {"random_gamma", "random_gamma_grad", "random_gamma_grad_partials"}


def _prims(f: Callable[[Any], Any], z: np.ndarray) -> set[str]:
    return {e.prim.name for e in fg.make_ir(f)(z).eqns}


def _fd(f: Callable[[Any], Any], z: np.ndarray, v: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (np.asarray(f(z + h * v)) - np.asarray(f(z - h * v))) / (2 * h)


def _rand_like(x: Any) -> np.ndarray:
    x = np.asarray(x)
    r = RNG.normal(size=x.shape)
    return r + 1j * RNG.normal(size=x.shape) if x.dtype.kind == "c" else r


FORWARD_ONLY = {"while"}  # no reverse mode for while_loop (unknown trip count)
REVERSE_ONLY = {"custom_vjp_call"}  # no forward mode for custom_vjp (as in JAX)


def _check(f: Callable[[Any], Any], z: np.ndarray, modes: str = "fwd+rev") -> None:
    out = f(z)
    for v in (RNG.normal(size=z.shape), 1j * RNG.normal(size=z.shape), _rand_like(z)):
        v = v.astype(complex)
        fd = _fd(f, z, v)
        if "fwd" in modes:
            _, t = fg.jvp(f, (z,), (v,))
            np.testing.assert_allclose(t, fd, rtol=1e-5, atol=1e-6)
        else:
            t = fd
        if "rev" in modes:
            u = _rand_like(out)
            _, f_vjp = fg.vjp(f, z)
            (ct,) = f_vjp(u)
            assert ct.dtype == z.dtype
            lhs = np.real(np.sum(u * t))
            rhs = np.real(np.sum(ct * v))
            tol = 1e-9 if "fwd" in modes else 1e-5
            np.testing.assert_allclose(lhs, rhs, rtol=tol, atol=tol)


def _modes(name: str) -> str:
    return "fwd" if name in FORWARD_ONLY else "rev" if name in REVERSE_ONLY else "fwd+rev"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_primitive_complex_rules(name: str) -> None:
    f, z = EXAMPLES[name]
    assert name in _prims(f, z), f"the example for {name} does not use it"
    _check(f, z, _modes(name))


@pytest.mark.parametrize("name", ["mul", "abs", "imag", "slogdet", "scan", "einsum"])
def test_primitive_complex_rules_under_jit(name: str) -> None:
    f, z = EXAMPLES[name]
    jf = fg.jit(f)
    np.testing.assert_allclose(jf(z), f(z), rtol=1e-12)
    _check(jf, z, _modes(name))


@pytest.mark.parametrize("name", sorted(REFUSES))
def test_primitive_refuses_complex(name: str) -> None:
    f, exc, word = REFUSES[name]
    z = _c(3, 3)
    with pytest.raises(exc, match=word):
        f(z)
    with pytest.raises(exc, match=word):
        fg.grad(lambda w: fnp.real(fnp.sum(f(w))))(z)


@pytest.mark.parametrize("name", SHAPE_RULE_REFUSES)
def test_special_functions_refuse_complex(name: str) -> None:
    rule = registry[name].shape_rule
    cplx = ShapedArray((3,), np.complex128)
    raised = None
    for arity in (1, 2, 3, 4):
        try:
            rule(*[cplx] * arity)
        except TypeError as e:
            if "complex" in str(e):
                raised = e
                break
    assert raised is not None, f"{name}'s shape rule accepts complex operands"


def test_gamma_sampling_casts_complex_parameters_to_real() -> None:
    k = fr.PRNGKey(3)
    a = np.array([1.5 + 1.0j, 2.0 - 0.5j])

    def f(p: Any) -> Any:
        return fnp.real(fnp.sum(fr.gamma(k, p) * np.array([1.0, 2.0])))

    with pytest.warns(np.exceptions.ComplexWarning):
        g = fg.grad(f)(a)
    np.testing.assert_allclose(g, fg.grad(f)(np.real(a)) + 0j, rtol=1e-12)
    assert CAST_TO_REAL <= set(registry)


# pure_callback: its derivative rules are the user's (custom_jvp/vjp around it); fixed_point
# (funcgrad.misc, built with funcgrad.extend): its VJP iterates the user function's own vjp.
# Neither has a rule of ours that could conjugate.
USER_RULES = {"pure_callback", "fixed_point"}


def _builtin_differentiable() -> set[str]:
    """funcgrad's own differentiable primitives (a fresh process: the registry here also holds
    primitives that other tests define with funcgrad.extend)."""
    code = (
        "import json, funcgrad, funcgrad.scipy\n"
        "from funcgrad.primitives import registry\n"
        "print(json.dumps(sorted(n for n, p in registry.items() if p.differentiable)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_every_primitive_is_audited() -> None:
    diff = _builtin_differentiable()
    audited = (
        set(EXAMPLES)
        | set(REFUSES)
        | set(SHAPE_RULE_REFUSES)
        | CAST_TO_REAL
        | INTERNAL
        | MPI_COLLECTIVES
        | NAMED_AXIS
        | USER_RULES
    )
    missing = diff - audited
    assert not missing, f"differentiable primitives without a complex audit: {sorted(missing)}"
    assert len(audited & diff) >= 130
