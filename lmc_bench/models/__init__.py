"""Networks of Table V (Appendix C): MLPs, ResNet10/22, VGG11/19 and the BigEarthNet VGG-like."""

from .registry import DATASET_SHAPES, MODEL_NAMES, build_model, count_parameters, model_info

__all__ = ["DATASET_SHAPES", "MODEL_NAMES", "build_model", "count_parameters", "model_info"]
