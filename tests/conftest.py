"""Make the repository root importable, so tests can use the writers in ``fixtures/``; shared
fixtures."""

import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def one_thread():
    """One intra-op thread for small models: on a shared CPU, threads contending with other
    processes slow tiny kernels down many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
