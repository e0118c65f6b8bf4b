"""examples/backprop_explained.py runs end to end in its quick mode (in a fresh process)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "backprop_explained.py"
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
HAVE_NX = importlib.util.find_spec("networkx") is not None

# Runs the example with one package made unimportable (sys.modules[name] = None).
_BLOCKING_RUNNER = (
    "import runpy, sys\n"
    "sys.modules[sys.argv[1]] = None\n"
    "path = sys.argv[2]\n"
    "sys.argv = [path] + sys.argv[3:]\n"
    "runpy.run_path(path, run_name='__main__')\n"
)


def run(*args: str, cwd: Path, block: str | None = None) -> str:
    if block is None:
        cmd = [sys.executable, str(EXAMPLE), *args]
    else:
        cmd = [sys.executable, "-c", _BLOCKING_RUNNER, block, str(EXAMPLE), *args]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="error::RuntimeWarning")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_backprop_explained_quick(tmp_path: Path) -> None:
    out = run("--quick", "--no-tqdm", "--out-dir", "figs", cwd=tmp_path)
    # 1. the one-neuron story, by explain and by hand
    assert re.search(r"prediction = w \* x\s+a = mul w 2\.0\s+2\.0", out)
    assert re.search(r"dL/da = -4\.0", out) and re.search(r"dL/dw = -8\.0", out)
    assert (
        "By hand: prediction = 2.0, loss = 4.0, dL/dprediction = 2*(prediction - y) = -4.0, "
        "dL/dw = dL/dprediction * x = -8.0" in out
    )
    assert "w <- w - lr * dL/dw = 1.8" in out
    # 2. three ways of training, one progress line per epoch, every one makes progress
    for label in ("SGD (1 point)", "full batch", "mini-batch 16"):
        epochs = re.findall(rf"{re.escape(label)}\s+epoch\s+(\d+)\s+loss\s+([0-9.e+-]+)", out)
        assert [int(e) for e, _ in epochs] == [1, 2, 3]
        m = re.search(rf"{re.escape(label)}: loss ([0-9.]+) -> ([0-9.]+) after 3 epochs", out)
        assert m and float(m.group(2)) < float(m.group(1))
    # 3. the too-large learning rate is detected and reported, not a crash
    assert re.search(r"divergence detected: lr 60 \(too large\) .* by epoch \d; stopped", out)
    # 4. figures
    if HAVE_MPL:
        assert "saved loss curves to figs/loss_curves.png" in out
        assert (tmp_path / "figs" / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if HAVE_NX:
            assert (tmp_path / "figs" / "gradient_graph.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert "matplotlib is not installed" in out


def test_backprop_explained_without_matplotlib(tmp_path: Path) -> None:
    out = run("--quick", "--no-tqdm", "--epochs", "1", cwd=tmp_path, block="matplotlib")
    assert "matplotlib is not installed, so no figures were written: pip install " in out
    assert "'funcgrad[viz]'" in out
    assert "divergence detected" in out and "Summary" in out  # everything else still printed
    assert list(tmp_path.iterdir()) == []
