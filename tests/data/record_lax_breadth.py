"""Record jax.lax reference outputs for tests/test_lax_breadth.py (run once, in a venv with
JAX: ``python tests/data/record_lax_breadth.py``). Tests read lax_breadth.npz, never JAX."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(20261203)
out: dict[str, np.ndarray] = {}


def put(name: str, **arrays: object) -> None:
    for k, v in arrays.items():
        out[f"{name}/{k}"] = np.asarray(v)


# pad: negative and interior padding; vjp w.r.t. operand and padding value
PADS = {
    "pad1": ((5,), [(1, -1, 1)]),
    "pad2": ((3, 4), [(2, 1, 0), (-1, 3, 2)]),
    "pad3": ((4, 3), [(-2, -1, 1), (0, 0, 3)]),
}
for name, (shape, cfg) in PADS.items():
    x = rng.normal(size=shape)
    y, vjp = jax.vjp(lambda a, v: lax.pad(a, v, cfg), x, 0.5)
    g = rng.normal(size=y.shape)
    gx, gv = vjp(g)
    put(name, x=x, y=y, g=g, gx=gx, gv=gv)

# conv_general_dilated: layouts, padding kinds, dilations, groups; outputs and vjps
CONVS = {
    "conv_nchw": ((2, 3, 7, 6), (4, 3, 3, 2), dict(window_strides=(2, 1), padding="SAME")),
    "conv_nhwc": (
        (2, 7, 6, 3),
        (3, 2, 3, 4),
        dict(window_strides=(1, 2), padding="VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")),
    ),
    "conv_dil": (
        (1, 2, 9, 8),
        (2, 2, 3, 3),
        dict(
            window_strides=(2, 2),
            padding=((1, 2), (-1, 1)),
            lhs_dilation=(2, 1),
            rhs_dilation=(1, 2),
        ),
    ),
    "conv_1d_groups": (
        (2, 5, 6),
        (2, 3, 4),
        dict(
            window_strides=(1,),
            padding="SAME",
            feature_group_count=2,
            dimension_numbers=("NWC", "WIO", "NWC"),
        ),
    ),
    "conv_mixed": (
        (3, 2, 6, 5),
        (3, 3, 3, 4),
        dict(window_strides=(1, 1), padding="SAME", dimension_numbers=("CNHW", "HWIO", "NHWC")),
    ),
}
for name, (ls, rs, kw) in CONVS.items():
    if name == "conv_1d_groups":
        rs = (3, 3, 4)  # W, I (= C / groups), O
        ls = (2, 6, 6)  # N, W, C
    x = rng.normal(size=ls)
    w = rng.normal(size=rs)
    y, vjp = jax.vjp(lambda a, b: lax.conv_general_dilated(a, b, **kw), x, w)
    g = rng.normal(size=y.shape)
    gx, gw = vjp(g)
    put(name, x=x, w=w, y=y, g=g, gx=gx, gw=gw)

for pad in ("SAME", "VALID"):
    x = rng.normal(size=(1, 5, 5, 2))
    w = rng.normal(size=(3, 3, 2, 3))
    y = lax.conv_transpose(x, w, (2, 2), pad, dimension_numbers=("NHWC", "HWIO", "NHWC"))
    put(f"conv_transpose_{pad}", x=x, w=w, y=y)

# reduce_window: pooling forms
x = rng.normal(size=(2, 7, 6, 3))
y, vjp = jax.vjp(
    lambda a: lax.reduce_window(a, -jnp.inf, lax.max, (1, 3, 2, 1), (1, 2, 2, 1), "SAME"), x
)
g = rng.normal(size=y.shape)
put("rw_max", x=x, y=y, g=g, gx=vjp(g)[0])
y, vjp = jax.vjp(
    lambda a: lax.reduce_window(
        a,
        0.0,
        lax.add,
        (2, 3),
        (1, 2),
        ((1, 0), (2, 1)),
        base_dilation=(2, 1),
        window_dilation=(1, 2),
    ),
    x[0, :, :, 0],
)
g = rng.normal(size=y.shape)
put("rw_sum", x=x[0, :, :, 0], y=y, g=g, gx=vjp(g)[0])

for pad in ("VALID", "SAME"):
    x = rng.normal(size=(2, 7, 5, 3))
    y, vjp = jax.vjp(
        lambda a: lax.reduce_window(a, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), pad), x
    )
    g = rng.normal(size=y.shape)
    ys = lax.reduce_window(x, 0.0, lax.add, (1, 3, 1, 1), (1, 3, 1, 1), pad)
    put(f"pool_{pad}", x=x, y=y, g=g, gx=vjp(g)[0], ysum=ys)

# associative_scan
x = rng.normal(size=(7, 3))
put("as_add", x=x, y=lax.associative_scan(jnp.add, x))
put("as_max_rev", x=x, y=lax.associative_scan(jnp.maximum, x, reverse=True, axis=1))
a, b = rng.uniform(0.5, 1.0, size=(9,)), rng.normal(size=(9,))


def affine(e1, e2):
    return (e1[0] * e2[0], e1[1] * e2[0] + e2[1])


ya, yb = lax.associative_scan(affine, (a, b))
put("as_affine", a=a, b=b, ya=ya, yb=yb)
x = rng.normal(size=(6, 4)) * 30
put(
    "cumlogsumexp", x=x, y=lax.cumlogsumexp(x, axis=0), yr=lax.cumlogsumexp(x, axis=1, reverse=True)
)
put("cummax", x=x, y=lax.cummax(x, axis=0, reverse=True), y2=lax.cummin(x, axis=1))

# top_k with ties; sort with several keys
x = np.array([[3.0, 1.0, 3.0, 2.0, 3.0, 0.0], [1.0, 1.0, 5.0, 5.0, -1.0, 2.0]])
v, i = lax.top_k(x, 4)
put("top_k", x=x, v=v, i=i)
k1 = np.array([2, 1, 2, 1, 0, 2])
k2 = np.array([0.5, 0.1, -1.0, 0.3, 9.0, 0.2])
vals = np.arange(6.0)
s1, s2, s3 = lax.sort((k1, k2, vals), num_keys=2)
put("sort2", k1=k1, k2=k2, v=vals, s1=s1, s2=s2, s3=s3)

# dot_general
a = rng.normal(size=(2, 3, 4, 5))
b = rng.normal(size=(4, 2, 6, 3))
dn = (((1, 2), (3, 0)), ((0,), (1,)))
put("dot_general", a=a, b=b, y=lax.dot_general(a, b, dn))

# gather / scatter (common forms)
op = rng.normal(size=(5, 4, 3))
idx = np.array([[0, 1], [4, 3], [2, 0], [4, 9]])
dn = lax.GatherDimensionNumbers(
    offset_dims=(1,), collapsed_slice_dims=(0, 1), start_index_map=(0, 1)
)
put("gather", op=op, idx=idx, y=lax.gather(op, idx, dn, (1, 1, 3), mode="clip"))
put("gather_fill", y=lax.gather(op, idx, dn, (1, 1, 3), mode="fill"))
dn2 = lax.GatherDimensionNumbers(
    offset_dims=(0, 2), collapsed_slice_dims=(1,), start_index_map=(1,)
)
idx2 = np.array([[3], [1], [0]])
put("gather_win", idx=idx2, y=lax.gather(op, idx2, dn2, (2, 1, 3), mode="clip"))
sdn = lax.ScatterDimensionNumbers(
    update_window_dims=(1,), inserted_window_dims=(0, 1), scatter_dims_to_operand_dims=(0, 1)
)
upd = rng.normal(size=(4, 3))
put("scatter_add", upd=upd, y=lax.scatter_add(op, idx, upd, sdn))
put("scatter", y=lax.scatter(op, idx[:3], upd[:3], sdn))

dn1 = lax.ScatterDimensionNumbers(
    update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
)
sidx = np.array([[0], [5], [2], [-1], [2]])
supd = np.array([1.0, 2.0, 3.0, 4.0, -5.0])
put(
    "scatter_modes",
    idx=sidx,
    upd=supd,
    add_drop=lax.scatter_add(np.zeros(3), sidx, supd, dn1),
    add_clip=lax.scatter_add(np.zeros(3), sidx, supd, dn1, mode="clip"),
    max_drop=lax.scatter_max(np.zeros(3), sidx, supd, dn1),
    mul_drop=lax.scatter_mul(np.full(3, 2.0), sidx, supd, dn1),
    set_drop=lax.scatter(np.zeros(3), sidx[:4], supd[:4], dn1),
)

# patches, shape helpers, generic reduce
x = rng.normal(size=(2, 6, 5, 3))
put(
    "patches",
    x=x,
    y=lax.conv_general_dilated_patches(
        x, (2, 3), (1, 2), "SAME", dimension_numbers=("NHWC", "OIHW", "NHWC")
    ),
    y_nchw=lax.conv_general_dilated_patches(np.moveaxis(x, 3, 1), (3, 2), (2, 1), "VALID"),
    perms=np.array(lax.conv_general_permutations(("NHWC", "HWIO", "NHWC"))),
    shape=np.array(
        lax.conv_general_shape_tuple(
            (2, 9, 8, 3), (3, 3, 3, 5), (2, 1), "SAME", ("NHWC", "HWIO", "NHWC")
        )
    ),
    rw_shape=np.array(lax.reduce_window_shape_tuple((7, 6), (3, 2), (2, 1), ((1, 1), (0, 2)))),
    conv_shape=np.array(lax.conv_shape_tuple((2, 3, 9, 8), (5, 3, 3, 2), (2, 1), "SAME")),
)
x = rng.normal(size=(5, 7))
put(
    "reduce",
    x=x,
    y=lax.reduce(x, 1.0, lambda a, b: a * b, (1,)),
    ymax=lax.reduce(x, -jnp.inf, lax.max, (0,)),
)

# dynamic slicing clamps
x = rng.normal(size=(5, 6))
put("dyn", x=x, y=lax.dynamic_slice(x, (4, -2), (2, 3)))
u = rng.normal(size=(2, 2))
put("dyn_upd", u=u, y=lax.dynamic_update_slice(x, u, (10, 1)))

# integer division and remainder, rounding
a = np.array([7, -7, 7, -7, 0])
b = np.array([2, 2, -2, -2, 3])
put("intdiv", a=a, b=b, q=lax.div(a, b), r=lax.rem(a, b))
x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4])
put("round", x=x, away=lax.round(x), even=lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN))

np.savez_compressed(Path(__file__).with_name("lax_breadth.npz"), **out)
print(f"recorded {len(out)} arrays with jax {jax.__version__}")
