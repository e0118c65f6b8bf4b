"""Optimizers as pure functions, under optax's names.

A :class:`GradientTransformation` is a pair of pure functions ``init(params) -> state`` and
``update(grads, state, params=None) -> (updates, new_state)``; :func:`apply_updates` adds the
updates to the parameters. States are pytrees (NamedTuples) of arrays, with the step count
stored as a 0-d ``int32`` array, so a whole training step can be traced by ``funcgrad.jit``.
Optimizers, building blocks (``scale_by_adam``, ``clip``, ``masked``, ``inject_hyperparams``,
``MultiSteps``, ...) and schedules take optax's arguments, so ``import optax`` becomes
``from funcgrad import optim as optax``; see ``CHANGELOG.md`` for the deliberate differences.

>>> import numpy as np
>>> opt = adam(learning_rate=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": np.array([0.5, -0.5])}, state)
>>> apply_updates(params, updates)
{'w': array([ 0.9, -1.9])}

Implementation rule (so that ``update``/``init``/schedules trace under ``jit``/``grad``): leaf
values are only touched through arithmetic operators, comparisons, numpy ufuncs/functions called
as functions (``np.sqrt``, ``np.where``, ...) and ``.astype``; never ``np.asarray``, ``float()``,
in-place ops or Python ``if`` on values. Only shapes and dtypes are inspected in Python.
"""

from funcgrad.optim import _aliases, _base, _schedules, _transforms, _wrappers
from funcgrad.optim._aliases import *  # noqa: F403
from funcgrad.optim._base import *  # noqa: F403
from funcgrad.optim._schedules import *  # noqa: F403
from funcgrad.optim._transforms import *  # noqa: F403
from funcgrad.optim._wrappers import *  # noqa: F403

__all__ = [
    *_base.__all__,
    *_aliases.__all__,
    *_transforms.__all__,
    *_wrappers.__all__,
    *_schedules.__all__,
]


def __dir__() -> list[str]:
    return list(__all__)
