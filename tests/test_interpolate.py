"""State-dict interpolation (Section III-D): endpoints exact, integer buffers untouched."""

import pytest
import torch

from lmc_bench.interpolate import interpolate_state
from lmc_bench.models import build_model


def _pair():
    torch.manual_seed(0)
    a = build_model("mlp_l1_bn", "digits_bundled").state_dict()
    torch.manual_seed(1)
    b = build_model("mlp_l1_bn", "digits_bundled").state_dict()
    b["2.num_batches_tracked"] = torch.tensor(7)
    return a, b


def test_endpoints_are_exact_and_midpoint_is_the_mean():
    a, b = _pair()
    for key in a:
        assert torch.equal(interpolate_state(a, b, 0.0)[key], a[key])
    assert all(torch.equal(interpolate_state(a, b, 1.0)[k], b[k]) for k in a if a[k].is_floating_point())
    mid = interpolate_state(a, b, 0.5)
    assert torch.allclose(mid["1.weight"], 0.5 * (a["1.weight"] + b["1.weight"]))
    assert torch.allclose(mid["2.running_var"], 0.5 * (a["2.running_var"] + b["2.running_var"]))


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
