"""Reading the band GeoTIFFs of one patch with rasterio, every band on the 120 x 120 grid.

A 10 m band is read as it is; a 20 m (60 x 60) or 60 m (20 x 20) band is resampled at read time
with rasterio's ``out_shape`` (GDAL's resampling; bilinear by default, nearest as an option).
Values stay uint16 (Sentinel-2 L2A reflectance x 10,000).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..roots import CorruptDatasetError, DatasetNotFoundError
from .bands import BANDS, PATCH_SIZE

RESAMPLINGS = ("bilinear", "nearest")


def band_path(folder: Path, patch_id: str, band: str) -> Path:
    return folder / f"{patch_id}_{band}.tif"


def read_patch(folder: Path, patch_id: str, bands: tuple[str, ...], resampling: str = "bilinear") -> np.ndarray:
    """uint16 array C x 120 x 120 of ``bands`` (official names) of the patch in ``folder``."""
    if resampling not in RESAMPLINGS:
        raise ValueError(f"unknown resampling {resampling!r}; expected one of {', '.join(RESAMPLINGS)}")
    out = np.empty((len(bands), PATCH_SIZE, PATCH_SIZE), dtype=np.uint16)
    for channel, band in enumerate(bands):
        out[channel] = read_band(band_path(folder, patch_id, band), band, resampling)
    return out


def read_band(path: Path, band: str, resampling: str = "bilinear") -> np.ndarray:
    """One band as uint16 120 x 120, after checking its size against the band's resolution."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError

    expected = BANDS[band].native_size
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path}: missing; patch {path.parent.name} has no band {band}; re-extract the patch, or choose bands "
            f"it has")
    try:
        with rasterio.open(path) as source:
            if (source.count, source.height, source.width) != (1, expected, expected) or source.dtypes[0] != "uint16":
                raise CorruptDatasetError(
                    f"{path}: {source.count} band(s) of {source.height} x {source.width} {source.dtypes[0]}, expected one "
                    f"uint16 band of {expected} x {expected} ({band} has {BANDS[band].resolution_m} m pixels); "
                    f"re-extract the patch")
            if expected == PATCH_SIZE:
                return source.read(1)
            return source.read(1, out_shape=(PATCH_SIZE, PATCH_SIZE), resampling=getattr(Resampling, resampling))
    except RasterioIOError as error:
        raise CorruptDatasetError(f"{path}: not a readable GeoTIFF ({error}); re-extract the patch") from None
