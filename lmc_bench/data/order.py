"""Same vs different SGD noise: the random draws of each training epoch (Appendix B, Algorithm 1).

Every random operation of training except the initialisation (the epoch's shuffle, the
horizontal-flip draws, the dropout masks) comes from one stream per copy:

- ``same`` noise: the stream is reseeded with the epoch number at the start of every epoch
  (Algorithm 1, ``torch.manual_seed(epoch)``), for both copies alike. The data order therefore
  does not depend on the run seed, and both copies see identical draws.
- ``different`` noise: copy A's stream is seeded once with ``seed``, copy B's with ``seed + 100``,
  and runs on across epochs without reseeding.

Both engines take their draws from :func:`epoch_draws`, so the sequence is the same on any
device; the draws themselves are always made on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

DIFFERENT_NOISE_OFFSET = 100
"""Seed offset of copy B under different SGD noise (Algorithm 1, ``new seed = seed + 100``)."""

TRACKED_BATCH = 10
TRACKED_LABELS = 10
"""Appendix B check: the first 10 labels of batch number 10 (0-based index) are tracked."""


@dataclass(frozen=True)
class EpochDraws:
    """The random draws of one epoch of one copy."""

    permutation: torch.Tensor
    """Order in which the subset's images are visited (int64, length n)."""
    flips: torch.Tensor | None
    """Per visited position, whether the image is flipped horizontally (bool), or None."""
    dropout_seed: int
    """Seed of the epoch's dropout masks."""


def stream_seed(noise: str, seed: int, copy: int) -> int:
    """Seed of the copy's stream under ``different`` noise (copy 0 = A, 1 = B)."""
    if noise != "different":
        raise ValueError("only 'different' noise has a per-copy stream seed")
    return seed + DIFFERENT_NOISE_OFFSET * copy


def epoch_draws(
    n: int, epochs: int, noise: str, seed: int, copy: int, flip: bool = False
) -> Iterator[EpochDraws]:
    """Yield the draws of each epoch for one copy trained on a subset of ``n`` images."""
    if noise not in ("same", "different"):
        raise ValueError(f"unknown SGD noise {noise!r}; expected 'same' or 'different'")
    generator = torch.Generator()
    if noise == "different":
        generator.manual_seed(stream_seed(noise, seed, copy))
    for epoch in range(epochs):
        if noise == "same":
            generator.manual_seed(epoch)
        permutation = torch.randperm(n, generator=generator)
        flips = torch.rand(n, generator=generator) < 0.5 if flip else None
        dropout_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        yield EpochDraws(permutation, flips, dropout_seed)


def tracked_batch(n: int, batch_size: int) -> int:
    """Index of the batch whose first labels Appendix B compares: ``TRACKED_BATCH``, or the last
    batch of an epoch with fewer batches."""
    return min(TRACKED_BATCH, -(-n // batch_size) - 1)


def tracked_labels(labels: torch.Tensor, permutation: torch.Tensor, batch_size: int) -> list[int]:
    """Labels that the draw ``permutation`` puts at the first positions of the tracked batch (what
    the engines record from the batches they actually train on)."""
    start = tracked_batch(len(permutation), batch_size) * batch_size
    return labels[permutation[start : start + TRACKED_LABELS]].tolist()
