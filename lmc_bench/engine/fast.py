"""Fast engine: both copies of every seed of one configuration trained as one stacked model.

Semantics follow the naive engine (:mod:`lmc_bench.train`, Algorithm 1 of Appendix B) model by
model: the same initial weights (the stack is built from :func:`build_initial_pair`), the same
per-epoch draws (:func:`epoch_draws` per copy), batch-mean NLL per model (summed over models for
one backward pass, so each model's gradient is its own), Adam(lr) per model (:class:`StackedAdam`
hands each model's slice to the Adam kernel as a tensor of its own), per-model BatchNorm
statistics, per-epoch test evaluation. A model's arithmetic does not depend on the other models
of its stack: two identical copies in one stack stay bit-identical.

What differs from the naive engine: floating-point summation order (batched matmuls, grouped
convolutions, the fused Adam kernel), and the dropout masks, which come from one generator per dropout seed on the device
instead of the global RNG (models sharing a seed still share masks, as under same SGD noise).

Families without a stacked form (``vgg_like``) are trained by :func:`train_pair_naive`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import RunSpec
from ..data.order import TRACKED_LABELS, epoch_draws, tracked_batch
from ..data.prepare import PreparedData
from ..models import model_info
from ..train import History, build_initial_pair, train_pair_naive, training_autocast
from .evaluation import evaluate_stack
from .feed import block_count, epoch_feed, load_batch
from .optim import StackedAdam
from .stacked import StackedNetwork, stack_models, unstack_models

STACKED_FAMILIES = ("mlp", "resnet", "vgg")
"""Model families with a stacked form (single-label networks ending in LogSoftmax)."""


def supports(spec: RunSpec) -> bool:
    """Whether the fast engine stacks ``spec``'s model (otherwise it falls back to the naive one)."""
    info = model_info(spec.model, spec.data.dataset)
    return info["family"] in STACKED_FAMILIES and not info["multi_label"]


@dataclass(frozen=True)
class Member:
    """One model of a stack: copy ``copy_index`` (0 = A, 1 = B) of run ``spec``, at its initial weights."""

    spec: RunSpec
    copy_index: int
    model: nn.Module


def make_optimizer(network: StackedNetwork, lr: float) -> StackedAdam:
    """Adam over the stacked parameters, each model's slice updated as a tensor of its own (the
    fused kernel where one exists: CPU, CUDA)."""
    return StackedAdam(network.parameters(), lr=lr)


def train_stack_epoch(network, optimizer, feed, train_x, train_y, batch_size: int, precision: str):
    """One epoch of every model of the stack; per model, mean training loss and accuracy (percent),
    accumulated as :func:`lmc_bench.train.train_epoch` does, and the first labels of the tracked
    batch as each model received them (Appendix B's check)."""
    network.train()
    m, n = network.m, feed.index.shape[1]
    loss_sum = torch.zeros(m, dtype=torch.float64, device=feed.index.device)
    correct = torch.zeros(m, dtype=torch.int64, device=feed.index.device)
    watched, seen = tracked_batch(n, batch_size), None
    for step, (index, flips) in enumerate(feed.batches(batch_size)):
        images, labels = load_batch(train_x, train_y, index, flips, m)
        if step == watched:
            seen = labels[:, :TRACKED_LABELS].tolist()
        with training_autocast(precision, train_x.device):
            log_probs = network(images).float()
        batch = labels.shape[1]
        losses = F.nll_loss(log_probs.flatten(0, 1), labels.flatten(), reduction="none").view(m, batch).mean(1)
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()
        loss_sum += losses.detach().double() * batch
        correct += (log_probs.argmax(-1) == labels).sum(1)
    return (loss_sum / n).tolist(), (100.0 * correct.double() / n).tolist(), seen


def train_stack(members: list[Member], data: PreparedData, device, progress=None) -> tuple[list[nn.Module], list[History]]:
    """Train ``members`` (one subset length, one training spec) together for ``epochs`` epochs.

    Returns the trained models (unstacked, on ``device``) and their histories, in member order."""
    device = torch.device(device)
    train = members[0].spec.train
    subsets = [data.subset_a if member.copy_index == 0 else data.subset_b for member in members]
    if len({len(subset) for subset in subsets}) != 1:
        raise ValueError("a stack trains on subsets of one length")
    n = len(subsets[0])
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    network = stack_models([member.model for member in members]).to(device)
    optimizer = make_optimizer(network, train.lr)
    streams = [
        epoch_draws(n, train.epochs, train.noise, member.spec.seed, member.copy_index, member.spec.data.flip)
        for member in members
    ]
    histories = [History() for _ in members]
    for epoch in range(train.epochs):
        draws = [next(stream) for stream in streams]
        if network.has_dropout:
            seeds = [d.dropout_seed for d in draws]
            network.dropout.reseed(seeds, block_count(len(seeds), lambda i, j: seeds[i] == seeds[j]), device)
        feed = epoch_feed(draws, subsets, device)
        train_losses, train_accs, seen = train_stack_epoch(network, optimizer, feed, train_x, train_y, train.batch_size, train.precision)
        if epoch in (0, train.epochs - 1):
            for history, labels in zip(histories, seen):
                history.tracked_labels[str(epoch + 1)] = labels
        test = evaluate_stack(network, data.test_x, data.test_y, device)
        for i, history in enumerate(histories):
            history.train_loss.append(train_losses[i])
            history.train_acc.append(train_accs[i])
            history.test_loss.append(test.losses[i])
            history.test_acc.append(test.accuracies[i])
        if progress is not None:
            progress.update(len(members))
    return unstack_models(network, [member.model for member in members]), histories


def check_stackable(specs: list[RunSpec]) -> None:
    """All specs must differ in the seed only (model, data, train and eval specs shared)."""
    if not specs:
        raise ValueError("train_pairs_fast needs at least one spec")
    first = specs[0]
    for spec in specs[1:]:
        for part in ("model", "data", "train", "eval"):
            if getattr(spec, part) != getattr(first, part):
                raise ValueError(
                    f"specs stacked together may differ in the seed only; {part} differs: "
                    f"{getattr(first, part)!r} vs {getattr(spec, part)!r}"
                )
    seeds = [spec.seed for spec in specs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"specs stacked together need distinct seeds, got {seeds}")


def train_pairs_fast(specs: list[RunSpec], data: PreparedData, device, progress=None):
    """For each spec, what :func:`lmc_bench.train.train_pair_naive` returns: (Θ0 of copy A on the
    CPU, trained model A, trained model B, (history A, history B)).

    All copies of all specs form one stack when the two subsets have one length (covariate shift,
    no shift), else one stack per subset (label imbalance)."""
    check_stackable(specs)
    if not supports(specs[0]):
        return [train_pair_naive(spec, data, device, progress) for spec in specs]
    pairs = [build_initial_pair(spec) for spec in specs]
    initials = [{k: v.detach().clone() for k, v in model_a.state_dict().items()} for model_a, _ in pairs]
    members = [Member(spec, c, pair[c]) for c in (0, 1) for spec, pair in zip(specs, pairs)]
    if len(data.subset_a) == len(data.subset_b):
        stacks = [members]
    else:
        stacks = [[member for member in members if member.copy_index == c] for c in (0, 1)]
    trained: dict[tuple[int, int], tuple[nn.Module, History]] = {}
    for stack in stacks:
        models, histories = train_stack(stack, data, device, progress)
        for member, model, history in zip(stack, models, histories):
            trained[member.spec.seed, member.copy_index] = (model, history)
    results = []
    for spec, initial in zip(specs, initials):
        (model_a, history_a), (model_b, history_b) = trained[spec.seed, 0], trained[spec.seed, 1]
        results.append((initial, model_a, model_b, (history_a, history_b)))
    return results
