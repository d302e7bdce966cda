"""Model registry: name + dataset -> architecture description (:func:`model_info`) and module
(:func:`build_model`), for the networks of Table V (Appendix C).

Pairings: MLPs and ResNets take the single-label image datasets, VGG11/VGG19 CIFAR-10 only
(32x32 inputs through five 2x2 pools), ``vgg_like`` BigEarthNet only (``bigearthnet_example``: the
real example patches of the pipeline check). ``digits_bundled`` uses the
MNIST MLP widths. Single-label models return log-probabilities, ``vgg_like`` returns logits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import nn

from .mlp import MLP
from .resnet import ResNet
from .vgg import VGG, VGG_CONFIGS


class DatasetShape(NamedTuple):
    """Input and label shape of a dataset."""

    channels: int
    height: int
    width: int
    n_classes: int
    multi_label: bool


DATASET_SHAPES: dict[str, DatasetShape] = {
    "mnist": DatasetShape(1, 28, 28, 10, False),
    "fashion_mnist": DatasetShape(1, 28, 28, 10, False),
    "cifar10": DatasetShape(3, 32, 32, 10, False),
    "bigearthnet": DatasetShape(1, 120, 120, 19, True),
    "bigearthnet_example": DatasetShape(1, 120, 120, 19, True),
    "mnist_bundled": DatasetShape(1, 28, 28, 10, False),
    "digits_bundled": DatasetShape(1, 8, 8, 10, False),
}

_SINGLE_LABEL = tuple(name for name, shape in DATASET_SHAPES.items() if not shape.multi_label)

FAMILY_DATASETS: dict[str, tuple[str, ...]] = {
    "mlp": _SINGLE_LABEL,
    "resnet": _SINGLE_LABEL,
    "vgg": ("cifar10",),
    "vgg_like": ("bigearthnet", "bigearthnet_example"),
}

_MNIST_WIDTHS = {"l1": (587,), "l3": (256, 512, 256)}
_CIFAR_WIDTHS = {"l1": (126,), "l3": (110, 256, 110)}
MLP_WIDTHS: dict[str, dict[str, tuple[int, ...]]] = {
    "mnist": _MNIST_WIDTHS,
    "fashion_mnist": _MNIST_WIDTHS,
    "mnist_bundled": _MNIST_WIDTHS,
    "digits_bundled": _MNIST_WIDTHS,
    "cifar10": _CIFAR_WIDTHS,
}
"""Hidden widths of Table V: W587 / W256-512-256 (MNIST), W126 / W110-256-110 (CIFAR-10)."""

DEFAULT_DROPOUT = 0.5

_MODELS: dict[str, dict[str, Any]] = {
    "mlp_l1": {"family": "mlp", "depth": "l1", "bn": False, "dropout": False},
    "mlp_l1_bn": {"family": "mlp", "depth": "l1", "bn": True, "dropout": False},
    "mlp_l1_bn_dropout": {"family": "mlp", "depth": "l1", "bn": True, "dropout": True},
    "mlp_l3": {"family": "mlp", "depth": "l3", "bn": False, "dropout": False},
    "mlp_l3_bn": {"family": "mlp", "depth": "l3", "bn": True, "dropout": False},
    "mlp_l3_bn_dropout": {"family": "mlp", "depth": "l3", "bn": True, "dropout": True},
    "resnet10": {"family": "resnet", "blocks_per_stage": 1},
    "resnet22": {"family": "resnet", "blocks_per_stage": 3},
    "vgg11": {"family": "vgg"},
    "vgg19": {"family": "vgg"},
    "vgg_like": {"family": "vgg_like"},
}

MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)

_RESNET_STEM_WIDTH = 16
_RESNET_WIDTHS = (32, 64, 128)


def _names(values) -> str:
    return ", ".join(map(repr, values))


def _allowed_overrides(name: str) -> tuple[str, ...]:
    entry = _MODELS[name]
    if entry["family"] == "mlp" and entry["dropout"]:
        return ("dropout",)
    if entry["family"] == "vgg_like":
        return ("in_channels", "image_size")
    return ()


def _check_override(key: str, value: Any) -> None:
    if key == "dropout":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {value!r}")
    elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key} must be a positive int, got {value!r}")


def model_info(name: str, dataset: str, **overrides: Any) -> dict[str, Any]:
    """Architecture description of ``name`` on ``dataset`` (after ``overrides``) as a plain dict.

    Always: name, family ("mlp", "resnet", "vgg", "vgg_like"), dataset, in_channels,
    image_size (height, width), n_classes, multi_label, output ("log_probs" or "logits").
    mlp: widths, bn, dropout (bool), dropout_p (float or None). resnet: stem_width, widths,
    blocks_per_stage. vgg / vgg_like: config (ints are 3x3 convs, "M"/"M3" max-pools).
    Overrides: ``dropout=p`` for the ``*_bn_dropout`` MLPs; ``in_channels=`` and
    ``image_size=`` (square side) for ``vgg_like``. Raises ValueError listing what exists.
    """
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {_names(MODEL_NAMES)}")
    if dataset not in DATASET_SHAPES:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {_names(DATASET_SHAPES)}")
    entry = _MODELS[name]
    family = entry["family"]
    if dataset not in FAMILY_DATASETS[family]:
        raise ValueError(
            f"model {name!r} is not defined for dataset {dataset!r}; "
            f"it supports {_names(FAMILY_DATASETS[family])}"
        )
    allowed = _allowed_overrides(name)
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        accepted = _names(allowed) if allowed else "none"
        raise ValueError(f"model {name!r} does not accept overrides {_names(unknown)}; accepted: {accepted}")
    for key, value in overrides.items():
        _check_override(key, value)

    shape = DATASET_SHAPES[dataset]
    side = overrides.get("image_size")
    info: dict[str, Any] = {
        "name": name,
        "family": family,
        "dataset": dataset,
        "in_channels": overrides.get("in_channels", shape.channels),
        "image_size": (side, side) if side is not None else (shape.height, shape.width),
        "n_classes": shape.n_classes,
        "multi_label": shape.multi_label,
        "output": "logits" if shape.multi_label else "log_probs",
    }
    if family == "mlp":
        info.update(
            widths=MLP_WIDTHS[dataset][entry["depth"]],
            bn=entry["bn"],
            dropout=entry["dropout"],
            dropout_p=float(overrides.get("dropout", DEFAULT_DROPOUT)) if entry["dropout"] else None,
        )
    elif family == "resnet":
        info.update(
            stem_width=_RESNET_STEM_WIDTH,
            widths=_RESNET_WIDTHS,
            blocks_per_stage=entry["blocks_per_stage"],
        )
    else:
        info.update(config=VGG_CONFIGS[name])
    return info


def build_model(name: str, dataset: str, **overrides: Any) -> nn.Module:
    """A freshly initialised (PyTorch defaults, global RNG) model ``name`` for ``dataset``;
    see :func:`model_info` for the overrides and the description it follows."""
    info = model_info(name, dataset, **overrides)
    channels = info["in_channels"]
    height, width = info["image_size"]
    n_classes = info["n_classes"]
    if info["family"] == "mlp":
        return MLP(channels * height * width, info["widths"], n_classes, info["bn"], info["dropout_p"])
    if info["family"] == "resnet":
        return ResNet(channels, n_classes, info["blocks_per_stage"], info["stem_width"], info["widths"])
    return VGG(info["config"], channels, n_classes, height, log_softmax=not info["multi_label"])


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (the "P" of Table V)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
