"""Writes QDQ (int8) versions of the SimpleNet taggers, the form ONNX Runtime's static
quantizer gives (QuantFormat.QDQ): every Conv and Gemm reads its activation through
QuantizeLinear -> DequantizeLinear (uint8, asymmetric, per tensor), its weight through
DequantizeLinear of int8 symmetric per-output-channel weights (axis 0, zero point 0), its bias
through DequantizeLinear of int32 with scale x_scale * w_scale; its output (after the Relu that
follows it, when there is one) goes through QuantizeLinear -> DequantizeLinear too.

Activation ranges come from calibration frames: the float model runs on them with `e2e infer`
(the tensors to calibrate made graph outputs through Identity nodes) and each range is
[min(0, min), max(0, max)] over the frames. Only onnx and numpy are needed (no ONNX Runtime
in Python).

    /usr/bin/python3 models/torch/quantize_taggers.py --e2e build/e2e MODEL.onnx OUT.onnx \
        [--calib FILE.pb|FILE.npy ...] [--frames N] [--seed S]

Without --calib, N random sparse frames (90% zeros, exponential energies) calibrate.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def input_shape(model, batch):
    t = model.graph.input[0].type.tensor_type
    return [d.dim_value if d.dim_value > 0 else batch for d in t.shape.dim]


def load_calib(files):
    xs = []
    for f in files:
        if f.endswith(".npy"):
            xs.append(np.load(f).astype(np.float32))
        else:
            t = onnx.TensorProto()
            with open(f, "rb") as fh:
                t.ParseFromString(fh.read())
            xs.append(numpy_helper.to_array(t).astype(np.float32))
    return np.concatenate(xs, axis=0)


def random_frames(model, n, seed):
    rng = np.random.default_rng(seed)
    shape = input_shape(model, n)
    x = rng.exponential(1.0, size=shape) * (rng.random(size=shape) < 0.1)
    return x.astype(np.float32)


def activations(e2e, model, names, x):
    """Runs the float model on x with `e2e infer` and returns {name: array} for names."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for i, n in enumerate(names):
        m.graph.node.append(helper.make_node("Identity", [n], ["calib_%d" % i]))
        m.graph.output.append(helper.make_tensor_value_info("calib_%d" % i, TensorProto.FLOAT, None))
    with tempfile.TemporaryDirectory() as d:
        onnx.save(m, os.path.join(d, "m.onnx"))
        np.save(os.path.join(d, "x.npy"), x)
        subprocess.run([e2e, "infer", os.path.join(d, "m.onnx"), "--input", os.path.join(d, "x.npy"),
                        "--output", d], check=True, stdout=subprocess.DEVNULL)
        return {n: np.load(os.path.join(d, "calib_%d.npy" % i)) for i, n in enumerate(names)}


def act_qparams(a):
    lo, hi = min(0.0, float(a.min())), max(0.0, float(a.max()))
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zp = np.uint8(np.clip(np.round(-lo / scale), 0, 255))
    return scale, zp


def quantize(model, e2e, x):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    outputs = {o.name for o in g.output}
    targets = [n for n in g.node if n.op_type in ("Conv", "Gemm") and n.input[1] in inits]
    # tensors to quantize: each target's input, and its output (after a sole Relu)
    qt = []
    for n in targets:
        if n.input[0] not in qt:
            qt.append(n.input[0])
        y = n.output[0]
        cs = consumers.get(y, [])
        if len(cs) == 1 and cs[0].op_type == "Relu":
            y = cs[0].output[0]
        if y not in outputs and y not in qt:
            qt.append(y)
    acts = activations(e2e, model, qt, x)
    qp = {t: act_qparams(acts[t]) for t in qt}

    new_inits, new_nodes = [], []
    rename = {}  # tensor -> its dequantized name, for the consumers
    for t in qt:
        s, z = qp[t]
        new_inits += [numpy_helper.from_array(np.array(s, np.float32), t + "_scale"),
                      numpy_helper.from_array(np.array(z, np.uint8), t + "_zero_point")]
        rename[t] = t + "_dq"

    def qdq_nodes(t):
        return [helper.make_node("QuantizeLinear", [t, t + "_scale", t + "_zero_point"], [t + "_q"],
                                 name=t + "_Q"),
                helper.make_node("DequantizeLinear", [t + "_q", t + "_scale", t + "_zero_point"],
                                 [t + "_dq"], name=t + "_DQ")]

    if g.input[0].name in qt:
        new_nodes += qdq_nodes(g.input[0].name)
    for n in g.node:
        ins = [rename.get(i, i) for i in n.input]
        if n in targets:
            w = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            wmax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
            ws = np.where(wmax > 0, wmax / 127.0, 1.0).astype(np.float32)
            bshape = (-1,) + (1,) * (w.ndim - 1)
            wq = np.clip(np.round(w / ws.reshape(bshape)), -127, 127).astype(np.int8)
            wn = n.input[1]
            new_inits += [numpy_helper.from_array(wq, wn + "_q"),
                          numpy_helper.from_array(ws, wn + "_scale"),
                          numpy_helper.from_array(np.zeros(w.shape[0], np.int8), wn + "_zero_point")]
            new_nodes.append(helper.make_node("DequantizeLinear", [wn + "_q", wn + "_scale", wn + "_zero_point"],
                                              [wn + "_dq"], name=wn + "_DQ", axis=0))
            ins[1] = wn + "_dq"
            if len(n.input) > 2 and n.input[2] in inits:
                b = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32)
                bs = (np.float32(qp[n.input[0]][0]) * ws).astype(np.float32)
                bq = np.round(b / bs).astype(np.int32)
                bn = n.input[2]
                new_inits += [numpy_helper.from_array(bq, bn + "_q"),
                              numpy_helper.from_array(bs, bn + "_scale"),
                              numpy_helper.from_array(np.zeros(b.shape[0], np.int32), bn + "_zero_point")]
                new_nodes.append(helper.make_node("DequantizeLinear", [bn + "_q", bn + "_scale", bn + "_zero_point"],
                                                  [bn + "_dq"], name=bn + "_DQ", axis=0))
                ins[2] = bn + "_dq"
        nn = helper.make_node(n.op_type, ins, list(n.output), name=n.name)
        nn.attribute.extend(n.attribute)
        new_nodes.append(nn)
        for o in n.output:
            if o in qt:
                new_nodes += qdq_nodes(o)
    used = set()
    for n in new_nodes:
        used.update(n.input)
    keep = [t for t in g.initializer if t.name in used]
    graph = helper.make_graph(new_nodes, g.name + "_qdq", list(g.input), list(g.output),
                              keep + new_inits)
    opset = max(13, next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")))
    out = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                            producer_name="e2e quantize_taggers.py")
    out.ir_version = 7
    onnx.checker.check_model(out)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--e2e", default="build/e2e")
    ap.add_argument("--calib", nargs="*", default=[])
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    model = onnx.load(a.model)
    if next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        from onnx import version_converter  # per-axis DequantizeLinear needs opset 13
        model = version_converter.convert_version(model, 13)
    x = load_calib(a.calib) if a.calib else random_frames(model, a.frames, a.seed)
    q = quantize(model, a.e2e, x)
    onnx.save(q, a.out)
    print("%s: %d nodes, calibrated on %d frames" % (a.out, len(q.graph.node), x.shape[0]), file=sys.stderr)


if __name__ == "__main__":
    main()
