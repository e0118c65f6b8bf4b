# ruff: noqa: E501  (one case per line: the JAX call text is the record key)
"""Cases recorded from JAX into ``jax_random_extra.json`` (see ``record_jax_random.py``).

Each case is a Python expression evaluated with ``R`` bound to a random module
(``jax.random`` when recording, ``funcgrad.random`` in the tests), ``key`` to ``R.PRNGKey(seed)``
and ``np`` to numpy. The same text drives both sides, so the two calls cannot drift apart.
"""

SEEDS = (0, 1, 42)

CASES = {
    # keys and bits
    "key_neg1": "R.PRNGKey(-1)",
    "key_big": "R.PRNGKey(2**40 + 3)",
    "key_fn": "R.key_data(R.key(7))",
    "split_2x3": "R.split(key, (2, 3))",
    "fold_in_0": "R.fold_in(key, 0)",
    "fold_in_big": "R.fold_in(key, 2**31 + 5)",
    "bits8": "R.bits(key, (7,), np.uint8)",
    "bits16": "R.bits(key, (7,), np.uint16)",
    "bits32_2d": "R.bits(key, (3, 4), np.uint32)",
    "bits64": "R.bits(key, (5,), np.uint64)",
    "bits_scalar": "R.bits(key, (), np.uint32)",
    # uniform family
    "uniform_f16": "R.uniform(key, (6,), np.float16)",
    "uniform_scalar": "R.uniform(key)",
    "uniform_arr_bounds": "R.uniform(key, (2, 3), minval=np.array([0.0, 1.0, 2.0]), maxval=5.0)",
    "randint_big": "R.randint(key, (8,), -(2**40), 2**50, np.int64)",
    "randint_int8": "R.randint(key, (8,), -100, 200, np.int8)",
    "randint_arr": "R.randint(key, (2, 4), np.array([0, 10, 20, 30]), 40)",
    "randint_empty": "R.randint(key, (5,), 3, 3)",
    "randint_uint32": "R.randint(key, (6,), 0, 2**32 - 1, np.uint32)",
    "perm_10": "R.permutation(key, 10)",
    "perm_100": "R.permutation(key, 100)",
    "perm_arr_axis1": "R.permutation(key, np.arange(12.0).reshape(3, 4), axis=1)",
    "perm_indep": "R.permutation(key, np.arange(12).reshape(3, 4), axis=1, independent=True)",
    "perm_arr0": "R.permutation(key, np.arange(15).reshape(5, 3))",
    "choice_replace": "R.choice(key, 7, (4, 2))",
    "choice_arr_axis1": "R.choice(key, np.arange(12.0).reshape(3, 4), (2,), replace=False, axis=1)",
    "choice_p": "R.choice(key, 5, (10,), p=np.array([0.1, 0.2, 0.3, 0.15, 0.25]))",
    "choice_p_noreplace": "R.choice(key, 5, (3,), replace=False, p=np.array([0.1, 0.2, 0.3, 0.15, 0.25]))",
    "categorical_axis0": "R.categorical(key, np.log(np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])), axis=0)",
    "categorical_shape": "R.categorical(key, np.array([0.0, 1.0, -1.0]), shape=(2, 5))",
    "categorical_noreplace": "R.categorical(key, np.array([0.0, 1.0, -1.0, 0.5, 2.0]), shape=(3,), replace=False)",
    "bernoulli_arr": "R.bernoulli(key, np.array([0.1, 0.5, 0.9]), (4, 3))",
    "bernoulli_high": "R.bernoulli(key, 0.3, (8,), mode='high')",
    "gumbel_high": "R.gumbel(key, (6,), mode='high')",
    # normal family
    "normal_tail": "R.normal(key, (3000,))",
    "normal_f32_1000": "R.normal(key, (1000,), np.float32)",
    "normal_scalar": "R.normal(key)",
    "truncnorm_arr": "R.truncated_normal(key, np.array([-1.0, 0.0, 2.0]), np.array([1.0, 3.0, 2.5]))",
    "truncnorm_f32": "R.truncated_normal(key, -0.5, 0.5, (5,), np.float32)",
    "lognormal": "R.lognormal(key, 0.5, (5,))",
    "mvn_chol": "R.multivariate_normal(key, np.array([1.0, -1.0]), np.array([[2.0, 0.5], [0.5, 1.0]]), (3,))",
    "mvn_eigh": "R.multivariate_normal(key, np.zeros(3), np.diag([1.0, 2.0, 3.0]) + 0.1, (2,), method='eigh')",
    "mvn_svd": "R.multivariate_normal(key, np.zeros(2), np.array([[1.0, 0.3], [0.3, 0.5]]), method='svd')",
    "orthogonal_3": "R.orthogonal(key, 3)",
    "orthogonal_2x4": "R.orthogonal(key, 2, (2,), m=4)",
    "maxwell": "R.maxwell(key, (5,))",
    "double_sided_maxwell": "R.double_sided_maxwell(key, 1.0, 2.0, (5,))",
    "rayleigh": "R.rayleigh(key, 2.0, (5,))",
    "wald": "R.wald(key, 1.5, (6,))",
    # one-uniform transforms
    "exponential_scalar": "R.exponential(key)",
    "laplace_f32": "R.laplace(key, (5,), np.float32)",
    "cauchy_5": "R.cauchy(key, (5,))",
    "logistic_5": "R.logistic(key, (5,))",
    "pareto": "R.pareto(key, 3.0, (5,))",
    "weibull_min": "R.weibull_min(key, 2.0, 1.5, (5,))",
    "triangular": "R.triangular(key, 0.0, 1.0, 3.0, (6,))",
    "geometric": "R.geometric(key, 0.3, (8,))",
    "rademacher_f64": "R.rademacher(key, (6,), np.float64)",
    # gamma family
    "gamma_small": "R.gamma(key, 0.3, (20,))",
    "gamma_one": "R.gamma(key, 1.0, (20,))",
    "gamma_large": "R.gamma(key, 10.0, (20,))",
    "gamma_arr": "R.gamma(key, np.array([0.5, 2.0, 7.5]), (2, 3))",
    "gamma_f32": "R.gamma(key, np.array([0.2, 1.5, 30.0]), dtype=np.float32)",
    "loggamma_small": "R.loggamma(key, 0.05, (10,))",
    "loggamma_large": "R.loggamma(key, 4.0, (10,))",
    "beta_arr": "R.beta(key, np.array([0.5, 2.0]), np.array([3.0, 0.7]), (3, 2))",
    "dirichlet": "R.dirichlet(key, np.array([0.5, 1.0, 3.0]), (4,))",
    "t_arr": "R.t(key, np.array([1.0, 5.0, 30.0]))",
    "chisquare": "R.chisquare(key, 3.0, (6,))",
    "f": "R.f(key, 4.0, 7.0, (6,))",
    "generalized_normal": "R.generalized_normal(key, 1.5, (6,))",
    "ball_p2": "R.ball(key, 3, 2, (4,))",
    "ball_p1": "R.ball(key, 2, 1, (3,))",
    # integer-valued rejection samplers
    "poisson_small": "R.poisson(key, 2.5, (12,))",
    "poisson_large": "R.poisson(key, 40.0, (12,))",
    "poisson_arr": "R.poisson(key, np.array([0.0, 1.0, 15.0, 200.0]))",
    "binomial_inv": "R.binomial(key, 8.0, 0.3, (10,))",
    "binomial_btrs": "R.binomial(key, 200.0, 0.4, (10,))",
    "binomial_high_p": "R.binomial(key, np.array([5.0, 50.0, 500.0]), 0.85)",
    "multinomial": "R.multinomial(key, 20.0, np.array([0.2, 0.5, 0.3]), shape=(2, 3))",
}

# gradients d/dparam of sum(sampler(key, param)) (implicit reparameterisation in JAX)
GRAD_CASES = {
    "grad_gamma": ("lambda a: R.gamma(key, a).sum()", [0.3, 1.0, 2.5, 10.0]),
    "grad_loggamma": ("lambda a: R.loggamma(key, a).sum()", [0.3, 1.0, 2.5, 10.0]),
    "grad_beta_a": ("lambda a: R.beta(key, a, 2.0).sum()", [0.5, 1.5, 4.0]),
    "grad_dirichlet": (
        "lambda a: (R.dirichlet(key, a) * np.array([1.0, 2.0, 3.0])).sum()",
        [0.5, 1.5, 4.0],
    ),
    "grad_normal_scale": ("lambda s: (R.normal(key, (3,)) * s + 1.0).sum()", [0.5, 1.5, 4.0]),
    "grad_t": ("lambda df: R.t(key, df).sum()", [2.0, 5.0, 30.0]),
}
