"""Load a model written by `e2e models` (or the C builder) into the PyTorch module.

The initializers carry the state_dict names. Weights that feed a MatMul (the Linear layers
inside the ViT blocks) are stored [in, out] and are transposed back to PyTorch's [out, in];
everything else (Conv weights, Gemm weights with transB=1, biases, LayerNorm, cls_token,
pos_embed) has PyTorch's layout already.
"""
import numpy as np
import onnx
from onnx import numpy_helper
import torch

from simplenet import SimpleNet
from vit import ViT


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


def config_from_onnx(model):
    g = model.graph
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
    cfg = dict(config)
    arch = cfg.pop("arch")
    return SimpleNet(**cfg) if arch == "simplenet" else ViT(**cfg)


def module_from_onnx(path):
    """Returns (module in eval mode with the file's weights, config dict, input name, output name)."""
    model = onnx.load(path)
    g = model.graph
    config = config_from_onnx(model)
    module = make_module(config).eval()
    matmul_b = {n.input[1] for n in g.node if n.op_type == "MatMul"}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    state = module.state_dict()
    new_state = {}
    for key, ref in state.items():
        if key not in inits:
            raise KeyError(f"{path}: no initializer named {key}")
        arr = inits[key]
        if key in matmul_b:
            arr = arr.T
        if tuple(arr.shape) != tuple(ref.shape):
            raise ValueError(f"{path}: {key} has shape {arr.shape}, module wants {tuple(ref.shape)}")
        new_state[key] = torch.from_numpy(np.array(arr, dtype=np.float32))
    module.load_state_dict(new_state)
    return module, config, g.input[0].name, g.output[0].name
