"""Make the repository root importable, so tests can use the writers in ``fixtures/``; shared
fixtures."""

import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from fixtures.formats import random_images  # noqa: E402


@pytest.fixture
def one_thread():
    """One intra-op thread for small models: on a shared CPU, threads contending with other
    processes slow tiny kernels down many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def idx_parts():
    """(train, test) parts of a tiny 28x28 dataset: 40 and 20 images."""
    return random_images(40, (28, 28), seed=0), random_images(20, (28, 28), seed=1)


@pytest.fixture(scope="module")
def cifar_parts():
    """(train, test) parts of a tiny CIFAR-10: 50 and 20 images, 3 x 32 x 32."""
    return random_images(50, (3, 32, 32), seed=2), random_images(20, (3, 32, 32), seed=3)
