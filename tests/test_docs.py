"""The reference pages in docs/ stay true to the code."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _api_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in (DOCS / "api.md").read_text().splitlines():
        m = re.match(r"## `([\w.]+)`", line)
        if m:
            current = sections.setdefault(m.group(1), [])
        elif current is not None and (m := re.match(r"- `(\w+)` — \S", line)):
            current.append(m.group(1))
    return sections


SECTIONS = _api_sections()


def _public_modules() -> set[str]:
    out = {"funcgrad"}
    for info in pkgutil.walk_packages(fg.__path__, "funcgrad."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or parts[1] in INTERNAL:
            continue
        out.add(info.name)
    return out


INTERNAL = {"core", "primitives", "transforms"}  # layers users do not import


def test_api_page_has_a_section_for_each_public_module():
    public = _public_modules()
    assert {"funcgrad", "funcgrad.numpy", "funcgrad.lax", "funcgrad.optim"} <= public
    assert public == set(SECTIONS), (
        f"docs/api.md: no section for {sorted(public - set(SECTIONS))}; "
        f"sections for modules that do not exist: {sorted(set(SECTIONS) - public)}"
    )


@pytest.mark.parametrize("module", sorted(SECTIONS))
def test_api_page_lists_exactly_the_modules_all(module):
    try:
        mod = importlib.import_module(module)
    except ImportError as e:  # an optional extra that is not installed
        pytest.skip(f"{module}: {e}")
    listed = SECTIONS[module]
    assert len(listed) == len(set(listed)), f"{module}: a name is listed twice"
    missing = sorted(set(mod.__all__) - set(listed))
    extra = sorted(set(listed) - set(mod.__all__))
    assert not missing and not extra, f"docs/api.md, {module}: missing {missing}, extra {extra}"


def test_coverage_table_does_not_claim_what_raises():
    # docs/errors.md #15: plain np.array / np.asarray of a traced value raises
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"^\| `(\w+)` \|.*$", (DOCS / "numpy_coverage.md").read_text(), re.M)
    }
    for name in ("array", "asarray"):
        cells = [c.strip() for c in rows[name].split("|")[1:-1]]
        assert cells[2].startswith("✗"), f"numpy_coverage.md says plain np.{name} works"
        plain, traced = getattr(np, name), getattr(fnp, name)
        with pytest.raises(fg.TracerConversionError):
            fg.grad(lambda x, f=plain: f(x).sum())(np.ones(2))
        assert fg.grad(lambda x, f=traced: f(x).sum())(np.ones(2)).tolist() == [1, 1]


def test_coverage_table_names_exist():
    names = re.findall(r"^\| `(\w+)` \|", (DOCS / "numpy_coverage.md").read_text(), re.M)
    assert len(names) > 150
    missing = [n for n in names if not hasattr(fnp, n) and not hasattr(fnp.linalg, n)]
    assert not missing, missing
