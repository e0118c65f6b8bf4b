"""The training examples run end to end in their fast modes (each in a fresh process)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from funcgrad import io, optim  # noqa: F401  (io.load restores optim.AdamState)
from funcgrad.tree_util import tree_flatten

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 120

# Runs an example with one package made unimportable (sys.modules[name] = None makes
# `import name` raise ImportError), to exercise the "not installed" fallbacks.
_BLOCKING_RUNNER = (
    "import runpy, sys\n"
    "sys.modules[sys.argv[1]] = None\n"
    "path = sys.argv[2]\n"
    "sys.argv = [path] + sys.argv[3:]\n"
    "runpy.run_path(path, run_name='__main__')\n"
)


def run_example(
    name: str, *args: str, cwd: Path, block: str | None = None, expect_rc: int = 0
) -> str:
    path = str(EXAMPLES / name)
    if block is None:
        cmd = [sys.executable, path, *args]
    else:
        cmd = [sys.executable, "-c", _BLOCKING_RUNNER, block, path, *args]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="error::RuntimeWarning")
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == expect_rc, (
        f"{name} {args} exited with {proc.returncode}\n--- stdout\n{proc.stdout}\n"
        f"--- stderr\n{proc.stderr}"
    )
    return proc.stdout + proc.stderr


def _number_after(label: str, out: str) -> float:
    m = re.search(re.escape(label) + r"\s*([0-9.eE+-]+)", out)
    assert m, f"no {label!r} in output:\n{out}"
    return float(m.group(1))


HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None


# --- linear_regression ---------------------------------------------------------------------------


def test_linear_regression_fast(tmp_path):
    out = run_example("linear_regression.py", "--epochs", "2", "--plot", "loss.png", cwd=tmp_path)
    assert "full-data loss per epoch" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("epoch"))
    for kind in ("stochastic", "batch", "mini-batch"):
        assert kind in header
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+[0-2]\s+\d", line)]
    assert [int(r[0]) for r in rows] == [0, 1, 2]
    losses = np.array([[float(v) for v in r[1:]] for r in rows])
    assert np.all(np.isfinite(losses)) and losses.shape == (3, 3)
    assert np.all(losses[-1] < losses[0])  # every kind makes progress
    assert re.search(r"divergence detected: .* blew up at step \d+", out)
    if HAVE_MPL:
        assert "saved loss curves to loss.png" in out
        assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "matplotlib is not installed: pip install matplotlib" in out


def test_linear_regression_without_matplotlib(tmp_path):
    out = run_example(
        "linear_regression.py", "--epochs", "1", "--plot", "x.png", cwd=tmp_path, block="matplotlib"
    )
    assert (
        "matplotlib is not installed: pip install matplotlib (or pip install -e '.[examples]')"
        in out
    )
    assert not (tmp_path / "x.png").exists()
    assert "divergence detected" in out  # and the example carried on


# --- mlp_digits ----------------------------------------------------------------------------------


def test_mlp_digits_fast_with_compare_numpy(tmp_path):
    out = run_example("mlp_digits.py", "--epochs", "1", "--compare-numpy", cwd=tmp_path)
    assert ("sklearn digits" if HAVE_SKLEARN else "synthetic digits") in out
    assert re.search(r"epoch\s+loss\s+train acc\s+test acc\s+examples/s", out)
    assert re.search(r"^\s+1\s+[0-9.]+\s+[0-9.]+%\s+[0-9.]+%\s+\d+$", out, re.M)
    assert _number_after("final test accuracy:", out) > 50  # one epoch is far above chance
    assert _number_after("max |grad difference| =", out) < 1e-10
    assert re.search(r"training step \(\+ Adam update\)\s+[0-9.]+ms\s+[0-9.]+ms", out)
    assert list(tmp_path.iterdir()) == []  # no checkpoint unless asked for


def test_mlp_digits_without_sklearn_falls_back(tmp_path):
    out = run_example("mlp_digits.py", "--epochs", "1", cwd=tmp_path, block="sklearn")
    assert "pip install scikit-learn" in out
    assert "synthetic digits" in out
    assert "final test accuracy" in out


def test_mlp_digits_resume_is_bit_exact(tmp_path):
    common = ("--synthetic", "--hidden", "32")
    straight = run_example(
        "mlp_digits.py", *common, "--epochs", "2", "--save-final", "straight.npz", cwd=tmp_path
    )
    first = run_example(
        "mlp_digits.py", *common, "--epochs", "1", "--checkpoint", "ckpt.npz", cwd=tmp_path
    )
    assert "checkpoint: ckpt.npz" in first
    ckpt = io.load(tmp_path / "ckpt.npz")
    assert int(ckpt["epoch"]) == 1 and set(ckpt) == {"params", "opt_state", "epoch"}
    resumed = run_example(
        "mlp_digits.py",
        *common,
        "--epochs",
        "2",
        "--checkpoint",
        "ckpt.npz",
        "--resume",
        "--save-final",
        "resumed.npz",
        cwd=tmp_path,
    )
    assert "resumed from ckpt.npz at epoch 1" in resumed
    assert not re.search(r"^\s+1\s", resumed, re.M) and re.search(r"^\s+2\s", resumed, re.M)

    a_leaves, a_tree = tree_flatten(io.load(tmp_path / "straight.npz"))
    b_leaves, b_tree = tree_flatten(io.load(tmp_path / "resumed.npz"))
    assert a_tree == b_tree
    for a, b in zip(a_leaves, b_leaves):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    digest = re.compile(r"final params sha256: (\w+)")
    assert digest.search(straight).group(1) == digest.search(resumed).group(1)
    assert int(io.load(tmp_path / "ckpt.npz")["epoch"]) == 2


def test_mlp_digits_resume_needs_checkpoint(tmp_path):
    out = run_example("mlp_digits.py", "--resume", cwd=tmp_path, expect_rc=2)
    assert "--resume needs --checkpoint" in out


# --- per_example_grads ---------------------------------------------------------------------------


def test_per_example_grads_fast(tmp_path):
    out = run_example("per_example_grads.py", "--steps", "5", "--repeats", "1", cwd=tmp_path)
    assert _number_after("max |vmap - loop| difference:", out) < 1e-12
    assert _number_after("speedup:", out) > 0
    assert "W1 (128, 10, 32)" in out  # one gradient per example
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+\d+\s+[0-9.]+\s", line)]
    assert [int(r[0]) for r in rows] == [0, 1, 2, 3, 4, 5]
    assert all(np.isfinite(float(r[1])) for r in rows)
    assert "final loss" in out and "non-private SGD" in out
