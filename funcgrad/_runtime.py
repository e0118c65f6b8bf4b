"""JAX's runtime names, with their meaning in funcgrad: results are numpy arrays in host
memory, computed synchronously on the CPU. So ``device_put``/``device_get`` convert to numpy,
``devices()`` is one CPU device and ``block_until_ready`` returns its argument (a function:
numpy arrays have no ``.block_until_ready()`` method). Public names are gathered by
``funcgrad/__init__.py``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.array import Array
from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import IR
from funcgrad.core.pytree import tree_map
from funcgrad.core.tracer import Tracer
from funcgrad.core.tracing import make_ir

__all__ = [
    "Array",
    "Device",
    "block_until_ready",
    "default_backend",
    "device_count",
    "device_get",
    "device_put",
    "devices",
    "local_device_count",
    "local_devices",
    "make_jaxpr",
    "named_call",
]


class Device:
    """The one device funcgrad computes on: the CPU, through numpy."""

    id = 0
    platform = "cpu"
    device_kind = "cpu"
    process_index = 0

    def __repr__(self) -> str:
        return "CpuDevice(id=0)"


_CPU = Device()


def devices(backend: str | None = None) -> list[Device]:
    """``[CpuDevice(id=0)]``: numpy computes on the CPU.

    >>> devices()
    [CpuDevice(id=0)]
    """
    _check_backend(backend)
    return [_CPU]


local_devices = devices


def device_count(backend: str | None = None) -> int:
    """1 (see :func:`devices`).

    >>> device_count()
    1
    """
    _check_backend(backend)
    return 1


local_device_count = device_count


def default_backend() -> str:
    """``"cpu"``.

    >>> default_backend()
    'cpu'
    """
    return "cpu"


def _check_backend(backend: str | None) -> None:
    if backend is not None and str(backend).lower() != "cpu":
        raise LocatedValueError(
            f"backend {backend!r} is not available: funcgrad runs on the CPU only"
        )


def _to_host(x: Any) -> Any:
    if type(x) is Tracer:
        return x
    return np.array(x)  # a fresh array: later changes to the input do not show through


def device_put(x: Any, device: Any = None, *, src: Any = None, donate: bool = False) -> Any:
    """Every leaf of ``x`` as a fresh numpy array (there is no other device). Like a JAX array,
    the result does not change when the input is changed in place later.

    >>> a = np.zeros(2); b = device_put(a); a[0] = 1.0; b
    array([0., 0.])
    """
    if device is not None and not isinstance(device, Device) and str(device).lower() != "cpu":
        raise LocatedValueError(
            f"device_put: device {device!r} is not available; funcgrad has the CPU"
        )
    return tree_map(_to_host, x)


def device_get(x: Any) -> Any:
    """Every array leaf of ``x`` as a numpy array (results already are; lists and Python
    scalars pass through unchanged).

    >>> device_get({"w": np.ones(2)})
    {'w': array([1., 1.])}
    """

    def get(leaf: Any) -> Any:
        if type(leaf) is Tracer:
            raise LocatedTypeError(
                "device_get of a traced value: inside a transformed function values are "
                "abstract; return them from the function instead"
            )
        return np.asarray(leaf) if isinstance(leaf, np.ndarray) else leaf

    return tree_map(get, x)


def block_until_ready(x: Any) -> Any:
    """Returns ``x``: funcgrad computes synchronously, so results are ready when returned. A
    function, not a method: results are numpy arrays, which have no ``.block_until_ready()``
    (write ``fg.block_until_ready(y)`` instead of ``y.block_until_ready()``).

    >>> block_until_ready(np.ones(2))
    array([1., 1.])
    """
    return x


def make_jaxpr(
    fun: Callable[..., Any], static_argnums: int | Sequence[int] = ()
) -> Callable[..., IR]:
    """JAX's name for :func:`funcgrad.make_ir`: returns a function that traces ``fun`` on
    example arguments and returns its IR (printed like a jaxpr, see docs/ir.md).

    >>> import funcgrad.numpy as fnp
    >>> print(make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda ; x:f64[] .
        a:f64[] = sin x
        b:f64[] = mul a 2.0
      return b }
    """
    return make_ir(fun, static_argnums)


def named_call(fun: Callable[..., Any], *, name: str | None = None) -> Callable[..., Any]:
    """Returns ``fun`` under ``name`` (JAX uses the name in profiles; funcgrad keeps it as the
    wrapper's ``__name__``). Results are unchanged.

    >>> named_call(abs, name="magnitude").__name__
    'magnitude'
    """

    @functools.wraps(fun)
    def call(*args: Any, **kwargs: Any) -> Any:
        return fun(*args, **kwargs)

    if name is not None:
        call.__name__ = name
    return call
