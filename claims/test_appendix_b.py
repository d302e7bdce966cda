"""C9 — Appendix B, Fig. 18: same-noise label alignment and reproducibility checks."""

import pytest
import torch

from lmc_bench.claims import ClaimRow, paper_setting, paper_spec, smoke_setting
from lmc_bench.data.prepare import prepare_data
from lmc_bench.experiment import resolve_device, train_pairs

REPRO_EPOCHS = 2
"""Epochs of the two identical runs compared bit for bit (the check needs no converged model)."""

ROWS = [
    ClaimRow("C9", "Same SGD noise puts the same labels in the same batches; one seed reproduces a run", "App. B",
             "smoke", (smoke_setting("", paper_spec("mlp_l1", "mnist_bundled", 1e-3, 32), ("mnist", 1e-3, 32)),),
             "tracked labels of both loaders identical in epochs 1 and 20; two runs with one seed bit-identical "
             "on CPU; interpolation between them flat to ≤ 1e-5",
             analogue="the paper's model, lr and batch size on the bundled 4,000-image MNIST sample (N = 2,000 per subset)"),
    ClaimRow("C9", "Same SGD noise puts the same labels in the same batches; one seed reproduces a run", "App. B",
             "full", (paper_setting("", paper_spec("resnet10", "mnist", 1e-3, 32)),),
             "tracked labels identical in epochs 1 and 20; interpolation between two same-seed runs flat to ≤ 1e-5"),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_label_alignment_and_reproducibility(row, claim):
    setting = row.settings[0]
    measurement = claim.measure(setting)
    for record in measurement.records:
        tracked = record["history"]
        for epoch in ("1", "20"):
            claim.check(f"seed {record['spec']['seed']}: batch-10 labels of epoch {epoch} match across loaders",
                        tracked["a"]["tracked_labels"][epoch] == tracked["b"]["tracked_labels"][epoch],
                        f"A {tracked['a']['tracked_labels'][epoch]} vs B {tracked['b']['tracked_labels'][epoch]}")

    spec = claim.specs(setting)[0].replace(**{"train.epochs": REPRO_EPOCHS})
    data = prepare_data(spec.data, claim.context.data_root)
    device = resolve_device(claim.context.device)
    (first_run,), evaluate_path = train_pairs([spec], data, device)
    (second_run,), _ = train_pairs([spec], data, device)
    first, second = first_run[1].state_dict(), second_run[1].state_dict()
    if device.type == "cpu":
        identical = all(torch.equal(first[k], second[k]) for k in first)
        claim.check(f"two runs with one seed are bit-identical on CPU ({spec.engine} engine)", identical, "compared every state-dict entry")
    path, _ = evaluate_path(spec, {k: v.cpu() for k, v in first.items()}, {k: v.cpu() for k, v in second.items()}, data, device)
    spread = max(path["test_loss"]) - min(path["test_loss"])
    claim.note("reproducibility_loss_spread", spread)
    claim.check("interpolation between the two runs is flat", spread <= 1e-5, f"max − min test loss along λ = {spread:.2e}")
