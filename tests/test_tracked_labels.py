"""Appendix B's label check reads the labels each engine actually trained on, not a recomputation."""

import pytest
import torch

from lmc_bench.config import DataSpec, RunSpec, TrainSpec
from lmc_bench.data.order import epoch_draws, tracked_labels
from lmc_bench.data.prepare import PreparedData, prepare_data
from lmc_bench.engine import train_pairs_fast
from lmc_bench.train import train_pair_naive


@pytest.fixture(scope="module")
def small() -> PreparedData:
    data = prepare_data(DataSpec())
    return PreparedData(data.train_x, data.train_y, data.subset_a[:200], data.subset_b[:200], data.test_x[:50], data.test_y[:50])


@pytest.mark.parametrize("noise", ["same", "different"])
@pytest.mark.parametrize("engine", ["naive", "fast"])
def test_recorded_labels_are_those_of_the_tracked_batch(small, engine, noise):
    spec = RunSpec("mlp_l1", train=TrainSpec(epochs=2, batch_size=16, noise=noise))
    train = {"naive": lambda: train_pair_naive(spec, small, "cpu"), "fast": lambda: train_pairs_fast([spec], small, "cpu")[0]}
    _, _, _, histories = train[engine]()
    for copy_index, (history, subset) in enumerate(zip(histories, (small.subset_a, small.subset_b))):
        draws = list(epoch_draws(len(subset), 2, noise, spec.seed, copy_index, False))
        for epoch in ("1", "2"):
            expected = tracked_labels(small.train_y[subset], draws[int(epoch) - 1].permutation, 16)
            assert history.tracked_labels[epoch] == expected
            assert len(expected) == 10
    same = histories[0].tracked_labels == histories[1].tracked_labels
    assert same is (noise == "same")
