"""Complex numbers end to end, checked against JAX's recorded answers and finite differences.

JAX's convention (autograd's is the same): ``vjp`` is the transpose of ``jvp`` under the
bilinear pairing ``<a, b> = Re(sum(a * b))`` — no conjugation. Consequences checked here:
``vjp(z*z)(1) == 2z``; for ``f: C -> R``, ``grad(f)(z) == df/dx - i·df/dy`` (``z = x + iy``),
e.g. ``grad(|z|**2)(3+4j) == 6-8j``; a real input reached by a complex cotangent gets its real
part. The reference values in ``tests/data/complex_refs.json`` were recorded with JAX by
``tests/data/record_complex_refs.py`` (the tests never import JAX).
"""

from __future__ import annotations

import json
import pathlib
import warnings
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.lax as lax
import funcgrad.numpy as fnp

REFS = json.loads((pathlib.Path(__file__).parent / "data" / "complex_refs.json").read_text())


def _dec(d: dict[str, Any]) -> Any:
    re = np.asarray(d["re"], dtype=float)
    x = re + 1j * np.asarray(d["im"], dtype=float) if "im" in d else re
    return x.astype(d["dtype"])


CONSTS = {k: _dec(v) for k, v in REFS["consts"].items()}


def _fn(expr: str) -> Any:
    env = {"np": fnp, **CONSTS}
    return lambda z: eval(expr, env, {"z": z})  # noqa: S307 - the recorded expressions


def _close(got: Any, want: Any, tol: float = 1e-10) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [f"{c['expr']}@{c['z']['dtype']}" for c in cases]


# --- the recorded JAX answers ----------------------------------------------------------------
@pytest.mark.parametrize("case", REFS["grad"], ids=_ids(REFS["grad"]))
def test_grad_matches_jax(case: dict[str, Any]) -> None:
    f, z = _fn(case["expr"]), _dec(case["z"])
    _close(f(z), _dec(case["value"]))
    g = fg.grad(f)(z)
    assert np.asarray(g).dtype == z.dtype
    _close(g, _dec(case["grad"]), 1e-9)


@pytest.mark.parametrize("case", REFS["grad"], ids=_ids(REFS["grad"]))
def test_grad_matches_finite_differences(case: dict[str, Any]) -> None:
    """Re<grad, v> is the directional derivative, for real and imaginary directions."""
    f, z = _fn(case["expr"]), _dec(case["z"])
    g = np.asarray(fg.grad(f)(z))
    rng = np.random.default_rng(0)
    dirs = [rng.normal(size=z.shape)]
    if z.dtype.kind == "c":
        dirs.append(1j * rng.normal(size=z.shape))
    h = 1e-6
    for v in dirs:
        fd = (f(z + h * v) - f(z - h * v)) / (2 * h)
        np.testing.assert_allclose(np.real(np.sum(g * v)), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", REFS["holo_grad"], ids=_ids(REFS["holo_grad"]))
def test_holomorphic_grad_matches_jax(case: dict[str, Any]) -> None:
    f, z = _fn(case["expr"]), _dec(case["z"])
    _close(fg.grad(f, holomorphic=True)(z), _dec(case["grad"]), 1e-9)
    v, gv = fg.value_and_grad(f, holomorphic=True)(z)
    _close(v, f(z))
    _close(gv, _dec(case["grad"]), 1e-9)


@pytest.mark.parametrize("case", REFS["holo_jac"], ids=_ids(REFS["holo_jac"]))
def test_holomorphic_jacobians_match_jax(case: dict[str, Any]) -> None:
    f, z = _fn(case["expr"]), _dec(case["z"])
    _close(fg.jacfwd(f, holomorphic=True)(z), _dec(case["jacfwd"]))
    _close(fg.jacrev(f, holomorphic=True)(z), _dec(case["jacrev"]))


def test_jacfwd_real_input_complex_output() -> None:
    (case,) = REFS["jac_real_to_complex"]
    f, z = _fn(case["expr"]), _dec(case["z"])
    _close(fg.jacfwd(f)(z), _dec(case["jacfwd"]))


@pytest.mark.parametrize("case", REFS["vjp"], ids=_ids(REFS["vjp"]))
def test_vjp_matches_jax(case: dict[str, Any]) -> None:
    f, z, ct = _fn(case["expr"]), _dec(case["z"]), _dec(case["ct"])
    out, f_vjp = fg.vjp(f, z)
    _close(out, _dec(case["out"]))
    (g,) = f_vjp(ct)
    assert np.asarray(g).dtype == z.dtype
    _close(g, _dec(case["vjp"]))


def test_vjp_python_float_cotangent_for_complex_output() -> None:
    assert fg.vjp(lambda z: z * z, 3 + 4j)[1](1.0) == (6 + 8j,)


@pytest.mark.parametrize("case", REFS["jvp"], ids=_ids(REFS["jvp"]))
def test_jvp_matches_jax(case: dict[str, Any]) -> None:
    f, z, t = _fn(case["expr"]), _dec(case["z"]), _dec(case["t"])
    out, tout = fg.jvp(f, (z,), (t,))
    _close(out, _dec(case["out"]))
    _close(tout, _dec(case["jvp"]))
    assert np.asarray(tout).dtype == np.asarray(out).dtype


@pytest.mark.parametrize(
    "case", REFS["errors"], ids=[f"{c['kind']}:{c['expr']}" for c in REFS["errors"]]
)
def test_dtype_errors_as_jax(case: dict[str, Any]) -> None:
    f, z = _fn(case["expr"]), _dec(case["z"])
    kind = case["kind"]
    holo = kind.endswith("_holo")
    tr = {"grad": fg.grad, "jacfwd": fg.jacfwd, "jacrev": fg.jacrev}[kind.removesuffix("_holo")]
    assert case["jax_message"] is not None  # JAX refuses each of these with a TypeError
    with pytest.raises(TypeError) as info:
        tr(f, holomorphic=True)(z) if holo else tr(f)(z)
    msg = str(info.value)
    # the same sentence as JAX up to the first period (which dtype, inputs or outputs)
    assert case["jax_message"].split(".")[0] in msg, (msg, case["jax_message"])
    if not holo:
        assert "holomorphic=True" in msg


# --- the cases of issue 13 -------------------------------------------------------------------
X = np.array([1.5, -0.5, 2.0])


def test_issue_cases() -> None:
    _close(fg.grad(lambda x: fnp.sum(fnp.abs(x * 1j)))(X), np.sign(X))
    _close(fg.grad(lambda x: fnp.sum(fnp.abs(x * (1 + 1j))))(X), np.sqrt(2) * np.sign(X))
    A = CONSTS["A"]
    # |A x|^2 = x^T Re(A^H A) x  ->  gradient 2 Re(A^H A) x
    _close(fg.grad(lambda x: fnp.sum(fnp.abs(A @ x) ** 2))(X), 2 * np.real(A.conj().T @ A) @ X)
    assert fg.grad(lambda z: fnp.abs(z) ** 2)(3 + 4j) == 6 - 8j
    assert fg.grad(lambda z: fnp.real(z * z))(3 + 4j) == 6 + 8j
    assert fg.grad(lambda z: z * z, holomorphic=True)(3 + 4j) == 6 + 8j


def test_complex_output_error_names_holomorphic() -> None:
    with pytest.raises(TypeError, match=r"holomorphic=True"):
        fg.grad(lambda z: z * z)(3 + 4j)
    with pytest.raises(TypeError, match=r"real-valued outputs.*complex128"):
        fg.grad(lambda x: fnp.exp(1j * x))(0.5)  # real input, complex output
    with pytest.raises(TypeError, match=r"holomorphic=True requires inputs with complex"):
        fg.value_and_grad(lambda x: x * x, holomorphic=True)(2.0)


def test_cotangent_and_tangent_dtype_checks() -> None:
    _, f_vjp = fg.vjp(lambda x: x * 2.0, 1.0)
    with pytest.raises(TypeError, match="real cotangent"):
        f_vjp(1j)
    with pytest.raises(TypeError, match="real tangent"):
        fg.jvp(lambda x: x * 2.0, (1.0,), (1j,))
    # a real tangent for a complex primal is a complex tangent with zero imaginary part
    assert fg.jvp(lambda z: z * z, (3 + 4j,), (1.0,))[1] == 6 + 8j


def test_no_complex_warning_from_real_part_of_cotangent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _close(fg.grad(lambda x: fnp.real(fnp.exp(1j * x)))(0.3), -np.sin(0.3))


# --- functions -------------------------------------------------------------------------------
Z = np.array([1.0 + 2.0j, -0.5 + 0.0j, 3.0 - 1e-20j])


@pytest.mark.parametrize(
    "name", ["real", "imag", "conj", "conjugate", "angle", "iscomplex", "isreal", "abs"]
)
def test_functions_match_numpy(name: str) -> None:
    for x in (Z, np.array([1.0, -2.0]), np.array([1, -2]), 2.5, 1j):
        want = getattr(np, name)(x)
        got = getattr(fnp, name)(x)
        np.testing.assert_array_equal(got, want)
        assert np.asarray(got).dtype == np.asarray(want).dtype, (name, x)
        traced = fg.jit(getattr(fnp, name))(x)
        np.testing.assert_array_equal(traced, want)
        assert np.asarray(traced).dtype == np.asarray(want).dtype, (name, x)


def test_angle_deg_and_object_predicates() -> None:
    _close(fnp.angle(Z, deg=True), np.angle(Z, deg=True))
    for x in (Z, 2.0, 1j, [1, 2], np.ones(2, np.complex64)):
        assert fnp.iscomplexobj(x) == np.iscomplexobj(x)
        assert fnp.isrealobj(x) == np.isrealobj(x)
    assert fg.jit(lambda z: z * 2.0 if fnp.iscomplexobj(z) else z)(1j) == 2j


def test_real_if_close() -> None:
    for x in (Z, np.array([1 + 1e-13j]), np.array([1.0, 2.0]), np.array([1 + 1e-10j])):
        want = np.real_if_close(x)
        got = fnp.real_if_close(x)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(fnp.real_if_close(Z, tol=1e-10), np.real_if_close(Z, 1e-10))
    with pytest.raises(fg.ConcretizationError, match="real_if_close"):
        fg.jit(fnp.real_if_close)(Z)


def test_tracer_methods_and_numpy_protocols() -> None:
    def f(z: Any) -> Any:
        return fnp.sum(z.real * z.imag + np.real(z.conj()) + np.conjugate(z).imag + np.angle(z))

    z0 = np.array([1.0 + 2.0j, -0.5 + 0.3j, 3.0 - 1.0j])  # away from angle's branch cut
    _close(fg.jit(f)(z0), f(z0))
    g = fg.grad(f)(z0)
    h = 1e-6
    for k in range(3):
        for d in (1.0, 1j):
            e = np.zeros(3, complex)
            e[k] = d
            fd = (f(z0 + h * e) - f(z0 - h * e)) / (2 * h)
            np.testing.assert_allclose(np.real(g[k] * d), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "a,b",
    [
        (np.float32, 1j),
        (np.float32, np.complex64),
        (np.float32, np.complex128),
        (np.float64, np.complex64),
        (np.complex64, 2.0),
        (np.complex64, np.float32),
        (np.int32, 1j),
    ],
)
def test_dtype_rules_as_numpy(a: Any, b: Any) -> None:
    x = np.ones(2, a)
    y = b if isinstance(b, complex | float) else np.ones(2, b)
    want = (x * y).dtype
    assert fg.jit(lambda p, q: p * q)(x, y).dtype == want
    assert fg.make_ir(lambda p: p * y)(x).outvars[0].aval.dtype == want
    if want.kind == "c" and x.dtype.kind in "fc":
        g = fg.grad(lambda p: fnp.real(fnp.sum(p * y * p)))(x)
        assert g.dtype == x.dtype


def test_complex64_stays_complex64() -> None:
    z = np.array([1 + 2j, 3 - 1j], np.complex64)
    g = fg.grad(lambda w: fnp.sum(fnp.abs(fnp.exp(w) * 2.0) ** 2))(z)
    assert g.dtype == np.complex64
    _close(g, 8.0 * np.abs(np.exp(z)) ** 2, 1e-5)  # |2e^w|^2 = 4e^{2x}: df/dx = 8e^{2x}, df/dy = 0
    j = fg.jacfwd(lambda w: w * w, holomorphic=True)(z)
    assert j.dtype == np.complex64


# --- transforms carry complex values ---------------------------------------------------------
def _f(z: Any) -> Any:
    return fnp.sum(fnp.abs(fnp.sin(z) * fnp.conj(z)) ** 2)


ZB = np.random.default_rng(1).normal(size=(4, 3)) + 1j * np.random.default_rng(2).normal(
    size=(4, 3)
)


def test_vmap_of_grad_matches_loop() -> None:
    got = fg.vmap(fg.grad(_f))(ZB)
    want = np.stack([fg.grad(_f)(z) for z in ZB])
    _close(got, want)
    _close(fg.jit(fg.vmap(fg.grad(_f)))(ZB), want)
    _close(fg.vmap(lambda z: fnp.conj(z) * 1j)(ZB), np.conj(ZB) * 1j)


def test_jit_grad_jvp_vjp_compose() -> None:
    z = ZB[0]
    _close(fg.jit(fg.grad(_f))(z), fg.grad(_f)(z))
    _close(fg.grad(fg.jit(_f))(z), fg.grad(_f)(z))
    t = ZB[1]
    _, jt = fg.jvp(_f, (z,), (t,))
    _, jt2 = fg.jvp(fg.jit(_f), (z,), (t,))
    _close(jt, jt2)
    _close(jt, np.real(np.sum(fg.grad(_f)(z) * t)))  # Re<grad, t> = directional derivative


def test_second_derivatives_through_complex() -> None:
    # f(x) = |e^{ix} x|^2 = x^2: f'' = 2, computed through complex intermediates
    f = lambda x: fnp.abs(fnp.exp(1j * x) * x) ** 2  # noqa: E731
    _close(fg.grad(fg.grad(f))(0.7), 2.0, 1e-9)
    _close(
        fg.hessian(lambda x: fnp.sum(fnp.abs(CONSTS["A"] @ x) ** 2))(X),
        2 * np.real(CONSTS["A"].conj().T @ CONSTS["A"]),
    )


def test_checkpoint_custom_rules_and_control_flow_carry_complex() -> None:
    z = ZB[0]
    ck = fg.checkpoint(_f)
    _close(fg.grad(ck)(z), fg.grad(_f)(z))

    def scan_f(z: Any) -> Any:
        def body(c: Any, x: Any) -> tuple[Any, Any]:
            c = c * x + 0.1j
            return c, fnp.conj(c)

        c, ys = lax.scan(body, z[0], z)
        return fnp.abs(c) ** 2 + fnp.real(fnp.sum(ys * ys))

    def loop_ref(z: Any) -> Any:
        c, total = z[0], 0.0
        for x in z:
            c = c * x + 0.1j
            total = total + fnp.real(fnp.conj(c) * fnp.conj(c))
        return fnp.abs(c) ** 2 + total

    _close(fg.grad(scan_f)(z), fg.grad(loop_ref)(z))
    _close(fg.jit(fg.grad(scan_f))(z), fg.grad(loop_ref)(z))

    cond_f = lambda z: fnp.real(lax.cond(True, lambda w: w * w, lambda w: fnp.conj(w), z[0]))  # noqa: E731
    _close(fg.grad(cond_f)(z), np.array([2 * z[0], 0, 0]))

    def wl(z: Any) -> Any:
        return lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * z), (0, 1.0 + 0j))[1]

    _, t = fg.jvp(wl, (2.0 + 1j,), (1.0 + 0j,))
    _close(t, 3 * (2.0 + 1j) ** 2)

    @fg.custom_vjp
    def sq(w: Any) -> Any:
        return w * w

    sq.defvjp(lambda w: (w * w, w), lambda w, g: (2.0 * w * g,))
    _close(fg.grad(lambda w: fnp.abs(sq(w)))(1 + 2j), fg.grad(lambda w: fnp.abs(w * w))(1 + 2j))

    @fg.custom_jvp
    def cube(w: Any) -> Any:
        return w**3

    cube.defjvp(lambda p, t: (p[0] ** 3, 3.0 * p[0] ** 2 * t[0]))
    _close(fg.grad(lambda w: fnp.imag(cube(w)))(1 + 2j), fg.grad(lambda w: fnp.imag(w**3))(1 + 2j))
    _close(fg.grad(cube, holomorphic=True)(1 + 2j), 3 * (1 + 2j) ** 2)


# --- linear algebra ---------------------------------------------------------------------------
def test_complex_linalg_values_match_numpy() -> None:
    a = CONSTS["A"] + 3 * np.eye(3)
    _close(fnp.linalg.inv(a), np.linalg.inv(a))
    _close(fnp.linalg.solve(a, CONSTS["b"]), np.linalg.solve(a, CONSTS["b"]))
    _close(fnp.linalg.det(a), np.linalg.det(a))
    s, ld = fnp.linalg.slogdet(a)
    s0, ld0 = np.linalg.slogdet(a)
    _close(s, s0)
    _close(ld, ld0)
    assert np.asarray(ld).dtype == np.float64
    for ord_ in (None, "fro", 1, -1, np.inf, -np.inf):
        _close(fnp.linalg.norm(a, ord_), np.linalg.norm(a, ord_))
    for ord_ in (None, 1, 2, 3, np.inf, -np.inf, 0):
        _close(fnp.linalg.norm(CONSTS["b"], ord_), np.linalg.norm(CONSTS["b"], ord_))


def test_complex_norm_gradient_at_zero_is_finite() -> None:
    g = fg.grad(lambda z: fnp.linalg.norm(z))(np.zeros(3, complex))
    assert np.all(np.isfinite(g))
    g = fg.grad(lambda z: fnp.linalg.norm(z))(np.array([3 + 4j, 0j]))
    _close(g, np.array([(3 - 4j) / 5, 0]))


@pytest.mark.parametrize("name", ["cholesky", "eigh", "svd", "qr", "eigvalsh", "pinv", "lstsq"])
def test_unsupported_complex_linalg_says_so(name: str) -> None:
    a = CONSTS["A"] @ CONSTS["A"].conj().T + np.eye(3)
    args = (a, CONSTS["b"]) if name == "lstsq" else (a,)
    shown = "eigh" if name == "eigvalsh" else name  # eigvalsh is eigh's eigenvalues
    with pytest.raises(NotImplementedError, match=rf"{shown}: complex matrices"):
        getattr(fnp.linalg, name)(*args)
    with pytest.raises(NotImplementedError, match="norm: ord=2"):
        fnp.linalg.norm(a, 2)


# --- reductions and products whose numpy definition conjugates -------------------------------
@pytest.mark.parametrize(
    "name,args",
    [
        ("var", (Z,)),
        ("std", (Z,)),
        ("nanvar", (np.array([1 + 2j, np.nan, 3j, -1.0]),)),
        ("nanstd", (np.array([1 + 2j, np.nan, 3j, -1.0]),)),
        ("vdot", (Z, Z[::-1] * 1j)),
        ("correlate", (Z, Z[:2] * (1 - 1j))),
        ("correlate", (Z[:2] * (1 - 1j), Z, "full")),
        ("correlate", (Z, Z[:2] + 1j, "same")),
    ],
)
def test_conjugating_functions_match_numpy(name: str, args: tuple[Any, ...]) -> None:
    want = getattr(np, name)(*args)
    arrays = [a for a in args if not isinstance(a, str)]
    mode = [a for a in args if isinstance(a, str)]
    got = fg.jit(lambda *a: getattr(fnp, name)(*a, *mode))(*arrays)
    _close(got, want)
    assert np.asarray(got).dtype == np.asarray(want).dtype


def test_var_std_vdot_gradients() -> None:
    z = np.array([1 + 2j, 3 - 1j, -0.5 + 0.2j])
    w = np.array([0.3 - 1j, 2 + 0.5j, 1j])
    h = 1e-6
    rng = np.random.default_rng(3)
    for f in (
        fnp.var,
        fnp.std,
        lambda a: fnp.real(fnp.vdot(a, w)),
        lambda a: fnp.imag(fnp.vdot(w, a * a)),
        lambda a: fnp.abs(fnp.sum(fnp.correlate(a, w[:2], "full"))),
    ):
        g = fg.grad(f)(z)
        for v in (rng.normal(size=3), 1j * rng.normal(size=3)):
            fd = (f(z + h * v) - f(z - h * v)) / (2 * h)
            np.testing.assert_allclose(np.real(np.sum(g * v)), fd, rtol=1e-6, atol=1e-7)


def test_jacrev_complex_input_real_output() -> None:
    # rows are the grads of each real output (JAX's convention)
    z = np.array([1 + 2j, 3 - 1j])
    f = lambda a: fnp.stack([fnp.abs(a[0] * a[1]), fnp.real(a[0] ** 2)])  # noqa: E731
    j = fg.jacrev(f)(z)
    for k in range(2):
        _close(j[k], fg.grad(lambda a, k=k: f(a)[k])(z))
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        fg.jacfwd(f)(z)


def test_check_grads_handles_complex() -> None:
    from funcgrad.test_util import check_grads

    z = np.array([1 + 2j, 0.3 - 0.5j])
    check_grads(lambda a: fnp.sin(a) * fnp.conj(a), (z,), order=2)
    check_grads(lambda a: fnp.abs(a) ** 3, (z.astype(np.complex64),), order=1)
    check_grads(lambda x: fnp.abs(x * (1 + 1j)) ** 3, (np.array([0.7, -1.2]),), order=2)

    @fg.custom_jvp
    def wrong(a: Any) -> Any:
        return a * a

    # a conjugated rule: right in the real direction, wrong in the imaginary one
    wrong.defjvp(lambda p, t: (p[0] * p[0], 2.0 * fnp.conj(p[0]) * t[0]))
    for modes in (("fwd",), ("rev",)):
        with pytest.raises(AssertionError, match="finite differences"):
            check_grads(wrong, (z,), order=1, modes=modes)


def test_holomorphic_hessian() -> None:
    z = np.array([1 + 2j, 0.5 - 1j])
    h = fg.hessian(lambda a: fnp.sum(a**3), holomorphic=True)(z)
    _close(h, np.diag(6 * z))
    with pytest.raises(TypeError, match="holomorphic=True"):
        fg.hessian(lambda a: fnp.sum(a**3))(z)
