"""BigEarthNet input speed: the GeoTIFF reader, packing, and the packed cache (patches per second).

The data are the five usable real example patches of bigearthnet-common, linked under
``N_PATCHES`` patch names into a v1.0 root (real GeoTIFFs, real sizes; the files are few, so both
the raw reader and the cache read from the page cache: the figures are decoding and copying costs,
not disk speed).

- raw: ``BigEarthNet(root, "train", bands)[i]`` for every patch (rasterio opens one file per band);
- pack: ``pack_bigearthnet`` of the five bands the claims use, in ``PACK_WORKERS`` processes;
- cache: standardised float32 batches of 256 random rows from the memory-mapped arrays, as training reads them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from fixtures.bigearthnet import example_v1_root
from lmc_bench.data.bigearthnet import DEFAULT_PACK_BANDS, BigEarthNet, pack_bigearthnet
from lmc_bench.data.bigearthnet.domain import band_set
from lmc_bench.data.bigearthnet.images import PatchImages

N_PATCHES = 2000
PACK_WORKERS = 2
BATCH = 256
SELECTIONS = ("B02", "B11", "B04B03B02", "B11B08B02")


@pytest.fixture(scope="module")
def root(tmp_path_factory, matmul_ceiling):
    """A v1.0 root of N_PATCHES patches, each a link to one of the example patches' files (under names no
    official list holds; the matmul ceiling is measured only to print the device and load line)."""
    example = example_v1_root(tmp_path_factory.mktemp("example"))
    sources = [line for split in ("train", "test") for line in (example / f"{split}.csv").read_text().split()]
    root = tmp_path_factory.mktemp("root")
    names = []
    for i in range(N_PATCHES):
        source = sources[i % len(sources)]
        name = f"S2A_MSIL2A_20990101T000000_{i // 100}_{i % 100}"
        folder = root / name
        folder.mkdir()
        for path in (example / source).iterdir():
            (folder / path.name.replace(source, name)).symlink_to(path)
        names.append(name)
    (root / "train.csv").write_text("\n".join(names[: N_PATCHES // 2]))
    (root / "val.csv").write_text("")
    (root / "test.csv").write_text("\n".join(names[N_PATCHES // 2:]))
    return root


@pytest.fixture(scope="module")
def cache(root, tmp_path_factory, bench_rows):
    start = time.perf_counter()
    packed = pack_bigearthnet(root, tmp_path_factory.mktemp("cache") / "c", DEFAULT_PACK_BANDS, workers=PACK_WORKERS,
                              show_progress=False)
    seconds = time.perf_counter() - start
    bench_rows.append({"io": f"pack {' '.join(DEFAULT_PACK_BANDS)} ({PACK_WORKERS} workers)", "patches": N_PATCHES,
                       "seconds": seconds, "patches_per_s": N_PATCHES / seconds})
    return packed


@pytest.mark.parametrize("selection", SELECTIONS)
def test_raw_reader(benchmark, root, bench_rows, selection):
    dataset = BigEarthNet(root, "train", selection)
    n = 200
    benchmark.pedantic(lambda: [dataset[i] for i in range(n)], rounds=3, iterations=1, warmup_rounds=1)
    bench_rows.append({"io": f"raw GeoTIFF reader, {selection}", "patches": n, "seconds": benchmark.stats.stats.min,
                       "patches_per_s": n / benchmark.stats.stats.min})


@pytest.mark.parametrize("selection", SELECTIONS)
def test_cache_batches(benchmark, cache, bench_rows, selection):
    rows = cache.rows("train")
    images = PatchImages([band_set(cache, selection)], np.zeros(len(rows), dtype=np.int64), rows)
    order = np.random.default_rng(0).permutation(len(images))

    def epoch():
        for start in range(0, len(order), BATCH):
            images[order[start:start + BATCH]]

    benchmark.pedantic(epoch, rounds=3, iterations=1, warmup_rounds=1)
    bench_rows.append({"io": f"packed cache, {selection}, batches of {BATCH}", "patches": len(order),
                       "seconds": benchmark.stats.stats.min, "patches_per_s": len(order) / benchmark.stats.stats.min})
