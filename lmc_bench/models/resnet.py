"""ResNet10 / ResNet22 of Table V (Appendix C), as reconstructed from the parameter counts.

Stem: 3x3 conv ``in -> 16`` (no bias), BN, ReLU. Three stages of :class:`BasicBlock` with widths
32, 64, 128 and 1 (ResNet10) or 3 (ResNet22) blocks each; the first block of stages 2 and 3 has
stride 2. Head: global average pooling, ``Linear(128, n_classes)``, LogSoftmax. Counts: ResNet10
303,866 (1 channel) / 304,154 (3 channels); ResNet22 1,079,802 / 1,080,090 (Table V exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class BasicBlock(nn.Module):
    """Two 3x3 convs (no bias), each followed by BN; ReLU after the first and after the residual
    add. ``shortcut`` is a 1x1 conv (no bias) + BN where width or stride changes, else empty."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet(nn.Module):
    """``stem`` (conv, BN, ReLU), ``stages`` (a Sequential of Sequentials of BasicBlocks) and
    ``head`` (AdaptiveAvgPool2d(1), Flatten, Linear, LogSoftmax)."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        blocks_per_stage: int,
        stem_width: int = 16,
        widths: Sequence[int] = (32, 64, 128),
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_width, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        in_planes = stem_width
        for index, planes in enumerate(widths):
            blocks = []
            for block in range(blocks_per_stage):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(in_planes, planes, stride))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_planes, n_classes), nn.LogSoftmax(dim=1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.stem(x)))
