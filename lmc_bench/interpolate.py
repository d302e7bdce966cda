"""Linear interpolation Θ(λ) = (1−λ)Θ_A + λΘ_B of whole state dicts (Section III-D).

Floating-point entries are interpolated, BatchNorm running statistics included (the default
"interpolate" mode); integer buffers (``num_batches_tracked``) are taken from Θ_A. The
"recompute" mode re-estimates BatchNorm statistics of each Θ(λ) on the training subsets
(``torch.optim.swa_utils.update_bn``).
"""

from __future__ import annotations

import torch
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, TensorDataset

Tensors = dict[str, torch.Tensor]


def interpolate_state(state_a: Tensors, state_b: Tensors, lam: float) -> Tensors:
    """Θ(λ) for one λ; λ = 0 and λ = 1 reproduce the endpoints exactly."""
    if state_a.keys() != state_b.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(state_a.keys() ^ state_b.keys())}")
    out = {}
    for key, a in state_a.items():
        b = state_b[key]
        if a.shape != b.shape:
            raise ValueError(f"shape mismatch for {key!r}: {tuple(a.shape)} vs {tuple(b.shape)}")
        if not a.is_floating_point():
            out[key] = a.clone()
        elif lam == 0:
            out[key] = a.clone()
        elif lam == 1:
            out[key] = b.clone()
        else:
            out[key] = torch.lerp(a, b, lam)
    return out


def has_batch_norm(model: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


def recompute_batch_norm(model: torch.nn.Module, x: torch.Tensor, device, batch_size: int = 1000) -> None:
    """Re-estimate BatchNorm running statistics of ``model`` on images ``x`` (cumulative average)."""
    loader = DataLoader(TensorDataset(x), batch_size=batch_size)
    update_bn(([batch[0].to(device)] for batch in loader), model, device=device)
