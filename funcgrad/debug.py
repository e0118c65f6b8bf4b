"""Printing and callbacks from inside transformed functions, as ``jax.debug``.

Both work eagerly, under ``grad``/``jvp`` (they see the primal values), under ``vmap`` (once
per example) and inside ``jit``-compiled code, where they run every time the compiled function
runs (a Python ``print`` would only run once, while tracing, and show a tracer).

>>> import funcgrad as fg, numpy as np
>>> @fg.jit
... def f(x):
...     fg.debug.print("x = {}", x)
...     return x * 2.0
>>> _ = f(np.arange(2.0))
x = [0. 1.]
"""

import builtins as _builtins
from collections.abc import Callable as _Callable
from typing import Any as _Any

from funcgrad.core.errors import LocatedTypeError as _LocatedTypeError
from funcgrad.primitives.callback import debug_callback as _debug_callback

__all__ = ["print", "callback"]


def callback(
    callback: _Callable[..., None], *args: _Any, ordered: bool = False, **kwargs: _Any
) -> None:
    """Call ``callback(*args, **kwargs)`` on the concrete values of (possibly traced)
    arguments. ``ordered`` is accepted for JAX compatibility: calls always run in program
    order here.

    >>> import funcgrad as fg, numpy as np
    >>> seen = []
    >>> _ = fg.jit(lambda x: (fg.debug.callback(seen.append, x), x)[1])(np.ones(2))
    >>> seen
    [array([1., 1.])]
    """
    _debug_callback(callback, *args, **kwargs)


def print(fmt: str, *args: _Any, ordered: bool = False, **kwargs: _Any) -> None:  # noqa: A001
    """Print ``fmt.format(*args, **kwargs)`` with the concrete values of (possibly traced)
    arguments.

    >>> import funcgrad as fg
    >>> _ = fg.grad(lambda x: (fg.debug.print("x={x}", x=x), x * x)[1])(3.0)
    x=3.0
    """
    if not isinstance(fmt, str):
        raise _LocatedTypeError(f"debug.print: the format must be a str, got {type(fmt).__name__}")

    def show(*a: _Any, **k: _Any) -> None:
        _builtins.print(fmt.format(*a, **k))

    _debug_callback(show, *args, **kwargs)
