"""Sentinel-2 bands of BigEarthNet-S2 (Appendix A, Table IV) and the band selections of Table II.

A *selection* is one band ("B02") or an ordered combination of bands ("B04B03B02", natural colour).
Users may write bands without the leading zero ("B4B3B2", "B8"), in any case, or by the names of
Appendix A ("natural_color", "color_infrared", "agriculture"); :func:`canonical_selection` turns every
spelling into one canonical string of official band names, the form stored in run specs.

Every patch is read at 120 x 120 pixels (the 10 m grid); 20 m bands (60 x 60) and 60 m bands
(20 x 20) are resampled at read time (Appendix A: "B11 images were up-sampled").
"""

from __future__ import annotations

import re
from typing import NamedTuple

PATCH_SIZE = 120
"""Side of a BigEarthNet-S2 patch on the 10 m grid (1.2 km)."""


class Band(NamedTuple):
    """One Sentinel-2 band as BigEarthNet-S2 ships it (Appendix A, Table IV)."""

    name: str
    resolution_m: int
    wavelength_nm: int
    """Central wavelength."""
    description: str

    @property
    def native_size(self) -> int:
        """Side in pixels of the band's GeoTIFF in a patch: 120 (10 m), 60 (20 m) or 20 (60 m)."""
        return PATCH_SIZE * 10 // self.resolution_m


BANDS: dict[str, Band] = {
    band.name: band
    for band in (
        Band("B01", 60, 443, "ultra blue (coastal aerosol)"),
        Band("B02", 10, 490, "blue"),
        Band("B03", 10, 560, "green"),
        Band("B04", 10, 665, "red"),
        Band("B05", 20, 705, "visible and near infrared (red edge)"),
        Band("B06", 20, 740, "visible and near infrared (red edge)"),
        Band("B07", 20, 783, "visible and near infrared (red edge)"),
        Band("B08", 10, 842, "visible and near infrared"),
        Band("B8A", 20, 865, "visible and near infrared (narrow)"),
        Band("B09", 60, 940, "water vapour"),
        Band("B11", 20, 1610, "short-wave infrared"),
        Band("B12", 20, 2190, "short-wave infrared"),
    )
}
"""The 12 bands of BigEarthNet-S2, in the official order; B10 (cirrus, 1375 nm) is not part of it."""

COMBINATIONS: dict[str, str] = {
    "natural_color": "B04B03B02",
    "color_infrared": "B08B04B03",
    "agriculture": "B11B08B02",
}
"""The band combinations of Appendix A (Table IV, bold rows)."""

PAPER_SINGLE_BANDS = ("B02", "B03", "B04", "B08")
"""The single bands the paper trains on (Appendix A, bold rows)."""

_TOKEN = re.compile(r"B(8A|1[0-2]|0?[0-9])", re.IGNORECASE)
_ALIASES = {name.replace("_", ""): value for name, value in COMBINATIONS.items()} | {"naturalcolour": "B04B03B02", "colourinfrared": "B08B04B03"}


def _band_name(token: str) -> str:
    token = token.upper()
    return "B8A" if token == "8A" else f"B{int(token):02d}"


def parse_selection(selection: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The official band names of a selection, in order: ``"B4B3B2"`` -> ``("B04", "B03", "B02")``.

    Accepts one string (bands written together, optionally separated by ``,``, ``+`` or spaces; a
    combination name of Appendix A) or a sequence of band names. Raises ValueError naming what is
    accepted.
    """
    if not isinstance(selection, str):
        return tuple(band for part in selection for band in parse_selection(part))
    text = selection.strip()
    alias = _ALIASES.get(re.sub(r"[\s_-]", "", text).lower())
    if alias is not None:
        text = alias
    compact = re.sub(r"[\s,+]", "", text)
    tokens = _TOKEN.findall(compact)
    if not compact or "".join(f"B{t}" for t in tokens).upper() != compact.upper():
        raise ValueError(f"cannot read band selection {selection!r}; {ACCEPTED}")
    names = tuple(_band_name(t) for t in tokens)
    for name in names:
        if name == "B10":
            raise ValueError(f"band selection {selection!r}: B10 (cirrus) is not part of BigEarthNet-S2; {ACCEPTED}")
        if name not in BANDS:
            raise ValueError(f"band selection {selection!r}: unknown band {name}; {ACCEPTED}")
    if len(set(names)) != len(names):
        raise ValueError(f"band selection {selection!r} names a band twice")
    return names


def canonical_selection(selection) -> str:
    """One canonical string per selection: official band names joined, e.g. ``"B04B03B02"``."""
    return "".join(parse_selection(selection))


def wavelength_gap_nm(first: str, second: str) -> int:
    """Difference of the central wavelengths of two single bands (Section IV-F: the size of the
    domain shift between them)."""
    (a,), (b,) = parse_selection(first), parse_selection(second)
    return abs(BANDS[a].wavelength_nm - BANDS[b].wavelength_nm)


def shared_bands(first: str, second: str) -> tuple[str, ...]:
    """Bands two selections have in common (Section IV-F: overlapping combinations)."""
    other = set(parse_selection(second))
    return tuple(b for b in parse_selection(first) if b in other)


ACCEPTED = (
    f"expected bands among {', '.join(BANDS)} (B2 for B02 is fine), written alone (\"B08\") or together "
    f"(\"B4B3B2\", \"B04,B03,B02\"), or a combination of Appendix A: "
    + ", ".join(f"{name} = {value}" for name, value in COMBINATIONS.items())
)
