"""The claim-verification report, built from the results store alone.

Writes ``report.md`` (figures as PNG files in ``figures/``), ``report.html`` (self-contained:
figures embedded, no scripts) and ``claims.json`` (one entry per claim test) into the report
folder. The report is a list of sections (:data:`SECTIONS`); each is a function from the
:class:`ReportInputs` to document blocks (:mod:`lmc_bench.document`), so a new kind of result
adds one function to the list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np

from . import layerwise_plots, paper_table_views, plots, plots_domain
from .document import Bullets, Code, Document, Heading, Image, Paragraph, Raw, Strong, Table, Verdict, to_html, to_markdown
from .naming import describe_spec, format_lr
from .progress import announce
from .store import ResultsStore

REPORT_TITLE = "lmc-bench claim verification"
STABLE_PP = -5.0

METRIC_NAMES = {
    "barrier": "barrier", "delta": "Δ", "train_a_barrier": "training-data barrier", "train_a_delta": "training-data Δ",
    "wa_lmc": "WA (LMC)", "wd_lmc": "WD (LMC)", "angle": "angle", "manhattan": "Manhattan distance",
    "final_train_loss": "final training loss",
}
"""Names of the metrics a summary line can show."""

EXTRA_NAMES = {
    "train_vs_test_accuracy_gap_pp": "training minus test accuracy of copy A after training (pp, per seed)",
    "reproducibility_loss_spread": "spread of the test loss along the path between two same-seed runs",
}
"""Readable names of what claim tests note besides their checks (others: underscores become spaces)."""

OUTCOME_FIELDS = ("nodeid", "claim", "row", "title", "section", "tier", "status", "settings", "checks", "extra")


def _fmt(pair) -> str:
    """``mean ± std``; ``≈ mean`` where the paper gives a single approximate number."""
    if pair is None:
        return "–"
    mean, std = pair
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    return f"≈ {mean:.3g}" if std is None else f"{mean:.3g} ± {std:.2g}"


def format_value(value) -> str:
    """A noted value for people: numbers to 3 significant digits, lists and mappings spelled out."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {format_value(v)}" for k, v in value.items())
    return "–" if value is None else str(value)


def noise_relation(ours: float | None, paper: float | None) -> str:
    """How an analogue's noise scale g compares with the paper's, in words."""
    if not ours or not paper:
        return "–"
    ratio = ours / paper
    if 0.9 <= ratio <= 1.1:
        return f"matched (ours / paper = {ratio:.2f})"
    if ratio > 1:
        return f"{ratio:.2g} times the paper's"
    return f"{1 / ratio:.2g} times smaller than the paper's"


def headline_metrics(outcome: dict) -> list[str]:
    """The metrics the summary shows for a claim test: the row's own choice, else barrier and Δ (or
    the other metrics the paper gives when it gives neither)."""
    if outcome.get("headline"):
        return list(outcome["headline"])
    settings = outcome.get("settings") or [{"paper": {}, "measured": {}}]
    others = [k for k in settings[0]["paper"] if k not in ("barrier", "delta") and k in settings[0]["measured"]]
    return others if others and not {"barrier", "delta"} & set(settings[0]["paper"]) else ["barrier", "delta"]


def verdict_of(outcome: dict) -> Verdict:
    """The badge of a claim test (a pipeline check is never shown as reproduced or not)."""
    return Verdict(outcome["status"], outcome.get("kind", "claim"))


def _paper_vs_ours(setting: dict, metrics: list[str]) -> tuple[str, str]:
    """Paper and measured values of ``metrics``; barrier and Δ are implied by the column header,
    other metrics are named. Where the paper gives no number but a statement (C5), the statement."""
    def cells(values: dict) -> str:
        if not any(values.get(k) is not None for k in metrics):
            return " / ".join("–" for _ in metrics)
        return " / ".join((_fmt(values.get(k)) if k in ("barrier", "delta") else f"{METRIC_NAMES.get(k, k)} {_fmt(values.get(k))}")
                          for k in metrics)

    paper = setting["paper_statement"] if not setting["paper"] and setting.get("paper_statement") else cells(setting["paper"])
    return paper, cells(setting["measured"])


@dataclass
class ReportInputs:
    """Everything a section may draw on: the store's claim outcomes and runs, and what could not be read."""

    store: ResultsStore
    outcomes: list[dict]
    records: list[dict]
    problems: list[str]
    note: str = ""
    records_by_hash: dict = field(default_factory=dict)
    claims_by_hash: dict = field(default_factory=dict)
    """For every run a claim test used: the claim ids that used it."""

    def __post_init__(self):
        self.records_by_hash = {r["hash"]: r for r in self.records}
        for o in self.outcomes:
            for s in o["settings"]:
                for h in s.get("hashes", []):
                    self.claims_by_hash.setdefault(h, set()).add(o["claim"])

    def runs_of(self, outcome: dict) -> list[dict]:
        return [self.records_by_hash[h] for s in outcome["settings"] for h in s.get("hashes", []) if h in self.records_by_hash]

    @property
    def claim_records(self) -> list[dict]:
        return [r for r in self.records if r["hash"] in self.claims_by_hash]

    @property
    def ad_hoc_records(self) -> list[dict]:
        return [r for r in self.records if r["hash"] not in self.claims_by_hash]


def _figure(fig: plt.Figure, name: str, caption: str) -> Image:
    """A matplotlib figure as a PNG image block (bounding box fitted to everything drawn)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Image(buffer.getvalue(), name, caption)


# --- Summary ---------------------------------------------------------------------------------

def _seconds(value) -> str:
    if value is None:
        return ""
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _training_seconds(runs: list[dict]) -> float | None:
    times = [r.get("train_seconds", r.get("wall_seconds")) for r in runs]
    return float(sum(times)) if times and None not in times else None


def summary_rows(outcomes: list[dict], records_by_hash: dict | None = None) -> list[list]:
    """One line per claim test; a test that compares settings gets its assertion on that line and
    one indented line per setting below it. Times: the training time of the runs the line uses
    (whenever they were trained), and the claim test's own time."""
    records_by_hash = records_by_hash or {}
    rows = []
    for o in outcomes:
        tier = o["tier"] + (" (analogue)" if o.get("analogue") else "")
        test_time = _seconds(o.get("wall_seconds"))
        metrics = headline_metrics(o)
        settings = o["settings"]

        def run_time(hashes):
            return _seconds(_training_seconds([records_by_hash[h] for h in hashes if h in records_by_hash]))

        if len(settings) != 1:
            all_hashes = [h for s in settings for h in s.get("hashes", [])]
            rows.append([o["claim"], o["row"], "–", "–", verdict_of(o), tier, "–", run_time(all_hashes), test_time])
        for s in settings:
            paper, ours = _paper_vs_ours(s, metrics)
            single = len(settings) == 1
            rows.append([o["claim"] if single else "", s["label"] if single else f"↳ {s['label']}", paper, ours,
                         verdict_of(o) if single else "", tier, str(len(s["seeds"])), run_time(s.get("hashes", [])),
                         test_time if single else ""])
    return rows


SUMMARY_HEADER = ("claim", "test / setting", "paper (barrier / Δ pp, or named)", "ours (mean ± std over seeds)", "verdict",
                  "tier", "seeds", "training of its runs", "test time")


def intro_section(inputs: ReportInputs) -> list:
    counts = defaultdict(int)
    for o in inputs.outcomes:
        counts[(o["status"], o.get("kind", "claim"))] += 1
    status_line = ", ".join(f"{n} {Verdict(*key).words}" for key, n in sorted(counts.items())) or "none recorded"
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return [
        Paragraph(("Claim verification of Hepburn, Zielke, Raulf, ", Strong("Linear Mode Connectivity under Data Shifts for Deep "
                   "Ensembles of Image Classifiers"), f". Generated {generated} from ", Code(str(inputs.store.root)),
                   f". {inputs.note}".rstrip())),
        Paragraph(f"Claim tests: {status_line}. A pair is stable (linear mode connectivity) when Δ ≥ −5 pp. Smoke-tier rows "
                  f"are scaled analogues on the bundled real MNIST sample (4,000 training images, 2,000 per subset), not the "
                  f"paper's configurations; each claim section states how its noise scale g = ε(N/B − 1) compares with the "
                  f"paper's. Each smoke setting has a control beside it: the same configuration without the data shift "
                  f"(both copies from one initialisation on one subset under the same SGD noise), which must give one model "
                  f"and a flat path; an instability counts only against a flat control. Barriers are the local-minima "
                  f"variant of Section IV-A (headline) with Eq. 1's (Frankle) beside it. The claims, metrics and defaults "
                  f"are specified in docs/claims.md of the repository."),
        *([Paragraph("Rows marked pipeline check run a claim's whole pipeline on data too small to be evidence for or "
                     "against it (C5: six real BigEarthNet patches).")]
          if any(o.get("kind") == "pipeline check" for o in inputs.outcomes) else []),
    ]


def paper_tables_section(inputs: ReportInputs) -> list:
    """The paper's Tables VI-VIII and III (and B4) with ours in the same cells, coloured by the
    statistics against the paper."""
    markdown = paper_table_views.markdown_sections(inputs.outcomes)
    if not markdown:
        return []
    return [Raw("\n\n".join(markdown), "\n".join(paper_table_views.html_sections(inputs.outcomes)))]


def problems_section(inputs: ReportInputs) -> list:
    if not inputs.problems:
        return []
    return [Heading(2, "Store problems"),
            Paragraph("These entries could not be read and are left out of this report; lmc-bench run or lmc-bench verify "
                      "sets damaged runs aside (quarantine/) and trains them again.", warning=True),
            Bullets(tuple(inputs.problems))]


def summary_section(inputs: ReportInputs) -> list:
    ran = [o for o in inputs.outcomes if o["status"] != "skipped"]
    if not ran:
        return [Heading(2, "Summary"), Paragraph("No claim test has run yet (lmc-bench verify runs them).")]
    return [Heading(2, "Summary"), Table(SUMMARY_HEADER, tuple(map(tuple, summary_rows(ran, inputs.records_by_hash))))]


# --- One section per claim test ----------------------------------------------------------------

def ensemble_rows(outcome: dict) -> list[list[str]]:
    """Table III layout: LMC vs different-seed ensembles, ours beside the paper's."""
    ensembles = outcome["extra"].get("ensembles")
    if not ensembles:
        return []
    paper = outcome["settings"][0]["paper"]
    rows = []
    for key, name in (("wa", "WA"), ("wd", "WD"), ("vote_acc", "vote acc (%)"), ("average_acc", "avg acc (%)")):
        short = key.split("_")[0]
        seeds_paper = paper.get(f"{short}_seeds")
        rows.append([name, _fmt(ensembles["lmc"][key]), f"{ensembles['different_seeds'][key]:.3g}",
                     _fmt(paper.get(f"{short}_lmc")), f"{seeds_paper[0]:.3g}" if seeds_paper else "–"])
    return rows


ENSEMBLE_HEADER = ("", "ours LMC", "ours seeds", "paper LMC", "paper seeds")
SETTINGS_HEADER = ("setting", "paper configuration", "paper", "ours", "ours: Eq. 1 barrier", "control: barrier / Δ",
                   "g paper", "g ours", "our g against the paper's", "Δ per seed (pp)", "diverged")


def _diverged(runs: list[dict]) -> str:
    out = [f"seed {r['spec']['seed']} (copy {r['divergence']['copy']}, epoch {r['divergence']['epoch']})"
           for r in runs if r.get("diverged")]
    return ", ".join(out) or "none"


def settings_rows(outcome: dict, inputs: ReportInputs) -> list[list[str]]:
    metrics = headline_metrics(outcome)
    rows = []
    for s in outcome["settings"]:
        paper, ours = _paper_vs_ours(s, metrics)
        g_ours = s["measured"].get("noise_scale", [None])[0]
        g_paper = s.get("paper_noise_scale")
        runs = [inputs.records_by_hash[h] for h in s.get("hashes", []) if h in inputs.records_by_hash]
        control = s.get("control", {}).get("measured", {})
        control_cell = f"{_fmt(control.get('barrier'))} / {_fmt(control.get('delta'))}" if control else "–"
        rows.append([s["label"], s.get("paper_config") or "–", paper, ours, _fmt(s["measured"].get("barrier_frankle")),
                     control_cell, f"{g_paper:.3g}" if g_paper else "–",
                     f"{g_ours:.3g}" if g_ours is not None else "–", noise_relation(g_ours, g_paper),
                     ", ".join(f"{d:.1f}" for d in s["per_seed"].get("delta", [])), _diverged(runs)])
    return rows


def _claim_figures(outcome: dict, inputs: ReportInputs) -> list[Image]:
    """Interpolation curves (on the data the claim checks) and the polar plot of a claim's settings."""
    settings = [(s["label"], [inputs.records_by_hash[h] for h in s.get("hashes", []) if h in inputs.records_by_hash])
                for s in outcome["settings"]]
    if not any(records for _, records in settings):
        return []
    test_id = outcome.get("test_id") or outcome["row"]
    stem = "fig_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in test_id)[:70] + \
        f"_{hashlib.sha256(outcome['nodeid'].encode()).hexdigest()[:6]}"
    data = ["train_a", "test"] if any(m.startswith("train_a") for m in headline_metrics(outcome)) else ["test"]
    figures = [_figure(plots.interpolation_curves(settings, title=f"{outcome['claim']}: {outcome['row']} ({plots.PATH_DATA[d]})", data=d),
                       f"{stem}_{d}.png", f"{outcome['claim']}: loss and accuracy along the path on the {plots.PATH_DATA[d]} "
                                          f"(mean over seeds, band = min–max)")
               for d in data]
    figures += [_figure(fig, f"{stem}_{suffix}.png", caption) for fig, suffix, caption in layerwise_plots.claim_figures(outcome)]
    band_pairs = plots_domain.band_pair_figure(settings)
    if band_pairs is not None:
        figures.append(_figure(band_pairs, stem + "_band_pairs.png", plots_domain.BAND_PAIR_CAPTION))
    if any("norm_a" in r["metrics"] for _, records in settings for r in records):
        figures.append(_figure(plots.polar_paths(settings, title=f"{outcome['claim']}: {outcome['row']}"), stem + "_polar.png",
                               f"{outcome['claim']}: polar plot (Fig. 15): angle between Θ_A and Θ(λ) against test loss, one curve per seed"))
    return figures


def claim_section(outcome: dict, inputs: ReportInputs) -> list:
    o = outcome
    blocks = [Heading(2, f"{o['claim']} — {o['row']}", anchor=o.get("test_id", "")),
              Paragraph((verdict_of(o), f" {o['tier']} tier. {o['title']} (Section {o['section']}). Test id ",
                         Code(o.get("test_id") or o["nodeid"]), f"; recorded {o['recorded']}." if o.get("recorded") else ".")),
              Paragraph(("Asserted: ", o.get("expectation", "")))]
    if o.get("analogue"):
        blocks.append(Paragraph(("Scaled analogue: ", o["analogue"], ". Its noise scale against the paper's is in the table below.")))
    if o.get("reason"):
        blocks.append(Paragraph(("Reason: ", o["reason"])))
    if o["checks"]:
        blocks.append(Bullets(tuple((Strong("holds" if c["passed"] else "fails"), f" — {c['description']}: {c['detail']}")
                                    for c in o["checks"])))
    if o["settings"]:
        blocks.append(Table(SETTINGS_HEADER, tuple(map(tuple, settings_rows(o, inputs)))))
    if ensemble_rows(o):
        blocks.append(Table(ENSEMBLE_HEADER, tuple(map(tuple, ensemble_rows(o)))))
    extras = {k: v for k, v in o["extra"].items() if k not in ("verdicts", "ensembles", *layerwise_plots.EXTRA_KEYS)}
    if extras:
        blocks.append(Bullets(tuple(f"{EXTRA_NAMES.get(k, k.replace('_', ' '))}: {format_value(v)}" for k, v in extras.items())))
    return blocks + _claim_figures(o, inputs)


def claim_sections(inputs: ReportInputs) -> list:
    blocks = []
    for o in inputs.outcomes:
        if o["status"] != "skipped":
            blocks += claim_section(o, inputs)
    return blocks


# --- Across runs -----------------------------------------------------------------------------

def configuration_key(record: dict) -> str:
    """The run's full description except its seed: runs with equal keys differ in the seed only."""
    return json.dumps({**record["spec"], "seed": None}, sort_keys=True)


def family_label(record: dict) -> str:
    """A configuration family for the scatter plots: everything but learning rate, batch size and seed."""
    parts = describe_spec_of(record).split(", ")
    return ", ".join(p for p in parts if not (p.startswith("lr ") or p.startswith("B=")))


def describe_spec_of(record: dict) -> str:
    from .config import RunSpec

    spec = RunSpec.from_dict(record["spec"])
    return describe_spec(spec) + (f", {spec.engine} engine" if spec.engine != "fast" else "")


def recommendations_table(records: list[dict], claims_by_hash: dict | None = None) -> list[list[str]]:
    """Table I regenerated from measurement: one row per configuration (full description but the
    seed), with stable seeds (Δ ≥ −5 pp), diverged seeds, mean barrier, Δ, angle and g."""
    claims_by_hash = claims_by_hash or {}
    groups = defaultdict(list)
    for r in records:
        groups[configuration_key(r)].append(r)
    rows = []
    def order(runs):
        spec = runs[0]["spec"]
        return (spec["model"], spec["data"]["dataset"], spec["train"]["lr"], spec["train"]["batch_size"], describe_spec_of(runs[0]))

    for runs in sorted(groups.values(), key=order):
        spec = runs[0]["spec"]
        finite = [r for r in runs if not r.get("diverged")]
        deltas = np.array([r["metrics"]["delta"] for r in finite], dtype=float)

        def mean(metric):
            values = [r["metrics"][metric] for r in finite]
            return float(np.mean(values)) if values else float("nan")

        other = describe_spec_of(runs[0]).split(", ")[4:]
        claims = sorted(set().union(*(claims_by_hash.get(r["hash"], set()) for r in runs)))
        rows.append([spec["model"], spec["data"]["dataset"], format_lr(spec["train"]["lr"]), str(spec["train"]["batch_size"]),
                     ", ".join(other) or "–", f"{int((deltas >= STABLE_PP).sum())}/{len(runs)}",
                     str(len(runs) - len(finite)) if len(finite) < len(runs) else "–",
                     f"{mean('barrier'):.3f}", f"{mean('delta'):.2f}", f"{mean('angle'):.1f}", f"{mean('noise_scale'):.3g}",
                     ", ".join(claims) or "ad hoc"])
    return rows


TABLE_I_HEADER = ("model", "data", "lr", "B", "other settings", "stable seeds", "diverged", "barrier", "Δ (pp)", "angle (°)",
                  "g", "claims")


def across_runs_section(inputs: ReportInputs) -> list:
    records = [r for r in inputs.claim_records if not r.get("diverged")]
    if not inputs.claim_records:
        return []
    blocks = [Heading(2, "Across the claims' runs"),
              Paragraph("Table I regenerated from the measured runs that claim tests used, one row per configuration "
                        "(runs that differ in anything but the seed are never pooled):"),
              Table(TABLE_I_HEADER, tuple(map(tuple, recommendations_table(inputs.claim_records, inputs.claims_by_hash))))]
    if records:
        blocks += [
            _figure(plots.metric_against(records, "noise_scale", "noise scale g = ε(N/B − 1)", family_label,
                                         title="B1: barrier and Δ against the noise scale g"),
                    "fig_noise_scale.png", "B1: barrier and Δ of every claim run against the noise scale g, by configuration family"),
            _figure(plots.metric_against(records, "train.batch_size", "batch size B", family_label,
                                         title="Fig. 7: barrier and Δ against the batch size"),
                    "fig_batch_size.png", "Barrier and Δ of every claim run against the batch size (Fig. 7), by configuration family"),
            _figure(plots.angle_vs_manhattan(records, family_label, title="Fig. 13: angle against Manhattan distance"),
                    "fig_angle_manhattan.png", "Angle vs Manhattan distance of the trained pairs (Fig. 13), by configuration family"),
        ]
    return blocks


def ad_hoc_section(inputs: ReportInputs) -> list:
    if not inputs.ad_hoc_records:
        return []
    return [Heading(2, "Runs no claim asked for"),
            Paragraph("Runs in the store that no recorded claim test used (lmc-bench run, or settings of claims changed "
                      "since): listed here, left out of Table I and the plots above."),
            Table(TABLE_I_HEADER, tuple(map(tuple, recommendations_table(inputs.ad_hoc_records))))]


def skipped_rows(outcomes: list[dict]) -> list[list[str]]:
    """Skipped claim tests grouped by claim and reason: claim, tiers, how many tests, the reason
    (for missing data it names the folder layouts expected)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for o in outcomes:
        if o["status"] == "skipped":
            groups[(o["claim"], o["reason"])].append(o)
    return [[claim, ", ".join(sorted({o["tier"] for o in tests})), str(len(tests)), reason]
            for (claim, reason), tests in sorted(groups.items())]


def skipped_section(inputs: ReportInputs) -> list:
    rows = skipped_rows(inputs.outcomes)
    if not rows:
        return []
    return [Heading(2, "Skipped claim tests"), Table(("claim", "tier", "tests", "reason"), tuple(map(tuple, rows)))]


Section = Callable[[ReportInputs], list]
SECTIONS: list[Section] = [intro_section, problems_section, summary_section, paper_tables_section, claim_sections, across_runs_section,
                           ad_hoc_section, skipped_section]
"""The report's sections in order; a new kind of result adds its section function here."""


def read_inputs(store: ResultsStore, note: str = "") -> ReportInputs:
    """Outcomes and runs of ``store``; what cannot be read is announced and listed, never fatal."""
    outcomes, outcome_problems = store.read_claim_outcomes()
    usable = []
    for o in outcomes:
        missing = [k for k in OUTCOME_FIELDS if k not in o]
        if missing:
            outcome_problems.append(f"claim outcome {o.get('nodeid', '?')} lacks {', '.join(missing)} (written by an "
                                    f"older lmc-bench); rerun its claim test to replace it")
        else:
            usable.append(o)
    records, problems = store.read_records()
    problems = problems + outcome_problems
    for problem in problems:
        announce(f"warning: {problem}")
    usable.sort(key=lambda o: (o["claim"], o["tier"] != "smoke", o["nodeid"]))
    return ReportInputs(store, usable, records, problems, note)


def build_report(store: ResultsStore, out_dir: str | Path, title_note: str = "", sections: list[Section] | None = None) -> dict[str, Path]:
    """Write report.md, report.html and claims.json from ``store``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = read_inputs(store, title_note)
    document = Document(REPORT_TITLE)
    for section in sections or SECTIONS:
        document.add(*section(inputs))
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "claims.json"}
    for key, text in (("md", to_markdown(document, out_dir / "figures")), ("html", to_html(document)),
                      ("json", json.dumps(inputs.outcomes, indent=1))):
        tmp = paths[key].with_name(f".{paths[key].name}.tmp")
        tmp.write_text(text)
        tmp.replace(paths[key])
    return paths
