"""The 19-class nomenclature of BigEarthNet and the map from the 43 CORINE Land Cover classes.

BigEarthNet v1.0 labels each patch with CORINE Land Cover level-3 names (43 occur); the 19-class
nomenclature of Sumbul et al., "BigEarthNet-MM: A Large-Scale, Multimodal, Multilabel Benchmark
Archive for Remote Sensing Image Classification and Retrieval", IEEE Geoscience and Remote Sensing
Magazine 9(3):174-180, 2021 (also the ``label_indices.json`` of the authors' BigEarthNet-S2 19-class
models) merges 32 of them into 19 classes and drops the 11 that cannot be recognised from a
single Sentinel-2 patch. A patch left with no 19-class label is dropped. BigEarthNet v2.0 (reBEN)
ships the 19-class names directly.

Multi-hot targets follow :data:`CLASSES_19`, the official order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CLASSES_19: tuple[str, ...] = (
    "Urban fabric",
    "Industrial or commercial units",
    "Arable land",
    "Permanent crops",
    "Pastures",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland and sparsely vegetated areas",
    "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland, shrub",
    "Beaches, dunes, sands",
    "Inland wetlands",
    "Coastal wetlands",
    "Inland waters",
    "Marine waters",
)
"""The 19 classes in the official order (Sumbul et al. 2021)."""

CLASS_INDEX = {name: i for i, name in enumerate(CLASSES_19)}

CORINE_TO_19: dict[str, str | None] = {
    "Continuous urban fabric": "Urban fabric",
    "Discontinuous urban fabric": "Urban fabric",
    "Industrial or commercial units": "Industrial or commercial units",
    "Road and rail networks and associated land": None,
    "Port areas": None,
    "Airports": None,
    "Mineral extraction sites": None,
    "Dump sites": None,
    "Construction sites": None,
    "Green urban areas": None,
    "Sport and leisure facilities": None,
    "Non-irrigated arable land": "Arable land",
    "Permanently irrigated land": "Arable land",
    "Rice fields": "Arable land",
    "Vineyards": "Permanent crops",
    "Fruit trees and berry plantations": "Permanent crops",
    "Olive groves": "Permanent crops",
    "Pastures": "Pastures",
    "Annual crops associated with permanent crops": "Permanent crops",
    "Complex cultivation patterns": "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation":
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas": "Agro-forestry areas",
    "Broad-leaved forest": "Broad-leaved forest",
    "Coniferous forest": "Coniferous forest",
    "Mixed forest": "Mixed forest",
    "Natural grassland": "Natural grassland and sparsely vegetated areas",
    "Moors and heathland": "Moors, heathland and sclerophyllous vegetation",
    "Sclerophyllous vegetation": "Moors, heathland and sclerophyllous vegetation",
    "Transitional woodland/shrub": "Transitional woodland, shrub",
    "Beaches, dunes, sands": "Beaches, dunes, sands",
    "Bare rock": None,
    "Sparsely vegetated areas": "Natural grassland and sparsely vegetated areas",
    "Burnt areas": None,
    "Inland marshes": "Inland wetlands",
    "Peatbogs": "Inland wetlands",
    "Salt marshes": "Coastal wetlands",
    "Salines": "Coastal wetlands",
    "Intertidal flats": None,
    "Water courses": "Inland waters",
    "Water bodies": "Inland waters",
    "Coastal lagoons": "Marine waters",
    "Estuaries": "Marine waters",
    "Sea and ocean": "Marine waters",
}
"""The 43 CORINE level-3 names of BigEarthNet v1.0 -> their 19-class name, or None (dropped)."""


class UnknownLabelError(ValueError):
    """A label name outside the nomenclature the layout promises."""


def map_corine_labels(names: Iterable[str]) -> list[str]:
    """19-class names of a v1.0 patch's CORINE labels (sorted in the official order, no repeats);
    raises :class:`UnknownLabelError` naming the first unknown name."""
    mapped = set()
    for name in names:
        if name not in CORINE_TO_19:
            raise UnknownLabelError(f"unknown CORINE label {name!r}")
        if CORINE_TO_19[name] is not None:
            mapped.add(CORINE_TO_19[name])
    return sorted(mapped, key=CLASS_INDEX.__getitem__)


def check_19_class_labels(names: Iterable[str]) -> list[str]:
    """The 19-class names of a v2.0 patch in the official order; raises :class:`UnknownLabelError`."""
    names = list(names)
    for name in names:
        if name not in CLASS_INDEX:
            raise UnknownLabelError(f"unknown 19-class label {name!r}")
    return sorted(set(names), key=CLASS_INDEX.__getitem__)


def multi_hot(names: Iterable[str]) -> np.ndarray:
    """float32 vector of length 19 with ones at the classes named (official order)."""
    vector = np.zeros(len(CLASSES_19), dtype=np.float32)
    vector[[CLASS_INDEX[n] for n in names]] = 1.0
    return vector


ACCEPTED_19 = "the 19 class names of BigEarthNet v2.0: " + "; ".join(CLASSES_19)
ACCEPTED_43 = "the 43 CORINE level-3 names of BigEarthNet v1.0 (lmc_bench.data.bigearthnet.labels.CORINE_TO_19)"
