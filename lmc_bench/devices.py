"""Where runs train, and the CUDA numerics every run on a GPU uses.

``auto`` picks CUDA when torch sees a device, else the CPU. On CUDA the paper's fp32 numerics
are enforced: TensorFloat-32 off for matrix products and cuDNN convolutions (the default of
recent torch versions is TF32 convolutions, which round inputs to 10 mantissa bits),
``cudnn.benchmark`` off (it picks convolution algorithms by timing them, so two runs may pick
different ones) and ``cudnn.deterministic`` on. ``torch.use_deterministic_algorithms`` is not
set: NLLLoss on CUDA has no kernel it accepts and would raise (docs/determinism.md).
"""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def device_type(device: str | torch.device | None = None) -> str:
    """"cuda" or "cpu" (or another torch device type) that ``device`` names; "auto" and ``None``
    name CUDA when torch sees a device. Nothing is configured or checked."""
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device).type


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or "auto": CUDA when available, else the CPU; anything else as given (``cuda:1``).
    ValueError naming the fix for a device torch does not know or this machine does not have. A
    CUDA device gets the fp32 numerics of :func:`configure_cuda_numerics`."""
    try:
        resolved = torch.device(device_type(device) if device is None or device == "auto" else device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but torch sees no CUDA device (no GPU or no driver); "
                             "use --device cpu or auto")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) are visible")
        configure_cuda_numerics()
    elif resolved.type != "cpu":
        raise ValueError(f"device {device!r} is not supported; use auto, cpu, cuda or cuda:N")
    return resolved


def configure_cuda_numerics() -> None:
    """fp32 matrix products and convolutions (no TF32), fixed cuDNN algorithm choice."""
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    if hasattr(torch.backends.cudnn, "conv"):  # the per-operator precision API of torch >= 2.9
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def cuda_numerics() -> dict:
    """The flags in force, for a record or a report."""
    if hasattr(torch.backends.cudnn, "conv"):
        tf32 = {"matmul_fp32_precision": torch.backends.cuda.matmul.fp32_precision,
                "conv_fp32_precision": torch.backends.cudnn.conv.fp32_precision}
    else:
        tf32 = {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32, "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
    return {"cudnn_benchmark": torch.backends.cudnn.benchmark, "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(), **tf32}
