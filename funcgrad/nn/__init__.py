"""Neural-network building blocks: activations, losses and initializers (as ``jax.nn`` / optax).

Everything here is written with :mod:`funcgrad.numpy`, so it works on plain numpy arrays and
under every transform (``grad``, ``vmap``, ``jvp``, ``jit``), and is numerically stable:
``log_softmax``, ``logsumexp``, ``sigmoid`` and ``softplus`` give finite values *and* finite
gradients at inputs like ``±1e4``. Floating dtypes are preserved (float32 in, float32 out);
integer inputs are computed in float64, as numpy does.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad import nn
>>> nn.log_softmax(np.array([1e4, 0.0]))
Array([     0., -10000.])
>>> fg.grad(lambda x: nn.logsumexp(x))(np.array([1e4, 1e4]))
Array([0.5, 0.5])

Losses follow optax: :func:`softmax_cross_entropy` and :func:`sigmoid_binary_cross_entropy`
return one loss per example (take ``fnp.mean`` of them for a training objective), while
:func:`mse` is a mean (over all elements, or over ``axis``). Initializers are in
:mod:`funcgrad.nn.initializers`, in JAX's factory form ``glorot_uniform()(key, shape, dtype)``.
"""

from funcgrad.core import errors as _errors
from funcgrad.nn import initializers
from funcgrad.nn._functions import *  # noqa: F403
from funcgrad.nn._functions import __all__ as _functions_all

__all__ = [*_functions_all, "initializers"]

_MOVED = {"glorot_uniform", "he_normal"}


def __getattr__(name: str) -> object:
    # These used to take a numpy Generator (see CHANGELOG.md): point old code at the JAX form.
    if name in _MOVED:
        raise _errors.LocatedAttributeError(
            f"funcgrad.nn.{name} moved, in JAX's factory form: use "
            f"funcgrad.nn.initializers.{name}()(key, shape, dtype) with a funcgrad.random key "
            "(e.g. funcgrad.random.PRNGKey(0))"
        )
    raise _errors.LocatedAttributeError(f"module 'funcgrad.nn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
