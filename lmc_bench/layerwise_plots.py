"""Figures of claims B2 and B3, from a claim outcome alone: layer-wise barrier heat maps (layer x
run and layer x λ), cumulative barrier curves, and predicted-vs-measured midpoint barriers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import SymLogNorm  # noqa: E402

EXTRA_KEYS = ("layerwise", "barrier_prediction")
"""Outcome extras drawn here (too long to print as numbers in the report)."""

ORDER_STYLES = {"shallow": "-", "deep": "--", "random": ":"}


def _heat(ax, values: np.ndarray, rows: list[str], columns: list[str], title: str) -> None:
    """Annotated heat map; colours on a symmetric log scale (single layers can reach many times the
    whole network's barrier)."""
    norm = SymLogNorm(linthresh=0.1, vmin=min(values.min(), 0.0), vmax=max(values.max(), 0.1))
    image = ax.imshow(values, aspect="auto", cmap="viridis", norm=norm)
    ax.set_yticks(range(len(rows)), rows, fontsize=6)
    ax.set_xticks(range(len(columns)), columns, fontsize=6, rotation=90 if len(columns) > 6 else 0)
    if values.size <= 120:
        for (i, j), value in np.ndenumerate(values):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=5, color="w")
    ax.set_title(title, fontsize=8)
    ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02).ax.tick_params(labelsize=6)


def layer_heat_maps(label: str, runs: list[dict]) -> plt.Figure:
    """Per data set: barrier of each layer and of the whole network per run (seed), and, mean over
    runs, L(Θ_l(λ)) − ½(L(Θ_A) + L(Θ_B)) per layer and λ with layer l mixed into Θ_A (at λ = 1 it
    is Θ_B's layer in Θ_A), beside the whole-network path."""
    data_sets = [name for name in ("test", "train") if name in runs[0]]
    fig, axes = plt.subplots(len(data_sets), 2, figsize=(9.5, 1.2 + 2.2 * len(data_sets)), squeeze=False)
    for (ax_runs, ax_lambda), name in zip(axes, data_sets):
        first = runs[0][name]
        rows = ["whole network", *first["layers"]]
        per_run = np.array([[run[name]["full_barrier"], *run[name]["barriers"]] for run in runs]).T
        _heat(ax_runs, per_run, rows, [f"seed {run['seed']}" for run in runs], f"{name}: barrier over the λ grid, per layer and run")
        into_a = np.mean([np.array(run[name]["loss"])[0] - run[name]["reference"] for run in runs], axis=0)
        full = np.mean([np.array(run[name]["full_loss"]) - run[name]["reference"] for run in runs], axis=0)
        _heat(ax_lambda, np.vstack([full, into_a]), rows, [f"{lam:g}" for lam in first["lambdas"]],
              f"{name}: layer mixed into Θ_A, L − ½(L_A + L_B) along λ (mean over runs)")
    fig.suptitle(f"B2 layer-wise barriers: {label}", fontsize=9)
    fig.tight_layout()
    return fig


def cumulative_curves(label: str, runs: list[dict]) -> plt.Figure:
    """Barrier at λ = ½ against the number of layers mixed, per order (mean over runs and both bases,
    band = min–max over runs); the dotted line is the whole network's midpoint barrier."""
    data_sets = [name for name in ("test", "train") if name in runs[0]]
    fig, axes = plt.subplots(1, len(data_sets), figsize=(4.6 * len(data_sets), 3.4), squeeze=False)
    for ax, name in zip(axes[0], data_sets):
        orders = runs[0][name]["cumulative"]["orders"]
        for index, order in enumerate(o for o in ORDER_STYLES if o in orders):
            values = np.array([np.mean(run[name]["cumulative"]["values"][order], axis=0) for run in runs])
            k = np.arange(1, values.shape[1] + 1)
            shown = ', '.join(orders[order][:6]) + (', …' if len(orders[order]) > 6 else '')
            legend = f"{order} first" if order != "random" else f"random order ({shown})"
            line = ax.plot(k, values.mean(0), ORDER_STYLES[order], marker="o", ms=3, color=f"C{index}", label=legend)[0]
            ax.fill_between(k, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
        ax.axhline(np.mean([run[name]["full_midpoint_barrier"] for run in runs]), color="grey", lw=1, ls=":")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("layers mixed at λ = ½")
        ax.set_ylabel("L(mixture) − ½(L_A + L_B)")
        ax.set_title(name, fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(f"B2 cumulative barriers: {label}", fontsize=9)
    fig.tight_layout()
    return fig


def prediction_scatter(prediction: dict) -> plt.Figure:
    """Predicted (endpoint form) against measured midpoint barriers: network-wide, one point per
    pair coloured by setting; per layer, one point per pair and layer coloured by layer."""
    fig, (ax_net, ax_layer) = plt.subplots(1, 2, figsize=(10, 4))
    pairs, layers, spearman = prediction["pairs"], prediction["layers"], prediction["spearman"]
    for index, setting in enumerate(dict.fromkeys(p["setting"] for p in pairs)):
        chosen = [p for p in pairs if p["setting"] == setting]
        ax_net.scatter([p["measured"] for p in chosen], [p["endpoints"] for p in chosen], s=14, color=f"C{index % 10}",
                       marker="os^"[index // 10 % 3], label=setting)
    for index, layer in enumerate(dict.fromkeys(q["layer"] for q in layers)):
        chosen = [q for q in layers if q["layer"] == layer]
        ax_layer.scatter([q["measured"] for q in chosen], [q["predicted"] for q in chosen], s=14, color=f"C{index % 10}",
                         label=f"layer {layer}")
    for ax, key, what in ((ax_net, "network_endpoints", "network-wide"), (ax_layer, "per_layer_endpoints", "per layer")):
        s = spearman[key]
        ax.set_title(f"{what}: Spearman ρ = {s['rho']:.2f} (p = {s['p_one_sided']:.2g}, n = {s['n']})", fontsize=8)
        ax.set_xlabel("measured midpoint barrier (test)")
        ax.set_ylabel("predicted ¼(g_A − g_B)ᵀΔ + (1/16)Δᵀ(H_A + H_B)Δ")
        ax.set_xscale("symlog", linthresh=1e-2)
        ax.set_yscale("symlog", linthresh=1e-2)
        low, high = min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([low, high], [low, high], color="grey", lw=0.8, ls=":")
        ax.legend(fontsize=5)
    fig.tight_layout()
    return fig


def claim_figures(outcome: dict) -> list[tuple[plt.Figure, str, str]]:
    """(figure, file-name suffix, caption) for the B2 / B3 data in a claim outcome's extras."""
    extra = outcome["extra"]
    figures = []
    for index, (label, runs) in enumerate(extra.get("layerwise", {}).items()):
        figures.append((layer_heat_maps(label, runs), f"layers{index}",
                        f"Layer-wise barriers, {label}: per layer and run (left), along λ (right)"))
        figures.append((cumulative_curves(label, runs), f"cumulative{index}",
                        f"Cumulative barriers at λ = ½, {label}: layers added shallow first, deep first, in a random order"))
    if "barrier_prediction" in extra:
        figures.append((prediction_scatter(extra["barrier_prediction"]), "prediction",
                        "Second-order prediction against measured midpoint barriers (test loss)"))
    return figures
