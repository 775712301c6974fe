"""Float32 copies of ONNX node test cases that onnx's generators only write in float64.

The engine computes in float32, so the Einsum cases of onnx 1.12 (all float64) are rewritten:
the model's float64 inputs/outputs become float32, the inputs are cast, and the expected
outputs are recomputed with numpy.einsum on the float32 inputs (in float64, then rounded).

    /usr/bin/python3 tests/conformance/make_float32_cases.py /tmp/nodedata/node tests/conformance/node

where /tmp/nodedata was written by onnx.backend.test.cmd_tools generate-data (see node/README.md).
Not needed by make check."""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

CASES = ["test_einsum_batch_diagonal", "test_einsum_batch_matmul", "test_einsum_inner_prod",
         "test_einsum_sum", "test_einsum_transpose"]


def convert(src, dst):
    m = onnx.load(os.path.join(src, "model.onnx"))
    for v in list(m.graph.input) + list(m.graph.output):
        if v.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE:
            v.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
    eq = next(a.s.decode() for a in m.graph.node[0].attribute if a.name == "equation")
    ds = os.path.join(src, "test_data_set_0")
    xs = []
    i = 0
    while os.path.exists(os.path.join(ds, "input_%d.pb" % i)):
        t = onnx.TensorProto()
        t.ParseFromString(open(os.path.join(ds, "input_%d.pb" % i), "rb").read())
        xs.append((t.name, numpy_helper.to_array(t).astype(np.float32)))
        i += 1
    y = np.einsum(eq.replace(" ", ""), *[x.astype(np.float64) for _, x in xs]).astype(np.float32)
    name = os.path.basename(src.rstrip("/")) + "_float32"
    out = os.path.join(dst, name)
    os.makedirs(os.path.join(out, "test_data_set_0"), exist_ok=True)
    m.graph.name = name
    onnx.save(m, os.path.join(out, "model.onnx"))
    for j, (n, x) in enumerate(xs):
        with open(os.path.join(out, "test_data_set_0", "input_%d.pb" % j), "wb") as f:
            f.write(numpy_helper.from_array(x, n).SerializeToString())
    with open(os.path.join(out, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, m.graph.output[0].name).SerializeToString())
    print(out, eq, y.shape)


if __name__ == "__main__":
    for c in CASES:
        convert(os.path.join(sys.argv[1], c), sys.argv[2])
