"""Same vs different SGD noise (Appendix B, Algorithm 1): the label check of the paper.

Under the class-aligned 50/50 split and *same* noise, the first 10 labels of batch 10 are
identical for copies A and B in epochs 1 and 20; under *different* noise they differ. Without a
data shift, a pair trained under same noise is bit-identical and one under different noise is not.
"""

from __future__ import annotations

import pytest
import torch

from fixtures.formats import random_images, write_torchvision_idx_root
from lmc_bench.config import PAPER_SEEDS, DataSpec, RunSpec, TrainSpec
from lmc_bench.data import epoch_draws, load_dataset, split_covariate_shift, tracked_labels
from lmc_bench.data.order import DIFFERENT_NOISE_OFFSET, TRACKED_LABELS
from lmc_bench.data.prepare import prepare_data
from lmc_bench.train import train_pair_naive

EPOCHS = 20
CHECKED_EPOCHS = (0, EPOCHS - 1)
"""Epochs 1 and 20 of Appendix B (0-based)."""


@pytest.fixture(scope="module")
def bundled_subsets():
    """Labels of the two 50/50 subsets of the bundled MNIST sample, batch size 32."""
    _, labels = load_dataset("mnist_bundled", train=True)
    return _subset_labels(labels), 32


@pytest.fixture(scope="module")
def fixture_subsets(tmp_path_factory):
    """Labels of the two 50/50 subsets of a tiny torchvision MNIST root, batch size 8."""
    root = tmp_path_factory.mktemp("mnist_root")
    write_torchvision_idx_root(root, random_images(300, (28, 28), seed=7), random_images(20, (28, 28), seed=8))
    _, labels = load_dataset("mnist", root, train=True)
    return _subset_labels(labels), 8


def _subset_labels(labels) -> tuple[torch.Tensor, torch.Tensor]:
    first, second = split_covariate_shift(labels)
    return torch.from_numpy(labels[first]), torch.from_numpy(labels[second])


def _tracked(subsets, noise: str, seed: int) -> list[list[list[int]]]:
    """Per copy, the tracked labels of every epoch."""
    (labels_a, labels_b), batch_size = subsets
    tracked = []
    for copy, labels in enumerate((labels_a, labels_b)):
        draws = epoch_draws(len(labels), EPOCHS, noise, seed, copy)
        tracked.append([tracked_labels(labels, d.permutation, batch_size) for d in draws])
    return tracked


@pytest.fixture(params=["bundled", "fixture"])
def subsets(request):
    return request.getfixturevalue(f"{request.param}_subsets")


def test_subsets_allow_the_tracked_batch(subsets):
    (labels_a, labels_b), batch_size = subsets
    assert len(labels_a) == len(labels_b) > 10 * batch_size + TRACKED_LABELS


@pytest.mark.parametrize("seed", PAPER_SEEDS)
def test_same_noise_tracked_labels_agree(subsets, seed):
    copy_a, copy_b = _tracked(subsets, "same", seed)
    for epoch in CHECKED_EPOCHS:
        assert len(copy_a[epoch]) == TRACKED_LABELS
        assert copy_a[epoch] == copy_b[epoch]
    assert copy_a[0] != copy_a[EPOCHS - 1]


@pytest.mark.parametrize("seed", PAPER_SEEDS)
def test_different_noise_tracked_labels_differ(subsets, seed):
    copy_a, copy_b = _tracked(subsets, "different", seed)
    for epoch in CHECKED_EPOCHS:
        assert copy_a[epoch] != copy_b[epoch]


def _all_draws(n: int, noise: str, seed: int, copy: int):
    """Permutations, flips and dropout seeds of three epochs."""
    draws = epoch_draws(n, 3, noise, seed, copy, flip=True)
    return [(d.permutation.tolist(), d.flips.tolist(), d.dropout_seed) for d in draws]


def test_same_noise_does_not_depend_on_seed_or_copy():
    reference = _all_draws(500, "same", PAPER_SEEDS[0], 0)
    for seed in PAPER_SEEDS:
        for copy in (0, 1):
            assert _all_draws(500, "same", seed, copy) == reference


def test_same_noise_reseeds_with_the_epoch_number():
    """Algorithm 1: ``torch.manual_seed(epoch)`` at the start of every epoch."""
    for epoch, draws in enumerate(epoch_draws(500, 3, "same", seed=1, copy=0)):
        expected = torch.randperm(500, generator=torch.Generator().manual_seed(epoch))
        assert torch.equal(draws.permutation, expected)


@pytest.mark.parametrize("seed", PAPER_SEEDS)
def test_different_noise_copy_b_uses_seed_plus_100(seed):
    """Algorithm 1: copy B's stream is seeded once with ``seed + 100`` and never reseeded."""
    generator = torch.Generator().manual_seed(seed + DIFFERENT_NOISE_OFFSET)
    for draws in epoch_draws(500, 3, "different", seed, copy=1):
        assert torch.equal(draws.permutation, torch.randperm(500, generator=generator))
        torch.randint(0, 2**62, (1,), generator=generator)
    assert _all_draws(500, "different", seed, 1) == _all_draws(500, "different", seed + 100, 0)
    assert _all_draws(500, "different", seed, 0) != _all_draws(500, "different", seed, 1)


@pytest.mark.parametrize("noise", ["same", "different"])
def test_draws_are_reproducible(noise):
    assert _all_draws(500, noise, 20, 1) == _all_draws(500, noise, 20, 1)


def test_different_noise_epochs_differ():
    permutations = [d.permutation for d in epoch_draws(500, 3, "different", 1, 0)]
    assert not torch.equal(permutations[0], permutations[1])


@pytest.mark.parametrize("noise, identical", [("same", True), ("different", False)])
def test_naive_pair_without_shift_separates_only_under_different_noise(noise, identical, one_thread):
    """No data shift and a shared initialisation: the copies trained by the naive engine are
    bit-identical under same noise and differ under different noise, which then is the only
    difference between them. ``test_fast_engine.py`` checks the same for the fast engine."""
    spec = RunSpec("mlp_l1", data=DataSpec(dataset="digits_bundled", shift="none"), train=TrainSpec(epochs=1, noise=noise))
    _, model_a, model_b, _ = train_pair_naive(spec, prepare_data(spec.data), "cpu")
    state_b = model_b.state_dict()
    equal = [torch.equal(value, state_b[key]) for key, value in model_a.state_dict().items()]
    assert all(equal) if identical else not any(equal)


def test_unknown_noise():
    with pytest.raises(ValueError, match="unknown SGD noise"):
        next(epoch_draws(10, 1, "fresh", 1, 0))
