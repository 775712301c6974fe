"""CompactNet: the small CNN of the trained taggers (models/trained, docs/trained-models.md).

The model takes the tagger's raw frame [N, C, H, W] as `e2e run` builds it and does its own
preprocessing, so nothing outside the ONNX file has to know it:

    x -> log(1 + |x| * scale_c)      (per-channel scale: GeV for ecal/hbhe/pt, 1/100 cm for
                                      d0/dz, hits for the pixel layers; the sign of d0/dz dropped)
      -> AveragePool k x k           (k = 1 for E/Gamma, 2 for quark/gluon, 4 for top and tau)
      -> Conv3x3(C->16) BN ReLU MaxPool2 -> Conv3x3(16->32) BN ReLU MaxPool2
      -> Conv3x3(32->32) BN ReLU   (BN: BatchNorm, folded into the Conv by the export)
      -> [GlobalAveragePool, GlobalMaxPool] -> Linear(64->32) ReLU -> Linear(32->1) Sigmoid

About 16 k parameters (65 kB of float32). `pre` and `body` are separate so that training
can apply `pre` once to the whole data set and train `body` alone.
"""
import torch
from torch import nn
import torch.nn.functional as F


class Pre(nn.Module):
    def __init__(self, scale, pool):
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32).view(1, -1, 1, 1))
        self.pool = pool

    def forward(self, x):
        x = torch.log(torch.abs(x) * self.scale + 1.0)
        return F.avg_pool2d(x, self.pool) if self.pool > 1 else x


class Body(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 1)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = torch.relu(self.bn3(self.conv3(x)))
        x = torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, 1)], 1)
        x = torch.flatten(x, 1)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x))))


class CompactNet(nn.Module):
    def __init__(self, scale, pool):
        super().__init__()
        self.pre = Pre(scale, pool)
        self.body = Body(len(scale))

    def forward(self, x):
        return self.body(self.pre(x))
