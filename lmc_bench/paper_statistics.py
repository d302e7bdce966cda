"""Our numbers against the paper's: difference of means with a 95 % Welch confidence interval.

The paper reports mean ± std over five seeds (Tables III, VI, VII, VIII). For each such number we
take our mean ± std over our seeds and compute the difference ours − paper with Welch's
interval (unequal variances, Welch–Satterthwaite degrees of freedom, ``scipy.stats.t``):

    d = m₁ − m₂,  se² = s₁²/n₁ + s₂²/n₂,  ν = se⁴ / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1)),
    CI = d ± t₀.₉₇₅(ν)·se ± r/2.

Conventions, stated because the paper leaves them open:

- the paper's std is taken as the sample std (ddof = 1) of n₂ = 5 seeds;
- a paper std of 0 (printed "0.0" or "0.00"): the paper's mean is treated as a known constant, and
  the formula reduces exactly to a one-sample t interval on our seeds (ν = n₁ − 1);
- the paper prints its means rounded to a resolution r (0.01 for barriers and Δ; 0.001 for the
  wrong agreement and disagreement of Table III), so the true mean lies within ±r/2 of the printed
  one; the interval is widened by r/2 on each side;
- when both stds are 0 the interval is d ± r/2;
- fewer than two seeds of ours give no interval.

Label: "consistent" when the interval contains 0, else "ours higher" or "ours lower". The
claim's verdict does not use these statistics; it keeps the paper's rule (Δ ≥ −5 pp is stable).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from scipy import stats

CONFIDENCE = 0.95
PAPER_SEED_COUNT = 5
DEFAULT_RESOLUTION = 0.01
RESOLUTION = {"wa_lmc": 1e-3, "wd_lmc": 1e-3}
"""Printed resolution of the paper's means where it is not :data:`DEFAULT_RESOLUTION`."""

LABELS = ("consistent", "ours higher", "ours lower")
TOO_FEW_SEEDS = "too few seeds"


def welch_interval(ours_mean: float, ours_std: float, ours_n: int, paper_mean: float, paper_std: float,
                   paper_n: int = PAPER_SEED_COUNT, resolution: float = DEFAULT_RESOLUTION,
                   confidence: float = CONFIDENCE) -> dict:
    """Difference ours − paper, its confidence interval and label (conventions in the module doc)."""
    difference = ours_mean - paper_mean
    result = {"ours": [ours_mean, ours_std], "n": ours_n, "paper": [paper_mean, paper_std], "paper_n": paper_n,
              "difference": difference, "ci": None, "df": None, "label": TOO_FEW_SEEDS}
    if ours_n < 2:
        return result
    v_ours, v_paper = ours_std**2 / ours_n, paper_std**2 / paper_n
    se = math.sqrt(v_ours + v_paper)
    if se > 0:
        df = (v_ours + v_paper) ** 2 / (v_ours**2 / (ours_n - 1) + v_paper**2 / (paper_n - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
        result["df"] = df
    else:
        half = 0.0
    half += resolution / 2
    low, high = difference - half, difference + half
    result["ci"] = [low, high]
    result["label"] = "consistent" if low <= 0 <= high else ("ours higher" if low > 0 else "ours lower")
    return result


def versus_paper(paper: Mapping[str, Sequence], measured: Mapping[str, Sequence[float]], n: int) -> dict:
    """For every metric the paper gives as (mean, std) and that we measured as (mean, std) over
    ``n`` seeds: the comparison of :func:`welch_interval`. Single approximate numbers of the paper
    (std None) are left out."""
    return {metric: welch_interval(float(measured[metric][0]), float(measured[metric][1]), n, float(paper_mean),
                                   float(paper_std), resolution=RESOLUTION.get(metric, DEFAULT_RESOLUTION))
            for metric, (paper_mean, paper_std) in paper.items() if paper_std is not None and metric in measured}


def ensembles_versus_paper(paper: Mapping[str, Sequence], lmc: Mapping[str, Sequence[float]], n: int) -> dict:
    """Table III: our LMC ensembles (:func:`lmc_bench.ensembles.lmc_ensembles`, keys "wa", "wd",
    "vote_acc", "average_acc", each (mean, std) over ``n`` seeds) against the paper's "wa_lmc",
    "wd_lmc", "vote_lmc" and "average_lmc"."""
    return versus_paper(paper, {f"{key.split('_')[0]}_lmc": value for key, value in lmc.items()}, n)
