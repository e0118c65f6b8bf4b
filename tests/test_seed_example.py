"""The seed example (one weight, one example, gradient descent) and the quickstart script."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def seed():
    spec = importlib.util.spec_from_file_location("seed_neuron", EXAMPLES / "seed_neuron.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constants(seed):
    assert (seed.X, seed.Y, seed.W0, seed.LR) == (2.0, 4.0, 1.0, 0.1)


def test_first_two_steps_by_hand(seed):
    rows = seed.train(steps=2)
    # step 1: w = 1: prediction 2, loss (2 - 4)^2 = 4, dL/dw = 2 (2 - 4) 2 = -8, w = 1 + 0.8
    want = [
        {"step": 1, "prediction": 2.0, "loss": 4.0, "gradient": -8.0, "w": 1.8},
        # step 2: w = 1.8: prediction 3.6, loss 0.16, dL/dw = 2 (-0.4) 2 = -1.6, w = 1.96
        {"step": 2, "prediction": 3.6, "loss": 0.16, "gradient": -1.6, "w": 1.96},
    ]
    assert len(rows) == 2
    for got, exp in zip(rows, want):
        assert got["step"] == exp["step"]
        for key in ("prediction", "loss", "gradient", "w"):
            assert abs(got[key] - exp[key]) < 1e-12, (got["step"], key, got[key], exp[key])


def test_gradient_through_funcgrad_matches_formula(seed):
    for w in [1.0, 1.8, -3.0, 2.0]:
        value, g = fg.value_and_grad(seed.loss)(w, seed.X, seed.Y)
        assert type(g) is np.float64
        assert abs(value - (w * 2.0 - 4.0) ** 2) < 1e-12
        assert abs(g - 2 * (w * 2.0 - 4.0) * 2.0) < 1e-12
    assert fg.grad(fg.grad(seed.loss))(1.0, seed.X, seed.Y) == 8.0  # 2 x^2


def test_converges_within_20_steps(seed):
    rows = seed.train(steps=20)
    assert len(rows) == 20
    assert abs(rows[-1]["w"] - 2.0) < 1e-6
    # each step shrinks the error by |1 - 2 lr x^2| = 0.2
    errs = [abs(r["w"] - 2.0) for r in rows]
    for a, b in zip(errs, errs[1:]):
        assert abs(b - 0.2 * a) < 1e-12
    assert all(r["loss"] >= 0 for r in rows)
    assert [r["step"] for r in rows] == list(range(1, 21))


def _run(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_seed_script_runs():
    proc = _run("examples/seed_neuron.py", "--steps", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 4  # header + 3 steps
    assert lines[0].split() == ["step", "prediction", "loss", "gradient", "new", "w"]
    assert lines[1].split() == ["1", "2.000000", "4.000000", "-8.000000", "1.800000"]
    assert lines[2].split() == ["2", "3.600000", "0.160000", "-1.600000", "1.960000"]
    assert lines[3].split() == ["3", "3.920000", "0.006400", "-0.320000", "1.992000"]


def test_quickstart_runs():
    proc = _run("examples/quickstart.py")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "step 1: loss 4.0000  dL/dw -8.0000  new w 1.8000" in out
    assert "step 2: loss 0.1600  dL/dw -1.6000  new w 1.9600" in out
    # the traced loss and the gradient's IR are printed
    assert "a:f64[8] = matmul x w" in out
    assert out.count("matmul") >= 3
    assert "epoch 200" in out
    final = float(out.strip().splitlines()[-1].split()[-1])
    assert final < 0.05  # the network fits sin(x)
