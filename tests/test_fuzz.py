"""Fuzzing: random programs built from the primitive table, checked against finite differences,
against each other (forward vs reverse mode), against a Python loop (vmap) and, when
``funcgrad.jit`` exists, against eager execution.

A program is data — a list of ``(op name, parameter)`` pairs applied to a register file that
starts with the inputs — so hypothesis can shrink a failing program to a minimal one. Every op
keeps values bounded and away from poles and kinks (inputs lie in [0.5, 2]; products use
``tanh`` factors, divisions have denominators in [1, 3], means instead of sums), so finite
differences are reliable. Each op adapts to the shapes it gets (an op that does not apply to
a shape falls back to a smooth elementwise one), so every program is valid.

``FUNCGRAD_FUZZ_EXAMPLES`` sets the number of programs per test (default 100; 3 tests).
A failure prints the program, its inputs and its IR.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.numpy._indexing import IndexUpdateHelper
from funcgrad.test_util import check_grads

N_EXAMPLES = int(os.environ.get("FUNCGRAD_FUZZ_EXAMPLES", "100"))
MAX_SIZE = 48  # keep every intermediate small
FUZZ = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Op = Callable[[list[Any], int, Any], Any]


# --- helpers used by the ops (work on numpy arrays and on tracers alike) ----------------------
def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape)


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _rng(p: int, *shape_key: Any) -> np.random.Generator:
    """Deterministic randomness for constants: depends only on the op parameter and shapes."""
    return np.random.default_rng([p] + [int(s) for s in np.ravel(shape_key)] + [7])


def _const(p: int, shape: tuple[int, ...], dt: Any, lo: float = -1.0, hi: float = 1.0) -> Any:
    return _rng(p, shape).uniform(lo, hi, shape).astype(dt)


def _pick(vals: list[Any], p: int) -> Any:
    """A recent register (most ops chain)."""
    return vals[-1 - (p % min(3, len(vals)))]


def _other(vals: list[Any], p: int) -> Any:
    return vals[(p // 5) % len(vals)]


def _compat(b: Any, a: Any, exact: bool = False) -> Any:
    """``b`` made to broadcast against ``a`` with a small result: itself if it does, its mean
    over leading axes if the trailing axis matches, else its mean. ``exact``: the broadcast
    result must have ``a``'s shape."""
    sa, sb = _shape(a), _shape(b)
    try:
        out = np.broadcast_shapes(sa, sb)
        if _size(out) <= MAX_SIZE and (not exact or out == sa):
            return b
    except ValueError:
        pass
    if sa and sb and sb[-1] == sa[-1] and len(sb) > 1:
        return fnp.mean(b, axis=tuple(range(len(sb) - 1)))
    return fnp.mean(b)


def _smooth(a: Any) -> Any:
    return fnp.tanh(a)


# --- the op table ---------------------------------------------------------------------------
def _unary(f: Callable[[Any], Any]) -> Op:
    return lambda vals, p, dt: f(_pick(vals, p))


def _binary(f: Callable[[Any, Any], Any]) -> Op:
    def op(vals: list[Any], p: int, dt: Any) -> Any:
        a = _pick(vals, p)
        return f(a, _compat(_other(vals, p), a))

    return op


def _reduce(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.sin(a)
    axis = (p // 3) % len(s)
    keep = bool((p // 11) % 2)
    if dt == np.float64 and (p // 13) % 3 == 0:  # max: ties/kinks are negligible in float64
        return fnp.max(a, axis=axis, keepdims=keep)
    return fnp.mean(a, axis=axis, keepdims=keep)


def _reduce_all(vals: list[Any], p: int, dt: Any) -> Any:
    return fnp.mean(_pick(vals, p))


def _reshape(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    choice = (p // 3) % 3
    if choice == 0 or len(s) < 2:
        return fnp.reshape(a, (-1,))
    if choice == 1:
        return fnp.reshape(a, s[::-1])
    return fnp.reshape(a, (s[0], 1, -1))


def _transpose(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    nd = len(_shape(a))
    if nd < 2:
        return fnp.expand_dims(a, 0) if _size(_shape(a)) * 2 <= MAX_SIZE else fnp.cos(a)
    perm = list(range(nd))[::-1] if (p // 3) % 2 else [1, 0] + list(range(2, nd))
    return fnp.transpose(a, perm)


def _squeeze_expand(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if 1 in s:
        return fnp.squeeze(a)
    if len(s) < 3:
        return fnp.expand_dims(a, (p // 3) % (len(s) + 1))
    return fnp.sin(a)


def _broadcast(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if _size(s) * 2 > MAX_SIZE or len(s) > 2:
        return fnp.tanh(a)
    return fnp.broadcast_to(a, (2,) + s) * _const(p, (2,) + s, dt, 0.5, 1.0)


def _matmul_const(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return a * _const(p, (), dt)
    k = s[-1]
    m = 1 + (p // 3) % 3
    w = _const(p, (k, m), dt) / k
    return fnp.matmul(a, w)


def _matmul_self(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2:
        return fnp.sin(a) * a if s else a * a
    return fnp.matmul(a, fnp.swapaxes(a, -1, -2)) / s[-1]


def _take(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.cos(a)
    axis = (p // 3) % len(s)
    n = 1 + (p // 7) % 4
    idx = _rng(p, s).integers(-s[axis], s[axis], n)  # repeats and negative indices
    if _size(s) // s[axis] * n > MAX_SIZE:
        return fnp.cos(a)
    return a[(slice(None),) * axis + (idx,)]


def _take_2d(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2:
        return _take(vals, p, dt)
    r = _rng(p, s)
    i = r.integers(0, s[0], (2, 1))
    if (p // 3) % 2:
        return a[i, ..., r.integers(0, s[-1], (1, 3))]
    return a[i, r.integers(0, s[1], (1, 3))]


def _mask(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    m = _rng(p, s).uniform(size=s) < 0.6
    if not s or not m.any():
        return fnp.tanh(a)
    return a[m]


def _slice(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s or s[0] < 2:
        return fnp.sin(a)
    return a[1:] if (p // 3) % 2 else a[::-1]


def _at_update(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.tanh(a)
    idx = _rng(p, s).integers(0, s[0], 1 + (p // 7) % 3)
    b = _compat(_other(vals, p), a[idx], exact=True)
    at = IndexUpdateHelper(a)[idx]  # also works on numpy arrays (finite differences)
    kind = (p // 3) % 3
    if kind == 0:
        return at.set(fnp.tanh(b))
    if kind == 1:
        return at.add(fnp.sin(b) * 0.5)
    return at.multiply(1.5 + fnp.tanh(b) * 0.5)


def _where(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    b = _compat(_other(vals, p), a)
    shape = np.broadcast_shapes(_shape(a), _shape(b))
    return fnp.where(_rng(p, shape).uniform(size=shape) < 0.5, a, fnp.sin(b))


def _concat(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    b = _other(vals, p)
    sa, sb = _shape(a), _shape(b)
    if not sa or _size(sa) * 2 > MAX_SIZE:
        return fnp.cos(a)
    if len(sa) == len(sb) and sa[1:] == sb[1:] and _size(sa) + _size(sb) <= MAX_SIZE:
        return fnp.concatenate([a, fnp.sin(b)], axis=0)
    axis = (p // 3) % len(sa)
    return fnp.concatenate([a, a * 0.5], axis=axis)


def _norm(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.sqrt(1.0 + a * a)
    return fnp.linalg.norm(a + 3.0, axis=-1)  # inputs > -3: never at the origin


def _inv(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        return fnp.arctan(a)
    n = s[-1]
    return fnp.linalg.inv(np.eye(n, dtype=dt) * (n + 1) + fnp.tanh(a))


def _fnp(name: str) -> Callable[..., Any] | None:
    """A funcgrad.numpy function if this version has it (else the op falls back)."""
    return getattr(fnp, name, None)


def _axis_op(name: str, call: Callable[[Callable[..., Any], Any, int, int], Any]) -> Op:
    """An op using ``fnp.<name>`` along an axis chosen by ``p``; falls back to ``sin``."""

    def op(vals: list[Any], p: int, dt: Any) -> Any:
        a = _pick(vals, p)
        s = _shape(a)
        f = _fnp(name)
        if f is None or not s:
            return fnp.sin(a)
        out = call(f, a, (p // 3) % len(s), p)
        return out if _size(_shape(out)) <= MAX_SIZE else fnp.sin(a)

    return op


def _nonsmooth(op: Op) -> Op:
    """Ops with kinks or value-dependent indices: float64 only (float32 finite differences
    use a large step that could cross a kink); float32 programs get ``tanh`` instead."""

    def wrapped(vals: list[Any], p: int, dt: Any) -> Any:
        if dt != np.float64:
            return fnp.tanh(_pick(vals, p))
        return op(vals, p, dt)

    return wrapped


def _square_from(a: Any) -> Any | None:
    """A well-conditioned symmetric positive definite matrix (stack) built from ``a``."""
    s = _shape(a)
    if len(s) < 2:
        return None
    k = s[-1]
    g = fnp.matmul(a, fnp.swapaxes(a, -1, -2)) / k
    return g + np.eye(s[-2], dtype=a.dtype) * 2.0


def _linalg(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    m = _square_from(a)
    if m is None:
        return fnp.cos(a)
    la = fnp.linalg
    kind = (p // 3) % 5
    if kind == 0:
        return la.solve(m, a)
    if kind == 1:
        return fnp.log(la.det(m))
    if kind == 2:
        return la.eigvalsh(m)
    if kind == 3:
        return la.cholesky(m)
    return la.slogdet(m)[1]


def _take_argmax(vals: list[Any], p: int, dt: Any) -> Any:
    """A value-dependent (traced) integer index: abstract under vmap/jit."""
    a = _pick(vals, p)
    s = _shape(a)
    if not s:
        return fnp.sin(a)
    b = _other(vals, p)
    i = fnp.argmax(a, axis=-1)  # shape s[:-1], values < s[-1]
    flat = fnp.ravel(b)
    if _size(_shape(flat)) < s[-1]:
        return fnp.sin(a)
    # `flat` may be a plain numpy array (an undifferentiated input), which cannot be indexed
    # by a tracer (numpy's own indexing): lift it
    flat = flat + 0.0 * a[(0,) * len(s)]
    return flat[i] * a[..., 0] if (p // 3) % 2 else IndexUpdateHelper(a)[..., 0].add(flat[i] * 0.5)


def _sort_take(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    s = _shape(a)
    if not s or _fnp("argsort") is None or _fnp("take_along_axis") is None:
        return fnp.sin(a)
    axis = (p // 3) % len(s)
    if (p // 7) % 2:
        return fnp.sort(a, axis=axis)
    order = fnp.argsort(a, axis=axis)
    return fnp.take_along_axis(fnp.sin(a), order, axis=axis)


def _maximum(vals: list[Any], p: int, dt: Any) -> Any:
    a = _pick(vals, p)
    return fnp.maximum(a, _compat(_other(vals, p), a))


EXTRA_OPS: dict[str, Op] = {
    "cumsum": _axis_op("cumsum", lambda f, a, ax, p: f(a, axis=ax) / _shape(a)[ax]),
    "cumprod": _axis_op("cumprod", lambda f, a, ax, p: f(1.0 + 0.05 * fnp.tanh(a), axis=ax)),
    "prod": _axis_op("prod", lambda f, a, ax, p: f(1.0 + 0.1 * fnp.tanh(a), axis=ax)),
    "flip": _axis_op("flip", lambda f, a, ax, p: f(a, axis=ax)),
    "roll": _axis_op("roll", lambda f, a, ax, p: f(a, 1 + p % 3, axis=ax)),
    "repeat": _axis_op("repeat", lambda f, a, ax, p: f(a, 2, axis=ax)),
    "tile": _axis_op("tile", lambda f, a, ax, p: f(a, (2,) + (1,) * ax)),
    "pad": _axis_op(
        "pad", lambda f, a, ax, p: f(a, [(0, 0)] * ax + [(1, p % 2)] + [(0, 0)] * (a.ndim - ax - 1))
    ),
    "tril": _axis_op("tril", lambda f, a, ax, p: f(a, k=p % 2) if a.ndim >= 2 else f(a)),
    "diagonal": _axis_op(
        "diagonal",
        lambda f, a, ax, p: f(a, axis1=-2, axis2=-1) if a.ndim >= 2 else fnp.cos(a),
    ),
    "einsum": _axis_op(
        "einsum",
        lambda f, a, ax, p: (
            f("...i,...j->...ij", a, fnp.tanh(a)) if a.ndim <= 2 else f("...ij->...j", a)
        ),
    ),
    "logaddexp": _binary(lambda a, b: fnp.logaddexp(a, b) if _fnp("logaddexp") else a + b),
    "hypot": _binary(lambda a, b: fnp.hypot(a, 1.0 + b * b) if _fnp("hypot") else a * b),
    "linalg": _linalg,
    "take_argmax": _nonsmooth(_take_argmax),
    "sort_take": _nonsmooth(_sort_take),
    "maximum": _nonsmooth(_maximum),
    "abs": _nonsmooth(_unary(lambda a: fnp.abs(a - 1.0))),
}


OPS: dict[str, Op] = {
    "sin": _unary(fnp.sin),
    "cos": _unary(fnp.cos),
    "tanh": _unary(fnp.tanh),
    "exp_tanh": _unary(lambda a: fnp.exp(fnp.tanh(a))),
    "log1p_sq": _unary(lambda a: fnp.log1p(a * a)),
    "sqrt_1p": _unary(lambda a: fnp.sqrt(1.0 + a * a)),
    "recip": _unary(lambda a: 1.0 / (1.0 + a * a)),
    "cube_tanh": _unary(lambda a: fnp.tanh(a) ** 3),
    "affine": _unary(lambda a: a * 0.7 - 0.1),
    "arctan": _unary(fnp.arctan),
    "neg": _unary(lambda a: -a),
    "average": _binary(lambda a, b: (a + b) * 0.5),
    "half_diff": _binary(lambda a, b: (a - b) * 0.5),
    "mul_tanh": _binary(lambda a, b: a * fnp.tanh(b)),
    "div_safe": _binary(lambda a, b: a / (2.0 + fnp.tanh(b))),
    "pow_safe": _binary(lambda a, b: fnp.power(1.5 + 0.5 * fnp.tanh(a), fnp.tanh(b))),
    "reduce": _reduce,
    "reduce_all": _reduce_all,
    "reshape": _reshape,
    "transpose": _transpose,
    "squeeze_expand": _squeeze_expand,
    "broadcast": _broadcast,
    "matmul_const": _matmul_const,
    "matmul_self": _matmul_self,
    "take": _take,
    "take_2d": _take_2d,
    "mask": _mask,
    "slice": _slice,
    "at_update": _at_update,
    "where": _where,
    "concat": _concat,
    "norm": _norm,
    "inv": _inv,
    **EXTRA_OPS,
}
OP_NAMES = sorted(OPS)

SHAPES = [(3,), (2, 3), (4,), (3, 3), (2, 1, 3), (), (1, 4)]


def make_program(program: list[tuple[str, int]], n_inputs: int) -> Callable[..., Any]:
    """The function computed by ``program``: ops append to a register file of values; the
    result is the last register plus a small multiple of the mean of all registers' entries
    (so every op influences the output)."""

    def f(*xs: Any) -> Any:
        dt = xs[0].dtype
        vals = list(xs[:n_inputs])
        for name, p in program:
            out = OPS[name](vals, p, dt)
            if _size(_shape(out)) > MAX_SIZE:  # safety net: keep programs small
                out = fnp.mean(out)
            vals.append(out)
        everything = fnp.concatenate([fnp.ravel(v) for v in vals[n_inputs:]])
        return vals[-1] + 0.1 * fnp.mean(everything)

    return f


@st.composite
def programs(draw: Any) -> tuple[list[tuple[str, int]], list[np.ndarray]]:
    n_inputs = draw(st.integers(1, 2))
    dt = draw(st.sampled_from([np.float64, np.float32]))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_inputs)]
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    args = [rng.uniform(0.5, 2.0, s).astype(dt) for s in shapes]
    ops = draw(
        st.lists(
            st.tuples(st.sampled_from(OP_NAMES), st.integers(0, 10_000)), min_size=3, max_size=30
        )
    )
    return ops, args


def _describe(ops: list[tuple[str, int]], f: Callable[..., Any], args: list[np.ndarray]) -> str:
    try:
        ir = str(fg.make_ir(f)(*args))
    except Exception as e:  # the IR itself may be what fails
        ir = f"<make_ir failed: {type(e).__name__}: {e}>"
    shapes = [(a.shape, a.dtype.name) for a in args]
    return f"\nprogram: {ops}\ninputs: {shapes}\nIR:\n{ir}"


def _check(
    ops: list[tuple[str, int]],
    args: list[np.ndarray],
    what: str,
    check: Callable[[Callable[..., Any]], None],
) -> None:
    f = make_program(ops, len(args))
    try:
        check(f)
    except Exception as e:
        raise AssertionError(
            f"{what} failed: {type(e).__name__}: {e}{_describe(ops, f, args)}"
        ) from e


def _tols(args: list[np.ndarray]) -> tuple[float, float]:
    return (1e-4, 1e-4) if args[0].dtype == np.float32 else (1e-9, 1e-8)


@FUZZ
@given(programs())
def test_fuzz_derivatives(prog: Any) -> None:
    """Reverse mode against central differences; forward mode against reverse mode
    (``<vjp(c), t> == <c, jvp(t)>``)."""
    ops, args = prog

    def rev_vs_fd(f: Callable[..., Any]) -> None:
        check_grads(f, args, order=1, modes=("rev",))

    _check(ops, args, "reverse mode vs finite differences", rev_vs_fd)

    def jvp_vs_vjp(f: Callable[..., Any]) -> None:
        rng = np.random.default_rng(0)
        ts = tuple(rng.standard_normal(a.shape).astype(a.dtype) for a in args)
        out, tout = fg.jvp(f, tuple(args), ts)
        ct = rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)
        _, f_vjp = fg.vjp(f, *args)
        cts = f_vjp(ct)
        lhs = sum(float(np.sum(np.asarray(c, np.float64) * t)) for c, t in zip(cts, ts))
        rhs = float(np.sum(np.asarray(ct, np.float64) * np.asarray(tout, np.float64)))
        atol, rtol = _tols(args)
        scale = 1.0 + sum(float(np.sum(np.abs(np.asarray(c, np.float64)))) for c in cts)
        assert abs(lhs - rhs) <= atol * scale * 10 + rtol * abs(rhs), (lhs, rhs)

    _check(ops, args, "jvp vs vjp (dot-product identity)", jvp_vs_vjp)


@FUZZ
@given(programs(), st.integers(1, 3))
def test_fuzz_vmap(prog: Any, batch: int) -> None:
    """``vmap(f)`` equals ``f`` applied example by example (values and gradients)."""
    ops, args = prog
    rng = np.random.default_rng(1)
    batched = [
        np.stack([a * rng.uniform(0.8, 1.2, a.shape).astype(a.dtype) for _ in range(batch)])
        for a in args
    ]
    atol, rtol = _tols(args)

    def vmap_vs_loop(f: Callable[..., Any]) -> None:
        got = fg.vmap(f)(*batched)
        want = np.stack([f(*[b[j] for b in batched]) for j in range(batch)])
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=rtol * 10, atol=atol * 10)

        def loss(*xs: Any) -> Any:
            return fnp.sum(f(*xs))

        gb = fg.vmap(fg.grad(loss, argnums=tuple(range(len(args)))))(*batched)
        for k in range(len(args)):
            gl = np.stack(
                [fg.grad(loss, argnums=k)(*[b[j] for b in batched]) for j in range(batch)]
            )
            np.testing.assert_allclose(gb[k], gl, rtol=rtol * 10, atol=atol * 10)

    _check(ops, args, "vmap vs loop", vmap_vs_loop)


@FUZZ
@given(programs())
def test_fuzz_jit(prog: Any) -> None:
    """``jit(f)`` (and ``jit(grad)``) equals eager execution."""
    if not hasattr(fg, "jit"):
        pytest.skip("funcgrad.jit is not available")
    ops, args = prog
    atol, rtol = _tols(args)

    def jit_vs_eager(f: Callable[..., Any]) -> None:
        jf = fg.jit(f)
        np.testing.assert_allclose(jf(*args), f(*args), rtol=rtol * 10, atol=atol * 10)
        np.testing.assert_allclose(jf(*args), f(*args), rtol=rtol * 10, atol=atol * 10)  # cached

        def loss(*xs: Any) -> Any:
            return fnp.sum(f(*xs))

        gj = fg.jit(fg.grad(loss))(*args)
        np.testing.assert_allclose(gj, fg.grad(loss)(*args), rtol=rtol * 10, atol=atol * 10)

    _check(ops, args, "jit vs eager", jit_vs_eager)


def _fuzz_backend(backend: str, n: int, groups: list[int]) -> Any:
    """``jit`` with fused groups on ``backend`` (numexpr/numba kernels) equals eager execution
    on ``n`` random programs (fewer for numba: each program compiles its kernels); appends
    each gradient program's number of groups on ``backend`` to ``groups``."""

    @settings(FUZZ, max_examples=max(1, min(N_EXAMPLES, n)))
    @given(programs())
    def run(prog: Any) -> None:
        ops, args = prog
        atol, rtol = _tols(args)

        def jit_vs_eager(f: Callable[..., Any]) -> None:
            jf = fg.jit(f)
            np.testing.assert_allclose(jf(*args), f(*args), rtol=rtol * 10, atol=atol * 10)

            def loss(*xs: Any) -> Any:
                return fnp.sum(f(*xs))

            jg = fg.jit(fg.grad(loss))
            np.testing.assert_allclose(
                jg(*args), fg.grad(loss)(*args), rtol=rtol * 10, atol=atol * 10
            )
            groups.append(jg.lower(*args).source.count(f"-> {backend}"))

        _check(ops, args, f"jit [{backend}] vs eager", jit_vs_eager)

    return run


@pytest.mark.usefixtures("isolated_kernel_cache")  # (tests/conftest.py)
@pytest.mark.parametrize("backend, n", [("numexpr", 40), ("numba", 6)])
def test_fuzz_jit_fused_backends(backend: str, n: int) -> None:
    """The compiled fused back ends against eager execution (the default numpy back end is
    covered by test_fuzz_jit)."""
    from funcgrad.transforms import kernels

    if not kernels.available(backend):
        pytest.skip(f"{backend} is not installed")
    old = fg.config.jit_backend
    fg.config.update("jit_backend", backend)
    groups: list[int] = []
    try:
        _fuzz_backend(backend, n, groups)()
    finally:
        fg.config.update("jit_backend", old)
    assert sum(groups) > 0, f"no program ran a fused group on {backend}: {groups}"
