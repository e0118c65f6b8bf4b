"""Fuzzing complex programs: random programs over complex (and mixed real/complex) values,
checked against finite differences in real and imaginary directions, against the bilinear
jvp/vjp identity of JAX's convention, against eager execution (jit) and a Python loop (vmap).

Same structure as ``tests/test_fuzz.py``: a program is a list of ``(op name, parameter)``
pairs applied to a register file that starts with the inputs, so hypothesis can shrink a
failing program. Inputs have ``|z| <= 1``; every op maps values of modulus <= 2 to values of
modulus <= ~2 and keeps away from poles and branch cuts (``log``, ``sqrt``, ``angle`` and
``abs`` act on ``z + 3``), so finite differences are reliable. Some ops return real values
(``real``, ``abs``, ``angle``), so programs mix real and complex registers and exercise the
promotion rules and the real part of cotangents reaching real values.

``FUNCGRAD_FUZZ_EXAMPLES`` sets the number of programs per test (default 100; 3 tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.numpy._indexing import IndexUpdateHelper

N_EXAMPLES = int(os.environ.get("FUNCGRAD_FUZZ_EXAMPLES", "100"))
MAX_SIZE = 36
FUZZ = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
Op = Callable[[list[Any], int], Any]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _size(s: tuple[int, ...]) -> int:
    return int(np.prod(s, dtype=np.int64))


def _rng(p: int, *key: Any) -> np.random.Generator:
    return np.random.default_rng([p] + [int(s) for s in np.ravel(key)] + [13])


def _cconst(p: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    r = _rng(p, shape)
    z = r.uniform(-1, 1, shape) + 1j * r.uniform(-1, 1, shape)
    return scale * z / np.sqrt(2)


def _pick(vals: list[Any], p: int) -> Any:
    return vals[-1 - (p % min(3, len(vals)))]


def _other(vals: list[Any], p: int) -> Any:
    return vals[(p // 5) % len(vals)]


def _compat(b: Any, a: Any) -> Any:
    """``b`` made to broadcast against ``a`` with a result of ``a``'s shape."""
    sa, sb = _shape(a), _shape(b)
    try:
        if np.broadcast_shapes(sa, sb) == sa:
            return b
    except ValueError:
        pass
    if sa and sb and sb[-1] == sa[-1]:
        return fnp.mean(b, axis=tuple(range(len(sb) - 1)))
    return fnp.mean(b)


def _unary(f: Callable[[Any], Any]) -> Op:
    return lambda vals, p: f(_pick(vals, p))


def _binary(f: Callable[[Any, Any], Any]) -> Op:
    def op(vals: list[Any], p: int) -> Any:
        a = _pick(vals, p)
        return f(a, _compat(_other(vals, p), a))

    return op


def _reduce(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.conj(a)
    return fnp.mean(a, axis=(p // 3) % len(s), keepdims=bool((p // 11) % 2))


def _axis(f: Callable[[Any, int], Any]) -> Op:
    def op(vals: list[Any], p: int) -> Any:
        a = _pick(vals, p)
        s = _shape(a)
        if not s:
            return fnp.sin(a * 0.5)
        return f(a, (p // 3) % len(s))

    return op


def _reshape(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2 or (p // 3) % 2:
        return fnp.reshape(a, (-1,))
    return fnp.reshape(a, s[::-1])


def _transpose(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    nd = len(_shape(a))
    if nd < 2:
        return fnp.expand_dims(a, 0)
    return fnp.transpose(a, list(range(nd))[::-1])


def _matmul_const(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return a * _cconst(p, ())
    k = s[-1]
    return fnp.matmul(a, _cconst(p, (k, 1 + (p // 3) % 3)) / k)


def _matmul_self(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2:
        return a * fnp.conj(a) * 0.5
    other = fnp.conj(a) if (p // 3) % 2 else a  # a a^H (Hermitian) or a a^T
    return fnp.matmul(a, fnp.swapaxes(other, -1, -2)) / s[-1]


def _einsum(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) != 1 or s[0] * s[0] > MAX_SIZE:
        return fnp.cos(a * 0.5)
    return fnp.einsum("i,j->ij", a, fnp.conj(a)) * 0.5


def _take(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.exp(a * 0.3)
    idx = _rng(p, s).integers(-s[0], s[0], 1 + (p // 7) % 3)
    return a[idx]


def _at_update(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.exp(a * 0.3)
    idx = _rng(p, s).integers(0, s[0], 1 + (p // 7) % 3)
    b = _compat(_other(vals, p), a[idx])
    b = fnp.broadcast_to(b, _shape(a[idx]))
    if np.result_type(a).kind != "c":
        b = fnp.real(b)  # numpy would discard the imaginary part (with a ComplexWarning)
    at = IndexUpdateHelper(a)[idx]
    kind = (p // 3) % 3
    if kind == 0:
        return at.set(fnp.sin(b * 0.5))
    if kind == 1:
        return at.add(b * 0.5)
    return at.multiply(1.0 + 0.2 * b)


def _where(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    b = _compat(_other(vals, p), a)
    shape = _shape(a)
    return fnp.where(_rng(p, shape).uniform(size=shape) < 0.5, a, fnp.conj(b))


def _concat(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s or _size(s) * 2 > MAX_SIZE:
        return fnp.cos(a * 0.5)
    return fnp.concatenate([a, fnp.conj(a) * 0.5], axis=(p // 3) % len(s))


def _linalg(vals: list[Any], p: int) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        if len(s) == 1:
            n = s[0]
            m = np.eye(n) * (n + 1) + _cconst(p, (n, n))
            return fnp.linalg.solve(m, a) * (n + 1) * 0.5
        return fnp.linalg.norm(a + 3.0) * 0.3
    n = s[-1]
    m = np.eye(n) * (n + 1) + a * 0.5  # |entries| <= 1: diagonally dominant
    kind = (p // 3) % 5
    if kind == 0:
        return fnp.linalg.inv(m) * (n + 1) * 0.5
    if kind == 1:
        return fnp.linalg.det(m) / (n + 1) ** n
    if kind == 2:
        return fnp.linalg.slogdet(m).logabsdet - n * np.log(n + 1)
    if kind == 3:
        return fnp.linalg.slogdet(m).sign
    return fnp.linalg.solve(m, a)


OPS: dict[str, Op] = {
    "sin": _unary(lambda a: fnp.sin(a * 0.5)),
    "cos": _unary(lambda a: fnp.cos(a * 0.5)),
    "exp": _unary(lambda a: fnp.exp(a * 0.3)),
    "tanh": _unary(lambda a: fnp.tanh(a * 0.3)),
    "sq": _unary(lambda a: a * a * 0.5),
    "cube": _unary(lambda a: a**3 * 0.25),
    "conj": _unary(fnp.conj),
    "real": _unary(fnp.real),
    "imag": _unary(fnp.imag),
    "rotate": _unary(lambda a: a * (0.6 + 0.8j)),
    "times_i": _unary(lambda a: a * 1j),
    "abs": _unary(lambda a: fnp.abs(a + 3.0) * 0.5),
    "abs2": _unary(lambda a: fnp.abs(a) ** 2 * 0.5),
    "angle": _unary(lambda a: fnp.angle(a + 3.0)),
    "log": _unary(lambda a: fnp.log(a + 3.0)),
    "sqrt": _unary(lambda a: fnp.sqrt(a + 3.0) - 1.0),
    "pow": _unary(lambda a: fnp.power(a + 3.0, 0.5 + 0.2j) * 0.5),
    "recip": _unary(lambda a: 1.0 / (a + 3.0)),
    "mul_conj": _binary(lambda a, b: a * fnp.conj(b) * 0.5),
    "mul": _binary(lambda a, b: a * b * 0.5),
    "average": _binary(lambda a, b: (a + b) * 0.5),
    "half_diff": _binary(lambda a, b: (a - b) * 0.5),
    "div": _binary(lambda a, b: a / (b + 3.0)),
    "cplx": _binary(lambda a, b: (fnp.real(a) + 1j * fnp.imag(b)) * 0.9),
    "reduce": _reduce,
    "reduce_all": _unary(fnp.mean),
    "cumsum": _axis(lambda a, ax: fnp.cumsum(a, axis=ax) / _shape(a)[ax]),
    "prod": _axis(lambda a, ax: fnp.prod(1.0 + 0.1 * a, axis=ax)),
    "flip": _axis(lambda a, ax: fnp.flip(a, axis=ax)),
    "reshape": _reshape,
    "transpose": _transpose,
    "matmul_const": _matmul_const,
    "matmul_self": _matmul_self,
    "einsum": _einsum,
    "take": _take,
    "at_update": _at_update,
    "where": _where,
    "concat": _concat,
    "linalg": _linalg,
}
OP_NAMES = sorted(OPS)
SHAPES = [(3,), (2, 3), (3, 3), (), (1, 4), (2, 2)]


def make_program(program: list[tuple[str, int]], n_inputs: int) -> Callable[..., Any]:
    """Registers as in tests/test_fuzz.py; the output is the last register plus a small
    multiple of the mean of all registers (so every op influences it)."""

    def f(*xs: Any) -> Any:
        vals = list(xs[:n_inputs])
        for name, p in program:
            out = OPS[name](vals, p)
            if _size(_shape(out)) > MAX_SIZE:
                out = fnp.mean(out)
            vals.append(out)
        everything = fnp.concatenate([fnp.ravel(v) for v in vals[n_inputs:]])
        return vals[-1] + 0.1 * fnp.mean(everything)

    return f


@st.composite
def programs(draw: Any) -> tuple[list[tuple[str, int]], list[np.ndarray]]:
    n_inputs = draw(st.integers(1, 2))
    kinds = [draw(st.sampled_from(["c", "c", "f"])) for _ in range(n_inputs)]
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_inputs)]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    args = []
    for k, s in zip(kinds, shapes):
        r = rng.uniform(0.2, 1.0, s) * np.exp(1j * rng.uniform(-np.pi, np.pi, s))
        args.append(r if k == "c" else np.real(r).copy())
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(OP_NAMES), st.integers(0, 10_000)), min_size=2, max_size=20
        )
    )
    return ops, args


def _describe(ops: list[tuple[str, int]], f: Callable[..., Any], args: list[np.ndarray]) -> str:
    try:
        ir = str(fg.make_ir(f)(*args))
    except Exception as e:
        ir = f"<make_ir failed: {type(e).__name__}: {e}>"
    return f"\nprogram: {ops}\ninputs: {[(a.shape, a.dtype.name) for a in args]}\nIR:\n{ir}"


def _check(
    ops: list[tuple[str, int]], args: list[np.ndarray], what: str, check: Callable[..., None]
) -> None:
    f = make_program(ops, len(args))
    try:
        check(f)
    except Exception as e:
        raise AssertionError(
            f"{what} failed: {type(e).__name__}: {e}{_describe(ops, f, args)}"
        ) from e


def _direction(a: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    r = rng.standard_normal(a.shape)
    if a.dtype.kind != "c":
        return r
    return (
        r + 0j
        if kind == "re"
        else 1j * r
        if kind == "im"
        else r + 1j * rng.standard_normal(a.shape)
    )


def _random_like(x: Any, rng: np.random.Generator) -> np.ndarray:
    x = np.asarray(x)
    r = rng.standard_normal(x.shape)
    return r + 1j * rng.standard_normal(x.shape) if x.dtype.kind == "c" else r


@FUZZ
@given(programs())
def test_complex_fuzz_derivatives(prog: Any) -> None:
    """jvp against central differences in real, imaginary and complex directions; vjp
    against jvp by ``Re<u, J v> == Re<J^T u, v>`` (no conjugation: JAX's convention)."""
    ops, args = prog

    def check(f: Callable[..., Any]) -> None:
        rng = np.random.default_rng(0)
        h = 1e-6
        out, f_vjp = fg.vjp(f, *args)
        u = _random_like(out, rng)
        cts = f_vjp(u)
        for c, a in zip(cts, args):
            assert np.asarray(c).dtype == a.dtype
        for kind in ("re", "im", "both"):
            vs = tuple(_direction(a, rng, kind) for a in args)
            _, t = fg.jvp(f, tuple(args), vs)
            plus = f(*[a + h * v for a, v in zip(args, vs)])
            minus = f(*[a - h * v for a, v in zip(args, vs)])
            fd = (np.asarray(plus) - np.asarray(minus)) / (2 * h)
            np.testing.assert_allclose(t, fd, rtol=1e-5, atol=1e-6)
            lhs = float(np.real(np.sum(u * np.asarray(t))))
            rhs = float(sum(np.real(np.sum(np.asarray(c) * v)) for c, v in zip(cts, vs)))
            assert abs(lhs - rhs) <= 1e-9 * (1.0 + abs(lhs)), (kind, lhs, rhs)

    _check(ops, args, "complex derivatives", check)


def _loss(f: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *xs: fnp.sum(fnp.abs(f(*xs)) ** 2) + fnp.real(fnp.sum(f(*xs)))


@FUZZ
@given(programs())
def test_complex_fuzz_jit(prog: Any) -> None:
    """``jit(f)`` and ``jit(grad(loss))`` equal eager execution, dtypes included."""
    ops, args = prog

    def check(f: Callable[..., Any]) -> None:
        want = f(*args)
        got = fg.jit(f)(*args)
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        loss = _loss(f)
        nums = tuple(range(len(args)))
        ge = fg.grad(loss, argnums=nums)(*args)
        gj = fg.jit(fg.grad(loss, argnums=nums))(*args)
        for a, b in zip(ge, gj):
            np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)

    _check(ops, args, "jit vs eager", check)


@FUZZ
@given(programs(), st.integers(1, 3))
def test_complex_fuzz_vmap(prog: Any, batch: int) -> None:
    """``vmap(f)`` and ``vmap(grad(loss))`` equal a loop over examples."""
    ops, args = prog
    rng = np.random.default_rng(1)
    batched = [np.stack([a * rng.uniform(0.8, 1.2, a.shape) for _ in range(batch)]) for a in args]

    def check(f: Callable[..., Any]) -> None:
        got = fg.vmap(f)(*batched)
        want = np.stack([f(*[b[j] for b in batched]) for j in range(batch)])
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        nums = tuple(range(len(args)))
        gb = fg.vmap(fg.grad(_loss(f), argnums=nums))(*batched)
        for k in nums:
            gl = np.stack(
                [fg.grad(_loss(f), argnums=k)(*[b[j] for b in batched]) for j in range(batch)]
            )
            np.testing.assert_allclose(gb[k], gl, rtol=1e-10, atol=1e-10)

    _check(ops, args, "vmap vs loop", check)
