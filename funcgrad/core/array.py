"""``Array``: the numpy array class of the arrays funcgrad hands out, with JAX's idioms.

funcgrad's results are numpy arrays. To let JAX code run unchanged on them, the arrays that
funcgrad creates or returns (``funcgrad.numpy`` creation and conversion functions, eager
``funcgrad.numpy`` operations, and the results of ``grad``/``jit``/``vmap``/...) are of this
``numpy.ndarray`` subclass, which adds:

* ``x.at[idx].set(v)`` / ``.add`` / ``.multiply`` / ``.divide`` / ``.min`` / ``.max`` /
  ``.get``: functional updates that return a new array (eagerly and inside every transform;
  the methods are installed by :mod:`funcgrad.numpy`);
* **value semantics for augmented assignment**: ``a += v`` (and ``-=``, ``*=``, ``/=``, ``//=``,
  ``%=``, ``**=``, ``@=``, ``&=``, ``|=``, ``^=``, ``<<=``, ``>>=``) rebinds ``a`` to a new array,
  as in JAX: other names bound to the old array keep their values. (On a plain numpy array it
  would change the array in place, together with every alias: a JAX program ported to numpy
  would print other numbers, with no error.)
* ``x[i]`` with a traced index (inside ``jit``/``vmap``) gathers, as on a traced array;
* ``x.block_until_ready()`` (returns ``x``: numpy has finished when it returns).

Everything else is numpy's: item assignment ``x[i] = v`` writes in place (autograd programs do
it outside differentiated code; JAX programs cannot contain it), ``np.add(a, b, out=a)`` too,
and numpy functions keep the subclass where numpy keeps subclasses. Inside transforms funcgrad
computes on plain ndarrays (arguments are viewed as ``np.ndarray`` on entry), so the subclass
costs nothing there.

``isinstance(x, Array)`` is true for every numpy array and scalar and for traced values (the
type is meant for annotations, as ``jax.Array``); ``type(x) is Array`` tells the subclass.

>>> import numpy as np
>>> a = np.zeros(3).view(Array); b = a
>>> a += 1.0
>>> b
Array([0., 0., 0.])
>>> isinstance(np.ones(2), Array), isinstance([1.0], Array)
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, TracerConversionError

__all__ = ["Array", "as_user_array", "install_array_hooks", "plain"]

_ndarray_getitem = np.ndarray.__getitem__
_ndarray_setitem = np.ndarray.__setitem__

# Installed by funcgrad.numpy (which defines indexing of traced values): the ``.at`` helper
# and the traced-index gather. Until then ``.at`` raises.
_hooks: dict[str, Callable[..., Any]] = {}


class _NoTracer:
    pass


# The tracer class, registered by funcgrad.core.tracer (which imports this module).
_tracer_type: list[type] = [_NoTracer]


class _ArrayMeta(type):
    def __instancecheck__(cls, x: Any) -> bool:
        return type(x) is _tracer_type[0] or isinstance(x, (np.ndarray, np.generic))


def _has_tracer(idx: Any) -> bool:
    t = _tracer_type[0]
    if type(idx) is t:
        return True
    if type(idx) is tuple:
        for i in idx:
            if type(i) is t:
                return True
    return False


class Array(np.ndarray, metaclass=_ArrayMeta):
    """The array class of funcgrad's results: a ``numpy.ndarray`` with ``.at[...]`` updates and
    JAX's value semantics for ``+=`` and friends (see the module docstring).

    >>> import funcgrad.numpy as fnp
    >>> x = fnp.zeros(3)
    >>> x.at[1].set(5.0)
    Array([0., 5., 0.])
    >>> x
    Array([0., 0., 0.])
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Array:
        raise LocatedTypeError(
            "funcgrad.Array cannot be instantiated directly; create arrays with "
            "funcgrad.numpy (fnp.asarray, fnp.zeros, ...)"
        )

    @property
    def at(self) -> Any:
        """``x.at[idx].set(v)`` and the other functional updates (JAX's ``.at``)."""
        return _hooks["at"](self)

    def __getitem__(self, idx: Any) -> Any:
        if _has_tracer(idx):
            return _hooks["getitem"](self.view(np.ndarray), idx)
        return _ndarray_getitem(self, idx)

    def __setitem__(self, idx: Any, value: Any) -> None:
        if _has_tracer(value) or _has_tracer(idx):
            raise TracerConversionError(
                "Arrays are immutable to traced values: in-place assignment x[idx] = v of a "
                "traced value is not supported (the derivative would be lost). Use the "
                "functional update x = x.at[idx].set(v) (or .add/.multiply) instead."
            )
        _ndarray_setitem(self, idx, value)

    def block_until_ready(self) -> Array:
        """``self``: numpy computes synchronously, so the value is ready."""
        return self

    # Augmented assignment rebinds (JAX's value semantics) instead of writing in place.
    def __iadd__(self, o: Any) -> Any:
        return self + o

    def __isub__(self, o: Any) -> Any:
        return self - o

    def __imul__(self, o: Any) -> Any:
        return self * o

    def __itruediv__(self, o: Any) -> Any:
        return self / o

    def __ifloordiv__(self, o: Any) -> Any:
        return self // o

    def __imod__(self, o: Any) -> Any:
        return self % o

    def __ipow__(self, o: Any) -> Any:  # type: ignore[misc]
        return self**o

    def __imatmul__(self, o: Any) -> Any:
        return self @ o

    def __iand__(self, o: Any) -> Any:
        return self & o

    def __ior__(self, o: Any) -> Any:
        return self | o

    def __ixor__(self, o: Any) -> Any:
        return self ^ o

    def __ilshift__(self, o: Any) -> Any:
        return self << o

    def __irshift__(self, o: Any) -> Any:
        return self >> o


def as_user_array(x: Any) -> Any:
    """``x`` as an :class:`Array` when it is a plain ndarray of at least one dimension (a view,
    no copy); anything else unchanged."""
    if type(x) is np.ndarray and x.ndim:
        return x.view(Array)
    return x


def plain(x: Any) -> Any:
    """An :class:`Array` viewed as a plain ``np.ndarray`` (no copy); anything else unchanged."""
    if type(x) is Array:
        return x.view(np.ndarray)
    return x


def install_array_hooks(at: Callable[[Any], Any], getitem: Callable[[Any, Any], Any]) -> None:
    """Called by funcgrad.numpy: the ``.at`` helper and the gather for traced indices."""
    _hooks["at"] = at
    _hooks["getitem"] = getitem
