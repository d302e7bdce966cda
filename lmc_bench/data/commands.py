"""``lmc-bench data download``, ``lmc-bench data status`` and ``lmc-bench data pack-bigearthnet``."""

from __future__ import annotations

import sys

from .bigearthnet.cli import add_pack_command
from .download import TORCHVISION_CLASSES, DownloadError, download
from .status import FOUND, STATUS_DATASETS, dataset_status


def add_parser(subparsers) -> None:
    data = subparsers.add_parser("data", help="download the datasets, check a data root, or pack BigEarthNet")
    commands = data.add_subparsers(dest="data_command", required=True)
    fetch = commands.add_parser("download", help="fetch datasets through torchvision (MD5 verified)")
    fetch.add_argument("--root", required=True, help="data root (pass it later as --data-root)")
    fetch.add_argument("datasets", nargs="+", choices=tuple(TORCHVISION_CLASSES), metavar="DATASET",
                       help=f"one or more of {', '.join(TORCHVISION_CLASSES)}")
    fetch.set_defaults(handler=download_command)
    status = commands.add_parser("status", help="found / missing / corrupt per dataset, with the layout expected")
    status.add_argument("--root", default=None, help="data root (default: none; only Debian's Fashion-MNIST is looked for)")
    status.add_argument("datasets", nargs="*", metavar="DATASET", help=f"any of {', '.join(STATUS_DATASETS)} (default: all)")
    status.set_defaults(handler=status_command)
    add_pack_command(commands)


def download_command(args) -> int:
    failed = 0
    for name in args.datasets:
        try:
            print(f"{name}: {download(name, args.root)}")
        except DownloadError as error:
            print(f"lmc-bench: error: {error}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def status_command(args) -> int:
    """Exit status 0 when every dataset asked for is found, else 1."""
    unknown = sorted(set(args.datasets) - set(STATUS_DATASETS))
    if unknown:
        raise ValueError(f"unknown dataset {', '.join(unknown)}; expected any of {', '.join(STATUS_DATASETS)}")
    statuses = [dataset_status(name, args.root) for name in args.datasets or STATUS_DATASETS]
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        print(f"{s.name:<{width}}  {s.state:<7}  {s.detail}")
        if s.state != FOUND:
            print(f"{'':<{width}}  {'':<7}  expected: {s.layout}")
    return 0 if all(s.state == FOUND for s in statuses) else 1
