"""Loss and score of network outputs, chosen by the kind of labels (Section III-D, Appendix C).

- Single-label data (int64 class indices, MNIST, CIFAR-10): the networks output log-probabilities;
  loss = negative log-likelihood, score = accuracy in percent.
- Multi-label data (float32 multi-hot rows, BigEarthNet): the network outputs logits; loss = binary
  cross-entropy with logits averaged over samples and classes (``BCEWithLogitsLoss``'s default),
  score = weighted average precision in percent (:func:`lmc_bench.metrics.weighted_average_precision`),
  so Δ of Eq. (2) is in weighted-AP points and the barrier of Eq. (1) is on the BCE loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .metrics import weighted_average_precision


def is_multi_label(labels: torch.Tensor) -> bool:
    """Multi-hot label rows (N x C) rather than class indices (N)."""
    return labels.ndim == 2


def nll_loss_sum(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(log_probs, targets, reduction="sum")


def batch_loss(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean loss of a training batch (the quantity each step minimises)."""
    if is_multi_label(labels):
        return F.binary_cross_entropy_with_logits(outputs, labels)
    return F.nll_loss(outputs, labels)


def loss_and_score(outputs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean loss and score (percent) of ``outputs`` on a whole image set."""
    if is_multi_label(labels):
        loss = F.binary_cross_entropy_with_logits(outputs.double(), labels.double()).item()
        return loss, 100.0 * weighted_average_precision(outputs, labels)
    loss = nll_loss_sum(outputs, labels).item() / len(labels)
    return loss, 100.0 * (outputs.argmax(1) == labels).double().mean().item()


class EpochScore:
    """Running score of one training epoch: correct predictions counted (single-label), or every
    batch's outputs kept for the weighted AP of the epoch (multi-label)."""

    def __init__(self, multi_label: bool):
        self.multi_label = multi_label
        self.correct = 0
        self.outputs: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def add(self, outputs: torch.Tensor, labels: torch.Tensor) -> None:
        if self.multi_label:
            self.outputs.append(outputs.detach().float().cpu())
            self.labels.append(labels.cpu())
        else:
            self.correct += (outputs.argmax(1) == labels).sum().item()

    def percent(self, n: int) -> float:
        if self.multi_label:
            return 100.0 * weighted_average_precision(torch.cat(self.outputs), torch.cat(self.labels))
        return 100.0 * self.correct / n
