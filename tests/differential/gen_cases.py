#!/usr/bin/python3
"""Differential test of e2e against ONNX Runtime on small random graphs (issue 19).

From a seed, writes small random models of the operator families e2e's kernels specialise,
runs them under ONNX Runtime (onnxruntime-node, through tests/differential/ort_run.js) and
stores ORT's outputs as the expected ones, in the ONNX backend-test layout that
`e2e check DIR` reads (model.onnx, test_data_set_0/input_K.pb, output_K.pb, plus README.txt
saying what the graph is). Then, with --check, runs e2e on them at every optimize level and
1 and 2 threads and lists the disagreements.

    gen_cases.py --seed 1 --count 300 --out DIR [--families conv,gemm] [--check build/e2e]
    gen_cases.py --ort CASE_DIR...      ORT's outputs of existing cases against the stored ones

Only needed to make the committed cases (tests/differential/cases/) and by `make fuzz`;
make check runs the stored cases with e2e alone. Needs /usr/bin/python3 with onnx and numpy,
node and bench/ort (sh bench/ort_install.sh).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-4, 1e-5       # what make check uses for these cases
TYPES = {np.float32: "float32", np.int64: "int64", np.int32: "int32", np.bool_: "bool"}
NP_OF = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_}


class Graph:
    """A small graph under construction: nodes, graph inputs with values, initializers."""

    def __init__(self, rng, opset):
        self.rng, self.opset = rng, opset
        self.nodes, self.inputs, self.inits, self.outputs = [], [], [], []
        self.n = 0
        self.desc = []
        self.ref64 = None   # optional float64 reference: list of input arrays -> outputs

    def name(self, p="t"):
        self.n += 1
        return "%s%d" % (p, self.n)

    def input(self, arr):
        n = self.name("in")
        self.inputs.append((n, arr))
        return n

    def const(self, arr):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def node(self, op, ins, n_out=1, **attrs):
        outs = [self.name() for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, ins, outs, **attrs))
        a = ", ".join("%s=%s" % (k, v) for k, v in sorted(attrs.items()))
        self.desc.append("%s(%s)" % (op, a))
        return outs[0] if n_out == 1 else outs

    def model(self):
        g = helper.make_graph(
            self.nodes, "g",
            [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype)
                                           if hasattr(helper, "np_dtype_to_tensor_dtype")
                                           else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype],
                                           list(a.shape)) for n, a in self.inputs],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in self.outputs],
            self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name="e2e-differential")
        m.ir_version = 8
        return m


def randn(rng, shape, offset=0.0, scale=1.0):
    return (rng.standard_normal(shape) * scale + offset).astype(np.float32)


def act(g, r, x):
    """An optional activation after a Conv/Gemm (the ones the fusion pass folds)."""
    k = r.choice(["none", "none", "Relu", "Clip", "LeakyRelu", "Sigmoid"])
    if k == "none":
        return x
    if k == "Clip":
        lo, hi = sorted([round(r.uniform(-1, 0.5), 2), round(r.uniform(0, 2), 2)])
        return g.node("Clip", [x, g.const(np.float32(lo)), g.const(np.float32(hi))])
    if k == "LeakyRelu":
        return g.node("LeakyRelu", [x], alpha=round(r.uniform(0.01, 0.5), 3))
    return g.node(k, [x])


# ------------------------------------------------------------------------------ families

def fam_conv(r, rng):
    g = Graph(rng, 13)
    nsp = r.choice([1, 2, 2, 2, 3])
    N, C = r.choice([1, 1, 2]), r.randint(1, 6)
    sp = [r.randint(1, 9 if nsp < 3 else 5) for _ in range(nsp)]
    grp = r.choice(["one", "one", "dw", "some"])
    if grp == "one":
        G, M = 1, r.randint(1, 6)
    elif grp == "dw":
        G, M = C, C * r.choice([1, 1, 2])
    else:
        G = r.choice([d for d in range(1, C + 1) if C % d == 0])
        M = G * r.randint(1, 3)
    ks = [r.randint(1, 4) for _ in range(nsp)]
    st = [r.choice([1, 1, 2, 3]) for _ in range(nsp)]
    dl = [r.choice([1, 1, 1, 2, 3]) for _ in range(nsp)]
    auto = r.choice(["NOTSET"] * 4 + ["SAME_UPPER", "SAME_LOWER", "VALID"])
    if auto.startswith("SAME"):
        dl = [1] * nsp      # ONNX Runtime refuses dilations with SAME_* padding
    attrs = dict(kernel_shape=ks, strides=st, dilations=dl, group=G)
    if auto == "NOTSET":
        attrs["pads"] = [r.randint(0, 2) for _ in range(2 * nsp)]
    else:
        attrs["auto_pad"] = auto
    for i in range(nsp):    # the output must not be empty
        ext = (ks[i] - 1) * dl[i] + 1
        pad = sum(attrs["pads"][i::nsp]) if "pads" in attrs else 0
        if auto != "SAME_UPPER" and auto != "SAME_LOWER" and sp[i] + pad < ext:
            sp[i] = ext - pad + r.randint(0, 2)
    x = g.input(randn(rng, [N, C] + sp))
    w = g.const(randn(rng, [M, C // G] + ks, scale=0.5))
    ins = [x, w]
    if r.random() < 0.6:
        ins.append(g.const(randn(rng, [M])))
    y = g.node("Conv", ins, **attrs)
    if r.random() < 0.25:
        y = g.node("BatchNormalization", [y, g.const(randn(rng, [M])), g.const(randn(rng, [M])),
                                          g.const(randn(rng, [M])),
                                          g.const(np.abs(randn(rng, [M])) + 0.5)])
    y = act(g, r, y)
    out = []
    for i in range(nsp):
        ext = (ks[i] - 1) * dl[i] + 1
        if auto.startswith("SAME"):
            out.append(-(-sp[i] // st[i]))
        else:
            pad = sum(attrs["pads"][i::nsp]) if "pads" in attrs else 0
            out.append((sp[i] + pad - ext) // st[i] + 1)
    if nsp == 2 and r.random() < 0.35:
        # windows inside the input (ORT pools a window past the input, e2e refuses it)
        pk = [r.randint(1, min(3, out[0])), r.randint(1, min(3, out[1]))]
        pattrs = dict(kernel_shape=pk, strides=[r.randint(1, 2), r.randint(1, 2)])
        if r.random() < 0.3:
            pattrs["pads"] = [r.randint(0, pk[0] - 1), r.randint(0, pk[1] - 1)] * 2
        y = g.node(r.choice(["MaxPool", "MaxPool", "AveragePool"]), [y], **pattrs)
    g.outputs.append(y)
    return g


def fam_conv_fast(r, rng):
    """Conv shapes that reach the direct, Winograd and Conv+MaxPool kernels: 2-D, stride 1,
    group 1, constant weights, rows of 10+ outputs, 3x3 with enough channels."""
    g = Graph(rng, 13)
    wide = r.random() < 0.2
    C = r.choice([1, 2, 3, 4, 8, 16]) if not wide else r.choice([16, 17])
    M = r.choice([1, 3, 6, 8, 9, 16]) if not wide else r.choice([32, 33])
    k = r.choice([3, 3, 3, 1, 5])
    H, W = r.randint(k, 7), r.randint(10, 22) if not wide else r.randint(8, 12)
    attrs = dict(kernel_shape=[k, k])
    p = r.choice([0, k // 2, k // 2])
    if p:
        attrs["pads"] = [p] * 4
    if r.random() < 0.15:
        attrs["dilations"] = [1, 2]
        W += 2 * (k - 1)
    x = g.input(randn(rng, [r.choice([1, 1, 2]), C, H, W]))
    ins = [x, g.const(randn(rng, [M, C, k, k], scale=1.0 / np.sqrt(C * k * k)))]
    if r.random() < 0.7:
        ins.append(g.const(randn(rng, [M])))
    y = act(g, r, g.node("Conv", ins, **attrs))
    if r.random() < 0.5 and H + 2 * p - k + 1 >= 2:
        y = g.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    g.outputs.append(y)
    return g


def fam_fused(r, rng):
    """Decomposed LayerNorm and GELU as PyTorch exports them, MatMul + bias (+ residual):
    the session's pattern fusions replace these by one kernel each."""
    g = Graph(rng, 13)
    B, S, D = r.randint(1, 2), r.randint(1, 7), r.choice([4, 8, 12, 16, 33])
    x = g.input(randn(rng, [B, S, D], offset=r.choice([0.0, 0.0, 5.0])))
    y = x
    for piece in r.sample(["ln", "gelu", "linear"], r.randint(1, 3)):
        if piece == "ln":
            m = g.node("ReduceMean", [y], axes=[-1])
            d = g.node("Sub", [y, m])
            v = g.node("ReduceMean", [g.node("Pow", [d, g.const(np.float32(2.0))])], axes=[-1])
            sd = g.node("Sqrt", [g.node("Add", [v, g.const(np.float32(1e-5))])])
            n = g.node("Div", [d, sd])
            y = g.node("Add", [g.node("Mul", [n, g.const(randn(rng, [D]))]),
                               g.const(randn(rng, [D]))])
        elif piece == "gelu":
            e = g.node("Erf", [g.node("Div", [y, g.const(np.float32(1.4142135623730951))])])
            y = g.node("Mul", [g.node("Mul", [y, g.node("Add", [e, g.const(np.float32(1.0))])]),
                               g.const(np.float32(0.5))])
        else:
            z = g.node("Add", [g.node("MatMul", [y, g.const(randn(rng, [D, D], scale=0.3))]),
                               g.const(randn(rng, [D]))])
            y = g.node("Add", [z, y]) if r.random() < 0.5 else z
    g.outputs.append(y)
    return g


def fam_gemm(r, rng):
    g = Graph(rng, 13)
    M, K, N = r.randint(1, 37), r.randint(1, 37), r.randint(1, 37)
    ta, tb = r.randint(0, 1), r.randint(0, 1)
    a = randn(rng, [K, M] if ta else [M, K])
    b = randn(rng, [N, K] if tb else [K, N])
    attrs = {}
    if ta:
        attrs["transA"] = 1
    if tb:
        attrs["transB"] = 1
    if r.random() < 0.5:
        attrs["alpha"] = round(r.uniform(-2, 2), 3)
    if r.random() < 0.5:
        attrs["beta"] = round(r.uniform(-2, 2), 3)
    ins = [g.input(a), g.const(b) if r.random() < 0.7 else g.input(b)]
    cshape = r.choice([None, [1], [N], [M, 1], [1, N], [M, N]])
    if cshape is not None:
        ins.append(g.const(randn(rng, cshape)))
    y = act(g, r, g.node("Gemm", ins, **attrs))
    g.outputs.append(y)
    return g


def fam_matmul(r, rng):
    g = Graph(rng, 13)
    M, K, N = r.randint(1, 33), r.randint(1, 33), r.randint(1, 33)
    ra, rb = r.choice([1, 2, 2, 3, 3, 4]), r.choice([1, 2, 2, 2, 3, 4])
    batch = [r.randint(1, 3) for _ in range(2)]

    def bshape(rank):
        nb = max(rank - 2, 0)
        return [b if r.random() < 0.7 else 1 for b in batch[2 - nb:]]
    ash = [K] if ra == 1 else bshape(ra) + [M, K]
    bsh = [K] if rb == 1 else bshape(rb) + [K, N]
    a, b = randn(rng, ash), randn(rng, bsh)
    ins = [g.input(a), g.const(b) if r.random() < 0.5 else g.input(b)]
    y = g.node("MatMul", ins)
    if r.random() < 0.3 and rb >= 2:
        y = g.node("Add", [y, g.const(randn(rng, [N]))])
    g.outputs.append(act(g, r, y))
    return g


def fam_norm(r, rng):
    kind = r.choice(["LayerNormalization", "InstanceNormalization", "BatchNormalization",
                     "BatchNormalization"])
    g = Graph(rng, 17 if kind == "LayerNormalization" else 15)
    rank = r.randint(2, 4) if kind != "InstanceNormalization" else r.randint(3, 4)
    shape = [r.randint(1, 4)] + [r.randint(1, 9) for _ in range(rank - 1)]
    off = r.choice([0.0, 0.0, 3.0, -10.0])
    x = g.input(randn(rng, shape, offset=off, scale=r.choice([0.1, 1.0, 3.0])))
    eps = r.choice([1e-5, 1e-3, 0.1])
    if kind == "LayerNormalization":
        axis = r.randint(-rank, rank - 1)
        if axis == 0 or axis == -rank:
            axis = 1
        a = axis % rank
        bl = shape[a:]
        sshape = r.choice([bl, bl[-1:], [1]])
        sc = randn(rng, sshape)
        ins = [x, g.const(sc)]
        bi = np.zeros([1], np.float32)
        if r.random() < 0.7:
            bi = randn(rng, r.choice([bl, sshape]))
            ins.append(g.const(bi))
        y = g.node(kind, ins, axis=axis, epsilon=eps)
        ax = tuple(range(a, rank))
        # the spec's function body: Mean is a float32 tensor (stash_type 1), X - Mean centres
        def ln64(f):
            d = f[0] - f[0].mean(ax, keepdims=True).astype(np.float32).astype(np.float64)
            return [d / np.sqrt((d * d).mean(ax, keepdims=True) + np.float64(np.float32(eps)))
                    * sc.astype(np.float64) + bi]
        g.ref64 = ln64
    elif kind == "InstanceNormalization":
        C = shape[1]
        sc, bi = randn(rng, [C]), randn(rng, [C])
        y = g.node(kind, [x, g.const(sc), g.const(bi)], epsilon=eps)
        ax = tuple(range(2, rank))
        cs = [1, C] + [1] * (rank - 2)
        g.ref64 = lambda f: [(f[0] - f[0].mean(ax, keepdims=True)) /
                             np.sqrt(f[0].var(ax, keepdims=True) + np.float64(np.float32(eps)))
                             * sc.reshape(cs).astype(np.float64) + bi.reshape(cs)]
    else:
        C = shape[1]
        sc, bi = randn(rng, [C]), randn(rng, [C])
        mean = randn(rng, [C], offset=off)
        var = (np.abs(randn(rng, [C])) + 0.1).astype(np.float32)
        y = g.node(kind, [x, g.const(sc), g.const(bi), g.const(mean), g.const(var)],
                   epsilon=eps)
        cs = [1, C] + [1] * (rank - 2)
        d = lambda v: v.reshape(cs).astype(np.float64)
        g.ref64 = lambda f: [(f[0] - d(mean)) / np.sqrt(d(var) + np.float64(np.float32(eps)))
                             * d(sc) + d(bi)]
    g.outputs.append(y)
    return g


def fam_softmax(r, rng):
    legacy = r.random() < 0.3
    g = Graph(rng, 11 if legacy else 13)
    rank = r.randint(1, 4)
    shape = [r.randint(1, 7) for _ in range(rank)]
    if r.random() < 0.3:
        shape[-1] = r.randint(8, 40)
    x = g.input(randn(rng, shape, offset=r.choice([0.0, 0.0, 50.0, -20.0]),
                      scale=r.choice([1.0, 5.0])))
    axis = r.randint(-rank, rank - 1)
    y = g.node(r.choice(["Softmax", "LogSoftmax"]), [x], axis=axis)
    g.outputs.append(y)
    return g


def fam_attention(r, rng):
    g = Graph(rng, 13)
    B, H, S, T, D = r.randint(1, 2), r.randint(1, 3), r.randint(1, 9), r.randint(1, 9), \
        r.choice([4, 8, 5, 16])
    q = g.input(randn(rng, [B, H, S, D]))
    k = g.input(randn(rng, [B, H, T, D]))
    v = g.input(randn(rng, [B, H, T, D]))
    kt = g.node("Transpose", [k], perm=[0, 1, 3, 2])
    s = g.node("MatMul", [q, kt])
    s = g.node("Mul", [s, g.const(np.float32(1.0 / np.sqrt(D)))])
    if r.random() < 0.4:
        mask = np.where(rng.random([1, 1, S, T]) < 0.2, -1e4, 0).astype(np.float32)
        s = g.node("Add", [s, g.const(mask)])
    p = g.node("Softmax", [s], axis=-1)
    g.outputs.append(g.node("MatMul", [p, v]))
    return g


def fam_resize(r, rng):
    mode = r.choice(["nearest", "linear", "cubic"])
    opset = r.choice([13, 13, 19])
    g = Graph(rng, opset)
    rank = r.choice([2, 3, 4, 4]) if mode != "cubic" else r.choice([2, 4])
    cts = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
           "tf_crop_and_resize"] + (["half_pixel_symmetric"] if opset >= 18 else [])
    ct = r.choice(cts)
    shape = [r.randint(1, 2) for _ in range(rank - 2)] + [r.randint(1, 7), r.randint(1, 7)]
    x = g.input(randn(rng, shape))
    attrs = dict(mode=mode, coordinate_transformation_mode=ct)
    if mode == "nearest":
        attrs["nearest_mode"] = r.choice(["round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"])
    if mode == "cubic":
        if r.random() < 0.4:
            attrs["cubic_coeff_a"] = r.choice([-0.5, -0.75])
        if r.random() < 0.4:
            attrs["exclude_outside"] = 1
    if opset >= 18 and mode != "nearest" and r.random() < 0.3:
        attrs["antialias"] = 1
    roi = ""
    if ct == "tf_crop_and_resize":
        lo = [0.0] * (rank - 2) + [round(r.uniform(0, 0.4), 2) for _ in range(2)]
        hi = [1.0] * (rank - 2) + [round(r.uniform(0.6, 1.2), 2) for _ in range(2)]
        roi = g.const(np.array(lo + hi, np.float32))
        if r.random() < 0.5:
            attrs["extrapolation_value"] = round(r.uniform(-2, 2), 2)
    # ONNX Runtime skips the roi of an axis whose scale is 1 in tf_crop_and_resize (the spec
    # maps it like any other): those are not drawn
    no_one = ct == "tf_crop_and_resize"
    if r.random() < 0.5:
        sc = [1.0] * (rank - 2) + [r.choice([0.5, 0.6, 0.7, 0.75, 0.9, 1.25, 1.5, 1.7, 2.0, 3.0] +
                                            ([] if no_one else [1.0])) for _ in range(2)]
        # ONNX Runtime copies the input when the output shape equals it, whatever the scales
        # (2 * 1.25 -> 2 rows, which the spec maps through 1 / 1.25): not drawn either
        sc = [2.0 if v != 1.0 and int(np.float32(d) * np.float32(v)) == d else v
              for v, d in zip(sc, shape)]
        ins = [x, roi or g.const(np.zeros([0], np.float32)), g.const(np.array(sc, np.float32))]
    else:
        sz = shape[:-2] + [r.choice([v for v in range(1, 13) if not no_one or v != d])
                           for d in shape[-2:]]
        ins = [x, roi or g.const(np.zeros([0], np.float32)),
               g.const(np.zeros([0], np.float32)), g.const(np.array(sz, np.int64))]
    if not roi and opset < 13:
        ins[1] = ""
    g.outputs.append(g.node("Resize", ins, **attrs))
    return g


def fam_resize_legacy(r, rng):
    """Upsample (opsets 7, 9) and Resize-10: asymmetric coordinates, nearest takes floor when
    enlarging and ceil when shrinking."""
    kind = r.choice(["Upsample7", "Upsample9", "Resize10"])
    g = Graph(rng, {"Upsample7": 7, "Upsample9": 9, "Resize10": 10}[kind])
    mode = r.choice(["nearest", "linear"])
    rank = r.choice([2, 4, 4])
    shape = [r.randint(1, 2) for _ in range(rank - 2)] + [r.randint(1, 7), r.randint(1, 7)]
    lo = 1.0 if kind.startswith("Upsample") else 0.5
    sc = [1.0] * (rank - 2) + [r.choice([v for v in (0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0)
                                         if v >= lo]) for _ in range(2)]
    sc = [2.0 if v != 1.0 and int(np.float32(d) * np.float32(v)) == d else v
          for v, d in zip(sc, shape)]
    x = g.input(randn(rng, shape))
    if kind == "Upsample7":
        y = g.node("Upsample", [x], mode=mode, scales=sc)
    else:
        y = g.node("Upsample" if kind == "Upsample9" else "Resize",
                   [x, g.const(np.array(sc, np.float32))], mode=mode)
    g.outputs.append(y)
    return g


def fam_slice(r, rng):
    g = Graph(rng, 13)
    rank = r.randint(1, 4)
    shape = [r.randint(1, 6) for _ in range(rank)]
    x = g.input(randn(rng, shape))
    na = r.randint(1, rank)
    axes = r.sample(range(rank), na)
    big = 2 ** 62

    def pick(d):
        return r.choice([big, -big, -d - r.randint(0, 3), d + r.randint(0, 3),
                         r.randint(-d, d), r.randint(-d, d)])
    starts = [pick(shape[a]) for a in axes]
    ends = [pick(shape[a]) for a in axes]
    steps = [r.choice([1, 1, 2, 3, -1, -1, -2, -3]) for _ in axes]
    axes = [a - rank if r.random() < 0.3 else a for a in axes]
    ins = [x, g.const(np.array(starts, np.int64)), g.const(np.array(ends, np.int64))]
    if r.random() < 0.8 or any(s != 1 for s in steps):
        ins.append(g.const(np.array(axes, np.int64)))
        ins.append(g.const(np.array(steps, np.int64)))
    g.outputs.append(g.node("Slice", ins))
    return g


def fam_pad(r, rng):
    opset = r.choice([13, 19])
    mode = r.choice(["constant", "reflect", "edge"] + (["wrap"] if opset >= 19 else []))
    g = Graph(rng, opset)
    rank = r.randint(1, 4)
    shape = [r.randint(1, 6) for _ in range(rank)]
    x = g.input(randn(rng, shape))
    axes = list(range(rank))
    if opset >= 18 and r.random() < 0.4:
        axes = sorted(r.sample(range(rank), r.randint(1, rank)))
    dims = [shape[a] for a in axes]
    lo = lambda d: -min(d - 1, 2) if mode == "constant" else 0
    hi = lambda d: (d - 1) if mode == "reflect" else d if mode == "wrap" else 3
    pads = [r.randint(lo(d), hi(d)) for d in dims] + [r.randint(lo(d), hi(d)) for d in dims]
    ins = [x, g.const(np.array(pads, np.int64))]
    if mode == "constant" and r.random() < 0.6:
        ins.append(g.const(np.float32(round(r.uniform(-3, 3), 2))))
    if len(axes) < rank:
        if len(ins) == 2:
            ins.append("")
        ins.append(g.const(np.array([a - rank if r.random() < 0.3 else a for a in axes],
                                    np.int64)))
    g.outputs.append(g.node("Pad", ins, mode=mode))
    return g


def fam_gather(r, rng):
    g = Graph(rng, 13)
    rank = r.randint(1, 4)
    shape = [r.randint(1, 6) for _ in range(rank)]
    x = g.input(randn(rng, shape))
    axis = r.randint(-rank, rank - 1)
    d = shape[axis]
    ishape = r.choice([[], [r.randint(1, 5)], [r.randint(1, 3), r.randint(1, 3)]])
    idx = rng.integers(-d, d, size=ishape).astype(np.int64)
    ins = [x, g.const(idx) if r.random() < 0.5 else g.input(idx)]
    g.outputs.append(g.node("Gather", ins, axis=axis))
    return g


def fam_reduce(r, rng, ops=("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                             "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                             "ReduceLogSumExp")):
    op = r.choice(ops)
    opset = r.choice([11, 13, 18])
    g = Graph(rng, opset)
    rank = r.randint(1, 4)
    shape = [r.randint(1, 6) for _ in range(rank)]
    off = 0.0 if op in ("ReduceProd", "ReduceLogSum") else r.choice([0.0, 0.0, 10.0, -100.0])
    x = randn(rng, shape, offset=off)
    if op == "ReduceLogSum":
        x = np.abs(x) + 0.1
    if op == "ReduceProd":
        x = (np.sign(x) * (0.5 + np.abs(x) / 2)).astype(np.float32)
    xin = g.input(x.astype(np.float32))
    axes = sorted(r.sample(range(rank), r.randint(0, rank)))
    axes = [a - rank if r.random() < 0.3 else a for a in axes]
    attrs = {}
    if r.random() < 0.4:
        attrs["keepdims"] = 0
    axes_as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    ins = [xin]
    if axes_as_input:
        if axes or r.random() < 0.3:
            ins.append(g.const(np.array(axes, np.int64)))
        if not axes and r.random() < 0.5:
            attrs["noop_with_empty_axes"] = 1
    elif axes:
        attrs["axes"] = axes
    g.outputs.append(g.node(op, ins, **attrs))
    return g


def fam_matmul_big(r, rng):
    """MatMul / Gemm large enough for the packed kernels' full tiles and the threads' column
    slices (make fuzz only: the tensors are too big for the committed batch)."""
    g = Graph(rng, 13)
    M, K, N = r.randint(20, 150), r.randint(16, 300), r.randint(16, 200)
    a = g.input(randn(rng, [r.randint(1, 2), M, K] if r.random() < 0.5 else [M, K]))
    b = g.const(randn(rng, [K, N], scale=1.0 / np.sqrt(K)))
    if r.random() < 0.5 and len(g.inputs[0][1].shape) == 2:
        y = g.node("Gemm", [a, b, g.const(randn(rng, [N]))], alpha=1.0, beta=1.0)
    else:
        y = g.node("MatMul", [a, b])
        if r.random() < 0.5:
            y = g.node("Add", [y, g.const(randn(rng, [N]))])
    g.outputs.append(act(g, r, y))
    return g


def fam_reduce_l12(r, rng):
    """ReduceL1 / ReduceL2 alone (the graph-network models use them)."""
    return fam_reduce(r, rng, ("ReduceL1", "ReduceL2"))


FAMILIES = {"conv": fam_conv, "conv_fast": fam_conv_fast, "fused": fam_fused, "gemm": fam_gemm,
            "matmul": fam_matmul, "norm": fam_norm, "softmax": fam_softmax,
            "attention": fam_attention, "resize": fam_resize, "resize_legacy": fam_resize_legacy,
            "slice": fam_slice, "pad": fam_pad, "gather": fam_gather, "reduce": fam_reduce,
            "reduce_l12": fam_reduce_l12, "matmul_big": fam_matmul_big}
# drawn only when asked for by name or by --families all (make fuzz-differential)
FUZZ_ONLY = {"matmul_big"}
# how often each family is drawn (Conv and Resize have the most attributes)
WEIGHTS = {"conv": 4, "conv_fast": 2, "fused": 2, "gemm": 2, "matmul": 2, "norm": 2, "softmax": 1,
           "attention": 1, "resize": 3, "resize_legacy": 1, "slice": 2, "pad": 1, "gather": 1,
           "reduce": 2, "reduce_l12": 1, "matmul_big": 2}


# ------------------------------------------------------------------------------ writing

def write_pb(path, arr):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.array(arr, order="C")).SerializeToString())


def make_case(family, seed):
    r = random.Random(seed)
    rng = np.random.default_rng(seed)
    return FAMILIES[family](r, rng)


def run_ort(jobs, work):
    jf = os.path.join(work, "jobs.json")
    with open(jf, "w") as f:
        json.dump(jobs, f)
    subprocess.run(["node", os.path.join(HERE, "ort_run.js"), jf], check=True)


def ort_outputs(outdir):
    """ORT's outputs written by ort_run.js, or None with the reason."""
    p = os.path.join(outdir, "ort.json")
    if not os.path.exists(p):
        with open(os.path.join(outdir, "ort_error.txt")) as f:
            return None, f.read().strip()
    outs = []
    for o in json.load(open(p)):
        outs.append(np.fromfile(o["file"], dtype=NP_OF[o["type"]]).reshape(o["dims"]))
    return outs, None


def generate(seed, count, out, families, work):
    """Writes `count` cases from consecutive seeds; returns their folders."""
    r = random.Random(seed)
    fams = [f for f in families for _ in range(WEIGHTS[f])]
    plan = [(r.choice(fams), seed * 100000 + i) for i in range(count)]
    jobs, made = [], []
    for fam, s in plan:
        name = "%s_%d" % (fam, s)
        g = make_case(fam, s)
        tmp = os.path.join(work, name)
        os.makedirs(tmp)
        mpath = os.path.join(tmp, "model.onnx")
        onnx.save(g.model(), mpath)
        ins = []
        for k, (n, a) in enumerate(g.inputs):
            f = os.path.join(tmp, "in%d.bin" % k)
            a.tofile(f)
            ins.append(dict(name=n, type=TYPES[a.dtype.type], dims=list(a.shape), file=f))
        jobs.append(dict(model=mpath, inputs=ins, outdir=tmp))
        made.append((name, fam, s, g, tmp))
    run_ort(jobs, work)
    dirs = []
    refused = 0
    for name, fam, s, g, tmp in made:
        outs, err = ort_outputs(tmp)
        if outs is None or any(o.size == 0 for o in outs) and fam != "slice":
            refused += 1
            continue
        note = "ONNX Runtime"
        if g.ref64:
            # where ORT itself is off a float64 evaluation of the spec's formula by more than a
            # quarter of the tolerance, the float64 values (rounded to float) are expected
            r64 = g.ref64([a.astype(np.float64) for _, a in g.inputs])
            worst = max(float(np.max(np.abs(o - e) / (ATOL + RTOL * np.abs(e)), initial=0))
                        for o, e in zip(outs, r64))
            if worst > 0.25:
                outs = [e.astype(np.float32) for e in r64]
                note = "float64 numpy (ONNX Runtime is %.2g of the tolerance off it)" % worst
        d = os.path.join(out, name)
        os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
        shutil.copy(os.path.join(tmp, "model.onnx"), os.path.join(d, "model.onnx"))
        for k, (_, a) in enumerate(g.inputs):
            write_pb(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), a)
        for k, o in enumerate(outs):
            write_pb(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), o)
        with open(os.path.join(d, "README.txt"), "w") as f:
            f.write("family %s seed %d (tests/differential/gen_cases.py), opset %d; expected "
                    "outputs: %s\n" % (fam, s, g.opset, note))
            f.write("inputs: %s\n" % ", ".join("%s %s" % (n, list(a.shape)) for n, a in g.inputs))
            f.write("nodes: %s\n" % " -> ".join(g.desc))
        dirs.append(d)
    print("gen_cases: %d cases written to %s (%d refused by ONNX Runtime or empty, not kept)"
          % (len(dirs), out, refused))
    return dirs


def check(e2e, dirs):
    """Runs e2e on the cases at optimize 0/1/2 x threads 1/2; returns {case: [configs]}."""
    bad = {}
    for o in (0, 1, 2):
        for t in (1, 2):
            p = subprocess.run([e2e, "--optimize", str(o), "check", "--threads", str(t),
                                "--rtol", str(RTOL), "--atol", str(ATOL)] + dirs,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for line in p.stdout.splitlines():
                if line.startswith(("FAIL ", "ERROR ")):
                    case = line.split()[1].rstrip(":")
                    bad.setdefault(case, []).append("optimize %d threads %d: %s" % (o, t, line))
    return bad


def ort_against_stored(dirs, work):
    jobs = []
    for d in dirs:
        m = onnx.load(os.path.join(d, "model.onnx"))
        inits = {i.name for i in m.graph.initializer}
        names = [i.name for i in m.graph.input if i.name not in inits]
        od = os.path.join(work, os.path.basename(d.rstrip("/")))
        os.makedirs(od)
        ins = []
        for k, n in enumerate(names):
            t = onnx.TensorProto()
            with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "rb") as f:
                t.ParseFromString(f.read())
            a = numpy_helper.to_array(t)
            fn = os.path.join(od, "in%d.bin" % k)
            a.tofile(fn)
            ins.append(dict(name=n, type=TYPES[a.dtype.type], dims=list(a.shape), file=fn))
        jobs.append(dict(model=os.path.join(d, "model.onnx"), inputs=ins, outdir=od))
    run_ort(jobs, work)
    for d, j in zip(dirs, jobs):
        outs, err = ort_outputs(j["outdir"])
        if outs is None:
            print("%s: ONNX Runtime refuses it: %s" % (d, err))
            continue
        for k, o in enumerate(outs):
            t = onnx.TensorProto()
            with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "rb") as f:
                t.ParseFromString(f.read())
            ref = numpy_helper.to_array(t)
            if ref.shape != o.shape:
                print("%s: output %d: shape %s (ORT) vs %s (stored)" % (d, k, list(o.shape),
                                                                        list(ref.shape)))
            else:
                err = np.abs(o.astype(np.float64) - ref).max() if o.size else 0.0
                print("%s: output %d: max |ORT - stored| = %.3g" % (d, k, err))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--out", help="folder for the cases (made; existing cases are replaced)")
    ap.add_argument("--families", default=",".join(f for f in FAMILIES if f not in FUZZ_ONLY),
                    help="comma-separated; 'all' adds the large ones (%s)" % ", ".join(FUZZ_ONLY))
    ap.add_argument("--check", metavar="E2E", help="run this e2e on the cases afterwards")
    ap.add_argument("--ort", nargs="+", metavar="CASE", help="ORT against the stored outputs")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="e2e-differential-")
    try:
        if a.ort:
            ort_against_stored(a.ort, work)
            return 0
        if not a.out:
            ap.error("--out is required")
        fams = list(FAMILIES) if a.families == "all" else a.families.split(",")
        for f in fams:
            if f not in FAMILIES:
                ap.error("unknown family %s (known: %s)" % (f, ", ".join(FAMILIES)))
        os.makedirs(a.out, exist_ok=True)
        dirs = generate(a.seed, a.count, a.out, fams, work)
        if a.check:
            bad = check(a.check, dirs)
            for case in sorted(bad):
                print("DISAGREE %s\n  %s" % (case, "\n  ".join(bad[case])))
            print("gen_cases: %d of %d cases agree with ONNX Runtime at optimize 0/1/2, "
                  "threads 1/2 (rtol %g, atol %g)" % (len(dirs) - len(bad), len(dirs), RTOL, ATOL))
            return 1 if bad else 0
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
