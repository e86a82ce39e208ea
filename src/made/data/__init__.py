"""Data sets for MADE, addressed by name. Each yields integer tensors ``(N, *shape)``.

The built-in default is generated, so nothing is downloaded: ``bars-and-stripes`` (8x8 binary
images with a known exact entropy, so the gap between a model and the truth is measurable).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..masks import make_generator
from .synthetic import bars_and_stripes, bars_and_stripes_entropy

__all__ = ["Dataset", "DATASETS", "load_dataset", "bars_and_stripes", "bars_and_stripes_entropy"]


@dataclass(frozen=True)
class Dataset:
    """Train/valid/test splits of one data set (LongTensors ``(N, *shape)``).

    ``entropy``: the exact entropy in nats per example where it is known (a floor for NLL).
    """

    name: str
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    num_categories: int
    description: str
    entropy: float | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])


def _bars_and_stripes(seed: int) -> Dataset:
    sizes = {"train": 5000, "valid": 1000, "test": 1000}
    parts = {
        split: bars_and_stripes(n, 8, make_generator(seed, 0xDA7A, i))
        for i, (split, n) in enumerate(sizes.items())
    }
    return Dataset(
        name="bars-and-stripes",
        num_categories=2,
        description="generated 8x8 binary bars and stripes; exact entropy known",
        entropy=bars_and_stripes_entropy(8),
        **parts,
    )


DATASETS = {"bars-and-stripes": _bars_and_stripes}


def load_dataset(name: str, seed: int = 0) -> Dataset:
    """The named data set; ``seed`` fixes generated ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](seed)
