"""Layer-wise interpolation (Adilova et al.): layers, single-layer mixtures, the stacked layer-wise
pass against one-model-at-a-time evaluation, cumulative groups, and the deep-linear convexity check."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lmc_bench.interpolate import interpolate_state
from lmc_bench.layerwise import (
    cumulative_barriers,
    interpolate_layer,
    layer_groups,
    layer_order,
    layerwise_barriers,
)
from lmc_bench.models import build_model
from lmc_bench.train import evaluate


def _random_bn_pair():
    """Two differently initialised MLP L1 with BatchNorm, with distinct running statistics."""
    states = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build_model("mlp_l1_bn", "digits_bundled")
        with torch.no_grad():
            model[2].weight.uniform_(0.5, 1.5)
            model[2].bias.normal_()
        model[2].running_mean.normal_()
        model[2].running_var.uniform_(0.5, 2.0)
        model[2].num_batches_tracked.fill_(seed + 3)
        states.append(model.state_dict())
    return states


def test_layers_group_weight_with_bias_and_batch_norm_with_its_buffers():
    groups = layer_groups(build_model("mlp_l1_bn", "digits_bundled").state_dict())
    assert groups == {
        "1": ("1.weight", "1.bias"),
        "2": ("2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked"),
        "4": ("4.weight", "4.bias"),
    }
    resnet = layer_groups(build_model("resnet22", "mnist_bundled").state_dict())
    assert list(resnet)[:3] == ["stem.0", "stem.1", "stages.0.0.conv1"]
    assert list(resnet)[-1] == "head.2"
    assert len(resnet) == 45  # stem conv + BN, 9 blocks x 4, 3 shortcuts (first block of each stage) x 2, head


@pytest.mark.parametrize("base", ["a", "b"])
def test_interpolate_layer_mixes_only_that_layer(base):
    a, b = _random_bn_pair()
    mixed = interpolate_layer(a, b, "2", 0.3, base=base)
    source = a if base == "a" else b
    for key in a:
        if key in ("2.weight", "2.bias", "2.running_mean", "2.running_var"):
            assert torch.allclose(mixed[key], 0.7 * a[key] + 0.3 * b[key], atol=1e-6)
            assert not torch.equal(mixed[key], source[key])
        else:
            assert torch.equal(mixed[key], source[key]), key
    several = interpolate_layer(a, b, ["1", "4"], 1.0, base="a")
    assert all(torch.equal(several[k], b[k]) for k in ("1.weight", "1.bias", "4.weight", "4.bias"))
    assert all(torch.equal(several[k], a[k]) for k in ("2.weight", "2.running_var"))


def test_interpolate_layer_rejects_bad_input():
    a, b = _random_bn_pair()
    with pytest.raises(ValueError, match="unknown layer.*'3'"):
        interpolate_layer(a, b, "3", 0.5)
    with pytest.raises(ValueError, match="base"):
        interpolate_layer(a, b, "1", 0.5, base="c")
    with pytest.raises(ValueError, match="keys"):
        interpolate_layer(a, {k: v for k, v in b.items() if k != "4.bias"}, "1", 0.5)


def _digits(n: int = 64):
    torch.manual_seed(2)
    return torch.randn(n, 1, 8, 8), torch.randint(0, 10, (n,))


def test_stacked_layerwise_pass_matches_one_model_at_a_time():
    a, b = _random_bn_pair()
    x, y = _digits()
    template = build_model("mlp_l1_bn", "digits_bundled")
    lambdas = (0.0, 0.25, 0.5, 0.75, 1.0)
    paths = layerwise_barriers(template, a, b, {"test": (x, y)}, lambdas, max_models=7)["test"]
    assert paths.layers == ("1", "2", "4")
    model = build_model("mlp_l1_bn", "digits_bundled")
    for i, base in enumerate("ab"):
        for j, layer in enumerate(paths.layers):
            for k, lam in enumerate(lambdas):
                model.load_state_dict(interpolate_layer(a, b, layer, lam, base))
                loss, acc, _ = evaluate(model, x, y, torch.device("cpu"))
                assert paths.loss[i, j, k] == pytest.approx(loss, rel=1e-5, abs=1e-6)
                assert paths.acc[i, j, k] == pytest.approx(acc)
    for k, lam in enumerate(lambdas):
        model.load_state_dict(interpolate_state(a, b, lam))
        assert paths.full_loss[k] == pytest.approx(evaluate(model, x, y, torch.device("cpu"))[0], rel=1e-5)
    reference = 0.5 * (paths.full_loss[0] + paths.full_loss[-1])
    assert paths.barriers() == pytest.approx((paths.loss - reference).max(axis=(0, 2)))
    assert paths.midpoint_barriers() == pytest.approx(paths.loss[:, :, 2].mean(0) - reference)
    assert paths.full_barrier() == pytest.approx(paths.full_loss.max() - reference)


def test_layerwise_grid_must_hold_the_midpoint():
    a, b = _random_bn_pair()
    with pytest.raises(ValueError, match="0.5"):
        layerwise_barriers(build_model("mlp_l1_bn", "digits_bundled"), a, b, {"test": _digits()}, (0.0, 0.4, 1.0))


def test_cumulative_groups():
    a, b = _random_bn_pair()
    x, y = _digits()
    template = build_model("mlp_l1_bn", "digits_bundled")
    cumulative = cumulative_barriers(template, a, b, {"test": (x, y)}, seed=3)["test"]
    single = layerwise_barriers(template, a, b, {"test": (x, y)}, (0.0, 0.5, 1.0))["test"]
    assert cumulative.orders["shallow"] == ("1", "2", "4")
    assert cumulative.orders["deep"] == ("4", "2", "1")
    assert sorted(cumulative.orders["random"]) == ["1", "2", "4"]
    assert layer_order(("1", "2", "4"), "random", 3) == cumulative.orders["random"]
    for order, values in cumulative.values.items():
        assert values.shape == (2, 3)
        assert values[:, -1] == pytest.approx([single.full_midpoint_barrier()] * 2, abs=1e-5)
    first_mixed = single.loss[:, 0, 1] - single.reference
    assert cumulative.values["shallow"][:, 0] == pytest.approx(first_mixed, abs=1e-5)
    last_mixed = single.loss[:, 2, 1] - single.reference
    assert cumulative.values["deep"][:, 0] == pytest.approx(last_mixed, abs=1e-5)


def _deep_linear(in_features: int, widths: list[int], n_classes: int) -> nn.Sequential:
    sizes = [in_features, *widths, n_classes]
    layers = [nn.Linear(m, n, bias=bool(i % 2)) for i, (m, n) in enumerate(zip(sizes, sizes[1:]))]
    return nn.Sequential(nn.Flatten(), *layers, nn.LogSoftmax(dim=1))


FINE_GRID = tuple(i / 20 for i in range(21))


@settings(max_examples=25, deadline=None)
@given(
    in_features=st.integers(1, 6),
    widths=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    n_classes=st.integers(2, 5),
    scale=st.floats(0.3, 3.0),
    layer_pick=st.integers(0, 10),
    seed=st.integers(0, 2**16),
)
def test_single_layer_path_of_a_deep_linear_network_is_convex(in_features, widths, n_classes, scale, layer_pick, seed):
    """The output W_K···W_1 x is affine in λ when one layer is mixed, and NLL∘log-softmax is convex
    in the logits, so the loss along every single-layer path is convex in λ (second differences ≥ 0)."""
    torch.manual_seed(seed)
    template = _deep_linear(in_features, widths, n_classes)
    a = {k: scale * torch.randn_like(v) for k, v in template.state_dict().items()}
    b = {k: scale * torch.randn_like(v) for k, v in template.state_dict().items()}
    x, y = torch.randn(16, in_features), torch.randint(0, n_classes, (16,))
    paths = layerwise_barriers(template, a, b, {"test": (x, y)}, FINE_GRID)["test"]
    layer = layer_pick % len(paths.layers)
    for base in range(2):
        loss = paths.loss[base, layer].astype(np.float64)
        second = loss[:-2] - 2 * loss[1:-1] + loss[2:]
        assert second.min() >= -1e-5 * (1 + np.abs(loss).max()), (paths.layers[layer], base, second.min())


def test_whole_network_path_of_a_deep_linear_network_need_not_be_convex():
    """The check above is not vacuous: mixing two layers at once makes the output quadratic in λ.
    Θ_B = −Θ_A computes the same function, and the midpoint is the zero network."""
    torch.manual_seed(0)
    template = _deep_linear(4, [4], 3)
    a = {k: 3 * torch.randn_like(v) for k, v in template.state_dict().items()}
    b = {k: -v for k, v in a.items()}
    x = torch.randn(32, 4)
    template.load_state_dict(a)
    with torch.no_grad():
        y = template(x).argmax(1)
    paths = layerwise_barriers(template, a, b, {"test": (x, y)}, FINE_GRID)["test"]
    second = np.diff(paths.full_loss, 2)
    assert second.min() < -1e-3
