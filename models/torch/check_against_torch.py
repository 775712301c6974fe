#!/usr/bin/python3
"""Check `e2e infer` against PyTorch on the models written by `e2e models`.

    check_against_torch.py [--e2e build/e2e] [--models build/models] [--batch 4]
                           [--rtol 1e-4] [--atol 1e-6] [--exports] [MODEL.onnx ...]

For each model: load its weights into the PyTorch module (from_onnx.py), run PyTorch
(float32, and float64 as a yardstick) on fixed inputs (seeded: sparse exponential "energy"
deposits, one all-zero frame, one dense uniform frame, times --scale), run `e2e infer` on the same inputs and
report the largest absolute and relative deviation. With --exports, the module is also exported
by torch.onnx.export at opset 13 and 17, static and dynamic batch, and `e2e infer` is checked on
each export too. Exit status 1 when any model is outside rtol/atol.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from from_onnx import module_from_onnx  # noqa: E402
from export import export  # noqa: E402


def fixed_inputs(config, batch, seed=1234, scale=1.0):
    rng = np.random.default_rng(seed)
    shape = (batch, config["channels"], config["height"], config["width"])
    x = rng.exponential(1.0, shape) * (rng.random(shape) < 0.2)
    if batch >= 2:
        x[1] = 0.0                      # what a failed seed gives
    if batch >= 3:
        x[2] = rng.random(shape[1:])    # dense
    return (scale * x).astype(np.float32)


def run_e2e(e2e, model, inp, input_name, output_name, threads):
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "in.npy")
        np.save(f, inp)
        cmd = [e2e, "--quiet", "infer", model, "--input", f"{input_name}={f}", "--output", d,
               "--threads", str(threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
        return np.load(os.path.join(d, output_name + ".npy"))


def compare(got, ref, rtol, atol):
    got = got.astype(np.float64)
    diff = np.abs(got - ref)
    rel = diff / np.maximum(np.abs(ref), 1e-30)
    ok = bool(np.all(diff <= atol + rtol * np.abs(ref))) and got.shape == ref.shape
    return float(diff.max()), float(rel.max()), ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--e2e", default="build/e2e")
    ap.add_argument("--models-dir", default="build/models")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--scale", type=float, default=10.0,
                    help="input scale (energies of a few tens: scores spread over (0, 1))")
    ap.add_argument("--exports", action="store_true",
                    help="also check torch.onnx.export at opset 13/17, static/dynamic")
    a = ap.parse_args()
    models = a.models or sorted(glob.glob(os.path.join(a.models_dir, "*.onnx")))
    if not models:
        sys.exit(f"no models (run `e2e models --out {a.models_dir}` first)")
    torch.set_grad_enabled(False)
    failed = 0
    print(f"{'model':36s} {'max |e2e-torch|':>15s} {'max rel':>10s} {'|torch32-torch64|':>17s}"
          f" {'|e2e-torch64|':>13s}  result")
    for path in models:
        module, config, iname, oname = module_from_onnx(path)
        x = fixed_inputs(config, a.batch, scale=a.scale)
        ref = module(torch.from_numpy(x)).double().numpy()
        ref64 = module.double()(torch.from_numpy(x).double()).numpy()
        module.float()
        targets = [(os.path.basename(path), path)]
        tmp = tempfile.TemporaryDirectory() if a.exports else None
        if tmp:
            stem = os.path.splitext(os.path.basename(path))[0]
            for opset in (13, 17):
                for dynamic in (False, True):
                    kind = "dynamic" if dynamic else "static"
                    p = os.path.join(tmp.name, f"{stem}_op{opset}_{kind}.onnx")
                    export(module, p, opset, dynamic, a.batch, config)
                    targets.append((f"  torch export op{opset} {kind}", p))
        for label, p in targets:
            try:
                got = run_e2e(a.e2e, p, x, iname, oname, a.threads)
            except RuntimeError as e:
                print(f"{label:36s} ERROR {e}")
                failed += 1
                continue
            d, r, ok = compare(got, ref, a.rtol, a.atol)
            d64 = float(np.abs(got.astype(np.float64) - ref64).max())
            t64 = float(np.abs(ref - ref64).max())
            failed += not ok
            print(f"{label:36s} {d:15.3g} {r:10.3g} {t64:17.3g} {d64:13.3g}  {'ok' if ok else 'FAIL'}"
                  + (f"  scores {np.round(ref.ravel(), 3).tolist()}" if p == path else ""))
        if tmp:
            tmp.cleanup()
    print(f"tolerance |d| <= {a.atol:g} + {a.rtol:g}*|torch|")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
