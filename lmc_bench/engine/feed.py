"""Training batches of a stack, in the order Algorithm 1 prescribes (Appendix B).

Each model's epoch draws come from :func:`lmc_bench.data.order.epoch_draws` (made on the CPU),
exactly as the naive engine takes them; they are turned into indices into the training set and
moved to the device once per epoch, where the images already live. Models whose draws coincide
(same SGD noise: every copy on one subset) form blocks that share one row of indices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from ..data.order import EpochDraws
from ..train import apply_flips


def block_count(n: int, same: Callable[[int, int], bool]) -> int:
    """Fewest blocks G (G divides n) of consecutive items such that items within a block are equal."""
    for blocks in range(1, n + 1):
        if n % blocks:
            continue
        size = n // blocks
        if all(same(b * size, b * size + i) for b in range(blocks) for i in range(1, size)):
            return blocks
    return n


@dataclass(frozen=True)
class EpochFeed:
    """One epoch of a stack: per block, the visited training-set indices and flip flags."""

    index: torch.Tensor
    """(G, n) int64 indices into the training set, on the device."""
    flips: torch.Tensor | None
    """(G, n) bool flip flag per visited position, on the device, or None without flipping."""

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Consecutive (G, b) slices; the last batch is kept when partial (drop_last=False)."""
        for start in range(0, self.index.shape[1], batch_size):
            stop = start + batch_size
            yield self.index[:, start:stop], None if self.flips is None else self.flips[:, start:stop]


def epoch_feed(draws: list[EpochDraws], subsets: list[torch.Tensor], device: torch.device) -> EpochFeed:
    """Feed of one epoch for models with these draws, model i training on ``subsets[i]``."""
    rows = [subset[d.permutation] for d, subset in zip(draws, subsets)]
    flips = [d.flips for d in draws]

    def same(i: int, j: int) -> bool:
        return torch.equal(rows[i], rows[j]) and (flips[i] is None or torch.equal(flips[i], flips[j]))

    size = len(rows) // block_count(len(rows), same)
    index = torch.stack(rows[::size]).to(device)
    flip_rows = None if flips[0] is None else torch.stack(flips[::size]).to(device)
    return EpochFeed(index, flip_rows)


def load_batch(
    train_x: torch.Tensor, train_y: torch.Tensor, index: torch.Tensor, flips: torch.Tensor | None, m: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (G, b, C, H, W), flipped where drawn, and labels (M, b) of one step."""
    images = train_x[index]
    if flips is not None:
        images = apply_flips(images.flatten(0, 1), flips.flatten()).view(images.shape)
    labels = train_y[index]
    return images, labels.repeat_interleave(m // labels.shape[0], dim=0)
