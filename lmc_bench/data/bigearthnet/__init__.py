"""BigEarthNet-S2 (Section III-A, Appendix A): rasterio readers of v2.0 (reBEN) and v1.0, the packed
memory-mapped cache training reads, and the domain shift of Table II.

- :class:`BigEarthNet` (``BigEarthNet(root, split, bands, version="auto", resampling="bilinear")``):
  a torch Dataset of one split, read from the GeoTIFFs (layouts in :mod:`.layout`);
- :func:`pack_bigearthnet` / :class:`PackedCache`: the cache (``lmc-bench data pack-bigearthnet``);
- :mod:`.bands`: the band table of Appendix A and band selections; :mod:`.labels`: the 19 classes.
"""

from .bands import BANDS, COMBINATIONS, PAPER_SINGLE_BANDS, canonical_selection, parse_selection, wavelength_gap_nm
from .cache import DEFAULT_PACK_BANDS, CacheError, PackedCache, pack_bigearthnet
from .dataset import BigEarthNet
from .labels import CLASSES_19, CORINE_TO_19

__all__ = [
    "BANDS",
    "BigEarthNet",
    "CLASSES_19",
    "COMBINATIONS",
    "CORINE_TO_19",
    "CacheError",
    "DEFAULT_PACK_BANDS",
    "PAPER_SINGLE_BANDS",
    "PackedCache",
    "canonical_selection",
    "pack_bigearthnet",
    "parse_selection",
    "wavelength_gap_nm",
]
