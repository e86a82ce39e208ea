"""Sampling: values in range, reproducible from a generator, and distributed as the model says."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from conftest import all_configurations, chi_square_pvalue, sharpen

from made import MADE
from made.masks import build_masks, observed_first


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


# --------------------------------------------------------------------- incremental vs naive

SAMPLER_CASES = [
    dict(input_shape=12, hidden_sizes=[24, 24]),
    dict(input_shape=(2, 5), hidden_sizes=[16], ordering="random", direct_connections=True),
    dict(input_shape=6, hidden_sizes=[20, 10, 20], num_categories=4, ordering="reversed"),
    dict(input_shape=5, hidden_sizes=[16], num_categories=[3, 2, 5, 2, 2], context_size=3,
         direct_connections=True, activation="tanh"),
    dict(input_shape=7, hidden_sizes=[], num_categories=3),
    dict(input_shape=1, hidden_sizes=[8], num_categories=5),
    dict(input_shape=9, hidden_sizes=[32, 32], num_masks=4, order_agnostic=True,
         hidden_degrees="equal", context_size=2),
]  # fmt: skip


@pytest.mark.parametrize("block", [2, 5, 32])  # positions between the sampler's catch-ups
@pytest.mark.parametrize("kwargs", SAMPLER_CASES)
def test_incremental_and_naive_samplers_agree_exactly(kwargs, block, monkeypatch):
    import made.sampling as sampling

    monkeypatch.setattr(sampling, "SAMPLE_BLOCK", block)
    model = sharpen(MADE(**kwargs, seed=7).double(), 2.0)
    ctx = None
    if model.config.context_size:
        ctx = torch.randn(200, model.config.context_size, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(1))  # fmt: skip
    for k in range(model.num_masks):
        model.set_mask(k)
        a = model.sample(200, ctx, torch.Generator().manual_seed(k), method="naive")
        b = model.sample(200, ctx, torch.Generator().manual_seed(k), method="incremental")
        assert torch.equal(a, b)
    if model.num_masks > 1:
        a = model.sample(200, ctx, torch.Generator().manual_seed(9), method="naive", ensemble=4)
        b = model.sample(200, ctx, torch.Generator().manual_seed(9), ensemble=4)
        assert torch.equal(a, b)


def test_ensemble_samples_follow_the_mixture():
    model = sharpen(MADE(3, [16], num_categories=3, num_masks=3, order_agnostic=True, seed=3)
                    .double(), 2.0)  # fmt: skip
    xs = all_configurations(model)
    with torch.no_grad():
        mixture = model.log_prob(xs, ensemble=3).exp()
    samples = model.sample(30000, generator=torch.Generator().manual_seed(4), ensemble=3)
    counts = _counts(model, samples)
    assert chi_square_pvalue(counts, mixture) > 1e-3
    with torch.no_grad():
        single = model.log_prob(xs).exp()  # mask 0 alone is a different distribution
    assert chi_square_pvalue(counts, single) < 1e-6


# ------------------------------------------------------------------ inpainting, marginals


def _oa_model(**kwargs):
    return sharpen(MADE(4, [24, 24], num_categories=[3, 2, 2, 3], num_masks=3,
                        order_agnostic=True, seed=5, **kwargs).double(), 2.0)  # fmt: skip


def test_marginals_sum_to_one_and_conditionals_follow():
    model = _oa_model()
    xs = all_configurations(model)
    for observed in ([True, False, True, False], [False, False, False, True],
                     [True, True, True, True]):  # fmt: skip
        mask = torch.tensor(observed)
        for ensemble in (None, 3):
            lm = model.log_marginal(xs, mask, ensemble=ensemble).detach()
            # each observed configuration appears once per completion: keep one of each
            keys = {tuple(row[mask].tolist()): float(v) for row, v in zip(xs, lm, strict=True)}
            assert abs(math.expm1(torch.logsumexp(torch.tensor(list(keys.values())), 0))) < 1e-9


def test_marginal_matches_brute_force_for_a_prefix():
    model = sharpen(MADE(5, [24], num_categories=[2, 3, 2, 2, 3], ordering=[3, 0, 4, 1, 2],
                         seed=2).double(), 2.0)  # fmt: skip
    xs = all_configurations(model)
    with torch.no_grad():
        joint = model.log_prob(xs).exp()
    mask = torch.zeros(5, dtype=torch.bool)
    mask[[3, 0]] = True  # the first two positions of the ordering
    lm = model.log_marginal(xs, mask).detach()
    for row, value in zip(xs[:20], lm[:20], strict=True):
        same = (xs[:, mask] == row[mask]).all(dim=1)
        assert math.isclose(float(joint[same].sum()), math.exp(float(value)), rel_tol=1e-9)
    with pytest.raises(ValueError, match="observed dimensions are not its first ones"):
        model.log_marginal(xs, torch.tensor([False, True, False, False, False]))


def test_inpainting_keeps_observed_values_and_draws_the_exact_conditional():
    model = _oa_model()
    xs = all_configurations(model)
    observed = torch.tensor([1, 0, 1, 0])
    mask = torch.tensor([True, False, True, False])
    samples = model.sample(30000, generator=torch.Generator().manual_seed(0),
                           observed=observed, is_observed=mask)  # fmt: skip
    assert torch.all(samples[:, mask] == observed[mask])
    # p(rest | observed) under the ordering that puts the observed first
    keep = (xs[:, mask] == observed[mask]).all(dim=1)
    with torch.no_grad():
        joint = model.log_prob(xs[keep], ensemble=None)
    # log p(x) is ordering-dependent for a fixed network; use the same ordering as sampling
    ordering = observed_first(model.ordering, mask, model.config.orderings_vary, strict=True)
    masks = build_masks(ordering, model.degrees(0), model.layout.unit_dim, model.layout.unit_dim)
    with torch.no_grad():
        per_dim = model.layout.log_prob_per_dim(model.net(model.encode(xs[keep]), None, masks),
                                          xs[keep])  # fmt: skip
    cond = per_dim[:, ~mask].sum(1).exp()
    assert math.isclose(float(cond.sum()), 1.0, rel_tol=1e-9)
    index = {tuple(r.tolist()): i for i, r in enumerate(xs[keep])}
    counts = torch.zeros(len(index))
    for row in samples.tolist():
        counts[index[tuple(row)]] += 1
    assert chi_square_pvalue(counts, cond) > 1e-3
    assert joint.shape == cond.shape


def test_inpainting_a_single_ordering_model_warns_unless_prefix():
    model = MADE(4, [8], seed=0)
    x = torch.tensor([1, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.sample(5, observed=x, is_observed=torch.tensor([True, True, False, False]))
    with pytest.warns(UserWarning, match="not exact"):
        s = model.sample(5, observed=x, is_observed=torch.tensor([False, True, False, True]))
    assert torch.all(s[:, [1, 3]] == x[[1, 3]])


def test_bad_inpainting_arguments():
    model = MADE((2, 2), [8], order_agnostic=True, num_masks=2, seed=0)
    x = torch.zeros(2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="go together"):
        model.sample(3, observed=x)
    with pytest.raises(ValueError, match="boolean"):
        model.sample(3, observed=x, is_observed=torch.ones(2, 2))
    with pytest.raises(ValueError, match=r"is_observed must have shape \(2, 2\)"):
        model.sample(3, observed=x, is_observed=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="outside its categories"):
        model.sample(3, observed=x + 2, is_observed=torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="method must be"):
        model.sample(3, method="fast")


def test_large_requests_sampled_in_chunks_give_the_same_samples(monkeypatch):
    # on the CPU rows are sampled in chunks of CPU_CHUNK; rows are independent given their
    # uniforms, so chunking must not change a single sample (inpainting and ensembles too)
    import made.sampling as sampling

    model = MADE(6, [16, 16], num_masks=2, order_agnostic=True, seed=0).eval()
    observed = torch.zeros(1, 6, dtype=torch.long)
    mask = torch.zeros(1, 6, dtype=torch.bool)
    mask[0, :2] = True

    def draws():
        g = torch.Generator().manual_seed(3)
        plain = model.sample(23, generator=g, ensemble=2)
        filled = model.sample(23, generator=g, observed=observed, is_observed=mask.expand(23, 6))
        return plain, filled

    monkeypatch.setattr(sampling, "CPU_CHUNK", 10**9)
    whole = draws()
    monkeypatch.setattr(sampling, "CPU_CHUNK", 4)
    chunked = draws()
    for a, b in zip(whole, chunked, strict=True):
        assert torch.equal(a, b)
