"""The claim-verification report, built from the results store alone.

Writes ``report.md`` (figures as PNG files beside it), ``report.html`` (self-contained: figures
embedded) and ``claims.json`` (one entry per claim test) into the report folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import layerwise_plots, plots
from .store import ResultsStore

STATUS_MARK = {"passed": "✅ reproduced", "failed": "❌ not reproduced", "not reproduced": "❌ not reproduced (known finding)",
               "xpassed": "⚠️ reproduced, unexpectedly", "skipped": "⏭ skipped"}


def _fmt(pair) -> str:
    """``mean ± std``; ``≈ mean`` where the paper gives a single approximate number."""
    if pair is None:
        return "–"
    mean, std = pair
    return f"≈ {mean:.3g}" if std is None else f"{mean:.3g} ± {std:.2g}"


OTHER_METRIC_NAMES = {"train_a_delta": "training-data Δ"}
"""Names for metrics that a claim compares besides barrier and Δ (e.g. C2b's training-data Δ)."""


def _paper_vs_ours(setting: dict) -> tuple[str, str]:
    """Paper and measured values, barrier / Δ by default; any other metric the paper gives and the
    runs measure is named (C2b: training-data Δ)."""
    others = [k for k in setting["paper"] if k not in ("barrier", "delta") and k in setting["measured"]]
    keys = [k for k in ("barrier", "delta") if k in setting["paper"]] or ([] if others else ["barrier", "delta"])

    def cells(values: dict) -> str:
        return " / ".join([_fmt(values.get(k)) for k in keys]
                          + [f"{OTHER_METRIC_NAMES.get(k, k)} {_fmt(values.get(k))}" for k in others])

    return cells(setting["paper"]), cells(setting["measured"])


class Figure:
    """A matplotlib figure saved as PNG, referenced from Markdown and embedded in HTML."""

    def __init__(self, fig: plt.Figure, name: str, caption: str):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        self.png = buffer.getvalue()
        self.name = name
        self.caption = caption


def _claim_figures(outcome: dict, records_by_hash: dict) -> list[Figure]:
    """Interpolation curves and the polar plot of a claim's settings."""
    settings = [(s["label"], [records_by_hash[h] for h in s["hashes"] if h in records_by_hash]) for s in outcome["settings"]]
    if not any(records for _, records in settings):
        return []
    readable = "".join(c if c.isalnum() else "_" for c in f"{outcome['claim']}_{outcome['row']}")[:60]
    stem = f"fig_{readable}_{hashlib.sha256(outcome['nodeid'].encode()).hexdigest()[:6]}"
    figures = [Figure(plots.interpolation_curves(settings, title=f"{outcome['claim']}: {outcome['row']}"), stem + ".png",
                      f"Interpolation curves, {outcome['row']} (mean over seeds, band = min–max)")]
    if any("norm_a" in r["metrics"] for _, records in settings for r in records):
        figures.append(Figure(plots.polar_paths(settings), stem + "_polar.png",
                              "Polar plot (Fig. 15): angle between Θ_A and Θ(λ) against test loss, one curve per seed"))
    figures += [Figure(fig, f"{stem}_{suffix}.png", caption) for fig, suffix, caption in layerwise_plots.claim_figures(outcome)]
    return figures


def ensemble_rows(outcome: dict) -> list[list[str]]:
    """Table III layout: LMC vs different-seed ensembles, ours beside the paper's."""
    ensembles = outcome["extra"].get("ensembles")
    if not ensembles:
        return []
    paper = outcome["settings"][0]["paper"]
    rows = []
    for key, name in (("wa", "WA"), ("wd", "WD"), ("vote_acc", "vote acc (%)"), ("average_acc", "avg acc (%)")):
        short = key.split("_")[0]
        rows.append([name, _fmt(ensembles["lmc"][key]), f"{ensembles['different_seeds'][key]:.3g}",
                     _fmt(paper.get(f"{short}_lmc")), _fmt(paper.get(f"{short}_seeds"))])
    return rows


ENSEMBLE_HEADER = ["", "ours LMC", "ours seeds", "paper LMC", "paper seeds"]


def summary_rows(outcomes: list[dict]) -> list[list[str]]:
    """One line per claim test; a test that compares settings gets its assertion on that line and
    one indented line per setting below it."""
    rows = []
    for o in outcomes:
        status = STATUS_MARK.get(o["status"], o["status"])
        tier = o["tier"] + (" (analogue)" if o["analogue"] else "")
        wall = f"{o['wall_seconds']:.0f} s" if o.get("wall_seconds") is not None else ""
        settings = o["settings"]
        first = len(settings) == 1
        if not first:
            rows.append([o["claim"], o["row"], "–", "–", status, tier, "–", wall])
        for s in settings:
            paper, ours = _paper_vs_ours(s)
            rows.append([
                o["claim"] if first else "",
                s["label"] if first else f"↳ {s['label']}",
                paper,
                ours,
                status if first else "",
                tier,
                str(len(s["seeds"])),
                wall if first else "",
            ])
    return rows


def recommendations_table(records: list[dict]) -> list[list[str]]:
    """Table I regenerated from measurement: per model, learning rate and batch size, how many
    seeds were stable (Δ ≥ −5 pp), mean barrier, Δ and angle."""
    groups = defaultdict(list)
    for r in records:
        key = (r["spec"]["model"], r["spec"]["data"]["dataset"], r["spec"]["data"]["shift"], r["spec"]["train"]["lr"], r["spec"]["train"]["batch_size"])
        groups[key].append(r)
    rows = []
    for (model, dataset, shift, lr, batch), runs in sorted(groups.items()):
        deltas = np.array([r["metrics"]["delta"] for r in runs])
        rows.append([model, dataset, shift, f"{lr:g}", str(batch), f"{int((deltas >= -5).sum())}/{len(runs)}",
                     f"{np.mean([r['metrics']['barrier'] for r in runs]):.3f}", f"{deltas.mean():.2f}",
                     f"{np.mean([r['metrics']['angle'] for r in runs]):.1f}", f"{np.mean([r['metrics']['noise_scale'] for r in runs]):.3g}"])
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


SUMMARY_HEADER = ["claim", "row / setting", "paper (barrier / Δ pp)", "ours (barrier / Δ pp)", "verdict", "tier", "seeds", "wall"]
TABLE_I_HEADER = ["model", "data", "shift", "lr", "B", "stable seeds", "barrier", "Δ (pp)", "angle (°)", "g"]


def build_report(store: ResultsStore, out_dir: str | Path, title_note: str = "") -> dict[str, Path]:
    """Write report.md, report.html and claims.json from ``store``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes = sorted(store.claim_outcomes(), key=lambda o: (o["claim"], o["tier"], o["nodeid"]))
    records = list(store.records())
    records_by_hash = {r["hash"]: r for r in records}

    sections = []  # (heading, markdown text, html text, figures)
    for o in outcomes:
        if o["status"] == "skipped":
            continue
        checks = "\n".join(f"- {'✔' if c['passed'] else '✘'} {c['description']}: {c['detail']}" for c in o["checks"])
        settings_rows = []
        for s in o["settings"]:
            paper, ours = _paper_vs_ours(s)
            g = f"{s['measured']['noise_scale'][0]:.3g}"
            g_paper = f"{s['paper_noise_scale']:.3g}" if s.get("paper_noise_scale") else "–"
            settings_rows.append([s["label"], s.get("paper_config") or "–", paper, ours, g_paper, g,
                                  ", ".join(f"{d:.1f}" for d in s["per_seed"]["delta"])])
        text = (f"**{STATUS_MARK.get(o['status'], o['status'])}** ({o['tier']} tier). {o['title']} — Section {o['section']}.\n\n"
                f"Asserted: {o['expectation']}\n\n"
                + (f"Scaled analogue: {o['analogue']}\n\n" if o["analogue"] else "")
                + (f"Reason: {o['reason']}\n\n" if o["reason"] else "") + checks)
        header = ["setting", "paper configuration", "paper barrier / Δ", "ours barrier / Δ", "g paper", "g ours", "Δ per seed"]
        extras = {k: v for k, v in o["extra"].items() if k not in ("verdicts", "ensembles", *layerwise_plots.EXTRA_KEYS)}
        tables = [(header, settings_rows)]
        if ensemble_rows(o):
            tables.append((ENSEMBLE_HEADER, ensemble_rows(o)))
        sections.append((f"{o['claim']} — {o['row']}", text, tables, extras, _claim_figures(o, records_by_hash)))

    global_figures = []
    if records:
        global_figures.append(Figure(plots.metric_against(records, "noise_scale", "noise scale g = ε(N/B − 1)"),
                                     "fig_noise_scale.png", "B1: barrier and Δ of every stored run against the noise scale g"))
        global_figures.append(Figure(plots.metric_against(records, "train.batch_size", "batch size B"),
                                     "fig_batch_size.png", "Barrier and Δ against batch size (Fig. 7)"))
        global_figures.append(Figure(plots.angle_vs_manhattan(records), "fig_angle_manhattan.png",
                                     "Angle vs Manhattan distance of the trained pairs (Fig. 13)"))

    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    counts = defaultdict(int)
    for o in outcomes:
        counts[o["status"]] += 1
    status_line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    intro = (f"Claim verification of Hepburn, Zielke, Raulf, *Linear Mode Connectivity under Data Shifts for Deep "
             f"Ensembles of Image Classifiers*. Generated {generated} from `{store.root}`. {title_note}\n\n"
             f"Claim tests: {status_line or 'none recorded'}. Stable (LMC) means Δ ≥ −5 pp. Smoke-tier rows are "
             f"*scaled analogues* on the bundled real MNIST sample (4,000 training images, 2,000 per subset), chosen at "
             f"a matched noise scale g; they are not the paper's configurations.")

    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "claims.json"}
    _write_markdown(paths["md"], out_dir, intro, outcomes, sections, global_figures, records)
    _write_html(paths["html"], intro, outcomes, sections, global_figures, records)
    tmp = paths["json"].with_suffix(".json.tmp")
    tmp.write_text(json.dumps(outcomes, indent=1))
    tmp.replace(paths["json"])
    return paths


def _skipped_rows(outcomes):
    return [[o["claim"], o["row"], o["tier"], o["reason"]] for o in outcomes if o["status"] == "skipped"]


def _write_markdown(path, out_dir, intro, outcomes, sections, global_figures, records):
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    parts = ["# lmc-bench claim verification", intro, "## Summary",
             _md_table(SUMMARY_HEADER, summary_rows([o for o in outcomes if o["status"] != "skipped"]))]
    for heading, text, tables, extras, figures in sections:
        parts += [f"## {heading}", text, *(_md_table(header, rows) for header, rows in tables)]
        parts += [f"- {k}: `{json.dumps(v)}`" for k, v in extras.items()]
        for f in figures:
            (fig_dir / f.name).write_bytes(f.png)
            parts.append(f"![{f.caption}](figures/{f.name})")
    if records:
        parts += ["## Across all runs", "Table I regenerated from the measured runs:", _md_table(TABLE_I_HEADER, recommendations_table(records))]
        for f in global_figures:
            (fig_dir / f.name).write_bytes(f.png)
            parts.append(f"![{f.caption}](figures/{f.name})")
    skipped = _skipped_rows(outcomes)
    if skipped:
        parts += ["## Skipped claims", _md_table(["claim", "row", "tier", "reason"], skipped)]
    path.write_text("\n\n".join(parts) + "\n")


def _write_html(path, intro, outcomes, sections, global_figures, records):
    def img(f: Figure) -> str:
        data = base64.b64encode(f.png).decode()
        return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(f.caption)}"><figcaption>{html.escape(f.caption)}</figcaption></figure>'

    def para(text: str) -> str:
        return "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())

    body = ["<h1>lmc-bench claim verification</h1>", para(intro), "<h2>Summary</h2>",
            _html_table(SUMMARY_HEADER, summary_rows([o for o in outcomes if o["status"] != "skipped"]))]
    for heading, text, tables, extras, figures in sections:
        body += [f"<h2>{html.escape(heading)}</h2>", para(text), *(_html_table(header, rows) for header, rows in tables)]
        body += [f"<p><code>{html.escape(k)}: {html.escape(json.dumps(v))}</code></p>" for k, v in extras.items()]
        body += [img(f) for f in figures]
    if records:
        body += ["<h2>Across all runs</h2>", "<p>Table I regenerated from the measured runs:</p>",
                 _html_table(TABLE_I_HEADER, recommendations_table(records))] + [img(f) for f in global_figures]
    skipped = _skipped_rows(outcomes)
    if skipped:
        body += ["<h2>Skipped claims</h2>", _html_table(["claim", "row", "tier", "reason"], skipped)]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}"
             "th{background:#f0f0f0}img{max-width:100%}figcaption{font-size:12px;color:#555}")
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>lmc-bench report</title>"
                    f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
