"""The package layout is the architecture: layers as folders, imports pointing down only, no
import circles (lazy imports inside functions count too), and public modules that show only
their ``__all__``. Walks the source with ``ast``; nothing here imports the modules it checks
except the ``dir()`` test."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import funcgrad

PKG = Path(funcgrad.__file__).parent

# Lowest first. A module may import modules of its own layer or of a lower one.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("funcgrad.core",)),
    ("primitives", ("funcgrad.primitives",)),
    ("transforms", ("funcgrad.transforms",)),
    (
        "namespaces",
        (
            "funcgrad.numpy",
            "funcgrad.lax",
            "funcgrad.nn",
            "funcgrad.scipy",
            "funcgrad.random",
            "funcgrad.viz",
            "funcgrad.tree_util",
            "funcgrad.errors",
            "funcgrad.test_util",
            "funcgrad.tree",
            "funcgrad.debug",
            "funcgrad.extend",
            "funcgrad.misc",
            "funcgrad.example_libraries",
        ),
    ),
    ("training", ("funcgrad.optim", "funcgrad.io", "funcgrad.distributed")),
    ("top", ("funcgrad",)),
]


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def layer_of(mod: str) -> int:
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best_len:
                best, best_len = i, len(p)
    if best is None:
        raise AssertionError(f"module {mod} is in no layer: add it to LAYERS in {__file__}")
    return best


def imports_of(mod: str) -> set[str]:
    """funcgrad modules that ``mod`` imports anywhere in its source (top level or inside
    functions): ``from a.b import c`` counts as importing ``a.b.c`` when that is a module."""
    path = MODULES[mod]
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names = []
            for a in node.names:
                sub = f"{prefix}.{a.name}"
                names.append(sub if sub in MODULES else prefix)
        else:
            continue
        for n in names:
            if n == "funcgrad" or n.startswith("funcgrad."):
                while n not in MODULES:  # `import funcgrad.x.y` of a name inside a module
                    n = n.rsplit(".", 1)[0]
                if n != mod:
                    out.add(n)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_has_a_layer():
    for m in MODULES:
        layer_of(m)


def test_no_upward_imports():
    bad = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
        for m, targets in GRAPH.items()
        for t in sorted(targets)
        if layer_of(t) > layer_of(m)
    ]
    assert not bad, "imports from a lower layer up to a higher one:\n" + "\n".join(bad)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules, or None (iterative DFS)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(graph):
        if root in state:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
    return None


def test_no_import_circles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_circle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(g) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_layer_table_is_ordered_as_the_docs_say():
    names = [n for n, _ in LAYERS]
    assert names == ["core", "primitives", "transforms", "namespaces", "training", "top"]
    text = (PKG.parent / "docs" / "architecture.md").read_text()
    for folder in ("core/", "primitives/", "transforms/"):
        assert f"funcgrad/{folder}" in text


def _public_modules() -> list[str]:
    out = ["funcgrad"]
    for info in pkgutil.walk_packages(funcgrad.__path__, "funcgrad."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        if layer_of(info.name) <= 2 or info.name.startswith("funcgrad.primitives"):
            continue  # internal layers: not user-facing
        out.append(info.name)
    return out


@pytest.mark.parametrize("name", _public_modules())
def test_public_module_shows_only_its_all(name):
    try:
        mod = importlib.import_module(name)
    except ImportError as e:  # an optional extra that is not installed
        pytest.skip(f"{name}: {e}")
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
    public = {n for n in dir(mod) if not n.startswith("_")}
    submodules = {
        n
        for n in public
        if type(getattr(mod, n)).__name__ == "module"
        and getattr(getattr(mod, n), "__name__", "").startswith(name + ".")
    }
    extra = sorted(public - set(mod.__all__) - submodules)
    assert not extra, f"dir({name}) shows names outside its __all__: {extra}"


def test_docs_name_only_files_that_exist():
    root = PKG.parent
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    missing = []
    for doc in texts:
        for m in re.finditer(
            r"\b((?:funcgrad|examples|benchmarks|tests|docs)/[\w/.-]*\w)", doc.read_text()
        ):
            path = m.group(1)
            if not (root / path).exists():
                missing.append(f"{doc.name}: {path}")
    assert not missing, "docs name files that do not exist:\n" + "\n".join(missing)


def test_readme_links_stay_inside_the_repository():
    text = (PKG.parent / "README.md").read_text()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        assert "://" not in target and not target.startswith(".."), target
        assert (PKG.parent / target.split("#")[0]).exists(), target


def test_import_funcgrad_reaches_every_public_submodule():
    code = (
        "import funcgrad as fg\n"
        "names = 'numpy lax nn optim io tree_util errors test_util random'.split()\n"
        "for name in names:\n"
        "    assert getattr(fg, name).__name__ == 'funcgrad.' + name, name\n"
        "assert fg.numpy.linalg.det and fg.test_util.check_grads and fg.io.save\n"
        "import sys\n"
        "assert 'funcgrad.scipy' not in sys.modules  # optional extras load on first use\n"
        "assert fg.scipy.special.erf and fg.viz.draw and fg.random.normal\n"
    )
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
