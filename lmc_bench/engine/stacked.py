"""M networks of one architecture as one module (Appendix B protocol, many runs at once).

:func:`stack_models` copies the naive engine's models bit for bit into a :class:`StackedNetwork`;
:func:`unstack_models` gives them back as ordinary modules of the original class. The stacked
network reuses the original containers' ``forward`` (``nn.Sequential``, ``BasicBlock``,
``ResNet``, ``VGG``) with each leaf layer replaced by its stacked counterpart (:mod:`.layers`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .layers import (
    ChannelsToFeatureMajor,
    DropoutNoise,
    FeatureMajorFlatten,
    StackedBatchNorm,
    StackedConv2d,
    StackedDropout,
    StackedLinear,
)

_UNCHANGED = (nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.Identity, nn.Sequential)
"""Layers that act per channel (channel-stacked layout) or per element, so apply to M models as is
(an ``nn.Sequential`` reaches this point only when empty: ResNet's identity shortcut)."""


def _stacked_leaf(layer: nn.Module, m: int, channels_layout: bool, noise: DropoutNoise) -> nn.Module:
    if isinstance(layer, nn.Linear):
        return StackedLinear(layer, m)
    if isinstance(layer, nn.Conv2d):
        return StackedConv2d(layer, m)
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return StackedBatchNorm(layer, m)
    if isinstance(layer, nn.Dropout) and not channels_layout:
        return StackedDropout(layer.p, noise)
    if isinstance(layer, nn.Flatten):
        return ChannelsToFeatureMajor(m) if channels_layout else FeatureMajorFlatten()
    if isinstance(layer, nn.LogSoftmax) and layer.dim == 1:
        return layer
    if isinstance(layer, _UNCHANGED):
        return layer
    raise NotImplementedError(f"no stacked form of {type(layer).__name__}")


def _convert(module: nn.Module, m: int, channels_layout: bool, noise: DropoutNoise) -> None:
    """Replace, in place, every leaf layer below ``module`` by its stacked form."""
    for name, child in module.named_children():
        if next(child.children(), None) is None:
            setattr(module, name, _stacked_leaf(child, m, channels_layout, noise))
        else:
            if next(child.parameters(recurse=False), None) is not None:
                raise NotImplementedError(f"container {type(child).__name__} holds parameters of its own")
            _convert(child, m, channels_layout, noise)


class StackedNetwork(nn.Module):
    """M copies of ``template``'s architecture; ``body`` has the template's state-dict keys with a
    leading model axis. Input ``(G, B, C, H, W)`` (G divides M; block g of M/G consecutive models
    reads image row g), output ``(M, B, n_classes)`` (a view of the feature-major ``(M, n_classes, B)``)."""

    def __init__(self, template: nn.Module, m: int):
        super().__init__()
        self.m = m
        self.channels_layout = any(isinstance(layer, nn.Conv2d) for layer in template.modules())
        self.dropout = DropoutNoise()
        body = copy.deepcopy(template)
        _convert(body, m, self.channels_layout, self.dropout)
        self.body = body

    @property
    def has_dropout(self) -> bool:
        return any(isinstance(layer, StackedDropout) for layer in self.body.modules())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_layout:
            groups, batch = x.shape[:2]
            x = x.transpose(0, 1).reshape(batch, groups * x.shape[2], *x.shape[3:])
        return self.body(x).transpose(1, 2)


def stack_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Per-model state dicts stacked along a new leading model axis."""
    return {key: torch.stack([state[key] for state in states]) for key in states[0]}


def stack_models(models: list[nn.Module]) -> StackedNetwork:
    """A stacked network holding exactly the parameters and buffers of ``models``, on their device."""
    network = StackedNetwork(models[0], len(models))
    network.body.load_state_dict(stack_states([model.state_dict() for model in models]))
    return network


def unstack_models(network: StackedNetwork, templates: list[nn.Module]) -> list[nn.Module]:
    """Model i of the stack as a copy of ``templates[i]`` (same class) with the stacked values,
    on the stack's device."""
    state = network.body.state_dict()
    device = next(network.parameters()).device
    models = []
    for index, template in enumerate(templates):
        model = copy.deepcopy(template).to(device)
        model.load_state_dict({key: value[index] for key, value in state.items()})
        models.append(model)
    return models
