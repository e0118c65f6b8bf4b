"""Part of :mod:`funcgrad.optim`: optax's schedules, written so that they trace."""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.optim._base import (
    Schedule,
    _check_nonnegative,
    _check_positive,
    _check_real,
)

__all__ = [
    "constant_schedule",
    "polynomial_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "exponential_decay",
    "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "join_schedules",
]


# ---------------------------------------------------------------------------------------------
# schedules: step -> value, evaluated with numpy functions so they trace


def constant_schedule(value: float) -> Schedule:
    """A schedule that always returns ``value`` (``optax.constant_schedule``).

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    _check_real("value", value, "constant_schedule")
    return lambda count: value


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """``(init - end) * (1 - t / transition_steps)**power + end`` with ``t = step -
    transition_begin`` clipped to ``[0, transition_steps]`` (``optax.polynomial_schedule``).

    >>> s = polynomial_schedule(1.0, 0.0, power=2, transition_steps=10)
    >>> float(s(0)), float(s(5)), float(s(20))
    (1.0, 0.25, 0.0)
    """
    where = "polynomial_schedule"
    _check_real("init_value", init_value, where)
    _check_real("end_value", end_value, where)
    _check_real("power", power, where)
    _check_positive("transition_steps", transition_steps, where)
    _check_nonnegative("transition_begin", transition_begin, where)

    def schedule(count: Any) -> Any:
        count = np.clip(count - transition_begin, 0, transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * frac**power + end_value

    return schedule


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Linear from ``init_value`` to ``end_value`` over ``transition_steps`` steps, starting
    at ``transition_begin`` (``optax.linear_schedule``).

    >>> s = linear_schedule(1.0, 0.0, transition_steps=4)
    >>> [float(s(i)) for i in (0, 1, 4, 9)]
    [1.0, 0.75, 0.0, 0.0]
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    """``init_value`` multiplied by each ``scale`` whose boundary the step has reached
    (``optax.piecewise_constant_schedule``).

    >>> s = piecewise_constant_schedule(1.0, {10: 0.1, 20: 0.5})
    >>> [float(s(i)) for i in (0, 10, 25)]
    [1.0, 0.1, 0.05]
    """
    where = "piecewise_constant_schedule"
    _check_real("init_value", init_value, where)
    items = sorted((boundaries_and_scales or {}).items())
    for _, sc in items:
        _check_nonnegative("scale", sc, where)

    def schedule(count: Any) -> Any:
        v: Any = init_value
        for threshold, sc in items:
            v = np.where(count < threshold, v, v * sc)
        return v

    return schedule


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """``init_value * decay_rate ** ((step - transition_begin) / transition_steps)``, as
    ``optax.exponential_decay``.

    With ``staircase`` the exponent is floored; ``end_value`` bounds the result (a floor when
    ``decay_rate < 1``, a ceiling otherwise). Unlike optax, ``transition_steps <= 0`` or
    ``decay_rate == 0`` raise instead of silently giving a constant.

    >>> sched = exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
    >>> float(sched(0)), float(sched(10)), float(sched(20))
    (1.0, 0.5, 0.25)
    """
    where = "exponential_decay"
    _check_real("init_value", init_value, where)
    _check_positive("transition_steps", transition_steps, where)
    _check_positive("decay_rate", decay_rate, where)
    _check_nonnegative("transition_begin", transition_begin, where)
    if end_value is not None:
        _check_real("end_value", end_value, where)
    clip_fn = np.maximum if decay_rate < 1.0 else np.minimum

    def schedule(count: Any) -> Any:
        count = count - transition_begin
        p = count / transition_steps
        if staircase:  # a Python bool hyperparameter, not a traced value
            p = np.floor(p)
        value = np.where(count <= 0, init_value, init_value * np.power(decay_rate, p))
        if end_value is not None:
            value = clip_fn(value, end_value)
        return value

    return schedule


def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps.

    ``init_value * ((1 - alpha) * (0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)))
    ** exponent + alpha)``, as ``optax.cosine_decay_schedule``.

    >>> sched = cosine_decay_schedule(1.0, decay_steps=100, alpha=0.1)
    >>> float(sched(0)), float(sched(50)), float(sched(100)), float(sched(1000))
    (1.0, 0.55, 0.1, 0.1)
    """
    where = "cosine_decay_schedule"
    _check_real("init_value", init_value, where)
    _check_positive("decay_steps", decay_steps, where)
    _check_real("alpha", alpha, where)
    _check_real("exponent", exponent, where)

    def schedule(count: Any) -> Any:
        count = np.minimum(count, decay_steps)
        cosine = 0.5 * (1 + np.cos(np.pi * count / decay_steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: list[Schedule], boundaries: list[int]) -> Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` (seeing the step
    relative to its boundary), ... (``optax.join_schedules``).

    >>> s = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [3])
    >>> [float(s(i)) for i in range(6)]
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    where = "join_schedules"
    schedules, boundaries = list(schedules), list(boundaries)
    if len(schedules) != len(boundaries) + 1:
        raise LocatedValueError(
            f"{where}: need one boundary between each pair of schedules, got "
            f"{len(schedules)} schedules and {len(boundaries)} boundaries"
        )
    for i, f in enumerate(schedules):
        if not callable(f):
            raise LocatedTypeError(f"{where}: schedules[{i}] is not callable")

    def schedule(count: Any) -> Any:
        out = schedules[0](count)
        for boundary, f in zip(boundaries, schedules[1:]):
            out = np.where(count < boundary, out, f(count - boundary))
        return out

    return schedule


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """Linear warmup ``init_value -> peak_value`` then cosine decay to ``end_value``.

    As ``optax.warmup_cosine_decay_schedule``: ``decay_steps`` is the total length including
    the warmup; the cosine part runs for ``decay_steps - warmup_steps`` steps.

    >>> sched = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110,
    ...                                      end_value=0.1)
    >>> [round(float(sched(s)), 6) for s in (0, 5, 10, 60, 110, 500)]
    [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """
    where = "warmup_cosine_decay_schedule"
    _check_real("init_value", init_value, where)
    _check_real("peak_value", peak_value, where)
    _check_nonnegative("warmup_steps", warmup_steps, where)
    _check_real("decay_steps", decay_steps, where)
    _check_real("end_value", end_value, where)
    if not decay_steps > warmup_steps:
        raise LocatedValueError(
            f"{where}: decay_steps (the total length, warmup included) must be > warmup_steps, "
            f"got decay_steps={decay_steps}, warmup_steps={warmup_steps}"
        )
    alpha = 0.0 if peak_value == 0 else end_value / peak_value
    decay = cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent)
    if warmup_steps == 0:  # optax's linear schedule degenerates to a constant; skip it
        return decay
    warmup = linear_schedule(init_value, peak_value, warmup_steps)
    return join_schedules([warmup, decay], [warmup_steps])
