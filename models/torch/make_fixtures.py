#!/usr/bin/python3
"""Write the model fixtures of `make check` (tests/fixtures/models/): small PyTorch exports of
both architectures at opset 13 and 17, static and dynamic batch, with PyTorch's outputs in the
ONNX backend-test layout.

    /usr/bin/python3 models/torch/make_fixtures.py [--out tests/fixtures/models]

Plus einsum_op17: the einsum forms of attention and message passing; swin_op17_static:
torchvision's SwinTransformer (python3-torchvision) in a small configuration; small graph
models (gnn.py): ParticleNet at opset 13 and 17, static and dynamic batch, and with a dynamic
number of points; one DGCNN and one ParT export. Plus gelu_op20: a transformer MLP with the
opset-20 Gelu operator (exact and tanh), which
torch 1.13 cannot export, written with onnx.helper. Deterministic (torch.manual_seed, numpy
default_rng). The static exports are traced and tested
with batch 2; the dynamic ones are traced with batch 2 and tested with batch 3, so the batch
really is bound at run time.
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from simplenet import SimpleNet  # noqa: E402
from vit import ViT  # noqa: E402
from export import write_case  # noqa: E402
from check_against_torch import fixed_inputs  # noqa: E402
from check_graph_against_torch import export_graph  # noqa: E402
from gnn import ParticleNet, DGCNN, ParT, INPUTS, graph_inputs  # noqa: E402


def small_models():
    torch.manual_seed(7)
    simple = SimpleNet(channels=2, height=16, width=16).eval()
    vit = ViT(channels=3, height=16, width=16, patch=4, embed=32, depth=2, heads=2, mlp=64).eval()
    with torch.no_grad():  # non-trivial LayerNorm affine parameters, so that they are tested
        for name, p in vit.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return {"simplenet": simple, "vit": vit}


def small_graph_models():
    torch.manual_seed(11)
    mods = {"pnet": ParticleNet(channels=3, points=16, k=4, conv=((8, 8, 8), (16, 16, 16)), fc=16),
            "dgcnn": DGCNN(channels=3, points=16, k=4, conv1=(8, 8), conv2=(16,), fc=16),
            "part": ParT(channels=3, points=16, embed=16, depth=2, heads=2, mlp=32, pair=4)}
    with torch.no_grad():  # BatchNorm / LayerNorm away from the identity, so that they are tested
        for m in mods.values():
            for name, mod in m.named_modules():
                if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    mod.weight.add_(0.2 * torch.randn_like(mod.weight))
                    mod.bias.add_(0.1 * torch.randn_like(mod.bias))
                    mod.running_mean.add_(0.1 * torch.randn_like(mod.running_mean))
                    mod.running_var.mul_(torch.exp(0.3 * torch.randn_like(mod.running_var)))
                elif isinstance(mod, torch.nn.LayerNorm):
                    mod.weight.add_(0.1 * torch.randn_like(mod.weight))
                    mod.bias.add_(0.1 * torch.randn_like(mod.bias))
            m.eval()
    return mods


def graph_case(module, case_dir, opset, dynamic, n_real, seed, dynamic_points=0):
    """Export (traced with 2 graphs of 16 points; a static export with the test batch) plus
    PyTorch's output on graphs with n_real real nodes each (padding holds noise).
    dynamic_points: also the number of points is dynamic, tested with that many."""
    arch = module.config["arch"]
    names = INPUTS[arch]
    os.makedirs(os.path.join(case_dir, "test_data_set_0"), exist_ok=True)
    x = graph_inputs(module.config, len(n_real), seed=seed, n_real=n_real, pad=3.0,
                     points=dynamic_points or None)
    trace = graph_inputs(module.config, 2, seed=seed + 1, n_real=[10, 16]) if dynamic else x
    path = os.path.join(case_dir, "model.onnx")
    export_graph(module, path, opset, dynamic, trace, names, "modelOutput", bool(dynamic_points))
    with torch.no_grad():
        out = module(*[torch.from_numpy(a) for a in x]).numpy()
    d = os.path.join(case_dir, "test_data_set_0")
    for i, (name, arr) in enumerate(zip(names, x)):
        with open(os.path.join(d, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
    with open(os.path.join(d, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(out.astype(np.float32), "modelOutput").SerializeToString())
    return out


def gelu_op20_case(case_dir):
    """A transformer MLP with the Gelu operator of opset 20 (exact, then approximate="tanh"),
    which torch 1.13 cannot export: written with onnx.helper, expected output from PyTorch.
    x [batch, 5, 16] -> LayerNormalization -> MatMul + Add -> Gelu -> MatMul + Add ->
    Gelu(tanh) -> y."""
    rng = np.random.default_rng(20)
    w = {"ln.weight": 1 + 0.1 * rng.standard_normal(16), "ln.bias": 0.1 * rng.standard_normal(16),
         "fc1.weight": rng.uniform(-0.25, 0.25, (16, 32)), "fc1.bias": rng.uniform(-0.25, 0.25, 32),
         "fc2.weight": rng.uniform(-0.18, 0.18, (32, 16)), "fc2.bias": rng.uniform(-0.18, 0.18, 16)}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln.weight", "ln.bias"], ["h0"], axis=-1,
                         epsilon=1e-6),
        helper.make_node("MatMul", ["h0", "fc1.weight"], ["h1"]),
        helper.make_node("Add", ["h1", "fc1.bias"], ["h2"]),
        helper.make_node("Gelu", ["h2"], ["h3"]),
        helper.make_node("MatMul", ["h3", "fc2.weight"], ["h4"]),
        helper.make_node("Add", ["h4", "fc2.bias"], ["h5"]),
        helper.make_node("Gelu", ["h5"], ["y"], approximate="tanh"),
    ]
    graph = helper.make_graph(
        nodes, "gelu_op20",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5, 16])],
        [numpy_helper.from_array(v, k) for k, v in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)],
                              producer_name="make_fixtures.py")
    model.ir_version = 9
    x = (3 * rng.standard_normal((3, 5, 16))).astype(np.float32)
    t = {k: torch.from_numpy(v) for k, v in w.items()}
    h = F.layer_norm(torch.from_numpy(x), (16,), t["ln.weight"], t["ln.bias"], 1e-6)
    h = F.gelu(h @ t["fc1.weight"] + t["fc1.bias"])
    y = F.gelu(h @ t["fc2.weight"] + t["fc2.bias"], approximate="tanh").numpy()
    d = os.path.join(case_dir, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for name, arr, fn in (("x", x, "input_0.pb"), ("y", y, "output_0.pb")):
        with open(os.path.join(d, fn), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
    return y


def swin_case(case_dir):
    """torchvision's Swin transformer (the class behind swin_t) in a small configuration:
    patch 4, embed_dim 16, depths (2, 2), heads (2, 4), window 4, 10 classes, on 3x32x32:
    8x8 tokens in stage 1 (shifted windows with their attention mask, relative position bias),
    patch merging to 4x4 in stage 2 (window = whole map, so torchvision drops the shift).
    Exported at opset 17 with batch 2 (static). The export's value and node names are then
    shortened (t0, t1, ...; node names dropped), which keeps the fixture under 300 kB (the
    long scoped names were half of the file); the graph is unchanged."""
    from torchvision.models.swin_transformer import SwinTransformer
    torch.manual_seed(7)
    net = SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                          window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10).eval()
    with torch.no_grad():  # non-trivial LayerNorm affine parameters, so that they are tested
        for name, p in net.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    x = torch.from_numpy(np.random.default_rng(17).standard_normal((2, 3, 32, 32)).astype(np.float32))
    os.makedirs(os.path.join(case_dir, "test_data_set_0"), exist_ok=True)
    path = os.path.join(case_dir, "model.onnx")
    torch.onnx.export(net, x, path, opset_version=17, input_names=["x"], output_names=["y"])
    model = onnx.load(path)
    names = {}

    def short(s):
        if s in ("", "x", "y"):
            return s
        return names.setdefault(s, "t%d" % len(names))
    for n in model.graph.node:
        n.name = ""
        n.input[:] = [short(v) for v in n.input]
        n.output[:] = [short(v) for v in n.output]
    for t in model.graph.initializer:
        t.name = short(t.name)
    for v in model.graph.value_info:
        v.name = short(v.name)
    onnx.save(model, path)
    with torch.no_grad():
        y = net(x).numpy()
    d = os.path.join(case_dir, "test_data_set_0")
    for name, arr, fn in (("x", x.numpy(), "input_0.pb"), ("y", y, "output_0.pb")):
        with open(os.path.join(d, fn), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
    return y


class EinsumBlock(torch.nn.Module):
    """The einsum forms torch models use: attention scores and weighted values per head,
    message passing over k neighbours, and a diagonal (exported as Einsum, opset >= 12)."""

    def forward(self, q, k, v, h, w):
        a = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1)
        o = torch.einsum("bhqk,bhkd->bhqd", a, v)
        m = torch.einsum("bnc,bnkc->bnk", h, w)
        return o.sum(-1) + torch.einsum("ii->i", a[0, 0]).sum(), m


def einsum_case(case_dir):
    """einsum_op17: EinsumBlock exported at opset 17 with PyTorch's two outputs."""
    torch.manual_seed(12)
    names = ["q", "k", "v", "h", "w"]
    ins = [torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4),
           torch.randn(2, 6, 4), torch.randn(2, 6, 7, 4)]
    d = os.path.join(case_dir, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    net = EinsumBlock()
    torch.onnx.export(net, tuple(ins), os.path.join(case_dir, "model.onnx"), opset_version=17,
                      input_names=names, output_names=["o", "m"])
    with torch.no_grad():
        outs = net(*ins)
    for i, (n, x) in enumerate(zip(names, ins)):
        with open(os.path.join(d, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x.numpy(), n).SerializeToString())
    for i, (n, y) in enumerate(zip(["o", "m"], outs)):
        with open(os.path.join(d, f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(y.numpy(), n).SerializeToString())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "models"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for arch, module in small_models().items():
        for opset in (13, 17):
            for dynamic in (False, True):
                case = f"{arch}_op{opset}_{'dynamic' if dynamic else 'static'}"
                d = os.path.join(a.out, case)
                shutil.rmtree(d, ignore_errors=True)
                # energies up to a few tens, so that the outputs differ visibly between frames
                x = 10 * fixed_inputs(module.config, 3 if dynamic else 2, seed=opset * 10 + dynamic)
                out = write_case(module, d, opset, dynamic, module.config, x)
                size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
                print(f"{d}: {size / 1e3:.0f} kB, output {np.round(out.ravel(), 4).tolist()}")
    d = os.path.join(a.out, "swin_op17_static")
    shutil.rmtree(d, ignore_errors=True)
    y = swin_case(d)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    print(f"{d}: {size / 1e3:.0f} kB, output range [{y.min():.3f}, {y.max():.3f}]")
    d = os.path.join(a.out, "einsum_op17")
    shutil.rmtree(d, ignore_errors=True)
    einsum_case(d)
    print(f"{d}: written")
    graphs = small_graph_models()
    cases = [("pnet_op13_static", "pnet", 13, False, [12, 0, 3], 0),
             ("pnet_op13_dynamic", "pnet", 13, True, [16, 3, 9], 0),
             ("pnet_op17_static", "pnet", 17, False, [12, 0, 3], 0),
             ("pnet_op17_dynamic", "pnet", 17, True, [16, 3, 9], 0),
             ("pnet_op17_dynamic_points", "pnet", 17, True, [20, 3, 0, 24], 24),
             ("dgcnn_op13_dynamic", "dgcnn", 13, True, [16, 3, 0], 0),
             ("part_op17_dynamic", "part", 17, True, [16, 3, 0], 0)]
    for i, (case, arch, opset, dynamic, n_real, points) in enumerate(cases):
        d = os.path.join(a.out, case)
        shutil.rmtree(d, ignore_errors=True)
        out = graph_case(graphs[arch], d, opset, dynamic, n_real, 100 + i, points)
        size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
        print(f"{d}: {size / 1e3:.0f} kB, output {np.round(out.ravel(), 4).tolist()}")
    d = os.path.join(a.out, "gelu_op20")
    shutil.rmtree(d, ignore_errors=True)
    y = gelu_op20_case(d)
    print(f"{d}: output range [{y.min():.3f}, {y.max():.3f}]")


if __name__ == "__main__":
    main()
