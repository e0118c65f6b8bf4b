"""Input/output and printing, as numpy: ``load``, ``save``, ``savez``, ``fromfile``,
``frombuffer``, ``fromiter``, ``fromstring``, ``from_dlpack``, ``array_repr``,
``array_str``, ``get_printoptions``/``set_printoptions``/``printoptions``.

These run numpy on concrete values (files and buffers are outside any trace); arrays come back
as ``funcgrad.Array``. Saving an abstract traced value (inside ``jit``/``vmap``) raises
``ConcretizationError``.

>>> import funcgrad.numpy as fnp
>>> fnp.fromstring("1 2 3", sep=" ")
Array([1., 2., 3.])
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import get_printoptions, printoptions, set_printoptions  # re-exported

from funcgrad.core.tracer import Tracer
from funcgrad.numpy._core import _concrete, asarray

__all__ = [
    "load",
    "save",
    "savez",
    "fromfile",
    "frombuffer",
    "fromiter",
    "fromstring",
    "from_dlpack",
    "array_repr",
    "array_str",
    "get_printoptions",
    "set_printoptions",
    "printoptions",
]


def _wrap(x: Any) -> Any:
    return asarray(x) if isinstance(x, _np.ndarray) and x.dtype.kind in "biufc" else x


def _value(x: Any, what: str) -> Any:
    if type(x) is Tracer:
        return _concrete(x, what)
    return _np.asarray(x) if not isinstance(x, _np.ndarray) else x


def load(file: Any, *args: Any, **kwargs: Any) -> Any:
    """``numpy.load``: a ``.npy`` file gives an Array; ``.npz`` archives numpy's NpzFile."""
    return _wrap(_np.load(file, *args, **kwargs))


def save(file: Any, arr: Any, allow_pickle: bool = True) -> None:
    """``numpy.save`` of a concrete array."""
    _np.save(file, _value(arr, "save"), allow_pickle=allow_pickle)


def savez(file: Any, *args: Any, allow_pickle: bool = True, **kwds: Any) -> None:
    """``numpy.savez`` of concrete arrays."""
    _np.savez(
        file,
        *[_value(a, "savez") for a in args],
        allow_pickle=allow_pickle,
        **{k: _value(v, "savez") for k, v in kwds.items()},
    )


def fromfile(*args: Any, **kwargs: Any) -> Any:
    """``numpy.fromfile``."""
    return _wrap(_np.fromfile(*args, **kwargs))


def frombuffer(buffer: Any, dtype: Any = float, count: int = -1, offset: int = 0) -> Any:
    """``numpy.frombuffer`` (copied: funcgrad arrays own their data)."""
    return _wrap(_np.frombuffer(buffer, dtype, count, offset).copy())


def fromiter(*args: Any, **kwargs: Any) -> Any:
    """``numpy.fromiter``."""
    return _wrap(_np.fromiter(*args, **kwargs))


def fromstring(string: str, dtype: Any = float, count: int = -1, *, sep: str) -> Any:
    """``numpy.fromstring`` of text (``sep`` is required: the binary mode is deprecated)."""
    return _wrap(_np.fromstring(string, dtype, count, sep=sep))


def from_dlpack(x: Any, /, *, device: Any = None, copy: Any = None) -> Any:
    """An Array from any object with ``__dlpack__`` (copied)."""
    return _wrap(_np.array(_np.from_dlpack(x), copy=True))


def array_repr(
    arr: Any, max_line_width: Any = None, precision: Any = None, suppress_small: Any = None
) -> str:
    """``numpy.array_repr`` of the value (a traced value's description when abstract)."""
    if type(arr) is Tracer and arr.val is None:
        return repr(arr)
    return _np.array_repr(_value(arr, "array_repr"), max_line_width, precision, suppress_small)


def array_str(
    a: Any, max_line_width: Any = None, precision: Any = None, suppress_small: Any = None
) -> str:
    """``numpy.array_str`` of the value (a traced value's description when abstract)."""
    if type(a) is Tracer and a.val is None:
        return repr(a)
    return _np.array_str(_value(a, "array_str"), max_line_width, precision, suppress_small)
