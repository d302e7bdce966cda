"""Ensembles of Section IV-I (Table III): models sampled along one linear path ("LMC ensemble")
versus models trained from different initialisations ("different-seed ensemble")."""

from __future__ import annotations

import numpy as np
import torch

from .metrics import ensemble_accuracy, wrong_agreement_disagreement


def ensemble_summary(log_probs: torch.Tensor, labels: torch.Tensor) -> dict:
    """WA, WD (Appendix E) and majority-vote / averaged-prediction accuracy (%) of an ensemble
    given its members' test log-probabilities (M x N x C)."""
    probabilities = log_probs.double().exp().numpy()
    labels = labels.numpy()
    wa, wd = wrong_agreement_disagreement(probabilities.argmax(-1), labels)
    return {
        "wa": wa,
        "wd": wd,
        "vote_acc": 100 * ensemble_accuracy(probabilities, labels, rule="vote"),
        "average_acc": 100 * ensemble_accuracy(probabilities, labels, rule="average"),
    }


def lmc_ensembles(path_log_probs: list[torch.Tensor], labels: torch.Tensor) -> dict:
    """One ensemble per seed from the models Θ(λ) of its path; mean and std over seeds."""
    per_seed = [ensemble_summary(lp, labels) for lp in path_log_probs]
    return {k: [float(np.mean([s[k] for s in per_seed])), float(np.std([s[k] for s in per_seed], ddof=1))] for k in per_seed[0]}


def different_seed_ensembles(path_log_probs: list[torch.Tensor], labels: torch.Tensor) -> dict:
    """Two ensembles of the endpoints across seeds: all Θ_A (subset 1), all Θ_B (subset 2);
    their mean (the paper averages its different-seed results over 2 ensembles)."""
    members = [torch.stack([lp[index] for lp in path_log_probs]) for index in (0, -1)]
    summaries = [ensemble_summary(m, labels) for m in members]
    return {k: float(np.mean([s[k] for s in summaries])) for k in summaries[0]}
