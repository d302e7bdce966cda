"""Layers of M independent networks evaluated as one ("stacked") module.

Every stacked parameter or buffer has a leading model axis of size M and keeps the name of the
layer it replaces, so a stacked state dict is the per-model state dicts stacked along dim 0.

Two activation layouts are used:

- feature-major ``(M, F, B)`` for fully connected parts: one batched matmul ``W @ h`` per layer,
  whose weight gradient ``dy @ h^T`` comes out in the weight's own layout (no transposing copy);
  BatchNorm1d sees ``(1, M*F, B)``, i.e. statistics per model and feature over the batch;
- channel-stacked ``(B, M*C, H, W)`` for convolutional parts: model m owns channels
  ``[m*C, (m+1)*C)``, convolutions are per model (grouped on CUDA) and BatchNorm runs over M*C
  channels, so statistics stay per model while pooling and ReLU apply unchanged.

Inputs may be shared by blocks of models: the first layer then receives G <= M input rows
(feature-major ``(G, F, B)``, or ``G*C`` channels), where the M/G consecutive models of block g
read input g (under same SGD noise, Algorithm 1, all copies on one subset see the same batch).

Every model computes with tensors of its own shape only: a shared input is broadcast to the
models of its block (an expanded view for matmuls, repeated channels for convolutions) rather
than multiplied by the block's weights as one wide matrix, whose rounding would depend on a
model's position in the stack. Two identical copies in one stack therefore stay bit-identical.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _stacked_empty(m: int, tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty((m, *tensor.shape), dtype=tensor.dtype, device=tensor.device)


class StackedLinear(nn.Module):
    """M ``nn.Linear`` layers on feature-major input ``(G, in, B)`` -> ``(M, out, B)``."""

    def __init__(self, layer: nn.Linear, m: int):
        super().__init__()
        self.weight = nn.Parameter(_stacked_empty(m, layer.weight))
        self.bias = nn.Parameter(_stacked_empty(m, layer.bias)) if layer.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.weight.shape[0]
        groups, features, batch = x.shape
        if groups != m:
            x = x.unsqueeze(1).expand(groups, m // groups, features, batch).reshape(m, features, batch)
        if self.bias is None:
            return torch.bmm(self.weight, x)
        return torch.baddbmm(self.bias.unsqueeze(2), self.weight, x)


class StackedConv2d(nn.Module):
    """M ``nn.Conv2d`` layers (groups=1) on channel-stacked input.

    On CUDA one grouped convolution (one kernel launch for all models). On the CPU one
    convolution per model: oneDNN picks its algorithm by the group count, so a grouped convolution
    would round each model differently depending on how many models share the stack (and costs
    only ~20 % less there)."""

    def __init__(self, layer: nn.Conv2d, m: int):
        super().__init__()
        if layer.groups != 1 or layer.padding_mode != "zeros":
            raise NotImplementedError("only ungrouped, zero-padded convolutions can be stacked")
        self.weight = nn.Parameter(_stacked_empty(m, layer.weight))
        self.bias = nn.Parameter(_stacked_empty(m, layer.bias)) if layer.bias is not None else None
        self.in_channels = layer.in_channels
        self.stride, self.padding, self.dilation = layer.stride, layer.padding, layer.dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.weight.shape[0]
        batch, channels, height, width = x.shape
        groups = channels // self.in_channels
        if x.device.type == "cpu":
            inputs = x.view(batch, groups, self.in_channels, height, width)
            outputs = [
                F.conv2d(inputs[:, i * groups // m].contiguous(), self.weight[i],
                         None if self.bias is None else self.bias[i], self.stride, self.padding, self.dilation)
                for i in range(m)
            ]
            return torch.cat(outputs, dim=1)
        if groups != m:
            x = (x.view(batch, groups, 1, self.in_channels, height, width)
                 .expand(batch, groups, m // groups, self.in_channels, height, width)
                 .reshape(batch, m * self.in_channels, height, width))
        bias = None if self.bias is None else self.bias.flatten()
        return F.conv2d(x, self.weight.flatten(0, 1), bias, self.stride, self.padding, self.dilation, m)


class StackedBatchNorm(nn.Module):
    """M BatchNorm layers (training statistics and running statistics per model) on
    channel-stacked ``(B, M*C, H, W)`` or feature-major ``(M, C, B)`` input."""

    def __init__(self, layer: nn.modules.batchnorm._BatchNorm, m: int):
        super().__init__()
        if not (layer.affine and layer.track_running_stats) or layer.momentum is None:
            raise NotImplementedError("only affine BatchNorm with running statistics and a momentum can be stacked")
        self.weight = nn.Parameter(_stacked_empty(m, layer.weight))
        self.bias = nn.Parameter(_stacked_empty(m, layer.bias))
        self.register_buffer("running_mean", _stacked_empty(m, layer.running_mean))
        self.register_buffer("running_var", _stacked_empty(m, layer.running_var))
        self.register_buffer("num_batches_tracked", _stacked_empty(m, layer.num_batches_tracked))
        self.momentum, self.eps = layer.momentum, layer.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        if x.dim() == 3:
            x = x.reshape(1, shape[0] * shape[1], shape[2])
        if self.training:
            self.num_batches_tracked.add_(1)
        y = F.batch_norm(
            x, self.running_mean.view(-1), self.running_var.view(-1), self.weight.view(-1), self.bias.view(-1),
            self.training, self.momentum, self.eps,
        )
        return y.view(shape)


class DropoutNoise:
    """Dropout masks of one epoch: one generator per block of consecutive models sharing a dropout
    seed (Algorithm 1's per-epoch ``dropout_seed``), so copies under same SGD noise share masks."""

    def __init__(self):
        self.generators: list[torch.Generator] = []

    def reseed(self, seeds: list[int], blocks: int, device: torch.device) -> None:
        per_block = len(seeds) // blocks
        self.generators = [torch.Generator(device).manual_seed(seeds[g * per_block]) for g in range(blocks)]

    def scaled_masks(self, shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
        """``(blocks, *shape)`` keep-masks divided by 1 - p (as ``F.dropout`` scales)."""
        keep = 1.0 - p
        masks = [torch.empty(shape, device=device).bernoulli_(keep, generator=g) for g in self.generators]
        return torch.stack(masks).div_(keep)


class StackedDropout(nn.Module):
    """Dropout on feature-major activations with per-block masks from :class:`DropoutNoise`."""

    def __init__(self, p: float, noise: DropoutNoise):
        super().__init__()
        self.p, self.noise = p, noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        masks = self.noise.scaled_masks(x.shape[1:], self.p, x.device)
        blocks = masks.shape[0]
        return (x.reshape(blocks, -1, *x.shape[1:]) * masks.unsqueeze(1)).view(x.shape)


class FeatureMajorFlatten(nn.Module):
    """``nn.Flatten`` of an MLP on grouped images ``(G, B, C, H, W)`` -> ``(G, C*H*W, B)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class ChannelsToFeatureMajor(nn.Module):
    """``nn.Flatten`` before a conv net's head: ``(B, M*C, H, W)`` -> ``(M, C*H*W, B)``, each
    model's features in the order ``nn.Flatten`` gives them."""

    def __init__(self, m: int):
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.m, -1).permute(1, 2, 0)
