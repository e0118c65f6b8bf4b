"""Bounded memory and thread-safe bookkeeping: jit's caches and the generated sources in
``linecache`` stay bounded however many functions are compiled, eager control flow reuses its
compiled bodies, cache counters do not lose updates under threads, and deep output trees
compile."""

from __future__ import annotations

import gc
import linecache
import threading
import tracemalloc

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.transforms import codegen


def _generated_entries() -> int:
    gc.collect()
    codegen._drop_dead_sources()  # (collected functions' sources leave at the next compile)
    return sum(1 for k in linecache.cache if k.startswith("<funcgrad-jit-"))


@pytest.fixture
def small_jit_cache():
    fg.config.update("jit_cache_size", 8)
    yield 8
    fg.config.update("jit_cache_size", 1024)


def test_jit_cache_is_lru_bounded(small_jit_cache):
    f = fg.jit(lambda x: x * 2.0)
    before = _generated_entries()
    for n in range(1, 201):  # 200 distinct signatures
        np.testing.assert_array_equal(f(np.ones(n)), 2 * np.ones(n))
    info = f.cache_info()
    assert info.misses == 200 and info.currsize == small_jit_cache
    assert _generated_entries() - before <= small_jit_cache
    # the most recently used signatures are the ones kept
    f(np.ones(200))
    assert f.cache_info().misses == 200
    f(np.ones(1))
    assert f.cache_info().misses == 201


def test_linecache_entries_die_with_their_functions():
    before = _generated_entries()
    for i in range(300):  # 300 distinct jit functions, dropped after one call each
        fg.jit(lambda x, i=i: x + float(i))(np.ones(3))
    assert _generated_entries() - before <= 2


def test_collected_sources_leave_linecache_at_the_next_compile_not_in_the_collector():
    # A finalizer that popped linecache entries could run inside linecache.checkcache's loop
    # over the keys (whenever that loop triggered the garbage collector): KeyError.
    f = fg.jit(lambda x: x + 1.0)
    f(np.ones(2))
    name = f.lower(np.ones(2))  # (compiles nothing new: the same cache entry)
    mine = [k for k in linecache.cache if k.startswith("<funcgrad-jit-") and "_lambda_" in k]
    del f, name
    gc.collect()
    assert mine[-1] in linecache.cache
    linecache.checkcache()
    fg.jit(lambda x: x * 3.0)(np.ones(2))
    assert mine[-1] not in linecache.cache


def test_many_distinct_compilations_keep_memory_bounded(small_jit_cache):
    f = fg.jit(lambda x: fnp.sin(x) * 2.0 + 1.0)
    for n in range(1, 51):
        f(np.ones(n))
    gc.collect()
    tracemalloc.start()
    try:
        for n in range(51, 1051):
            f(np.ones(n))
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for n in range(1051, 2051):
            f(np.ones(n))
        gc.collect()
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # another 1000 compilations add nothing that stays (a leak of one source per
    # compilation would add ~1000 entries of ~1 kB)
    assert second - first < 200_000, (first, second)


def test_eager_scan_reuses_its_compiled_body():
    xs = np.ones((10, 3))

    def step(w):
        return lax.scan(lambda c, x: (c + fnp.sum(x * w), c), 0.0, xs)

    step(np.ones(3))
    before = _generated_entries()
    for i in range(2000):
        carry, ys = step(np.full(3, float(i)))
    assert carry == pytest.approx(30.0 * 1999)
    assert _generated_entries() - before <= 1


def test_eager_while_loop_and_cond_reuse_compiled_bodies():
    def run(x):
        y = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1]
        return lax.cond(y > 1.0, lambda v: v * 2.0, lambda v: v - 1.0, y)

    run(1.5)
    before = _generated_entries()
    for _ in range(1000):
        assert run(1.5) == pytest.approx(2 * 1.5**5)
    assert _generated_entries() - before <= 2


def test_cache_counters_do_not_lose_updates_under_threads():
    f = fg.jit(lambda x: x + 1.0)
    x = np.ones(3)
    f(x)

    def work():
        for _ in range(2000):
            f(x)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    info = f.cache_info()
    assert info.hits + info.misses == 20001


def test_jit_does_not_switch_off_the_garbage_collector():
    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return x * 2.0

    fg.jit(f)(np.ones(2))
    assert seen == [True]


@pytest.mark.parametrize("depth", [200, 500])
def test_deeply_nested_outputs_compile(depth):
    def f(x):
        out = x
        for _ in range(depth):
            out = [out]
        return out

    got = fg.jit(f)(np.ones(2))
    for _ in range(depth):
        assert isinstance(got, list) and len(got) == 1
        got = got[0]
    np.testing.assert_array_equal(got, np.ones(2))


def test_jit_cache_size_option_is_checked():
    with pytest.raises(TypeError, match="jit_cache_size takes a positive int, got 0"):
        fg.config.update("jit_cache_size", 0)
    with pytest.raises(TypeError, match="takes a positive int, got True"):
        fg.config.update("jit_cache_size", True)
