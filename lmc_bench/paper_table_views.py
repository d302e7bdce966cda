"""The report's views of the paper's Tables VI, VII, VIII and III, laid out as in the paper.

Each cell holds the paper's mean ± std and ours, with the difference ours − paper and its 95 %
confidence interval (:mod:`lmc_bench.paper_statistics`), coloured by the label: consistent, ours
higher, ours lower. The numbers come from the claim outcomes in the results store (the
``versus_paper`` entry of each setting of a paper configuration, and the Table III ensembles);
cells of configurations not run show the paper's numbers alone. A table appears once one of its
cells has been measured. B4 (Fashion-MNIST) gets the MNIST rows of Table VI, compared with the
paper's MNIST numbers.

:func:`markdown_sections` and :func:`html_sections` return fragments for the report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .paper_statistics import TOO_FEW_SEEDS
from .paper_tables import TABLE_III, TABLE_VI, TABLE_VII, TABLE_VIII

LABEL_COLOURS = {"consistent": "#d7f0d7", "ours higher": "#fbdcc0", "ours lower": "#d3e2f7", TOO_FEW_SEEDS: "#ececec"}
LABEL_MARKS = {"consistent": "🟢", "ours higher": "🔺", "ours lower": "🔻", TOO_FEW_SEEDS: "⚪"}
LEGEND = ("Each cell: the paper's mean ± std over five seeds → ours over our seeds; below, the difference "
          "ours − paper with its 95 % Welch confidence interval, and the label: 🟢 consistent (the interval "
          "holds 0), 🔺 ours higher, 🔻 ours lower. A paper std of 0 makes it a one-sample t interval on our "
          "seeds; the interval is widened by half the paper's printed resolution. Verdicts (stable when "
          "Δ ≥ −5 pp) keep the paper's rule and are in the summary above; a dash marks a configuration not run.")


@dataclass(frozen=True)
class Cell:
    """One number of a paper table: the paper's (mean, std), and our comparison when measured
    (a :func:`lmc_bench.paper_statistics.welch_interval` dict), or our single value when the paper
    gives a single number (Table III's different-seed ensembles)."""

    paper: tuple | None
    comparison: dict | None = None
    single: float | None = None
    decimals: int = 2
    """Decimals the paper prints (ours are printed alike)."""


@dataclass(frozen=True)
class TableView:
    title: str
    header: list[str]
    rows: list[list]

    def measured(self) -> bool:
        return any(isinstance(c, Cell) and (c.comparison or c.single is not None) for row in self.rows for c in row)


def _spec_key(spec: dict) -> tuple:
    data, train = spec["data"], spec["train"]
    return (spec["model"], data["dataset"], float(train["lr"]), train["batch_size"], train["noise"],
            data["normalization"], data["shift"])


def _key(model, dataset, lr, batch, noise="same", normalization="centered", shift="covariate") -> tuple:
    return (model, dataset, float(lr), batch, noise, normalization, shift)


def measured_settings(outcomes: list[dict]) -> dict[tuple, dict]:
    """Comparison per metric of every measured paper configuration, by configuration."""
    index = {}
    for outcome in outcomes:
        for setting in outcome.get("settings", []):
            if setting.get("versus_paper"):
                index.setdefault(_spec_key(setting["spec"]), setting["versus_paper"])
    return index


def measured_ensembles(outcomes: list[dict]) -> dict[tuple, dict]:
    """Table III ensembles (ours, and their comparison with the paper) by (model, lr, batch size)."""
    index = {}
    for outcome in outcomes:
        ensembles = outcome.get("extra", {}).get("ensembles")
        if ensembles and not outcome.get("analogue") and outcome.get("settings"):
            spec = outcome["settings"][0]["spec"]
            index.setdefault((spec["model"], float(spec["train"]["lr"]), spec["train"]["batch_size"]), ensembles)
    return index


def _cell(paper, measured: dict | None, metric: str) -> Cell | str:
    if paper is None:
        return "–"
    return Cell(tuple(paper), (measured or {}).get(metric))


def _table_vi_rows(index, dataset_of) -> list[list]:
    rows = []
    for r in TABLE_VI:
        dataset = dataset_of(r.dataset)
        if dataset is None:
            continue
        cells = []
        for batch, pair in ((32, r.b32), (1024, r.b1024)):
            measured = index.get(_key(r.model, dataset, r.lr, batch, r.noise, r.normalization))
            cells += [_cell(pair and pair[0], measured, "barrier"), _cell(pair and pair[1], measured, "delta")]
        name = r.model + (" (different noise)" if r.noise == "different" else "")
        rows.append([name, dataset, f"{r.lr:g}", *cells])
    return rows


def table_views(outcomes: list[dict]) -> list[TableView]:
    """The paper's tables with our numbers filled in (all of them, measured or not)."""
    index = measured_settings(outcomes)
    vi_header = ["model", "data", "lr", "B=32 barrier", "B=32 Δ (pp)", "B=1024 barrier", "B=1024 Δ (pp)"]
    views = [
        TableView("Table VI: barrier and Δ by learning rate and batch size (50/50 split)", vi_header,
                  _table_vi_rows(index, lambda d: d)),
        TableView("B4: the MNIST rows of Table VI on Fashion-MNIST (paper numbers: MNIST)", vi_header,
                  _table_vi_rows(index, lambda d: "fashion_mnist" if d == "mnist" else None)),
    ]
    rows = []
    for r in TABLE_VII:
        balanced = index.get(_key(r.model, r.dataset, r.lr, 1024, r.noise_5050))
        imbalanced = index.get(_key(r.model, r.dataset, r.lr, 1024, "different", shift="label_imbalance"))
        name = r.model + (" (50/50: different noise)" if r.noise_5050 == "different" else "")
        rows.append([name, f"{r.lr:g}", r.dataset,
                     _cell(r.barrier_5050, balanced, "barrier"), _cell(r.barrier_2080, imbalanced, "barrier"),
                     _cell(r.delta_5050, balanced, "delta"), _cell(r.delta_2080, imbalanced, "delta")])
    views.append(TableView("Table VII: label imbalance, B=1024", ["model", "lr", "data", "barrier 50/50", "barrier 20/80",
                                                                 "Δ 50/50 (pp)", "Δ 20/80 (pp)"], rows))
    rows = []
    for r in TABLE_VIII:
        centered = index.get(_key(r.model, "cifar10", r.lr, r.batch_size))
        unit = index.get(_key(r.model, "cifar10", r.lr, r.batch_size, normalization="unit"))
        rows.append([r.model, str(r.batch_size), f"{r.lr:g}",
                     _cell(r.barrier_centered, centered, "barrier"), _cell(r.barrier_unit, unit, "barrier"),
                     _cell(r.delta_centered, centered, "delta"), _cell(r.delta_unit, unit, "delta")])
    views.append(TableView("Table VIII: normalisation, CIFAR-10", ["model", "B", "lr", "barrier centered", "barrier [0,1]",
                                                                  "Δ centered (pp)", "Δ [0,1] (pp)"], rows))
    ensembles = measured_ensembles(outcomes)
    rows = []
    for r in TABLE_III:
        ours = ensembles.get((r.model, float(r.lr), r.batch_size), {})
        compared, seeds = ours.get("versus_paper", {}), ours.get("different_seeds", {})
        cells = []
        for short, key, lmc, single in (("wa", "wa", r.wa_lmc, r.wa_seeds), ("wd", "wd", r.wd_lmc, r.wd_seeds),
                                        ("vote", "vote_acc", r.vote_lmc, r.vote_seeds),
                                        ("average", "average_acc", r.average_lmc, r.average_seeds)):
            decimals = 3 if short in ("wa", "wd") else 2
            cells += [Cell(lmc, compared.get(f"{short}_lmc"), decimals=decimals),
                      Cell((single, None), single=seeds.get(key), decimals=decimals)]
        rows.append([r.model, f"{r.lr:g}", str(r.batch_size), *cells])
    views.append(TableView("Table III: LMC ensembles vs different-seed ensembles, CIFAR-10",
                           ["model", "lr", "B", "WA LMC", "WA seeds", "WD LMC", "WD seeds", "vote acc LMC (%)",
                            "vote acc seeds (%)", "avg acc LMC (%)", "avg acc seeds (%)"], rows))
    return views


def _pair(pair, decimals: int) -> str:
    mean, std = pair
    return f"{mean:.{decimals}f}" if std is None else f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def _cell_parts(cell: Cell) -> tuple[str, str, str | None]:
    """(paper → ours, difference and interval, label) of a cell."""
    d = cell.decimals
    if cell.single is not None:
        return f"{_pair(cell.paper, d)} → {cell.single:.{d}f}", "", None
    c = cell.comparison
    if c is None:
        return f"{_pair(cell.paper, d)} → –", "", None
    line = f"{_pair(cell.paper, d)} → {_pair(c['ours'], d)}"
    if c["ci"] is None:
        return line, f"{c['difference']:+.{d}f} (n = {c['n']})", c["label"]
    low, high = c["ci"]
    return line, f"{c['difference']:+.{d}f} [{low:+.{d}f}, {high:+.{d}f}]", c["label"]


def _markdown_cell(cell) -> str:
    if not isinstance(cell, Cell):
        return str(cell)
    line, interval, label = _cell_parts(cell)
    return " ".join(part for part in (line, LABEL_MARKS.get(label, ""), interval) if part)


def _html_cell(cell) -> str:
    if not isinstance(cell, Cell):
        return f"<td>{html.escape(str(cell))}</td>"
    line, interval, label = _cell_parts(cell)
    style = f' style="background:{LABEL_COLOURS[label]}"' if label else ""
    title = f' title="{html.escape(label)}"' if label else ""
    small = f"<br><small>{html.escape(interval)}</small>" if interval else ""
    return f"<td{style}{title}>{html.escape(line)}{small}</td>"


def markdown_sections(outcomes: list[dict]) -> list[str]:
    """Markdown blocks (heading, legend, one table per measured paper table); none when nothing
    of the paper's tables was measured."""
    views = [view for view in table_views(outcomes) if view.measured()]
    if not views:
        return []
    blocks = ["## Against the paper's tables", LEGEND]
    for view in views:
        lines = ["| " + " | ".join(view.header) + " |", "|" + "---|" * len(view.header)]
        lines += ["| " + " | ".join(_markdown_cell(c).replace("|", "\\|") for c in row) + " |" for row in view.rows]
        blocks += [f"### {view.title}", "\n".join(lines)]
    return blocks


def html_sections(outcomes: list[dict]) -> list[str]:
    """The same as :func:`markdown_sections`, as HTML fragments."""
    views = [view for view in table_views(outcomes) if view.measured()]
    if not views:
        return []
    blocks = ["<h2>Against the paper's tables</h2>", f"<p>{html.escape(LEGEND)}</p>"]
    for view in views:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in view.header)
        body = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in view.rows)
        blocks += [f"<h3>{html.escape(view.title)}</h3>", f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
    return blocks
