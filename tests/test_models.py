"""Networks of Table V (Appendix C): exact parameter counts, forward shapes, seeding, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lmc_bench.models import DATASET_SHAPES, MODEL_NAMES, build_model, count_parameters, model_info
from lmc_bench.models.mlp import MLP
from lmc_bench.models.resnet import BasicBlock, ResNet
from lmc_bench.models.vgg import VGG

SINGLE_LABEL = ("mnist", "fashion_mnist", "cifar10", "mnist_bundled", "digits_bundled")
MLPS = ("mlp_l1", "mlp_l1_bn", "mlp_l1_bn_dropout", "mlp_l3", "mlp_l3_bn", "mlp_l3_bn_dropout")
SUPPORTED = (
    [(name, dataset) for name in (*MLPS, "resnet10", "resnet22") for dataset in SINGLE_LABEL]
    + [("vgg11", "cifar10"), ("vgg19", "cifar10"), ("vgg_like", "bigearthnet"), ("vgg_like", "bigearthnet_example")]
)
UNSUPPORTED = [(n, d) for n in MODEL_NAMES for d in DATASET_SHAPES if (n, d) not in SUPPORTED]
STANDARD_LAYERS = (
    nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Dropout, nn.MaxPool2d,
    nn.AdaptiveAvgPool2d, nn.LogSoftmax, nn.Flatten, nn.Sequential, BasicBlock, ResNet, VGG,
)


def _input(name: str, dataset: str, **overrides) -> torch.Tensor:
    """A batch of 2 random inputs of the shape ``name`` expects on ``dataset``."""
    info = model_info(name, dataset, **overrides)
    return torch.randn(2, info["in_channels"], *info["image_size"])


def _seeded(name: str, dataset: str, seed: int) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build_model(name, dataset)


@pytest.mark.parametrize(
    "name, dataset, paper_count",
    [
        ("mlp_l1", "mnist", 466_675),
        ("mlp_l1_bn", "mnist", 467_849),
        ("mlp_l3", "mnist", 466_442),
        ("mlp_l1", "cifar10", 388_468),
        ("mlp_l3", "cifar10", 395_826),
        ("resnet10", "mnist", 303_866),
        ("resnet22", "mnist", 1_079_802),
        ("resnet10", "cifar10", 304_154),
        ("resnet22", "cifar10", 1_080_090),
        ("vgg11", "cifar10", 9_231_114),
        ("vgg19", "cifar10", 20_040_522),
        ("vgg_like", "bigearthnet", 1_082_771),
    ],
)
def test_table_v_parameter_counts(name, dataset, paper_count):
    assert count_parameters(build_model(name, dataset)) == paper_count


def test_vgg_like_is_one_band_120px_with_5x5_final_map():
    info = model_info("vgg_like", "bigearthnet")
    assert (info["in_channels"], info["image_size"], info["n_classes"]) == (1, (120, 120), 19)
    model = build_model("vgg_like", "bigearthnet")
    assert model.features(_input("vgg_like", "bigearthnet")).shape == (2, 256, 5, 5)


def test_vgg_like_three_band_count_matches_docstring():
    model = build_model("vgg_like", "bigearthnet", in_channels=3)
    assert count_parameters(model) == 1_083_923
    assert model(_input("vgg_like", "bigearthnet", in_channels=3)).shape == (2, 19)


def test_vgg_like_image_size_override():
    model = build_model("vgg_like", "bigearthnet", image_size=60)
    assert model.features(_input("vgg_like", "bigearthnet", image_size=60)).shape == (2, 256, 2, 2)
    with pytest.raises(ValueError, match="too small"):
        build_model("vgg_like", "bigearthnet", image_size=20)


@pytest.mark.parametrize("name, dataset", SUPPORTED)
def test_forward_shape_and_output_kind(name, dataset):
    shape = DATASET_SHAPES[dataset]
    model = build_model(name, dataset)
    with torch.no_grad():
        out = model(_input(name, dataset))
    assert out.shape == (2, shape.n_classes)
    has_log_softmax = any(isinstance(m, nn.LogSoftmax) for m in model.modules())
    assert has_log_softmax != shape.multi_label
    assert model_info(name, dataset)["output"] == ("logits" if shape.multi_label else "log_probs")
    if not shape.multi_label:
        torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(2))


@pytest.mark.parametrize("name, dataset", UNSUPPORTED)
def test_unsupported_pair_lists_valid_datasets(name, dataset):
    supported = [d for n, d in SUPPORTED if n == name]
    with pytest.raises(ValueError) as error:
        build_model(name, dataset)
    assert all(repr(d) in str(error.value) for d in supported)


def test_unknown_model_lists_model_names():
    with pytest.raises(ValueError) as error:
        build_model("resnet18", "cifar10")
    assert all(repr(n) in str(error.value) for n in MODEL_NAMES)


def test_unknown_dataset_lists_datasets():
    with pytest.raises(ValueError) as error:
        build_model("mlp_l1", "svhn")
    assert all(repr(d) in str(error.value) for d in DATASET_SHAPES)


@pytest.mark.parametrize(
    "name, dataset, overrides",
    [
        ("resnet10", "mnist", {"dropout": 0.1}),
        ("mlp_l1", "mnist", {"dropout": 0.1}),
        ("vgg_like", "bigearthnet", {"widths": (8,)}),
        ("mlp_l1_bn_dropout", "mnist", {"dropout": 1.0}),
        ("vgg_like", "bigearthnet", {"in_channels": 0}),
    ],
)
def test_invalid_overrides_raise(name, dataset, overrides):
    with pytest.raises(ValueError):
        build_model(name, dataset, **overrides)


def test_model_names_and_dataset_shapes():
    assert set(MODEL_NAMES) == {*MLPS, "resnet10", "resnet22", "vgg11", "vgg19", "vgg_like"}
    assert DATASET_SHAPES["mnist"] == (1, 28, 28, 10, False)
    assert DATASET_SHAPES["mnist_bundled"] == DATASET_SHAPES["fashion_mnist"] == DATASET_SHAPES["mnist"]
    assert DATASET_SHAPES["digits_bundled"] == (1, 8, 8, 10, False)
    assert DATASET_SHAPES["cifar10"] == (3, 32, 32, 10, False)
    assert DATASET_SHAPES["bigearthnet"] == (1, 120, 120, 19, True)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_same_bits_different_seed_different(name):
    dataset = next(d for n, d in SUPPORTED if n == name)
    a, b, c = (_seeded(name, dataset, seed).state_dict() for seed in (1, 1, 20))
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("name, dataset", SUPPORTED)
def test_models_are_built_from_standard_layers(name, dataset):
    for module in build_model(name, dataset).modules():
        assert isinstance(module, STANDARD_LAYERS), type(module)


@pytest.mark.parametrize("name", MLPS)
@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "digits_bundled"])
def test_mlp_structure_follows_model_info(name, dataset):
    info = model_info(name, dataset)
    model = build_model(name, dataset)
    assert isinstance(model, nn.Sequential) and isinstance(model, MLP)
    expected = [nn.Flatten]
    for _ in info["widths"]:
        expected += [nn.Linear] + [nn.BatchNorm1d] * info["bn"] + [nn.ReLU] + [nn.Dropout] * info["dropout"]
    expected += [nn.Linear, nn.LogSoftmax]
    assert [type(m) for m in model] == expected
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [*info["widths"], 10]
    assert all(m.bias is not None for m in linears)


def test_mlp_widths_per_dataset():
    assert model_info("mlp_l1", "mnist")["widths"] == (587,)
    assert model_info("mlp_l3", "fashion_mnist")["widths"] == (256, 512, 256)
    assert model_info("mlp_l1", "cifar10")["widths"] == (126,)
    assert model_info("mlp_l3", "cifar10")["widths"] == (110, 256, 110)
    assert model_info("mlp_l3_bn", "digits_bundled")["widths"] == model_info("mlp_l3", "mnist")["widths"]


def test_dropout_default_and_override():
    assert model_info("mlp_l1_bn_dropout", "mnist")["dropout_p"] == 0.5
    assert model_info("mlp_l1_bn", "mnist")["dropout_p"] is None
    model = build_model("mlp_l3_bn_dropout", "cifar10", dropout=0.2)
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("name, blocks", [("resnet10", 1), ("resnet22", 3)])
def test_resnet_structure(name, blocks):
    info = model_info(name, "cifar10")
    assert (info["stem_width"], info["widths"], info["blocks_per_stage"]) == (16, (32, 64, 128), blocks)
    model = build_model(name, "cifar10")
    assert [len(stage) for stage in model.stages] == [blocks] * 3
    for s, stage in enumerate(model.stages):
        for b, block in enumerate(stage):
            assert block.conv1.stride == ((2, 2) if s > 0 and b == 0 else (1, 1))
            assert block.conv1.bias is None and block.conv2.bias is None
            assert len(block.shortcut) == (2 if b == 0 else 0)
    assert model.stages(model.stem(_input(name, "cifar10"))).shape == (2, 128, 8, 8)


def test_count_parameters_counts_trainable_only():
    model = build_model("mlp_l1", "mnist")
    model[-2].weight.requires_grad_(False)
    assert count_parameters(model) == 466_675 - 587 * 10
