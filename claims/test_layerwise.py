"""B2 and B3 — beyond the paper: where along the network a barrier lives, and whether local
curvature predicts it.

B2 (layer-wise LMC, Adilova et al., ICLR 2024): on pairs the suite finds unstable, interpolating
one layer at a time (the rest from Θ_A or Θ_B) meets no barrier although the whole-network path
does. Asserted on the test set, with ½(L(Θ_A) + L(Θ_B)) of the full endpoints as reference: the
whole network's barrier (Eq. 1) is at least 0.1 (C2's threshold for "a barrier"); every single-layer
mixture at λ = ½, with either base, stays below half of it (the value the public code of the
layer-wise paper reads); and so does every layer's barrier over the whole λ grid (max over λ and
both bases, the definition of :mod:`lmc_bench.layerwise`). The training-data barriers and the
cumulative barriers (layers added shallow first, deep first, in a random order) are recorded for
the report's heat maps and curves.

B3 (second-order predictor, motivated by Singh et al., "Landscaping Linear Mode Connectivity"):
a question, not a foregone answer. Across the pairs of the tier, is the measured midpoint barrier
rank-correlated with ¼(∇L(Θ_A) − ∇L(Θ_B))ᵀΔ + (1/16)Δᵀ(H(Θ_A) + H(Θ_B))Δ (test loss)? Asserted:
Spearman ρ > 0 at one-sided p < 0.05, network-wide over every pair, and per layer over the pairs of
B2 (each layer's mean midpoint mixture against the same prediction with the gradient slice and
the diagonal Hessian block). The coefficients of both, and of the midpoint form −⅛ΔᵀH(Θ̄)Δ, are
recorded whatever they are.
"""

from functools import cache

import numpy as np
import pytest
from scipy.stats import spearmanr

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.pair_analysis import layerwise_summary, midpoint_barrier, predicted_barriers

BARRIER_PRESENT = 0.1
"""A whole-network barrier of at least this counts as a barrier (C2's threshold)."""
LAYER_SHARE = 0.5
"""A single layer's barrier counts as small below this fraction of the whole network's."""
P_VALUE = 0.05


def _independent(spec):
    return spec.replace(**{"train.init": "independent"})


SMOKE_L3 = smoke_setting("mlp_l3, bundled MNIST, B=32, lr 1.5e-2", paper_spec("mlp_l3", "mnist_bundled", 1.5e-2, 32),
                         ("mnist", 1e-3, 32))
SMOKE_INDEPENDENT = smoke_setting(
    "mlp_l3, bundled MNIST, independent init, same subset, different noise",
    _independent(paper_spec("mlp_l3", "mnist_bundled", 1e-3, 32, shift="none", noise="different", on_train=True)),
    ("cifar10", 1e-3, 32))
FULL_L3 = paper_setting("mlp_l3, mnist, B=32, lr 1e-3", paper_spec("mlp_l3", "mnist", 1e-3, 32))
FULL_RESNET = paper_setting("resnet22, mnist, lr 1e-3, B=1024, 20/80, different noise",
                            paper_spec("resnet22", "mnist", 1e-3, 1024, shift="label_imbalance", noise="different"))
FULL_INDEPENDENT = paper_setting(
    "mlp_l3, cifar10, independent init, same subset, different noise",
    _independent(paper_spec("mlp_l3", "cifar10", 1e-3, 32, shift="none", noise="different", on_train=True)))

B2_TITLE = "A single layer carries no barrier where the whole network has one (layer-wise LMC)"
B2_EXPECTATION = (f"test set: whole-network barrier ≥ {BARRIER_PRESENT:g}; every single-layer mixture at λ = ½ and "
                  f"every layer's barrier over the λ grid < {LAYER_SHARE:g} × the whole network's")
SMOKE_LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
"""λ grid of the smoke tier's layer-wise pass (the full tier uses the run's 11-point grid)."""
SMOKE_ANALOGUE = ("the suite's unstable MLP L3 smoke pairs on the bundled MNIST sample (C1 and C2b analogues); "
                  "layer-wise λ grid 0, ¼, ½, ¾, 1")
B2_ROWS = [
    *(ClaimRow("B2", B2_TITLE, "beyond the paper (Adilova et al.)", "full", (s,), B2_EXPECTATION + " (mean over seeds)")
      for s in (FULL_L3, FULL_RESNET, FULL_INDEPENDENT)),
    *(ClaimRow("B2", B2_TITLE, "beyond the paper (Adilova et al.)", "smoke", (s,), B2_EXPECTATION + ", on every seed",
               analogue=SMOKE_ANALOGUE)
      for s in (SMOKE_L3, SMOKE_INDEPENDENT)),
]


@cache
def _layerwise(spec, store, data_root, device, tier) -> dict:
    """Layer-wise pass of one run, once per session (B2 and B3 share it)."""
    return layerwise_summary(spec, store, data_root, device, SMOKE_LAMBDAS if tier == "smoke" else None)


def _layerwise_run(claim, spec) -> dict:
    context = claim.context
    return _layerwise(spec, context.store, context.data_root, context.device, claim.row.tier)


@pytest.mark.parametrize("row", B2_ROWS, ids=lambda r: f"{r.tier}-{r.id}")
def test_b2_single_layers_carry_no_barrier(row, claim):
    setting = row.settings[0]
    claim.measure(setting)
    runs = [_layerwise_run(claim, spec) for spec in claim.specs(setting)]
    claim.note("layerwise", {setting.label: runs})
    tests = [run["test"] for run in runs]
    full = np.array([test["full_barrier"] for test in tests])
    at_half = [np.max(test["midpoint_mixtures"], axis=0) for test in tests]  # per layer, worse base
    over_grid = [np.array(test["barriers"]) for test in tests]

    def largest(per_layer: list[np.ndarray]) -> str:
        return str([f"{v.max():.3f} (layer {test['layers'][int(v.argmax())]})" for v, test in zip(per_layer, tests)])

    per_seed = (f"whole network per seed {full.round(3).tolist()}; largest single-layer value at λ = ½ per seed "
                f"{largest(at_half)}; over the grid {largest(over_grid)}")
    at_half, over_grid = np.array([v.max() for v in at_half]), np.array([v.max() for v in over_grid])
    smoke = row.tier == "smoke"

    def below(values: np.ndarray, bound: np.ndarray) -> bool:
        """values < bound on every seed (smoke tier), or on the means over seeds (full tier)."""
        return bool(np.all(values < bound)) if smoke else bool(values.mean() < bound.mean())

    present = bool(np.all(full >= BARRIER_PRESENT)) if smoke else bool(full.mean() >= BARRIER_PRESENT)
    claim.check(f"whole-network test barrier ≥ {BARRIER_PRESENT:g}", present, per_seed)
    claim.check(f"every single-layer mixture at λ = ½ (either base) < {LAYER_SHARE:g} × the whole network's barrier",
                below(at_half, LAYER_SHARE * full), per_seed)
    claim.check(f"every layer's barrier over the λ grid < {LAYER_SHARE:g} × the whole network's",
                below(over_grid, LAYER_SHARE * full), per_seed)


B3_TITLE = "Local curvature ranks the midpoint barriers (second-order predictor)"
B3_EXPECTATION = (f"Spearman ρ(predicted, measured midpoint barrier) > 0 at one-sided p < {P_VALUE:g}, over every pair "
                  "and per layer over the pairs of B2")
SMOKE_SETTINGS = (
    smoke_setting("mlp_l1, bundled MNIST, B=32, lr 1.5e-2", paper_spec("mlp_l1", "mnist_bundled", 1.5e-2, 32), ("mnist", 1e-3, 32)),
    SMOKE_L3,
    smoke_setting("mlp_l3, bundled MNIST, B=32, lr 1e-3", paper_spec("mlp_l3", "mnist_bundled", 1e-3, 32), ("mnist", 1e-4, 32)),
    smoke_setting("mlp_l3, bundled MNIST, B=256, lr 1.5e-2", paper_spec("mlp_l3", "mnist_bundled", 1.5e-2, 256), ("mnist", 1e-3, 1024)),
    smoke_setting("mlp_l1, bundled MNIST, B=32, lr 1e-3", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 32), ("mnist", 1e-3, 32)),
    smoke_setting("mlp_l1, bundled MNIST, B=64, lr 1e-3", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 64), ("mnist", 1e-3, 1024)),
    smoke_setting("mlp_l3, bundled MNIST, B=64, lr 1e-3", paper_spec("mlp_l3", "mnist_bundled", 1e-3, 64), ("mnist", 1e-3, 1024)),
    smoke_setting("mlp_l1, bundled MNIST, B=64, lr 1e-3, 20/80, different noise",
                  paper_spec("mlp_l1", "mnist_bundled", 1e-3, 64, shift="label_imbalance", noise="different"), ("mnist", 1e-3, 1024)),
    smoke_setting("mlp_l1, bundled MNIST, B=64, lr 1e-3, [0,1]", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 64, normalization="unit"),
                  ("cifar10", 1e-3, 1024)),
    smoke_setting("mlp_l1_bn, bundled MNIST, B=64, lr 1e-3, [0,1]",
                  paper_spec("mlp_l1_bn", "mnist_bundled", 1e-3, 64, normalization="unit"), ("cifar10", 1e-3, 1024)),
    SMOKE_INDEPENDENT,
)
"""Every configuration the smoke tier trains (C1-C4, C6-C9 and C2b)."""
FULL_SETTINGS = (
    FULL_L3,
    paper_setting("mlp_l3, mnist, B=1024, lr 1e-3", paper_spec("mlp_l3", "mnist", 1e-3, 1024)),
    paper_setting("resnet22, mnist, lr 1e-3, B=1024", paper_spec("resnet22", "mnist", 1e-3, 1024)),
    paper_setting("resnet22, mnist, lr 1e-4, B=1024, different noise", paper_spec("resnet22", "mnist", 1e-4, 1024, noise="different")),
    FULL_RESNET,
    paper_setting("resnet22, mnist, lr 1e-4, B=1024, 20/80, different noise",
                  paper_spec("resnet22", "mnist", 1e-4, 1024, shift="label_imbalance", noise="different")),
    FULL_INDEPENDENT,
)
"""Unstable and stable pairs of MLP L3 (Table VI) and ResNet22 (Table VII), and C2b's pair."""
B3_ROWS = [
    ClaimRow("B3", B3_TITLE, "beyond the paper (Singh et al.)", "full", FULL_SETTINGS, B3_EXPECTATION),
    ClaimRow("B3", B3_TITLE, "beyond the paper (Singh et al.)", "smoke", SMOKE_SETTINGS, B3_EXPECTATION,
             analogue="every pair the smoke tier trains (11 configurations x 5 seeds); per layer the MLP L3 pairs of B2"),
]
LAYERWISE_SETTINGS = {s.label for row in B2_ROWS for s in row.settings}


def _spearman(predicted: list[float], measured: list[float]) -> dict:
    result = spearmanr(predicted, measured, alternative="greater")
    return {"rho": float(result.statistic), "p_one_sided": float(result.pvalue), "n": len(measured)}


@pytest.mark.parametrize("row", B3_ROWS, ids=lambda r: r.tier)
def test_b3_curvature_ranks_midpoint_barriers(row, claim):
    context = claim.context
    pairs, layers = [], []
    for setting in row.settings:
        measurement = claim.measure(setting)
        per_layer = setting.label in LAYERWISE_SETTINGS
        for spec, record in zip(claim.specs(setting), measurement.records):
            predicted = predicted_barriers(spec, context.store, context.data_root, context.device, per_layer)
            pairs.append({"setting": setting.label, "seed": spec.seed, "measured": midpoint_barrier(record),
                          "endpoints": predicted["endpoints"], "midpoint": predicted["midpoint"]})
            if per_layer:
                test = _layerwise_run(claim, spec)["test"]
                layers += [{"setting": setting.label, "seed": spec.seed, "layer": layer, "measured": measured,
                            "predicted": predicted["layers"][layer]}
                           for layer, measured in zip(test["layers"], test["midpoint_barriers"])]
    measured = [p["measured"] for p in pairs]
    spearman = {
        "network_endpoints": _spearman([p["endpoints"] for p in pairs], measured),
        "network_midpoint": _spearman([p["midpoint"] for p in pairs], measured),
        "per_layer_endpoints": _spearman([q["predicted"] for q in layers], [q["measured"] for q in layers]),
    }
    claim.note("barrier_prediction", {"pairs": pairs, "layers": layers, "spearman": spearman})
    for key, what in (("network_endpoints", "network-wide"), ("per_layer_endpoints", "per layer")):
        s = spearman[key]
        claim.check(f"{what}: Spearman ρ > 0 at one-sided p < {P_VALUE:g}", s["rho"] > 0 and s["p_one_sided"] < P_VALUE,
                    f"ρ = {s['rho']:.3f}, p = {s['p_one_sided']:.2g}, n = {s['n']} (midpoint form network-wide: "
                    f"ρ = {spearman['network_midpoint']['rho']:.3f})")
