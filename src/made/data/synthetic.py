"""Generated data sets whose exact distribution is known, so a model can be checked against it."""

from __future__ import annotations

import math

import torch

__all__ = ["bars_and_stripes", "bars_and_stripes_entropy"]


def bars_and_stripes(
    n: int, size: int = 8, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` binary ``size x size`` images, each made of whole rows or whole columns.

    An orientation is chosen with probability 1/2, then every row (or column) is on with
    probability 1/2, independently. Returns a LongTensor ``(n, 1, size, size)``.
    """
    if n < 0 or size < 1:
        raise ValueError(f"need n >= 0 and size >= 1; got n={n}, size={size}")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    lines = torch.randint(0, 2, (n, size), generator=g)
    rows = torch.rand(n, generator=g) < 0.5
    img = torch.where(rows[:, None, None], lines[:, :, None], lines[:, None, :])
    return img.expand(n, size, size).reshape(n, 1, size, size).long()


def bars_and_stripes_entropy(size: int = 8) -> float:
    """Exact entropy of ``bars_and_stripes(size=size)`` in nats per image: the lowest NLL any
    model can reach on it. The all-off and all-on images arise from both orientations."""
    shared = 2 * 2.0**-size  # two images with probability 2^-size each
    others = (2 ** (size + 1) - 4) * 2.0 ** -(size + 1)  # the rest: 2^-(size+1) each
    return math.log(2) * (shared * size + others * (size + 1))
