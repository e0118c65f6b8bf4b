"""Implementation of :mod:`funcgrad.test_util`; the public names are gathered there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.pytree import tree_flatten, tree_map
from funcgrad.transforms.forward import jvp
from funcgrad.transforms.reverse import vjp

__all__ = ["check_grads", "numerical_jvp"]

_EPS = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-2, np.dtype(np.float16): 1e-1}
_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 2e-2, np.dtype(np.float16): 1e-1}


def _real_dtype(d: np.dtype) -> np.dtype:
    return np.finfo(d).dtype if d.kind == "c" else d


def _lowest_dtype(args: Any) -> np.dtype:
    leaves = [np.asarray(x) for x in tree_flatten(args)[0]]
    floats = [_real_dtype(x.dtype) for x in leaves if x.dtype.kind in "fc"]
    return min(floats or [np.dtype(np.float64)], key=lambda d: d.itemsize)


def _wide(x: Any) -> np.ndarray:
    """float64, or complex128 for complex values (never dropping an imaginary part)."""
    x = np.asarray(x)
    return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)


def _inner(a: Any, b: Any) -> float:
    """``Re sum(a * b)``: the pairing under which vjp is the transpose of jvp (JAX's
    convention for complex numbers: no conjugation)."""
    la, lb = tree_flatten(a)[0], tree_flatten(b)[0]
    return float(sum(np.real(np.sum(_wide(x) * _wide(y))) for x, y in zip(la, lb)))


def _random_like(tree: Any, rng: np.random.Generator) -> Any:
    def one(x: Any) -> np.ndarray:
        d = np.asarray(x).dtype
        r = rng.standard_normal(np.shape(x))
        if d.kind == "c":
            r = r + 1j * rng.standard_normal(np.shape(x))
        return r.astype(d)

    return tree_map(one, tree)


def _as_argnum(args: Any) -> tuple[int, ...] | None:
    """autograd's ``argnum`` in the place of ``args``: an int or a tuple of ints."""
    if isinstance(args, int) and not isinstance(args, bool):
        return (args,)
    if (
        isinstance(args, tuple)
        and args
        and all(isinstance(a, int) and not isinstance(a, bool) for a in args)
    ):
        return args
    return None


def numerical_jvp(
    fun: Callable[..., Any], args: Sequence[Any], tangents: Sequence[Any], eps: float
) -> Any:
    """Central difference ``(f(x + eps t) - f(x - eps t)) / (2 eps)``, in float64 (complex128
    for complex values: a complex tangent moves in the real and imaginary directions)."""

    def shift(s: float) -> Any:
        return tree_map(
            lambda x, t: (_wide(x) + s * eps * _wide(t)).astype(np.asarray(x).dtype),
            tuple(args),
            tuple(tangents),
        )

    hi, lo = fun(*shift(1.0)), fun(*shift(-1.0))
    return tree_map(lambda a, b: (_wide(a) - _wide(b)) / (2 * eps), hi, lo)


def _assert_close(name: str, got: Any, want: Any, atol: float, rtol: float) -> None:
    gl, gt = tree_flatten(got)
    wl, wt = tree_flatten(want)
    if gt != wt:
        raise AssertionError(f"check_grads {name}: structure {gt} differs from expected {wt}")
    worst = None
    for i, (g, w) in enumerate(zip(gl, wl)):
        g, w = _wide(g), _wide(w)
        if g.shape != w.shape:
            raise AssertionError(f"check_grads {name}: output {i} shape {g.shape} != {w.shape}")
        err = np.abs(g - w)
        bound = atol + rtol * np.abs(w)
        excess = err - bound
        if excess.size and (worst is None or np.max(excess) > worst[0]):
            j = np.unravel_index(np.argmax(excess), excess.shape)
            worst = (float(np.max(excess)), i, j, g[j][()], w[j][()], float(err[j]))
    if worst is not None and worst[0] > 0:
        _, i, j, g, w, e = worst
        raise AssertionError(
            f"check_grads {name}: worst mismatch at output leaf {i}, index {tuple(map(int, j))}: "
            f"autodiff {g!r} vs finite differences {w!r} (abs error {e:.3g}, atol={atol}, "
            f"rtol={rtol})"
        )


def check_grads(
    fun: Callable[..., Any],
    args: Any = None,
    order: int | None = None,
    modes: Sequence[str] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    eps: float | None = None,
) -> Any:
    """Check every derivative of ``fun`` at ``args`` up to ``order`` against central finite
    differences, in forward (``jvp``) and/or reverse (``vjp``) mode. Raises AssertionError
    naming the worst mismatch. Complex arguments get complex random directions; reverse mode
    is checked with ``Re <ct, J t> == Re <vjp(ct), t>`` (JAX's convention, no conjugation).

    JAX's form is ``check_grads(f, args, order, modes=("fwd", "rev"))`` (order 1 when not
    given). autograd's curried form is accepted too: ``check_grads(f, argnum=0, modes=None,
    order=2)(*args, **kwargs)`` — without ``args`` (or with an int or tuple of ints, autograd's
    ``argnum``, in its place) it returns a checker that differentiates with respect to
    argument(s) ``argnum`` only, with autograd's defaults (both modes, order 2).

    >>> import numpy as np, funcgrad.numpy as fnp
    >>> check_grads(lambda x: fnp.sin(x) * x, (np.array([0.5, 1.0]),), order=2)
    >>> check_grads(lambda x, y: x * fnp.cos(y), modes=["rev"])(np.ones(2), 0.3)
    """
    argnum = _as_argnum(args)
    if args is None or argnum is not None:
        nums = (0,) if argnum is None else argnum
        if isinstance(order, (list, tuple)):  # autograd's positional order: argnum, modes, order
            order, modes = modes, order

        def checker(*a: Any, **kw: Any) -> None:
            if not a:
                raise LocatedTypeError("check_grads(...)(*args): give the arguments to check at")

            def partial(*d: Any) -> Any:
                full = list(a)
                for i, x in zip(nums, d):
                    full[i] = x
                return fun(*full, **kw)

            check_grads(
                partial,
                tuple(a[i] for i in nums),
                2 if order is None else order,
                ("fwd", "rev") if modes is None else modes,
                atol,
                rtol,
                eps,
            )

        return checker
    if order is None:
        order = 1
    if modes is None:
        modes = ("fwd", "rev")
    args = tuple(args)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise LocatedValueError(f"check_grads: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    if order < 1:
        raise LocatedValueError("check_grads: order must be >= 1")
    dt = _lowest_dtype(args)
    eps_ = eps if eps is not None else _EPS.get(dt, 1e-5)
    atol_ = atol if atol is not None else _TOL.get(dt, 1e-5)
    rtol_ = rtol if rtol is not None else _TOL.get(dt, 1e-5)
    rng = np.random.default_rng(1234)

    def check(f: Callable[..., Any], xs: tuple[Any, ...], k: int) -> None:
        t = _random_like(xs, rng)
        num = numerical_jvp(f, xs, t, eps_)
        if "fwd" in modes:
            _, got = jvp(f, xs, t)
            _assert_close(f"(fwd, order {order - k + 1})", got, num, atol_, rtol_)
            if k > 1:
                check(lambda *a: jvp(f, a, t)[1], xs, k - 1)
        if "rev" in modes:
            out, f_vjp = vjp(f, *xs)
            ct = _random_like(out, rng)
            got_ip = _inner(f_vjp(ct), t)
            want_ip = _inner(ct, num)
            _assert_close(
                f"(rev, order {order - k + 1})",
                np.float64(got_ip),
                np.float64(want_ip),
                atol_ * 10,
                rtol_,
            )
            if k > 1:
                check(lambda *a: vjp(f, *a)[1](ct), xs, k - 1)

    check(fun, args, order)
