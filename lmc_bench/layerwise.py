"""Layer-wise linear mode connectivity (Adilova et al., "Layer-wise Linear Mode Connectivity", ICLR 2024).

A *layer* is one module's group of state-dict keys, named by the module's path: a Linear or
Conv2d layer's weight with its bias; a BatchNorm layer's weight, bias and running statistics.
Layers are listed in the order of the model's state dict (the order of definition: shallow first
for every network here).

Single-layer interpolation (:func:`interpolate_layer`), base A:
``Θ_l(λ) = Θ_A`` with layer ``l`` replaced by ``(1−λ) Θ_A[l] + λ Θ_B[l]`` (base B: the rest from Θ_B).
Layer-wise barrier of layer ``l`` (:func:`layerwise_barriers`): ``max over the λ grid and both bases
of L(Θ_l(λ)) − ½(L(Θ_A) + L(Θ_B))``, i.e. Eq. (1) with the *full* endpoint models as reference,
on the test set and on the training data. Cumulative barriers (:func:`cumulative_barriers`): the
first k layers of an order (shallow first, deep first, or a seeded random order) mixed at λ = ½.

Every mixture of a pair is evaluated by the fast engine's stacked evaluation
(:class:`~lmc_bench.engine.StackedNetwork`, :func:`~lmc_bench.engine.stacked.stack_states`,
:func:`~lmc_bench.engine.evaluation.evaluate_stack`): all λ points of all layers and both bases,
together with the whole-network path, are stacked into as few models as memory allows
(``max_models``; one stack for an MLP) and evaluated in one pass over each data set.

Where this differs from the public code of the paper (repository link-er/layer-wise-lmc,
``LLMC/barrier.py``, ``LLMC/util.py``, ``LLMC/layer_cumulative_compute.py``):

- *Layer*: the same grouping (``get_layer_blocks`` groups state-dict keys by module prefix).
- *Grid*: theirs evaluates λ ∈ {0, ½, 1} and reads the barrier at λ = ½ (at λ = 0 and λ = 1 only
  the swapped-layer models "B with A's layer" and "A with B's layer"); ours takes the maximum over
  the run's whole grid (default 11 points) for both bases, which contains those points, and keeps
  the λ = ½ value as the midpoint barrier.
- *Reference loss*: both use ½(L(Θ_A) + L(Θ_B)) of the full endpoint models. Their loss is the
  mean over batches of the batch-mean cross-entropy (a smaller last batch weighs as a full one);
  ours is the mean NLL over samples, as everywhere in this benchmark.
- *Training data*: theirs the whole training loader; ours the union of the pair's two training
  subsets (the data the pair was trained on: the whole training set under covariate shift or label
  imbalance, the one shared subset under shift "none").
- *Integer buffers* (``num_batches_tracked``): theirs interpolated as floats; ours taken from the
  base model. Neither affects an evaluation.
- *BatchNorm statistics* are mixed with their layer, as theirs; they are never re-estimated
  (re-estimating would change every BatchNorm layer, not only the mixed one).
- *Cumulative orders*: shallow, deep and seeded random as theirs (their random order comes from
  ``np.random.shuffle`` under seed 111, ours from ``np.random.default_rng(seed)``); their
  "minimal" order is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .data.prepare import PreparedData
from .engine.evaluation import evaluate_stack
from .engine.stacked import StackedNetwork, stack_states
from .interpolate import interpolate_state

Tensors = dict[str, torch.Tensor]
Datasets = Mapping[str, tuple[torch.Tensor, torch.Tensor]]

BASES = ("a", "b")
ORDERS = ("shallow", "deep", "random")
STACK_BYTES = 256 * 2**20
"""Default memory for the stacked parameters of one evaluation (sets ``max_models``)."""


def layer_groups(state: Mapping[str, torch.Tensor]) -> dict[str, tuple[str, ...]]:
    """Layer name (the module path) -> its state-dict keys, in the state's key order (a model's own
    ``state_dict()`` lists them shallow first)."""
    groups: dict[str, list[str]] = {}
    for key in state:
        groups.setdefault(key.rpartition(".")[0], []).append(key)
    return {name: tuple(keys) for name, keys in groups.items()}


def _layer_keys(state: Mapping[str, torch.Tensor], layers: str | Iterable[str]) -> set[str]:
    groups = layer_groups(state)
    names = [layers] if isinstance(layers, str) else list(layers)
    unknown = [name for name in names if name not in groups]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; the state has layers {list(groups)}")
    return {key for name in names for key in groups[name]}


def interpolate_layer(a: Tensors, b: Tensors, layer: str | Iterable[str], lam: float, base: str = "a") -> Tensors:
    """The state ``base`` ("a" or "b") with ``layer`` (one layer name, or several) replaced by
    ``(1−λ) a[layer] + λ b[layer]``; integer buffers and every other key come from the base.
    Unmixed entries are the base's own tensors (not copies)."""
    if base not in BASES:
        raise ValueError(f"base must be 'a' or 'b', got {base!r}")
    if a.keys() != b.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(a.keys() ^ b.keys())}")
    keys = _layer_keys(a, layer)
    mixed = interpolate_state({k: a[k] for k in keys}, {k: b[k] for k in keys}, lam)
    source = a if base == "a" else b
    return {key: (mixed[key] if key in keys and a[key].is_floating_point() else source[key]) for key in a}


def evaluation_sets(data: PreparedData, on_train: bool = True) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The test set, and (``on_train``) the union of the pair's two training subsets."""
    sets = {"test": (data.test_x, data.test_y)}
    if on_train:
        union = torch.cat([data.subset_a, data.subset_b]).unique()
        sets["train"] = (data.train_x[union], data.train_y[union])
    return sets


def default_max_models(template: nn.Module) -> int:
    """Models per stack such that the stacked parameters and buffers take about :data:`STACK_BYTES`."""
    model_bytes = sum(t.numel() * t.element_size() for t in template.state_dict().values())
    return max(1, STACK_BYTES // max(1, model_bytes))


def evaluate_states(template: nn.Module, states: Sequence[Tensors], datasets: Datasets, device,
                    max_models: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Loss and accuracy (percent) of every state on every data set: data set -> (losses, accuracies),
    each of length ``len(states)``. The states are evaluated ``max_models`` at a time as one stacked
    model, each stack once per data set."""
    max_models = max_models or default_max_models(template)
    results = {name: ([], []) for name in datasets}
    for start in range(0, len(states), max_models):
        chunk = states[start : start + max_models]
        network = StackedNetwork(template, len(chunk))
        network.body.load_state_dict(stack_states(list(chunk)))
        network.to(device)
        for name, (x, y) in datasets.items():
            evaluation = evaluate_stack(network, x, y, device)
            results[name][0].extend(evaluation.losses)
            results[name][1].extend(evaluation.accuracies)
    return {name: (np.array(losses), np.array(accs)) for name, (losses, accs) in results.items()}


@dataclass(frozen=True)
class LayerwisePaths:
    """Single-layer interpolation paths of one pair on one data set.

    ``loss`` and ``acc`` have shape (2 bases, layers, λ points); ``full_loss`` and ``full_acc`` are
    the whole-network path Θ(λ) on the same grid, evaluated in the same pass."""

    layers: tuple[str, ...]
    lambdas: tuple[float, ...]
    loss: np.ndarray
    acc: np.ndarray
    full_loss: np.ndarray
    full_acc: np.ndarray

    @property
    def reference(self) -> float:
        """½(L(Θ_A) + L(Θ_B)) of the full endpoint models."""
        return float(0.5 * (self.full_loss[0] + self.full_loss[-1]))

    def barriers(self) -> np.ndarray:
        """Per layer: max over λ and both bases of L(Θ_l(λ)) − ½(L(Θ_A) + L(Θ_B))."""
        return (self.loss - self.reference).max(axis=(0, 2))

    def full_barrier(self) -> float:
        """The whole network's barrier against the same reference (Eq. 1)."""
        return float(self.full_loss.max() - self.reference)

    def midpoint_mixtures(self) -> np.ndarray:
        """(2 bases, layers): L(Θ_l(½)) − ½(L(Θ_A) + L(Θ_B)), the value the public code of the
        layer-wise paper reads as the layer-wise barrier."""
        return self.loss[:, :, self.lambdas.index(0.5)] - self.reference

    def midpoint_barriers(self) -> np.ndarray:
        """Per layer: the mean of :meth:`midpoint_mixtures` over both bases; the quantity that
        :func:`lmc_bench.barrier_prediction.predict_barrier` predicts per layer."""
        return self.midpoint_mixtures().mean(axis=0)

    def full_midpoint_barrier(self) -> float:
        return float(self.full_loss[self.lambdas.index(0.5)] - self.reference)

    def as_dict(self) -> dict:
        """JSON-ready summary (paths rounded to 5 significant digits)."""
        return {
            "layers": list(self.layers),
            "lambdas": list(self.lambdas),
            "reference": self.reference,
            "barriers": self.barriers().tolist(),
            "midpoint_mixtures": self.midpoint_mixtures().tolist(),
            "midpoint_barriers": self.midpoint_barriers().tolist(),
            "full_barrier": self.full_barrier(),
            "full_midpoint_barrier": self.full_midpoint_barrier(),
            "loss": np.round(self.loss, 5).tolist(),
            "acc": np.round(self.acc, 3).tolist(),
            "full_loss": np.round(self.full_loss, 5).tolist(),
            "full_acc": np.round(self.full_acc, 3).tolist(),
        }


def _endpoint(base: str, lam: float) -> bool:
    """Whether Θ_l(λ) of ``base`` is that base's own model for every layer (λ = 0 of A, λ = 1 of B)."""
    return lam == (0.0 if base == "a" else 1.0)


def layerwise_barriers(template: nn.Module, state_a: Tensors, state_b: Tensors, datasets: Datasets,
                       lambdas: Sequence[float], device="cpu", max_models: int | None = None) -> dict[str, LayerwisePaths]:
    """Single-layer interpolation paths of every layer for both bases, and the whole-network path,
    on every data set of ``datasets`` (name -> (images, labels)). ``lambdas`` must run from 0 to 1
    and contain ½. ``template`` is a model of the architecture (its weights are not used); it
    also fixes the order of the layers."""
    lambdas = tuple(float(lam) for lam in lambdas)
    if lambdas[0] != 0.0 or lambdas[-1] != 1.0 or 0.5 not in lambdas:
        raise ValueError(f"lambdas must run from 0 to 1 and contain 0.5, got {lambdas}")
    layers = tuple(layer_groups(template.state_dict()))
    states = [interpolate_state(state_a, state_b, lam) for lam in lambdas]
    index = {}
    for base in BASES:
        for layer in layers:
            for lam in lambdas:
                if not _endpoint(base, lam):
                    index[base, layer, lam] = len(states)
                    states.append(interpolate_layer(state_a, state_b, layer, lam, base))
    evaluated = evaluate_states(template, states, datasets, device, max_models)
    own_endpoint = {"a": 0, "b": len(lambdas) - 1}
    paths = {}
    for name, (losses, accs) in evaluated.items():
        def grid(values: np.ndarray) -> np.ndarray:
            return np.array([[[values[index.get((base, layer, lam), own_endpoint[base])] for lam in lambdas]
                              for layer in layers] for base in BASES])

        n = len(lambdas)
        paths[name] = LayerwisePaths(layers, lambdas, grid(losses), grid(accs), losses[:n], accs[:n])
    return paths


def layer_order(layers: Sequence[str], order: str, seed: int = 0) -> tuple[str, ...]:
    """``layers`` shallow first, deep first, or in a random order drawn from ``seed``."""
    if order == "shallow":
        return tuple(layers)
    if order == "deep":
        return tuple(reversed(layers))
    if order == "random":
        return tuple(layers[i] for i in np.random.default_rng(seed).permutation(len(layers)))
    raise ValueError(f"unknown order {order!r}; expected one of {ORDERS}")


@dataclass(frozen=True)
class CumulativeBarriers:
    """Barriers at λ = ½ of growing groups of layers on one data set: ``values[order]`` has shape
    (2 bases, layers); entry k mixes the first k + 1 layers of ``orders[order]`` (the last entry
    mixes every layer: the whole network's midpoint, the same for both bases)."""

    orders: dict[str, tuple[str, ...]]
    values: dict[str, np.ndarray]

    def as_dict(self) -> dict:
        return {"orders": {k: list(v) for k, v in self.orders.items()},
                "values": {k: v.tolist() for k, v in self.values.items()}}


def cumulative_barriers(template: nn.Module, state_a: Tensors, state_b: Tensors, datasets: Datasets,
                        orders: Sequence[str] = ORDERS, seed: int = 0, device="cpu",
                        max_models: int | None = None) -> dict[str, CumulativeBarriers]:
    """L(mixture) − ½(L(Θ_A) + L(Θ_B)) at λ = ½ as layers are added one at a time in each order,
    for both bases, on every data set; one stacked evaluation for all orders and bases."""
    layers = tuple(layer_groups(template.state_dict()))
    sequences = {order: layer_order(layers, order, seed) for order in orders}
    states = [state_a, state_b, interpolate_state(state_a, state_b, 0.5)]
    index = {}
    for order, sequence in sequences.items():
        for base in BASES:
            for k in range(len(layers) - 1):
                index[order, base, k] = len(states)
                states.append(interpolate_layer(state_a, state_b, sequence[: k + 1], 0.5, base))
    evaluated = evaluate_states(template, states, datasets, device, max_models)
    results = {}
    for name, (losses, _) in evaluated.items():
        reference = 0.5 * (losses[0] + losses[1])
        values = {order: np.array([[losses[index.get((order, base, k), 2)] - reference for k in range(len(layers))]
                                   for base in BASES]) for order in sequences}
        results[name] = CumulativeBarriers(sequences, values)
    return results
