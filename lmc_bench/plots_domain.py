"""Figure of the domain shift (Section IV-F, Fig. 9): Δ in weighted AP and the BCE barrier of each
band pair, single bands ordered by the gap between their central wavelengths, then the band
combinations with the number of bands they share."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .data.bigearthnet.bands import parse_selection, shared_bands, wavelength_gap_nm  # noqa: E402
from .plots import multi_label_run  # noqa: E402

BAND_PAIR_CAPTION = ("Domain shift per band pair (Fig. 9): Δ in weighted AP (pp) and barrier on the BCE test loss, "
                     "mean ± std over seeds; single bands by wavelength gap, then combinations by shared bands")


def pair_label(bands: list[str]) -> tuple[tuple, str]:
    """(sort key, label) of a band pair: single bands by wavelength gap, combinations after them."""
    first, second = bands
    if len(parse_selection(first)) == 1:
        gap = wavelength_gap_nm(first, second)
        return (0, gap), f"{first}–{second}\n{gap} nm"
    shared = len(shared_bands(first, second))
    return (1, -shared), f"{first}–{second}\n{shared} shared"


def band_pair_figure(settings: list[tuple[str, list[dict]]]) -> plt.Figure | None:
    """Bars of Δ and barrier per band pair; None unless at least two settings are domain-shift runs."""
    pairs = [(pair_label(records[0]["spec"]["data"]["bands"]), records) for _, records in settings
             if records and multi_label_run(records[0])]
    if len(pairs) < 2:
        return None
    pairs.sort(key=lambda item: item[0][0])
    fig, axes = plt.subplots(2, 1, figsize=(max(5.0, 0.9 * len(pairs) + 1.5), 5.2), sharex=True)
    x = np.arange(len(pairs))
    for ax, metric, label in ((axes[0], "delta", "Δ weighted AP (pp)"), (axes[1], "barrier", "barrier (BCE)")):
        values = [np.array([r["metrics"][metric] for r in records]) for _, records in pairs]
        ax.bar(x, [v.mean() for v in values], yerr=[v.std(ddof=1) if len(v) > 1 else 0.0 for v in values],
               color=["C0" if key[0] == 0 else "C1" for (key, _), _ in pairs], capsize=3)
        ax.set_ylabel(label)
        ax.axhline(0, color="grey", lw=0.8)
    axes[0].axhline(-5, ls="--", color="grey", lw=1)
    axes[1].set_xticks(x, [name for (_, name), _ in pairs], fontsize=7)
    fig.tight_layout()
    return fig
