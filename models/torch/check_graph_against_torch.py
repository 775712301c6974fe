#!/usr/bin/python3
"""Check `e2e infer` against PyTorch on the graph models written by `e2e models`
(ParticleNet, DGCNN, ParT; gnn.py).

    check_graph_against_torch.py [--e2e build/e2e] [--models-dir build/models] [--batch 6]
                                 [--rtol 0] [--atol 1e-5] [--threads 1] [--exports] [MODEL.onnx ...]

For each model: load its weights into the PyTorch module (from_onnx.py), run PyTorch
(float32, and float64 as a yardstick) on seeded inputs (gnn.graph_inputs: jets with different
numbers of real nodes, one with none, one with fewer than k + 1), run `e2e infer` on the same
inputs and report the largest absolute deviation. With --exports, the module is also exported
by torch.onnx.export at opset 13 and 17, static and dynamic batch, and `e2e infer` is checked
on each export. With --perturb-norm, the BatchNorm and LayerNorm parameters of the file are
first moved away from their initial 1/0/0/1 (seeded noise, written to a temporary copy), so
that the folding of BatchNorm in the builder's graph is checked too. Exit status 1 when any
model is outside atol + rtol·|torch|.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from from_onnx import module_from_onnx  # noqa: E402
from gnn import graph_inputs  # noqa: E402

GRAPH_ARCHS = ("pnet", "dgcnn", "part", "pnet_full")


def export_graph(module, path, opset, dynamic, inputs, names, output="modelOutput",
                 dynamic_points=False):
    """torch.onnx.export; dynamic: dim 0 is "batch"; dynamic_points: dim 2 of points,
    features and mask is "points"."""
    module.eval()
    axes = {n: {0: "batch"} for n in list(names) + [output]} if dynamic else None
    if dynamic_points:
        for n in ("points", "features", "mask"):
            axes[n][2] = "points"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic
        torch.onnx.export(module, tuple(torch.from_numpy(a) for a in inputs), path,
                          opset_version=opset, input_names=list(names), output_names=[output],
                          dynamic_axes=axes, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def perturb_norms(path, out, seed=5):
    """Copy of the model with BatchNorm (weight, bias, running_mean, running_var) and LayerNorm
    parameters perturbed."""
    from onnx import numpy_helper
    rng = np.random.default_rng(seed)
    model = onnx.load(path)
    for t in model.graph.initializer:
        name = t.name
        is_bn = any(name.endswith(s) for s in (".running_mean", ".running_var")) or \
            any(name.startswith(p) for p in ("bn_fts.",)) or ".bns." in name or \
            ".sc_bn." in name or name.startswith("fusion_block.1.")
        is_ln = "norm" in name
        if not (is_bn or is_ln):
            continue
        a = numpy_helper.to_array(t).astype(np.float32)
        if name.endswith("running_var"):
            a = a * np.exp(0.3 * rng.standard_normal(a.shape)).astype(np.float32)
        elif name.endswith("weight"):
            a = a + 0.2 * rng.standard_normal(a.shape).astype(np.float32)
        else:
            a = a + 0.1 * rng.standard_normal(a.shape).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(a.astype(np.float32), name))
    onnx.save(model, out)


def run_e2e(e2e, model, inputs, names, output, threads):
    with tempfile.TemporaryDirectory() as d:
        cmd = [e2e, "--quiet", "infer", model, "--output", d, "--threads", str(threads)]
        for n, a in zip(names, inputs):
            f = os.path.join(d, f"{n}.in.npy")
            np.save(f, a)
            cmd += ["--input", f"{n}={f}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
        return np.load(os.path.join(d, output + ".npy"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--e2e", default="build/e2e")
    ap.add_argument("--models-dir", default="build/models")
    ap.add_argument("--batch", type=int, default=6)
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--exports", action="store_true",
                    help="also check torch.onnx.export at opset 13/17, static/dynamic")
    ap.add_argument("--perturb-norm", action="store_true",
                    help="perturb the BatchNorm/LayerNorm parameters first")
    a = ap.parse_args()
    models = a.models or sorted(p for p in glob.glob(os.path.join(a.models_dir, "*.onnx"))
                                if os.path.basename(p).split("_", 1)[1][:-5] in GRAPH_ARCHS)
    if not models:
        sys.exit(f"no graph models (run `e2e models --out {a.models_dir}` first)")
    torch.set_grad_enabled(False)
    failed = 0
    print(f"{'model':36s} {'max |e2e-torch|':>15s} {'|torch32-torch64|':>17s} {'|e2e-torch64|':>13s}  result")
    ptmp = tempfile.TemporaryDirectory() if a.perturb_norm else None
    for path in models:
        if ptmp:
            p = os.path.join(ptmp.name, os.path.basename(path))
            perturb_norms(path, p)
            path = p
        module, config, names, oname = module_from_onnx(path)
        x = graph_inputs(config, a.batch)
        ref = module(*[torch.from_numpy(v) for v in x]).double().numpy()
        ref64 = module.double()(*[torch.from_numpy(v).double() for v in x]).numpy()
        module.float()
        targets = [(os.path.basename(path), path)]
        tmp = tempfile.TemporaryDirectory() if a.exports else None
        if tmp:
            stem = os.path.splitext(os.path.basename(path))[0]
            for opset in (13, 17):
                for dynamic in (False, True):
                    kind = "dynamic" if dynamic else "static"
                    p = os.path.join(tmp.name, f"{stem}_op{opset}_{kind}.onnx")
                    export_graph(module, p, opset, dynamic, x, names, oname)
                    targets.append((f"  torch export op{opset} {kind}", p))
        for label, p in targets:
            try:
                got = run_e2e(a.e2e, p, x, names, oname, a.threads)
            except RuntimeError as e:
                print(f"{label:36s} ERROR {e}")
                failed += 1
                continue
            diff = np.abs(got.astype(np.float64) - ref)
            ok = got.shape == ref.shape and bool(np.all(diff <= a.atol + a.rtol * np.abs(ref)))
            d64 = float(np.abs(got.astype(np.float64) - ref64).max())
            t64 = float(np.abs(ref - ref64).max())
            failed += not ok
            print(f"{label:36s} {diff.max():15.3g} {t64:17.3g} {d64:13.3g}  {'ok' if ok else 'FAIL'}"
                  + (f"  scores {np.round(ref.ravel(), 4).tolist()}" if p == path else ""))
        if tmp:
            tmp.cleanup()
    print(f"tolerance |d| <= {a.atol:g} + {a.rtol:g}*|torch|")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
