"""Layer-wise pass and barrier predictions of pairs in the results store (claims B2 and B3).

Each function reads a finished run (its endpoint states, its data) and returns a JSON-ready dict,
which the claim tests record in their outcome and the report plots.
"""

from __future__ import annotations

import torch

from .barrier_prediction import model_loss, predict_barrier
from .config import RunSpec
from .data.prepare import prepare_data
from .layerwise import cumulative_barriers, evaluation_sets, layer_groups, layerwise_barriers
from .models import build_model
from .store import ResultsStore

CUMULATIVE_SEED = 0
"""Seed of the random layer order; one order for every run, so curves of several seeds average."""


def stored_pair(store: ResultsStore, spec: RunSpec) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The trained endpoint states Θ_A and Θ_B of a finished run, keys in the model's own order
    (the tensor file keeps its own order), so that layers come shallow first."""
    tensors = store.load_tensors(spec)
    keys = build_model(spec.model, spec.data.dataset).state_dict().keys()
    return {k: tensors[f"a.{k}"] for k in keys}, {k: tensors[f"b.{k}"] for k in keys}


def midpoint_barrier(record: dict, data: str = "test") -> float:
    """Measured midpoint barrier L(Θ(½)) − ½(L(Θ_A) + L(Θ_B)) of a run's stored path."""
    path = record["path"]
    losses = path[f"{data}_loss"]
    return losses[path["lambdas"].index(0.5)] - 0.5 * (losses[0] + losses[-1])


def layerwise_summary(spec: RunSpec, store: ResultsStore, data_root: str | None, device,
                      lambdas: tuple[float, ...] | None = None) -> dict:
    """Single-layer paths of every layer (both bases, on ``lambdas``, by default the run's grid) and
    cumulative barriers (shallow, deep and random order at λ = ½), on the test set and the pair's
    training data."""
    data = prepare_data(spec.data, data_root)
    template = build_model(spec.model, spec.data.dataset)
    state_a, state_b = stored_pair(store, spec)
    sets = evaluation_sets(data)
    paths = layerwise_barriers(template, state_a, state_b, sets, lambdas or spec.eval.lambdas, device)
    cumulative = cumulative_barriers(template, state_a, state_b, sets, seed=CUMULATIVE_SEED, device=device)
    return {"seed": spec.seed, **{name: {**paths[name].as_dict(), "cumulative": cumulative[name].as_dict()} for name in sets}}


def predicted_barriers(spec: RunSpec, store: ResultsStore, data_root: str | None, device, per_layer: bool) -> dict:
    """Second-order predictions of the test-set midpoint barrier: network-wide in the endpoint and
    the midpoint form, and (``per_layer``) the endpoint form of every layer."""
    data = prepare_data(spec.data, data_root)
    template = build_model(spec.model, spec.data.dataset)
    state_a, state_b = stored_pair(store, spec)
    loss = model_loss(template, data.test_x, data.test_y, device)
    predicted = {"endpoints": predict_barrier(loss, state_a, state_b),
                 "midpoint": predict_barrier(loss, state_a, state_b, at="midpoint")}
    if per_layer:
        predicted["layers"] = {layer: predict_barrier(loss, state_a, state_b, layer=layer) for layer in layer_groups(state_a)}
    return predicted
