"""``lmc-bench data pack-bigearthnet``: pack a BigEarthNet-S2 copy into the cache training reads.

    lmc-bench data pack-bigearthnet --root ROOT --out CACHE [--bands B02 B03 B04 B08 B11]
                                    [--version auto|v2|v1] [--resampling bilinear|nearest] [--workers N]

Interrupted, the same command resumes; run again with other ``--bands``, it adds them.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .cache import DEFAULT_PACK_BANDS, pack_bigearthnet
from .layout import VERSIONS
from .raster import RESAMPLINGS


def add_pack_command(commands) -> None:
    """The ``pack-bigearthnet`` subcommand of ``lmc-bench data``."""
    pack = commands.add_parser("pack-bigearthnet", description=__doc__.replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter,
                               help="pack BigEarthNet-S2 (v2.0 or v1.0) into a memory-mapped cache")
    pack.add_argument("--root", required=True, help="the BigEarthNet-S2 copy (v2.0: metadata.parquet + BigEarthNet-S2/; "
                                                    "v1.0: patch folders)")
    pack.add_argument("--out", required=True, help="cache folder (new or empty, or a cache to resume or extend)")
    pack.add_argument("--bands", nargs="+", default=list(DEFAULT_PACK_BANDS),
                      help="bands to pack (default: %(default)s, every band the domain-shift claims use)")
    pack.add_argument("--version", choices=VERSIONS, default="auto", help="layout (default: %(default)s)")
    pack.add_argument("--resampling", choices=RESAMPLINGS, default="bilinear",
                      help="for 20 m and 60 m bands (default: %(default)s)")
    pack.add_argument("--workers", type=int, default=None, help="reading processes (default: all cores)")
    pack.set_defaults(handler=pack_command)


def pack_command(args) -> int:
    logger = logging.getLogger("lmc_bench.data.bigearthnet")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("lmc-bench: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        cache = pack_bigearthnet(args.root, args.out, args.bands, version=args.version, resampling=args.resampling,
                                 workers=args.workers)
    except KeyboardInterrupt:
        print(f"lmc-bench: interrupted; run the same command again to resume packing into {args.out}", file=sys.stderr)
        return 130
    finally:
        logger.removeHandler(handler)
    splits = ", ".join(f"{n:,} {split}" for split, n in cache.manifest["splits"].items())
    size = sum((cache.path / entry["file"]).stat().st_size for entry in cache.manifest["bands"].values())
    print(f"lmc-bench: {cache.path}: {cache.manifest['patches']:,} patches ({splits}), bands {' '.join(cache.bands)}, "
          f"{size / 1e9:.2f} GB; train with --data-root pointing at it (or at its parent when it is named bigearthnet-cache)")
    return 0
