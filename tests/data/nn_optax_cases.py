"""Expressions evaluated by both ``record_nn_optax.py`` (with JAX and optax) and the tests (with
funcgrad): the same source text runs against ``jax.nn`` / ``funcgrad.nn`` (``N``),
``jax.nn.initializers`` / ``funcgrad.nn.initializers`` (``I``) and ``optax`` /
``funcgrad.optim`` (``O``) — the point is that the names and keywords are the same.
"""

import numpy as np

_rng = np.random.default_rng(1234)
# elementwise inputs: a grid plus the kinks, where conventions for derivatives matter
X = np.concatenate([np.linspace(-7.0, 7.0, 29) + 0.1234, [0.0, 1.0, -1.0, 6.0, -3.0, 3.0]])
KINKS = (0.0, 1.0, -1.0, 6.0, -3.0, 3.0)
X2 = _rng.standard_normal((4, 6))
W2 = _rng.standard_normal((4, 6))
WHERE = _rng.uniform(size=(4, 6)) < 0.7
WHERE[2] = False  # a row with nothing selected

ELEMENTWISE = {
    "identity": "N.identity(x)",
    "tanh": "N.tanh(x)",
    "sparse_sigmoid": "N.sparse_sigmoid(x)",
    "relu": "N.relu(x)",
    "relu6": "N.relu6(x)",
    "sigmoid": "N.sigmoid(x)",
    "log_sigmoid": "N.log_sigmoid(x)",
    "softplus": "N.softplus(x)",
    "sparse_plus": "N.sparse_plus(x)",
    "squareplus": "N.squareplus(x)",
    "squareplus_b2": "N.squareplus(x, b=2.0)",
    "soft_sign": "N.soft_sign(x)",
    "gelu": "N.gelu(x)",
    "gelu_exact": "N.gelu(x, approximate=False)",
    "silu": "N.silu(x)",
    "swish": "N.swish(x)",
    "mish": "N.mish(x)",
    "elu": "N.elu(x)",
    "elu_a": "N.elu(x, alpha=0.5)",
    "celu": "N.celu(x)",
    "celu_a": "N.celu(x, alpha=0.7)",
    "selu": "N.selu(x)",
    "leaky_relu": "N.leaky_relu(x)",
    "leaky_relu_s": "N.leaky_relu(x, negative_slope=0.2)",
    "hard_tanh": "N.hard_tanh(x)",
    "hard_sigmoid": "N.hard_sigmoid(x)",
    "hard_silu": "N.hard_silu(x)",
    "hard_swish": "N.hard_swish(x)",
}

# defined for x > 0
XPOS = np.concatenate([np.geomspace(1e-8, 50.0, 25), [np.log(2.0)]])
POSITIVE = {"log1mexp": "N.log1mexp(x)"}

# array-valued: f(x) with x = X2; gradients of sum(f(x) * W2) where shapes allow
ARRAY = {
    "glu": "N.glu(x)",
    "glu_axis0": "N.glu(x, axis=0)",
    "softmax": "N.softmax(x)",
    "softmax_axis0": "N.softmax(x, axis=0)",
    "softmax_where": "N.softmax(x, where=WHERE)",
    "log_softmax": "N.log_softmax(x)",
    "log_softmax_none": "N.log_softmax(x, axis=None)",
    "standardize": "N.standardize(x)",
    "standardize_axis0": "N.standardize(x, axis=0)",
    "standardize_stable": "N.standardize(x, algorithm='stable')",
    "standardize_given": "N.standardize(x, mean=0.5, variance=2.0, epsilon=0.1)",
    "standardize_where": "N.standardize(x, axis=1, where=WHERE | (np.arange(6) < 2))",
    "logsumexp": "N.logsumexp(x, axis=1)",
    "logsumexp_b": "N.logsumexp(x, axis=1, b=np.abs(W2) + 0.1)",
    "logsumexp_where": "N.logsumexp(x, axis=1, where=WHERE | (np.arange(6) < 1), keepdims=True)",
    "logsumexp_b_row": "N.logsumexp(x, b=np.array([1.0, 0.0, 2.0, 0.5, 0.0, 1.0]))",
    "logmeanexp": "N.logmeanexp(x)",
    "logmeanexp_axis": "N.logmeanexp(x, axis=0, keepdims=True)",
    "logmeanexp_where": "N.logmeanexp(x, axis=1, where=WHERE | (np.arange(6) < 1))",
}
# where-masked outputs hold -inf/0 off the mask: compare values, and gradients on the mask
NO_GRAD = {
    "log_softmax_where": "N.log_softmax(x, where=WHERE)",
    "logsumexp_sign": "N.logsumexp(x, axis=1, b=W2, return_sign=True)",
}

ONE_HOT = {
    "one_hot": "N.one_hot(np.array([0, 2, 1]), 3)",
    "one_hot_axis0": "N.one_hot(np.array([[0, 2], [1, 1]]), 3, axis=0)",
    "one_hot_axis1": "N.one_hot(np.array([[0, 2], [1, 1]]), 4, axis=1)",
    "one_hot_f32": "N.one_hot(np.array([3, 0]), 4, dtype=np.float32)",
}

B, T, S, NH, KH, H = 2, 3, 4, 4, 2, 5
Q = _rng.standard_normal((B, T, NH, H))
K = _rng.standard_normal((B, S, NH, H))
V = _rng.standard_normal((B, S, NH, H))
KG = _rng.standard_normal((B, S, KH, H))
VG = _rng.standard_normal((B, S, KH, H))
BIAS = _rng.standard_normal((1, NH, T, S))
MASK = _rng.uniform(size=(B, 1, T, S)) < 0.7
MASK[0, 0, 1] = False  # a fully masked row
QLEN = np.array([2, 3], np.int32)
KVLEN = np.array([3, 1], np.int32)
WOUT = _rng.standard_normal((B, T, NH, H))
ATTENTION = {
    "plain": "N.dot_product_attention(q, k, v)",
    "rank3": "N.dot_product_attention(q[0], k[0], v[0])",
    "scale": "N.dot_product_attention(q, k, v, scale=0.3)",
    "bias": "N.dot_product_attention(q, k, v, bias=BIAS)",
    "mask": "N.dot_product_attention(q, k, v, mask=MASK)",
    "causal": "N.dot_product_attention(q, k, v, is_causal=True)",
    "window": "N.dot_product_attention(q, k, v, local_window_size=(1, 0))",
    "seq_lengths": "N.dot_product_attention(q, k, v, query_seq_lengths=QLEN, "
    "key_value_seq_lengths=KVLEN)",
    "gqa": "N.dot_product_attention(q, KG, VG)",
    "gqa_bias_causal": "N.dot_product_attention(q, KG, VG, bias=BIAS, is_causal=True)",
    "residual": "N.dot_product_attention(q, k, v, mask=MASK, return_residual=True)",
}

SEEDS = (0, 42)
INITIALIZERS = {
    "zeros": "I.zeros(key, (2, 3))",
    "ones_f32": "I.ones(key, (2, 3), np.float32)",
    "constant": "I.constant(-0.5)(key, (2, 3))",
    "uniform": "I.uniform()(key, (3, 4))",
    "uniform_scale_f32": "I.uniform(3.0)(key, (3, 4), np.float32)",
    "normal": "I.normal(0.5)(key, (3, 4))",
    "truncated_normal": "I.truncated_normal(2.0)(key, (3, 4))",
    "truncated_normal_bounds": "I.truncated_normal(1.0, lower=-1.0, upper=0.5)(key, (50,))",
    "glorot_uniform": "I.glorot_uniform()(key, (3, 4))",
    "glorot_uniform_f32": "I.glorot_uniform()(key, (3, 4), np.float32)",
    "glorot_normal": "I.glorot_normal()(key, (3, 3, 4, 5))",
    "xavier_uniform": "I.xavier_uniform()(key, (6, 2))",
    "xavier_normal": "I.xavier_normal()(key, (6, 2))",
    "lecun_uniform": "I.lecun_uniform()(key, (5, 4))",
    "lecun_normal": "I.lecun_normal()(key, (5, 4))",
    "he_uniform": "I.he_uniform()(key, (5, 4))",
    "he_normal": "I.he_normal()(key, (5, 4))",
    "he_normal_f32": "I.he_normal()(key, (2, 3, 4), np.float32)",
    "kaiming_uniform": "I.kaiming_uniform()(key, (5, 4))",
    "kaiming_normal": "I.kaiming_normal()(key, (5, 4))",
    "vs_fan_out_normal": "I.variance_scaling(0.3, 'fan_out', 'normal')(key, (4, 6))",
    "vs_geo_trunc": "I.variance_scaling(1.5, 'fan_geo_avg', 'truncated_normal')(key, (4, 6))",
    "vs_axes": "I.variance_scaling(2.0, 'fan_in', 'uniform', in_axis=0, out_axis=(1, 2), "
    "batch_axis=3)(key, (3, 2, 4, 5))",
    "vs_complex_uniform": "I.variance_scaling(1.0, 'fan_avg', 'uniform')(key, (3, 4), "
    "np.complex128)",
    "vs_complex_trunc": "I.variance_scaling(1.0, 'fan_in', 'truncated_normal')(key, (3, 4), "
    "np.complex128)",
    "orthogonal": "I.orthogonal()(key, (4, 3))",
    "orthogonal_wide": "I.orthogonal(scale=2.0)(key, (3, 5))",
    "orthogonal_col0": "I.orthogonal(column_axis=0)(key, (3, 2, 4))",
    "orthogonal_f32": "I.orthogonal()(key, (4, 4), np.float32)",
    "delta_orthogonal": "I.delta_orthogonal()(key, (3, 2, 4))",
    "delta_orthogonal_4d": "I.delta_orthogonal(scale=0.5)(key, (3, 3, 2, 2))",
    "delta_orthogonal_5d": "I.delta_orthogonal()(key, (2, 3, 2, 2, 3))",
}

# --- optax ---------------------------------------------------------------------------------
STEPS = 6
PARAMS = {"w": _rng.standard_normal((3, 4)), "b": _rng.standard_normal(4)}
GRADS = [
    {"w": _rng.standard_normal((3, 4)), "b": _rng.standard_normal(4) * 0.1} for _ in range(STEPS)
]
BAD_GRADS = [dict(g) for g in GRADS]
BAD_GRADS[1] = {
    "w": np.where(np.arange(12).reshape(3, 4) == 5, np.inf, GRADS[1]["w"]),
    "b": GRADS[1]["b"],
}
BAD_GRADS[2] = {"w": GRADS[2]["w"], "b": np.where(np.arange(4) == 0, np.nan, GRADS[2]["b"])}
BAD_GRADS[3] = {"w": GRADS[3]["w"] * np.inf, "b": GRADS[3]["b"]}
MASK_W = {"w": True, "b": False}
LABELS = {"w": "fast", "b": "slow"}

# name -> (expression building the transformation, which gradient sequence)
OPTIMIZERS = {
    "sgd": ("O.sgd(learning_rate=0.1)", "GRADS"),
    "sgd_momentum": ("O.sgd(learning_rate=0.1, momentum=0.9)", "GRADS"),
    "sgd_nesterov": ("O.sgd(learning_rate=0.1, momentum=0.8, nesterov=True)", "GRADS"),
    "adam": ("O.adam(learning_rate=0.1)", "GRADS"),
    "adam_nesterov": ("O.adam(learning_rate=0.1, b1=0.8, nesterov=True)", "GRADS"),
    "adam_eps_root": ("O.adam(learning_rate=0.1, eps=1e-3, eps_root=1e-2)", "GRADS"),
    "adamw": ("O.adamw(learning_rate=0.05, weight_decay=0.1)", "GRADS"),
    "adamw_mask": ("O.adamw(learning_rate=0.05, weight_decay=0.1, mask=MASK_W)", "GRADS"),
    "adamax": ("O.adamax(learning_rate=0.1, b1=0.8, b2=0.9)", "GRADS"),
    "adagrad": ("O.adagrad(learning_rate=0.2)", "GRADS"),
    "rmsprop": ("O.rmsprop(learning_rate=0.01)", "GRADS"),
    "rmsprop_options": (
        "O.rmsprop(learning_rate=0.01, decay=0.8, initial_scale=0.5, "
        "eps_in_sqrt=False, bias_correction=True)",
        "GRADS",
    ),
    "rmsprop_centered_momentum": (
        "O.rmsprop(learning_rate=0.01, centered=True, eps=1e-4, momentum=0.9, nesterov=True)",
        "GRADS",
    ),
    "lamb": ("O.lamb(learning_rate=0.1, weight_decay=0.01)", "GRADS"),
    "lion": ("O.lion(learning_rate=0.01)", "GRADS"),
    "lion_mask": ("O.lion(learning_rate=0.01, b1=0.5, weight_decay=0.1, mask=MASK_W)", "GRADS"),
    "adafactor": ("O.adafactor(learning_rate=0.1)", "GRADS"),
    "adafactor_factored": (
        "O.adafactor(learning_rate=0.1, min_dim_size_to_factor=2, "
        "momentum=0.9, dtype_momentum=np.float64, weight_decay_rate=0.01)",
        "GRADS",
    ),
    "adafactor_no_lr": (
        "O.adafactor(min_dim_size_to_factor=3, clipping_threshold=None, "
        "multiply_by_parameter_scale=False)",
        "GRADS",
    ),
    "noisy_sgd": ("O.noisy_sgd(learning_rate=0.1, eta=0.5, key=0)", "GRADS"),
    "add_decayed_weights": ("O.add_decayed_weights(0.3)", "GRADS"),
    "add_decayed_weights_sched": (
        "O.add_decayed_weights(O.linear_schedule(0.5, 0.0, 4), mask=MASK_W)",
        "GRADS",
    ),
    "scale": ("O.scale(-0.3)", "GRADS"),
    "scale_by_adam": ("O.scale_by_adam(b2=0.99)", "GRADS"),
    "scale_by_schedule": ("O.scale_by_schedule(O.exponential_decay(1.0, 2, 0.5))", "GRADS"),
    "scale_by_learning_rate": (
        "O.scale_by_learning_rate(O.cosine_decay_schedule(0.1, 4))",
        "GRADS",
    ),
    "clip": ("O.clip(0.5)", "GRADS"),
    "clip_by_global_norm": ("O.clip_by_global_norm(1.0)", "GRADS"),
    "zero_nans": ("O.zero_nans()", "BAD_GRADS"),
    "set_to_zero": ("O.set_to_zero()", "GRADS"),
    "identity": ("O.identity()", "GRADS"),
    "trace": ("O.trace(decay=0.5, nesterov=True)", "GRADS"),
    "ema": ("O.ema(0.7)", "GRADS"),
    "ema_no_debias": ("O.ema(0.7, debias=False)", "GRADS"),
    "chain": ("O.chain(O.clip_by_global_norm(1.0), O.scale_by_adam(), O.scale(-0.1))", "GRADS"),
    "masked": ("O.masked(O.adam(0.1), MASK_W)", "GRADS"),
    "masked_fn": ("O.masked(O.sgd(0.1, momentum=0.5), lambda p: {'w': False, 'b': True})", "GRADS"),
    "multi_transform": (
        "O.multi_transform({'fast': O.adam(0.1), 'slow': O.sgd(0.01)}, LABELS)",
        "GRADS",
    ),
    "multi_transform_freeze": (
        "O.multi_transform({'fast': O.lion(0.1), 'slow': O.set_to_zero()}, lambda p: LABELS)",
        "GRADS",
    ),
    "inject": ("O.inject_hyperparams(O.adam)(learning_rate=0.1, b1=0.8)", "GRADS"),
    "inject_schedule": (
        "O.inject_hyperparams(O.sgd)(learning_rate=O.linear_schedule(0.1, 0.0, 5), momentum=0.5)",
        "GRADS",
    ),
    "multi_steps": (
        "O.MultiSteps(O.adam(0.1), every_k_schedule=3, accumulator_dtype=np.float64)",
        "GRADS",
    ),
    "multi_steps_sum": (
        "O.MultiSteps(O.sgd(0.1, momentum=0.9), every_k_schedule=2, "
        "use_grad_mean=False, accumulator_dtype=np.float64)",
        "GRADS",
    ),
    "apply_if_finite": ("O.apply_if_finite(O.adam(0.1), max_consecutive_errors=1)", "BAD_GRADS"),
}
# set the injected learning rate to this value before step 3 (both sides)
INJECT_CHANGE = {"inject": ("learning_rate", 0.02)}

SCHEDULE_STEPS = list(range(0, 31)) + [45, 100]
SCHEDULES = {
    "constant_schedule": "O.constant_schedule(0.3)",
    "exponential_decay": "O.exponential_decay(1.0, 5, 0.5)",
    "exponential_decay_all": "O.exponential_decay(2.0, 4, 0.7, transition_begin=3, staircase=True, "
    "end_value=0.9)",
    "exponential_decay_up": "O.exponential_decay(0.5, 3, 1.5, end_value=2.0)",
    "cosine_decay_schedule": "O.cosine_decay_schedule(1.0, 20, alpha=0.1)",
    "cosine_decay_exponent": "O.cosine_decay_schedule(2.0, 25, alpha=0.05, exponent=2.0)",
    "warmup_cosine_decay_schedule": "O.warmup_cosine_decay_schedule(0.0, 1.0, 5, 25, "
    "end_value=0.1)",
    "warmup_cosine_exponent": "O.warmup_cosine_decay_schedule(0.1, 0.8, 3, 30, exponent=1.5)",
    "linear_schedule": "O.linear_schedule(1.0, 0.1, 10)",
    "linear_schedule_begin": "O.linear_schedule(0.2, 1.0, 8, transition_begin=4)",
    "polynomial_schedule": "O.polynomial_schedule(1.0, 0.0, 3, 20, transition_begin=2)",
    "piecewise_constant_schedule": "O.piecewise_constant_schedule(0.5, {5: 0.1, 12: 3.0, 20: 0.5})",
    "join_schedules": "O.join_schedules([O.linear_schedule(0.0, 1.0, 4), "
    "O.constant_schedule(1.0), O.cosine_decay_schedule(1.0, 10)], [4, 10])",
}
