"""BigEarthNet-S2 readers on the real example patches of bigearthnet-common: the v1.0 layout as
shipped, the same patches rebuilt as v2.0 (reBEN, tile and flat layouts), band selections and
resampling, the 43 -> 19 class map, the official lists, and every bad input naming the file and the fix."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from fixtures.bigearthnet import SNOW_PATCH, example_v1_root, v2_patch_id, write_band, write_v2_root
from lmc_bench.data import CorruptDatasetError, DatasetNotFoundError
from lmc_bench.data.bigearthnet import BANDS, CLASSES_19, CORINE_TO_19, BigEarthNet, canonical_selection, parse_selection
from lmc_bench.data.bigearthnet import official

TRAIN = ["S2A_MSIL2A_20170617T113321_36_85", "S2A_MSIL2A_20170617T113321_4_55", "S2A_MSIL2A_20171221T112501_56_35"]
TEST = ["S2A_MSIL2A_20170613T101031_87_48", "S2B_MSIL2A_20170924T93020_69_24"]
EXPECTED_LABELS = {  # the label JSONs of the example patches, mapped by hand to the 19 classes
    "S2A_MSIL2A_20170617T113321_36_85": ("Arable land", "Pastures"),
    "S2A_MSIL2A_20170617T113321_4_55": ("Pastures",),
    "S2A_MSIL2A_20171221T112501_56_35": ("Complex cultivation patterns",
                                         "Land principally occupied by agriculture, with significant areas of natural vegetation",
                                         "Broad-leaved forest", "Transitional woodland, shrub"),
    "S2A_MSIL2A_20170613T101031_87_48": ("Arable land",
                                         "Land principally occupied by agriculture, with significant areas of natural vegetation"),
    "S2B_MSIL2A_20170924T93020_69_24": ("Coniferous forest", "Mixed forest", "Transitional woodland, shrub",
                                        "Inland wetlands", "Inland waters"),
}


@pytest.fixture(scope="module")
def v1_root(tmp_path_factory):
    return example_v1_root(tmp_path_factory.mktemp("v1"))


@pytest.fixture(scope="module")
def v2_root(tmp_path_factory, v1_root):
    return write_v2_root(v1_root, tmp_path_factory.mktemp("v2"))


@pytest.fixture
def own_v1_root(tmp_path):
    """A v1 root the test may damage."""
    return example_v1_root(tmp_path)


# --- reading what is on disk --------------------------------------------------------------------


def test_v1_example_patches_through_the_public_dataset(v1_root, caplog):
    with caplog.at_level(logging.INFO, logger="lmc_bench.data.bigearthnet"):
        train = BigEarthNet(v1_root, "train", "B02")
    assert train.version == "v1" and train.patch_ids == TRAIN
    assert "dropped 1 patch with seasonal snow" in caplog.text
    image, target = train[0]
    assert image.dtype == torch.float32 and image.shape == (1, 120, 120)
    assert target.dtype == torch.float32 and target.shape == (19,)
    for patch_id, row in zip(train.patch_ids, train.targets):
        assert tuple(CLASSES_19[i] for i in np.flatnonzero(row)) == EXPECTED_LABELS[patch_id]
    assert BigEarthNet(v1_root, "test", "B08").patch_ids == TEST
    assert len(BigEarthNet(v1_root, "val", "B08")) == 0


def test_v1_values_are_the_geotiff_values(v1_root):
    import rasterio

    train = BigEarthNet(v1_root, "train", ["B02", "B08"])
    patch = train.patch_ids[1]
    for channel, band in enumerate(("B02", "B08")):
        with rasterio.open(v1_root / patch / f"{patch}_{band}.tif") as source:
            np.testing.assert_array_equal(train[1][0][channel].numpy(), source.read(1).astype(np.float32))


@pytest.mark.parametrize("band, factor", [("B05", 2), ("B11", 2), ("B01", 6), ("B09", 6)])
def test_coarse_bands_resampled_to_120(v1_root, band, factor):
    """Nearest resampling repeats each native pixel (factor x factor); bilinear stays within the native range."""
    import rasterio

    patch = TRAIN[0]
    with rasterio.open(v1_root / patch / f"{patch}_{band}.tif") as source:
        native = source.read(1)
    assert native.shape == (120 // factor,) * 2
    nearest = BigEarthNet(v1_root, "train", band, resampling="nearest").read(0)[0]
    np.testing.assert_array_equal(nearest, np.repeat(np.repeat(native, factor, 0), factor, 1))
    bilinear = BigEarthNet(v1_root, "train", band).read(0)[0]
    assert bilinear.dtype == np.uint16 and bilinear.shape == (120, 120)
    assert native.min() <= bilinear.min() and bilinear.max() <= native.max() and not np.array_equal(bilinear, nearest)


def test_combination_channels_follow_the_named_order(v1_root):
    combined = BigEarthNet(v1_root, "test", "natural_color").read(0)
    singles = [BigEarthNet(v1_root, "test", band).read(0)[0] for band in ("B04", "B03", "B02")]
    np.testing.assert_array_equal(combined, np.stack(singles))
    agriculture = BigEarthNet(v1_root, "test", "B11B8B2")
    assert agriculture.bands == ("B11", "B08", "B02") and agriculture[0][0].shape == (3, 120, 120)


@pytest.mark.parametrize("flat", [False, True], ids=["tile-layout", "flat-layout"])
def test_v2_tree_reads_the_same_patches_as_v1(tmp_path, v1_root, flat):
    root = write_v2_root(v1_root, tmp_path / "v2", flat=flat)
    for split in ("train", "test"):
        v1, v2 = BigEarthNet(v1_root, split, "B11B08B02"), BigEarthNet(root, split, "B11B08B02")
        assert v2.version == "v2"
        by_v1_name = {v2_patch_id(v1_root, name): name for name in v1.patch_ids}
        assert sorted(by_v1_name) == v2.patch_ids
        for i, patch_id in enumerate(v2.patch_ids):
            j = v1.patch_ids.index(by_v1_name[patch_id])
            np.testing.assert_array_equal(v2.read(i), v1.read(j))
            np.testing.assert_array_equal(v2.targets[i], v1.targets[j])


def test_version_is_detected_or_required(tmp_path, v1_root, v2_root):
    assert BigEarthNet(v2_root, "test", "B02").version == "v2"
    (tmp_path / "BigEarthNet-v1.0").symlink_to(v1_root)
    for name in ("train.csv", "val.csv", "test.csv"):
        shutil.copyfile(v1_root / name, tmp_path / name)
    nested = BigEarthNet(tmp_path, "test", "B02", version="v1")
    assert nested.layout.patches_dir == tmp_path / "BigEarthNet-v1.0" and nested.patch_ids == TEST
    with pytest.raises(DatasetNotFoundError, match="(?s)BigEarthNet v2.0: not found under .*ROOT/metadata.parquet"):
        BigEarthNet(v1_root, "test", "B02", version="v2")
    with pytest.raises(DatasetNotFoundError, match="not a folder"):
        BigEarthNet(v1_root / "nowhere", "test", "B02")
    with pytest.raises(ValueError, match="unknown BigEarthNet split 'dev'"):
        BigEarthNet(v1_root, "dev", "B02")


def test_v2_drops_flagged_rows_with_a_count(tmp_path, v1_root, caplog):
    root = write_v2_root(v1_root, tmp_path / "v2")
    metadata = pd.read_parquet(root / "metadata.parquet")
    metadata.loc[metadata["split"] == "test", "contains_cloud_or_shadow"] = [True, False]
    metadata.to_parquet(root / "metadata.parquet", index=False)
    with caplog.at_level(logging.INFO, logger="lmc_bench.data.bigearthnet"):
        assert len(BigEarthNet(root, "test", "B02")) == 1
    assert "1 patch with seasonal snow, 1 patch with cloud or shadow" in caplog.text


# --- nomenclature, bands, official lists --------------------------------------------------------


def test_43_to_19_class_map():
    assert len(CORINE_TO_19) == 43 and sum(v is None for v in CORINE_TO_19.values()) == 11
    assert set(CORINE_TO_19.values()) - {None} == set(CLASSES_19) and len(CLASSES_19) == 19


@pytest.mark.parametrize("spelling, names", [
    ("B4B3B2", ("B04", "B03", "B02")), ("B04,B03,B02", ("B04", "B03", "B02")), ("natural_color", ("B04", "B03", "B02")),
    ("Color Infrared", ("B08", "B04", "B03")), ("agriculture", ("B11", "B08", "B02")), ("b8", ("B08",)),
    ("B8A", ("B8A",)), ("B12B1", ("B12", "B01")), (["B2", "B8"], ("B02", "B08")),
])
def test_band_selections(spelling, names):
    assert parse_selection(spelling) == names and canonical_selection(spelling) == "".join(names)


@pytest.mark.parametrize("spelling, message", [("B10", "cirrus"), ("B13", "cannot read"), ("red", "cannot read"),
                                               ("B2B2", "twice"), ("", "cannot read")])
def test_bad_band_selections(spelling, message):
    with pytest.raises(ValueError, match=message):
        parse_selection(spelling)


def test_band_table_of_appendix_a():
    assert [b.native_size for b in BANDS.values()] == [20, 120, 120, 120, 60, 60, 60, 120, 60, 20, 60, 60]
    assert BANDS["B11"].wavelength_nm == 1610 and "B10" not in BANDS


def test_official_lists_come_from_bigearthnet_common():
    import sys

    assert set(TRAIN) | {"S2B_MSIL2A_20170924T93020_69_24"} <= official.official_split("train")
    assert TEST[0] in official.official_split("test")
    assert SNOW_PATCH in official.official_drops()["seasonal snow"]
    assert len(official.official_split("validation")) == 123_723
    assert not [m for m in sys.modules if m.startswith("bigearthnet_common.")]


def test_missing_bigearthnet_common_names_the_fix(monkeypatch):
    monkeypatch.setattr(official, "PACKAGE", "bigearthnet_common_not_installed")
    with pytest.raises(FileNotFoundError, match="pip install bigearthnet-common"):
        official.package_file("train.csv.bz2")


def test_official_split_is_used_without_root_lists(tmp_path):
    """Without ROOT/train.csv ... the official lists apply: they name patches this copy lacks."""
    root = example_v1_root(tmp_path, split_lists=False)
    with pytest.raises(DatasetNotFoundError, match=r"the official test list of bigearthnet-common names patch S2\w+, "
                                                   r"which has no folder .*list only the patches you have"):
        BigEarthNet(root, "test", "B02")


# --- bad input: one clear error naming the patch or file, and the fix ----------------------------


def test_patch_missing_a_band(own_v1_root):
    (own_v1_root / TRAIN[2] / f"{TRAIN[2]}_B11.tif").unlink()
    dataset = BigEarthNet(own_v1_root, "train", "B11")
    with pytest.raises(DatasetNotFoundError, match=rf"{TRAIN[2]}_B11.tif: missing; patch {TRAIN[2]} has no band B11; re-extract"):
        dataset.read(2)
    assert dataset.read(1).shape == (1, 120, 120)


def test_band_of_unexpected_size(own_v1_root):
    path = write_band(own_v1_root / TRAIN[0] / f"{TRAIN[0]}_B05.tif", np.ones((120, 120)))
    with pytest.raises(CorruptDatasetError, match=rf"{path.name}: 1 band\(s\) of 120 x 120 uint16, expected one uint16 "
                                                  r"band of 60 x 60 \(B05 has 20 m pixels\); re-extract the patch"):
        BigEarthNet(own_v1_root, "train", "B05").read(0)


def test_unreadable_band(own_v1_root):
    (own_v1_root / TRAIN[0] / f"{TRAIN[0]}_B02.tif").write_bytes(b"not a tiff")
    with pytest.raises(CorruptDatasetError, match=rf"{TRAIN[0]}_B02.tif: not a readable GeoTIFF"):
        BigEarthNet(own_v1_root, "train", "B02").read(0)


def test_unknown_label_name_in_v1_json(own_v1_root):
    path = own_v1_root / TEST[1] / f"{TEST[1]}_labels_metadata.json"
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps({**metadata, "labels": ["Mixed forest", "Lunar regolith"]}))
    with pytest.raises(CorruptDatasetError, match=rf"{path.name}: unknown CORINE label 'Lunar regolith'; expected the 43"):
        BigEarthNet(own_v1_root, "test", "B02")


def test_unknown_label_name_in_v2_metadata(tmp_path, v1_root):
    root = write_v2_root(v1_root, tmp_path / "v2")
    metadata = pd.read_parquet(root / "metadata.parquet")
    metadata.at[0, "labels"] = ["Arable land", "Arable lands"]
    metadata.to_parquet(root / "metadata.parquet", index=False)
    with pytest.raises(CorruptDatasetError, match=rf"metadata.parquet: patch {metadata.at[0, 'patch_id']}: unknown 19-class "
                                                  r"label 'Arable lands'; expected the 19 class names"):
        BigEarthNet(root, "train", "B02")


def test_split_list_naming_a_missing_patch(own_v1_root):
    (own_v1_root / "test.csv").write_text(f"{TEST[0]}\nS2A_MSIL2A_20170613T101031_99_99\n")
    with pytest.raises(DatasetNotFoundError, match=r"test.csv names patch S2A_MSIL2A_20170613T101031_99_99, which has no "
                                                   r"folder .*restore the patch"):
        BigEarthNet(own_v1_root, "test", "B02")


def test_split_lists_in_root_must_cover_the_split(own_v1_root):
    (own_v1_root / "val.csv").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"no val.csv for split 'validation'"):
        BigEarthNet(own_v1_root, "validation", "B02")


def test_v1_patch_without_label_json(own_v1_root):
    (own_v1_root / TRAIN[0] / f"{TRAIN[0]}_labels_metadata.json").unlink()
    with pytest.raises(DatasetNotFoundError, match=rf"{TRAIN[0]}_labels_metadata.json: missing"):
        BigEarthNet(own_v1_root, "train", "B02")


def test_metadata_parquet_without_the_needed_columns(tmp_path, v1_root):
    root = write_v2_root(v1_root, tmp_path / "v2")
    pd.read_parquet(root / "metadata.parquet").drop(columns=["labels", "split"]).to_parquet(root / "metadata.parquet")
    with pytest.raises(CorruptDatasetError, match=r"metadata.parquet: missing column\(s\) labels, split; .*re-download"):
        BigEarthNet(root, "train", "B02")
    (root / "metadata.parquet").write_text("not parquet")
    with pytest.raises(CorruptDatasetError, match="metadata.parquet: not a readable parquet file"):
        BigEarthNet(root, "train", "B02")


def test_v2_patch_listed_without_folder(tmp_path, v1_root):
    root = write_v2_root(v1_root, tmp_path / "v2")
    patch_id = pd.read_parquet(root / "metadata.parquet").query("split == 'test'")["patch_id"].iloc[0]
    shutil.rmtree(root / "BigEarthNet-S2" / patch_id.rsplit("_", 2)[0] / patch_id)
    dataset = BigEarthNet(root, "test", "B02")
    with pytest.raises(DatasetNotFoundError, match=rf"patch {patch_id} is listed in .*metadata.parquet but has no folder"):
        dataset.read(dataset.patch_ids.index(patch_id))


def test_nothing_is_written_into_the_root(v1_root):
    before = sorted((str(p), p.stat().st_mtime_ns) for p in v1_root.rglob("*"))
    BigEarthNet(v1_root, "train", "B11B08B02")[0]
    assert sorted((str(p), p.stat().st_mtime_ns) for p in v1_root.rglob("*")) == before
