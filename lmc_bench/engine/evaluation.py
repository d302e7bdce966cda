"""Loss and accuracy of all models of a stack on one image set, in one pass per chunk of images
(the stacked counterpart of :func:`lmc_bench.train.evaluate`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..objectives import nll_loss_sum
from ..train import EVAL_BATCH_SIZE
from .stacked import StackedNetwork


@dataclass(frozen=True)
class StackEvaluation:
    """Per model: mean NLL, accuracy (percent), and log-probabilities (M x N x C, CPU)."""

    losses: list[float]
    accuracies: list[float]
    log_probs: torch.Tensor


@torch.no_grad()
def evaluate_stack(network: StackedNetwork, x: torch.Tensor, y: torch.Tensor, device) -> StackEvaluation:
    """Evaluate every model of ``network`` (eval mode) on the shared images ``x`` with labels ``y``;
    the reductions are those of :func:`lmc_bench.train.evaluate`, model by model. A pass takes
    ``EVAL_BATCH_SIZE`` images; for conv nets ``EVAL_BATCH_SIZE / M``, so that a pass holds as many
    feature maps as a naive pass does (an MLP's activations are small, and wide passes are faster)."""
    network.eval()
    chunk = max(1, EVAL_BATCH_SIZE // network.m) if network.channels_layout else EVAL_BATCH_SIZE
    outputs = []
    for start in range(0, len(x), chunk):
        outputs.append(network(x[start : start + chunk].to(device).unsqueeze(0)).float().cpu())
    log_probs = torch.cat(outputs, dim=1)
    losses = [nll_loss_sum(model_log_probs, y).item() / len(y) for model_log_probs in log_probs]
    accuracies = [100.0 * (model_log_probs.argmax(1) == y).double().mean().item() for model_log_probs in log_probs]
    return StackEvaluation(losses, accuracies, log_probs)
