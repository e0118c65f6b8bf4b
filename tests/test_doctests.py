"""Every docstring example in the package runs and prints what it says (the same check as
``pytest --doctest-modules funcgrad``, run as part of the suite)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import funcgrad
import funcgrad.transforms.reverse

MODULES = ["funcgrad"] + [m.name for m in pkgutil.walk_packages(funcgrad.__path__, "funcgrad.")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        mod = importlib.import_module(name)
    except ImportError as e:  # an optional extra that is not installed
        pytest.skip(f"{name}: {e}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    with np.printoptions(legacy=False):
        for test in finder.find(mod, name):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_doctests_are_found():
    # the examples exist: a finder that silently found nothing would pass every test above
    finder = doctest.DocTestFinder(exclude_empty=True)
    n = sum(len(t.examples) for t in finder.find(funcgrad.transforms.reverse))
    assert n >= 2
