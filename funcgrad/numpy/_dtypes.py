"""dtype objects and dtype queries: numpy's scalar types and abstract type hierarchy,
``finfo``/``iinfo``, ``promote_types``, ``can_cast``, ``issubdtype``, ``isdtype``, and the
low-precision types of ``ml_dtypes`` (``bfloat16``, ``float8_*``, ``int4``, ...).

funcgrad follows numpy's promotion rules (``promote_types`` is numpy's; JAX's lattice differs:
``jnp.promote_types(int32, float16)`` is float16, numpy's float64). The ``ml_dtypes`` types come
from the optional ``ml_dtypes`` package (``pip install 'funcgrad[dtypes]'``); without it their
names still exist but using one raises ``ImportError`` naming that command. funcgrad stores and
converts these types, but computes in float16/32/64 (see ``docs/errors.md``).

>>> import funcgrad.numpy as fnp
>>> fnp.promote_types("int8", "uint8")
dtype('int16')
>>> fnp.issubdtype(fnp.float32, fnp.floating)
True
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import (  # re-exported
    cdouble,
    character,
    complex64,
    complex128,
    complexfloating,
    csingle,
    double,
    flexible,
    floating,
    generic,
    inexact,
    integer,
    number,
    object_,
    signedinteger,
    single,
    uint16,
    uint32,
    uint64,
    unsignedinteger,
)
from numpy.exceptions import ComplexWarning

_ML_FLOATS = (
    "bfloat16",
    "float4_e2m1fn",
    "float6_e2m3fn",
    "float6_e3m2fn",
    "float8_e3m4",
    "float8_e4m3",
    "float8_e4m3b11fnuz",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
)
_ML_SIGNED = ("int1", "int2", "int4")
_ML_UNSIGNED = ("uint1", "uint2", "uint4")

__all__ = [
    "ComplexWarning",
    "bool",
    "cdouble",
    "character",
    "complex128",
    "complex64",
    "complex_",
    "complexfloating",
    "csingle",
    "double",
    "flexible",
    "floating",
    "generic",
    "inexact",
    "int_",
    "integer",
    "number",
    "object_",
    "signedinteger",
    "single",
    "uint",
    "uint16",
    "uint32",
    "uint64",
    "unsignedinteger",
    "euler_gamma",
    "finfo",
    "iinfo",
    "promote_types",
    "can_cast",
    "issubdtype",
    "isdtype",
    "isscalar",
    "iterable",
] + list(_ML_FLOATS + _ML_SIGNED + _ML_UNSIGNED)  # (the [dtypes] extra's types)

bool = _np.bool_  # noqa: A001  (numpy 2 and JAX spell it ``bool``)
int_ = _np.int_
uint = _np.uint
complex_ = _np.complex128
euler_gamma = _np.euler_gamma

INSTALL_HINT = "pip install 'funcgrad[dtypes]'"

try:
    import ml_dtypes as _ml
except ImportError:  # pragma: no cover - exercised by the no-ml_dtypes test in a subprocess
    _ml = None


class MissingDtype:
    """Stands in for an ``ml_dtypes`` type when ``ml_dtypes`` is not installed: every use
    (``np.dtype(t)``, ``t(1.0)``, ``x.astype(t)``) raises ``ImportError`` naming the extra."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def _fail(self) -> ImportError:
        return ImportError(
            f"funcgrad.numpy.{self.__name__} needs the ml_dtypes package: {INSTALL_HINT}"
        )

    @property
    def dtype(self) -> Any:
        raise self._fail()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __repr__(self) -> str:
        return f"<funcgrad.numpy.{self.__name__}: needs ml_dtypes ({INSTALL_HINT})>"


def _ml_type(name: str) -> Any:
    return getattr(_ml, name) if _ml is not None else MissingDtype(name)


bfloat16 = _ml_type("bfloat16")
float4_e2m1fn = _ml_type("float4_e2m1fn")
float6_e2m3fn = _ml_type("float6_e2m3fn")
float6_e3m2fn = _ml_type("float6_e3m2fn")
float8_e3m4 = _ml_type("float8_e3m4")
float8_e4m3 = _ml_type("float8_e4m3")
float8_e4m3b11fnuz = _ml_type("float8_e4m3b11fnuz")
float8_e4m3fn = _ml_type("float8_e4m3fn")
float8_e4m3fnuz = _ml_type("float8_e4m3fnuz")
float8_e5m2 = _ml_type("float8_e5m2")
float8_e5m2fnuz = _ml_type("float8_e5m2fnuz")
float8_e8m0fnu = _ml_type("float8_e8m0fnu")
int1 = _ml_type("int1")
int2 = _ml_type("int2")
int4 = _ml_type("int4")
uint1 = _ml_type("uint1")
uint2 = _ml_type("uint2")
uint4 = _ml_type("uint4")


def _dt(t: Any) -> Any:
    if isinstance(t, MissingDtype):
        raise t._fail()
    if hasattr(t, "dtype") and not isinstance(t, type):
        return _np.dtype(t.dtype)
    return _np.dtype(t)


def _ml_kind(dt: Any) -> Any:
    """The abstract numpy class an ``ml_dtypes`` dtype belongs to (numpy files them as void)."""
    if dt.kind != "V":
        return None
    if dt.name in _ML_FLOATS:
        return _np.floating
    if dt.name in _ML_SIGNED:
        return _np.signedinteger
    if dt.name in _ML_UNSIGNED:
        return _np.unsignedinteger
    return None


def finfo(dtype: Any) -> Any:
    """Machine limits of a float type (``ml_dtypes.finfo`` for the low-precision types)."""
    dt = _dt(dtype)
    if _ml is not None:
        return _ml.finfo(dt)
    return _np.finfo(dt)


def iinfo(int_type: Any) -> Any:
    """Machine limits of an integer type (``ml_dtypes.iinfo`` for ``int4`` and friends)."""
    dt = _dt(int_type)
    if _ml is not None:
        return _ml.iinfo(dt)
    return _np.iinfo(dt)


def promote_types(a: Any, b: Any) -> Any:
    """numpy's ``promote_types`` (funcgrad uses numpy's promotion, not JAX's lattice)."""
    return _np.promote_types(_dt(a), _dt(b))


def can_cast(from_: Any, to: Any, casting: str = "safe") -> Any:
    """numpy's ``can_cast`` on dtypes (traced values are judged by their dtype)."""
    if hasattr(from_, "aval"):
        from_ = from_.dtype
    elif not isinstance(from_, (_np.dtype, type, str, MissingDtype)):
        from_ = _np.result_type(from_)
    return _np.can_cast(_dt(from_), _dt(to), casting)


def issubdtype(arg1: Any, arg2: Any) -> Any:
    """numpy's ``issubdtype``; the ``ml_dtypes`` types count as floating / signed / unsigned
    integers (as in JAX), which numpy itself files under ``void``."""
    if isinstance(arg1, MissingDtype) or isinstance(arg2, MissingDtype):
        raise (arg1 if isinstance(arg1, MissingDtype) else arg2)._fail()
    abstract = isinstance(arg2, type) and issubclass(arg2, _np.generic) and arg2.__subclasses__()
    if abstract:
        concrete1 = not (isinstance(arg1, type) and arg1.__subclasses__())
        kind = _ml_kind(_dt(arg1)) if concrete1 else None
        if kind is not None:
            return issubclass(kind, arg2)
    return _np.issubdtype(arg1, arg2)


_KINDS = {
    "bool": (_np.bool_,),
    "signed integer": (_np.signedinteger,),
    "unsigned integer": (_np.unsignedinteger,),
    "integral": (_np.integer,),
    "real floating": (_np.floating,),
    "complex floating": (_np.complexfloating,),
    "numeric": (_np.number,),
}


def isdtype(dtype: Any, kind: Any) -> Any:
    """The array API's ``isdtype``: ``kind`` is a dtype, a kind name (``"real floating"``,
    ``"integral"``, ...) or a tuple of them. ``ml_dtypes`` types count as JAX counts them."""
    dt = _dt(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"isdtype: unknown kind {k!r}; expected one of {list(_KINDS)}")
            if any(issubdtype(dt, c) for c in _KINDS[k]):
                if not (k == "numeric" and dt == _np.bool_):
                    return True
        elif dt == _dt(k):
            return True
    return False


def isscalar(element: Any) -> Any:
    """True for Python/numpy scalars and 0-d arrays (and 0-d traced values), as in JAX."""
    if hasattr(element, "aval"):
        return element.ndim == 0
    if isinstance(element, _np.ndarray):
        return element.ndim == 0
    return _np.isscalar(element) and not isinstance(element, (str, bytes))


iterable = _np.iterable
