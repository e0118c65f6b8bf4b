"""fg.explain: the story of one forward and backward run, checked against derivatives worked out
by hand and central finite differences."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def neuron(w: Any, x: Any, y: Any) -> Any:
    prediction = w * x
    return (prediction - y) ** 2


def test_one_neuron_story_in_order() -> None:
    # x = 2, y = 4, w = 1: prediction 2, loss (2-4)^2 = 4, dL/dprediction = 2(2-4) = -4,
    # dL/dw = dL/dprediction * x = -8.
    ex = fg.explain(neuron)(1.0, 2.0, 4.0)
    lines = str(ex).splitlines()

    def find(pattern: str, start: int) -> int:
        for i in range(start, len(lines)):
            if re.search(pattern, lines[i]):
                return i
        raise AssertionError(f"{pattern!r} not found after line {start} in:\n{ex}")

    i_pred = find(r"prediction = w \* x\s+a = mul w 2\.0\s+2\.0$", 0)
    i_loss = find(r"\(prediction - y\) \*\* 2\s+c = integer_pow\[y=2\] b\s+4\.0$", i_pred + 1)
    i_dpred = find(r"prediction = w \* x\s+a = mul w 2\.0\s+dL/da = -4\.0$", i_loss + 1)
    i_dw = find(r"^\s+dL/dw = -8\.0$", i_dpred + 1)
    assert i_pred < i_loss < i_dpred < i_dw
    # The same story as data.
    story = [(s.phase, s.name, float(s.value)) for s in ex.steps]
    assert story == [
        ("forward", "a", 2.0),
        ("forward", "b", -2.0),
        ("forward", "c", 4.0),
        ("backward", "c", 1.0),
        ("backward", "b", -4.0),
        ("backward", "a", -4.0),
        ("gradient", "w", -8.0),
    ]
    assert ex.value == 4.0 and ex.grads == -8.0
    assert all(s.where.endswith(f":{neuron.__code__.co_firstlineno + 1}") for s in ex.steps[:1])
    assert "prediction = w * x" in ex.steps[0].source


def test_explain_matches_hand_derivatives_for_a_layer() -> None:
    rng = np.random.default_rng(3)
    A, c, w = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)

    def f(w: Any, A: Any, c: Any) -> Any:
        h = fnp.tanh(A @ w)
        return fnp.sum(h * c)

    ex = fg.explain(f)(w, A, c)
    z = A @ w
    h = np.tanh(z)
    # Forward values, in program order.
    fwd = [s for s in ex.steps if s.phase == "forward"]
    np.testing.assert_allclose(fwd[0].value, z, rtol=1e-14)
    np.testing.assert_allclose(fwd[1].value, h, rtol=1e-14)
    np.testing.assert_allclose(fwd[-1].value, np.sum(h * c), rtol=1e-14)
    # Cotangents: dL/dh = c, dL/dz = c (1 - tanh^2 z), dL/dw = A^T dL/dz.
    bwd = {s.name: s.value for s in ex.steps if s.phase == "backward"}
    names = [s.name for s in fwd]
    np.testing.assert_allclose(bwd[names[1]], c, rtol=1e-14)
    np.testing.assert_allclose(bwd[names[0]], c * (1 - h**2), rtol=1e-13)
    expected = A.T @ (c * (1 - h**2))
    np.testing.assert_allclose(ex.grads, expected, rtol=1e-13)
    # ... and against central finite differences.
    eps = 1e-6
    fd = np.array(
        [
            (np.sum(np.tanh(A @ (w + eps * e)) * c) - np.sum(np.tanh(A @ (w - eps * e)) * c))
            / (2 * eps)
            for e in np.eye(3)
        ]
    )
    np.testing.assert_allclose(ex.grads, fd, rtol=1e-7, atol=1e-9)
    text = str(ex)
    assert "f64[5] mean=" in text or "float64[5] mean=" in text  # arrays are summarized
    assert "dL/dw = [" in text  # three entries shown in full


def test_explain_argnums_and_pytrees() -> None:
    def f(params: Any, x: Any) -> Any:
        return fnp.sum((params["a"] * x + params["b"]) ** 2)

    p = {"a": np.array([1.0, 2.0]), "b": 0.5}
    x = np.array([3.0, -1.0])
    ex = fg.explain(f, argnums=(0, 1))(p, x)
    ga, gx = ex.grads
    r = p["a"] * x + p["b"]
    np.testing.assert_allclose(ga["a"], 2 * r * x)
    np.testing.assert_allclose(ga["b"], np.sum(2 * r))
    np.testing.assert_allclose(gx, 2 * r * p["a"])
    grads = [s.name for s in ex.steps if s.phase == "gradient"]
    assert grads == ["params_a", "params_b", "x"]


def test_explain_draw_and_dot_carry_the_values(tmp_path: Any) -> None:
    ex = fg.explain(neuron)(1.0, 2.0, 4.0)
    dot = ex.to_dot()
    assert "= 2.0\\ndL/d = -4.0" in dot  # the prediction node
    assert "= 1.0\\ndL/d = -8.0" in dot  # the input w
    pytest.importorskip("funcgrad.viz")
    path = ex.draw(str(tmp_path / "ex.png"))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_explain_errors() -> None:
    with pytest.raises(TypeError, match="scalar output"):
        fg.explain(lambda w: w * np.ones(3))(1.0)
    with pytest.raises(TypeError, match="explain expects a callable"):
        fg.explain(3)
    with pytest.raises(TypeError, match="cannot be used inside jit"):
        fg.jit(lambda w: fg.explain(neuron)(w, 2.0, 4.0).value)(1.0)
    with pytest.raises(ValueError, match="refers to argument 5"):
        fg.explain(neuron, argnums=5)(1.0, 2.0, 4.0)
    with pytest.raises(TypeError, match="Python int"):
        fg.explain(neuron)(1, 2.0, 4.0)
