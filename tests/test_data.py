"""The generated bars-and-stripes set: valid images, exact entropy, determinism."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from made.data import bars_and_stripes, bars_and_stripes_entropy, load_dataset


def _is_bars_or_stripes(img: torch.Tensor) -> bool:
    rows_constant = bool((img == img[:, :1]).all())
    cols_constant = bool((img == img[:1, :]).all())
    return rows_constant or cols_constant


def test_every_image_is_bars_or_stripes():
    x = bars_and_stripes(500, 6, torch.Generator().manual_seed(0))
    assert x.shape == (500, 1, 6, 6) and x.dtype == torch.long
    assert all(_is_bars_or_stripes(img[0]) for img in x)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_entropy_matches_enumeration_of_the_generative_process(size):
    probs: dict[tuple, float] = {}
    for rows in (True, False):
        for lines in itertools.product((0, 1), repeat=size):
            line = torch.tensor(lines)
            img = line[:, None].expand(size, size) if rows else line[None, :].expand(size, size)
            key = tuple(img.flatten().tolist())
            probs[key] = probs.get(key, 0.0) + 0.5 * 2.0**-size
    assert math.isclose(sum(probs.values()), 1.0)
    exact = -sum(p * math.log(p) for p in probs.values())
    assert bars_and_stripes_entropy(size) == pytest.approx(exact, rel=1e-12)


def test_named_set_is_deterministic_and_split():
    a, b = load_dataset("bars-and-stripes", seed=0), load_dataset("bars-and-stripes", seed=0)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert not torch.equal(a.train, load_dataset("bars-and-stripes", seed=1).train)
    assert (len(a.train), len(a.valid), len(a.test)) == (5000, 1000, 1000)
    assert a.shape == (1, 8, 8)
    with pytest.raises(ValueError, match="unknown data set 'nope'; known: bars-and-stripes"):
        load_dataset("nope")
