"""SimpleNet in PyTorch: the layout of the public E/Gamma model and of `e2e models`.

Conv3x3(C->16, pad 1) ReLU MaxPool2, Conv3x3(16->32, pad 1) ReLU MaxPool2, flatten,
Linear(->128) ReLU, Linear(128->64) ReLU, Linear(64->1), Sigmoid. Attribute names
conv1/conv2/fc1/fc2/fc3 are those of the real model's initializers.
"""
import torch
from torch import nn


class SimpleNet(nn.Module):
    def __init__(self, channels=1, height=32, width=32):
        super().__init__()
        self.config = dict(arch="simplenet", channels=channels, height=height, width=width)
        self.conv1 = nn.Conv2d(channels, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * (height // 4) * (width // 4), 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 1)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        # x.view(-1, C*H*W) as in the real model: exports the Shape/Gather/Mul/Concat/Reshape
        # chain that the engine folds at session creation.
        x = x.view(-1, x.size(1) * x.size(2) * x.size(3))
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return torch.sigmoid(self.fc3(x))
