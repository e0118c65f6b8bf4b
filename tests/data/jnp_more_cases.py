# ruff: noqa: E501  (one case per line: the call text is the record key)
"""Cases where ``funcgrad.numpy`` follows JAX rather than numpy (``size=``/``fill_value=``,
functional updates, all-NaN ``nanargmax``, untrimmed ``polydiv`` ...), recorded from
``jax.numpy`` into ``jnp_more_reference.json`` by ``record_jnp_more.py``.

Each case is a Python expression evaluated with ``N`` bound to ``jax.numpy`` when recording and
to ``funcgrad.numpy`` in ``tests/test_numpy_more.py``, and ``np`` to numpy. The same text
drives both sides.
"""

X = "np.array([3.0, 1.0, 3.0, 2.0, 5.0, 1.0])"
M = "np.array([[0, 2, 0], [3, 0, 4]])"

CASES = {
    "unique_size": f"N.unique({X}, size=6)",
    "unique_size_fill": f"N.unique({X}, size=6, fill_value=-1.0)",
    "unique_size_small": f"N.unique({X}, size=2)",
    "unique_size_index": f"N.unique({X}, return_index=True, size=6)[1]",
    "unique_size_inverse": f"N.unique({X}, return_inverse=True, size=6)[1]",
    "unique_size_counts": f"N.unique({X}, return_counts=True, size=6)[1]",
    "unique_all_inverse_2d": "N.unique_all(np.array([[2, 1], [2, 3]])).inverse_indices",
    "unique_inverse_2d": "N.unique_inverse(np.array([[2, 1], [2, 3]])).inverse_indices",
    "unique_counts_size": f"N.unique_counts({X}, size=5).counts",
    "unique_values_nan": "N.unique_values(np.array([np.nan, 1.0, np.nan]))",
    "nonzero_size": f"N.nonzero({M}, size=5)",
    "nonzero_size_fill": f"N.nonzero({M}, size=5, fill_value=-1)",
    "nonzero_size_fill_tuple": f"N.nonzero({M}, size=4, fill_value=(7, 8))",
    "argwhere_size": f"N.argwhere({M}, size=4, fill_value=-1)",
    "flatnonzero_size": f"N.flatnonzero({M}, size=2)",
    "extract_size": f"N.extract({M} > 0, {M} * 1.5, size=5, fill_value=9.0)",
    "compress_size": f"N.compress(np.array([True, False, True]), {M}, axis=1, size=3, fill_value=-7)",
    "union1d_size": "N.union1d(np.array([1, 5, 2]), np.array([5, 9]), size=6, fill_value=0)",
    "intersect1d_size": "N.intersect1d(np.array([1, 5, 2, 5]), np.array([5, 9, 1]), size=3)",
    "setdiff1d_size": "N.setdiff1d(np.array([1, 5, 2, 8]), np.array([5, 9]), size=4)",
    "setxor1d_size": "N.setxor1d(np.array([1, 5, 2]), np.array([5, 9]), size=5, fill_value=-1)",
    "nanargmax_allnan": "N.nanargmax(np.array([[np.nan, np.nan], [1.0, np.nan]]), axis=1)",
    "nanargmin_allnan": "N.nanargmin(np.array([[np.nan, 2.0], [np.nan, np.nan]]), axis=1)",
    "bincount_length": "N.bincount(np.array([0, 1, 1, 5, 2]), length=3)",
    "bincount_length_w": "N.bincount(np.array([0, 1, 1, 5, 2]), weights=np.array([0.5, 1.0, 2.0, 4.0, 8.0]), length=4)",
    "polydiv_q": "N.polydiv(np.array([1.0, -3.0, 2.0, 5.0]), np.array([2.0, 1.0]))[0]",
    "polydiv_r": "N.polydiv(np.array([1.0, -3.0, 2.0, 5.0]), np.array([2.0, 1.0]))[1]",
    "put": "N.put(np.arange(6.0), np.array([0, 4]), np.array([9.0, 8.0]), inplace=False)",
    "put_clip": "N.put(np.arange(6.0), np.array([1, 10, -1]), np.array([9.0, 8.0, 7.0]), mode='clip', inplace=False)",
    "put_wrap": "N.put(np.arange(6.0), np.array([7, -2]), np.array([9.0, 8.0]), mode='wrap', inplace=False)",
    "place": "N.place(np.arange(6.0), np.array([0, 1, 1, 0, 1, 1]), np.array([7.0, 8.0]), inplace=False)",
    "fill_diagonal": "N.fill_diagonal(np.zeros((3, 4)), 5.0, inplace=False)",
    "put_along_axis": "N.put_along_axis(np.zeros((2, 3)), np.array([[2], [0]]), 4.0, axis=1, inplace=False)",
    "frompyfunc_reduce": "N.frompyfunc(lambda a, b: a * b + 1.0, 2, 1).reduce(np.arange(6.0).reshape(2, 3), axis=1)",
    "frompyfunc_accumulate": "N.frompyfunc(lambda a, b: a * b + 1.0, 2, 1).accumulate(np.arange(4.0))",
    "frompyfunc_outer": "N.frompyfunc(lambda a, b: a - 2.0 * b, 2, 1).outer(np.arange(2.0), np.arange(3.0))",
    "frompyfunc_at": "N.frompyfunc(lambda a, b: a + 2.0 * b, 2, 1).at(np.zeros(4), np.array([0, 0, 3]), np.array([1.0, 2.0, 3.0]), inplace=False)",
    "vectorize_sig": "N.vectorize(lambda a, b: N.sum(a * b), signature='(n),(n)->()')(np.arange(6.0).reshape(2, 3), np.array([1.0, 2.0, 3.0]))",
    "roots_keep_zeros": "N.roots(np.array([0.0, 1.0, -3.0, 2.0]), strip_zeros=False)",
    "issubdtype_bf16": "np.array(N.issubdtype(N.bfloat16, N.floating))",
    "issubdtype_int4": "np.array([N.issubdtype(N.int4, N.signedinteger), N.issubdtype(N.uint4, N.unsignedinteger), N.issubdtype(N.int4, N.floating)])",
    "isdtype_bf16": "np.array([N.isdtype(N.bfloat16, 'real floating'), N.isdtype(N.float8_e4m3fn, 'numeric'), N.isdtype(N.int4, 'integral')])",
    "finfo_bf16": "np.array([float(N.finfo(N.bfloat16).eps), float(N.finfo(N.bfloat16).max), N.finfo(N.bfloat16).bits])",
    "iinfo_int4": "np.array([int(N.iinfo(N.int4).min), int(N.iinfo(N.int4).max)])",
    "ravel_multi_index_clip": "N.ravel_multi_index((np.array([3, -1]), np.array([1, 5])), (2, 3), mode='clip')",
    "unravel_negative": "N.unravel_index(np.array([-1, 4]), (2, 3))",
    "mask_indices_size": "N.mask_indices(3, N.triu, 1, size=4)",
    "histogram_range_w": "N.histogram(np.array([0.1, 0.5, 0.5, 2.0, -3.0]), bins=3, range=(0.0, 2.0), weights=np.array([1.0, 2.0, 3.0, 4.0, 5.0]))[0]",
    "digitize_decreasing": "N.digitize(np.array([-1.0, 0.0, 1.5, 4.0]), np.array([4.0, 2.5, 1.0, 0.0]), right=True)",
    "bitwise_count_neg": "N.bitwise_count(np.array([-1, 7, -8], np.int8))",
}
