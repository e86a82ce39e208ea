"""Sampling: values in range, reproducible from a generator, and distributed as the model says."""

from __future__ import annotations

import pytest
import torch
from conftest import all_configurations, chi_square_pvalue, sharpen

from made import MADE


def _counts(model: MADE, samples: torch.Tensor) -> torch.Tensor:
    """How often each configuration (in all_configurations order) was drawn."""
    flat = samples.reshape(samples.shape[0], -1)
    index = torch.zeros(flat.shape[0], dtype=torch.long)
    for k, column in zip(model.cardinalities, flat.T, strict=True):
        index = index * k + column
    return torch.bincount(index, minlength=len(all_configurations(model)))


def test_samples_have_the_right_shape_type_and_range():
    model = sharpen(MADE((1, 2, 3), [16], num_categories=[2, 3, 4, 2, 5, 3], seed=0))
    s = model.sample(500, generator=torch.Generator().manual_seed(0))
    assert s.shape == (500, 1, 2, 3) and s.dtype == torch.long
    flat = s.reshape(500, 6)
    assert (flat >= 0).all() and (flat < torch.tensor(model.cardinalities)).all()
    for d, k in enumerate(model.cardinalities):
        assert set(flat[:, d].tolist()) == set(range(k))  # every category is reachable


def test_same_generator_state_gives_the_same_samples():
    model = MADE(10, [16], num_categories=3, seed=0)
    a = model.sample(20, generator=torch.Generator().manual_seed(5))
    b = model.sample(20, generator=torch.Generator().manual_seed(5))
    c = model.sample(20, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_known_conditionals():
    # Zero weights: every dimension is independent with P(x_d = 1) = sigmoid(bias_d).
    model = MADE(3, [8], seed=0)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.output.bias.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    p1 = torch.sigmoid(model.output.bias.detach())
    xs = all_configurations(model)
    probs = torch.prod(torch.where(xs == 1, p1, 1 - p1), dim=1)
    assert torch.allclose(model.log_prob(xs).exp(), probs, atol=1e-6)
    samples = model.sample(20000, generator=torch.Generator().manual_seed(1))
    assert chi_square_pvalue(_counts(model, samples), probs) > 1e-3


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(input_shape=4, hidden_sizes=[16, 16], ordering="random"),
        dict(
            input_shape=3,
            hidden_sizes=[16],
            num_categories=[3, 2, 4],
            ordering=[2, 0, 1],
            direct_connections=True,
        ),
        dict(
            input_shape=3,
            hidden_sizes=[16],
            num_categories=3,
            num_masks=3,
            order_agnostic=True,
            context_size=2,
        ),
    ],
)
def test_samples_match_the_enumerated_distribution(kwargs):
    model = sharpen(MADE(**kwargs, seed=3).double(), 2.0)
    model.set_mask(model.num_masks - 1)
    ctx = torch.tensor([0.5, -1.0], dtype=torch.float64) if model.config.context_size else None
    xs = all_configurations(model)
    with torch.no_grad():
        probs = model.log_prob(xs, None if ctx is None else ctx.expand(len(xs), -1)).exp()
    samples = model.sample(30000, ctx, generator=torch.Generator().manual_seed(2))
    counts = _counts(model, samples)
    assert chi_square_pvalue(counts, probs) > 1e-3
    # the same check rejects samples from another model: it has the power to fail
    other = sharpen(MADE(**kwargs, seed=4).double(), 2.0)
    with torch.no_grad():
        other_probs = other.log_prob(xs, None if ctx is None else ctx.expand(len(xs), -1)).exp()
    assert chi_square_pvalue(counts, other_probs) < 1e-6


def test_bad_sample_arguments():
    model = MADE(3, [4], context_size=2)
    with pytest.raises(ValueError, match="n must be a positive int"):
        model.sample(0, torch.zeros(2))
    with pytest.raises(ValueError, match="needs a context"):
        model.sample(3)
