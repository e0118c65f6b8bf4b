"""Deterministic work counts for scaling tests (instead of wall-clock time, which depends on
the machine's load): the number of Python lines executed and C functions called inside the
funcgrad package while running a function. An algorithm linear in n does ~n times the work
for n times the input, whatever else the machine is doing. Timings live in benchmarks/."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import funcgrad

_ROOT = os.path.dirname(os.path.abspath(funcgrad.__file__))


def count_work(fn: Callable[[], Any]) -> int:
    """Lines executed plus C calls made by funcgrad code while ``fn()`` runs."""
    count = 0

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def on_call(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(_ROOT) else None

    def on_profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "c_call" and frame.f_code.co_filename.startswith(_ROOT):
            count += 1

    old_trace, old_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(on_call)
    sys.setprofile(on_profile)
    try:
        fn()
    finally:
        sys.settrace(old_trace)
        sys.setprofile(old_profile)
    return count
