"""The packed cache of BigEarthNet-S2: one memory-mapped uint16 array per band, read by training.

A GeoTIFF per band per patch cannot feed a GPU; :func:`pack_bigearthnet` converts a copy once::

    OUT/manifest.json     format, source, resampling, patch counts, and per complete band its
                          standardisation statistics over the training split
    OUT/index.parquet     row -> patch_id, split, labels (19-class names); the row order of every array
    OUT/bands/B02.npy     uint16 N x 120 x 120 (.npy, memory-mapped), after resampling to 120 x 120

Packing runs in worker processes, one chunk of patches per task, with a progress bar. It is
resumable: a band being packed lives in ``bands/.B02.partial.npy`` with a record of the finished
chunks (``bands/.B02.progress.npy``), so an interrupted run continues where it stopped; a lock file
(``.pack.lock``) keeps a second packer out while one runs. A band
appears in the manifest only after all its chunks are written and flushed and the file has been
renamed into place, so a cache never reads as complete when it is not. Bands can be added to an
existing cache later; its patches (the index) never change.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from ...progress import progress_bar
from ..roots import DatasetNotFoundError
from .bands import BANDS, PATCH_SIZE, parse_selection
from .dataset import targets_of
from .layout import SPLITS, Layout, detect_layout, scan_patches
from .raster import RESAMPLINGS, band_path, read_patch

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
INDEX = "index.parquet"
BANDS_DIR = "bands"
DEFAULT_PACK_BANDS = ("B02", "B03", "B04", "B08", "B11")
"""Every band the domain-shift claims train on (Appendix A: B2, B3, B4, B8 and, in the agriculture
combination, B11)."""
CHUNK_PATCHES = 512
LOCK = ".pack.lock"
"""Held while a process packs into the folder (two packers never write one cache)."""


class CacheError(ValueError):
    """A packed cache that cannot serve a request; names the cache and the fix."""


def _pack_command(source: str, out: Path, bands) -> str:
    return f"lmc-bench data pack-bigearthnet --root {source} --out {out} --bands {' '.join(bands)}"


def _write_atomic(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename the temporary sibling onto ``path`` (permissions as for
    any new file, not mkstemp's private ones)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, payload: dict) -> None:
    _write_atomic(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=1)))


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@dataclass
class PackedCache:
    """A packed cache folder; only bands the manifest lists as complete are served."""

    path: Path
    manifest: dict

    @classmethod
    def open(cls, path: str | Path) -> "PackedCache":
        path = Path(path).expanduser()
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise CacheError(f"{path}: not a packed BigEarthNet cache (no {MANIFEST}); pack one with "
                             f"{_pack_command('ROOT', path, DEFAULT_PACK_BANDS)}")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as error:
            raise CacheError(f"{manifest_path}: unreadable ({error}); delete {path} and pack it again") from None
        if manifest.get("format") != CACHE_FORMAT:
            raise CacheError(f"{manifest_path}: cache format {manifest.get('format')!r}, this lmc-bench reads format "
                             f"{CACHE_FORMAT}; pack the cache again into a new folder")
        return cls(path, manifest)

    @property
    def bands(self) -> tuple[str, ...]:
        """The complete bands, in the official band order."""
        return tuple(b for b in BANDS if b in self.manifest["bands"])

    @property
    def resampling(self) -> str:
        return self.manifest["resampling"]

    @cached_property
    def index(self) -> pd.DataFrame:
        frame = pd.read_parquet(self.path / INDEX)
        frame["labels"] = frame["labels"].map(tuple)
        return frame

    @cached_property
    def targets(self) -> np.ndarray:
        """float32 multi-hot N x 19 of every row."""
        return targets_of(self.index["labels"].tolist())

    def rows(self, split: str) -> np.ndarray:
        """Row numbers of the patches of ``split``, in index order."""
        return np.flatnonzero(self.index["split"].to_numpy() == split)

    def require(self, bands) -> tuple[str, ...]:
        """Official names of ``bands``; raises CacheError naming the cache, the missing bands and the command
        that adds them."""
        names = parse_selection(bands)
        missing = [b for b in names if b not in self.manifest["bands"]]
        if missing:
            raise CacheError(
                f"{self.path}: the cache holds bands {', '.join(self.bands) or '(none yet)'}, not {', '.join(missing)}; "
                f"add them with {_pack_command(self.manifest['source'], self.path, missing)}")
        return names

    def band_path(self, band: str) -> Path:
        self.require(band)
        return self.path / BANDS_DIR / f"{band}.npy"

    def array(self, band: str) -> np.memmap:
        """The read-only memory-mapped uint16 N x 120 x 120 array of ``band``."""
        array = np.load(self.band_path(band), mmap_mode="r")
        expected = (len(self.index), PATCH_SIZE, PATCH_SIZE)
        if array.shape != expected or array.dtype != np.uint16:
            raise CacheError(f"{self.band_path(band)}: {array.dtype} {array.shape}, expected uint16 {expected}; "
                             f"delete the file and its entry in {self.path / MANIFEST}, then pack the band again")
        return array

    def statistics(self, band: str) -> tuple[float, float]:
        """Mean and standard deviation of ``band`` over the training split (per-band standardisation)."""
        entry = self.manifest["bands"][self.require(band)[0]]
        if entry.get("train_mean") is None:
            raise CacheError(f"{self.path}: no training patches, so no standardisation statistics for {band}")
        return entry["train_mean"], entry["train_std"]


# --- packing ------------------------------------------------------------------------------------


def pack_bigearthnet(root: str | Path, out: str | Path, bands=DEFAULT_PACK_BANDS, *, version: str = "auto",
                     resampling: str = "bilinear", workers: int | None = None, chunk_patches: int = CHUNK_PATCHES,
                     show_progress: bool = True) -> PackedCache:
    """Pack ``bands`` of the BigEarthNet-S2 copy at ``root`` into the cache folder ``out`` (created,
    resumed, or extended with new bands) and return it. ``workers``: processes reading GeoTIFFs
    (default: all cores; 0 reads in this process)."""
    if resampling not in RESAMPLINGS:
        raise ValueError(f"unknown resampling {resampling!r}; expected one of {', '.join(RESAMPLINGS)}")
    names = parse_selection(bands)
    layout = detect_layout(root, version)
    index = scan_patches(layout)
    if index.empty:
        raise CacheError(f"{layout.root}: no patches to pack")
    out = Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / LOCK)):
        cache = _create_or_check(out, layout, index, resampling)
        todo = [b for b in names if b not in cache.manifest["bands"]]
        if todo:
            _check_files(layout, index["patch_id"], todo)
            _pack_bands(cache, layout, index, todo, resampling, workers, chunk_patches, show_progress)
        _remove_stale_progress(cache)
    return PackedCache.open(out)


def _create_or_check(out: Path, layout: Layout, index: pd.DataFrame, resampling: str) -> PackedCache:
    if (out / MANIFEST).is_file():
        cache = PackedCache.open(out)
        stored = cache.index
        same = len(stored) == len(index) and (stored["patch_id"].to_numpy() == index["patch_id"].to_numpy()).all() \
            and (stored["split"].to_numpy() == index["split"].to_numpy()).all()
        if not same:
            raise CacheError(f"{out}: holds a cache of other patches ({len(stored)} packed from "
                             f"{cache.manifest['source']}, {len(index)} found under {layout.root}); choose another --out")
        if cache.resampling != resampling:
            raise CacheError(f"{out}: packed with {cache.resampling} resampling, not {resampling}; choose another --out")
        return cache
    if any(p.name != LOCK for p in out.iterdir()):
        raise CacheError(f"{out}: not empty and not a packed BigEarthNet cache; choose a new or empty folder for --out")
    (out / BANDS_DIR).mkdir(parents=True, exist_ok=True)
    stored = index.assign(labels=index["labels"].map(list))
    _write_atomic(out / INDEX, lambda tmp: stored.to_parquet(tmp, index=False))
    counts = {s: int((index["split"] == s).sum()) for s in SPLITS}
    _write_json(out / MANIFEST, {
        "format": CACHE_FORMAT, "source": str(layout.root), "version": layout.version, "resampling": resampling,
        "patch_size": PATCH_SIZE, "patches": len(index), "splits": counts, "bands": {},
        "created": dt.datetime.now().isoformat(timespec="seconds"),
    })
    return PackedCache.open(out)


def _check_files(layout: Layout, patch_ids, bands) -> None:
    """Every band file to pack exists (a missing one fails now, not hours into packing)."""
    for patch_id in patch_ids:
        folder = layout.patch_folder(patch_id)
        for band in bands:
            path = band_path(folder, patch_id, band)
            if not path.is_file():
                raise DatasetNotFoundError(f"{path}: missing; patch {patch_id} has no band {band}; re-extract the patch, "
                                           f"or pack only bands every patch has")


@dataclass(frozen=True)
class _Task:
    """One chunk of rows, the bands still to pack there, and where they go."""

    chunk: int
    start: int
    patch_ids: tuple[str, ...]
    bands: tuple[str, ...]
    partials: tuple[str, ...]
    layout: Layout
    resampling: str


def _partial(cache: PackedCache, band: str) -> Path:
    return cache.path / BANDS_DIR / f".{band}.partial.npy"


def _progress(cache: PackedCache, band: str) -> Path:
    return cache.path / BANDS_DIR / f".{band}.progress.npy"


def _pack_bands(cache, layout, index, bands, resampling, workers, chunk_patches, show_progress) -> None:
    n = len(index)
    n_chunks = -(-n // chunk_patches)
    done = {band: _open_band(cache, band, n, n_chunks) for band in bands}
    patch_ids = index["patch_id"].tolist()
    tasks = []
    for chunk in range(n_chunks):
        pending = tuple(b for b in bands if not done[b][chunk])
        if pending:
            start = chunk * chunk_patches
            tasks.append(_Task(chunk, start, tuple(patch_ids[start:start + chunk_patches]), pending,
                               tuple(str(_partial(cache, b)) for b in pending), layout, resampling))
    total = sum(len(t.patch_ids) for t in tasks)
    with progress_bar(total, f"packing {', '.join(bands)}", enabled=show_progress) as bar:
        for task in _run(tasks, workers):
            for band in task.bands:
                done[band][task.chunk] = True
                _write_atomic(_progress(cache, band), lambda tmp, d=done[band]: _save_npy(tmp, d))
            bar.update(len(task.patch_ids))
    for band in bands:
        _finish_band(cache, band)


def _open_band(cache: PackedCache, band: str, n: int, n_chunks: int) -> np.ndarray:
    """Chunks of ``band`` already packed (a fresh partial file when there is none)."""
    partial, progress, final = _partial(cache, band), _progress(cache, band), cache.path / BANDS_DIR / f"{band}.npy"
    if final.exists():  # renamed into place, manifest not yet updated: finish only if every chunk was recorded
        if progress.is_file() and np.load(progress).all():
            final.replace(partial)
        else:
            final.unlink()
    if partial.is_file() and progress.is_file():
        done = np.load(progress)
        if len(done) == n_chunks and np.load(partial, mmap_mode="r").shape == (n, PATCH_SIZE, PATCH_SIZE):
            return done
    np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint16, shape=(n, PATCH_SIZE, PATCH_SIZE)).flush()
    done = np.zeros(n_chunks, dtype=bool)
    _write_atomic(progress, lambda tmp: _save_npy(tmp, done))
    return done


def _run(tasks: list[_Task], workers: int | None):
    """Finished tasks, as they finish (in this process when ``workers`` is 0)."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers <= 0 or len(tasks) <= 1:
        for task in tasks:
            yield _pack_chunk(task)
        return
    context = multiprocessing.get_context("spawn")  # GDAL is not fork-safe
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
        futures = [pool.submit(_pack_chunk, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _pack_chunk(task: _Task) -> _Task:
    """Read the chunk's patches and write them into the partial band files (worker process)."""
    arrays = [np.load(path, mmap_mode="r+") for path in task.partials]
    for offset, patch_id in enumerate(task.patch_ids):
        image = read_patch(task.layout.patch_folder(patch_id), patch_id, task.bands, task.resampling)
        for array, plane in zip(arrays, image):
            array[task.start + offset] = plane
    for array in arrays:
        array.flush()
    return task


def _finish_band(cache: PackedCache, band: str) -> None:
    """Statistics over the training rows, then rename into place, then list in the manifest."""
    partial = _partial(cache, band)
    _fsync(partial)
    mean, std = _train_statistics(np.load(partial, mmap_mode="r"), cache.rows("train"))
    final = cache.path / BANDS_DIR / f"{band}.npy"
    os.replace(partial, final)
    manifest = json.loads((cache.path / MANIFEST).read_text())
    manifest["bands"][band] = {"file": f"{BANDS_DIR}/{band}.npy", "dtype": "uint16", "train_mean": mean, "train_std": std,
                               "packed": dt.datetime.now().isoformat(timespec="seconds")}
    _write_json(cache.path / MANIFEST, manifest)
    cache.manifest = manifest
    _progress(cache, band).unlink(missing_ok=True)


def _remove_stale_progress(cache: PackedCache) -> None:
    for band in cache.manifest["bands"]:
        _progress(cache, band).unlink(missing_ok=True)


def _train_statistics(array: np.ndarray, rows: np.ndarray, chunk: int = 1024) -> tuple[float | None, float | None]:
    """Mean and (population) standard deviation over all pixels of ``rows``, merged chunk by chunk in
    float64 (Chan et al.'s parallel variance)."""
    count, mean, m2 = 0, 0.0, 0.0
    for start in range(0, len(rows), chunk):
        values = np.asarray(array[rows[start:start + chunk]], dtype=np.float64)
        n_b, mean_b = values.size, float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        delta, total = mean_b - mean, count + n_b
        mean += delta * n_b / total
        m2 += m2_b + delta**2 * count * n_b / total
        count = total
    if count == 0:
        return None, None
    return mean, float(np.sqrt(m2 / count))
