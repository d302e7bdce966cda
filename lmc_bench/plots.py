"""Figures of the report: interpolation curves with seed bands (Figs. 4, 5, 8, 11, 12), barrier
and Δ against batch size / learning rate (Fig. 7), angle vs Manhattan distance (Fig. 13), polar
plots of the path (Fig. 15), and barrier and Δ against the noise scale g (B1)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import textwrap  # noqa: E402
from typing import Callable  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullLocator, ScalarFormatter  # noqa: E402

TITLE_WIDTH = 60
"""Characters per title line: titles are wrapped so that none is cut at the figure's edge."""
PATH_DATA = {"test": "test set", "train_a": "training subset 1 (copy A's data)"}
MARKERS = "osD^vP*Xh<>"


def multi_label_run(record: dict) -> bool:
    """Whether a run's loss is BCE with logits and its score weighted AP (BigEarthNet's domain shift)."""
    return record["spec"]["data"]["shift"] == "domain"


def set_title(ax, title: str) -> None:
    """A title wrapped to the figure's width (the claim id leads, so it is never the part cut off)."""
    ax.set_title("\n".join(textwrap.wrap(title, TITLE_WIDTH)), fontsize=9)


def _family_style(families: list[str]) -> dict[str, dict]:
    """A colour and marker per configuration family (ten distinct colours, then the marker changes)."""
    cmap = plt.get_cmap("tab10")
    return {f: {"color": cmap(i % 10), "marker": MARKERS[(i // 10) % len(MARKERS)]} for i, f in enumerate(sorted(families))}


def interpolation_curves(settings: list[tuple[str, list[dict]]], title: str = "", data: str = "test") -> plt.Figure:
    """Loss (top) and accuracy or weighted AP (bottom) along λ on ``data`` ("test", or "train_a":
    copy A's training subset): mean over seeds with a min-max band."""
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(5.5, 5.2), sharex=True)
    for label, records in settings:
        records = [r for r in records if f"{data}_loss" in r["path"]]
        if not records:
            continue
        lambdas = np.array(records[0]["path"]["lambdas"])
        for ax, key in ((ax_loss, f"{data}_loss"), (ax_acc, f"{data}_acc")):
            values = np.array([r["path"][key] for r in records])
            line = ax.plot(lambdas, values.mean(0), marker="o", ms=3, label=label)[0]
            ax.fill_between(lambdas, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    multi_label = any(multi_label_run(r) for _, records in settings for r in records)
    where = "test" if data == "test" else "training"
    ax_loss.set_ylabel(f"{where} loss (BCE with logits)" if multi_label else f"{where} loss (NLL)")
    ax_acc.set_ylabel(f"{where} weighted AP (%)" if multi_label else f"{where} accuracy (%)")
    ax_acc.set_xlabel("λ  (Θ = (1−λ)Θ_A + λΘ_B)")
    ax_loss.legend(fontsize=7)
    if title:
        set_title(ax_loss, title)
    fig.tight_layout()
    return fig


def _by_family(records: list[dict], family_of: Callable[[dict], str]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(family_of(r), []).append(r)
    return groups


def _legend_outside(ax) -> None:
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def metric_against(records: list[dict], x_key: str, x_label: str, family_of: Callable[[dict], str],
                   log_x: bool = True, title: str = "") -> plt.Figure:
    """Barrier (left) and Δ (right) of every run against ``x_key``, one colour and marker per
    configuration family (Fig. 7, B1). Against the batch size, the ticks are the batch sizes."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    groups = _by_family(records, family_of)
    style = _family_style(list(groups))
    for family, runs in sorted(groups.items()):
        x = np.array([_lookup(r, x_key) for r in runs], dtype=float)
        for ax, metric in zip(axes, ("barrier", "delta")):
            ax.scatter(x, [r["metrics"][metric] for r in runs], s=16, alpha=0.75, label=family, **style[family])
    axes[0].set_ylabel("barrier (local minima)")
    axes[1].set_ylabel("Δ accuracy (pp)")
    axes[1].axhline(-5, ls="--", color="grey", lw=1)
    ticks = sorted({float(_lookup(r, x_key)) for r in records})
    for ax in axes:
        ax.set_xlabel(x_label)
        if log_x:
            ax.set_xscale("log")
        if x_key == "train.batch_size":
            ax.set_xticks(ticks)
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_locator(NullLocator())
    _legend_outside(axes[1])
    if title:
        fig.suptitle("\n".join(textwrap.wrap(title, 2 * TITLE_WIDTH)), fontsize=9)
    fig.tight_layout()
    return fig


def angle_vs_manhattan(records: list[dict], family_of: Callable[[dict], str], title: str = "") -> plt.Figure:
    """Angle between Θ_A and Θ_B against their Manhattan distance (Fig. 13), by configuration family."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    groups = _by_family(records, family_of)
    style = _family_style(list(groups))
    for family, runs in sorted(groups.items()):
        ax.scatter([r["metrics"]["manhattan"] for r in runs], [r["metrics"]["angle"] for r in runs], s=16,
                   alpha=0.75, label=family, **style[family])
    ax.set_xlabel("Manhattan distance Σ|θA − θB|")
    ax.set_ylabel("angle (degrees)")
    _legend_outside(ax)
    if title:
        set_title(ax, title)
    fig.tight_layout()
    return fig


def path_angles(record: dict) -> np.ndarray:
    """Angle (degrees) between Θ_A and each Θ(λ), from |Θ_A|, |Θ_B| and the angle between them."""
    m = record["metrics"]
    lambdas = np.array(record["path"]["lambdas"])
    dot = m["norm_a"] * m["norm_b"] * m["cosine"]
    norms = np.sqrt((1 - lambdas) ** 2 * m["norm_a"] ** 2 + 2 * lambdas * (1 - lambdas) * dot + lambdas**2 * m["norm_b"] ** 2)
    cosines = ((1 - lambdas) * m["norm_a"] ** 2 + lambdas * dot) / (m["norm_a"] * norms)
    return np.degrees(np.arccos(np.clip(cosines, -1, 1)))


def polar_paths(settings: list[tuple[str, list[dict]]], title: str = "") -> plt.Figure:
    """Polar plot (Fig. 15): angle between Θ_A and Θ(λ) as the polar angle, test loss as the radius;
    one curve per seed."""
    fig = plt.figure(figsize=(4.6, 4.2))
    ax = fig.add_subplot(projection="polar")
    for index, (label, records) in enumerate(settings):
        colour = f"C{index}"
        for k, record in enumerate(r for r in records if "norm_a" in r["metrics"]):
            ax.plot(np.radians(path_angles(record)), record["path"]["test_loss"], color=colour, alpha=0.7,
                    marker=".", label=label if k == 0 else None)
    ax.set_thetamin(0)
    ax.set_thetamax(90)
    ax.legend(fontsize=6, loc="lower left", bbox_to_anchor=(0.0, -0.3))
    fig.text(0.98, 0.02, "polar angle: angle between Θ_A and Θ(λ) (°)\nradius: test loss", fontsize=7, ha="right")
    if title:
        set_title(ax, title)
    fig.tight_layout()
    return fig


def _lookup(record: dict, key: str):
    if key in record["metrics"]:
        return record["metrics"][key]
    part, name = key.split(".")
    return record["spec"][part][name]
