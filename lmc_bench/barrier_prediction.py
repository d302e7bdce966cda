"""Second-order prediction of the midpoint barrier from local curvature (motivated by Singh et al.,
"Landscaping Linear Mode Connectivity", 2024).

Notation: Δ = Θ_B − Θ_A, Θ̄ = ½(Θ_A + Θ_B), f(λ) = L(Θ_A + λΔ), so that the k-th derivative
f⁽ᵏ⁾(λ) = DᵏL(Θ(λ))[Δ, …, Δ] is O(‖Δ‖ᵏ), f'(λ) = ∇L(Θ(λ))ᵀΔ and f''(λ) = ΔᵀH(Θ(λ))Δ.
The midpoint barrier is B_mid = f(½) − ½(f(0) + f(1)) (Eq. 1 read at λ = ½).

*Midpoint form.* Taylor around λ = ½: f(½ ± ½) = f(½) ± ½f'(½) + ⅛f''(½) ± (1/48)f'''(½)
+ (1/384)f⁗(½) ± …; the odd terms cancel in ½(f(0) + f(1)) = f(½) + ⅛f''(½) + (1/384)f⁗(½) + O(‖Δ‖⁶),
so

    B_mid = −⅛ ΔᵀH(Θ̄)Δ − (1/384) f⁗(½) + O(‖Δ‖⁶) = −⅛ ΔᵀH(Θ̄)Δ + O(‖Δ‖⁴).

*Endpoint form.* Taylor from each end to the middle: f(½) = f(0) + ½f'(0) + ⅛f''(0) + (1/48)f'''(0)
+ O(‖Δ‖⁴) and f(½) = f(1) − ½f'(1) + ⅛f''(1) − (1/48)f'''(1) + O(‖Δ‖⁴). Their mean minus
½(f(0) + f(1)) gives B_mid = ¼(f'(0) − f'(1)) + (1/16)(f''(0) + f''(1)) + (1/96)(f'''(0) − f'''(1))
+ O(‖Δ‖⁴), and f'''(0) − f'''(1) = −∫₀¹ f⁗ = O(‖Δ‖⁴); hence

    B_mid = ¼(∇L(Θ_A) − ∇L(Θ_B))ᵀΔ + (1/16) Δᵀ(H(Θ_A) + H(Θ_B))Δ + O(‖Δ‖⁴).

Expanding every endpoint term around λ = ½ gives the error (prediction minus B_mid) exactly:
f⁗(½)/128 + O(‖Δ‖⁶) for the endpoint form, f⁗(½)/384 + O(‖Δ‖⁶) for the midpoint form. Both forms
are exact on a quadratic loss, and both errors fall 16-fold when Δ is halved about a fixed midpoint.

*Per layer* (``layer=``): Δ_l is Δ restricted to the layer's keys (zero elsewhere). The measured
per-layer midpoint barrier (:meth:`lmc_bench.layerwise.LayerwisePaths.midpoint_barriers`) is
B_l = ½[L(Θ_A + ½Δ_l) + L(Θ_B − ½Δ_l)] − ½(L(Θ_A) + L(Θ_B)), the mean of the two single-layer
mixtures at λ = ½ (bases A and B) against the full endpoints. Expanding each mixture around its own
base, L(Θ_A + ½Δ_l) − L(Θ_A) = ½∇_lL(Θ_A)ᵀΔ_l + ⅛Δ_lᵀH_ll(Θ_A)Δ_l + (1/48)D³L(Θ_A)[Δ_l³] + O(‖Δ_l‖⁴)
and likewise at Θ_B with −½Δ_l, so

    B_l = ¼(∇_lL(Θ_A) − ∇_lL(Θ_B))ᵀΔ_l + (1/16) Δ_lᵀ(H_ll(Θ_A) + H_ll(Θ_B))Δ_l + O(‖Δ_l‖³‖Δ‖),

the endpoint form with the gradient slice and the diagonal block H[l,l] (the third-order terms
differ only by the change of D³L between Θ_A and Θ_B). The per-layer midpoint form −⅛Δ_lᵀH_ll(Θ̄)Δ_l
is the midpoint barrier of the path that moves layer l alone through Θ̄ (from Θ̄ − ½Δ_l to
Θ̄ + ½Δ_l); it lacks B_l's cross-block coupling −¼ Σ_{m≠l} Δ_lᵀH_lm Δ_m, so per-layer barriers are
compared with the endpoint form.

*Computation.* f' and f'' along a direction v come from a nested forward-mode ``torch.func.jvp``
(forward over forward): the inner jvp is θ ↦ ∇L(θ)ᵀv, the outer one differentiates it along v,
giving vᵀH(θ)v, a Hessian-vector product contracted with v. No Hessian is ever formed and no
backward graph is kept (memory of a forward pass). Only the direction's keys carry tangents, so a
per-layer direction runs the layers before the mixed one as a plain forward pass. The loss is a
function of every floating-point state entry, BatchNorm running statistics included, because the
interpolation path moves them too; BatchNorm is evaluated in eval mode by an explicit formula
(PyTorch's batch_norm kernel is not differentiable in the running statistics). The data are
processed in chunks: L = Σ_k (n_k / N) L_k and every derivative is the same weighted sum.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jvp

from .layerwise import layer_groups
from .train import EVAL_BATCH_SIZE

Tensors = dict[str, torch.Tensor]
FORMS = ("endpoints", "midpoint")


class EvalBatchNorm(nn.Module):
    """BatchNorm in eval mode, ``(x − running_mean) / sqrt(running_var + eps) · weight + bias``,
    differentiable in all four tensors; the state-dict keys of the BatchNorm it replaces."""

    def __init__(self, layer: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        if not (layer.affine and layer.track_running_stats):
            raise NotImplementedError("only affine BatchNorm with running statistics is supported")
        self.weight = nn.Parameter(layer.weight.detach().clone())
        self.bias = nn.Parameter(layer.bias.detach().clone())
        self.register_buffer("running_mean", layer.running_mean.clone())
        self.register_buffer("running_var", layer.running_var.clone())
        self.register_buffer("num_batches_tracked", layer.num_batches_tracked.clone())
        self.eps = layer.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        scale = torch.rsqrt(self.running_var.view(shape) + self.eps) * self.weight.view(shape)
        return (x - self.running_mean.view(shape)) * scale + self.bias.view(shape)


def evaluation_copy(template: nn.Module) -> nn.Module:
    """A copy of ``template`` in eval mode whose BatchNorm layers are :class:`EvalBatchNorm`."""
    model = copy.deepcopy(template).eval()

    def convert(module: nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, EvalBatchNorm(child))
            else:
                convert(child)

    convert(model)
    return model


@dataclass(frozen=True)
class ChunkedLoss:
    """L(θ) = Σ_k w_k ℓ_k(θ) over chunks of data; θ is a dict of floating-point tensors on ``device``."""

    terms: tuple[tuple[float, Callable[[Tensors], torch.Tensor]], ...]
    device: torch.device = torch.device("cpu")

    def __call__(self, state: Tensors) -> torch.Tensor:
        return sum(weight * term(state) for weight, term in self.terms)


def _mean_nll(model: nn.Module, x: torch.Tensor, y: torch.Tensor, state: Tensors) -> torch.Tensor:
    return F.nll_loss(functional_call(model, state, (x,)), y)


def model_loss(template: nn.Module, x: torch.Tensor, y: torch.Tensor, device="cpu",
               batch_size: int = EVAL_BATCH_SIZE) -> ChunkedLoss:
    """Mean NLL of the architecture of ``template`` (log-probability outputs) on (x, y), as a function
    of its floating-point state entries, in chunks of ``batch_size`` images held on ``device``."""
    device = torch.device(device)
    model = evaluation_copy(template).to(device)
    n = len(y)
    terms = tuple(
        (len(y[start : start + batch_size]) / n,
         partial(_mean_nll, model, x[start : start + batch_size].to(device), y[start : start + batch_size].to(device)))
        for start in range(0, n, batch_size)
    )
    return ChunkedLoss(terms, device)


def as_chunked(loss: ChunkedLoss | Callable[[Tensors], torch.Tensor]) -> ChunkedLoss:
    return loss if isinstance(loss, ChunkedLoss) else ChunkedLoss(((1.0, loss),))


def directional_derivatives(loss, state: Tensors, direction: Tensors) -> tuple[float, float]:
    """(∇L(θ)ᵀv, vᵀH(θ)v) at θ = ``state`` along v = ``direction`` (a subset of the keys: the other
    entries of v are zero), by nested forward-mode differentiation."""
    loss = as_chunked(loss)
    keys = list(direction)
    fixed = {k: v for k, v in state.items() if k not in direction}
    primal = {k: state[k] for k in keys}
    first = second = 0.0
    for weight, term in loss.terms:
        def along(params: Tensors, term=term) -> torch.Tensor:
            return jvp(lambda p: term({**fixed, **p}), (params,), (direction,))[1]

        slope, curvature = jvp(along, (primal,), (direction,))
        first += weight * slope.item()
        second += weight * curvature.item()
    return first, second


def floating_state(state: Mapping[str, torch.Tensor], device) -> Tensors:
    """The floating-point entries of a state dict (the variables of the loss), on ``device``."""
    return {k: v.to(device) for k, v in state.items() if v.is_floating_point()}


def _direction(a: Tensors, b: Tensors, layer: str | Iterable[str] | None) -> Tensors:
    if layer is None:
        keys = list(a)
    else:
        groups = layer_groups(a)
        names = [layer] if isinstance(layer, str) else list(layer)
        unknown = [name for name in names if name not in groups]
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; the state has layers {list(groups)}")
        keys = [key for name in names for key in groups[name]]
    return {k: b[k] - a[k] for k in keys}


def predict_barrier(loss, state_a: Mapping[str, torch.Tensor], state_b: Mapping[str, torch.Tensor],
                    layer: str | Iterable[str] | None = None, at: str = "endpoints") -> float:
    """Second-order prediction of the midpoint barrier (module docstring): network-wide, or for
    ``layer`` (a layer name of :func:`lmc_bench.layerwise.layer_groups`, or several) with the
    gradient slice and the diagonal Hessian block. ``at="endpoints"``:
    ¼(∇L(Θ_A) − ∇L(Θ_B))ᵀΔ + (1/16)Δᵀ(H(Θ_A) + H(Θ_B))Δ; ``at="midpoint"``: −⅛ΔᵀH(Θ̄)Δ.
    ``loss`` is a :class:`ChunkedLoss` (:func:`model_loss`) or any function of the floating state."""
    if at not in FORMS:
        raise ValueError(f"unknown form {at!r}; expected one of {FORMS}")
    device = as_chunked(loss).device
    a, b = floating_state(state_a, device), floating_state(state_b, device)
    if a.keys() != b.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(a.keys() ^ b.keys())}")
    delta = _direction(a, b, layer)
    if at == "midpoint":
        middle = {k: torch.lerp(a[k], b[k], 0.5) for k in a}
        return -directional_derivatives(loss, middle, delta)[1] / 8
    slope_a, curvature_a = directional_derivatives(loss, a, delta)
    slope_b, curvature_b = directional_derivatives(loss, b, delta)
    return (slope_a - slope_b) / 4 + (curvature_a + curvature_b) / 16
