"""The packed BigEarthNet cache: bit-exact round trip against the GeoTIFF reader (v1.0 and v2.0),
parallel packing equal to serial, resuming after an interruption, adding bands, standardisation
statistics, and the errors of a cache that cannot serve a request."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fixtures.bigearthnet import example_v1_root, write_v2_root
from lmc_bench import cli
from lmc_bench.data.bigearthnet import BANDS, BigEarthNet, CacheError, PackedCache, pack_bigearthnet
from lmc_bench.data.bigearthnet import cache as cache_module

ALL_BANDS = tuple(BANDS)


@pytest.fixture(scope="module")
def v1_root(tmp_path_factory):
    return example_v1_root(tmp_path_factory.mktemp("v1"))


@pytest.fixture(scope="module")
def packed(tmp_path_factory, v1_root):
    return pack_bigearthnet(v1_root, tmp_path_factory.mktemp("cache") / "c", ALL_BANDS, workers=0, show_progress=False)


def cache_files(cache: PackedCache) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((cache.path / "bands").iterdir())}


def assert_matches_reader(cache: PackedCache, root, bands=ALL_BANDS):
    for split in ("train", "test"):
        reader = BigEarthNet(root, split, list(bands))
        rows = cache.rows(split)
        assert cache.index["patch_id"].to_numpy()[rows].tolist() == reader.patch_ids
        np.testing.assert_array_equal(cache.targets[rows], reader.targets)
        for i, row in enumerate(rows):
            expected = reader.read(i)
            for channel, band in enumerate(bands):
                assert np.array_equal(cache.array(band)[row], expected[channel]), (split, band, reader.patch_ids[i])


def test_cache_round_trips_bit_exactly(packed, v1_root):
    assert packed.bands == ALL_BANDS and packed.manifest["splits"] == {"train": 3, "validation": 0, "test": 2}
    assert_matches_reader(packed, v1_root)
    assert not [p for p in (packed.path / "bands").iterdir() if p.name.startswith(".")]


def test_cache_of_a_v2_tree_holds_the_same_images(tmp_path, v1_root, packed):
    root = write_v2_root(v1_root, tmp_path / "v2")
    v2 = pack_bigearthnet(root, tmp_path / "c2", ("B02", "B11"), workers=0, show_progress=False)
    assert v2.manifest["version"] == "v2"
    assert_matches_reader(v2, root, ("B02", "B11"))
    for band in ("B02", "B11"):
        assert sorted(map(bytes, v2.array(band))) == sorted(map(bytes, packed.array(band)))


def test_parallel_packing_equals_serial(tmp_path, v1_root, packed):
    parallel = pack_bigearthnet(v1_root, tmp_path / "p", ("B04", "B8A"), workers=2, chunk_patches=1, show_progress=False)
    for band in ("B04", "B8A"):
        assert parallel.band_path(band).read_bytes() == packed.band_path(band).read_bytes()


def test_statistics_are_those_of_the_training_split(packed):
    train = packed.rows("train")
    for band in ("B02", "B11"):
        values = np.asarray(packed.array(band)[train], dtype=np.float64)
        mean, std = packed.statistics(band)
        assert mean == pytest.approx(values.mean(), rel=1e-12) and std == pytest.approx(values.std(), rel=1e-12)


def test_interrupted_packing_resumes_to_the_same_cache(tmp_path, v1_root, packed, monkeypatch):
    """An interruption after two chunks leaves a cache without the band (it never reads as complete);
    the same call again packs only the missing chunks and ends bit-identical to an uninterrupted pack."""
    real_read, calls = cache_module.read_patch, []

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[1])
        return real_read(*args, **kwargs)

    monkeypatch.setattr(cache_module, "read_patch", interrupted)
    out = tmp_path / "c"
    with pytest.raises(KeyboardInterrupt):
        pack_bigearthnet(v1_root, out, ("B03", "B12"), workers=0, chunk_patches=1, show_progress=False)
    half = PackedCache.open(out)
    assert half.bands == () and np.load(out / "bands" / ".B03.progress.npy").tolist() == [True, True, False, False, False]
    with pytest.raises(CacheError, match="holds bands \\(none yet\\), not B03"):
        half.array("B03")
    monkeypatch.setattr(cache_module, "read_patch", lambda *a, **k: calls.append(a[1]) or real_read(*a, **k))
    resumed = pack_bigearthnet(v1_root, out, ("B03", "B12"), workers=0, chunk_patches=1, show_progress=False)
    assert len(calls) == 5  # 2 before the interruption, 3 after it
    for band in ("B03", "B12"):
        assert resumed.band_path(band).read_bytes() == packed.band_path(band).read_bytes()
    assert sorted(p.name for p in (out / "bands").iterdir()) == ["B03.npy", "B12.npy"]


def test_failed_packing_leaves_no_complete_band(tmp_path, packed):
    """A missing band file stops packing before anything is written; an unreadable one stops it midway,
    the band is not listed, and once the file is restored the same command finishes the band."""
    root = example_v1_root(tmp_path / "broken")
    band_file = root / "S2A_MSIL2A_20170617T113321_4_55" / "S2A_MSIL2A_20170617T113321_4_55_B05.tif"
    original = band_file.read_bytes()
    band_file.unlink()
    with pytest.raises(FileNotFoundError, match="4_55_B05.tif: missing; patch .* has no band B05"):
        pack_bigearthnet(root, tmp_path / "c", ("B05",), workers=0, show_progress=False)
    assert PackedCache.open(tmp_path / "c").bands == () and list((tmp_path / "c" / "bands").iterdir()) == []
    band_file.write_bytes(b"II*\x00 truncated")
    with pytest.raises(ValueError, match="4_55_B05.tif: not a readable GeoTIFF"):
        pack_bigearthnet(root, tmp_path / "c", ("B05",), workers=0, chunk_patches=1, show_progress=False)
    assert PackedCache.open(tmp_path / "c").bands == ()
    band_file.write_bytes(original)
    finished = pack_bigearthnet(root, tmp_path / "c", ("B05",), workers=0, chunk_patches=1, show_progress=False)
    assert finished.band_path("B05").read_bytes() == packed.band_path("B05").read_bytes()


def test_bands_are_added_to_an_existing_cache(tmp_path, v1_root, packed):
    out = tmp_path / "c"
    pack_bigearthnet(v1_root, out, ("B02",), workers=0, show_progress=False)
    first = (out / "bands" / "B02.npy").stat().st_mtime_ns
    grown = pack_bigearthnet(v1_root, out, ("B02", "B08"), workers=0, show_progress=False)
    assert grown.bands == ("B02", "B08") and (out / "bands" / "B02.npy").stat().st_mtime_ns == first
    assert grown.band_path("B08").read_bytes() == packed.band_path("B08").read_bytes()


def test_cache_from_other_bands_names_the_fix(packed, tmp_path, v1_root):
    small = pack_bigearthnet(v1_root, tmp_path / "c", ("B02",), workers=0, show_progress=False)
    with pytest.raises(CacheError, match=rf"holds bands B02, not B11, B08; add them with lmc-bench data pack-bigearthnet "
                                         rf"--root {v1_root} --out {small.path} --bands B11 B08"):
        small.require("B11B8B2")


@pytest.mark.parametrize("make, message", [
    (lambda out: (out / "notes.txt").write_text("mine"), "not empty and not a packed BigEarthNet cache"),
    (lambda out: (out / "manifest.json").write_text("{"), "manifest.json: unreadable"),
    (lambda out: (out / "manifest.json").write_text(json.dumps({"format": 99})), "cache format 99"),
])
def test_bad_output_folders(tmp_path, v1_root, make, message):
    out = tmp_path / "out"
    out.mkdir()
    make(out)
    with pytest.raises(CacheError, match=message):
        pack_bigearthnet(v1_root, out, ("B02",), workers=0, show_progress=False)


def test_cache_of_other_patches_or_resampling_is_refused(tmp_path, v1_root):
    out = tmp_path / "c"
    pack_bigearthnet(v1_root, out, ("B02",), workers=0, show_progress=False)
    with pytest.raises(CacheError, match="packed with bilinear resampling, not nearest; choose another --out"):
        pack_bigearthnet(v1_root, out, ("B05",), resampling="nearest", workers=0, show_progress=False)
    other = example_v1_root(tmp_path / "other")
    (other / "test.csv").write_text("S2A_MSIL2A_20170613T101031_87_48\n")
    with pytest.raises(CacheError, match="holds a cache of other patches \\(5 packed from .*, 4 found under"):
        pack_bigearthnet(other, out, ("B02",), workers=0, show_progress=False)


def test_not_a_cache(tmp_path):
    with pytest.raises(CacheError, match="not a packed BigEarthNet cache .*lmc-bench data pack-bigearthnet"):
        PackedCache.open(tmp_path)


def test_cli_packs_and_reports_errors(tmp_path, v1_root, capsys):
    out = tmp_path / "cli-cache"
    assert cli.main(["data", "pack-bigearthnet", "--root", str(v1_root), "--out", str(out), "--bands", "B02", "B8",
                     "--workers", "0"]) == 0
    printed = capsys.readouterr()
    assert "5 patches (3 train, 0 validation, 2 test), bands B02 B08" in printed.out
    assert "dropped 1 patch with seasonal snow" in printed.err
    assert PackedCache.open(out).bands == ("B02", "B08")
    assert cli.main(["data", "pack-bigearthnet", "--root", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "not a folder" in capsys.readouterr().err
