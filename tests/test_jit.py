"""Tests for ``funcgrad.jit``: results equal eager execution, the compilation cache, static
arguments, error messages, composition with the other transforms, ``lower()`` and the
generated code's memory behaviour (inputs never mutated, constants never leaked).

Aliasing note: numpy semantics let a jitted function return a *view* of (or the very same
object as) an input when the traced program is an identity or a view on it — e.g.
``jit(lambda x: x)(a) is a`` and ``jit(lambda x: x * 1.0)(a) is a`` after simplification. That
is documented behaviour, not tested here; what is tested is that the generated code never
*writes* into inputs and never hands out its own constants by reference.
"""

from __future__ import annotations

import dataclasses
import threading
import tracemalloc
from collections import namedtuple
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core.ir import check_ir
from funcgrad.tree_util import register_dataclass, tree_leaves, tree_map, tree_structure

RNG = np.random.default_rng(0)


def assert_tree_close(a: Any, b: Any, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    assert tree_structure(a) == tree_structure(b)
    for x, y in zip(tree_leaves(a), tree_leaves(b)):
        assert np.shape(x) == np.shape(y)
        assert np.asarray(x).dtype == np.asarray(y).dtype, (
            np.asarray(x).dtype,
            np.asarray(y).dtype,
        )
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


# --- a set of functions, each checked jit vs eager ----------------------------------------
def mlp_loss(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> Any:
    h = np.tanh(x @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


def make_mlp() -> tuple[Any, ...]:
    params = {
        "W1": RNG.normal(size=(4, 8)),
        "b1": RNG.normal(size=8),
        "W2": RNG.normal(size=(8, 2)),
        "b2": np.zeros(2),
    }
    return params, RNG.normal(size=(16, 4)), RNG.normal(size=(16, 2))


def logsumexp(x: Any) -> Any:
    m = np.max(x, axis=-1, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=-1)) + m[..., 0]


def softmax_xent(logits: Any, labels: Any) -> Any:
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(labels * logp) / logits.shape[0]


A34 = RNG.normal(size=(3, 4))
B34 = RNG.normal(size=(3, 4))
V4 = RNG.normal(size=4)
LABELS = np.eye(4)[[0, 2, 1]]

CASES: list[tuple[str, Any, tuple[Any, ...]]] = [
    ("mlp_loss", mlp_loss, make_mlp()),
    ("mlp_value_and_grad", fg.value_and_grad(mlp_loss), make_mlp()),
    ("mlp_grad_argnums", fg.grad(mlp_loss, argnums=(0, 1)), make_mlp()),
    ("logsumexp", logsumexp, (A34,)),
    ("grad_logsumexp", fg.grad(lambda x: logsumexp(x).sum()), (A34,)),
    ("softmax_xent_grad", fg.grad(softmax_xent), (A34 @ A34.T @ A34, LABELS)),
    (
        "elementwise_chain",
        lambda x, y: np.sin(x) * np.cos(y) + np.exp(-x * x) / (1.0 + y * y) - np.sqrt(x * x + 1),
        (A34, B34),
    ),
    ("maximum_where", lambda x, y: np.where(x > y, np.maximum(x, 0.0), y - x), (A34, B34)),
    ("abs_sign_pow", lambda x: np.abs(x) ** 1.5 + np.sign(x) * x**3, (A34,)),
    (
        "reductions",
        lambda x: (
            np.sum(x),
            np.sum(x, axis=0),
            np.mean(x, axis=1),
            np.max(x, axis=1),
            np.min(x),
            x.sum(axis=(0, 1), keepdims=True),
            np.var(x, axis=0),
        ),
        (A34,),
    ),
    ("grad_max", fg.grad(lambda x: np.max(x, axis=1).sum()), (A34,)),
    (
        "indexing",
        lambda x: (x[0], x[:, 1], x[1:, ::2], x[..., -1], x[None, 2], x[::-1, 1:3].T),
        (A34,),
    ),
    ("grad_indexing", fg.grad(lambda x: (x[1:, ::2] ** 2).sum() + x[0, 3] * 3.0), (A34,)),
    ("reshape_transpose", lambda x: (x.reshape(2, 6).T, x.T.reshape(-1), x.reshape(12)), (A34,)),
    ("matmul_mm", lambda a, b: a @ b.T, (A34, B34)),
    ("matmul_mv", lambda a, v: a @ v, (A34, V4)),
    ("matmul_vm", lambda v, a: v @ a.T, (V4, A34)),
    ("matmul_vv", lambda v, w: v @ w, (V4, V4 * 2.0)),
    ("matmul_batched", lambda a, b: a @ b, (RNG.normal(size=(5, 3, 4)), RNG.normal(size=(4, 2)))),
    (
        "grad_matmul_batched",
        fg.grad(lambda a, b: np.sum((a @ b) ** 2), argnums=(0, 1)),
        (RNG.normal(size=(5, 3, 4)), RNG.normal(size=(4, 2))),
    ),
    ("concatenate", lambda x, y: fnp.concatenate([x, y * 2.0], axis=1), (A34, B34)),
    (
        "grad_concatenate",
        fg.grad(lambda x: np.sum(fnp.concatenate([x, np.sin(x)], axis=0) ** 2)),
        (A34,),
    ),
    ("astype", lambda x: (x.astype(np.float32) * 2, (x * 10).astype(np.int64)), (A34,)),
    ("stop_gradient", fg.grad(lambda x: np.sum(fg.stop_gradient(x) * x)), (A34,)),
    ("hessian", fg.hessian(lambda x: np.sum(np.sin(x) * x**2)), (V4,)),
    ("jacfwd", fg.jacfwd(lambda x: np.tanh(x) * x[::-1]), (V4,)),
    ("vmap_grad", fg.vmap(fg.grad(lambda x: np.sum(np.sin(x) ** 2))), (A34,)),
]


@pytest.mark.parametrize("name,fun,args", CASES, ids=[c[0] for c in CASES])
def test_jit_equals_eager(name: str, fun: Any, args: tuple[Any, ...]) -> None:
    expected = fun(*args)
    jf = fg.jit(fun)
    got = jf(*args)
    assert_tree_close(got, expected)
    # Second call goes through the cache (and the fast path when applicable).
    again = jf(*args)
    assert_tree_close(again, expected)
    assert jf.cache_info().misses == 1


# --- pytrees, scalars, dtypes, output types -----------------------------------------------
Point = namedtuple("Point", ["x", "y"])


@register_dataclass
@dataclasses.dataclass
class Layer:
    w: Any
    b: Any


def test_pytree_inputs_and_outputs() -> None:
    def f(d: Any, lst: Any, tup: Any, pt: Any, layer: Any) -> Any:
        s = d["a"] * lst[0] + tup[1] * pt.x
        return {
            "sum": s,
            "list": [s * 2.0, pt.y],
            "tuple": (layer.w @ s, layer.b),
            "point": Point(s - 1.0, pt.x + pt.y),
            "layer": Layer(layer.w * 2.0, layer.b + s.sum()),
            "none": None,
        }

    args = (
        {"a": np.arange(3.0), "z": np.ones(3)},
        [np.full(3, 2.0), np.zeros(2)],
        (1.5, np.arange(3.0) + 1.0),
        Point(np.ones(3), np.full(3, 4.0)),
        Layer(np.ones((2, 3)), np.arange(2.0)),
    )
    expected = f(*args)
    got = fg.jit(f)(*args)
    assert isinstance(got["point"], Point)
    assert isinstance(got["layer"], Layer)
    assert isinstance(got["list"], list) and isinstance(got["tuple"], tuple)
    assert got["none"] is None
    assert_tree_close(got, expected)


def test_python_scalar_args() -> None:
    jf = fg.jit(lambda x, a, n, flag: fnp.where(flag, x * a + n, x - n))
    x = np.arange(3.0)
    np.testing.assert_allclose(jf(x, 2.5, 3, True), x * 2.5 + 3)
    np.testing.assert_allclose(jf(x, -1.0, 7, False), x - 7)
    # Python scalars are keyed by type only: new values reuse the trace.
    assert jf.cache_info().misses == 1
    out = fg.jit(lambda a, b: a * b)(3.0, 4.0)
    assert isinstance(out, np.float64) and out == 12.0


def test_float32_preserved() -> None:
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    f = lambda x: (np.tanh(x) * 2.0 + 1).sum(axis=0) / 3.0
    got = fg.jit(f)(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, f(x), rtol=1e-6)
    g = fg.jit(fg.grad(lambda x: np.mean(np.exp(x) * x)))(x)
    assert g.dtype == np.float32
    assert fg.jit(lambda x: np.sum(x * x))(x).dtype == np.float32
    assert fg.jit(lambda s: s * 2.0)(np.float32(1.5)).dtype == np.float32


def test_python_scalar_args_are_weakly_typed() -> None:
    x = np.ones(3, np.float32)
    f = lambda x, s: x * s
    assert f(x, 2.0).dtype == np.float32
    assert fg.jit(f)(x, 2.0).dtype == np.float32
    assert fg.jit(f)(x, 2).dtype == np.float32


def test_zero_dim_outputs_are_numpy_scalars() -> None:
    out = fg.jit(lambda x: np.sum(x * x))(np.arange(3.0))
    assert isinstance(out, np.float64) and not isinstance(out, np.ndarray)
    assert out == 5.0
    out = fg.jit(lambda x: x * 2.0)(np.array(1.5))
    assert isinstance(out, np.generic)
    v, g = fg.jit(fg.value_and_grad(lambda x: np.sum(x**2)))(np.arange(3.0))
    assert isinstance(v, np.float64) and isinstance(g, np.ndarray)
    out = fg.jit(lambda x: 3.0)(np.ones(2))
    assert isinstance(out, np.generic) and out == 3.0


def _outputs_plain_writeable(out: Any) -> None:
    for leaf in tree_leaves(out):
        if isinstance(leaf, np.ndarray):
            assert type(leaf) is fg.Array
            assert leaf.flags.writeable


CONST = np.arange(4.0)


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: CONST,
        lambda x: CONST * 2.0,
        lambda x: CONST.reshape(2, 2).T,
        lambda x: (CONST[::-1], x + CONST),
        lambda x: np.broadcast_to(CONST, (3, 4)),
        lambda x: fg.stop_gradient(np.ones(4) * 3.0),
        lambda x: x * 0.0 + 1.0,
        lambda x: np.zeros_like(x),
        fg.grad(lambda x: np.sum(x * CONST)),
        fg.grad(lambda x: np.sum(x)),
        fg.grad(lambda x: np.sum(x[1:3])),
    ],
    ids=[
        "const",
        "const_times_2",
        "const_view",
        "const_reversed",
        "broadcast_const",
        "stop_gradient_const",
        "literal_fill",
        "zeros_like",
        "grad_linear",
        "grad_sum",
        "grad_slice_const",
    ],
)
def test_outputs_writeable_and_constants_not_leaked(fun: Any) -> None:
    x = np.linspace(0.5, 2.0, 4)
    jf = fg.jit(fun)
    expected = fun(x)
    first = jf(x)
    _outputs_plain_writeable(first)
    for leaf in tree_leaves(first):
        leaf[...] = 1234.5  # mutate every returned array
    assert_tree_close(jf(x), expected)
    np.testing.assert_array_equal(CONST, np.arange(4.0))


def test_outputs_do_not_alias_each_other() -> None:
    a, b = fg.jit(lambda x: (np.sin(x), np.sin(x)))(np.ones(3))
    a[0] = 100.0
    assert b[0] == np.sin(1.0)


def test_mutating_output_does_not_affect_next_call() -> None:
    jf = fg.jit(fg.value_and_grad(mlp_loss))
    params, x, y = make_mlp()
    v1, g1 = jf(params, x, y)
    keep = tree_map(np.copy, g1)
    for leaf in tree_leaves(g1):
        leaf *= -100.0
    v2, g2 = jf(params, x, y)
    assert v1 == v2
    assert_tree_close(g2, keep)


# --- the cache ---------------------------------------------------------------------------
def test_cache_same_signature_no_retrace() -> None:
    jf = fg.jit(lambda x, y: x * y + 1.0)
    for k in range(5):
        jf(np.full(3, float(k)), np.ones(3))
    info = jf.cache_info()
    assert info.misses == 1 and info.hits == 4 and info.currsize == 1


def test_cache_retrace_on_new_abstract_signature() -> None:
    n_traces = [0]

    def f(x: Any) -> Any:
        n_traces[0] += 1
        return tree_map(lambda a: a * 2, x)

    jf = fg.jit(f)
    jf(np.ones(3))
    jf(np.zeros(3))
    assert (jf.cache_info().misses, n_traces[0]) == (1, 1)
    jf(np.ones(4))  # new shape
    assert jf.cache_info().misses == 2
    jf(np.ones(3, np.float32))  # new dtype
    assert jf.cache_info().misses == 3
    jf((np.ones(3), np.ones(3)))  # new tree structure
    assert jf.cache_info().misses == 4
    jf([np.ones(3), np.ones(3)])  # list vs tuple
    assert jf.cache_info().misses == 5
    jf({"a": np.ones(3)})
    jf({"b": np.ones(3)})  # different keys
    assert jf.cache_info().misses == 7
    jf(np.ones(4))
    jf((np.zeros(3), np.zeros(3)))
    assert jf.cache_info().misses == 7
    assert n_traces[0] == 7
    assert jf.cache_info().currsize == 7


def test_cache_python_scalar_vs_array() -> None:
    jf = fg.jit(lambda x: x * 2)
    jf(2.0)
    jf(3.0)
    assert jf.cache_info().misses == 1
    jf(2)  # int: a different type, new trace
    assert jf.cache_info().misses == 2
    assert jf(np.float64(2.0)) == 4.0
    assert jf(2) == 4 and np.asarray(jf(2)).dtype.kind == "i"


def test_static_argnums() -> None:
    def f(x: Any, n: int) -> Any:
        if n > 2:  # Python control flow on a static argument
            return x * n
        for _ in range(n):
            x = np.sin(x)
        return x

    jf = fg.jit(f, static_argnums=1)
    x = np.linspace(0, 1, 3)
    np.testing.assert_allclose(jf(x, 3), x * 3)
    np.testing.assert_allclose(jf(x, 2), np.sin(np.sin(x)))
    np.testing.assert_allclose(jf(x, 3), x * 3)
    assert jf.cache_info().misses == 2  # new static value -> retrace; same -> cached
    jf(x, 5)
    assert jf.cache_info().misses == 3
    # negative index and tuple static args
    jg = fg.jit(lambda x, shape: x.reshape(shape), static_argnums=(-1,))
    assert jg(np.arange(6.0), (2, 3)).shape == (2, 3)
    assert jg(np.arange(6.0), (3, 2)).shape == (3, 2)


def test_static_argnames() -> None:
    def f(x: Any, mode: str = "sin") -> Any:
        return np.sin(x) if mode == "sin" else np.cos(x)

    jf = fg.jit(f, static_argnames="mode")
    x = np.linspace(0, 1, 3)
    np.testing.assert_allclose(jf(x, mode="sin"), np.sin(x))
    np.testing.assert_allclose(jf(x, mode="cos"), np.cos(x))
    np.testing.assert_allclose(jf(x), np.sin(x))
    np.testing.assert_allclose(jf(x, mode="cos"), np.cos(x))
    assert jf.cache_info().misses == 3


def test_static_argnums_passed_by_keyword() -> None:
    jf = fg.jit(lambda x, n: x * n if n > 2 else x - n, static_argnums=1)
    np.testing.assert_allclose(jf(np.ones(2), n=3), 3.0)


def test_static_argnames_passed_positionally() -> None:
    jf = fg.jit(lambda x, n: x * n if n > 2 else x - n, static_argnames="n")
    np.testing.assert_allclose(jf(np.ones(2), 3), 3.0)


@pytest.mark.parametrize("bad", [[1, 2], {"a": 1}, np.ones(2)], ids=["list", "dict", "array"])
def test_unhashable_static_arg(bad: Any) -> None:
    jf = fg.jit(lambda x, s: x, static_argnums=1)
    with pytest.raises(TypeError) as ei:
        jf(np.ones(2), bad)
    msg = str(ei.value)
    assert "unhashable" in msg
    if isinstance(bad, list):
        assert "tuple" in msg


def test_value_dependent_control_flow_raises() -> None:
    def f(x: Any) -> Any:
        if x.sum() > 0:
            return x
        return -x

    # Fine eagerly and under grad ...
    np.testing.assert_allclose(f(np.ones(2)), np.ones(2))
    np.testing.assert_allclose(fg.grad(lambda x: f(x).sum())(np.ones(2)), np.ones(2))
    # ... but not under jit.
    with pytest.raises(fg.ConcretizationError) as ei:
        fg.jit(f)(np.ones(2))
    assert isinstance(ei.value, TypeError)
    msg = str(ei.value)
    assert "funcgrad.lax" in msg and "static_argnums" in msg

    def g(x: Any) -> Any:
        while np.max(x) > 1.0:
            x = x / 2.0
        return x

    with pytest.raises(fg.ConcretizationError, match="static_argnums"):
        fg.jit(g)(np.full(2, 5.0))


def test_bad_argument_types() -> None:
    jf = fg.jit(lambda x, s: x)
    with pytest.raises(TypeError, match="static_argnums") as ei:
        jf(np.ones(2), "hello")
    assert "str" in str(ei.value)
    with pytest.raises(TypeError, match="static_argnums"):
        jf(np.ones(2), {"a": object()})
    with pytest.raises(TypeError):
        fg.jit(3)
    with pytest.raises(TypeError):
        fg.jit(lambda x: x, static_argnums=("a",))


# --- decorators, lower(), source ----------------------------------------------------------
def test_decorator_forms() -> None:
    @fg.jit
    def f(x: Any) -> Any:
        return x * 2.0

    @fg.jit(static_argnums=(1,))
    def g(x: Any, n: int) -> Any:
        return x**n

    @fg.jit()
    def h(x: Any) -> Any:
        return x + 1.0

    np.testing.assert_allclose(f(np.ones(2)), 2.0)
    np.testing.assert_allclose(g(np.full(2, 2.0), 3), 8.0)
    np.testing.assert_allclose(h(np.ones(2)), 2.0)
    assert f.__name__ == "f" and g.__name__ == "g"


def test_lower_ir_and_source() -> None:
    def model(weights: Any, inputs: Any) -> Any:
        return np.sum(np.tanh(inputs @ weights) * 2.0)

    w, xs = np.ones((3, 2)), np.ones((4, 3))
    lowered = fg.jit(model).lower(w, xs)
    text = str(lowered.ir)
    assert "tanh" in text and "matmul" in text
    src = lowered.source
    assert "def " in src and "weights" in src and "inputs" in src
    assert "np." in src
    compile(src, "<generated>", "exec")  # it is valid Python
    check_ir(lowered.ir)
    # The optimized IR computes the same thing.
    np.testing.assert_allclose(fg.eval_ir(lowered.ir, w, xs), model(w, xs))
    assert repr(lowered)


def test_lower_pytree_argument_names() -> None:
    src = fg.jit(mlp_loss).lower(*make_mlp()).source
    for name in ("params", "W1", "W2", "x", "y"):
        assert name in src


# --- composition --------------------------------------------------------------------------
def f_tanh(x: Any, w: Any) -> Any:
    return np.sum(np.tanh(x * w) ** 2)


X4 = np.linspace(-1.0, 1.0, 4)


def test_jit_of_grad_and_grad_of_jit() -> None:
    expected = fg.grad(f_tanh, argnums=(0, 1))(X4, 0.7)
    assert_tree_close(fg.jit(fg.grad(f_tanh, argnums=(0, 1)))(X4, 0.7), expected)
    assert_tree_close(fg.grad(fg.jit(f_tanh), argnums=(0, 1))(X4, 0.7), expected)
    # grad of a loss that calls a jitted function with its differentiated argument
    jf = fg.jit(lambda x: np.tanh(x) * 3.0)
    got = fg.grad(lambda w: np.sum(jf(w * X4)))(0.5)
    np.testing.assert_allclose(got, fg.grad(lambda w: np.sum(np.tanh(w * X4) * 3.0))(0.5))


def test_vmap_of_jit_and_jit_of_vmap() -> None:
    xs = RNG.normal(size=(5, 4))
    expected = np.array([f_tanh(x, 0.3) for x in xs])
    np.testing.assert_allclose(fg.vmap(fg.jit(f_tanh), in_axes=(0, None))(xs, 0.3), expected)
    np.testing.assert_allclose(fg.jit(fg.vmap(f_tanh, in_axes=(0, None)))(xs, 0.3), expected)


def test_jit_inside_jit() -> None:
    inner = fg.jit(lambda x: np.sin(x) * 2.0)
    outer = fg.jit(lambda x: inner(x) + inner(x * 2.0))
    np.testing.assert_allclose(outer(X4), np.sin(X4) * 2 + np.sin(2 * X4) * 2)
    assert "def " in outer.lower(X4).source


def test_jit_of_jacrev_and_hessian_of_jit() -> None:
    f = lambda x: np.sin(x) * x[::-1]
    np.testing.assert_allclose(fg.jit(fg.jacrev(f))(X4), fg.jacrev(f)(X4))
    g = lambda x: np.sum(np.sin(x) * x**2)
    np.testing.assert_allclose(fg.hessian(fg.jit(g))(X4), fg.hessian(g)(X4))
    np.testing.assert_allclose(fg.jit(fg.hessian(g))(X4), fg.hessian(g)(X4))
    np.testing.assert_allclose(
        fg.grad(fg.grad(fg.jit(lambda s: np.sin(s) * s)))(0.5),
        fg.grad(fg.grad(lambda s: np.sin(s) * s))(0.5),
    )
    out, tan = fg.jvp(fg.jit(g), (X4,), (np.ones(4),))
    np.testing.assert_allclose(tan, fg.jvp(g, (X4,), (np.ones(4),))[1])


def test_jit_closing_over_outer_tracer() -> None:
    def loss(w: Any) -> Any:
        return np.sum(fg.jit(lambda x: np.sin(x) * w + 1.0)(X4))

    np.testing.assert_allclose(fg.grad(loss)(2.0), np.sum(np.sin(X4)))


# --- memory behaviour ---------------------------------------------------------------------
def test_generated_code_never_mutates_inputs() -> None:
    params, x, y = make_mlp()
    funs = [
        (fg.value_and_grad(mlp_loss), (params, x, y)),
        (lambda a, b: np.exp(np.sin(a) * 2.0 + b) - a, (A34, B34)),
        (lambda a: (a + 1.0, a * 2.0, -a), (A34,)),
        (fg.grad(lambda a: np.sum(np.tanh(a) ** 2)), (A34,)),
    ]
    for fun, args in funs:
        expected = fun(*args)
        copies = tree_map(np.copy, args)
        ro = tree_map(np.copy, args)
        for leaf in tree_leaves(ro):
            leaf.setflags(write=False)
        jf = fg.jit(fun)
        assert_tree_close(jf(*ro), expected)  # read-only inputs: no error
        assert_tree_close(jf(*args), expected)
        assert_tree_close(jf(*args), expected)
        for a, c in zip(tree_leaves(args), tree_leaves(copies)):
            np.testing.assert_array_equal(a, c)


def _peak_bytes(fun: Any, *args: Any) -> int:
    tracemalloc.start()
    try:
        fun(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_jit_peak_memory_does_not_grow_with_program_length() -> None:
    def chain(x: Any) -> Any:
        for _ in range(24):
            x = np.exp(np.sin(x) * 1.01) - np.cos(x)
        return np.sum(x)

    v = np.linspace(0.0, 1.0, 100_000)
    jf = fg.jit(chain)
    np.testing.assert_allclose(jf(v), chain(v))  # compile outside the measurement
    eager, jitted = _peak_bytes(chain, v), _peak_bytes(jf, v)
    assert jitted < 3 * eager, (jitted, eager)


def test_jit_threads() -> None:
    jf = fg.jit(fg.value_and_grad(mlp_loss))
    params, x, y = make_mlp()
    inputs = [(tree_map(lambda a, k=k: a * (1 + 0.1 * k), params), x, y) for k in range(8)]
    expected = [fg.value_and_grad(mlp_loss)(*a) for a in inputs]
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                results[k] = jf(*inputs[k])
                assert_tree_close(results[k], expected[k])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert jf.cache_info().misses == 1
    # Tracing concurrently in several threads (first calls with new shapes) is also safe.
    jg = fg.jit(lambda a: np.sum(np.sin(a) ** 2))
    outs: dict[int, Any] = {}

    def trace(k: int) -> None:
        outs[k] = jg(np.linspace(0, 1, k + 2))

    threads = [threading.Thread(target=trace, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(6):
        np.testing.assert_allclose(outs[k], np.sum(np.sin(np.linspace(0, 1, k + 2)) ** 2))
