"""Publish a finished claim run from its results store into a folder of ``docs/results/``.

Writes into ``--out``: the report (``report.md`` with ``figures/``, ``report.html``,
``claims.json``), ``RUN.md`` (date, device, torch, code fingerprint, the command, and per claim
row its status, test wall time, training time and the store's run hashes), and ``records/`` (every
run's ``record.json``: spec, learning curves, path and metrics; the weights stay in the store).
Anyone can rerun the command and compare: the same code and spec give the same run hashes.

    python benchmarks/publish_results.py --results-dir .lmc-results-b4 --out docs/results/b4-fashion-mnist \\
        --command "benchmarks/b4_fashion_mnist.sh" --claims-seconds 1800
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.conftest import device_description  # noqa: E402
from lmc_bench.code_version import code_fingerprint  # noqa: E402
from lmc_bench.document import Verdict  # noqa: E402
from lmc_bench.report import build_report  # noqa: E402
from lmc_bench.store import ResultsStore  # noqa: E402


def row_table(outcomes: list[dict], records_by_hash: dict) -> list[list[str]]:
    """Per claim test: row id, status, verdict, test wall time, training time, seeds and hashes."""
    rows = []
    for o in sorted(outcomes, key=lambda o: o["nodeid"]):
        hashes = [h for s in o["settings"] for h in s["hashes"]]
        training = sum(records_by_hash[h]["wall_seconds"] for h in hashes if h in records_by_hash)
        verdicts = "; ".join(f"expected {v['expected']}, observed {v['observed']}" for v in o["extra"].get("verdicts", {}).values())
        wall = f"{o['wall_seconds']:.0f}" if o.get("wall_seconds") is not None else ""
        rows.append([o["nodeid"].rsplit("[", 1)[-1].rstrip("]"), Verdict(o["status"], o.get("kind", "claim")).words, verdicts or o["reason"],
                     wall, f"{training:.0f}", ", ".join(str(s) for st in o["settings"] for s in st["seeds"]),
                     " ".join(f"`{h}`" for h in hashes)])
    return rows


def run_summary(store: ResultsStore, command: str, claims_seconds: float | None) -> str:
    outcomes = store.claim_outcomes()
    records = list(store.records())
    by_hash = {r["hash"]: r for r in records}
    devices = sorted({r["device"] + (f" ({r['device_name']})" if r["device_name"] != r["device"] else "") for r in records})
    header = ["row", "status", "verdict", "test wall (s)", "training (s)", "seeds", "run hashes"]
    rows = row_table(outcomes, by_hash)
    lines = [
        "# Run",
        "",
        f"- Published: {dt.date.today().isoformat()}",
        f"- Command: `{command}`",
        f"- Machine: {device_description(torch.device('cpu'))}; runs trained on {', '.join(devices) or 'nothing'}",
        f"- torch {torch.__version__}; code fingerprint `{code_fingerprint()}` (part of every run hash)",
        f"- Claim tests: {len(outcomes)}; runs: {len(records)}; training time of all runs "
        f"{sum(r['wall_seconds'] for r in records) / 60:.1f} min"
        + (f"; the claim tests took {claims_seconds / 60:.1f} min" if claims_seconds is not None else ""),
        "",
        "Test wall time: the claim test in this session (training included when the runs were not yet stored). "
        "Training: the sum of the runs' stored wall times (training shared equally by the seeds trained together, "
        "plus each run's path evaluation).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def publish(results_dir: str, out: str, command: str, claims_seconds: float | None = None) -> Path:
    store = ResultsStore(results_dir)
    if not store.claim_outcomes():
        raise SystemExit(f"publish: no claim outcomes in {results_dir}; run the claim tests with --results-dir {results_dir} first")
    out_dir = Path(out)
    build_report(store, out_dir, f"Command: `{command}`.")
    (out_dir / "RUN.md").write_text(run_summary(store, command, claims_seconds))
    records_dir = out_dir / "records"
    if records_dir.exists():
        shutil.rmtree(records_dir)
    records_dir.mkdir(parents=True)
    for record in store.records():
        shutil.copyfile(store.runs_dir / record["hash"] / "record.json", records_dir / f"{record['hash']}.json")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--out", required=True, help="folder under docs/results/")
    parser.add_argument("--command", required=True, help="the command that produced the run, as published")
    parser.add_argument("--claims-seconds", type=float, default=None, help="wall time of the claim tests")
    args = parser.parse_args(argv)
    out = publish(args.results_dir, args.out, args.command, args.claims_seconds)
    print(f"publish: report, RUN.md and records written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
