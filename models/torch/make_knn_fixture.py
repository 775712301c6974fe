#!/usr/bin/python3
"""Write the graph-network fixture of `make check`: tests/fixtures/models/knn_edgeconv_op16, a
small DGCNN/ParticleNet-style EdgeConv block exported by PyTorch at opset 16, with PyTorch's
output in the ONNX backend-test layout.

    /usr/bin/python3 models/torch/make_knn_fixture.py [--out tests/fixtures/models]

It exercises the indexing operators as PyTorch exports them: kNN by `topk` on negative
squared distances (TopK), neighbour features by `torch.gather` (GatherElements) and by
ParticleNet's flat index `x.view(B*P, C)[idx + idx_base]` (Gather), neighbour counts by
`scatter_add` (ScatterElements reduction="add": opset 16; older opsets export it as a
ScatterElements that drops duplicate indices, so PyTorch's own export is wrong there),
`argmax`, `cumsum`, `tril` (Trilu) and `one_hot` (OneHot). Deterministic
(torch.manual_seed, numpy default_rng): the script rewrites the same bytes on every run.
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
from onnx import numpy_helper


class EdgeBlock(nn.Module):
    """x_i's k nearest neighbours j (by 2-D coordinates), a shared MLP on (x_i, x_j - x_i), the
    mean over neighbours; the other outputs use the remaining indexing operators."""

    def __init__(self, c=4, k=5, out=8):
        super().__init__()
        self.k = k
        self.mlp = nn.Sequential(nn.Conv2d(2 * c, out, 1), nn.ReLU())

    def forward(self, pts, feats):  # pts [B, 2, P], feats [B, C, P]
        B, C, P = feats.shape
        inner = -2 * torch.matmul(pts.transpose(2, 1), pts)
        xx = torch.sum(pts ** 2, dim=1, keepdim=True)
        pd = -xx - inner - xx.transpose(2, 1)                       # -|p_i - p_j|^2
        idx = pd.topk(k=self.k + 1, dim=-1)[1][:, :, 1:]            # [B, P, k], self dropped
        fts = feats.transpose(2, 1)                                  # [B, P, C]
        nb = torch.gather(fts.unsqueeze(1).expand(B, P, P, C), 2,
                          idx.unsqueeze(-1).expand(B, P, self.k, C))
        base = torch.arange(0, B).view(-1, 1, 1) * P
        nb2 = fts.reshape(B * P, C)[(idx + base).view(-1)].view(B, P, self.k, C)
        nb = nb + 0.5 * nb2
        ctr = fts.unsqueeze(2).expand(B, P, self.k, C)
        e = torch.cat([ctr, nb - ctr], dim=-1).permute(0, 3, 1, 2)   # [B, 2C, P, k]
        h = self.mlp(e).mean(dim=-1)                                 # [B, out, P]
        cnt = torch.zeros(B, P).scatter_add(1, idx.reshape(B, -1), torch.ones(B, P * self.k))
        best = torch.argmax(h, dim=1).float()
        cs = torch.cumsum(h, dim=2)
        tri = torch.tril(pd, diagonal=-1)
        oh = torch.nn.functional.one_hot(idx[:, :, 0], P).float()
        return torch.cat([h.flatten(1), cnt, best, cs.flatten(1), tri.flatten(1), oh.flatten(1)], 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="tests/fixtures/models")
    a = ap.parse_args()
    torch.manual_seed(3)
    m = EdgeBlock().eval()
    rng = np.random.default_rng(5)
    pts = rng.standard_normal((2, 2, 12)).astype(np.float32)
    feats = rng.standard_normal((2, 4, 12)).astype(np.float32)
    d = os.path.join(a.out, "knn_edgeconv_op16")
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    torch.onnx.export(m, (torch.from_numpy(pts), torch.from_numpy(feats)),
                      os.path.join(d, "model.onnx"), opset_version=16,
                      input_names=["pts", "feats"], output_names=["y"])
    with torch.no_grad():
        y = m(torch.from_numpy(pts), torch.from_numpy(feats)).numpy()
    for fn, name, arr in (("input_0.pb", "pts", pts), ("input_1.pb", "feats", feats),
                          ("output_0.pb", "y", y)):
        with open(os.path.join(d, "test_data_set_0", fn), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())


if __name__ == "__main__":
    main()
