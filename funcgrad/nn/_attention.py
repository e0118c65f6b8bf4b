"""``jax.nn.dot_product_attention`` (gathered into :mod:`funcgrad.nn`)."""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad.numpy as fnp
from funcgrad.core.errors import LocatedNotImplementedError, LocatedValueError
from funcgrad.nn._functions import softmax

__all__ = ["dot_product_attention"]


def dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    bias: Any = None,
    mask: Any = None,
    *,
    scale: float | None = None,
    is_causal: bool = False,
    query_seq_lengths: Any = None,
    key_value_seq_lengths: Any = None,
    local_window_size: Any = None,
    implementation: str | None = None,
) -> Any:
    """Scaled dot-product attention, ``softmax(q kᵀ · scale + bias, masked) v``, with JAX's
    layout: ``query`` is ``(B, T, N, H)`` (or ``(T, N, H)``), ``key`` and ``value`` are
    ``(B, S, K, H)`` with ``N`` a multiple of ``K`` (grouped-query attention). ``scale``
    defaults to ``1/sqrt(H)``; ``mask`` (boolean, broadcast to ``(B, N, T, S)``) and
    ``is_causal`` exclude pairs; ``bias`` is added to the logits. Computed in the inputs'
    dtype (JAX's XLA path computes the softmax in float32).

    >>> q = np.ones((1, 2, 1, 4)); v = np.arange(8.0).reshape(1, 2, 1, 4)
    >>> dot_product_attention(q, q, v, is_causal=True)[0, :, 0]
    array([[0., 1., 2., 3.],
           [2., 3., 4., 5.]])
    """
    if implementation not in (None, "xla"):
        raise LocatedNotImplementedError(
            f"dot_product_attention: implementation {implementation!r} is not available; "
            "funcgrad computes it with numpy (implementation=None or 'xla')"
        )
    if local_window_size is not None or query_seq_lengths is not None:
        raise LocatedNotImplementedError(
            "dot_product_attention: local_window_size and query_seq_lengths are not supported; "
            "build the equivalent boolean mask and pass mask="
        )
    q, k, v = fnp.asarray(query), fnp.asarray(key), fnp.asarray(value)
    unbatched = q.ndim == 3
    if unbatched:
        q, k, v = q[None], k[None], v[None]
    if not (q.ndim == k.ndim == v.ndim == 4):
        raise LocatedValueError(
            "dot_product_attention: query, key and value must be (B, T, N, H) / (B, S, K, H) "
            f"(or without B), got shapes {q.shape}, {k.shape}, {v.shape}"
        )
    B, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    if k.shape != v.shape or k.shape[0] != B or k.shape[3] != H or N % K:
        raise LocatedValueError(
            f"dot_product_attention: incompatible shapes query {q.shape}, key {k.shape}, value "
            f"{v.shape}; key and value must match, and query's heads must be a multiple of "
            "key's"
        )
    if N != K:  # grouped-query attention: query head n uses key/value head n // (N // K)
        k = fnp.repeat(k, N // K, axis=2)
        v = fnp.repeat(v, N // K, axis=2)
    s = 1.0 / np.sqrt(H) if scale is None else scale
    logits = fnp.einsum("btnh,bsnh->bnts", q, k) * s
    if bias is not None:
        b = fnp.asarray(bias)
        logits = logits + (b[None] if unbatched and b.ndim == 3 else b)
    keep = None
    if mask is not None:
        mk = fnp.asarray(mask, dtype=bool)
        keep = mk[None] if unbatched and mk.ndim == 3 else mk
    if is_causal:
        causal = np.tril(np.ones((T, S), dtype=bool))
        keep = causal if keep is None else keep & causal
    if key_value_seq_lengths is not None:
        lengths = fnp.asarray(key_value_seq_lengths)
        valid = np.arange(S)[None, :] < lengths[:, None]  # (B, S)
        valid = valid[:, None, None, :]
        keep = valid if keep is None else keep & valid
    if keep is not None:
        large_negative = np.asarray(-0.7 * np.finfo(np.result_type(logits.dtype)).max)
        logits = fnp.where(keep, logits, large_negative.astype(logits.dtype))
    probs = softmax(logits, axis=-1)
    out = fnp.einsum("bnts,bsnh->btnh", probs, v)
    return out[0] if unbatched else out
