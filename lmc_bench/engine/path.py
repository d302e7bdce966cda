"""All points Θ(λ) of a linear path (Section III-D) evaluated as one stacked model."""

from __future__ import annotations

import torch

from ..config import RunSpec
from ..data.prepare import PreparedData
from ..interpolate import has_batch_norm, interpolate_state
from ..models import build_model
from ..train import evaluate_path
from .evaluation import evaluate_stack
from .fast import supports
from .stacked import StackedNetwork, stack_states


def evaluate_path_fast(spec: RunSpec, state_a, state_b, data: PreparedData, device) -> tuple[dict, torch.Tensor]:
    """Same output as :func:`lmc_bench.train.evaluate_path`: the path's losses and accuracies
    and the test log-probabilities (L x N x C). Θ(λ) are built by :func:`interpolate_state` (BatchNorm
    statistics interpolated) and evaluated together; "recompute" BatchNorm mode on a network with
    BatchNorm, and families without a stacked form, use the naive evaluation."""
    template = build_model(spec.model, spec.data.dataset)
    if not supports(spec) or (spec.eval.bn_mode == "recompute" and has_batch_norm(template)):
        return evaluate_path(spec, state_a, state_b, data, device)
    lambdas = list(spec.eval.lambdas)
    network = StackedNetwork(template, len(lambdas))
    network.body.load_state_dict(stack_states([interpolate_state(state_a, state_b, lam) for lam in lambdas]))
    network.to(device)
    test = evaluate_stack(network, data.test_x, data.test_y, device)
    path: dict[str, list[float]] = {"lambdas": lambdas, "test_loss": test.losses, "test_acc": test.accuracies}
    if spec.eval.on_train:
        for copy_index, name in ((0, "train_a"), (1, "train_b")):
            x, y = data.subset(copy_index)
            on_subset = evaluate_stack(network, x, y, device)
            path[f"{name}_loss"] = on_subset.losses
            path[f"{name}_acc"] = on_subset.accuracies
    return path, test.log_probs
