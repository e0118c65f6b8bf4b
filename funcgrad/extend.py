"""autograd's ``autograd.extend``: make a Python function a primitive and give it derivative
rules, in autograd's calling conventions.

``primitive(f)`` enters a new entry in funcgrad's one primitive table (``define(...)`` in
``funcgrad/primitives/base.py``), exactly like the built-in primitives: ``grad``, ``jvp``,
``vmap``, ``jit`` and their compositions all see an ordinary primitive. Its ``impl`` is ``f``
itself, always called with concrete numpy values (so ``f`` may do anything numpy can,
including in-place updates of its own temporaries). Its rules are the functions registered
with ``defvjp``/``defjvp``; they are written with ``funcgrad.numpy``, so they are themselves
differentiable (higher-order derivatives) and traceable (``jit``).

Arguments: every traced array among the positional arguments (also inside tuples, lists and
dicts) is an operand of the primitive; everything else (Python numbers, strings, functions,
untraced arrays) is a static parameter. Keyword arguments are static, as in autograd, and must
not hold traced values.

Where funcgrad needs a result type without values (under ``jit`` and ``vmap``), it runs ``f``
once on arrays of ones of the operands' shapes; pass ``primitive(f, shape_rule=...)`` when
``f`` cannot run on ones. Under ``vmap`` the primitive runs once per example.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> from funcgrad.extend import primitive, defvjp
>>> @primitive
... def cube(x):
...     return x ** 3
>>> defvjp(cube, lambda ans, x: lambda g: 3.0 * x ** 2 * g)
>>> float(fg.grad(cube)(2.0)), float(fg.grad(fg.grad(cube))(2.0))
(12.0, 12.0)
"""

import functools as _functools
from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

from funcgrad.core.errors import LocatedNotImplementedError as _LocatedNotImplementedError
from funcgrad.core.errors import LocatedTypeError as _LocatedTypeError
from funcgrad.core.ir import ShapedArray as _ShapedArray
from funcgrad.core.pytree import tree_flatten as _tree_flatten
from funcgrad.core.pytree import tree_unflatten as _tree_unflatten
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.core.tracer import bind as _bind
from funcgrad.primitives.base import define as _define
from funcgrad.primitives.base import registry as _registry
from funcgrad.primitives.callback import Static as _Static
from funcgrad.primitives.callback import unrolled_batch as _unrolled_batch

__all__ = [
    "primitive",
    "notrace_primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "defvjp_argnums",
    "defjvp_argnums",
]


class _Operand:
    """Marks an operand's place among an argument's leaves (the rest are static values)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "·"

    def __reduce__(self) -> str:
        return "_DYN"


_DYN = _Operand()


def _static(v: _Any) -> _Any:
    try:
        hash(v)
    except TypeError:
        return _Static(v)
    return v


def _unstatic(v: _Any) -> _Any:
    return v.value if isinstance(v, _Static) else v


def _unique_name(base: str) -> str:
    name, k = base, 1
    while name in _registry:
        k += 1
        name = f"{base}_{k}"
    return name


class _UserPrimitive:
    """A user function registered as a primitive (returned by :func:`primitive`)."""

    def __init__(
        self, fun: _Callable[..., _Any], differentiable: bool, shape_rule: _Any = None
    ) -> None:
        if not callable(fun):
            raise _LocatedTypeError(f"primitive expects a callable, got {fun!r}")
        _functools.update_wrapper(self, fun)
        self.fun = fun
        self.user_shape_rule = shape_rule
        self.vjps: dict[int, _Any] = {}
        self.vjp_argnum: _Any = None
        self.vjp_argnums: _Any = None
        self.jvps: dict[int, _Any] = {}
        self.jvp_argnum: _Any = None
        self.jvp_argnums: _Any = None
        name = getattr(fun, "__name__", "primitive")
        self.prim = _define(
            _unique_name(name if name.isidentifier() else "user_primitive"),
            self._impl,
            self._shape,
            vjp_full=self._vjp_full if differentiable else None,
            jvp_full=self._jvp_full if differentiable else None,
            differentiable=differentiable,
            batch=_unrolled_batch,
        )

    def __repr__(self) -> str:
        return f"<funcgrad primitive {self.prim.name}>"

    # -- calling ----------------------------------------------------------------------------
    def __call__(self, *args: _Any, **kwargs: _Any) -> _Any:
        ops: list[_Any] = []
        spec = []
        for a in args:
            leaves, tree = _tree_flatten(a)
            marks = []
            for x in leaves:
                if type(x) is _Tracer:
                    ops.append(x)
                    marks.append(_DYN)
                else:
                    marks.append(_static(x))
            spec.append((tree, tuple(marks)))
        if any(type(x) is _Tracer for x in _tree_flatten(kwargs)[0]):
            raise _LocatedTypeError(
                f"primitive {self.prim.name}: a keyword argument holds a traced value; keyword "
                "arguments are static (as in autograd). Pass arrays positionally."
            )
        if not ops:
            return self.fun(*args, **kwargs)  # nothing traced: just call it
        return _bind(self.prim, *ops, spec=tuple(spec), kwargs=_Static(kwargs))

    @staticmethod
    def _args(ops: _Any, spec: _Any) -> list[_Any]:
        """The positional arguments, rebuilt from operands and static values."""
        it = iter(ops)
        out = []
        for tree, marks in spec:
            leaves = [next(it) if m is _DYN else _unstatic(m) for m in marks]
            out.append(_tree_unflatten(tree, leaves))
        return out

    @staticmethod
    def _operand_slots(spec: _Any) -> list[tuple[int, int]]:
        """For each operand: (argnum, leaf index within that argument)."""
        slots = []
        for argnum, (_, marks) in enumerate(spec):
            slots += [(argnum, j) for j, m in enumerate(marks) if m is _DYN]
        return slots

    def _impl(self, *ops: _Any, spec: _Any, kwargs: _Static) -> _Any:
        out = self.fun(*self._args(ops, spec), **kwargs.value)
        if not isinstance(out, (_np.ndarray, _np.generic, float, int, bool, complex)):
            raise _LocatedTypeError(
                f"primitive {self.prim.name} returned a {type(out).__name__}; funcgrad's "
                "user-defined primitives return one array"
            )
        return out

    def _shape(self, *avals: _Any, spec: _Any, kwargs: _Static) -> _ShapedArray:
        if self.user_shape_rule is not None:
            out = self.user_shape_rule(*self._args(avals, spec), **kwargs.value)
            return _ShapedArray(tuple(out.shape), _np.dtype(out.dtype))
        ones = [_np.ones(a.shape, a.dtype) for a in avals]
        try:
            with _np.errstate(all="ignore"):
                out = _np.asarray(self._impl(*ones, spec=spec, kwargs=kwargs))
        except Exception as e:
            raise _LocatedTypeError(
                f"primitive {self.prim.name}: funcgrad needs its result type without values "
                f"(under jit or vmap) and ran it on arrays of ones, which failed ({e!r}). Give "
                "the type with primitive(f, shape_rule=lambda *args: ShapeDtypeStruct(...))."
            ) from None
        return _ShapedArray(out.shape, out.dtype)

    # -- derivative rules ---------------------------------------------------------------------
    def _vjp_full(self, g: _Any, ans: _Any, ops: _Any, params: _Any, needs: _Any) -> list[_Any]:
        spec, kwargs = params["spec"], params["kwargs"].value
        args = self._args(ops, spec)
        slots = self._operand_slots(spec)
        wanted = sorted({slots[i][0] for i, n in enumerate(needs) if n})
        cts: dict[int, _Any] = {}
        if self.vjp_argnums is not None:
            res = self.vjp_argnums(tuple(wanted), ans, tuple(args), kwargs)(g)
            cts = dict(zip(wanted, res))
        else:
            for argnum in wanted:
                if self.vjp_argnum is not None:
                    ct = self.vjp_argnum(argnum, ans, tuple(args), kwargs)(g)
                elif argnum in self.vjps:
                    maker = self.vjps[argnum]
                    ct = None if maker is None else maker(ans, *args, **kwargs)(g)
                else:
                    raise _LocatedNotImplementedError(
                        f"VJP of {self.prim.name} with respect to argument {argnum} is not "
                        f"defined; define it with funcgrad.extend.defvjp({self.prim.name}, ...)"
                    )
                cts[argnum] = ct
        out: list[_Any] = []
        for argnum, j in slots:
            ct = cts.get(argnum)
            if ct is None:
                out.append(None)
                continue
            leaves = _tree_flatten(ct)[0]
            n = len(spec[argnum][1])
            if len(leaves) != n:
                raise _LocatedTypeError(
                    f"VJP of {self.prim.name} for argument {argnum} returned {len(leaves)} "
                    f"leaves, but the argument has {n}"
                )
            out.append(leaves[j])
        return out

    def _jvp_full(self, ops: _Any, ts: _Any, outs: _Any, params: _Any) -> list[_Any]:
        spec, kwargs = params["spec"], params["kwargs"].value
        args = self._args(ops, spec)
        slots = self._operand_slots(spec)
        ans = outs[0]
        # tangent of each argument: its pytree with zeros for untraced / zero-tangent leaves
        t_leaves: dict[int, list[_Any]] = {}
        for (argnum, j), t in zip(slots, ts):
            if t is None:
                continue
            if argnum not in t_leaves:
                leaves = _tree_flatten(args[argnum])[0]
                t_leaves[argnum] = [
                    _np.zeros(_np.shape(x), getattr(x, "dtype", None) or _np.result_type(x))
                    for x in leaves
                ]
            t_leaves[argnum][j] = t
        argnums = sorted(t_leaves)
        tangents = {a: _tree_unflatten(_tree_flatten(args[a])[1], t_leaves[a]) for a in argnums}
        if self.jvp_argnums is not None:
            gs = tuple(tangents[a] for a in argnums)
            return [self.jvp_argnums(tuple(argnums), gs, ans, tuple(args), kwargs)]
        total = None
        for a in argnums:
            if self.jvp_argnum is not None:
                c = self.jvp_argnum(a, tangents[a], ans, tuple(args), kwargs)
            elif a in self.jvps:
                rule = self.jvps[a]
                c = None if rule is None else rule(tangents[a], ans, *args, **kwargs)
            else:
                raise _LocatedNotImplementedError(
                    f"JVP of {self.prim.name} with respect to argument {a} is not defined "
                    f"(forward mode: jvp, jacfwd, hessian); define it with "
                    f"funcgrad.extend.defjvp({self.prim.name}, ...)"
                )
            if c is not None:
                total = c if total is None else total + c
        return [total]


def primitive(
    f: _Callable[..., _Any] | None = None, *, shape_rule: _Callable[..., _Any] | None = None
) -> _Any:
    """Make ``f`` a primitive: transforms do not look inside it, they use the rules given with
    :func:`defvjp` / :func:`defjvp` (differentiating it without a rule raises
    ``NotImplementedError``). ``shape_rule(*args, **kwargs)`` (funcgrad's addition) returns an
    object with ``.shape`` and ``.dtype`` when ``f`` cannot run on arrays of ones.

    >>> import numpy as np, funcgrad as fg
    >>> from funcgrad.extend import primitive, defvjp
    >>> @primitive
    ... def logsumexp(x):
    ...     m = np.max(x)
    ...     return m + np.log(np.sum(np.exp(x - m)))
    >>> defvjp(logsumexp, lambda ans, x: lambda g: g * fg.numpy.exp(x - ans))
    >>> fg.grad(logsumexp)(np.zeros(2))
    Array([0.5, 0.5])
    """
    if f is None:
        return _functools.partial(primitive, shape_rule=shape_rule)
    return _UserPrimitive(f, True, shape_rule)


def notrace_primitive(
    f: _Callable[..., _Any] | None = None, *, shape_rule: _Callable[..., _Any] | None = None
) -> _Any:
    """A primitive whose result has no derivative (autograd's ``notrace_primitive``): it is
    computed from the values of its arguments and is a constant to differentiation.

    >>> import numpy as np, funcgrad as fg
    >>> from funcgrad.extend import notrace_primitive
    >>> sign = notrace_primitive(np.sign)
    >>> float(fg.grad(lambda x: sign(x) * x)(-3.0))
    -1.0
    """
    if f is None:
        return _functools.partial(notrace_primitive, shape_rule=shape_rule)
    return _UserPrimitive(f, False, shape_rule)


def _user(fun: _Any, what: str) -> _UserPrimitive:
    if not isinstance(fun, _UserPrimitive):
        raise _LocatedTypeError(
            f"{what} needs a function made with funcgrad.extend.primitive, got {fun!r}; "
            "decorate it with @primitive first"
        )
    if not fun.prim.differentiable:
        raise _LocatedTypeError(f"{what}: {fun.prim.name} is a notrace_primitive (no derivative)")
    return fun


def defvjp(fun: _Any, *vjpmakers: _Any, argnums: _Any = None) -> None:
    """Reverse-mode rules, one per argument: ``vjpmaker(ans, *args, **kwargs)`` returns
    ``vjp(g)``, the cotangent of that argument (``None`` instead of a maker: zero). The makers
    apply to arguments ``0, 1, ...`` or to ``argnums``. See :func:`primitive` for an example."""
    p = _user(fun, "defvjp")
    nums = range(len(vjpmakers)) if argnums is None else argnums
    for argnum, maker in zip(nums, vjpmakers):
        if maker is not None and not callable(maker):
            raise _LocatedTypeError(
                f"defvjp: the rule for argument {argnum} is not callable: {maker!r}"
            )
        p.vjps[argnum] = maker


def defjvp(fun: _Any, *jvpfuns: _Any, argnums: _Any = None) -> None:
    """Forward-mode rules, one per argument: ``jvpfun(g, ans, *args, **kwargs)`` is the output
    tangent due to tangent ``g`` of that argument (``None``: zero; ``"same"``: ``g`` itself).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> from funcgrad.extend import primitive, defjvp
    >>> sq = primitive(lambda x: x * x)
    >>> defjvp(sq, lambda g, ans, x: 2.0 * x * g)
    >>> fg.jvp(sq, (3.0,), (1.0,))
    (np.float64(9.0), np.float64(6.0))
    """
    p = _user(fun, "defjvp")
    nums = range(len(jvpfuns)) if argnums is None else argnums
    for argnum, rule in zip(nums, jvpfuns):
        if rule == "same":
            rule = _same
        elif rule is not None and not callable(rule):
            raise _LocatedTypeError(
                f"defjvp: the rule for argument {argnum} is not callable: {rule!r}"
            )
        p.jvps[argnum] = rule


def _same(g: _Any, ans: _Any, *args: _Any, **kwargs: _Any) -> _Any:
    return g


def defvjp_argnum(fun: _Any, vjpmaker: _Callable[..., _Any]) -> None:
    """One reverse-mode rule for every argument: ``vjpmaker(argnum, ans, args, kwargs)``
    returns ``vjp(g)``."""
    _user(fun, "defvjp_argnum").vjp_argnum = vjpmaker


def defjvp_argnum(fun: _Any, jvpmaker: _Callable[..., _Any]) -> None:
    """One forward-mode rule for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``
    returns the output tangent due to argument ``argnum``."""
    _user(fun, "defjvp_argnum").jvp_argnum = jvpmaker


def defvjp_argnums(fun: _Any, vjpmaker: _Callable[..., _Any]) -> None:
    """One reverse-mode rule for all differentiated arguments at once:
    ``vjpmaker(argnums, ans, args, kwargs)`` returns ``vjp(g)``, a tuple of cotangents, one per
    entry of ``argnums``."""
    _user(fun, "defvjp_argnums").vjp_argnums = vjpmaker


def defjvp_argnums(fun: _Any, jvpmaker: _Callable[..., _Any]) -> None:
    """One forward-mode rule for all arguments with tangents at once:
    ``jvpmaker(argnums, gs, ans, args, kwargs)`` returns the output tangent."""
    _user(fun, "defjvp_argnums").jvp_argnums = jvpmaker
