"""Adam over stacked parameters, applied to each model's slice as to a tensor of its own.

``torch.optim.Adam`` on a stacked tensor is element-wise in exact arithmetic, but its kernels
are not position-independent in floating point: the fused CPU kernel computes a vectorised body
and a scalar tail (with different rounding), and parallel chunks place such tails wherever the
stacked tensor's length puts them. A model's update would then depend on how many models share
its stack. Here every stacked parameter, gradient and moment is handed to the same Adam kernels
as M per-model views, so each model is updated exactly as if it were trained alone.
"""

from __future__ import annotations

import torch
from torch.optim.adam import adam

FUSED_DEVICES = ("cpu", "cuda")
"""Devices with a fused Adam kernel (one pass over parameter, gradient and both moments)."""


class StackedAdam:
    """Adam (default betas and eps of ``torch.optim.Adam``, constant lr) for every model of a stack."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps = lr, betas, eps
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.contiguous_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.contiguous_format) for p in self.params]
        device = self.params[0].device
        models = self.params[0].shape[0]
        self.fused = device.type in FUSED_DEVICES
        step_device = device if self.fused else torch.device("cpu")
        self.steps = [torch.zeros((), dtype=torch.float32, device=step_device) for _ in range(models * len(self.params))]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @staticmethod
    def _per_model(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        return [view for tensor in tensors for view in tensor.unbind(0)]

    @torch.no_grad()
    def step(self) -> None:
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in self.params]
        adam(
            self._per_model(self.params), self._per_model(grads), self._per_model(self.exp_avgs),
            self._per_model(self.exp_avg_sqs), [], self.steps,
            foreach=False, fused=self.fused, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1],
            lr=self.lr, weight_decay=0.0, eps=self.eps, maximize=False,
        )
