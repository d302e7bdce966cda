"""Datasets, the shifts of Table II and the SGD-noise order of Algorithm 1."""

from .loading import DATASETS, load_dataset
from .order import EpochDraws, epoch_draws, tracked_labels
from .prepare import PreparedData, prepare_data
from .roots import CorruptDatasetError, DatasetNotFoundError
from .shifts import split_covariate_shift, split_label_imbalance

__all__ = [
    "CorruptDatasetError",
    "DATASETS",
    "DatasetNotFoundError",
    "EpochDraws",
    "PreparedData",
    "epoch_draws",
    "load_dataset",
    "prepare_data",
    "split_covariate_shift",
    "split_label_imbalance",
    "tracked_labels",
]
