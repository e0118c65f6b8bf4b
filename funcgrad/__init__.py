"""funcgrad: JAX-style composable function transforms (grad, vjp, jvp, vmap, jit) for
plain numpy code, with a readable IR.

>>> import funcgrad as fg, numpy as np
>>> fg.grad(lambda w: (w * 2.0 - 4.0) ** 2)(1.0)
np.float64(-8.0)
"""

from funcgrad import (  # noqa: F401  (public submodules, reachable as attributes)
    debug,
    errors,
    example_libraries,
    extend,
    io,
    lax,
    misc,
    nn,
    numpy,
    optim,
    random,
    test_util,
    tree,
    tree_util,
)
from funcgrad._runtime import *  # noqa: F403  (JAX's runtime names: devices, Array, ...)
from funcgrad._runtime import __all__ as _runtime_all
from funcgrad.core import ir as _ir_module
from funcgrad.core.config import config
from funcgrad.core.errors import ConcretizationError, TracerConversionError, TracerLeakError
from funcgrad.core.ir import IR, ShapedArray
from funcgrad.core.tracing import eval_ir as _eval_ir_list
from funcgrad.core.tracing import make_ir
from funcgrad.numpy import stop_gradient
from funcgrad.primitives.callback import pure_callback
from funcgrad.transforms.batching import vmap
from funcgrad.transforms.custom import checkpoint, custom_jvp, custom_vjp, remat
from funcgrad.transforms.derived import (
    ShapeDtypeStruct,
    elementwise_grad,
    eval_shape,
    holomorphic_grad,
    jacobian,
    linear_transpose,
    linearize,
)
from funcgrad.transforms.explain import explain
from funcgrad.transforms.forward import hessian, jacfwd, jacrev, jvp
from funcgrad.transforms.jit import jit
from funcgrad.transforms.reverse import grad, value_and_grad, vjp

__version__ = "0.1.0"


# Submodules behind an optional extra are imported on first attribute access (fg.scipy,
# fg.viz), so `import funcgrad` needs numpy only and stays fast.
_LAZY_SUBMODULES = ("scipy", "viz")


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"funcgrad.{name}")
    raise AttributeError(f"module 'funcgrad' has no attribute {name!r}")


def _load_viz():  # type: ignore[no-untyped-def]
    return __getattr__("viz")  # the drawing layer (extra [viz]); imported on first ir.draw(...)


_ir_module._viz_loaders.append(_load_viz)


def eval_ir(ir: IR, *args):  # type: ignore[no-untyped-def]
    """Run an IR on arguments (one per input variable). Returns the single output, or a
    list when the IR has several.

    >>> import numpy as np
    >>> ir = make_ir(lambda x: x * 2.0)(np.ones(2))
    >>> eval_ir(ir, np.arange(2.0))
    array([0., 2.])
    """
    outs = _eval_ir_list(ir, *args)
    return outs[0] if len(outs) == 1 else outs


__all__ = [
    "IR",
    "ShapedArray",
    "ConcretizationError",
    "TracerConversionError",
    "TracerLeakError",
    "checkpoint",
    "config",
    "custom_jvp",
    "custom_vjp",
    "eval_ir",
    "explain",
    "grad",
    "hessian",
    "jacfwd",
    "jacrev",
    "jit",
    "jvp",
    "vmap",
    "make_ir",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    # JAX / autograd compatibility (docs/porting.md)
    "ShapeDtypeStruct",
    "elementwise_grad",
    "eval_shape",
    "holomorphic_grad",
    "jacobian",
    "linear_transpose",
    "linearize",
    "pure_callback",
    "remat",
    *_runtime_all,
]
