"""JAX's ``jax.example_libraries.stax``: neural networks as ``(init_fun, apply_fun)`` pairs.

``init_fun(key, input_shape) -> (output_shape, params)`` takes a ``funcgrad.random`` key;
``apply_fun(params, inputs, **kwargs) -> outputs``; ``serial``/``parallel`` and the fan
layers combine them. Initial parameters are JAX's draws (``funcgrad.random`` reproduces JAX's
bits). Convolutions and pooling are written with ``funcgrad.numpy`` (one sliced matmul or
reduction per window offset), so everything differentiates and compiles with ``jit``.

>>> import numpy as np
>>> import funcgrad.random as fr
>>> init, apply = serial(Dense(4), Relu, Dense(2), LogSoftmax)
>>> out_shape, params = init(fr.PRNGKey(0), (-1, 3))
>>> out_shape, apply(params, np.ones((5, 3))).shape
((-1, 2), (5, 2))
"""

import functools as _functools
import itertools as _itertools
from collections.abc import Callable as _Callable
from typing import Any as _Any

import numpy as _np

import funcgrad.numpy as _fnp
import funcgrad.random as _random
from funcgrad.core.errors import LocatedValueError as _LocatedValueError
from funcgrad.nn import elu as _elu
from funcgrad.nn import gelu as _gelu
from funcgrad.nn import leaky_relu as _leaky_relu
from funcgrad.nn import log_softmax as _log_softmax
from funcgrad.nn import relu as _relu
from funcgrad.nn import selu as _selu
from funcgrad.nn import sigmoid as _sigmoid
from funcgrad.nn import softmax as _softmax
from funcgrad.nn import softplus as _softplus
from funcgrad.nn.initializers import glorot_normal, normal, ones, zeros

__all__ = [
    "glorot_normal",
    "normal",
    "zeros",
    "ones",
    "Dense",
    "GeneralConv",
    "Conv",
    "BatchNorm",
    "elementwise",
    "Tanh",
    "Relu",
    "Exp",
    "LogSoftmax",
    "Softmax",
    "Softplus",
    "Sigmoid",
    "Elu",
    "LeakyRelu",
    "Selu",
    "Gelu",
    "MaxPool",
    "SumPool",
    "AvgPool",
    "Flatten",
    "Identity",
    "FanOut",
    "FanInSum",
    "FanInConcat",
    "Dropout",
    "serial",
    "parallel",
    "shape_dependent",
]


# --- layers ------------------------------------------------------------------------------------
def Dense(
    out_dim: int, W_init: _Any = None, b_init: _Any = None
) -> tuple[_Callable[..., _Any], _Callable[..., _Any]]:
    """Fully connected layer: ``inputs @ W + b``; ``W`` from ``glorot_normal()``, ``b`` from
    ``normal()`` by default."""
    W_init = glorot_normal() if W_init is None else W_init
    b_init = normal() if b_init is None else b_init

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        output_shape = tuple(input_shape[:-1]) + (out_dim,)
        k1, k2 = _random.split(rng)
        return output_shape, (W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,)))

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        W, b = params
        return _fnp.dot(inputs, W) + b

    return init_fun, apply_fun


def _pads(in_shape: _Any, window: _Any, strides: _Any, padding: _Any) -> list[tuple[int, int]]:
    """(low, high) padding per spatial dimension for 'VALID', 'SAME' or explicit pairs."""
    if isinstance(padding, str):
        if padding.upper() == "VALID":
            return [(0, 0)] * len(window)
        if padding.upper() == "SAME":
            pads = []
            for n, k, s in zip(in_shape, window, strides):
                out = -(-n // s)
                total = max((out - 1) * s + k - n, 0)
                pads.append((total // 2, total - total // 2))
            return pads
        raise _LocatedValueError(
            f"padding must be 'VALID', 'SAME' or (low, high) pairs: {padding!r}"
        )
    return [(int(lo), int(hi)) for lo, hi in padding]


def _windows(x: _Any, window: _Any, strides: _Any, pads: _Any, fill: float) -> _Any:
    """For an (N, *spatial, C) array: the output spatial shape and, for each window offset,
    the strided slice (N, *out, C) seen at that offset (padding with ``fill``)."""
    if any(lo or hi for lo, hi in pads):
        x = _fnp.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    spatial = x.shape[1:-1]
    out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, window, strides))
    slices = []
    for offset in _itertools.product(*[range(k) for k in window]):
        idx = tuple(slice(o, o + (m - 1) * s + 1, s) for o, m, s in zip(offset, out, strides))
        slices.append((offset, x[(slice(None), *idx, slice(None))]))
    return out, slices


def GeneralConv(
    dimension_numbers: _Any,
    out_chan: int,
    filter_shape: _Any,
    strides: _Any = None,
    padding: _Any = "VALID",
    W_init: _Any = None,
    b_init: _Any = None,
) -> tuple[_Callable[..., _Any], _Callable[..., _Any]]:
    """Convolution with layouts ``(lhs_spec, rhs_spec, out_spec)``, e.g.
    ``("NHWC", "HWIO", "NHWC")``; ``padding`` is ``"VALID"``, ``"SAME"`` or (low, high) pairs.
    No dilation (as stax's layers)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    strides = tuple(strides) if strides else (1,) * len(filter_shape)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))
    b_init = normal(1e-6) if b_init is None else b_init
    lhs_spatial = [i for i, c in enumerate(lhs_spec) if c not in "NC"]
    rhs_spatial = [i for i, c in enumerate(rhs_spec) if c not in "IO"]

    def out_shape_of(input_shape: _Any) -> tuple[int, ...]:
        spatial = [input_shape[i] for i in lhs_spatial]
        pads = _pads(spatial, filter_shape, strides, padding)
        sizes = [
            (n + lo + hi - k) // s + 1
            for n, (lo, hi), k, s in zip(spatial, pads, filter_shape, strides)
        ]
        dims = {"N": input_shape[lhs_spec.index("N")], "C": out_chan}
        it = iter(sizes)
        return tuple(dims[c] if c in "NC" else next(it) for c in out_spec)

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        it = iter(filter_shape)
        in_chan = input_shape[lhs_spec.index("C")]
        kernel_shape = [
            out_chan if c == "O" else in_chan if c == "I" else next(it) for c in rhs_spec
        ]
        bias_shape = [out_chan if c == "C" else 1 for c in out_spec]
        k1, k2 = _random.split(rng)
        return out_shape_of(input_shape), (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        W, b = params
        # to (N, *spatial, C) and (*spatial, I, O)
        x = _fnp.transpose(inputs, [lhs_spec.index("N"), *lhs_spatial, lhs_spec.index("C")])
        w = _fnp.transpose(W, [*rhs_spatial, rhs_spec.index("I"), rhs_spec.index("O")])
        pads = _pads(x.shape[1:-1], filter_shape, strides, padding)
        _, slices = _windows(x, filter_shape, strides, pads, 0.0)
        y = None
        for offset, xs in slices:
            term = _fnp.matmul(xs, w[offset])
            y = term if y is None else y + term
        # (N, *spatial, O) to out_spec
        order = ["N", *[c for c in out_spec if c not in "NC"], "C"]
        y = _fnp.transpose(y, [order.index(c) for c in out_spec])
        return y + b

    return init_fun, apply_fun


Conv = _functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))
Conv.__doc__ = "GeneralConv with layouts ('NHWC', 'HWIO', 'NHWC')."


def _standardize(x: _Any, axis: _Any, epsilon: float) -> _Any:
    mean = _fnp.mean(x, axis, keepdims=True)
    variance = _fnp.mean(_fnp.square(x), axis, keepdims=True) - _fnp.square(mean)
    return (x - mean) / _fnp.sqrt(variance + epsilon)


def BatchNorm(
    axis: _Any = (0, 1, 2),
    epsilon: float = 1e-5,
    center: bool = True,
    scale: bool = True,
    beta_init: _Any = zeros,
    gamma_init: _Any = ones,
) -> tuple[_Callable[..., _Any], _Callable[..., _Any]]:
    """Normalizes over ``axis`` with the batch's own statistics (no running averages, as
    stax), then scales by ``gamma`` and shifts by ``beta``."""
    axis = (axis,) if _np.isscalar(axis) else tuple(axis)

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k1, k2 = _random.split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params: _Any, x: _Any, **kwargs: _Any) -> _Any:
        beta, gamma = params
        ed = tuple(None if i in axis else slice(None) for i in range(_fnp.ndim(x)))
        z = _standardize(x, axis, epsilon)
        if center and scale:
            return gamma[ed] * z + beta[ed]
        if center:
            return z + beta[ed]
        if scale:
            return gamma[ed] * z
        return z

    return init_fun, apply_fun


def elementwise(fun: _Callable[..., _Any], **fun_kwargs: _Any) -> tuple[_Any, _Any]:
    """A layer without parameters applying ``fun(inputs, **fun_kwargs)``."""

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        return input_shape, ()

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        return fun(inputs, **fun_kwargs)

    return init_fun, apply_fun


Tanh = elementwise(_fnp.tanh)
Relu = elementwise(_relu)
Exp = elementwise(_fnp.exp)
LogSoftmax = elementwise(_log_softmax, axis=-1)
Softmax = elementwise(_softmax, axis=-1)
Softplus = elementwise(_softplus)
Sigmoid = elementwise(_sigmoid)
Elu = elementwise(_elu)
LeakyRelu = elementwise(_leaky_relu)
Selu = elementwise(_selu)
Gelu = elementwise(_gelu)


def _pooling_layer(kind: str) -> _Callable[..., _Any]:
    def PoolingLayer(
        window_shape: _Any, strides: _Any = None, padding: _Any = "VALID", spec: _Any = None
    ) -> tuple[_Any, _Any]:
        window = tuple(window_shape)
        strides_ = tuple(strides) if strides else (1,) * len(window)
        spec_ = spec or "N" + "S" * len(window) + "C"
        n_ax, c_ax = spec_.index("N"), spec_.index("C")
        spatial_axes = [i for i in range(len(spec_)) if i not in (n_ax, c_ax)]

        def out_shape_of(input_shape: _Any) -> tuple[int, ...]:
            spatial = [input_shape[i] for i in spatial_axes]
            pads = _pads(spatial, window, strides_, padding)
            sizes = iter(
                (n + lo + hi - k) // s + 1
                for n, (lo, hi), k, s in zip(spatial, pads, window, strides_)
            )
            return tuple(
                input_shape[i] if i in (n_ax, c_ax) else next(sizes) for i in range(len(spec_))
            )

        def init_fun(rng: _Any, input_shape: _Any) -> _Any:
            return out_shape_of(input_shape), ()

        def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
            perm = [n_ax, *spatial_axes, c_ax]
            x = _fnp.transpose(inputs, perm)
            pads = _pads(x.shape[1:-1], window, strides_, padding)
            fill = -_np.inf if kind == "max" else 0.0
            _, slices = _windows(x, window, strides_, pads, fill)
            out = slices[0][1]
            for _, xs in slices[1:]:
                out = _fnp.maximum(out, xs) if kind == "max" else out + xs
            if kind == "avg":  # divide by the number of real (unpadded) entries per window
                spatial_ones = _np.ones((1, *x.shape[1:-1], 1), x.dtype)
                _, count_slices = _windows(spatial_ones, window, strides_, pads, 0.0)
                out = out / sum(c for _, c in count_slices)
            return _fnp.transpose(out, _np.argsort(perm))

        return init_fun, apply_fun

    return PoolingLayer


MaxPool = _pooling_layer("max")
MaxPool.__doc__ = "Maximum over windows (``window_shape``, ``strides``, ``padding``, ``spec``)."
SumPool = _pooling_layer("sum")
SumPool.__doc__ = "Sum over windows."
AvgPool = _pooling_layer("avg")
AvgPool.__doc__ = "Mean over windows (padding excluded from the count, as JAX)."


def _flatten_init(rng: _Any, input_shape: _Any) -> _Any:
    return (input_shape[0], int(_np.prod(input_shape[1:]))), ()


def _flatten_apply(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
    return _fnp.reshape(inputs, (inputs.shape[0], -1))


Flatten = (_flatten_init, _flatten_apply)
Identity = ((lambda rng, input_shape: (input_shape, ())), (lambda params, inputs, **kw: inputs))


def FanOut(num: int) -> tuple[_Any, _Any]:
    """``num`` copies of the input (a list), for ``parallel``."""
    return (
        lambda rng, input_shape: ([input_shape] * num, ()),
        lambda params, inputs, **kwargs: [inputs] * num,
    )


def _fan_in_sum_init(rng: _Any, input_shape: _Any) -> _Any:
    return input_shape[0], ()


def _fan_in_sum_apply(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
    return sum(inputs)


FanInSum = (_fan_in_sum_init, _fan_in_sum_apply)


def FanInConcat(axis: int = -1) -> tuple[_Any, _Any]:
    """Concatenates a list of inputs along ``axis``."""

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        ax = axis % len(input_shape[0])
        size = sum(s[ax] for s in input_shape)
        return tuple(input_shape[0][:ax]) + (size,) + tuple(input_shape[0][ax + 1 :]), ()

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        return _fnp.concatenate(inputs, axis)

    return init_fun, apply_fun


def Dropout(rate: float, mode: str = "train") -> tuple[_Any, _Any]:
    """Dropout as stax has it: ``rate`` is the probability of KEEPING an entry (kept entries
    are divided by ``rate``); needs ``rng=`` in ``apply_fun`` in ``mode="train"``."""

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        return input_shape, ()

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        rng = kwargs.get("rng")
        if mode != "train":
            return inputs
        if rng is None:
            raise _LocatedValueError(
                "Dropout's apply_fun needs a PRNG key: apply_fun(params, inputs, rng=key)"
            )
        keep = _random.bernoulli(rng, rate, inputs.shape)
        return _fnp.where(keep, inputs / rate, 0)

    return init_fun, apply_fun


def serial(*layers: _Any) -> tuple[_Any, _Any]:
    """Layers one after another; each gets its own key (split from the one given)."""
    init_funs, apply_funs = zip(*layers) if layers else ((), ())
    nlayers = len(layers)

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        params = []
        for init in init_funs:
            rng, layer_rng = _random.split(rng)
            input_shape, param = init(layer_rng, input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        rng = kwargs.pop("rng", None)
        rngs = _random.split(rng, nlayers) if rng is not None else (None,) * nlayers
        for fun, param, r in zip(apply_funs, params, rngs):
            inputs = fun(param, inputs, rng=r, **kwargs)
        return inputs

    return init_fun, apply_fun


def parallel(*layers: _Any) -> tuple[_Any, _Any]:
    """Layers side by side: the i-th gets the i-th input (use with ``FanOut``/``FanIn*``)."""
    init_funs, apply_funs = zip(*layers) if layers else ((), ())
    nlayers = len(layers)

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        rngs = _random.split(rng, nlayers)
        results = [init(r, s) for init, r, s in zip(init_funs, rngs, input_shape)]
        return tuple(r[0] for r in results), tuple(r[1] for r in results)

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        rng = kwargs.pop("rng", None)
        rngs = _random.split(rng, nlayers) if rng is not None else (None,) * nlayers
        return [f(p, x, rng=r, **kwargs) for f, p, x, r in zip(apply_funs, params, inputs, rngs)]

    return init_fun, apply_fun


def shape_dependent(make_layer: _Callable[[_Any], _Any]) -> tuple[_Any, _Any]:
    """A layer built from the input shape: ``make_layer(shape) -> (init_fun, apply_fun)``."""

    def init_fun(rng: _Any, input_shape: _Any) -> _Any:
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params: _Any, inputs: _Any, **kwargs: _Any) -> _Any:
        return make_layer(inputs.shape)[1](params, inputs, **kwargs)

    return init_fun, apply_fun
