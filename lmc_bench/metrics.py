"""Metrics of the paper (Section III-D, Section IV-A, Section IV-H, Appendices D and E).

Pure functions over numpy arrays or torch tensors (converted to float64 numpy). Bad input raises
``ValueError`` naming the problem instead of returning NaN.

Loss and accuracy paths are 1-D sequences evaluated on an interpolation grid ``lambdas`` that runs
strictly increasing from 0 (model A) to 1 (model B); without ``lambdas`` the grid is evenly spaced.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.metrics import average_precision_score

BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
"""State-dict key endings of BatchNorm buffers; dropped when ``trainable_only=True``."""

VOTE_RULES = ("vote", "average")


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        tensor = x.detach().cpu()
        return tensor.double().numpy() if tensor.is_floating_point() else tensor.numpy()
    return np.asarray(x)


def _is_real(arr: np.ndarray) -> bool:
    return np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)


def _finite_vector(x, name: str, min_len: int = 2) -> np.ndarray:
    arr = _to_numpy(x)
    if not _is_real(arr):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if len(arr) < min_len:
        raise ValueError(f"{name} needs at least {min_len} points, got {len(arr)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf: {arr}")
    return arr


def _grid(lambdas, n: int) -> np.ndarray:
    if lambdas is None:
        return np.linspace(0.0, 1.0, n)
    grid = _finite_vector(lambdas, "lambdas")
    if len(grid) != n:
        raise ValueError(f"lambdas has {len(grid)} points but losses has {n}")
    if np.any(np.diff(grid) <= 0):
        raise ValueError(f"lambdas must be strictly increasing, got {grid}")
    if not (np.isclose(grid[0], 0.0) and np.isclose(grid[-1], 1.0)):
        raise ValueError(f"lambdas must run from 0 to 1, got {grid[0]} .. {grid[-1]}")
    return grid


def barrier_frankle(losses) -> float:
    """Loss barrier of Eq. (1) (Frankle et al.): ``max_λ L(λ) − ½(L(Θ_A) + L(Θ_B))``.

    ``losses[0]`` and ``losses[-1]`` are the endpoint losses. Always >= 0.
    """
    path = _finite_vector(losses, "losses")
    return float(path.max() - 0.5 * (path[0] + path[-1]))


def _interior_maxima(path: np.ndarray) -> np.ndarray:
    """First indices of runs of equal values that are strictly higher than both neighbouring runs
    and touch neither endpoint."""
    change = np.flatnonzero(np.diff(path) != 0) + 1
    starts = np.concatenate(([0], change))
    values = path[starts]
    inner = np.arange(1, len(starts) - 1)
    is_peak = (values[inner] > values[inner - 1]) & (values[inner] > values[inner + 1])
    return starts[inner[is_peak]]


def barrier_local_minima(losses, lambdas=None) -> tuple[float, int]:
    """Barrier w.r.t. local minima in λ (Section IV-A, Fig. 3), the paper's reported barrier.

    For each strictly interior local maximum ``k`` of the path (a plateau higher than both
    neighbours counts once, at its first index),
    ``B_k = L[k] − ½(min_{i≤k} L[i] + min_{i≥k} L[i])``; the result is the largest ``B_k`` and its
    index (first on ties). A convex-like path without interior maximum gives ``(0.0, i)`` with
    ``i`` the path's loss minimum, where Δ of Eq. (2) is read (Section III-D: the accuracy of the
    interpolated model "exhibiting loss barrier or a minimum"); among equal minima the one nearest
    λ = 0.5 (the lower λ on ties).
    """
    path = _finite_vector(losses, "losses")
    grid = _grid(lambdas, len(path))
    peaks = _interior_maxima(path)
    if len(peaks) == 0:
        minima = np.flatnonzero(path == path.min())
        distance = np.abs(grid[minima] - 0.5)
        return 0.0, int(minima[np.flatnonzero(distance <= distance.min() + 1e-12)[0]])
    prefix_min = np.minimum.accumulate(path)
    suffix_min = np.minimum.accumulate(path[::-1])[::-1]
    heights = path[peaks] - 0.5 * (prefix_min[peaks] + suffix_min[peaks])
    best = int(np.argmax(heights))
    return float(heights[best]), int(peaks[best])


def barrier_linear(losses, lambdas=None) -> float:
    """Barrier of Entezari et al. (Section III-D): ``max_λ [L(λ) − ((1−λ) L(Θ_A) + λ L(Θ_B))]``.

    A loss varying linearly in λ gets no barrier. Always >= 0 (the endpoints contribute 0).
    """
    path = _finite_vector(losses, "losses")
    grid = _grid(lambdas, len(path))
    line = path[0] + grid * (path[-1] - path[0])
    return float(np.max(path - line))


def barrier_normalized(losses, accuracies) -> float:
    """Barrier of Eq. (1) divided by the mean endpoint test accuracy (Altıntaş et al., III-D).

    ``accuracies`` are fractions in [0, 1] (not percent); only the first and last entries (the
    endpoint models) are used, so either the whole accuracy path or the two endpoint values may be
    passed.
    """
    accs = _finite_vector(accuracies, "accuracies")
    if np.any((accs < 0) | (accs > 1)):
        raise ValueError(f"accuracies must be fractions in [0, 1], got {accs}")
    mean_accuracy = 0.5 * (accs[0] + accs[-1])
    if mean_accuracy == 0:
        raise ValueError("mean endpoint accuracy is 0; the normalised barrier is undefined")
    return barrier_frankle(losses) / float(mean_accuracy)


def accuracy_difference(accs, index) -> float:
    """Accuracy difference of Eq. (2): ``Δ = Acc[index] − ½(Acc[0] + Acc[-1])``.

    Same unit as ``accs`` (the benchmark passes percent, so Δ is in percentage points).
    ``index`` is usually the one returned by :func:`barrier_local_minima`.
    """
    path = _finite_vector(accs, "accs")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"index must be an integer, got {index!r}")
    if not 0 <= index < len(path):
        raise ValueError(f"index {index} out of range for a path of {len(path)} points")
    return float(path[index] - 0.5 * (path[0] + path[-1]))


def _kind(params) -> str:
    if isinstance(params, Mapping):
        return "mapping"
    if isinstance(params, (list, tuple)):
        return "sequence"
    return "array"


def _named_arrays(params, reference_keys, trainable_only: bool) -> list[tuple[str, np.ndarray]]:
    """(name, array) pairs of the floating-point entries of a parameter collection."""
    kind = _kind(params)
    if kind == "array":
        arr = _to_numpy(params)
        if not _is_real(arr):
            raise ValueError(f"parameters must be numeric, got dtype {arr.dtype}")
        return [("", arr.astype(np.float64))]
    if kind == "sequence":
        named = [(f"[{i}]", _to_numpy(p)) for i, p in enumerate(params)]
    else:
        keys = list(params) if reference_keys is None else list(reference_keys)
        key_set = set(keys)
        only_here = [k for k in params if k not in key_set]
        only_reference = [k for k in keys if k not in params]
        if only_here or only_reference:
            raise ValueError(
                f"parameter names differ: only in the compared collection {only_here}, "
                f"only in the reference {only_reference}"
            )
        if trainable_only:
            keys = [k for k in keys if not str(k).endswith(BUFFER_SUFFIXES)]
        named = [(k, _to_numpy(params[k])) for k in keys]
    return [(name, arr) for name, arr in named if np.issubdtype(arr.dtype, np.floating)]


def _concatenate(named: list[tuple[str, np.ndarray]]) -> np.ndarray:
    if not named:
        raise ValueError("no floating-point parameters to flatten")
    vector = np.concatenate([arr.ravel() for _, arr in named]).astype(np.float64)
    if not np.all(np.isfinite(vector)):
        raise ValueError("parameters contain NaN or inf")
    return vector


def flatten_parameters(params, reference_keys=None, *, trainable_only: bool = True) -> np.ndarray:
    """Parameter vector Θ of Appendix D as a 1-D float64 array.

    ``params``: a state dict (mapping name -> tensor), a list/tuple of tensors, or a single
    tensor/ndarray (cast to float64 and used as is). For collections, non-floating entries (integer
    buffers such as BatchNorm's ``num_batches_tracked``) are excluded; with a state dict and
    ``trainable_only=True`` (default: the paper's "all trainable parameters") keys ending in
    ``running_mean``, ``running_var`` or ``num_batches_tracked`` are dropped too, with ``False``
    the floating BatchNorm running statistics are kept. Dict entries are concatenated in the
    dict's insertion order, or in the order of ``reference_keys``, which must be the same key set.
    """
    return _concatenate(_named_arrays(params, reference_keys, trainable_only))


def _aligned_vector(params, reference, ref_named, trainable_only: bool, what: str) -> np.ndarray:
    """Parameter vector of ``params`` after checking names and shapes against ``reference``."""
    if _kind(params) != _kind(reference):
        raise ValueError(f"{what} is a {_kind(params)} but the first model is a {_kind(reference)}")
    keys = list(reference) if _kind(reference) == "mapping" else None
    named = _named_arrays(params, keys, trainable_only)
    ref_names = [name for name, _ in ref_named]
    names = [name for name, _ in named]
    if names != ref_names:
        raise ValueError(
            f"floating-point parameters of {what} differ from the first model's: "
            f"only in {what} {[n for n in names if n not in ref_names]}, "
            f"only in the first model {[n for n in ref_names if n not in names]}"
        )
    for (name, arr), (_, ref) in zip(named, ref_named):
        if arr.shape != ref.shape:
            raise ValueError(f"shape mismatch for parameter {name!r}: {arr.shape} vs {ref.shape}")
    return _concatenate(named)


def _parameter_pair(a, b, origin, trainable_only: bool) -> tuple[np.ndarray, np.ndarray]:
    named_a = _named_arrays(a, None, trainable_only)
    vec_a = _concatenate(named_a)
    vec_b = _aligned_vector(b, a, named_a, trainable_only, "the second model")
    if origin is None:
        return vec_a, vec_b
    vec_origin = _aligned_vector(origin, a, named_a, trainable_only, "origin")
    return vec_a - vec_origin, vec_b - vec_origin


def cosine_similarity(a, b, *, origin=None, trainable_only: bool = True) -> float:
    """Cosine similarity of Appendix D: ``Σ_l ⟨W_l^A, W_l^B⟩_F / (N_A N_B)``, biases included.

    ``a``, ``b`` (and ``origin``) are parameter collections of the same kind, see
    :func:`flatten_parameters`; with ``origin`` (e.g. the shared initialisation) the displacements
    ``a − origin`` and ``b − origin`` are compared. Computed in float64, clipped to [−1, 1].
    """
    vec_a, vec_b = _parameter_pair(a, b, origin, trainable_only)
    norm_a, norm_b = np.linalg.norm(vec_a), np.linalg.norm(vec_b)
    if norm_a == 0 or norm_b == 0:
        raise ValueError("cosine similarity is undefined for a zero parameter vector")
    return float(np.clip(np.dot(vec_a, vec_b) / (norm_a * norm_b), -1.0, 1.0))


def angle_degrees(a, b, *, origin=None, trainable_only: bool = True) -> float:
    """Angle in degrees between two parameter vectors, ``arccos`` of :func:`cosine_similarity`
    (Appendix D)."""
    cosine = cosine_similarity(a, b, origin=origin, trainable_only=trainable_only)
    return float(np.degrees(np.arccos(cosine)))


def manhattan_distance(a, b, *, origin=None, trainable_only: bool = True) -> float:
    """Manhattan distance of Appendix D (k = 1): ``Σ |w^A − w^B|`` over all parameters.

    With ``origin`` the displacements from it are compared; the distance is translation
    invariant, so this changes the value only by rounding.
    """
    vec_a, vec_b = _parameter_pair(a, b, origin, trainable_only)
    return float(np.sum(np.abs(vec_a - vec_b)))


def squared_euclidean_distance(a, b, *, origin=None, trainable_only: bool = True) -> float:
    """Squared Euclidean distance of Appendix D (k = 2): ``Σ (w^A − w^B)²`` over all parameters.

    ``origin`` is handled as in :func:`manhattan_distance`.
    """
    vec_a, vec_b = _parameter_pair(a, b, origin, trainable_only)
    return float(np.sum(np.square(vec_a - vec_b)))


def _class_labels(labels, n: int) -> np.ndarray:
    arr = _to_numpy(labels)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the predictions, got {arr.shape}")
    return arr


def wrong_agreement_disagreement(predictions, labels) -> tuple[float, float]:
    """Average wrong agreement and disagreement (WA, WD) of Appendix E.

    ``predictions``: (M, N) integer class predictions of M >= 2 models on N samples; ``labels``:
    (N,). Over all C(M, 2) model pairs and N samples, a pair counts for WA when both predictions
    are equal and wrong, for WD when they differ and both are wrong; both counts are divided by
    ``C(M, 2) · N``. This follows the normative worked example of Appendix E (WA = 12/30 = 0.4,
    WD = 7/30); the printed WD formula, whose ½(...) factor also counts pairs with one wrong
    model, would give a different number there.
    """
    preds = _to_numpy(predictions)
    if not np.issubdtype(preds.dtype, np.integer):
        raise ValueError(f"predictions must be integer class indices, got dtype {preds.dtype}")
    if preds.ndim != 2:
        raise ValueError(f"predictions must have shape (M, N), got {preds.shape}")
    n_models, n_samples = preds.shape
    if n_models < 2:
        raise ValueError(f"need at least 2 models, got {n_models}")
    if n_samples == 0:
        raise ValueError("need at least 1 sample")
    wrong = preds != _class_labels(labels, n_samples)
    first, second = np.triu_indices(n_models, k=1)
    both_wrong = wrong[first] & wrong[second]
    agree = preds[first] == preds[second]
    total = len(first) * n_samples
    return float(np.sum(both_wrong & agree) / total), float(np.sum(both_wrong & ~agree) / total)


def ensemble_accuracy(probabilities, labels, rule: str = "vote") -> float:
    """Test accuracy in [0, 1] of an ensemble (Section III-D, Appendix E).

    ``probabilities``: (M, N, C) class probabilities (e.g. softmax outputs, not log-probabilities)
    of M >= 2 models. ``rule="vote"``: majority vote of the models' argmax predictions, ties broken
    toward the smallest class index; ``rule="average"``: argmax of the mean probability vector
    (ties likewise toward the smallest index).
    """
    if rule not in VOTE_RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {VOTE_RULES}")
    probs = _to_numpy(probabilities)
    if not _is_real(probs):
        raise ValueError(f"probabilities must be numeric, got dtype {probs.dtype}")
    if probs.ndim != 3:
        raise ValueError(f"probabilities must have shape (M, N, C), got {probs.shape}")
    n_models, n_samples, n_classes = probs.shape
    if n_models < 2:
        raise ValueError(f"need at least 2 models, got {n_models}")
    if n_samples == 0 or n_classes == 0:
        raise ValueError(f"need at least 1 sample and 1 class, got shape {probs.shape}")
    probs = probs.astype(np.float64)
    if not np.all(np.isfinite(probs)):
        raise ValueError("probabilities contain NaN or inf")
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("probabilities must lie in [0, 1] (log-probabilities are not accepted)")
    targets = _class_labels(labels, n_samples)
    if np.any((targets < 0) | (targets >= n_classes)):
        raise ValueError(
            f"labels must lie in [0, {n_classes}), got {targets.min()}..{targets.max()}"
        )
    if rule == "average":
        predicted = probs.mean(axis=0).argmax(axis=1)
    else:
        votes = np.zeros((n_samples, n_classes), dtype=np.int64)
        model_predictions = probs.argmax(axis=2)
        sample_index = np.broadcast_to(np.arange(n_samples), model_predictions.shape)
        np.add.at(votes, (sample_index, model_predictions), 1)
        predicted = votes.argmax(axis=1)
    return float(np.mean(predicted == targets))


def weighted_average_precision(scores, targets) -> float:
    """Weighted average precision for multi-label outputs (Section III-D, BigEarthNet):
    ``sklearn.metrics.average_precision_score(targets, scores, average="weighted")``.

    ``scores`` and ``targets`` have shape (N, C); ``targets`` is a 0/1 indicator matrix with at
    least one positive label. Classes without positives have weight 0 and are left out before the
    call, which leaves the value unchanged and avoids scikit-learn's warning about them.
    """
    score_arr = _to_numpy(scores)
    target_arr = _to_numpy(targets)
    if not (_is_real(score_arr) and _is_real(target_arr)):
        raise ValueError("scores and targets must be numeric")
    if score_arr.shape != target_arr.shape or score_arr.ndim != 2:
        raise ValueError(
            "scores and targets must share an (N, C) shape, "
            f"got {score_arr.shape} and {target_arr.shape}"
        )
    if score_arr.shape[0] == 0:
        raise ValueError("need at least 1 sample")
    if not np.all(np.isfinite(score_arr.astype(np.float64))):
        raise ValueError("scores contain NaN or inf")
    if not np.all((target_arr == 0) | (target_arr == 1)):
        raise ValueError("targets must be a 0/1 indicator matrix")
    if not np.any(target_arr == 1):
        raise ValueError("targets have no positive label; weighted average precision is undefined")
    present = np.any(target_arr == 1, axis=0)
    indicators = target_arr[:, present].astype(np.int64)
    return float(average_precision_score(indicators, score_arr[:, present], average="weighted"))


def noise_scale(lr, n_train, batch_size) -> float:
    """SGD noise scale of Section IV-H: ``g = ε (N / B − 1)`` for learning rate ε, N training
    samples and batch size B."""
    rate, n, batch = _finite_vector([lr, n_train, batch_size], "lr, n_train, batch_size", min_len=3)
    if min(rate, n, batch) <= 0:
        raise ValueError(f"lr, n_train and batch_size must be positive, got {rate}, {n}, {batch}")
    if batch > n:
        raise ValueError(f"batch_size {batch} exceeds n_train {n}")
    return float(rate * (n / batch - 1))


def is_stable(delta_pp, threshold: float = -5.0) -> bool:
    """The paper's verdict (Fig. 4): linear mode connectivity / stable training dynamics when the
    accuracy difference Δ of Eq. (2) is at least ``threshold`` (−5 percentage points)."""
    delta, limit = _finite_vector([delta_pp, threshold], "delta_pp, threshold")
    return bool(delta >= limit)
