"""Tests of lmc_bench.metrics: paper examples, hand-made paths, properties and slow references."""

import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmc_bench.metrics import (
    accuracy_difference,
    angle_degrees,
    barrier_frankle,
    barrier_linear,
    barrier_local_minima,
    barrier_normalized,
    cosine_similarity,
    ensemble_accuracy,
    flatten_parameters,
    is_stable,
    manhattan_distance,
    noise_scale,
    squared_euclidean_distance,
    weighted_average_precision,
    wrong_agreement_disagreement,
)

FAST = settings(max_examples=60, deadline=None)

# Appendix E: rows are samples, columns are models M1..M5.
APPENDIX_E_P = [[2, 2, 2, 2, 2], [6, 6, 7, 8, 8], [5, 5, 1, 12, 3]]
APPENDIX_E_G = [1, 7, 5]


# ---------------------------------------------------------------- slow, obvious references


def ref_frankle(losses):
    return max(losses) - (losses[0] + losses[-1]) / 2


def ref_local_minima(losses):
    n = len(losses)
    best_value, best_index = None, None
    for k in range(1, n - 1):
        if losses[k - 1] == losses[k]:
            continue
        end = k
        while end + 1 < n and losses[end + 1] == losses[k]:
            end += 1
        if end == n - 1:
            continue
        if losses[k - 1] < losses[k] and losses[end + 1] < losses[k]:
            value = losses[k] - (min(losses[: k + 1]) + min(losses[k:])) / 2
            if best_value is None or value > best_value:
                best_value, best_index = value, k
    if best_value is None:
        lowest = min(losses)
        minima = [i for i in range(n) if losses[i] == lowest]
        return 0.0, min(minima, key=lambda i: (round(abs(i / (n - 1) - 0.5), 12), i))
    return best_value, best_index


def ref_linear(losses):
    n = len(losses)
    excess = []
    for i, loss in enumerate(losses):
        lam = i / (n - 1)
        excess.append(loss - ((1 - lam) * losses[0] + lam * losses[-1]))
    return max(excess)


def ref_wa_wd(predictions, labels):
    m, n = len(predictions), len(labels)
    agree = disagree = comparisons = 0
    for i, j in itertools.combinations(range(m), 2):
        for s in range(n):
            comparisons += 1
            both_wrong = predictions[i][s] != labels[s] and predictions[j][s] != labels[s]
            if both_wrong and predictions[i][s] == predictions[j][s]:
                agree += 1
            if both_wrong and predictions[i][s] != predictions[j][s]:
                disagree += 1
    return agree / comparisons, disagree / comparisons


def ref_cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def ref_argmax(values):
    best = 0
    for c, value in enumerate(values):
        if value > values[best]:
            best = c
    return best


def ref_ensemble_accuracy(probabilities, labels, rule):
    m, n, c = len(probabilities), len(labels), len(probabilities[0][0])
    correct = 0
    for s in range(n):
        if rule == "vote":
            counts = Counter(ref_argmax(probabilities[i][s]) for i in range(m))
            top = max(counts.values())
            predicted = min(k for k, v in counts.items() if v == top)
        else:
            sums = [0.0] * c
            for i in range(m):
                for k in range(c):
                    sums[k] += probabilities[i][s][k]
            predicted = ref_argmax([x / m for x in sums])
        correct += predicted == labels[s]
    return correct / n


def ref_average_precision(scores, targets):
    positives = sum(targets)
    total, previous_recall = 0.0, 0.0
    for threshold in sorted(set(scores), reverse=True):
        tp = sum(1 for s, t in zip(scores, targets) if s >= threshold and t == 1)
        fp = sum(1 for s, t in zip(scores, targets) if s >= threshold and t == 0)
        recall = tp / positives
        total += (recall - previous_recall) * tp / (tp + fp)
        previous_recall = recall
    return total


def ref_weighted_average_precision(scores, targets):
    columns = range(len(targets[0]))
    supports = [sum(row[c] for row in targets) for c in columns]
    total = 0.0
    for c in columns:
        if supports[c]:
            column_ap = ref_average_precision([r[c] for r in scores], [r[c] for r in targets])
            total += supports[c] * column_ap
    return total / sum(supports)


# ---------------------------------------------------------------- strategies

int_paths = st.lists(st.integers(0, 4).map(float), min_size=2, max_size=25)
float_paths = st.lists(st.floats(-100, 100), min_size=2, max_size=25)
paths = st.one_of(int_paths, float_paths)
grid_values = st.integers(-64, 64).map(lambda x: x / 8)


@st.composite
def vector_pairs(draw):
    n = draw(st.integers(1, 12))
    a = draw(st.lists(grid_values, min_size=n, max_size=n))
    b = draw(st.one_of(st.just(list(a)), st.lists(grid_values, min_size=n, max_size=n)))
    return np.array(a), np.array(b)


nonzero_vectors = st.lists(grid_values, min_size=1, max_size=12).filter(lambda xs: any(xs))

predictions_and_labels = st.integers(2, 6).flatmap(
    lambda m: st.integers(1, 15).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.int64, (m, n), elements=st.integers(0, 3)),
            hnp.arrays(np.int64, (n,), elements=st.integers(0, 3)),
        )
    )
)


# ---------------------------------------------------------------- barriers: hand-made paths


def test_flat_path_has_no_barrier():
    flat = [1.0, 1.0, 1.0, 1.0, 1.0]
    assert barrier_frankle(flat) == 0.0
    assert barrier_local_minima(flat) == (0.0, 2)
    assert barrier_linear(flat) == 0.0


def test_single_bump():
    bump = [0.0, 1.0, 3.0, 1.0, 0.0]
    assert barrier_frankle(bump) == 3.0
    assert barrier_local_minima(bump) == (3.0, 2)
    assert barrier_linear(bump) == 3.0


def test_convex_basin_has_zero_barrier_read_at_its_minimum():
    basin = [1.0, 0.5, 0.2, 0.5, 1.0]
    assert barrier_frankle(basin) == 0.0
    assert barrier_local_minima(basin) == (0.0, 2)
    assert barrier_linear(basin) == 0.0


def test_dip_below_endpoints_is_measured_from_the_dips():
    # Fig. 3A: the interpolated models dip below the endpoints before and after the bump.
    dip = [1.0, 0.4, 1.2, 0.6, 1.0]
    assert barrier_frankle(dip) == pytest.approx(0.2)
    value, index = barrier_local_minima(dip)
    assert value == pytest.approx(1.2 - 0.5 * (0.4 + 0.6))
    assert index == 2


def test_baseline_is_the_mean_of_unequal_endpoints():
    # Eq. (1), the barrier of Section IV-A and Eq. (2) subtract the mean of the two endpoints (or
    # minima), not the larger one: endpoint losses 1 and 0 give 3 - 0.5 = 2.5, the larger would give 2.
    path = [1.0, 3.0, 0.0]
    assert barrier_frankle(path) == 2.5
    assert barrier_local_minima(path) == (2.5, 1)
    assert accuracy_difference([90.0, 70.0, 80.0], 1) == -15.0


def test_two_bumps_the_larger_barrier_counts():
    assert barrier_local_minima([0.0, 2.0, 0.0, 5.0, 0.0]) == (5.0, 3)
    # The first bump is higher but stands on a higher minimum: its barrier is smaller.
    value, index = barrier_local_minima([3.0, 3.5, 0.0, 3.2, 0.0])
    assert (value, index) == (pytest.approx(3.2), 3)


def test_plateaus():
    assert barrier_local_minima([0.0, 2.0, 2.0, 2.0, 0.0]) == (2.0, 1)
    assert barrier_local_minima([0.0, 1.0, 1.0, 2.0, 0.0]) == (2.0, 3)
    assert barrier_local_minima([0.0, 1.0, 1.0]) == (0.0, 0)
    assert barrier_local_minima([1.0, 1.0, 0.0]) == (0.0, 2)


def test_no_interior_maximum_reads_the_loss_minimum():
    """Section III-D: Δ is read at the interpolated model "exhibiting loss barrier or a minimum";
    among equal minima, the one nearest λ = 0.5."""
    assert barrier_local_minima([1.0, 0.0, 0.0, 1.0]) == (0.0, 1)
    assert barrier_local_minima([1.0, 0.0, 0.5, 1.0], lambdas=[0.0, 0.2, 0.6, 1.0]) == (0.0, 1)
    assert barrier_local_minima([1.0, 0.5, 0.5, 0.5, 1.0], lambdas=[0.0, 0.1, 0.45, 0.9, 1.0]) == (0.0, 2)
    assert barrier_local_minima(np.linspace(0, 1, 11)) == (0.0, 0)
    assert barrier_local_minima(np.linspace(1, 0, 11)) == (0.0, 10)


def test_barrier_linear_ignores_linear_variation():
    assert barrier_linear([0.0, 1.0, 2.0]) == 0.0
    assert barrier_frankle([0.0, 1.0, 2.0]) == 1.0
    assert barrier_linear([0.0, 3.0, 2.0]) == 2.0
    assert barrier_linear([0.0, 1.0, 2.0], lambdas=[0.0, 0.25, 1.0]) == pytest.approx(0.5)


def test_barrier_normalized_divides_by_mean_endpoint_accuracy():
    assert barrier_normalized([0.0, 1.0, 0.0], [0.8, 0.5, 0.6]) == pytest.approx(1 / 0.7)
    assert barrier_normalized([0.0, 1.0, 0.0], [0.8, 0.6]) == pytest.approx(1 / 0.7)


def test_accuracy_difference_eq2():
    accs = [90.0, 80.0, 70.0, 85.0, 92.0]
    assert accuracy_difference(accs, 2) == pytest.approx(-21.0)
    assert accuracy_difference(accs, np.int64(0)) == pytest.approx(-1.0)
    _, index = barrier_local_minima([0.1, 0.5, 0.9, 0.4, 0.1])
    assert accuracy_difference(accs, index) == pytest.approx(-21.0)


def test_torch_paths_are_accepted():
    assert barrier_frankle(torch.tensor([0.0, 1.0, 0.0])) == 1.0
    assert barrier_local_minima(torch.tensor([0.0, 1.0, 0.0])) == (1.0, 1)


# ---------------------------------------------------------------- barriers: properties


@FAST
@given(st.floats(-1e6, 1e6), st.integers(2, 30))
def test_constant_path_has_zero_barrier(value, n):
    path = [value] * n
    assert barrier_frankle(path) == 0.0
    assert barrier_local_minima(path)[0] == 0.0
    assert barrier_linear(path) == 0.0


@FAST
@given(paths)
def test_reversing_the_path_keeps_barriers(path):
    reverse = path[::-1]
    assert barrier_frankle(reverse) == pytest.approx(barrier_frankle(path), abs=1e-9)
    local = barrier_local_minima(path)[0]
    assert barrier_local_minima(reverse)[0] == pytest.approx(local, abs=1e-9)
    assert barrier_linear(reverse) == pytest.approx(barrier_linear(path), abs=1e-9)


@FAST
@given(paths)
def test_barriers_are_nonnegative(path):
    assert barrier_frankle(path) >= 0
    assert barrier_local_minima(path)[0] >= 0
    assert barrier_linear(path) >= 0


@FAST
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=20), st.floats(0, 100))
def test_endpoints_at_global_minimum_make_both_barriers_equal(interior, depth):
    # Both endpoints global minima => L0 = Ln = min L, so min_{i<=k} = L0 and min_{i>=k} = Ln for
    # every k; a non-constant path then has an interior maximum at its global maximum and
    # B_local = max L - (L0 + Ln)/2 = B_Frankle.
    endpoint = min(interior) - depth
    path = [endpoint, *interior, endpoint]
    assert barrier_local_minima(path)[0] == pytest.approx(barrier_frankle(path), abs=1e-9)


@FAST
@given(paths)
def test_interior_global_maximum_makes_local_barrier_at_least_frankle(path):
    # min_{i<=k} L <= L0 and min_{i>=k} L <= Ln, so B_k >= L[k] - (L0 + Ln)/2 at the global maximum.
    assume(max(path) > max(path[0], path[-1]))
    assert barrier_local_minima(path)[0] >= barrier_frankle(path) - 1e-9


@FAST
@given(paths, st.floats(-100, 100))
def test_equal_endpoints_make_linear_and_frankle_barriers_equal(path, endpoint):
    path = [endpoint, *path, endpoint]
    assert barrier_linear(path) == pytest.approx(barrier_frankle(path), abs=1e-9)


@FAST
@given(paths)
def test_barriers_match_references(path):
    assert barrier_frankle(path) == pytest.approx(ref_frankle(path), abs=1e-9)
    value, index = barrier_local_minima(path)
    ref_value, ref_index = ref_local_minima(path)
    assert index == ref_index
    assert value == pytest.approx(ref_value, abs=1e-9)
    assert barrier_linear(path) == pytest.approx(ref_linear(path), abs=1e-9)


# ---------------------------------------------------------------- barriers: bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda: barrier_frankle([]),
        lambda: barrier_frankle([1.0]),
        lambda: barrier_frankle([[1.0, 2.0]]),
        lambda: barrier_frankle([1.0, float("nan")]),
        lambda: barrier_frankle([1.0, float("inf")]),
        lambda: barrier_frankle(["a", "b"]),
        lambda: barrier_local_minima([]),
        lambda: barrier_local_minima([0.0, float("nan"), 0.0]),
        lambda: barrier_local_minima([0.0, 1.0, 0.0], lambdas=[0.0, 1.0]),
        lambda: barrier_local_minima([0.0, 1.0, 0.0], lambdas=[0.0, 0.0, 1.0]),
        lambda: barrier_local_minima([0.0, 1.0, 0.0], lambdas=[0.0, 0.5, 2.0]),
        lambda: barrier_linear([0.0, 1.0, 0.0], lambdas=[0.0, 0.5, 0.7, 1.0]),
        lambda: barrier_linear([0.0]),
        lambda: barrier_normalized([0.0, 1.0, 0.0], [0.8, float("nan")]),
        lambda: barrier_normalized([0.0, 1.0, 0.0], [80.0, 60.0]),
        lambda: barrier_normalized([0.0, 1.0, 0.0], [0.0, 0.0]),
        lambda: barrier_normalized([0.0, float("inf")], [0.5, 0.5]),
        lambda: accuracy_difference([90.0, 80.0, 91.0], 3),
        lambda: accuracy_difference([90.0, 80.0, 91.0], -1),
        lambda: accuracy_difference([90.0, 80.0, 91.0], 1.0),
        lambda: accuracy_difference([90.0, float("nan"), 91.0], 1),
        lambda: accuracy_difference([90.0], 0),
    ],
)
def test_bad_path_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_bad_input_messages_name_the_problem():
    with pytest.raises(ValueError, match="NaN"):
        barrier_frankle([0.0, float("nan")])
    with pytest.raises(ValueError, match="at least 2"):
        barrier_frankle([0.0])
    with pytest.raises(ValueError, match="lambdas"):
        barrier_local_minima([0.0, 1.0, 0.0], lambdas=[0.0, 1.0])
    with pytest.raises(ValueError, match="out of range"):
        accuracy_difference([1.0, 2.0], 2)


# ---------------------------------------------------------------- similarity and distances


def test_cosine_and_angle_small_example():
    assert cosine_similarity(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 0.0
    assert angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert angle_degrees(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(45.0)


def test_layers_are_summed_with_biases_and_global_norms():
    layers_a = [torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([1.0, -1.0])]
    layers_b = [torch.tensor([[0.5, 0.0], [1.0, 2.0]]), torch.tensor([3.0, 1.0])]
    flat_a = [1.0, 2.0, 3.0, 4.0, 1.0, -1.0]
    flat_b = [0.5, 0.0, 1.0, 2.0, 3.0, 1.0]
    assert cosine_similarity(layers_a, layers_b) == pytest.approx(ref_cosine(flat_a, flat_b))
    assert manhattan_distance(layers_a, layers_b) == pytest.approx(
        sum(abs(x - y) for x, y in zip(flat_a, flat_b))
    )
    assert squared_euclidean_distance(layers_a, layers_b) == pytest.approx(
        sum((x - y) ** 2 for x, y in zip(flat_a, flat_b))
    )


def test_state_dicts_follow_the_first_dicts_order():
    a = {"w": torch.tensor([1.0, 2.0]), "b": torch.tensor([3.0])}
    b = {"b": torch.tensor([0.0]), "w": torch.tensor([1.0, 2.0])}
    assert flatten_parameters(a).tolist() == [1.0, 2.0, 3.0]
    assert flatten_parameters(b, reference_keys=list(a)).tolist() == [1.0, 2.0, 0.0]
    assert manhattan_distance(a, b) == 3.0
    assert flatten_parameters(torch.tensor([1.0, 2.0])).dtype == np.float64


def _batchnorm_state(seed):
    torch.manual_seed(seed)
    bn = torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        bn.weight.normal_()
        bn.bias.normal_()
    bn.train()
    bn(torch.randn(8, 3) * (seed + 1))
    return bn.state_dict()


def test_batchnorm_state_dict_buffers():
    state_a, state_b = _batchnorm_state(0), _batchnorm_state(1)
    assert state_a["num_batches_tracked"].dtype == torch.int64
    trainable = flatten_parameters(state_a)
    assert trainable.tolist() == pytest.approx(
        state_a["weight"].tolist() + state_a["bias"].tolist()
    )
    everything = flatten_parameters(state_a, trainable_only=False)
    # weight, bias, running_mean, running_var; the integer counter is excluded
    assert len(everything) == 12
    expected = sum(
        (state_a[k].double() - state_b[k].double()).abs().sum().item() for k in ("weight", "bias")
    )
    assert manhattan_distance(state_a, state_b) == pytest.approx(expected)
    state_b["num_batches_tracked"] += 1000
    for trainable_only in (True, False):
        kwargs = {"trainable_only": trainable_only}
        counted = manhattan_distance(state_a, state_b, **kwargs)
        state_b["num_batches_tracked"] -= 1000
        assert manhattan_distance(state_a, state_b, **kwargs) == counted
        state_b["num_batches_tracked"] += 1000
    assert squared_euclidean_distance(state_a, state_b, trainable_only=False) > (
        squared_euclidean_distance(state_a, state_b)
    )


def test_origin_uses_displacements():
    origin = {"w": torch.tensor([1.0, 1.0]), "b": torch.tensor([5.0])}
    a = {"w": torch.tensor([2.0, 1.0]), "b": torch.tensor([5.0])}
    b = {"w": torch.tensor([1.0, 3.0]), "b": torch.tensor([5.0])}
    assert cosine_similarity(a, b, origin=origin) == pytest.approx(0.0, abs=1e-12)
    assert angle_degrees(a, b, origin=origin) == pytest.approx(90.0)
    assert cosine_similarity(a, b) > 0.9
    assert manhattan_distance(a, b, origin=origin) == pytest.approx(manhattan_distance(a, b))
    assert squared_euclidean_distance(a, b, origin=origin) == pytest.approx(5.0)


@FAST
@given(vector_pairs(), st.lists(grid_values, min_size=12, max_size=12))
def test_origin_matches_explicit_displacements(pair, origin_values):
    a, b = pair
    origin = np.array(origin_values[: len(a)])
    assume(np.any(a != origin) and np.any(b != origin))
    assert cosine_similarity(a, b, origin=origin) == pytest.approx(
        ref_cosine(a - origin, b - origin), abs=1e-12
    )


@FAST
@given(nonzero_vectors)
def test_cosine_with_itself_and_negative(values):
    vector = np.array(values)
    assert cosine_similarity(vector, vector) == pytest.approx(1.0, abs=1e-12)
    assert cosine_similarity(vector, -vector) == pytest.approx(-1.0, abs=1e-12)
    assert angle_degrees(vector, vector) == pytest.approx(0.0, abs=1e-5)
    assert angle_degrees(vector, -vector) == pytest.approx(180.0, abs=1e-5)


@FAST
@given(vector_pairs())
def test_distances_are_symmetric_nonnegative_and_zero_only_for_equal(pair):
    a, b = pair
    equal = np.array_equal(a, b)
    for distance in (manhattan_distance, squared_euclidean_distance):
        value = distance(a, b)
        assert value == distance(b, a)
        assert value >= 0
        assert (value == 0) == equal


@FAST
@given(vector_pairs())
def test_similarity_matches_references(pair):
    a, b = pair
    assert manhattan_distance(a, b) == pytest.approx(sum(abs(x - y) for x, y in zip(a, b)))
    squares = sum((x - y) ** 2 for x, y in zip(a, b))
    assert squared_euclidean_distance(a, b) == pytest.approx(squares)
    if np.any(a) and np.any(b):
        assert cosine_similarity(a, b) == pytest.approx(ref_cosine(a, b), abs=1e-12)


def test_mismatched_state_dict_keys_are_named():
    a = {"w": torch.zeros(2) + 1, "b": torch.ones(1)}
    b = {"w": torch.ones(2), "extra": torch.ones(1)}
    with pytest.raises(ValueError, match="extra") as info:
        cosine_similarity(a, b)
    assert "'b'" in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: cosine_similarity({"w": torch.ones(2)}, {"w": torch.ones(3)}),
        lambda: manhattan_distance([torch.ones(2)], [torch.ones(2), torch.ones(1)]),
        lambda: squared_euclidean_distance(np.ones(2), np.ones(3)),
        lambda: cosine_similarity({"w": torch.ones(2)}, [torch.ones(2)]),
        lambda: cosine_similarity(np.zeros(2), np.ones(2)),
        lambda: cosine_similarity(np.ones(2), np.ones(2), origin=np.ones(2)),
        lambda: manhattan_distance(np.ones(2), np.array([1.0, float("nan")])),
        lambda: manhattan_distance({"n": torch.tensor(3)}, {"n": torch.tensor(4)}),
        lambda: manhattan_distance({"w": torch.ones(2)}, {"w": torch.ones(2, dtype=torch.int64)}),
        lambda: manhattan_distance(np.ones(2), np.ones(2), origin={"w": torch.ones(2)}),
        lambda: manhattan_distance(
            {"w": torch.ones(2)}, {"w": torch.ones(2)}, origin={"v": torch.ones(2)}
        ),
        lambda: flatten_parameters({"w": torch.ones(2)}, reference_keys=["v"]),
        lambda: flatten_parameters(np.array(["a"])),
    ],
)
def test_bad_parameter_input_raises(call):
    with pytest.raises(ValueError):
        call()


def test_shape_mismatch_names_the_parameter():
    with pytest.raises(ValueError, match="shape mismatch for parameter 'w'"):
        manhattan_distance({"w": torch.ones(2)}, {"w": torch.ones(3)})


# ---------------------------------------------------------------- wrong agreement / disagreement


def test_appendix_e_worked_example():
    predictions = np.array(APPENDIX_E_P).T  # (models, samples)
    wa, wd = wrong_agreement_disagreement(predictions, np.array(APPENDIX_E_G))
    assert wa == pytest.approx(0.4)
    assert wd == pytest.approx(7 / 30)
    ref_wa, ref_wd = ref_wa_wd(predictions.tolist(), APPENDIX_E_G)
    assert (ref_wa, ref_wd) == (pytest.approx(0.4), pytest.approx(7 / 30))


def test_wa_extremes():
    labels = np.array([0, 1, 2])
    assert wrong_agreement_disagreement(np.full((4, 3), 3), labels) == (1.0, 0.0)
    assert wrong_agreement_disagreement(np.tile(labels, (4, 1)), labels) == (0.0, 0.0)
    assert wrong_agreement_disagreement(torch.tensor([[1, 2, 0], [2, 0, 1]]), labels) == (0.0, 1.0)


@FAST
@given(predictions_and_labels)
def test_wa_wd_bounds_and_reference(data):
    predictions, labels = data
    wa, wd = wrong_agreement_disagreement(predictions, labels)
    assert 0 <= wa <= 1 and 0 <= wd <= 1
    assert wa + wd <= 1 + 1e-12
    ref_wa, ref_wd = ref_wa_wd(predictions.tolist(), labels.tolist())
    assert wa == pytest.approx(ref_wa) and wd == pytest.approx(ref_wd)


@FAST
@given(predictions_and_labels, st.randoms(use_true_random=False))
def test_permuting_models_keeps_wa_wd(data, rng):
    predictions, labels = data
    order = list(range(len(predictions)))
    rng.shuffle(order)
    expected = wrong_agreement_disagreement(predictions, labels)
    permuted = wrong_agreement_disagreement(predictions[order], labels)
    assert permuted == (pytest.approx(expected[0]), pytest.approx(expected[1]))


@pytest.mark.parametrize(
    "predictions, labels",
    [
        (np.zeros((1, 3), dtype=np.int64), np.zeros(3, dtype=np.int64)),
        (np.zeros((2, 3), dtype=np.int64), np.zeros(4, dtype=np.int64)),
        (np.zeros((2, 3)), np.zeros(3, dtype=np.int64)),
        (np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64)),
        (np.zeros((2, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)),
        (np.zeros((2, 3), dtype=np.int64), np.zeros(3)),
    ],
)
def test_wa_wd_bad_input_raises(predictions, labels):
    with pytest.raises(ValueError):
        wrong_agreement_disagreement(predictions, labels)


# ---------------------------------------------------------------- ensembles


def test_ensemble_vote_and_average_differ():
    probabilities = np.array(
        [
            [[0.6, 0.4, 0.0], [0.1, 0.9, 0.0]],
            [[0.6, 0.4, 0.0], [0.0, 0.2, 0.8]],
            [[0.0, 1.0, 0.0], [0.0, 0.1, 0.9]],
        ]
    )
    labels = np.array([1, 2])
    assert ensemble_accuracy(probabilities, labels, rule="vote") == 0.5
    assert ensemble_accuracy(probabilities, labels, rule="average") == 1.0
    assert ensemble_accuracy(torch.tensor(probabilities), torch.tensor(labels)) == 0.5


def test_vote_ties_go_to_the_smallest_class():
    probabilities = np.array([[[0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0]]])
    assert ensemble_accuracy(probabilities, np.array([1]), rule="vote") == 1.0
    assert ensemble_accuracy(probabilities, np.array([2]), rule="vote") == 0.0


@FAST
@given(
    st.integers(2, 5).flatmap(
        lambda m: st.integers(1, 8).flatmap(
            lambda n: st.tuples(
                hnp.arrays(np.float64, (m, n, 3), elements=st.integers(0, 8).map(lambda k: k / 8)),
                hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)),
            )
        )
    ),
    st.sampled_from(["vote", "average"]),
)
def test_ensemble_accuracy_matches_reference(data, rule):
    probabilities, labels = data
    expected = ref_ensemble_accuracy(probabilities.tolist(), labels.tolist(), rule)
    assert ensemble_accuracy(probabilities, labels, rule=rule) == pytest.approx(expected)


@pytest.mark.parametrize(
    "probabilities, labels, rule",
    [
        (np.full((2, 2, 3), 1 / 3), np.array([0, 1]), "median"),
        (np.full((1, 2, 3), 1 / 3), np.array([0, 1]), "vote"),
        (np.full((2, 2, 3), 1 / 3), np.array([0, 1, 2]), "vote"),
        (np.full((2, 2, 3), np.nan), np.array([0, 1]), "average"),
        (np.full((2, 2, 3), -1.1), np.array([0, 1]), "average"),
        (np.full((2, 2, 3), 1 / 3), np.array([0, 3]), "vote"),
        (np.full((2, 2), 1 / 3), np.array([0, 1]), "vote"),
    ],
)
def test_ensemble_bad_input_raises(probabilities, labels, rule):
    with pytest.raises(ValueError):
        ensemble_accuracy(probabilities, labels, rule=rule)


# ---------------------------------------------------------------- weighted average precision


@FAST
@given(
    st.integers(2, 12).flatmap(
        lambda n: st.tuples(
            hnp.arrays(np.float64, (n, 3), elements=st.integers(0, 5).map(lambda k: k / 5)),
            hnp.arrays(np.int64, (n, 3), elements=st.integers(0, 1)),
        )
    )
)
def test_weighted_average_precision_matches_reference(data):
    scores, targets = data
    assume(targets.any())
    expected = ref_weighted_average_precision(scores.tolist(), targets.tolist())
    assert weighted_average_precision(scores, targets) == pytest.approx(expected)


def test_weighted_average_precision_perfect_ranking():
    targets = np.array([[1, 0], [0, 1], [1, 1]])
    assert weighted_average_precision(targets * 0.9 + 0.05, targets) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "scores, targets",
    [
        (np.zeros((3, 2)), np.ones((3, 3))),
        (np.full((3, 2), np.nan), np.ones((3, 2))),
        (np.zeros((3, 2)), np.full((3, 2), 2)),
        (np.zeros((3, 2)), np.zeros((3, 2))),
        (np.zeros(3), np.ones(3)),
    ],
)
def test_weighted_average_precision_bad_input_raises(scores, targets):
    with pytest.raises(ValueError):
        weighted_average_precision(scores, targets)


# ---------------------------------------------------------------- noise scale and verdict


def test_noise_scale_section_iv_h():
    assert noise_scale(0.1, 60_000, 32) == pytest.approx(0.1 * (60_000 / 32 - 1))
    assert noise_scale(1e-3, 100, 100) == 0.0


@pytest.mark.parametrize(
    "args", [(0.1, 100, 0), (0.0, 100, 10), (0.1, 100, 200), (float("nan"), 100, 10)]
)
def test_noise_scale_bad_input_raises(args):
    with pytest.raises(ValueError):
        noise_scale(*args)


def test_is_stable_threshold():
    assert is_stable(0.0)
    assert is_stable(-5.0)
    assert not is_stable(-5.01)
    assert is_stable(-9.0, threshold=-10.0)
    with pytest.raises(ValueError):
        is_stable(float("nan"))
