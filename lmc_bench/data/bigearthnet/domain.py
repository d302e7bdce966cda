"""The domain shift of Table II on a packed BigEarthNet cache (Section IV-F).

Subset 1 = every training patch in band selection Bi, subset 2 = the same patches in Bj; under the
same SGD noise both copies visit the same patch (with the same labels) at the same position. The
test set holds every test patch in both selections (2 x N_test images). Each band is standardised
with its mean and standard deviation over the training split (the "centered" normalisation of the
other datasets, per band).

Where the data comes from:

- ``bigearthnet``: a cache packed by ``lmc-bench data pack-bigearthnet``, at ``ROOT/bigearthnet-cache``
  or ``ROOT`` itself (``ROOT`` = ``--data-root``);
- ``bigearthnet_example``: the six real example patches of ``bigearthnet-common``, extracted and
  packed on first use into the lmc-bench cache folder (``$LMC_BENCH_CACHE``, else
  ``$XDG_CACHE_HOME/lmc-bench``, else ``~/.cache/lmc-bench``). Its split lists are our own: the
  official split leaves one example patch for testing, on which weighted AP cannot vary, so three
  official training patches train and the official test patch plus one training patch test (the
  sixth patch, listed for training, has seasonal snow and is dropped). A pipeline check, never
  evidence.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock

from ...config import DOMAIN_DATASETS
from ..roots import DatasetNotFoundError
from . import official
from .bands import parse_selection
from .cache import DEFAULT_PACK_BANDS, MANIFEST, PackedCache, pack_bigearthnet
from .images import BandSet, PatchImages

CACHE_FOLDER = "bigearthnet-cache"

EXAMPLE_SPLITS = {
    "train": ("S2A_MSIL2A_20170617T113321_36_85", "S2A_MSIL2A_20170617T113321_4_55",
              "S2A_MSIL2A_20171221T112501_56_35", "S2B_MSIL2A_20180204T94161_57_38"),
    "val": (),
    "test": ("S2A_MSIL2A_20170613T101031_87_48", "S2B_MSIL2A_20170924T93020_69_24"),
}
"""Split lists of the pipeline check (see the module docstring)."""
ALL_BANDS_OF_EXAMPLE = "B01B02B03B04B05B06B07B08B8AB09B11B12"


def cache_home() -> Path:
    """Where lmc-bench keeps derived data it can rebuild (never inside a data root)."""
    if os.environ.get("LMC_BENCH_CACHE"):
        return Path(os.environ["LMC_BENCH_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmc-bench"


def find_cache(root: str | Path | None) -> PackedCache:
    """The packed cache under the data root: ``ROOT/bigearthnet-cache`` or ``ROOT`` itself."""
    if root is None:
        raise DatasetNotFoundError(f"BigEarthNet: no data root was given.\n{_CACHE_HELP}")
    root = Path(root).expanduser()
    for folder in (root / CACHE_FOLDER, root):
        if (folder / MANIFEST).is_file():
            return PackedCache.open(folder)
    raise DatasetNotFoundError(f"BigEarthNet: no packed cache under data root {root} (looked for "
                               f"{root / CACHE_FOLDER / MANIFEST} and {root / MANIFEST}).\n{_CACHE_HELP}")


_CACHE_HELP = (
    "Training reads BigEarthNet from a packed cache: run\n"
    f"  lmc-bench data pack-bigearthnet --root BIGEARTHNET --out ROOT/{CACHE_FOLDER} --bands {' '.join(DEFAULT_PACK_BANDS)}\n"
    "(BIGEARTHNET holds v2.0 metadata.parquet + BigEarthNet-S2/, or v1.0 patch folders), then pass --data-root ROOT."
)


def example_cache(resampling: str = "bilinear") -> PackedCache:
    """The packed cache of the six real example patches (built once, under a file lock)."""
    home = cache_home() / "bigearthnet-example"
    out = home / f"cache-{resampling}"
    if (out / MANIFEST).is_file():
        cache = PackedCache.open(out)
        if set(parse_selection(ALL_BANDS_OF_EXAMPLE)) <= set(cache.bands):
            return cache
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / ".build.lock")):
        root = write_example_root(home / "raw")
        return pack_bigearthnet(root, out, ALL_BANDS_OF_EXAMPLE, version="v1", resampling=resampling, workers=0,
                                show_progress=False)


def write_example_root(destination: Path) -> Path:
    """The example patches as a v1.0 root with the pipeline check's split lists."""
    root = official.extract_example(destination)
    for split, names in EXAMPLE_SPLITS.items():
        path = root / f"{split}.csv"
        if not path.is_file():
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text("".join(f"{n}\n" for n in names))
            tmp.replace(path)
    return root


def domain_cache(dataset: str, root: str | Path | None, resampling: str) -> PackedCache:
    if dataset == "bigearthnet_example":
        return example_cache(resampling)
    if dataset != "bigearthnet":
        raise ValueError(f"the domain shift is defined for {', '.join(DOMAIN_DATASETS)}, not {dataset!r}")
    cache = find_cache(root)
    if cache.resampling != resampling:
        raise ValueError(f"{cache.path}: packed with {cache.resampling} resampling, the run asks for {resampling}; "
                         f"pack a cache with --resampling {resampling} into another folder")
    return cache


def band_set(cache: PackedCache, selection: str) -> BandSet:
    bands = cache.require(selection)
    stats = [cache.statistics(b) for b in bands]
    return BandSet(tuple(str(cache.band_path(b)) for b in bands), tuple(m for m, _ in stats), tuple(s for _, s in stats))


def domain_shift_data(spec, root: str | Path | None):
    """The fields of :class:`~lmc_bench.data.prepare.PreparedData` for a domain-shift DataSpec
    (Table II), as a dict."""
    cache = domain_cache(spec.dataset, root, spec.resampling)
    sets = [band_set(cache, selection) for selection in spec.bands]
    train_rows, test_rows = cache.rows("train"), cache.rows("test")
    for split, rows in (("train", train_rows), ("test", test_rows)):
        if len(rows) == 0:
            raise ValueError(f"{cache.path}: no {split} patches; the domain shift needs both splits")

    def both(rows: np.ndarray) -> tuple[PatchImages, torch.Tensor]:
        images = PatchImages(sets, np.repeat([0, 1], len(rows)), np.concatenate([rows, rows]))
        return images, torch.from_numpy(np.concatenate([cache.targets[rows], cache.targets[rows]]))

    train_x, train_y = both(train_rows)
    test_x, test_y = both(test_rows)
    n = len(train_rows)
    return dict(train_x=train_x, train_y=train_y, subset_a=torch.arange(n), subset_b=torch.arange(n, 2 * n),
                test_x=test_x, test_y=test_y)


def data_problem(dataset: str, root: str | Path | None) -> str:
    """"" when ``dataset`` can be read (a packed cache under ``root``; the example patches of an
    installed bigearthnet-common), else the reason with the fix."""
    try:
        if dataset == "bigearthnet_example":
            official.package_file(official.EXAMPLE_ARCHIVE)
        else:
            find_cache(root)
    except (FileNotFoundError, ValueError) as error:
        return " ".join(line.strip() for line in str(error).splitlines())
    return ""
