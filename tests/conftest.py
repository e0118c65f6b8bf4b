"""Test configuration: hypothesis runs derandomized (the same examples on every run), so CI
is reproducible; set FUNCGRAD_HYPOTHESIS_RANDOM=1 to explore new examples locally."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile(
    "funcgrad", derandomize=not os.environ.get("FUNCGRAD_HYPOTHESIS_RANDOM"), deadline=None
)
settings.load_profile("funcgrad")
