"""Second-order barrier predictor: derivatives against finite differences and a reverse-mode
Hessian-vector product, exactness on a quadratic loss, the O(‖Δ‖⁴) error, and the model loss."""

from functools import partial

import pytest
import torch
from torch import nn
from torch.func import grad, jvp

from lmc_bench.barrier_prediction import (
    EvalBatchNorm,
    directional_derivatives,
    evaluation_copy,
    floating_state,
    model_loss,
    predict_barrier,
)
from lmc_bench.layerwise import interpolate_layer
from lmc_bench.models import build_model
from lmc_bench.train import evaluate


def _conv_bn_net() -> nn.Module:
    """Smooth activations, so that finite differences converge (a ReLU kink within ±ε would not)."""
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Softplus(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4),
                         nn.Tanh(), nn.Linear(4, 3), nn.LogSoftmax(dim=1))


def _random_state(template: nn.Module, seed: int, scale: float = 1.0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in template.state_dict().items():
        if not value.is_floating_point():
            state[key] = value
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator, dtype=torch.float64) + 0.5
        else:
            state[key] = scale * torch.randn(value.shape, generator=generator, dtype=torch.float64)
    return state


def _images(n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 6, 6, generator=generator, dtype=torch.float64), torch.randint(0, 3, (n,), generator=generator)


def _along(loss, state, direction, t):
    return loss({k: state[k] + t * direction.get(k, 0) for k in state}).item()


def test_derivatives_match_finite_differences_and_a_reverse_mode_hvp():
    template = _conv_bn_net()
    x, y = _images(20)
    loss = model_loss(template, x, y, batch_size=7)
    state = floating_state(_random_state(template, 0), "cpu")
    v = {k: t for k, t in floating_state(_random_state(template, 1), "cpu").items()}
    slope, curvature = directional_derivatives(loss, state, v)
    eps = 1e-5
    plus, zero, minus = (_along(loss, state, v, t) for t in (eps, 0.0, -eps))
    assert slope == pytest.approx((plus - minus) / (2 * eps), rel=1e-6)
    assert curvature == pytest.approx((plus - 2 * zero + minus) / eps**2, rel=1e-5)

    def whole(s):
        return sum(w * term(s) for w, term in loss.terms)

    _, hv = jvp(grad(whole), (state,), (v,))
    eps = 1e-6
    grad_plus = grad(whole)({k: state[k] + eps * v[k] for k in state})
    grad_minus = grad(whole)({k: state[k] - eps * v[k] for k in state})
    for key in state:  # the Hessian-vector product, BatchNorm running statistics included
        difference = (grad_plus[key] - grad_minus[key]) / (2 * eps)
        assert (hv[key] - difference).abs().max() <= 1e-6 * hv[key].abs().max(), key
    assert curvature == pytest.approx(sum((hv[k] * v[k]).sum().item() for k in state), rel=1e-10)


def test_derivatives_along_one_layer_see_only_that_layer():
    template = _conv_bn_net()
    x, y = _images(12)
    loss = model_loss(template, x, y)
    state = floating_state(_random_state(template, 0), "cpu")
    other = floating_state(_random_state(template, 1), "cpu")
    layer_keys = ("1.weight", "1.bias", "1.running_mean", "1.running_var")
    partial = {k: other[k] for k in layer_keys}
    padded = {k: other[k] if k in layer_keys else torch.zeros_like(v) for k, v in state.items()}
    for got, expected in zip(directional_derivatives(loss, state, partial), directional_derivatives(loss, state, padded)):
        assert got == pytest.approx(expected, rel=1e-10)


def test_eval_batch_norm_and_model_loss_match_the_plain_model():
    torch.manual_seed(0)
    template = build_model("mlp_l1_bn", "digits_bundled")
    template[2].running_mean.normal_()
    template[2].running_var.uniform_(0.5, 2.0)
    x, y = torch.randn(50, 1, 8, 8), torch.randint(0, 10, (50,))
    copy = evaluation_copy(template)
    assert isinstance(copy[2], EvalBatchNorm) and copy.state_dict().keys() == template.state_dict().keys()
    reference, _, _ = evaluate(template, x, y, torch.device("cpu"))
    state = floating_state(template.state_dict(), "cpu")
    for batch_size in (7, 1000):
        assert model_loss(template, x, y, batch_size=batch_size)(state).item() == pytest.approx(reference, rel=1e-5)


def _quadratic():
    """L(θ) = ½ θᵀQθ + cᵀθ over two "layers" of a state dict (Q symmetric and indefinite, fixed seed)."""
    generator = torch.Generator().manual_seed(0)
    shapes = {"l1.weight": (3, 2), "l1.bias": (3,), "l2.weight": (2, 3)}
    n = sum(torch.Size(s).numel() for s in shapes.values())
    m = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, c = m + m.T, torch.randn(n, generator=generator, dtype=torch.float64)

    def flat(state):
        return torch.cat([state[k].reshape(-1) for k in shapes])

    def loss(state):
        theta = flat(state)
        return 0.5 * theta @ q @ theta + c @ theta

    def point(seed):
        g = torch.Generator().manual_seed(seed)
        return {k: torch.randn(s, generator=g, dtype=torch.float64) for k, s in shapes.items()}

    return loss, point(1), point(2)


def _midpoint_barrier(loss, a, b) -> float:
    mid = {k: 0.5 * (a[k] + b[k]) for k in a}
    return (loss(mid) - 0.5 * (loss(a) + loss(b))).item()


def _layer_midpoint_barrier(loss, a, b, layer) -> float:
    mixed_a, mixed_b = interpolate_layer(a, b, layer, 0.5, "a"), interpolate_layer(a, b, layer, 0.5, "b")
    return (0.5 * (loss(mixed_a) + loss(mixed_b)) - 0.5 * (loss(a) + loss(b))).item()


def test_exact_on_a_quadratic_loss():
    loss, a, b = _quadratic()
    measured = _midpoint_barrier(loss, a, b)
    assert abs(measured) > 1.0
    for form in ("endpoints", "midpoint"):
        assert predict_barrier(loss, a, b, at=form) == pytest.approx(measured, rel=1e-10, abs=1e-12)
    for layer in ("l1", "l2"):
        assert predict_barrier(loss, a, b, layer=layer) == pytest.approx(_layer_midpoint_barrier(loss, a, b, layer), rel=1e-10, abs=1e-12)
        mid = {k: 0.5 * (a[k] + b[k]) for k in a}
        lo, hi = interpolate_layer(mid, a, layer, 1.0), interpolate_layer(mid, b, layer, 1.0)
        through_middle = (loss(mid) - 0.5 * (loss(lo) + loss(hi))).item()
        assert predict_barrier(loss, a, b, layer=layer, at="midpoint") == pytest.approx(through_middle, rel=1e-10, abs=1e-12)
    assert predict_barrier(loss, a, b, layer=["l1", "l2"]) == pytest.approx(measured, rel=1e-10)


def _smooth_network():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 6), nn.Tanh(), nn.Linear(6, 5), nn.Softplus(), nn.Linear(5, 3), nn.LogSoftmax(dim=1))


def _errors_about_a_fixed_midpoint(steps, predict, measure) -> list[float]:
    """Prediction errors for Θ_A,B = Θ̄ ∓ ½tD, t in ``steps``, on a smooth network (tanh, softplus)."""
    template = _smooth_network()
    x, y = _images(40, seed=3)
    loss = model_loss(template, x, y)
    middle = floating_state(_random_state(template, 4), "cpu")
    direction = floating_state(_random_state(template, 5, scale=0.5), "cpu")
    errors = []
    for t in steps:
        a = {k: middle[k] - 0.5 * t * direction[k] for k in middle}
        b = {k: middle[k] + 0.5 * t * direction[k] for k in middle}
        errors.append(predict(loss, a, b) - measure(loss, a, b))
    return errors


def _ratios(errors: list[float]) -> list[float]:
    return [errors[i] / errors[i + 1] for i in range(len(errors) - 1)]


@pytest.mark.parametrize("form", ["endpoints", "midpoint"])
def test_error_falls_sixteenfold_when_delta_halves(form):
    """The error is c·t⁴ + O(t⁶) (module docstring), so halving t divides it by about 16."""
    errors = _errors_about_a_fixed_midpoint((0.25, 0.125, 0.0625), partial(predict_barrier, at=form), _midpoint_barrier)
    assert abs(errors[-1]) > 1e-7, errors  # far above float64 rounding
    assert all(14 < r < 18 for r in _ratios(errors)), (_ratios(errors), errors)


def test_leading_errors_are_f4_over_128_and_f4_over_384():
    """Both leading errors are multiples of f⁗(½): the endpoint form's is three times the midpoint form's."""
    steps = (0.0625,)
    endpoint = _errors_about_a_fixed_midpoint(steps, predict_barrier, _midpoint_barrier)[0]
    midpoint = _errors_about_a_fixed_midpoint(steps, partial(predict_barrier, at="midpoint"), _midpoint_barrier)[0]
    assert endpoint / midpoint == pytest.approx(3.0, rel=0.02)


def test_layer_error_falls_sixteenfold_when_delta_halves():
    """Per layer the error is O(‖Δ_l‖³‖Δ‖): fourth order as well when Δ is halved."""
    errors = _errors_about_a_fixed_midpoint((0.125, 0.0625, 0.03125), partial(predict_barrier, layer="3"),
                                            partial(_layer_midpoint_barrier, layer="3"))
    assert abs(errors[-1]) > 1e-9, errors
    assert all(14 < r < 18 for r in _ratios(errors)), (_ratios(errors), errors)


def test_bad_arguments_are_rejected():
    loss, a, b = _quadratic()
    with pytest.raises(ValueError, match="form"):
        predict_barrier(loss, a, b, at="middle")
    with pytest.raises(ValueError, match="unknown layer.*'l3'"):
        predict_barrier(loss, a, b, layer="l3")
    with pytest.raises(ValueError, match="keys"):
        predict_barrier(loss, a, {k: v for k, v in b.items() if k != "l2.weight"})
