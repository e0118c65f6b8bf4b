"""Issue 13, item 2: crashes and edge values, each checked against JAX's recorded answer
(``tests/data/complex_refs.json``, section ``edge``) or numpy and finite differences."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

REFS = json.loads((pathlib.Path(__file__).parent / "data" / "complex_refs.json").read_text())


def _dec(d: dict[str, Any]) -> Any:
    re = np.asarray(d["re"], dtype=float)
    x = re + 1j * np.asarray(d["im"], dtype=float) if "im" in d else re
    return x.astype(d["dtype"])


@pytest.mark.parametrize(
    "case", REFS["edge"], ids=[f"{c['kind']}:{c['expr']}" for c in REFS["edge"]]
)
def test_edge_values_match_jax(case: dict[str, Any]) -> None:
    def f(z: Any) -> Any:
        return eval(case["expr"], {"np": fnp}, {"z": z})  # noqa: S307 - recorded expressions

    z = _dec(case["z"])
    with np.errstate(all="ignore"):
        if case["kind"] == "grad":
            got = fg.grad(f)(z)
        elif case["kind"] == "jvp":
            got = fg.jvp(f, (z,), (_dec(case["t"]).astype(z.dtype),))[1]
        else:  # a Python float cotangent, as in the report
            got = fg.vjp(f, z)[1](float(case["t"]["re"]))[0]
    np.testing.assert_allclose(got, _dec(case["result"]), rtol=1e-12, atol=1e-12)


def test_maximum_minimum_vjp_python_float_cotangent() -> None:
    for fn in (fnp.maximum, fnp.minimum, fnp.fmax, fnp.fmin):
        (g,) = fg.vjp(lambda x, fn=fn: fn(x, 1.0), 2.0)[1](1.0)
        assert g == (1.0 if fn in (fnp.maximum, fnp.fmax) else 0.0)


def test_integer_exponent_zero_has_zero_derivative() -> None:
    assert fg.grad(lambda x: x**0)(0.0) == 0.0
    assert fg.jvp(lambda x: x**0, (0.0,), (1.0,))[1] == 0.0
    g = fg.grad(lambda x: fnp.sum(fnp.power(x, np.array([0, 1, 3]))))(np.array([0.0, 0.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 12.0])


def test_integer_cast_path_has_zero_derivative() -> None:
    assert fg.grad(lambda x: x.astype(np.int32) * x)(3.7) == 3.0
    assert fg.grad(lambda x: fnp.astype(x * 2.0, np.int64).astype(float) + x)(1.2) == 1.0
    assert fg.jvp(lambda x: x.astype(np.int32) * x, (3.7,), (1.0,))[1] == 3.0


@pytest.mark.parametrize(
    "kw",
    [
        {"num": 5},
        {"num": 1},
        {"num": 0},
        {"num": 4, "endpoint": False},
        {"num": 3, "retstep": True},
        {"num": 4, "axis": 1},
        {"num": 4, "axis": -1},
        {"num": 4, "dtype": np.int64},
        {"num": 4, "endpoint": False, "retstep": True},
    ],
)
def test_linspace_traced_matches_numpy(kw: dict[str, Any]) -> None:
    a, b = np.array([1.0, -2.0]), np.array([3.0, 5.5])
    want = np.linspace(a, b, **kw)
    got = fg.jit(lambda p, q: fnp.linspace(p, q, **kw))(a, b)
    if kw.get("retstep"):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1])
        got, want = got[0], want[0]
    np.testing.assert_array_equal(got, want)  # endpoints exact, as numpy
    assert got.dtype == want.dtype


def test_linspace_logspace_geomspace_derivatives() -> None:
    h = 1e-6
    for fn in (
        lambda s: np.linspace(s, 2 * s + 1.0, 6),  # plain numpy dispatches to funcgrad
        lambda s: fnp.linspace(0.0, s, 5, endpoint=False),
        lambda s: fnp.logspace(s, 2.0, 4),
        lambda s: fnp.logspace(0.0, s, 4, base=2.0),
        lambda s: fnp.geomspace(s, 8.0, 4),
        lambda s: fnp.geomspace(-s, -8.0, 4, endpoint=False),
    ):
        s = 0.7
        _, t = fg.jvp(fn, (s,), (1.0,))
        fd = (np.asarray(fn(s + h)) - np.asarray(fn(s - h))) / (2 * h)
        np.testing.assert_allclose(t, fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(fg.jacrev(fn)(s), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        fg.jit(lambda s: fnp.geomspace(s, 8.0, 4))(0.5), np.geomspace(0.5, 8.0, 4)
    )
    with pytest.raises(NotImplementedError, match="different signs"):
        fg.grad(lambda s: fnp.sum(fnp.geomspace(s, -8.0, 4)))(0.5)
    with pytest.raises(ValueError, match="non-negative"):
        fg.grad(lambda s: fnp.sum(fnp.linspace(0.0, s, -1)))(0.5)


def test_jit_reshape_of_python_scalar_argument() -> None:
    np.testing.assert_array_equal(fg.jit(lambda a: fnp.reshape(a, (1,)) * 2.0)(0.5), [1.0])
