"""Transforms built from the basic ones, under the names JAX and autograd give them:
``linearize``, ``linear_transpose``, ``eval_shape`` (with ``ShapeDtypeStruct``), and
autograd's ``elementwise_grad``, ``jacobian`` and ``holomorphic_grad``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedTypeError, LocatedValueError
from funcgrad.core.ir import ShapedArray
from funcgrad.core.pytree import tree_flatten, tree_map, tree_unflatten
from funcgrad.core.tracer import Tracer
from funcgrad.core.tracing import check_diff_leaf, eval_ir, to_user, trace_to_ir
from funcgrad.transforms.forward import jacrev, jvp
from funcgrad.transforms.reverse import _argnums_tuple, _vjp_flat, grad, vjp

__all__ = [
    "ShapeDtypeStruct",
    "eval_shape",
    "linearize",
    "linear_transpose",
    "elementwise_grad",
    "jacobian",
    "holomorphic_grad",
]


class ShapeDtypeStruct:
    """A shape and a dtype standing for an array (``jax.ShapeDtypeStruct``): the input and
    output type of :func:`eval_shape`, and how ``pure_callback`` declares its results.

    >>> ShapeDtypeStruct((2, 3), np.float32)
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype", "sharding", "weak_type")

    def __init__(
        self, shape: Sequence[int], dtype: Any, sharding: Any = None, weak_type: bool = False
    ) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.sharding = sharding
        self.weak_type = bool(weak_type)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self) -> str:
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ShapeDtypeStruct):
            return NotImplemented
        return (self.shape, self.dtype, self.weak_type) == (
            other.shape,
            other.dtype,
            other.weak_type,
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))


def _as_aval(x: Any, what: str) -> ShapedArray:
    if type(x) is Tracer:
        return x.aval
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype, x.weak_type)
    if isinstance(x, ShapedArray):
        return x
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return ShapedArray((), np.result_type(x), weak=True)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return ShapedArray(tuple(x.shape), np.dtype(x.dtype))
    raise LocatedTypeError(
        f"eval_shape: {what} is a {type(x).__name__}; pass arrays, scalars or ShapeDtypeStruct "
        "(or pytrees of them)"
    )


def eval_shape(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The shapes and dtypes of ``fun(*args, **kwargs)`` as a pytree of
    :class:`ShapeDtypeStruct`, found by tracing abstractly (nothing is computed). Arguments may
    be arrays or ``ShapeDtypeStruct``.

    >>> import funcgrad.numpy as fnp
    >>> eval_shape(lambda a, b: (a @ b, a.sum()), ShapeDtypeStruct((2, 3), np.float32),
    ...            np.ones((3, 4)))
    (ShapeDtypeStruct(shape=(2, 4), dtype=float64), ShapeDtypeStruct(shape=(), dtype=float32))
    """
    leaves, in_tree = tree_flatten((args, kwargs))
    avals = [_as_aval(x, f"argument leaf {i}") for i, x in enumerate(leaves)]
    ir, out_tree, _ = trace_to_ir(
        lambda a, k: fun(*a, **k), avals, in_tree, "eval_shape", abstract=True
    )
    outs = [ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in ir.outvars]
    return tree_unflatten(out_tree, outs)


def linearize(fun: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the Jacobian-vector product at
    ``primals``. The primal computation runs once; ``f_jvp`` evaluates only the linear
    (tangent) part, with the primal intermediates it needs stored.

    >>> import funcgrad.numpy as fnp
    >>> y, f_jvp = linearize(fnp.sin, 0.0)
    >>> float(y), float(f_jvp(2.0))
    (0.0, 2.0)
    """
    leaves, in_tree = tree_flatten(primals)
    leaves = [check_diff_leaf(x, f"primal {i}", "linearize") for i, x in enumerate(leaves)]
    primals_c = tree_unflatten(in_tree, leaves)
    box: list[Any] = []

    def tangent_part(*tangents: Any) -> Any:
        out, t_out = jvp(fun, tuple(primals_c), tuple(tangents))
        box.append(out)
        return t_out

    t_avals = [ShapedArray(np.shape(x), x.dtype) for x in leaves]
    ir, out_tree, _ = trace_to_ir(tangent_part, t_avals, in_tree, "linearize", abstract=True)
    out = box[0]

    def f_jvp(*tangents: Any) -> Any:
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != in_tree:
            raise LocatedValueError(
                f"linearize: f_jvp got tangents with structure {t_tree}, but the primals have "
                f"structure {in_tree}; pass one tangent per primal"
            )
        for i, (t, a) in enumerate(zip(t_leaves, t_avals)):
            if tuple(np.shape(t)) != a.shape:
                raise LocatedValueError(
                    f"linearize: tangent {i} has shape {tuple(np.shape(t))} but its primal has "
                    f"shape {a.shape}"
                )
        t_leaves = [
            t if type(t) is Tracer else np.asarray(t, a.dtype) for t, a in zip(t_leaves, t_avals)
        ]
        res = eval_ir(ir, *t_leaves)
        return tree_unflatten(out_tree, [to_user(r, v.aval) for r, v in zip(res, ir.outvars)])

    return out, f_jvp


def linear_transpose(fun: Callable[..., Any], *primals: Any) -> Callable[..., Any]:
    """The transpose of a linear function: ``f_t(cotangent)`` returns a tuple with one
    cotangent per input. ``primals`` give the input shapes and dtypes only (arrays or
    ``ShapeDtypeStruct``).

    ``fun`` must be linear; funcgrad checks this numerically when the transpose is built
    (``fun(0) = 0`` and the same VJP at zero and at a random point) and raises ``ValueError``
    otherwise.

    >>> f_t = linear_transpose(lambda x: 2.0 * x[::-1], np.zeros(3))
    >>> f_t(np.array([1.0, 2.0, 3.0]))
    (Array([6., 4., 2.]),)
    """
    leaves, in_tree = tree_flatten(primals)
    avals = [_as_aval(x, f"primal {i}") for i, x in enumerate(leaves)]
    for i, a in enumerate(avals):
        if a.dtype.kind != "f":
            raise LocatedTypeError(
                f"linear_transpose: input {i} has dtype {a.dtype}; only float inputs are supported"
            )
    zeros = tree_unflatten(in_tree, [np.zeros(a.shape, a.dtype) for a in avals])
    out0, vjp0, _, _ = _vjp_flat(fun, tuple(zeros), False, "linear_transpose")
    out_leaves, out_tree = tree_flatten(out0)
    if any(np.any(np.asarray(o) != 0) for o in out_leaves):
        raise LocatedValueError(
            "linear_transpose: the function is not linear (it is nonzero at zero); only "
            "linear functions have a transpose"
        )
    rng = np.random.default_rng(0)
    point = tree_unflatten(in_tree, [rng.standard_normal(a.shape).astype(a.dtype) for a in avals])
    _, vjp1, _, _ = _vjp_flat(fun, tuple(point), False, "linear_transpose")
    ct = tree_unflatten(
        out_tree, [rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in out_leaves]
    )
    for a, b in zip(tree_flatten(vjp0(ct))[0], tree_flatten(vjp1(ct))[0]):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if not np.allclose(a, b, rtol=1e-6, atol=1e-8 * (1.0 + np.abs(b).max(initial=0.0))):
            raise LocatedValueError(
                "linear_transpose: the function is not linear (its derivative depends on the "
                "input); only linear functions have a transpose"
            )

    def f_transpose(*cotangent: Any) -> tuple[Any, ...]:
        if len(cotangent) != 1:
            raise LocatedTypeError(
                "linear_transpose: the transposed function takes one argument, the output "
                f"cotangent (a pytree like the output), got {len(cotangent)}"
            )
        return vjp0(cotangent[0])

    return f_transpose


def elementwise_grad(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's ``elementwise_grad``: the VJP of ``fun`` with an all-ones cotangent — the
    derivative of each output element with respect to the matching input element, for
    functions applied elementwise.

    >>> import funcgrad.numpy as fnp
    >>> elementwise_grad(fnp.sin)(np.array([0.0, np.pi]))
    Array([ 1., -1.])
    """

    @functools.wraps(fun)
    def egrad(*args: Any, **kwargs: Any) -> Any:
        (i,) = _argnums_tuple(argnum, len(args), "elementwise_grad")

        def partial(x: Any) -> Any:
            full = list(args)
            full[i] = x
            return fun(*full, **kwargs)

        out, vjp_fn = vjp(partial, args[i])
        ones = tree_map(lambda o: np.ones(np.shape(o), np.result_type(o)), out)
        return vjp_fn(ones)[0]

    return egrad


def jacobian(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's ``jacobian``: shape ``out.shape + in.shape`` (reverse mode, like
    :func:`jacrev` with ``argnums=argnum``).

    >>> jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    Array([[2., 0.],
           [0., 4.]])
    """
    if not isinstance(argnum, (int, np.integer)):
        raise LocatedTypeError(f"jacobian: argnum must be an int, got {argnum!r}")
    return jacrev(fun, int(argnum))


def holomorphic_grad(fun: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """autograd's ``holomorphic_grad``: ``grad(fun, argnum, holomorphic=True)``, the complex
    derivative of a holomorphic function of a complex input. Real inputs raise ``TypeError``,
    as in autograd.

    >>> import funcgrad as fg, numpy as np
    >>> complex(fg.holomorphic_grad(lambda z: z * z)(np.complex128(3 + 4j)))
    (6+8j)
    """
    g = grad(fun, argnum, holomorphic=True)

    @functools.wraps(fun)
    def hgrad(*args: Any, **kwargs: Any) -> Any:
        (i,) = _argnums_tuple(argnum, len(args), "holomorphic_grad")
        leaves = tree_flatten(args[i])[0]
        if not all(np.iscomplexobj(x) for x in leaves):
            raise LocatedTypeError(
                "holomorphic_grad: the input must be complex (it differentiates holomorphic "
                "functions of complex numbers); for real inputs use grad"
            )
        return g(*args, **kwargs)

    return hgrad
