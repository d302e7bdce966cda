"""Figures of the report: interpolation curves with seed bands (Figs. 4, 5, 8, 11, 12), barrier
and Δ against batch size / learning rate (Fig. 7), angle vs Manhattan distance (Fig. 13), polar
plots of the path (Fig. 15), and barrier and Δ against the noise scale g (B1)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def multi_label_run(record: dict) -> bool:
    """Whether a run's loss is BCE with logits and its score weighted AP (BigEarthNet's domain shift)."""
    return record["spec"]["data"]["shift"] == "domain"


def interpolation_curves(settings: list[tuple[str, list[dict]]], title: str = "") -> plt.Figure:
    """Test loss (top) and accuracy or weighted AP (bottom) along λ: mean over seeds with a min-max band."""
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(5.5, 5.2), sharex=True)
    for label, records in settings:
        if not records:
            continue
        lambdas = np.array(records[0]["path"]["lambdas"])
        for ax, key in ((ax_loss, "test_loss"), (ax_acc, "test_acc")):
            values = np.array([r["path"][key] for r in records])
            line = ax.plot(lambdas, values.mean(0), marker="o", ms=3, label=label)[0]
            ax.fill_between(lambdas, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    multi_label = any(multi_label_run(r) for _, records in settings for r in records)
    ax_loss.set_ylabel("test loss (BCE with logits)" if multi_label else "test loss (NLL)")
    ax_acc.set_ylabel("test weighted AP (%)" if multi_label else "test accuracy (%)")
    ax_acc.set_xlabel("λ  (Θ = (1−λ)Θ_A + λΘ_B)")
    ax_loss.legend(fontsize=7)
    if title:
        ax_loss.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def metric_against(records: list[dict], x_key: str, x_label: str, log_x: bool = True) -> plt.Figure:
    """Barrier (left) and Δ (right) of every run against ``x_key``, one colour per model (Fig. 7, B1)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    models = sorted({r["spec"]["model"] for r in records})
    for model in models:
        runs = [r for r in records if r["spec"]["model"] == model]
        x = np.array([_lookup(r, x_key) for r in runs], dtype=float)
        for ax, metric in zip(axes, ("barrier", "delta")):
            ax.scatter(x, [r["metrics"][metric] for r in runs], s=14, alpha=0.7, label=model)
    axes[0].set_ylabel("barrier (local minima)")
    axes[1].set_ylabel("Δ accuracy (pp)")
    axes[1].axhline(-5, ls="--", color="grey", lw=1)
    for ax in axes:
        ax.set_xlabel(x_label)
        if log_x:
            ax.set_xscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def angle_vs_manhattan(records: list[dict]) -> plt.Figure:
    """Angle between Θ_A and Θ_B against their Manhattan distance (Fig. 13)."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for model in sorted({r["spec"]["model"] for r in records}):
        runs = [r for r in records if r["spec"]["model"] == model]
        ax.scatter([r["metrics"]["manhattan"] for r in runs], [r["metrics"]["angle"] for r in runs], s=14, label=model)
    ax.set_xlabel("Manhattan distance Σ|θA − θB|")
    ax.set_ylabel("angle (degrees)")
    ax.legend(fontsize=7)
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
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _lookup(record: dict, key: str):
    if key in record["metrics"]:
        return record["metrics"][key]
    part, name = key.split(".")
    return record["spec"][part][name]
