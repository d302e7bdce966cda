"""Ensemble summaries (Section IV-I, Appendix E) from the members' log-probabilities."""

import numpy as np
import pytest
import torch

from lmc_bench.ensembles import ensemble_summary

# Appendix E: rows are samples, columns are models M1..M5.
APPENDIX_E_P = [[2, 2, 2, 2, 2], [6, 6, 7, 8, 8], [5, 5, 1, 12, 3]]
APPENDIX_E_G = [1, 7, 5]
N_CLASSES = 13


def log_probs_of(predictions, n_classes: int = N_CLASSES) -> torch.Tensor:
    """(M, N, C) log-probabilities whose argmax is ``predictions`` (M x N): 0.9 on the predicted
    class, the rest spread evenly."""
    predictions = torch.as_tensor(predictions)
    probabilities = torch.full((*predictions.shape, n_classes), 0.1 / (n_classes - 1), dtype=torch.float64)
    probabilities.scatter_(-1, predictions.unsqueeze(-1), 0.9)
    return probabilities.log()


def test_appendix_e_worked_example():
    predictions = np.array(APPENDIX_E_P).T  # (models, samples)
    summary = ensemble_summary(log_probs_of(predictions), torch.tensor(APPENDIX_E_G))
    assert summary["wa"] == pytest.approx(0.4)
    assert summary["wd"] == pytest.approx(7 / 30)
    # votes: all say 2 (label 1); 6 and 8 tie, the smaller wins (label 7); 5 wins (label 5)
    assert summary["vote_acc"] == pytest.approx(100 / 3)


def test_wrong_agreement_and_disagreement_are_not_interchangeable():
    """Two models, four samples: both wrong and equal twice, both wrong and different once."""
    predictions = [[1, 1, 0, 2], [1, 2, 0, 2]]
    summary = ensemble_summary(log_probs_of(predictions, 3), torch.tensor([0, 0, 0, 0]))
    assert (summary["wa"], summary["wd"]) == (0.5, 0.25)
    assert summary["vote_acc"] == summary["average_acc"] == 25.0
