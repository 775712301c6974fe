#!/usr/bin/python3
"""Export the PyTorch SimpleNet / ViT with torch.onnx.export.

    export.py MODEL.onnx --out DIR [--opset 13 17] [--batch 2] [--static-only|--dynamic-only]

loads the weights of a model made by `e2e models` into the PyTorch module (from_onnx.py) and
writes DIR/<stem>_op<N>_<static|dynamic>.onnx for each opset; "dynamic" marks dim 0 of the
input and output as "batch" (dynamic_axes), "static" fixes it to --batch.

As a library: export(module, path, opset, dynamic, batch) and write_case(...), which writes an
ONNX backend-test case (model.onnx + test_data_set_0/input_0.pb, output_0.pb).
"""
import argparse
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from from_onnx import module_from_onnx  # noqa: E402

INPUT, OUTPUT = "modelInput", "modelOutput"


def export(module, path, opset, dynamic, batch, config):
    module.eval()
    x = torch.zeros(batch, config["channels"], config["height"], config["width"])
    axes = {INPUT: {0: "batch"}, OUTPUT: {0: "batch"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic
        torch.onnx.export(module, x, path, opset_version=opset, input_names=[INPUT],
                          output_names=[OUTPUT], dynamic_axes=axes, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def write_case(module, case_dir, opset, dynamic, config, inputs, export_batch=2):
    """Backend-test case: the export (traced with batch `export_batch`; a static export uses
    the batch of `inputs`) plus PyTorch's output on `inputs` (numpy, NCHW)."""
    os.makedirs(os.path.join(case_dir, "test_data_set_0"), exist_ok=True)
    export(module, os.path.join(case_dir, "model.onnx"), opset, dynamic,
           export_batch if dynamic else inputs.shape[0], config)
    with torch.no_grad():
        out = module(torch.from_numpy(inputs)).numpy()
    d = os.path.join(case_dir, "test_data_set_0")
    for name, arr, fn in ((INPUT, inputs, "input_0.pb"), (OUTPUT, out, "output_0.pb")):
        with open(os.path.join(d, fn), "wb") as f:
            f.write(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name)
                    .SerializeToString())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model written by `e2e models`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, nargs="+", default=[13, 17])
    ap.add_argument("--batch", type=int, default=2, help="batch of the static exports")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--static-only", action="store_true")
    g.add_argument("--dynamic-only", action="store_true")
    a = ap.parse_args()
    module, config, _, _ = module_from_onnx(a.model)
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.splitext(os.path.basename(a.model))[0]
    kinds = [k for k in (False, True) if not (a.static_only and k) and not (a.dynamic_only and not k)]
    for opset in a.opset:
        for dynamic in kinds:
            path = os.path.join(a.out, f"{stem}_op{opset}_{'dynamic' if dynamic else 'static'}.onnx")
            export(module, path, opset, dynamic, a.batch, config)
            print(path)


if __name__ == "__main__":
    main()
