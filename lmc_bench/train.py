"""Reference ("naive") engine: train the two copies one after the other, as Algorithm 1 does.

One model at a time, batches from a ``torch.utils.data.DataLoader`` visiting the subset in the
order that :func:`lmc_bench.data.order.epoch_draws` prescribes. It is the engine the fast engine
is checked against, so it stays plain. Loss and score follow the labels (:mod:`lmc_bench.objectives`:
NLL and accuracy, or BCE with logits and weighted AP for BigEarthNet's multi-hot labels); images are
a tensor, or BigEarthNet's memory-mapped image set read batch by batch.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field

import torch
from torch.utils.data import DataLoader, TensorDataset

from .config import RunSpec
from .data.order import TRACKED_LABELS, EpochDraws, epoch_draws, tracked_batch
from .data.prepare import PreparedData
from .interpolate import has_batch_norm, interpolate_state, recompute_batch_norm
from .models import build_model
from .objectives import EpochScore, batch_loss, is_multi_label, loss_and_score

EVAL_BATCH_SIZE = 1000


def init_seed(spec: RunSpec, copy_index: int) -> int:
    """Seed of a copy's initialisation: shared init builds B as a deep copy of A (Algorithm 1);
    independent init (Fig. 6) builds B under ``seed + 100``."""
    return spec.seed if (spec.train.init == "shared" or copy_index == 0) else spec.seed + 100


def build_initial_pair(spec: RunSpec) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Θ0 built under the run's seed, and its deep copy (or an independently seeded second net)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed(spec, 0))
        model_a = build_model(spec.model, spec.data.dataset, **spec.data.model_overrides())
    if spec.train.init == "shared":
        return model_a, copy.deepcopy(model_a)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed(spec, 1))
        return model_a, build_model(spec.model, spec.data.dataset, **spec.data.model_overrides())


def image_chunks(x, size: int):
    """``x`` in order, ``size`` images at a time: slices of a tensor, or the memory-mapped image set's loader."""
    if isinstance(x, torch.Tensor):
        return (x[start : start + size] for start in range(0, len(x), size))
    return x.in_order(size)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> tuple[float, float, torch.Tensor]:
    """Mean loss, score in percent (accuracy, or weighted AP for multi-label data), and the outputs
    (CPU: log-probabilities, or logits) of ``model`` on (x, y)."""
    model.eval()
    outputs = []
    for images in image_chunks(x, EVAL_BATCH_SIZE):
        outputs.append(model(images.to(device)).float().cpu())
    log_probs = torch.cat(outputs)
    loss, score = loss_and_score(log_probs, y)
    return loss, score, log_probs


@dataclass
class History:
    """Per-epoch learning curves of one copy (losses are mean NLL, accuracies percent; for
    multi-label data mean BCE with logits and weighted AP in percent)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    tracked_labels: dict[str, list[int]] = field(default_factory=dict)


def training_autocast(precision: str, device) -> contextlib.AbstractContextManager:
    """Autocast for the forward pass of a training step: none for "fp32", bfloat16 for "bf16"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def apply_flips(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Horizontally flip the images whose flag is set (random horizontal flip, CIFAR-10)."""
    return torch.where(flips.view(-1, 1, 1, 1), images.flip(-1), images)


def epoch_batches(x, y: torch.Tensor, order: list[int], batch_size: int):
    """(images, labels) batches visiting the subset in ``order``, the last partial batch kept: a
    DataLoader over the tensors, or the memory-mapped image set's own loader."""
    if isinstance(x, torch.Tensor):
        return DataLoader(TensorDataset(x, y), batch_size=batch_size, sampler=order, drop_last=False)
    return x.batches(y, order, batch_size)


def train_epoch(model, optimizer, x, y, draws: EpochDraws, batch_size: int, device, precision: str) -> tuple[float, float, list]:
    """One epoch over the subset in the drawn order; returns mean training loss and score, and the
    first labels of the tracked batch as the loader delivered them (Appendix B's check)."""
    model.train()
    torch.manual_seed(draws.dropout_seed)
    order = draws.permutation.tolist()
    loss_sum, position = 0.0, 0
    score = EpochScore(is_multi_label(y))
    watched, seen = tracked_batch(len(y), batch_size), []
    for step, (images, labels) in enumerate(epoch_batches(x, y, order, batch_size)):
        if step == watched:
            seen = labels[:TRACKED_LABELS].tolist()
        if draws.flips is not None:
            images = apply_flips(images, draws.flips[position : position + len(labels)])
        position += len(labels)
        images, labels = images.to(device), labels.to(device)
        with training_autocast(precision, device):
            log_probs = model(images).float()
        loss = batch_loss(log_probs, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(labels)
        score.add(log_probs, labels)
    return loss_sum / len(y), score.percent(len(y)), seen


def train_copy(model, spec: RunSpec, data: PreparedData, copy_index: int, device, progress=None) -> History:
    """Train one copy on its subset with Adam (constant lr) for ``spec.train.epochs`` epochs."""
    x, y = data.subset(copy_index)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.train.lr)
    history = History()
    draws_per_epoch = epoch_draws(len(y), spec.train.epochs, spec.train.noise, spec.seed, copy_index, spec.data.flip)
    for epoch, draws in enumerate(draws_per_epoch):
        train_loss, train_acc, seen = train_epoch(model, optimizer, x, y, draws, spec.train.batch_size, device, spec.train.precision)
        if epoch in (0, spec.train.epochs - 1):
            history.tracked_labels[str(epoch + 1)] = seen
        test_loss, test_acc, _ = evaluate(model, data.test_x, data.test_y, device)
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_loss.append(test_loss)
        history.test_acc.append(test_acc)
        if progress is not None:
            progress.update(1)
    return history


def train_pair_naive(spec: RunSpec, data: PreparedData, device, progress=None):
    """Θ0, the two trained copies and their histories (Algorithm 1, one copy after the other)."""
    model_a, model_b = build_initial_pair(spec)
    initial = {k: v.detach().clone() for k, v in model_a.state_dict().items()}
    model_a.to(device)
    model_b.to(device)
    history_a = train_copy(model_a, spec, data, 0, device, progress)
    history_b = train_copy(model_b, spec, data, 1, device, progress)
    return initial, model_a, model_b, (history_a, history_b)


def evaluate_path(spec: RunSpec, state_a, state_b, data: PreparedData, device) -> tuple[dict, torch.Tensor]:
    """Loss and accuracy (weighted AP for multi-label data) of every Θ(λ) on the test set (and the
    training subsets when asked), plus the test outputs of all λ points (L x N x C)."""
    model = build_model(spec.model, spec.data.dataset, **spec.data.model_overrides()).to(device)
    recompute = spec.eval.bn_mode == "recompute" and has_batch_norm(model)
    union_x = data.train_x[torch.cat([data.subset_a, data.subset_b]).unique()] if recompute else None
    path: dict[str, list[float]] = {"lambdas": list(spec.eval.lambdas), "test_loss": [], "test_acc": []}
    if spec.eval.on_train:
        for key in ("train_a_loss", "train_a_acc", "train_b_loss", "train_b_acc"):
            path[key] = []
    all_log_probs = []
    for lam in spec.eval.lambdas:
        model.load_state_dict(interpolate_state(state_a, state_b, lam))
        if recompute:
            recompute_batch_norm(model, union_x, device)
        loss, acc, log_probs = evaluate(model, data.test_x, data.test_y, device)
        path["test_loss"].append(loss)
        path["test_acc"].append(acc)
        all_log_probs.append(log_probs)
        if spec.eval.on_train:
            for copy_index, name in ((0, "train_a"), (1, "train_b")):
                x, y = data.subset(copy_index)
                loss, acc, _ = evaluate(model, x, y, device)
                path[f"{name}_loss"].append(loss)
                path[f"{name}_acc"].append(acc)
    return path, torch.stack(all_log_probs)
