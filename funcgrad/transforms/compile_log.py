"""Messages for ``config.update("log_compiles", True)``: what jit is compiling and why.

A jit cache key is ``(tree, leaf signatures, static values, debug_nans, debug_infs,
jit_backend)``; a leaf signature is ``(shape, dtype)`` for arrays and the Python type for
(weakly typed) scalars.
On a miss the new key is compared with each cached key and the closest one's differences are
reported, e.g. ``argument 0 (x): shape changed (3,) -> (4,)``.
"""

from __future__ import annotations

import logging
from typing import Any

from funcgrad.core.ir import ShapedArray

__all__ = ["log_miss", "miss_reason"]


def _sig_text(s: Any) -> str:
    if isinstance(s, tuple):
        return str(ShapedArray(s[0], s[1]))
    return f"Python {s.__name__} (weakly typed)"


def _static_name(k: Any, names: list[str]) -> str:
    if isinstance(k, str):
        return k
    return f"argument {k}" + (f" ({names[k]})" if k < len(names) else "")


def _leaf_change(path: str, old: Any, new: Any) -> str:
    if isinstance(old, tuple) and isinstance(new, tuple):
        parts = []
        if old[0] != new[0]:
            parts.append(f"shape changed {old[0]} -> {new[0]}")
        if old[1] != new[1]:
            parts.append(f"dtype changed {old[1]} -> {new[1]}")
        return f"{path}: " + ", ".join(parts)
    if isinstance(old, tuple) or isinstance(new, tuple):
        return f"{path}: weak type changed {_sig_text(old)} -> {_sig_text(new)}"
    return f"{path}: type changed {_sig_text(old)} -> {_sig_text(new)}"


def miss_reason(key: tuple[Any, ...], cached: list[Any], paths: list[str], names: list[str]) -> str:
    """What differs between ``key`` and the closest cached key (fewest differences)."""
    if not cached:
        return "first call (nothing cached yet)"
    best: list[str] | None = None
    tree, sigs, static, *flags = key
    for old in reversed(cached):  # newest first: ties go to the latest signature
        o_tree, o_sigs, o_static, *o_flags = old
        diffs: list[str] = []
        if o_tree != tree:
            diffs.append(f"argument structure changed {o_tree} -> {tree}")
        else:
            diffs += [_leaf_change(p, a, b) for p, a, b in zip(paths, o_sigs, sigs) if a != b]
        o_st, n_st = dict(o_static), dict(static)
        for k in sorted(set(o_st) | set(n_st), key=str):
            a, b = o_st.get(k), n_st.get(k)
            if a != b:
                diffs.append(
                    f"static {_static_name(k, names)} changed "
                    f"{'(absent)' if a is None else repr(a[1])} -> "
                    f"{'(absent)' if b is None else repr(b[1])}"
                )
        for fname, a, b in zip(("debug_nans", "debug_infs", "jit_backend"), o_flags, flags):
            if a != b:
                diffs.append(f"config {fname} changed {a} -> {b}")
        if best is None or len(diffs) < len(best):
            best = diffs
    assert best is not None
    more = f" (closest of {len(cached)} cached signatures)" if len(cached) > 1 else ""
    return "; ".join(best) + more


def log_miss(
    log: logging.Logger,
    name: str,
    key: tuple[Any, ...],
    cached: list[Any],
    paths: list[str],
    names: list[str],
) -> None:
    """Log a cache miss: the function, its abstract signature and the reason."""
    sig = [f"{p}: {_sig_text(s)}" for p, s in zip(paths, key[1])]
    sig += [f"static {_static_name(k, names)}={v[1]!r}" for k, v in key[2]]
    log.warning(
        "jit: tracing and compiling %s for (%s); reason: %s",
        name,
        ", ".join(sig),
        miss_reason(key, cached, paths, names),
    )
