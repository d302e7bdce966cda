"""VGG11 / VGG19 for CIFAR-10 and the VGG-like BigEarthNet network of Table V (Appendix C).

A configuration lists 3x3 convolutions (an int: output channels; padding 1, bias, then
BatchNorm2d and ReLU) and max-pools ("M": kernel 2, "M3": kernel 3). The head flattens the final
map and applies one Linear layer, followed by LogSoftmax for single-label data.

- VGG11 / VGG19 on 3x32x32 inputs, ``Linear(512, 10)``: 9,231,114 / 20,040,522 (Table V exactly).
- VGG-like (BigEarthNet, 19 labels, logits): convs 64-128-256-256 each followed by a pool
  (2, 2, 2, 3), so a 120x120 patch ends as a 256x5x5 map, then ``Linear(6400, 19)``.
  1 band at 120x120: 1,082,771 (Table V exactly); 3 bands at 120x120: 1,083,923.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg19": (
        64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
    ),
    "vgg_like": (64, "M", 128, "M", 256, "M", 256, "M3"),
}


def pool_kernel(token: str) -> int:
    """Kernel size of a pool token: "M" -> 2, "M3" -> 3."""
    return int(token[1:] or 2)


def final_map_size(config: Sequence[int | str], image_size: int) -> int:
    """Side of the feature map after the pools of ``config`` (floor division, as MaxPool2d)."""
    for token in config:
        if isinstance(token, str):
            image_size //= pool_kernel(token)
    return image_size


class VGG(nn.Module):
    """``features`` (Conv2d, BatchNorm2d, ReLU, MaxPool2d per ``config``) and ``head`` (Flatten,
    Linear, and LogSoftmax when ``log_softmax``)."""

    def __init__(
        self,
        config: Sequence[int | str],
        in_channels: int,
        n_classes: int,
        image_size: int,
        log_softmax: bool = True,
    ):
        super().__init__()
        side = final_map_size(config, image_size)
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for VGG config {list(config)}")
        layers: list[nn.Module] = []
        channels = in_channels
        for token in config:
            if isinstance(token, str):
                layers.append(nn.MaxPool2d(pool_kernel(token)))
            else:
                layers += [nn.Conv2d(channels, token, 3, padding=1), nn.BatchNorm2d(token), nn.ReLU()]
                channels = token
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(channels * side * side, n_classes)]
        if log_softmax:
            head.append(nn.LogSoftmax(dim=1))
        self.head = nn.Sequential(*head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
