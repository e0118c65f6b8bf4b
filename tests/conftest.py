"""Test configuration: hypothesis runs derandomized (the same examples on every run), so CI
is reproducible; set FUNCGRAD_HYPOTHESIS_RANDOM=1 to explore new examples locally.

Fixtures shared by the fusion tests: ``isolated_kernel_cache`` (numba kernels compiled into
a temporary directory, never ~/.cache) and ``jit_backend`` (each fused back end in turn,
skipped when its package is missing)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile(
    "funcgrad", derandomize=not os.environ.get("FUNCGRAD_HYPOTHESIS_RANDOM"), deadline=None
)
settings.load_profile("funcgrad")


FUSED_BACKENDS = ["numpy", "numexpr", "numba"]


@pytest.fixture(scope="module")
def isolated_kernel_cache(tmp_path_factory: Any) -> Iterator[str]:
    """numba kernels go to a temporary directory, never to ~/.cache (and none is reused)."""
    from funcgrad.transforms import kernels

    d = str(tmp_path_factory.mktemp("kernels"))
    old = os.environ.get("FUNCGRAD_KERNEL_CACHE")
    os.environ["FUNCGRAD_KERNEL_CACHE"] = d
    kernels.clear_memory_cache()
    try:
        yield d
    finally:
        kernels.clear_memory_cache()
        if old is None:
            del os.environ["FUNCGRAD_KERNEL_CACHE"]
        else:
            os.environ["FUNCGRAD_KERNEL_CACHE"] = old


@pytest.fixture(params=FUSED_BACKENDS)
def jit_backend(request: Any) -> Iterator[str]:
    """``config.jit_backend`` set to each fused back end in turn (restored afterwards)."""
    import funcgrad as fg
    from funcgrad.transforms import kernels

    if not kernels.available(request.param):
        pytest.skip(f"{request.param} is not installed")
    old = fg.config.jit_backend
    fg.config.update("jit_backend", request.param)
    try:
        yield request.param
    finally:
        fg.config.update("jit_backend", old)
