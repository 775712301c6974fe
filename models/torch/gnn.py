"""The graph taggers of `e2e models` in PyTorch: ParticleNet (Lite and full size), the E2E
group's DGCNN, and a small particle transformer (ParT-like). See models/README.md.

Inputs (channels first, as CMSSW's ParticleNet): points [N, 2, P] (Δη, Δφ of each node from
the seed), features [N, C, P], mask [N, 1, P] (1 real node, 0 padding); DGCNN also takes
seed [N, 3] (the seed's pT, η, φ). Output [N, 1], a sigmoid score. Padded nodes have their
points and features multiplied by the mask (so they are 0), are shifted by 1e9 in every
coordinate before a kNN (so they are never the neighbour of a real node), masked as keys in
attention, and left out of every pooling (sums divided by the real count, at least 1).

Written so that torch.onnx.export (torch 1.13, opset 13/17) gives only standard operators:
kNN by MatMul/ReduceSum/Sub + TopK + Slice; neighbours by a flat Gather with batch offsets
(Range); 1x1 Conv, BatchNormalization, ReduceMean/ReduceMax/ReduceSum, Softmax, MatMul.
Parameter names are those of the ONNX initializers that the C builder writes
(src/models/pnet.c, dgcnn.c, part.c).
"""
import math

import torch
from torch import nn


def knn(x, k, skip_self):
    """Indices [N, P, k] of the k nearest points of each point in x [N, D, P] (largest
    -|xi - xj|^2 first). skip_self: take k + 1 and drop the first (the point itself), as
    ParticleNet; otherwise the point counts as its own neighbour (PyG's DynamicEdgeConv)."""
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    xx = torch.sum(x * x, dim=1, keepdim=True)
    pairwise = -xx - inner - xx.transpose(2, 1)
    if skip_self:
        return pairwise.topk(k=k + 1, dim=-1)[1][:, :, 1:]
    return pairwise.topk(k=k, dim=-1)[1]


def edge_features(x, idx):
    """x [N, C, P], idx [N, P, k] -> cat(x_i, x_j - x_i) [N, 2C, P, k]."""
    n, c, p = x.size()
    k = idx.size(2)
    base = torch.arange(0, n, device=x.device).view(-1, 1, 1) * p
    flat = (idx + base).view(-1)
    nb = x.transpose(2, 1).reshape(-1, c)[flat, :].view(n, p, k, c).permute(0, 3, 1, 2)
    xi = x.unsqueeze(3).repeat(1, 1, 1, k)
    return torch.cat((xi, nb - xi), dim=1)


class EdgeConvBlock(nn.Module):
    """ParticleNet's EdgeConv: kNN on `points`, edge features of `features`, 1x1 Conv + BN +
    ReLU stack, mean over the neighbours, shortcut (1x1 Conv + BN when the width changes),
    ReLU."""

    def __init__(self, k, in_feat, out_feats):
        super().__init__()
        self.k = k
        chans = [2 * in_feat] + list(out_feats)
        self.convs = nn.ModuleList(
            [nn.Conv2d(chans[i], chans[i + 1], kernel_size=1, bias=False) for i in range(len(out_feats))])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in out_feats])
        if in_feat == out_feats[-1]:
            self.sc = None
        else:
            self.sc = nn.Conv1d(in_feat, out_feats[-1], kernel_size=1, bias=False)
            self.sc_bn = nn.BatchNorm1d(out_feats[-1])

    def forward(self, points, features):
        x = edge_features(features, knn(points, self.k, True))
        for conv, bn in zip(self.convs, self.bns):
            x = torch.relu(bn(conv(x)))
        fts = x.mean(dim=-1)
        sc = features if self.sc is None else self.sc_bn(self.sc(features))
        return torch.relu(sc + fts)


class ParticleNet(nn.Module):
    """weaver's ParticleNet for one sigmoid output. Lite: k 7, EdgeConv (32, 32, 32) and
    (64, 64, 64), fusion 128, FC 128. Full: k 16, (64)x3, (128)x3, (256)x3, fusion 384, FC 256.
    Dropout is left out (inference)."""

    def __init__(self, channels=8, points=128, k=7, conv=((32, 32, 32), (64, 64, 64)), fc=128):
        super().__init__()
        conv = [tuple(c) for c in conv]
        self.config = dict(arch="pnet", channels=channels, points=points, k=k,
                           conv=[list(c) for c in conv], fc=fc)
        self.bn_fts = nn.BatchNorm1d(channels)
        self.edge_convs = nn.ModuleList()
        for i, chans in enumerate(conv):
            in_feat = channels if i == 0 else conv[i - 1][-1]
            self.edge_convs.append(EdgeConvBlock(k, in_feat, chans))
        in_chn = sum(c[-1] for c in conv)
        out_chn = min(max((in_chn // 128) * 128, 128), 1024)
        self.fusion_block = nn.Sequential(nn.Conv1d(in_chn, out_chn, kernel_size=1, bias=False),
                                          nn.BatchNorm1d(out_chn), nn.ReLU())
        self.fc = nn.Sequential(nn.Sequential(nn.Linear(out_chn, fc), nn.ReLU()), nn.Linear(fc, 1))

    def forward(self, points, features, mask):
        points = points * mask
        features = features * mask
        coord_shift = (1 - mask) * 1e9
        counts = torch.clamp(mask.sum(dim=-1), min=1)
        fts = self.bn_fts(features) * mask
        outputs = []
        for i, conv in enumerate(self.edge_convs):
            pts = (points if i == 0 else fts) + coord_shift
            fts = conv(pts, fts) * mask
            outputs.append(fts)
        fts = self.fusion_block(torch.cat(outputs, dim=1)) * mask
        x = fts.sum(dim=-1) / counts
        return torch.sigmoid(self.fc(x))


def particlenet_full(channels=8, points=128):
    return ParticleNet(channels, points, k=16, conv=((64, 64, 64), (128, 128, 128), (256, 256, 256)),
                       fc=256)


class DynamicEdgeConv(nn.Module):
    """PyG's DynamicEdgeConv with max aggregation: kNN (the point itself included) in the
    space of its input, MLP of (x_i, x_j - x_i) as 1x1 Conv + BN + ReLU layers, max over the
    neighbours."""

    def __init__(self, k, in_feat, out_feats):
        super().__init__()
        self.k = k
        chans = [2 * in_feat] + list(out_feats)
        self.convs = nn.ModuleList(
            [nn.Conv2d(chans[i], chans[i + 1], kernel_size=1, bias=False) for i in range(len(out_feats))])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in out_feats])

    def forward(self, x, coord_shift):
        e = edge_features(x, knn(x + coord_shift, self.k, False))
        for conv, bn in zip(self.convs, self.bns):
            e = torch.relu(bn(conv(e)))
        return e.max(dim=-1)[0]


class DGCNN(nn.Module):
    """The E2E group's DGCNN (GSoC 2022/23): node input cat(points, features), two
    DynamicEdgeConv (k 7, max aggregation; MLPs (64, 64) and (128,)), readout masked mean and
    max of cat(x1, x2), then the seed (log pT, η, φ) concatenated before the head
    Linear(2·192 + 3 -> 128) ReLU Linear(128 -> 1) Sigmoid. The max needs no mask: every node
    value is a ReLU output (>= 0) and padded nodes are 0."""

    def __init__(self, channels=8, points=128, k=7, conv1=(64, 64), conv2=(128,), fc=128):
        super().__init__()
        self.config = dict(arch="dgcnn", channels=channels, points=points, k=k,
                           conv=[list(conv1), list(conv2)], fc=fc)
        self.conv1 = DynamicEdgeConv(k, 2 + channels, conv1)
        self.conv2 = DynamicEdgeConv(k, conv1[-1], conv2)
        width = conv1[-1] + conv2[-1]
        self.fc = nn.Sequential(nn.Linear(2 * width + 3, fc), nn.ReLU(), nn.Linear(fc, 1))

    def forward(self, points, features, mask, seed):
        x = torch.cat((points, features), dim=1) * mask
        coord_shift = (1 - mask) * 1e9
        counts = torch.clamp(mask.sum(dim=-1), min=1)
        x1 = self.conv1(x, coord_shift) * mask
        x2 = self.conv2(x1, coord_shift) * mask
        h = torch.cat((x1, x2), dim=1)
        mean = h.sum(dim=-1) / counts
        mx = h.max(dim=-1)[0]
        s = torch.cat((torch.log(torch.clamp(seed[:, 0:1], min=1)), seed[:, 1:3]), dim=1)
        return torch.sigmoid(self.fc(torch.cat((mean, mx, s), dim=1)))


class PairAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, bias):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale + bias
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = PairAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x, bias):
        x = x + self.attn(self.norm1(x), bias)
        return x + self.mlp(self.norm2(x))


class ParT(nn.Module):
    """A small particle transformer: node embedding Linear(2 + C -> E) ReLU Linear(E -> E) of
    cat(points, features); pair features ln max(ΔR_ij, 1e-8) and ln max(min(e_i, e_j)·ΔR_ij,
    1e-8) (e = feature channel 0, the energy or pT) embedded by 1x1 Conv(2 -> 16) ReLU
    Conv(16 -> heads) into an additive attention bias, plus -1e9 on padded keys; `depth`
    pre-norm blocks (LayerNorm eps 1e-5, attention, MLP with exact GELU); final LayerNorm,
    masked mean over the real nodes, head Linear(E -> 1), Sigmoid."""

    def __init__(self, channels=8, points=128, embed=64, depth=3, heads=4, mlp=256, pair=16):
        super().__init__()
        self.config = dict(arch="part", channels=channels, points=points, embed=embed,
                           depth=depth, heads=heads, mlp=mlp, pair=pair)
        self.embed = nn.Sequential(nn.Linear(2 + channels, embed), nn.ReLU(), nn.Linear(embed, embed))
        self.pair_embed = nn.Sequential(nn.Conv2d(2, pair, kernel_size=1), nn.ReLU(),
                                        nn.Conv2d(pair, heads, kernel_size=1))
        self.blocks = nn.ModuleList([Block(embed, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed)
        self.head = nn.Linear(embed, 1)

    def forward(self, points, features, mask):
        points = points * mask
        features = features * mask
        counts = torch.clamp(mask.sum(dim=-1), min=1)                       # N, 1
        x = self.embed(torch.cat((points, features), dim=1).transpose(1, 2))  # N, P, E
        d = points.unsqueeze(3) - points.unsqueeze(2)                       # N, 2, P, P
        dr = torch.sqrt((d * d).sum(dim=1, keepdim=True))                   # N, 1, P, P
        e = features[:, 0:1, :]
        kt = torch.min(e.unsqueeze(3), e.unsqueeze(2)) * dr
        u = torch.log(torch.clamp(torch.cat((dr, kt), dim=1), min=1e-8))    # N, 2, P, P
        bias = self.pair_embed(u) + ((mask - 1) * 1e9).unsqueeze(1)         # N, H, P, P
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.norm(x) * mask.transpose(1, 2)
        return torch.sigmoid(self.head(x.sum(dim=1) / counts))


def make_graph_module(config):
    cfg = dict(config)
    arch = cfg.pop("arch")
    if arch in ("pnet", "pnet_full"):
        return ParticleNet(**cfg)
    if arch == "dgcnn":
        cfg["conv1"], cfg["conv2"] = cfg.pop("conv")
        return DGCNN(**cfg)
    if arch == "part":
        return ParT(**cfg)
    raise ValueError(f"unknown graph architecture {arch}")


INPUTS = {"pnet": ["points", "features", "mask"], "dgcnn": ["points", "features", "mask", "seed"],
          "part": ["points", "features", "mask"]}


def graph_inputs(config, batch, seed=1234, n_real=None, pad=0.0, points=None):
    """Deterministic test inputs (numpy float32), in the graph input order: jets with
    different numbers of real nodes (n_real, or: graph 1 with none, graph 2 with 4, fewer
    than k + 1, the others random), Δη/Δφ within ±0.4, energies exponential (a few tens), the
    other channels normal; padded nodes hold `pad` times normal noise (the models must ignore
    it). `points` overrides config["points"]."""
    import numpy as np
    rng = np.random.default_rng(seed)
    C, P = config["channels"], points or config["points"]
    pts = np.zeros((batch, 2, P), np.float32)
    fts = np.zeros((batch, C, P), np.float32)
    mask = np.zeros((batch, 1, P), np.float32)
    for b in range(batch):
        n = n_real[b] if n_real else (0 if b == 1 else 4 if b == 2 else int(rng.integers(P // 4, P + 1)))
        pts[b, :, :n] = rng.uniform(-0.4, 0.4, (2, n))
        fts[b, 0, :n] = 10 * rng.exponential(1.0, n)
        if C > 1:
            fts[b, 1:, :n] = rng.normal(0, 1, (C - 1, n))
        mask[b, 0, :n] = 1
        if pad:
            pts[b, :, n:] = pad * rng.normal(0, 1, (2, P - n))
            fts[b, :, n:] = pad * rng.normal(0, 1, (C, P - n))
    out = [pts, fts, mask]
    if config["arch"] == "dgcnn":
        s = np.stack([rng.uniform(35, 800, batch), rng.uniform(-2.4, 2.4, batch),
                      rng.uniform(-math.pi, math.pi, batch)], 1).astype(np.float32)
        out.append(s)
    return out
