"""funcgrad.distributed: collectives over MPI, checked with real `mpirun -n 2` / `-n 3` runs.

The multi-process checks live in tests/mpi_checks.py (one mpirun per process count, many checks
each; process 0 prints one `CHECK name ok|FAIL ...` line per check). Expected values there come
from plain numpy (sums, stacks, a hand-written full-batch gradient), never from funcgrad.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install 'funcgrad[distributed]'")

from funcgrad import distributed as dist  # noqa: E402
from funcgrad.primitives.collectives import state  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "tests" / "mpi_checks.py"
EXAMPLE = ROOT / "examples" / "distributed_training.py"
TIMEOUT = 60
NAMES = [
    "broadcast_mixed",
    "allreduce_sum_mixed",
    "allreduce_mean_mixed",
    "allgather_mixed",
    "one_call_per_dtype",
    "vjp_jvp_rules",
    "half_batch_gradient",
    "shard_contiguous",
    "jitted_step",
    "structure_mismatch_named",
]


def _env() -> dict[str, str]:
    """This checkout first on PYTHONPATH, so the subprocesses import the code under test."""
    env = dist._launcher_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def mpirun(
    n: int, *cmd: str, timeout: float = TIMEOUT
) -> tuple[subprocess.CompletedProcess, float]:
    env = _env()
    t0 = time.monotonic()
    proc = subprocess.run(
        [*dist._launcher_command(n), sys.executable, *cmd],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc, time.monotonic() - t0


def _output(proc: subprocess.CompletedProcess) -> str:
    return f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _run_checks(n: int) -> dict[str, str]:
    proc, _ = mpirun(n, str(CHECKS))
    assert proc.returncode == 0, _output(proc)
    assert f"DONE {n}" in proc.stdout, _output(proc)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CHECK "):
            _, name, status = line.split(" ", 2)
            results[name] = status
    return results


@pytest.fixture(scope="module")
def checks2() -> dict[str, str]:
    return _run_checks(2)


@pytest.fixture(scope="module")
def checks3() -> dict[str, str]:
    return _run_checks(3)  # 3 processes: uneven shards (12 examples -> 4/4/4, 10 -> 4/3/3)


@pytest.mark.parametrize("name", NAMES)
def test_two_processes(checks2: dict[str, str], name: str) -> None:
    assert checks2.get(name) == "ok", checks2.get(name, "check did not run")


@pytest.mark.parametrize("name", NAMES)
def test_three_processes(checks3: dict[str, str], name: str) -> None:
    assert checks3.get(name) == "ok", checks3.get(name, "check did not run")


# --- faults --------------------------------------------------------------------------------------

RAISER = """
import numpy as np
from funcgrad import distributed as dist
dist.initialize()
if dist.process_index() == 1:
    raise RuntimeError("boom on process 1")
dist.allreduce_sum({"x": np.ones(3)})  # process 0 waits here for process 1
print("process", dist.process_index(), "was not stopped")
"""

HANGER = """
import time
import numpy as np
from funcgrad import distributed as dist
dist.initialize(timeout=1.0)
if dist.process_index() == 1:
    time.sleep(120)  # stuck: never joins the collective
dist.allreduce_mean({"x": np.ones(3)})
print("process", dist.process_index(), "was not stopped")
"""

# Process 1 passes a new tree (so it runs the one-time check) where process 0 passes a tree that
# was checked before (so it sends data): the calls never match; the timeout ends the run.
SKIPPED_CHECK = """
import numpy as np
from funcgrad import distributed as dist
dist.initialize(timeout=1.0)
dist.allreduce_sum({"x": np.ones(3)})
tree = {"x": np.ones(3)} if dist.process_index() == 0 else {"x": np.ones(4)}
out = dist.allreduce_sum(tree)
print("process", dist.process_index(), "got", out)
"""


def test_raising_process_stops_the_run() -> None:
    proc, elapsed = mpirun(2, "-c", RAISER, timeout=TIMEOUT)
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "RuntimeError: boom on process 1" in proc.stderr, out
    assert "process 1 of 2 raised RuntimeError; aborting all processes" in proc.stderr, out
    assert "was not stopped" not in proc.stdout, out
    assert elapsed < 30, f"took {elapsed:.1f} s\n{out}"


def test_stuck_process_times_out() -> None:
    proc, elapsed = mpirun(2, "-c", HANGER, timeout=TIMEOUT)
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "CollectiveTimeoutError" in proc.stderr, out
    assert "waited 1 s and the collective did not complete" in proc.stderr, out
    assert "was not stopped" not in proc.stdout, out
    assert elapsed < 30, f"took {elapsed:.1f} s\n{out}"


def test_new_tree_against_checked_tree_times_out_not_garbled() -> None:
    proc, elapsed = mpirun(2, "-c", SKIPPED_CHECK, timeout=TIMEOUT)
    out = _output(proc)
    assert proc.returncode != 0, out
    assert "CollectiveTimeoutError" in proc.stderr, out
    assert " got " not in proc.stdout, out
    assert elapsed < 30, f"took {elapsed:.1f} s\n{out}"


# --- the example: 2 processes follow the 1-process loss curve ---------------------------------


def _losses(out: str) -> list[float]:
    return [float(line.split()[3]) for line in out.splitlines() if line.startswith("step ")]


def test_example_two_processes_match_one(tmp_path: Path) -> None:
    env = _env()
    one = subprocess.run(
        [sys.executable, str(EXAMPLE), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert one.returncode == 0, _output(one)
    ckpt = tmp_path / "ckpt.npz"
    two, _ = mpirun(2, str(EXAMPLE), "--quick", "--checkpoint", str(ckpt))
    assert two.returncode == 0, _output(two)
    l1, l2 = _losses(one.stdout), _losses(two.stdout)
    assert len(l1) == len(l2) == 8, _output(two)
    np.testing.assert_allclose(l2, l1, rtol=1e-12)
    assert l1[-1] < l1[0]  # it trains
    # process 0 alone prints: each step line once
    assert two.stdout.count("step 0 loss") == 1, two.stdout
    assert "params identical on all 2 processes: yes" in two.stdout
    from funcgrad import io

    saved = io.load(ckpt)
    assert int(saved["epoch"]) == 1 and saved["params"][0]["W"].shape == (64, 32)


# --- one process, in this process (no mpirun) ---------------------------------------------------


def test_one_process_is_identity_without_mpi_calls() -> None:
    dist.initialize()
    dist.initialize()  # idempotent
    assert dist.is_initialized()
    assert (dist.process_index(), dist.process_count()) == (0, 1)
    tree = {"a": np.arange(3.0), "b": [np.float32(2.0), np.arange(4).reshape(2, 2)]}
    before = state.calls
    assert dist.allreduce_sum(tree) is tree
    assert dist.allreduce_mean({"a": tree["a"]})["a"] is tree["a"]
    assert dist.broadcast(tree) is tree
    g = dist.allgather(tree)
    np.testing.assert_array_equal(g["b"][1], tree["b"][1][None])
    assert g["a"].shape == (1, 3)
    assert dist.shard(tree["a"]) is tree["a"]
    dist.barrier()
    assert state.calls == before


def test_errors_are_clear() -> None:
    with pytest.raises(TypeError, match="allreduce_mean keeps dtypes.*allreduce_sum"):
        dist.allreduce_mean({"n": np.arange(3)})
    with pytest.raises(TypeError, match=r"leaf \['m'\] is boolean.*cast it to an integer"):
        dist.allreduce_sum({"m": np.array([True])})
    with pytest.raises(ValueError, match="root=1 is not a process index; there are 1"):
        dist.broadcast(np.ones(2), root=1)
    with pytest.raises(TypeError, match="root must be a process index"):
        dist.broadcast(np.ones(2), root=0.0)
    with pytest.raises(ValueError, match=r"different lengths \[2, 3\] along axis 0"):
        dist.shard({"x": np.ones(3), "y": np.ones(2)})
    with pytest.raises(ValueError, match="axis 1 is out of range"):
        dist.shard(np.ones(3), axis=1)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        dist.initialize(timeout=0)


def test_missing_mpi4py_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` now raises ImportError
    monkeypatch.delitem(sys.modules, "funcgrad.distributed")
    with pytest.raises(ImportError, match=r"pip install 'funcgrad\[distributed\]'"):
        importlib.import_module("funcgrad.distributed")


def test_public_namespace() -> None:
    public = {n for n in dir(dist) if not n.startswith("_")}
    assert public == set(dist.__all__)
