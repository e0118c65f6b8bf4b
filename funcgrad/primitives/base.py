"""The :class:`Primitive` record: everything about one primitive, declared in one place.

Each entry of the primitive table (the modules next to this one) gives:

* ``impl`` — the numpy implementation ``impl(*args, **params)``;
* ``shape_rule`` — ``rule(*in_avals, **params) -> ShapedArray`` (or a list for
  multiple-result primitives); raises ``ValueError``/``TypeError`` on bad shapes;
* ``vjp`` — one staged rule per input, ``rule(g, ans, *args, **params) -> cotangent``
  (``None`` for a non-differentiable input), as in autograd's ``defvjp``; cotangents may be
  broadcast: the reverse-mode interpreter un-broadcasts them in one helper;
* ``jvp`` — one rule per input, ``rule(t, ans, *args, **params) -> tangent contribution``;
  contributions are summed (and broadcast to the output shape by the interpreter);
* ``batch`` — ``rule(args, dims, **params) -> (out, out_dim)`` for ``vmap``;
* ``emit`` — a source template for ``jit``'s code generator (``"np.sin({0})"``), or ``None``
  to call ``impl`` directly;
* ``simplify`` — algebraic identities for jit's optimizer (x·1 → x, transpose chains, ...);
* ``fresh`` / ``readonly_view`` — memory facts for jit's buffer planning;
* ``vjp_fwd`` / ``vjp_bwd`` — reverse mode with residuals saved by the forward pass;
* ``codegen_impl`` — what jit-generated code calls instead of ``impl`` (a compiled sub-IR);
* ``emit_block`` — ``rule(ctx, eqn, ins, outs) -> Block``: statements that jit's code
  generator writes in place of a call (control flow: a ``for``/``while`` loop with the body's
  sub-IR inlined through ``ctx``; see :mod:`funcgrad.transforms.codegen_loops`);
* ``fuse`` — the primitive as a scalar expression (``"sin({0})"``, ``"({0} + {1})"``) in
  numexpr's vocabulary, which jit's fused kernels (numexpr, numba) are written in; ``None``:
  never fused. ``emit_out`` — the numpy call writing the result into a buffer
  (``"np.sin({0}, out={out})"``; derived from ``ufunc`` when not given), used by fused
  groups on the numpy back end; ``fuse_reduce`` — a full reduction that may end a fused
  kernel (accumulation template and initial value);
* ``vjp_full`` / ``jvp_full`` — whole-primitive rules for primitives that carry
  sub-IRs or have several results (control flow, ``custom_vjp``).

Transforms only read these fields; they never test a primitive's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from funcgrad.core.errors import LocatedValueError, format_src
from funcgrad.core.ir import Literal, ShapedArray, Var

__all__ = ["Primitive", "registry", "define"]

# Folding a constant bigger than this would bloat the compiled function's memory; simplify
# rules look inside constants only up to this size.
MAX_FOLDED_SIZE = 1 << 16

registry: dict[str, Primitive] = {}


class Primitive:
    __slots__ = (
        "name",
        "impl",
        "shape_rule",
        "vjp",
        "jvp",
        "batch",
        "emit",
        "ufunc",
        "multiple_results",
        "vjp_full",
        "jvp_full",
        "differentiable",
        "pure",
        "fresh",
        "readonly_view",
        "simplify",
        "vjp_fwd",
        "vjp_bwd",
        "codegen_impl",
        "emit_block",
        "fuse",
        "fuse_reduce",
        "emit_out",
        "__dict__",
    )

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        shape_rule: Callable[..., Any],
        vjp: tuple[Callable[..., Any] | None, ...] | None = None,
        jvp: tuple[Callable[..., Any] | None, ...] | None = None,
        batch: Callable[..., Any] | None = None,
        emit: str | Callable[..., str] | None = None,
        ufunc: Any = None,
        multiple_results: bool = False,
        vjp_full: Callable[..., Any] | None = None,
        jvp_full: Callable[..., Any] | None = None,
        differentiable: bool = True,
        pure: bool = True,
        fresh: bool | None = None,
        readonly_view: bool = False,
        simplify: Callable[..., Any] | None = None,
        vjp_fwd: Callable[..., Any] | None = None,
        vjp_bwd: Callable[..., Any] | None = None,
        codegen_impl: Callable[..., Any] | None = None,
        emit_block: Callable[..., Any] | None = None,
        fuse: str | Callable[..., str] | None = None,
        emit_out: str | Callable[..., str] | None = None,
        fuse_reduce: tuple[str, float] | None = None,
    ) -> None:
        self.name = name
        self.impl = impl
        self.shape_rule = shape_rule
        self.vjp = vjp
        self.jvp = jvp
        self.batch = batch
        self.emit = emit
        self.ufunc = ufunc  # the numpy ufunc implementing it, if any (for out= buffer reuse)
        self.multiple_results = multiple_results
        self.vjp_full = vjp_full
        self.jvp_full = jvp_full
        # False: outputs carry no derivative at all (comparisons, sign, floor, ...)
        self.differentiable = differentiable
        self.pure = pure
        # fresh: the output never aliases an input (jit may then write into it in place);
        # readonly_view: the output may be a read-only view (jit copies it before returning).
        self.fresh = (ufunc is not None) if fresh is None else fresh
        self.readonly_view = readonly_view
        # simplify(eqn, producer, consts) -> None | operand | (prim, inputs, params): the
        # primitive's algebraic identities, used by jit's simplification pass.
        self.simplify = simplify
        # vjp_fwd(args, params, needs) -> (outs, residuals) and vjp_bwd(residuals, g, args,
        # params, needs) -> cotangents: reverse mode that saves residuals in the forward pass.
        self.vjp_fwd = vjp_fwd
        self.vjp_bwd = vjp_bwd
        # codegen_impl(**params) -> callable that jit-generated code calls (else impl).
        self.codegen_impl = codegen_impl
        # emit_block(ctx, eqn, ins, outs) -> codegen.Block: statements (e.g. a loop with the
        # body inlined) that jit-generated code runs instead of a call; takes precedence.
        self.emit_block = emit_block
        # fuse: scalar expression template (numexpr's names: sin, where, &, ...) or
        # fuse(ins, params) -> str; the primitive may then join a fused elementwise group.
        self.fuse = fuse
        # fuse_reduce: ("({0} + {1})", 0.0) — a reduction a fused kernel may end with, as the
        # accumulation (accumulator, element) and its initial value (used when it reduces
        # every axis of a group's value).
        self.fuse_reduce = fuse_reduce
        # emit_out: "np.add({0}, {1}, out={out})" or emit_out(ins, params, out) -> str.
        if emit_out is None and ufunc is not None and not multiple_results:
            args = ", ".join(f"{{{i}}}" for i in range(ufunc.nin))
            emit_out = f"np.{ufunc.__name__}({args}, out={{out}})"
        self.emit_out = emit_out

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> Any:
        return (_lookup, (self.name,))

    def abstract_eval(
        self, in_avals: list[ShapedArray], params: dict[str, Any], src: Any = None
    ) -> list[ShapedArray]:
        """Output avals for input avals; shape errors name the user's line."""
        try:
            out = self.shape_rule(*in_avals, **params)
        except (ValueError, TypeError) as e:
            msg = str(e)
            if src is not None and not msg.startswith("in "):
                msg = format_src(src) + msg
            raise type(e)(msg) from None
        return list(out) if self.multiple_results else [out]


def _lookup(name: str) -> Primitive:
    return registry[name]


def define(
    name: str, impl: Callable[..., Any], shape_rule: Callable[..., Any], **kw: Any
) -> Primitive:
    """Create and register a primitive; the single place where its rules are declared."""
    if name in registry:
        raise LocatedValueError(f"primitive {name!r} is defined twice")
    p = Primitive(name, impl, shape_rule, **kw)
    registry[name] = p
    return p


# --- shared helpers for shape/dtype rules -------------------------------------------------

_WEAK_SAMPLE = {"f": 0.0, "i": 0, "u": 0, "b": False, "c": 0j}


def dtype_operand(a: ShapedArray) -> Any:
    """What to hand to ``np.result_type`` for an aval: weak literals act like Python scalars."""
    return _WEAK_SAMPLE[a.dtype.kind] if a.weak else a.dtype


def broadcast_shapes(name: str, *avals: ShapedArray) -> tuple[int, ...]:
    shapes = [a.shape for a in avals]
    if len(shapes) == 2 and shapes[0] == shapes[1]:
        return shapes[0]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        shown = " and ".join(str(a) for a in avals)
        raise LocatedValueError(
            f"{name}: shapes {shown} cannot be broadcast together (numpy broadcasting "
            "matches trailing dimensions, which must be equal or 1); reshape or expand_dims "
            "one operand"
        ) from None


_dtype_cache: dict[tuple[Any, ...], np.dtype] = {}


def ufunc_dtype(fn: Callable[..., Any], *avals: ShapedArray) -> np.dtype:
    """Result dtype of an elementwise numpy function, found by running it on one element
    (exactly numpy's own type resolution, weak Python scalars included); cached."""
    key = (fn, *[(a.dtype, a.weak) for a in avals])
    d = _dtype_cache.get(key)
    if d is None:
        samples = [dtype_operand(a) if a.weak else np.ones((1,), a.dtype) for a in avals]
        samples = [type(s)(1) if not isinstance(s, np.ndarray) else s for s in samples]
        with np.errstate(all="ignore"):
            d = np.asarray(fn(*samples)).dtype
        _dtype_cache[key] = d
    return d


def batch_size(args: Any, dims: Any) -> int:
    """The batch size of a batching rule's arguments (the first batched one's axis length)."""
    for a, d in zip(args, dims):
        if d is not None:
            return int(np.shape(a)[d])
    raise LocatedValueError("batching rule called without a batched argument")


# Helpers for simplify rules (jit's optimizer): is an operand a known constant 0 or 1?


def is_literal(x: Any, value: float) -> bool:
    """True if ``x`` is a literal equal to ``value`` (helper for simplification rules)."""
    return type(x) is Literal and not isinstance(x.val, (bool, np.bool_)) and x.val == value


def is_zero_const(x: Any, consts: dict[Var, Any]) -> bool:
    if is_literal(x, 0):
        return True
    c = consts.get(x) if type(x) is Var else None
    return isinstance(c, np.ndarray) and c.size <= MAX_FOLDED_SIZE and not np.any(c)


def is_one_const(x: Any, consts: dict[Var, Any]) -> bool:
    if is_literal(x, 1):
        return True
    c = consts.get(x) if type(x) is Var else None
    return isinstance(c, np.ndarray) and c.size <= MAX_FOLDED_SIZE and bool(np.all(c == 1))
