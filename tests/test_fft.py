"""funcgrad.numpy.fft: values against numpy.fft; the primitive's JVP/VJP rules checked with the
(unconjugated, JAX-convention) dot-product identity on complex data; gradients of real-valued
compositions against central finite differences of numpy; vmap against a loop; errors."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.primitives import fft as pf

F = fnp.fft
RNG = np.random.default_rng(7)
NORMS = [None, "backward", "ortho", "forward"]


def cplx(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


# --- values ------------------------------------------------------------------------------
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 5, 8, 12])
def test_1d_values(name: str, norm: Any, n: Any) -> None:
    x = RNG.standard_normal((3, 7)) if name in ("rfft", "ihfft") else cplx(3, 7)
    for axis in (-1, 0):
        want = getattr(np.fft, name)(x, n=n, axis=axis, norm=norm)
        got = getattr(F, name)(x, n=n, axis=axis, norm=norm)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn"])
@pytest.mark.parametrize(
    "s, axes", [(None, None), ((4, 6), (1, 2)), (None, (0, 2)), ((5, 3), (2, 0)), ((4,), (1,))]
)
def test_nd_values(name: str, s: Any, axes: Any) -> None:
    x = RNG.standard_normal((4, 5, 6)) if name == "rfftn" else cplx(4, 5, 6)
    for norm in ("backward", "ortho"):
        want = getattr(np.fft, name)(x, s=s, axes=axes, norm=norm)
        got = getattr(F, name)(x, s=s, axes=axes, norm=norm)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("name", ["fft2", "ifft2", "rfft2", "irfft2"])
def test_2d_values(name: str) -> None:
    x = RNG.standard_normal((2, 4, 6)) if name == "rfft2" else cplx(2, 4, 6)
    np.testing.assert_allclose(getattr(F, name)(x), getattr(np.fft, name)(x), atol=1e-11)
    np.testing.assert_allclose(
        getattr(F, name)(x, s=(3, 8), norm="ortho"),
        getattr(np.fft, name)(x, s=(3, 8), norm="ortho"),
        atol=1e-11,
    )


def test_freqs_and_shifts() -> None:
    for n in (1, 4, 7):
        np.testing.assert_array_equal(F.fftfreq(n, 0.3), np.fft.fftfreq(n, 0.3))
        np.testing.assert_array_equal(F.rfftfreq(n, 0.3), np.fft.rfftfreq(n, 0.3))
    x = np.arange(30.0).reshape(5, 6)
    for axes in (None, 0, 1, (0, 1)):
        np.testing.assert_array_equal(F.fftshift(x, axes), np.fft.fftshift(x, axes))
        np.testing.assert_array_equal(F.ifftshift(x, axes), np.fft.ifftshift(x, axes))
    # fftshift is differentiable (a permutation): its gradient is the inverse shift
    g = fg.grad(lambda x: fnp.sum(F.fftshift(x) * np.arange(30.0).reshape(5, 6)))(x)
    np.testing.assert_array_equal(g, np.fft.ifftshift(np.arange(30.0).reshape(5, 6)))


def test_float32_stays_single_precision() -> None:
    x = RNG.standard_normal(8).astype(np.float32)
    assert F.rfft(x).dtype == np.fft.rfft(x).dtype
    assert F.irfft(F.rfft(x)).dtype == np.float32


# --- the primitive's rules: dot-product identity on complex data -------------------------
def _pair(a: np.ndarray, b: np.ndarray) -> float:
    """JAX's pairing of a cotangent with a tangent: Re(sum(a * b)) (no conjugation)."""
    return float(np.real(np.sum(a * b)))


@pytest.mark.parametrize("kind", pf.KINDS)
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
@pytest.mark.parametrize("n", [6, 7])
def test_rules_dot_product_identity(kind: str, norm: str, n: int) -> None:
    m = n // 2 + 1
    in_len = m if kind in ("irfft", "hfft") else n
    x = RNG.standard_normal((2, in_len)) if kind in ("rfft", "ihfft") else cplx(2, in_len)
    t = RNG.standard_normal(x.shape) if x.dtype.kind == "f" else cplx(*x.shape)
    y = pf.fft(x, kind, 1, n, norm)
    g = RNG.standard_normal(y.shape) if y.dtype.kind == "f" else cplx(*y.shape)
    p = pf.fft_p
    jt = p.jvp[0](t, y, x, kind=kind, axis=1, n=n, norm=norm)
    vg = p.vjp[0](g, y, x, kind=kind, axis=1, n=n, norm=norm)
    # the JVP of a linear map is the map itself
    np.testing.assert_allclose(jt, getattr(np.fft, kind)(t, n=n, axis=1, norm=norm), atol=1e-12)
    # a real input gets a real cotangent
    assert vg.shape == x.shape and (x.dtype.kind == "c" or vg.dtype.kind == "f")
    np.testing.assert_allclose(_pair(g, jt), _pair(vg, t), rtol=1e-11)


# --- gradients of real compositions vs finite differences of numpy ------------------------
def _fd_grad(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


W8 = RNG.standard_normal(8)
H5 = cplx(5)
COMPOSITIONS: dict[str, tuple[Any, Any, tuple[int, ...]]] = {
    # name: (funcgrad fn, numpy fn) of a real array to a real scalar
    "rfft_irfft_filter": (
        lambda x: fnp.sum(F.irfft(F.rfft(x) * H5) * W8),
        lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * H5) * W8),
        (8,),
    ),
    "rfft_ortho_odd_n": (
        lambda x: fnp.sum(F.irfft(F.rfft(x, n=9, norm="ortho") * H5, n=7, norm="forward") ** 2),
        lambda x: np.sum(
            np.fft.irfft(np.fft.rfft(x, n=9, norm="ortho") * H5, n=7, norm="forward") ** 2
        ),
        (8,),
    ),
    "power_spectrum": (  # |rfft(x)|^2 written as rfft(x) * hfft-conjugate pair: irfft of a product
        lambda x: fnp.sum(F.irfft(F.rfft(x) * F.rfft(x[::-1]))),
        lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(x[::-1]))),
        (8,),
    ),
    "hfft_ihfft": (
        lambda x: fnp.sum(F.hfft(F.ihfft(x) * H5, norm="ortho") * W8),
        lambda x: np.sum(np.fft.hfft(np.fft.ihfft(x) * H5, norm="ortho") * W8),
        (8,),
    ),
    "rfft2_irfft2": (
        lambda x: fnp.sum(F.irfft2(F.rfft2(x) * H5[:4]) ** 3),
        lambda x: np.sum(np.fft.irfft2(np.fft.rfft2(x) * H5[:4]) ** 3),
        (3, 6),
    ),
    "rfftn_irfftn_s": (
        lambda x: fnp.sum(
            F.irfftn(F.rfftn(x, s=(4, 6), axes=(0, 1)) * H5[:4], s=(3, 5), axes=(0, 1)) ** 2
        ),
        lambda x: np.sum(
            np.fft.irfftn(np.fft.rfftn(x, s=(4, 6), axes=(0, 1)) * H5[:4], s=(3, 5), axes=(0, 1))
            ** 2
        ),
        (3, 5),
    ),
    "fftn_ifftn_complex_middle": (
        lambda x: fnp.sum(
            F.irfft(F.ifft(F.fft(F.rfft(x, axis=0), axis=1) * H5[:3], axis=1), n=4, axis=0) ** 2
        ),
        lambda x: np.sum(
            np.fft.irfft(
                np.fft.ifft(np.fft.fft(np.fft.rfft(x, axis=0), axis=1) * H5[:3], axis=1),
                n=4,
                axis=0,
            )
            ** 2
        ),
        (4, 3),
    ),
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_grad_of_real_composition_vs_finite_differences(name: str) -> None:
    f, ref, shape = COMPOSITIONS[name]
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(f)(x), _fd_grad(ref, x), rtol=1e-6, atol=1e-8)
    # forward mode: directional derivative
    t = RNG.standard_normal(shape)
    _, d = fg.jvp(f, (x,), (t,))
    np.testing.assert_allclose(d, (ref(x + 1e-6 * t) - ref(x - 1e-6 * t)) / 2e-6, rtol=1e-6)


def test_second_order_through_fft() -> None:
    f, ref, shape = COMPOSITIONS["rfft2_irfft2"]
    x = RNG.standard_normal(shape)
    v = RNG.standard_normal(shape)
    hv = fg.jvp(fg.grad(f), (x,), (v,))[1]
    g = fg.grad(f)
    hv_fd = (g(x + 1e-5 * v) - g(x - 1e-5 * v)) / 2e-5
    np.testing.assert_allclose(hv, hv_fd, rtol=1e-6, atol=1e-8)


def test_fft_of_real_input_gradient() -> None:
    # fft of a real signal; the cotangent of the real -> complex cast is its real part
    def f(x):
        return fnp.sum(F.irfft(F.fft(x)[:5] * H5) * W8)

    def ref(x):
        return np.sum(np.fft.irfft(np.fft.fft(x)[:5] * H5) * W8)

    x = RNG.standard_normal(8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's ComplexWarning on the complex -> real cast
        g = fg.grad(f)(x)
    np.testing.assert_allclose(g, _fd_grad(ref, x), rtol=1e-6, atol=1e-8)


# --- vmap and jit --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "ihfft", "fft2", "rfftn"])
def test_vmap_matches_loop(name: str) -> None:
    x = RNG.standard_normal((3, 4, 6)) if name in ("rfft", "ihfft", "rfftn") else cplx(3, 4, 6)
    f = getattr(F, name)
    for in_axes in (0, 1, 2):
        got = fg.vmap(f, in_axes=in_axes)(x)
        want = np.stack(
            [getattr(np.fft, name)(np.take(x, i, in_axes)) for i in range(x.shape[in_axes])]
        )
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_jit_and_grad_under_jit() -> None:
    f, ref, shape = COMPOSITIONS["rfft_irfft_filter"]
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(fg.jit(f)(x), ref(x), rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(f))(x), _fd_grad(ref, x), rtol=1e-6, atol=1e-8)


def test_vmap_of_grad() -> None:
    f, ref, shape = COMPOSITIONS["rfft_irfft_filter"]
    xs = RNG.standard_normal((3,) + shape)
    got = fg.vmap(fg.grad(f))(xs)
    for i in range(3):
        np.testing.assert_allclose(got[i], _fd_grad(ref, xs[i]), rtol=1e-6, atol=1e-8)


# --- errors ------------------------------------------------------------------------------
def test_errors() -> None:
    with pytest.raises(ValueError, match="invalid norm"):
        F.fft(np.ones(4), norm="sideways")
    with pytest.raises(TypeError, match="real input"):
        F.rfft(np.ones(4) + 1j)
    with pytest.raises(ValueError, match="invalid number of data points"):
        F.fft(np.ones(4), n=0)
    with pytest.raises(ValueError, match="out of bounds"):
        F.fft(np.ones(4), axis=1)
    with pytest.raises(ValueError, match="s and axes"):
        F.fftn(np.ones((2, 2)), s=(2,), axes=(0, 1))
    with pytest.raises(ValueError, match="at least one dimension"):
        F.fft(np.float64(1.0))
