"""The training-set partitions of Table II (Section III-B) and the two normalisations of Fig. 10."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.formats import random_images
from lmc_bench.data import split_covariate_shift, split_label_imbalance
from lmc_bench.data.normalize import channel_stats, normalize

MNIST_TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
CIFAR10_TRAIN_CLASS_COUNTS = [5000] * 10


def shuffled_labels(counts: list[int], seed: int = 0) -> np.ndarray:
    """A label array with exactly ``counts[c]`` images of class c, in random order."""
    labels = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(labels)


label_arrays = st.lists(st.integers(0, 9), min_size=1, max_size=300).map(np.array)


def assert_covariate_split(labels: np.ndarray, first: np.ndarray, second: np.ndarray) -> None:
    counts = np.bincount(labels)
    assert len(first) == len(second) == int((counts // 2).sum())
    assert np.intersect1d(first, second).size == 0
    assert len(np.unique(first)) == len(first) and len(np.unique(second)) == len(second)
    np.testing.assert_array_equal(labels[first], labels[second])
    np.testing.assert_array_equal(np.bincount(labels[first], minlength=len(counts)), counts // 2)


# --- covariate shift, split 50/50 ---------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, per_subset", [(MNIST_TRAIN_CLASS_COUNTS, 29_997), (CIFAR10_TRAIN_CLASS_COUNTS, 25_000)]
)
def test_fifty_fifty_fingerprint(counts, per_subset):
    """Table II fingerprint: 29,997 images per subset on MNIST, 25,000 on CIFAR-10."""
    labels = shuffled_labels(counts)
    first, second = split_covariate_shift(labels)
    assert len(first) == len(second) == per_subset
    assert_covariate_split(labels, first, second)


def test_fifty_fifty_drops_only_the_odd_image_of_a_class():
    labels = shuffled_labels(MNIST_TRAIN_CLASS_COUNTS, seed=1)
    first, second = split_covariate_shift(labels)
    dropped = np.setdiff1d(np.arange(len(labels)), np.concatenate([first, second]))
    odd_classes = [c for c, n in enumerate(MNIST_TRAIN_CLASS_COUNTS) if n % 2]
    assert sorted(labels[dropped].tolist()) == odd_classes


def test_fifty_fifty_is_deterministic():
    labels = shuffled_labels(CIFAR10_TRAIN_CLASS_COUNTS, seed=2)
    for a, b in zip(split_covariate_shift(labels), split_covariate_shift(labels.copy())):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("split", [split_covariate_shift, split_label_imbalance])
def test_splits_are_random_and_fixed_by_their_seed(split):
    """Section III-B splits "at random": the seed fixes the split, another seed draws another
    one, and neither is a rule of dataset order (parity or first k of a class)."""
    labels = np.repeat(np.arange(10), 100)
    first, second = split(labels, seed=0)
    again, _ = split(labels, seed=0)
    other, _ = split(labels, seed=1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(np.sort(first), np.sort(other))
    class_zero = np.sort(first[labels[first] == 0])
    assert not np.array_equal(class_zero, np.arange(0, 100, 2))
    assert not np.array_equal(class_zero, np.arange(len(class_zero)))
    assert len(np.intersect1d(first, second)) == 0


@settings(max_examples=60, deadline=None)
@given(labels=label_arrays, seed=st.integers(0, 2**32 - 1))
def test_fifty_fifty_properties(labels, seed):
    """Class-aligned (labels[a][i] == labels[b][i]), disjoint, half of every class each."""
    assert_covariate_split(labels, *split_covariate_shift(labels, seed=seed))


# --- label imbalance, split x/(100 - x) ---------------------------------------------------------


def assert_imbalance_split(labels: np.ndarray, first: np.ndarray, second: np.ndarray, x: float) -> None:
    """Complement: disjoint, union is everything; per class x % or (100 - x) % in subset 1."""
    assert np.intersect1d(first, second).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([first, second])), np.arange(len(labels)))
    classes = np.unique(labels)
    lower = classes[: len(classes) // 2]
    for c in classes:
        n = int((labels == c).sum())
        share = x if c in lower else 100 - x
        n_first = int((labels[first] == c).sum())
        assert abs(n_first - n * share / 100) <= 0.5
        assert n_first + int((labels[second] == c).sum()) == n


@pytest.mark.parametrize("counts", [MNIST_TRAIN_CLASS_COUNTS, CIFAR10_TRAIN_CLASS_COUNTS])
def test_twenty_eighty_split(counts):
    """x = 20: subset 1 holds 20 % of classes 0-4 and 80 % of classes 5-9; each about half the data."""
    labels = shuffled_labels(counts, seed=3)
    first, second = split_label_imbalance(labels, 20)
    assert_imbalance_split(labels, first, second, 20)
    per_class_first = np.bincount(labels[first], minlength=10) / np.asarray(counts)
    np.testing.assert_allclose(per_class_first, [0.2] * 5 + [0.8] * 5, atol=1e-3)
    for subset in (first, second):
        assert abs(len(subset) / len(labels) - 0.5) < 0.02


def test_twenty_eighty_is_the_default():
    labels = shuffled_labels(CIFAR10_TRAIN_CLASS_COUNTS, seed=4)
    for a, b in zip(split_label_imbalance(labels), split_label_imbalance(labels, 20)):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    labels=label_arrays,
    x=st.one_of(st.integers(1, 99), st.floats(0.5, 99.5, allow_nan=False)),
)
def test_imbalance_complement_property(labels, x):
    assert_imbalance_split(labels, *split_label_imbalance(labels, x), x)


@pytest.mark.parametrize("x", [0, 100, -5, 120, float("nan")])
def test_imbalance_rejects_x_outside_open_interval(x):
    with pytest.raises(ValueError, match=r"\(0, 100\)"):
        split_label_imbalance(np.arange(10), x)


@pytest.mark.parametrize("bad", [np.array([]), np.array([[0, 1]]), np.array([0.5, 1.0]), np.array([-1, 2])])
@pytest.mark.parametrize("split", [split_covariate_shift, split_label_imbalance])
def test_splits_reject_bad_labels(bad, split):
    with pytest.raises(ValueError):
        split(bad)


# --- normalisation (Fig. 10) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_channel_images():
    images, _ = random_images(64, (3, 8, 8), seed=5)
    images[:, 1] //= 4
    images[:, 2] = 200 + images[:, 2] // 8
    return images


def test_centered_is_standardised_per_channel_on_the_training_set(three_channel_images):
    x = normalize(three_channel_images, "centered", channel_stats(three_channel_images)).double()
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3), correction=0).numpy(), 1.0, atol=1e-5)


def test_centered_test_set_uses_training_statistics(three_channel_images):
    train, test = three_channel_images[:48], three_channel_images[48:]
    stats = channel_stats(train)
    expected = (test / 255.0 - stats[0].reshape(1, 3, 1, 1)) / stats[1].reshape(1, 3, 1, 1)
    np.testing.assert_allclose(normalize(test, "centered", stats).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_unit_is_intensity_over_255(three_channel_images):
    x = normalize(three_channel_images, "unit")
    assert x.dtype.is_floating_point and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    np.testing.assert_allclose(x.numpy(), three_channel_images / 255.0, rtol=1e-6)
    assert float(normalize(np.full((1, 1, 2, 2), 255, np.uint8), "unit").max()) == 1.0


def test_normalisation_errors(three_channel_images):
    with pytest.raises(ValueError, match="unknown normalization"):
        normalize(three_channel_images, "zscore")
    with pytest.raises(ValueError, match="statistics"):
        normalize(three_channel_images, "centered")
    with pytest.raises(ValueError, match="constant"):
        channel_stats(np.zeros((4, 1, 2, 2), np.uint8))
