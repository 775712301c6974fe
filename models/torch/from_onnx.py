"""Load a model written by `e2e models` (or the C builder) into the PyTorch module: the image
models (simplenet.py, vit.py) and the graph models (gnn.py).

The initializers carry the state_dict names. Weights that feed a MatMul (the Linear layers
inside the ViT and ParT blocks, possibly through a Mul by a constant) are stored [in, out] and are transposed back to PyTorch's [out, in];
everything else (Conv weights, Gemm weights with transB=1, biases, LayerNorm, cls_token,
pos_embed) has PyTorch's layout already.
"""
import numpy as np
import onnx
from onnx import numpy_helper
import torch

from simplenet import SimpleNet
from vit import ViT
from gnn import make_graph_module


def _constant_values(graph):
    vals = {}
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    vals[n.output[0]] = numpy_helper.to_array(a.t)
    for t in graph.initializer:
        if t.data_type != onnx.TensorProto.FLOAT:
            vals[t.name] = numpy_helper.to_array(t)
    return vals


def _widths(inits, prefix):
    out, l = [], 0
    while f"{prefix}.convs.{l}.weight" in inits:
        out.append(int(inits[f"{prefix}.convs.{l}.weight"].shape[0]))
        l += 1
    return out


def graph_config_from_onnx(model):
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in g.input}
    C, P = shapes["features"][1], shapes["features"][2]
    consts = _constant_values(g)
    ks = [int(consts[n.input[1]].ravel()[0]) for n in g.node
          if n.op_type == "TopK" and n.input[1] in consts]
    if "pair_embed.0.weight" in inits:
        depth = len({k.split(".")[1] for k in inits if k.startswith("blocks.")})
        return dict(arch="part", channels=C, points=P, embed=int(inits["embed.0.weight"].shape[1]),
                    depth=depth, heads=int(inits["pair_embed.2.weight"].shape[0]),
                    mlp=int(inits["blocks.0.mlp.fc1.weight"].shape[1]),
                    pair=int(inits["pair_embed.0.weight"].shape[0]))
    if "conv1.convs.0.weight" in inits:
        return dict(arch="dgcnn", channels=C, points=P, k=ks[0],
                    conv=[_widths(inits, "conv1"), _widths(inits, "conv2")],
                    fc=int(inits["fc.0.weight"].shape[0]))
    blocks, b = [], 0
    while f"edge_convs.{b}.convs.0.weight" in inits:
        blocks.append(_widths(inits, f"edge_convs.{b}"))
        b += 1
    return dict(arch="pnet", channels=C, points=P, k=ks[0] - 1, conv=blocks,
                fc=int(inits["fc.0.0.weight"].shape[0]))


def config_from_onnx(model):
    g = model.graph
    if any(i.name == "points" for i in g.input):
        return graph_config_from_onnx(model)
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    dims = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    C, H, W = dims[1], dims[2], dims[3]
    if "conv1.weight" in inits:
        return dict(arch="simplenet", channels=C, height=H, width=W)
    w = inits["patch_embed.proj.weight"]
    depth = len({k.split(".")[1] for k in inits if k.startswith("blocks.")})
    heads = None
    consts = _constant_values(g)
    for n in g.node:  # the attention Reshape: (0, -1, 3, heads, head_dim)
        if n.op_type == "Reshape" and n.input[1] in consts and consts[n.input[1]].size == 5:
            heads = int(consts[n.input[1]][3])
            break
    if heads is None:
        raise ValueError("cannot find the number of heads (no rank-5 attention Reshape)")
    return dict(arch="vit", channels=C, height=H, width=W, patch=w.shape[2], embed=w.shape[0],
                depth=depth, heads=heads, mlp=inits["blocks.0.mlp.fc1.weight"].shape[1])


def make_module(config):
    if config["arch"] in ("pnet", "dgcnn", "part"):
        return make_graph_module(config)
    cfg = dict(config)
    arch = cfg.pop("arch")
    return SimpleNet(**cfg) if arch == "simplenet" else ViT(**cfg)


def module_from_onnx(path):
    """Returns (module in eval mode with the file's weights, config dict, input name, output
    name); for a graph model the input name is the list of the graph's input names."""
    model = onnx.load(path)
    g = model.graph
    config = config_from_onnx(model)
    module = make_module(config).eval()
    matmul_b = {n.input[1] for n in g.node if n.op_type == "MatMul"}
    # a weight scaled in the graph before its MatMul (ParT's q columns) is stored [in, out] too
    matmul_b |= {n.input[0] for n in g.node if n.op_type == "Mul" and n.output[0] in matmul_b}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    state = module.state_dict()
    new_state = {}
    for key, ref in state.items():
        if key.endswith("num_batches_tracked"):
            new_state[key] = ref
            continue
        if key not in inits:
            raise KeyError(f"{path}: no initializer named {key}")
        arr = inits[key]
        if key in matmul_b:
            arr = arr.T
        if tuple(arr.shape) != tuple(ref.shape):
            raise ValueError(f"{path}: {key} has shape {arr.shape}, module wants {tuple(ref.shape)}")
        new_state[key] = torch.from_numpy(np.array(arr, dtype=np.float32))
    module.load_state_dict(new_state)
    if len(g.input) > 1:
        return module, config, [i.name for i in g.input], g.output[0].name
    return module, config, g.input[0].name, g.output[0].name
