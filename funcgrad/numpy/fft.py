"""``funcgrad.numpy.fft``: ``numpy.fft`` / ``jax.numpy.fft`` on traced values, differentiable
(VJP = the unconjugated transpose, JAX's convention) and batchable.

Values are numpy's; ``n``/``s`` crop or zero-pad the input as numpy does, and ``norm`` is
``"backward"`` (default), ``"ortho"`` or ``"forward"``. The n-dimensional transforms apply
the one-dimensional ones axis by axis (the same numbers, up to rounding).

>>> import numpy as np, funcgrad as fg
>>> x = np.array([1.0, 2.0, 0.0, -1.0])
>>> np.allclose(irfft(rfft(x)), x)
True
>>> h = np.array([1.0, 0.5, 0.25])  # a real filter on the half spectrum
>>> np.round(fg.grad(lambda x: irfft(rfft(x) * h)[0])(x), 6)
array([0.5625, 0.1875, 0.0625, 0.1875])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as _np

from funcgrad.core import errors as _errors
from funcgrad.core.tracer import Tracer as _Tracer
from funcgrad.numpy import _core as _fcore
from funcgrad.numpy import _shape as _fshape
from funcgrad.primitives import fft as _pf

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]


def __dir__() -> list[str]:
    return list(__all__)


def _operand(a: Any) -> Any:
    a = a if type(a) is _Tracer else _np.asarray(a)
    if a.dtype.kind not in "fc":
        a = _fcore.astype(a, _np.float64)
    return a


def _complex(a: Any) -> Any:
    if a.dtype.kind == "c":
        return a
    return _fcore.astype(a, _np.complex64 if a.dtype == _np.float32 else _np.complex128)


def _real(a: Any, name: str) -> Any:
    if a.dtype.kind == "c":
        raise _errors.LocatedTypeError(
            f"{name}: expects a real input, got dtype {a.dtype}; use fft for complex"
        )
    return a


def _norm(norm: str | None, name: str) -> str:
    norm = "backward" if norm is None else norm
    if norm not in _pf.NORMS:
        raise _errors.LocatedValueError(
            f'{name}: invalid norm {norm!r}; expected None, "backward", "ortho" or "forward"'
        )
    return norm


def _axis(axis: int, ndim: int, name: str) -> int:
    if not -ndim <= axis < ndim:
        raise _errors.LocatedValueError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim}"
        )
    return axis % ndim


def _resize(a: Any, axis: int, length: int) -> Any:
    """Crop or zero-pad ``a`` along ``axis`` to ``length`` entries (numpy's ``n=``)."""
    cur = _np.shape(a)[axis]
    if cur > length:
        return a[(slice(None),) * axis + (slice(0, length),)]
    if cur < length:
        widths = [(0, 0)] * _np.ndim(a)
        widths[axis] = (0, length - cur)
        return _fshape.pad(a, widths)
    return a


def _n(n: Any, default: int, name: str) -> int:
    n = default if n is None else n
    if not isinstance(n, (int, _np.integer)) or isinstance(n, bool) or n < 1:
        raise _errors.LocatedValueError(f"{name}: invalid number of data points ({n!r}) specified")
    return int(n)


def _one(a: Any, kind: str, n: Any, axis: int, norm: str | None) -> Any:
    a = _operand(a)
    if _np.ndim(a) == 0:
        raise _errors.LocatedValueError(f"{kind}: the input must have at least one dimension")
    ax = _axis(axis, _np.ndim(a), kind)
    norm = _norm(norm, kind)
    m = _np.shape(a)[ax]
    if kind in ("irfft", "hfft"):
        n = _n(n, 2 * (m - 1), kind)
        a = _complex(_resize(a, ax, n // 2 + 1))
    else:
        n = _n(n, m, kind)
        a = _resize(a, ax, n)
        a = _real(a, kind) if kind in ("rfft", "ihfft") else _complex(a)
    return _pf.fft(a, kind, ax, n, norm)


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """One-dimensional discrete Fourier transform (``numpy.fft.fft``)."""
    return _one(a, "fft", n, axis, norm)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``fft``."""
    return _one(a, "ifft", n, axis, norm)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """FFT of a real input: the ``n // 2 + 1`` non-negative frequencies."""
    return _one(a, "rfft", n, axis, norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``rfft``: ``n`` (default ``2 * (m - 1)``) real outputs."""
    return _one(a, "irfft", n, axis, norm)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """FFT of a Hermitian-symmetric signal given by its first half: ``n`` real outputs."""
    return _one(a, "hfft", n, axis, norm)


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``hfft``: real input, ``n // 2 + 1`` complex outputs."""
    return _one(a, "ihfft", n, axis, norm)


def _axes_and_sizes(
    a: Any, s: Sequence[int] | None, axes: Sequence[int] | None, name: str
) -> tuple[list[int], list[int | None]]:
    nd = _np.ndim(a)
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(nd - len(s), nd))
    axes = [_axis(int(ax), nd, name) for ax in axes]
    if len(set(axes)) != len(axes):
        raise _errors.LocatedValueError(f"{name}: repeated axes {axes} are not supported")
    if s is None:
        return axes, [None] * len(axes)
    if len(s) != len(axes):
        raise _errors.LocatedValueError(
            f"{name}: s and axes must have the same length, got {s} and {axes}"
        )
    return axes, list(s)


def _multi(a: Any, s: Any, axes: Any, norm: str | None, name: str, first: str, rest: str) -> Any:
    a = _operand(a)
    axes, sizes = _axes_and_sizes(a, s, axes, name)
    if first in ("irfft",):
        # inverse complex transforms on the leading axes, then the real one on the last
        for ax, n in zip(axes[:-1], sizes[:-1]):
            a = _one(a, rest, n, ax, norm)
        return _one(a, first, sizes[-1], axes[-1], norm)
    a = _one(a, first, sizes[-1], axes[-1], norm)
    for ax, n in zip(axes[:-1], sizes[:-1]):
        a = _one(a, rest, n, ax, norm)
    return a


def fftn(a: Any, s: Sequence[int] | None = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional FFT over ``axes`` (default: all, or the last ``len(s)``)."""
    return _multi(a, s, axes, norm, "fftn", "fft", "fft")


def ifftn(a: Any, s: Sequence[int] | None = None, axes: Any = None, norm: str | None = None) -> Any:
    """Inverse of ``fftn``."""
    return _multi(a, s, axes, norm, "ifftn", "ifft", "ifft")


def rfftn(a: Any, s: Sequence[int] | None = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional FFT of a real input (``rfft`` on the last axis, ``fft`` on the others)."""
    return _multi(a, s, axes, norm, "rfftn", "rfft", "fft")


def irfftn(
    a: Any, s: Sequence[int] | None = None, axes: Any = None, norm: str | None = None
) -> Any:
    """Inverse of ``rfftn``."""
    return _multi(a, s, axes, norm, "irfftn", "irfft", "ifft")


def fft2(
    a: Any, s: Sequence[int] | None = None, axes: Any = (-2, -1), norm: str | None = None
) -> Any:
    """Two-dimensional FFT (``fftn`` over the last two axes)."""
    return fftn(a, s, axes, norm)


def ifft2(
    a: Any, s: Sequence[int] | None = None, axes: Any = (-2, -1), norm: str | None = None
) -> Any:
    """Inverse of ``fft2``."""
    return ifftn(a, s, axes, norm)


def rfft2(
    a: Any, s: Sequence[int] | None = None, axes: Any = (-2, -1), norm: str | None = None
) -> Any:
    """Two-dimensional FFT of a real input."""
    return rfftn(a, s, axes, norm)


def irfft2(
    a: Any, s: Sequence[int] | None = None, axes: Any = (-2, -1), norm: str | None = None
) -> Any:
    """Inverse of ``rfft2``."""
    return irfftn(a, s, axes, norm)


def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None) -> _np.ndarray:
    """Sample frequencies of ``fft`` (a constant numpy array).

    >>> fftfreq(4)
    array([ 0.  ,  0.25, -0.5 , -0.25])
    """
    out = _np.fft.fftfreq(n, d)
    return out if dtype is None else out.astype(dtype)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None) -> _np.ndarray:
    """Sample frequencies of ``rfft`` (a constant numpy array)."""
    out = _np.fft.rfftfreq(n, d)
    return out if dtype is None else out.astype(dtype)


def _shift(x: Any, axes: Any, sign: int) -> Any:
    x = x if type(x) is _Tracer else _np.asarray(x)
    nd = _np.ndim(x)
    axes = list(range(nd)) if axes is None else [axes] if isinstance(axes, int) else list(axes)
    shifts = [sign * (_np.shape(x)[ax] // 2) for ax in axes]
    return _fshape.roll(x, shifts, axis=tuple(axes))


def fftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Move the zero frequency to the centre.

    >>> fftshift([0, 1, 2, 3, 4])
    Array([3, 4, 0, 1, 2])
    """
    return _shift(x, axes, 1)


def ifftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Inverse of ``fftshift``."""
    return _shift(x, axes, -1)
