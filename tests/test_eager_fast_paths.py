"""Fast paths of eager tracing and reverse mode (issue 18 item 4): each gives the results and
the errors of the general path it short-cuts."""

from __future__ import annotations

import gc
import inspect
import threading

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import pytree, source, tracer
from funcgrad.core.ir import Literal, ShapedArray, Var
from funcgrad.core.tracing import check_diff_leaf, eval_ir
from funcgrad.transforms import reverse

OPS = [
    ("add", lambda a, b: a + b, fnp.add),
    ("sub", lambda a, b: a - b, fnp.subtract),
    ("mul", lambda a, b: a * b, fnp.multiply),
    ("div", lambda a, b: a / b, fnp.divide),
]
OTHERS = [
    2.0,
    3,
    True,
    1.5 + 2j,
    np.float32(2.0),
    np.int64(3),
    np.arange(1.0, 4.0, dtype=np.float32),
    [1.0, 2.0, 3.0],
]


def _ir_text(fn, *args):
    return str(fg.make_ir(fn)(*args))


@pytest.mark.parametrize("name,op,fn", OPS)
@pytest.mark.parametrize("other", OTHERS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_operators_equal_the_numpy_functions(name, op, fn, other, dtype):
    x = np.arange(1, 4).astype(dtype)
    # the traced operator and its reflected form record what fnp.<op> records
    assert _ir_text(lambda a: op(a, other), x) == _ir_text(lambda a: fn(a, other), x)
    assert _ir_text(lambda a: op(other, a), x) == _ir_text(lambda a: fn(other, a), x)
    got, want = fg.jit(lambda a: op(a, other))(x), fg.jit(lambda a: fn(a, other))(x)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    got = fg.jit(lambda a: op(other, a))(x)
    want = fg.jit(lambda a: fn(other, a))(x)
    assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("name,op,fn", OPS)
def test_operator_gradients_equal_the_numpy_functions(name, op, fn):
    x = np.array([1.0, 2.0, 4.0])
    for other in (2.0, np.float32(3.0), x[::-1].copy()):
        for flip in (False, True):

            def f_op(a, other=other, flip=flip):
                return fnp.sum(op(other, a) if flip else op(a, other))

            def f_fn(a, other=other, flip=flip):
                return fnp.sum(fn(other, a) if flip else fn(a, other))

            g1, g2 = fg.grad(f_op)(x), fg.grad(f_fn)(x)
            assert g1.dtype == g2.dtype and np.array_equal(g1, g2)


@pytest.mark.parametrize("bad", ["a", None, object()], ids=repr)
def test_operator_errors_equal_the_numpy_functions(bad):
    x = np.ones(2)

    def msg(f):
        with pytest.raises(TypeError) as info:
            fg.grad(lambda a: fnp.sum(f(a)))(x)
        # the same text after the location prefix (each names its own line)
        return str(info.value).split(", ", 1)[1]

    assert msg(lambda a: a * bad) == msg(lambda a: fnp.multiply(a, bad))
    assert msg(lambda a: bad * a) == msg(lambda a: fnp.multiply(bad, a))


def test_power_operator_equals_fnp_power():
    x = np.array([1.0, 2.0, 3.0])
    for e in (2, 3, 0, -1, True, 2.0, np.int64(2), np.float32(0.5)):
        assert _ir_text(lambda a, e=e: a**e, x) == _ir_text(lambda a, e=e: fnp.power(a, e), x)
        g1 = fg.grad(lambda a, e=e: fnp.sum(a**e))(x)
        g2 = fg.grad(lambda a, e=e: fnp.sum(fnp.power(a, e)))(x)
        assert g1.dtype == g2.dtype and np.array_equal(g1, g2)
    assert "integer_pow" in _ir_text(lambda a: a**2, x)


def test_python_scalars_become_weak_literals():
    ir = fg.make_ir(lambda a: a * 2.0 + 1)(np.ones(2, np.float32))
    for e in ir.eqns:
        lit = e.inputs[1]
        assert type(lit) is Literal and lit.aval.weak
    assert [str(v.aval) for v in ir.outvars] == ["f32[2]"]  # weak scalars keep float32
    assert fg.grad(lambda a: fnp.sum(a * 2.0))(np.ones(2, np.float32)).dtype == np.float32


def test_eager_avals_are_shared_and_correct(monkeypatch):
    ir = fg.make_ir(lambda a: fnp.sin(a) * 2.0)(np.ones(3))
    a1, a2 = (e.outputs[0].aval for e in ir.eqns)
    assert a1 is a2 and a1 == ShapedArray((3,), np.float64) and not a1.weak
    # a full cache is cleared, not grown; avals stay right
    monkeypatch.setattr(tracer, "_avals", {})
    for n in range(1, 4200, 97):
        e = fg.make_ir(lambda a: a * 2.0)(np.ones(n, np.float32)).eqns[0]
        assert e.outputs[0].aval == ShapedArray((n,), np.float32)
        assert len(tracer._avals) <= 4096
    # a Python scalar from an impl (no .shape) still gets its aval
    ir = fg.make_ir(lambda a: fnp.sum(a))(np.ones(2))
    assert str(ir.outvars[0].aval) == "f64[]"


def _compile_at(line: int, filename: str, other: str = "2.0"):
    code = "\n" * (line - 1) + f"def f(x):\n    return fnp.sum(fnp.sin(x) * {other})\n"
    g = {"fnp": fnp}
    exec(compile(code, filename, "exec"), g)
    return g["f"]


def test_source_lines_of_fresh_code_objects(monkeypatch):
    # functions compiled and freed one after another (their code objects' ids may be reused)
    # each get their own line; so do they when the line cache is cleared in between
    for max_lines in (source._MAX_LINES, 2):
        monkeypatch.setattr(source, "_MAX_LINES", max_lines)
        for line in (3, 40, 7, 1, 12):
            f = _compile_at(line, "gen_model.py")
            ir = fg.make_ir(f)(np.ones(2))
            assert {e.src for e in ir.eqns} == {("gen_model.py", line + 1)}
            bad = _compile_at(line, "gen_bad.py", other="'s'")
            with pytest.raises(TypeError, match=rf"^in gen_bad\.py:{line + 1}, "):
                fg.grad(bad)(np.ones(2))
            del f, bad, ir


def test_same_line_from_two_call_sites():
    def inner(x):
        return fnp.exp(x)  # inner line

    def outer(x):
        a = inner(x)
        b = inner(a)
        return a * b  # product line

    src, start = inspect.getsourcelines(outer)
    isrc, istart = inspect.getsourcelines(inner)
    ir = fg.make_ir(outer)(np.ones(2))
    inner_line = istart + next(i for i, s in enumerate(isrc) if "# inner line" in s)
    prod_line = start + next(i for i, s in enumerate(src) if "# product line" in s)
    assert [e.src[1] for e in ir.eqns] == [inner_line, inner_line, prod_line]
    assert all(e.src[0] == __file__ for e in ir.eqns)


def test_fresh_thread_traces_and_names_lines():
    out = {}

    def work():
        try:
            out["g"] = fg.grad(lambda x: fnp.sum(fnp.sin(x)))(np.zeros(2))
            out["loc"] = source.current_loc()
            out["phase"] = source.current_phase()
            fg.grad(lambda x: fnp.sum(x * "s"))(np.zeros(2))
        except TypeError as e:
            out["err"] = str(e)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert np.array_equal(out["g"], np.ones(2))
    assert out["loc"] is None and out["phase"] is None
    assert out["err"].startswith(f"in {__file__.rsplit('/', 1)[-1]}:")


def test_grad_pauses_gc_and_restores_it():
    seen = []

    def f(x):
        seen.append(gc.isenabled())
        return fnp.sum(x * x)

    assert gc.isenabled()
    fg.grad(f)(np.ones(2))
    assert seen == [False] and gc.isenabled()

    def bad(x):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fg.grad(bad)(np.ones(2))
    assert gc.isenabled()
    gc.disable()
    try:
        fg.value_and_grad(f)(np.ones(2))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_cycles_made_during_grad_are_collected_after():
    import weakref

    class Node:
        pass

    refs = []

    def f(x):
        a, b = Node(), Node()
        a.other, b.other = b, a  # a reference cycle: only the collector frees it
        refs.append(weakref.ref(a))
        return fnp.sum(x * 2.0)

    fg.grad(f)(np.ones(2))
    gc.collect()
    assert refs[0]() is None


def test_flat_tuple_unflatten():
    leaves, tree = pytree.tree_flatten((1, 2.0, "a"))
    out = pytree.tree_unflatten(tree, iter(leaves))
    assert out == (1, 2.0, "a") and type(out) is tuple
    with pytest.raises(ValueError, match="has 3 leaves but 2 were given"):
        pytree.tree_unflatten(tree, [1, 2])
    _, leaf = pytree.tree_flatten(5)
    with pytest.raises(ValueError, match="has 1 leaves but 2 were given"):
        pytree.tree_unflatten(leaf, [1, 2])


def test_check_diff_leaf_fast_cases_equal_the_general_checks():
    a = np.ones(2, np.float32)
    assert check_diff_leaf(a, "x", "grad") is a
    z = check_diff_leaf(2.5, "x", "grad")
    assert type(z) is np.ndarray and z.shape == () and z.dtype == np.float64 and z == 2.5
    with pytest.raises(TypeError, match="has dtype int64"):
        check_diff_leaf(np.ones(2, np.int64), "x", "grad")
    with pytest.raises(TypeError, match="is a bool"):
        check_diff_leaf(True, "x", "grad")


def test_argnums_fast_case_equals_general_one():
    assert reverse._argnums_tuple(0, 2, "grad") == (0,)
    assert reverse._argnums_tuple(-1, 2, "grad") == (1,)
    for bad, err in [(2, ValueError), (True, TypeError), (-3, ValueError)]:
        with pytest.raises(err):
            reverse._argnums_tuple(bad, 2, "grad")
    with pytest.raises(ValueError, match="refers to argument 0"):
        fg.grad(lambda: 1.0)()


def test_fit_cotangent_fast_case():
    aval = ShapedArray((2,), np.float64)
    ct = np.ones(2)
    assert reverse.fit_cotangent(ct, aval) is ct
    s = np.float64(2.0)
    assert reverse.fit_cotangent(s, ShapedArray((), np.float64)) is s
    out = reverse.fit_cotangent(np.float32(2.0), ShapedArray((), np.float64))
    assert out.dtype == np.float64  # casts
    out = reverse.fit_cotangent(np.ones((3, 2)), aval)
    assert np.array_equal(out, [3.0, 3.0])  # un-broadcasts
    out = reverse.fit_cotangent(np.array([1 + 2j, 3j]), aval)
    assert out.dtype == np.float64 and np.array_equal(out, [1.0, 0.0])  # real part


def test_cotangent_dtypes_through_the_inlined_check():
    # a float32 input reached through float64 arithmetic gets a float32 gradient
    def f(x):
        return fnp.sum(fnp.astype(x, np.float64) * np.float64(3.0))

    g = fg.grad(f)(np.ones(2, np.float32))
    assert g.dtype == np.float32 and np.array_equal(g, [3.0, 3.0])
    # complex intermediate of a real input: the real part (JAX's convention)
    g = fg.grad(lambda x: fnp.real(x * (1 + 2j)) * 1.0)(2.0)
    assert g == 1.0 and type(g) is np.float64


def test_seed_example_values_and_types():
    def loss(w, x, y):
        return (w * x - y) ** 2

    assert fg.grad(loss)(1.0, 2.0, 4.0) == -8.0
    v, g = fg.value_and_grad(loss)(np.float32(1.0), 2.0, 4.0)
    assert (v, g) == (4.0, -8.0) and type(g) is np.float32 and type(v) is np.float32
    g = fg.grad(loss, argnums=(0, 1))(1.0, 2.0, 4.0)
    assert g == (-8.0, -4.0)
    with pytest.raises(TypeError, match="Python int 1"):
        fg.grad(loss)(1, 2.0, 4.0)


def test_source_setter_respects_an_outer_override():
    with source.source_context() as outer:
        outer.loc = ("outer.py", 1)
        with source.source_context() as inner:
            inner.setter()(("inner.py", 2))
            assert source.current_loc() == ("outer.py", 1)
        set_loc = outer.setter()
        set_loc(("outer.py", 3))
        assert source.current_loc() == ("outer.py", 3)
    assert source.current_loc() is None


def test_var_avals_are_never_mutated_by_sharing():
    # two equations sharing an aval object: changing one variable's aval is impossible
    # without replacing the object, so sharing is safe; check the IR prints independently
    ir = fg.make_ir(lambda a: (a + 1.0) * 2.0)(np.ones(2))
    v1, v2 = (e.outputs[0] for e in ir.eqns)
    assert type(v1) is Var and v1.aval is v2.aval
    assert str(ir).count("f64[2]") >= 3


# --- bind's inlined eager case ---------------------------------------------------------------


def test_inlined_bind_records_what_the_general_path_records():
    # same-shape float64 operands (the inlined case) and everything it hands to the general
    # path: broadcasting, promotion, weak scalars, integer and complex operands, constants
    cases = [
        (lambda a, b: fnp.sin(a) * b + 1.0, np.ones(3), np.full(3, 2.0)),
        (lambda a, b: a * b, np.ones(3), np.ones((2, 3))),  # broadcast
        (lambda a, b: a + b, np.ones(3, np.float32), np.ones(3)),  # promotion
        (lambda a, b: a * 2 + b, np.arange(3), np.ones(3, np.float32)),  # int * weak int
        (lambda a, b: a * (1 + 2j) - b, np.ones(2), np.ones(2)),  # weak complex
        (lambda a, b: a * np.float32(3.0) + np.arange(2.0), np.ones(2), np.ones(2)),
    ]
    for f, a, b in cases:
        for _ in range(2):  # the first call at a line takes the general path, then the inlined
            ir = fg.make_ir(f)(a, b)
            want = np.asarray(f(a, b))  # plain numpy (NEP 50 promotion)
            (v,) = ir.outvars
            assert v.aval == ShapedArray(want.shape, want.dtype), (f, v.aval)
            assert not v.aval.weak
            got = eval_ir(ir, a, b)[0]
            assert got.dtype == want.dtype and np.array_equal(got, want)
            assert all(e.src[0] == __file__ for e in ir.eqns)


def test_inlined_bind_shares_the_operand_aval_only_when_equal():
    def f(a):
        return fnp.tanh(a) + 1.0

    fg.make_ir(f)(np.ones(3))
    ir = fg.make_ir(f)(np.ones(3))  # (the line is cached: the inlined path)
    (x,) = ir.invars
    assert all(e.outputs[0].aval is x.aval for e in ir.eqns)
    ir = fg.make_ir(lambda a: a * 2.0)(np.ones(3, np.float32))
    assert ir.eqns[0].outputs[0].aval == ShapedArray((3,), np.float32)
    ir = fg.make_ir(lambda a, b: a * b)(np.ones(3, np.float32), np.ones(3))
    out = ir.eqns[0].outputs[0].aval
    assert out == ShapedArray((3,), np.float64) and out is not ir.invars[0].aval
    ir = fg.make_ir(lambda a, b: a * b)(np.ones(3), np.ones((2, 3)))
    assert ir.eqns[0].outputs[0].aval == ShapedArray((2, 3), np.float64)
    # a byte-swapped operand: equal dtype, not the same object
    sw = np.ones(2, dtype=">f8")
    ir = fg.make_ir(lambda a: a * 1.0)(sw)
    assert ir.eqns[0].outputs[0].aval.dtype == np.multiply(sw, 1.0).dtype


def test_inlined_bind_gradients_against_closed_forms():
    x = np.array([0.3, -1.2, 2.0])
    y = np.array([[1.5, -0.5, 0.25], [2.0, 1.0, -3.0]])

    def f(a, b):
        return fnp.sum(fnp.tanh(fnp.sin(a) * b) + a * 0.5)

    ga, gb = fg.grad(f, argnums=(0, 1))(x, y)
    t = np.tanh(np.sin(x) * y)
    d = 1.0 - t * t
    # a * 0.5 is broadcast over the 2 rows of b before the sum: 2 * 0.5
    assert np.allclose(ga, (d * y).sum(0) * np.cos(x) + 1.0, rtol=1e-14)
    assert np.allclose(gb, d * np.sin(x), rtol=1e-14)
    # float32 input reaching float64 through a promoting operand
    g = fg.grad(lambda a: fnp.sum(fnp.sin(a) * np.ones(3)))(x.astype(np.float32))
    assert g.dtype == np.float32 and np.allclose(g, np.cos(x.astype(np.float32)), rtol=1e-6)


def test_inlined_bind_impl_errors_name_the_line():
    def f(a):
        return a**-1  # the error line

    src, start = inspect.getsourcelines(f)
    line = start + next(i for i, s in enumerate(src) if "# the error line" in s)
    name = __file__.rsplit("/", 1)[-1]
    with pytest.raises(ValueError, match=rf"^in {name}:{line}, .*negative integer powers"):
        fg.make_ir(f)(np.arange(1, 3))


def test_frame_walk_file_cache_is_bounded_and_right(monkeypatch):
    monkeypatch.setattr(tracer, "_files", {f"<gen-{i}>": False for i in range(4096)})

    def f(a):
        return fnp.sin(a) * 2.0  # the line

    src, start = inspect.getsourcelines(f)
    line = start + next(i for i, s in enumerate(src) if "# the line" in s)
    for _ in range(2):  # the general path, then the inlined one
        ir = fg.make_ir(f)(np.ones(2))
        assert [e.src for e in ir.eqns] == [(__file__, line)] * 2
    assert len(tracer._files) < 4096  # cleared when full, then refilled
    assert tracer._files[__file__] is False
    assert tracer._files[fnp.sin.__code__.co_filename] is True  # (a funcgrad wrapper)


def test_call_site_cache_with_fresh_code_objects(monkeypatch):
    # the cache of (line, trampoline) per call site, also when it is cleared in between
    for max_sites in (tracer._MAX_SITES, 1):
        monkeypatch.setattr(tracer, "_MAX_SITES", max_sites)
        for line in (5, 2, 30, 5):
            f = _compile_at(line, "gen_site.py")
            for _ in range(2):  # the second call takes the cached site
                ir = fg.make_ir(f)(np.ones(2))
                assert {e.src for e in ir.eqns} == {("gen_site.py", line + 1)}
            assert len(tracer._sites) <= max(max_sites, 2)
            del f, ir


# --- long eager backward passes: numpy called directly, warnings raised and re-run -------------

_FILLER = 20  # harmless primitives making the backward pass long enough for the fast path


def _filler(a):
    for _ in range(_FILLER):
        a = a * 1.0 + 0.0
    return a


def _warnings_of(fn, *args):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args)
    return out, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def _slow_and_fast(monkeypatch, fn, *args):
    """(result, warnings) with the fast backward path, then with it off."""
    modes = []
    walk = reverse._walk

    def spy(*a):
        modes.append(a[-1] is not None)  # its user_err: numpy runs raising
        return walk(*a)

    monkeypatch.setattr(reverse, "_walk", spy)
    fast = _warnings_of(fn, *args)
    assert modes == [True]
    monkeypatch.setattr(reverse, "_FAST_MIN_EQNS", 1 << 30)
    slow = _warnings_of(fn, *args)
    assert modes == [True, False]
    monkeypatch.undo()
    return fast, slow


def test_fast_backward_warnings_name_the_users_line(monkeypatch):
    def f(x):
        r = fnp.sqrt(x)  # sqrt line: its rule divides by 2*sqrt(0) in the backward pass
        return fnp.sum(_filler(r))

    src, start = inspect.getsourcelines(f)
    line = start + next(i for i, s in enumerate(src) if "# sqrt line" in s)
    x = np.array([0.0, 4.0])
    (g_fast, w_fast), (g_slow, w_slow) = _slow_and_fast(monkeypatch, fg.grad(f), x)
    assert np.array_equal(g_fast, [np.inf, 0.25]) and np.array_equal(g_slow, g_fast)
    assert w_fast == w_slow
    assert [(c, fn, ln) for c, _, fn, ln in w_fast] == [(RuntimeWarning, __file__, line)]
    assert "divide by zero" in w_fast[0][1]


def test_fast_backward_redoes_only_the_failing_operand(monkeypatch):
    def f(a, b):
        p = a * b  # product line: the rule for b overflows (a * 1e200), the one for a does not
        return fnp.sum(_filler(p * 1e200))

    src, start = inspect.getsourcelines(f)
    line = start + next(i for i, s in enumerate(src) if "# product line" in s)
    a, b = np.array([1e200]), np.array([1e-200])
    gf = fg.grad(f, argnums=(0, 1))
    ((ga, gb), w_fast), ((ga2, gb2), w_slow) = _slow_and_fast(monkeypatch, gf, a, b)
    # d/da = b * 1e200 = 1 (counted once), d/db = a * 1e200 = inf
    assert np.array_equal(ga, [1.0]) and np.array_equal(gb, [np.inf])
    assert np.array_equal(ga2, ga) and np.array_equal(gb2, gb)
    assert w_fast == w_slow
    assert [(c, fn, ln) for c, _, fn, ln in w_fast] == [(RuntimeWarning, __file__, line)]


def test_fast_backward_keeps_the_callers_error_state():
    def f(x):
        return fnp.sum(_filler(fnp.sqrt(x)))

    x = np.array([0.0, 4.0])
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            fg.grad(f)(x)
    g, w = _warnings_of(lambda: _ignoring(fg.grad(f), x))
    assert w == [] and np.array_equal(g, [np.inf, 0.25])
    assert np.geterr()["divide"] == "warn" and not source._tls.direct
    # a handler-based state keeps the general path (and is honoured)
    calls = []
    old = np.seterrcall(lambda kind, flag: calls.append(kind))
    try:
        with np.errstate(divide="call"):
            g = fg.grad(f)(x)
    finally:
        np.seterrcall(old)
    assert calls == ["divide by zero"] and np.array_equal(g, [np.inf, 0.25])


def _ignoring(fn, *args):
    with np.errstate(all="ignore"):
        return fn(*args)


@pytest.mark.parametrize("via", ["contextvar", "errstate"])
def test_fast_backward_runs_custom_rules_once_in_the_callers_state(via, monkeypatch):
    import warnings

    if via == "errstate":  # numpy without the error-state context variable
        monkeypatch.setattr(reverse, "_errstate_var", None)

    calls = []

    @fg.custom_vjp
    def h(x):
        return fnp.sin(x)

    def h_fwd(x):
        return fnp.sin(x), x

    def h_bwd(x, g):
        calls.extend([np.geterr()["divide"], np.geterr()["over"]])
        assert not source._tls.direct  # primitives through their trampolines
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            np.log(np.zeros(1))  # user numpy in a custom rule warns, as outside grad
        calls.append(len(caught))
        return (g * fnp.cos(x),)

    h.defvjp(h_fwd, h_bwd)
    x = np.array([0.5, 1.0])
    with np.errstate(over="ignore"):  # a caller's state other than the default, kept
        g = fg.grad(lambda x: fnp.sum(_filler(h(x) * 2.0)))(x)
        assert np.geterr()["over"] == "ignore" and np.geterr()["divide"] == "warn"
    assert np.allclose(g, 2.0 * np.cos(x), rtol=1e-14)
    assert calls == ["warn", "ignore", 1]
    assert np.geterr()["over"] == "warn" and not source._tls.direct


def test_fast_backward_in_a_thread_and_after_an_error():
    out = {}

    def work():
        out["g"] = fg.grad(lambda x: fnp.sum(_filler(fnp.sin(x))))(np.zeros(2))
        out["direct"] = source._tls.direct
        out["err"] = np.geterr()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert np.array_equal(out["g"], np.ones(2)) and out["direct"] is False
    assert out["err"]["divide"] == "warn"

    def bad_bwd(x):
        return fnp.sum(_filler(fnp.sin(x) * "s"))

    with pytest.raises(TypeError):
        fg.grad(bad_bwd)(np.zeros(2))
    assert source._tls.direct is False and np.geterr()["over"] == "warn"


def test_fast_backward_errors_name_the_equations_line(monkeypatch):
    def f(x):
        r = fnp.sqrt(x)  # sqrt line: its rule makes an inf in the backward pass
        return fnp.sum(_filler(r))

    src, start = inspect.getsourcelines(f)
    line = start + next(i for i, s in enumerate(src) if "# sqrt line" in s)
    name = __file__.rsplit("/", 1)[-1]
    msgs = []
    fg.config.update("debug_infs", True)
    try:
        for min_eqns in (reverse._FAST_MIN_EQNS, 1 << 30):  # fast, then the general path
            monkeypatch.setattr(reverse, "_FAST_MIN_EQNS", min_eqns)
            # (numpy's own divide warning off: the error is debug_infs's, raised by bind)
            with pytest.raises(FloatingPointError) as info, np.errstate(divide="ignore"):
                fg.grad(f)(np.array([0.0, 4.0]))
            msgs.append(str(info.value))
    finally:
        fg.config.update("debug_infs", False)
    assert msgs[0] == msgs[1] and f"{name}:{line}" in msgs[0], msgs


def test_inlined_bind_objects_have_every_slot_their_constructors_set():
    # bind's inlined case makes Var, Eqn, Literal and Tracer objects without calling their
    # __init__: each must carry exactly what the constructor would set
    from funcgrad.core.ir import Eqn

    seen = []

    def f(a):
        t = fnp.sin(a) * 2.0
        seen.append(t)
        return t

    for _ in range(2):  # the second trace takes the inlined path (the line is cached)
        ir = fg.make_ir(f)(np.ones(2))
    t, e = seen[-1], ir.eqns[-1]
    lit, var = e.inputs[1], e.outputs[0]
    assert type(lit) is Literal and t.irvar is var
    refs = [
        (t, tracer.Tracer(t._trace, var, t.val, t.src)),
        (e, Eqn(e.prim, e.inputs, e.params, e.outputs, e.src, e.phase)),
        (var, Var(var.aval)),
        (lit, Literal(lit.val, lit.aval)),
    ]
    for obj, ref in refs:
        for cls in type(ref).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot in ("__weakref__", "__dict__"):
                    continue
                assert hasattr(ref, slot) and hasattr(obj, slot), (type(obj), slot)
                assert getattr(obj, slot) is getattr(ref, slot), (type(obj), slot)
        assert getattr(obj, "__dict__", {}) == getattr(ref, "__dict__", {})


def test_fast_backward_under_enclosing_transforms_against_closed_forms():
    x = np.array([0.3, -1.1, 2.0])

    def f(a):
        return fnp.sum(_filler(fnp.sin(a)))

    # second derivative: the outer (eager) backward pass is raising, the inner one records
    gg = fg.grad(lambda a: fnp.sum(fg.grad(f)(a) * 1.0))(x)
    assert np.allclose(gg, -np.sin(x), rtol=1e-14, atol=1e-15)
    assert np.allclose(fg.jit(fg.grad(f))(x), np.cos(x), rtol=1e-14)
    # a vjp computed eagerly, its cotangent traced by an enclosing grad (not raising: the
    # backward equations are recorded there); with a warning in the backward pass
    out, f_vjp = fg.vjp(lambda a: _filler(fnp.sqrt(a)), np.array([0.0, 4.0]))
    assert np.array_equal(out, [0.0, 2.0])

    def h(c):
        return fnp.sum(f_vjp(c)[0])

    c = np.array([1.0, 2.0])
    with np.errstate(divide="ignore"):
        g = fg.grad(h)(c)  # d/dc of c·(1 / (2 sqrt(a)))
        n_eqns = len(fg.make_ir(h)(c).eqns)
    assert np.array_equal(g, [np.inf, 0.25])
    g2, w = _warnings_of(fg.grad(h), c)
    assert np.array_equal(g2, g) and w
    assert all(c is RuntimeWarning and fn == __file__ for c, _, fn, _ in w), w
    # the same equations each time (none left over from a re-run)
    with np.errstate(divide="ignore"):
        assert n_eqns == len(fg.make_ir(h)(c).eqns)
