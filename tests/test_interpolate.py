"""State-dict interpolation (Section III-D): endpoints exact, BatchNorm running statistics of
trained models interpolated at interior λ, integer buffers taken from copy A."""

import pytest
import torch
import torch.nn.functional as F

from lmc_bench.interpolate import interpolate_state
from lmc_bench.models import build_model

RUNNING_STATISTICS = ("running_mean", "running_var")


def _pair():
    torch.manual_seed(0)
    a = build_model("mlp_l1_bn", "digits_bundled").state_dict()
    torch.manual_seed(1)
    b = build_model("mlp_l1_bn", "digits_bundled").state_dict()
    b["2.num_batches_tracked"] = torch.tensor(7)
    return a, b


def _trained_state(seed: int, steps: int) -> dict[str, torch.Tensor]:
    """A BatchNorm MLP after ``steps`` Adam steps on random 8x8 images: its running statistics
    (and ``num_batches_tracked``) are its own, unlike a fresh model's zeros and ones."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = build_model("mlp_l1_bn", "digits_bundled")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        images = torch.randn(16, 1, 8, 8, generator=generator) * (1 + seed)
        labels = torch.randint(0, 10, (16,), generator=generator)
        optimizer.zero_grad()
        F.nll_loss(model(images), labels).backward()
        optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture
def trained_pair(one_thread):
    return _trained_state(seed=0, steps=3), _trained_state(seed=1, steps=5)


def test_endpoints_are_exact_and_midpoint_is_the_mean():
    a, b = _pair()
    for key in a:
        assert torch.equal(interpolate_state(a, b, 0.0)[key], a[key])
    assert all(torch.equal(interpolate_state(a, b, 1.0)[k], b[k]) for k in a if a[k].is_floating_point())
    mid = interpolate_state(a, b, 0.5)
    assert torch.allclose(mid["1.weight"], 0.5 * (a["1.weight"] + b["1.weight"]))
    assert torch.allclose(mid["2.running_var"], 0.5 * (a["2.running_var"] + b["2.running_var"]))


@pytest.mark.parametrize("lam", [0.1, 0.5, 0.8])
def test_trained_batchnorm_statistics_are_interpolated(trained_pair, lam):
    """Interior λ: every floating entry, running statistics included, is (1−λ)·a + λ·b; integer
    buffers are copy A's."""
    a, b = trained_pair
    statistics = [k for k in a if k.endswith(RUNNING_STATISTICS)]
    assert statistics, "the model has no BatchNorm running statistics"
    for key in statistics:
        assert (a[key] - b[key]).abs().min() > 1e-4, f"{key} of the two models must differ everywhere"
    integers = [k for k in a if not a[k].is_floating_point()]
    assert integers and all(not torch.equal(a[k], b[k]) for k in integers)
    out = interpolate_state(a, b, lam)
    for key in a:
        if a[key].is_floating_point():
            exact = (1 - lam) * a[key].double() + lam * b[key].double()
            torch.testing.assert_close(out[key].double(), exact, rtol=1e-6, atol=1e-6, msg=lambda m: f"{key}: {m}")
        else:
            assert torch.equal(out[key], a[key]), key


def test_integer_buffers_are_taken_from_a():
    a, b = _pair()
    key = next(k for k in a if not a[k].is_floating_point())
    assert torch.equal(interpolate_state(a, b, 0.7)[key], a[key])


def test_mismatched_state_dicts_are_rejected():
    a, b = _pair()
    with pytest.raises(ValueError, match="keys"):
        interpolate_state(a, {k: v for k, v in list(b.items())[1:]}, 0.5)
    first = next(iter(a))
    with pytest.raises(ValueError, match="shape"):
        interpolate_state(a, {**b, first: torch.zeros(1)}, 0.5)
