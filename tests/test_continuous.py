"""Real-valued and mixed-type MADE: exact normalisation by numerical integration, samplers
against known moments, both samplers agreeing, mixed types end to end."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import random_data, sharpen

from made import MADE
from made.model import LOG_SCALE_MIN, real_log_density
from made.outputs import LOG_SCALE_MAX
from made.train import TrainConfig, fit


def _grid(half_width: float, points: int) -> torch.Tensor:
    return torch.linspace(-half_width, half_width, points, dtype=torch.float64)


@pytest.mark.parametrize("components", [1, 3])
def test_one_dimension_integrates_to_one(components):
    # D=1 with a context: the density is the output layer's alone, a function of the context
    model = sharpen(
        MADE(1, [8], num_categories=0, num_components=components, context_size=2, seed=3)
    ).double()
    grid = _grid(300, 60001)  # the widest scale here is about 40
    for ctx in torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64):
        density = model.log_prob(grid[:, None], ctx).exp()
        assert torch.trapezoid(density, grid).item() == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("components", [1, 2])
@pytest.mark.parametrize("ordering", ["natural", "reversed"])
def test_two_dimensions_integrate_to_one(components, ordering):
    model = MADE(2, [16, 16], num_categories=0, num_components=components, ordering=ordering,
                 activation="tanh", seed=5).double()  # fmt: skip
    sharpen(model, 2.0)
    grid = _grid(25, 1001)
    x, y = torch.meshgrid(grid, grid, indexing="ij")
    points = torch.stack([x.flatten(), y.flatten()], 1)
    density = model.log_prob(points).exp().reshape(len(grid), len(grid))
    total = torch.trapezoid(torch.trapezoid(density, grid), grid).item()
    # tanh units bound every parameter, so the grid holds all the mass but ~1e-8
    assert total == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("components", [1, 3])
def test_mixed_categorical_and_real_sums_and_integrates_to_one(components):
    # p(c, v) with c in 0..2 and v real: sum over c of the integral over v is 1, in both orders
    for ordering in ("natural", "reversed"):
        model = MADE(2, [16], num_categories=[3, 0], num_components=components,
                     ordering=ordering, activation="tanh", seed=7).double()  # fmt: skip
        sharpen(model, 2.0)
        grid = _grid(30, 6001)
        total = 0.0
        for c in range(3):
            points = torch.stack([torch.full_like(grid, c), grid], 1)
            total += torch.trapezoid(model.log_prob(points).exp(), grid).item()
        assert total == pytest.approx(1, abs=1e-4)


def test_gaussian_log_density_is_the_textbook_formula():
    params = torch.tensor([[0.5, math.log(2.0)]], dtype=torch.float64)
    x = torch.tensor([1.7], dtype=torch.float64)
    expected = torch.distributions.Normal(0.5, 2.0).log_prob(x)
    assert torch.allclose(real_log_density(params, x, 1), expected)
    # a mixture of 2 against torch.distributions
    logits, means = torch.tensor([0.3, -0.4]), torch.tensor([-1.0, 2.0])
    scales = torch.tensor([0.5, 1.5])
    params = torch.cat([logits, means, scales.log()])[None].double()
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=logits.double()),
        torch.distributions.Normal(means.double(), scales.double()),
    )
    assert torch.allclose(real_log_density(params, x, 2), mixture.log_prob(x))
    # the floor on log-scales
    floored = real_log_density(torch.tensor([[0.0, -50.0]]), torch.tensor([0.0]), 1)
    assert floored.item() == pytest.approx(-LOG_SCALE_MIN - 0.5 * math.log(2 * math.pi), abs=1e-5)
    # ... and the cap: a runaway log-scale in a component of weight ~0 once overflowed exp in
    # float32, and its term's gradient (0 x inf) made every weight NaN
    runaway = torch.tensor([[0.0, 40.0, 0.0, 0.0, 0.0, 100.0]], requires_grad=True)
    density = real_log_density(runaway, torch.tensor([0.3]), 2)
    density.sum().backward()
    assert torch.isfinite(density).all() and torch.isfinite(runaway.grad).all()
    capped = real_log_density(torch.tensor([[0.0, 100.0]]), torch.tensor([0.0]), 1)
    assert capped.item() == pytest.approx(-LOG_SCALE_MAX - 0.5 * math.log(2 * math.pi), abs=1e-5)


def _fixed_first_dimension(model: MADE, values: list[float]) -> MADE:
    """Make the first dimension's parameters the output bias alone (weights into it zero)."""
    with torch.no_grad():
        first = model.ordering[0].item()
        start, units = model.layout.out_start[first], model.layout.out_units[first]
        model.output.weight[start : start + units] = 0
        model.output.bias[start : start + units] = torch.tensor(values)
    return model


@pytest.mark.parametrize("method", ["incremental", "naive"])
def test_samples_have_the_known_moments(method):
    n = 200_000
    g = torch.Generator().manual_seed(1)
    # a Gaussian: mean 1.5, sd 0.5
    model = _fixed_first_dimension(MADE(1, [4], num_categories=0, seed=0).double(),
                                   [1.5, math.log(0.5)])  # fmt: skip
    x = model.sample(n, generator=g, method=method)[:, 0]
    assert abs(x.mean().item() - 1.5) < 4 * 0.5 / math.sqrt(n)
    assert abs(x.std().item() - 0.5) < 4 * 0.5 / math.sqrt(2 * n)
    # a mixture: weights .3/.7, means -2/3, sds .5/1: mean 1.5, variance 6.025
    model = MADE(1, [4], num_categories=0, num_components=2, seed=0).double()
    _fixed_first_dimension(model, [math.log(0.3), math.log(0.7), -2, 3, math.log(0.5), 0])
    x = model.sample(n, generator=g, method=method)[:, 0]
    sd = math.sqrt(6.025)
    assert abs(x.mean().item() - 1.5) < 4 * sd / math.sqrt(n)
    assert abs(x.var().item() - 6.025) < 0.05
    assert abs((x < 0).double().mean().item() - 0.3 * 1 - 0.7 * 0.00135) < 0.005


@pytest.mark.parametrize("method", ["incremental", "naive"])
def test_conditional_moments_of_a_linear_gaussian(method):
    # x0 ~ N(0, 1); x1 | x0 ~ N(0.8 x0 + 1, 0.6^2): cov 0.8, var(x1) = 0.64 + 0.36 = 1
    model = MADE(2, [], num_categories=0, seed=0).double()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.copy_(torch.tensor([0.0, 0.0, 1.0, math.log(0.6)]))
        model.output.weight[2, 0] = 0.8  # the mean of x1 reads x0
    x = model.sample(100_000, generator=torch.Generator().manual_seed(2), method=method)
    cov = torch.cov(x.t())
    assert torch.allclose(x.mean(0), torch.tensor([0.0, 1.0], dtype=torch.float64), atol=0.02)
    assert torch.allclose(cov, torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64),
                          atol=0.02)  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(num_categories=0, num_components=1),
        dict(num_categories=0, num_components=3, ordering="random"),
        dict(num_categories=[3, 0, 2, 0, 5, 2], num_components=2, direct_connections=True),
        dict(num_categories=[2, 0, 2, 0, 2, 0], context_size=2, num_masks=3, order_agnostic=True),
    ],
)
def test_samplers_agree_and_log_prob_scores_their_samples(kwargs):
    model = sharpen(MADE(6, [24, 24], seed=4, **kwargs).double(), 1.5)
    n = 64
    ctx = torch.randn(n, 2, dtype=torch.float64) if kwargs.get("context_size") else None
    ens = model.num_masks if model.num_masks > 1 else None
    a = model.sample(n, ctx, torch.Generator().manual_seed(9), ensemble=ens)
    b = model.sample(n, ctx, torch.Generator().manual_seed(9), method="naive", ensemble=ens)
    assert a.dtype == torch.float64 and torch.allclose(a, b, atol=1e-9)
    for d, k in enumerate(model.cardinalities):
        if k:  # categorical dimensions hold exact categories
            assert torch.equal(a[:, d], a[:, d].round()) and a[:, d].min() >= 0
            assert a[:, d].max() < k
    assert torch.isfinite(model.log_prob(a, ctx, ensemble=ens)).all()


def test_log_density_depends_only_on_earlier_dimensions():
    # d log p(x_t | x_<t) / d x_s is 0 for every real x_s at or after t (except s = t itself)
    model = sharpen(MADE(5, [20, 20], num_categories=[0, 3, 0, 0, 2], num_components=2,
                         ordering=[3, 0, 4, 2, 1], seed=1).double())  # fmt: skip
    x = random_data(model, 1, torch.Generator().manual_seed(0))
    pos = torch.argsort(model.ordering)

    def per_dim(values):
        full = x.clone()
        full[0, list(model.real_dims)] = values
        out = model.net(model.encode(full), None, model.masks(0))
        return model.layout.log_prob_per_dim(out, full)[0]

    jac = torch.autograd.functional.jacobian(per_dim, x[0, list(model.real_dims)])
    for row, t in enumerate(range(5)):
        for col, s in enumerate(model.real_dims):
            if pos[s] > pos[t]:
                assert jac[row, col] == 0
            elif s == t:
                assert jac[row, col] != 0  # the density of x_t reads x_t
    # and changing a later categorical value leaves earlier conditionals alone
    changed = x.clone()
    changed[0, 1] = (changed[0, 1] + 1) % 3  # dimension 1 is last in the ordering
    out_a = model.net(model.encode(x), None, model.masks(0))
    out_b = model.net(model.encode(changed), None, model.masks(0))
    lp_a, lp_b = (
        model.layout.log_prob_per_dim(out_a, x),
        model.layout.log_prob_per_dim(out_b, changed),
    )
    earlier = [d for d in range(5) if d != 1]
    assert torch.equal(lp_a[0, earlier], lp_b[0, earlier])


def test_inpainting_keeps_real_observed_values_and_marginal_is_exact():
    model = MADE(3, [16], num_categories=[0, 0, 3], order_agnostic=True, num_masks=2,
                 seed=2).double()  # fmt: skip
    observed = torch.tensor([[0.25, -1.5, 0.0]], dtype=torch.float64)
    mask = torch.tensor([True, False, False])
    x = model.sample(500, generator=torch.Generator().manual_seed(0), observed=observed,
                     is_observed=mask)  # fmt: skip
    assert torch.equal(x[:, 0], torch.full((500,), 0.25, dtype=torch.float64))
    assert x[:, 1].std() > 0
    # p(x_0) by integrating out x_1 and summing out x_2, against log_marginal
    model.set_mask(0)
    grid = _grid(30, 6001)
    total = 0.0
    for c in range(3):
        points = torch.stack([torch.full_like(grid, 0.25), grid, torch.full_like(grid, c)], 1)
        total += torch.trapezoid(model.log_prob(points).exp(), grid).item()
    marginal = model.log_marginal(observed, mask).exp().item()
    assert marginal == pytest.approx(total, rel=1e-4)


def test_training_learns_a_correlated_gaussian():
    # data from N(0, [[1, .9], [.9, 1]]): the best NLL is the entropy, log(2 pi e) + log(.19)/2
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6000, 2, generator=g)
    data = torch.stack([z[:, 0], 0.9 * z[:, 0] + math.sqrt(0.19) * z[:, 1]], 1)
    entropy = math.log(2 * math.pi * math.e) + 0.5 * math.log(0.19)
    model = MADE(2, [32], num_categories=0, seed=0)
    fit(model, data[:5000], data[5000:], TrainConfig(epochs=15, batch_size=100, lr=1e-2))
    nll = -model.log_prob(data[5000:]).mean().item()
    assert nll == pytest.approx(entropy, abs=0.06)
    # an independent Gaussian would score 2.84: the model found the correlation
    assert nll < math.log(2 * math.pi * math.e) - 0.5


def test_a_first_dimension_learns_two_modes():
    """The first dimension's mixture has no inputs to tell its components apart; started
    at random, nearly equal, they moved together and it stayed one Gaussian (1.2 nats a row
    worse than the truth here, with samples between the modes). Started spread
    (``outputs.spread_start``), it learns both modes."""
    g = torch.Generator().manual_seed(0)
    n = 3000
    side = torch.randint(0, 2, (n,), generator=g) * 2.0 - 1.0
    x0 = (2.0 * side + 0.3 * torch.randn(n, generator=g)) / 2.0  # modes at +-1, sd 0.15
    data = torch.stack([x0, 0.5 * x0 + torch.randn(n, generator=g)], 1)
    model = MADE(2, [32], num_categories=0, num_components=4, seed=0)
    means, log_scale = model.output.bias.detach()[4:8], model.output.bias.detach()[8]
    assert means.unique().numel() == 4  # spread, and a mixture of variance 1
    assert float(means.square().mean() + math.exp(2 * log_scale)) == pytest.approx(1.0)
    # every ordering's first dimension (the others read inputs that part their components)
    agnostic = MADE(5, [16], num_categories=0, num_components=3, num_masks=6,
                    order_agnostic=True, seed=0)  # fmt: skip
    firsts = set(agnostic.orderings[:, 0].tolist())
    bias = agnostic.output.bias.detach().view(5, 9)  # per dimension: logits, means, log-scales
    for d in range(5):
        assert (bias[d, 3] == -bias[d, 5] != 0) == (d in firsts)
    assert len(firsts) > 1 and bias[list(firsts), :3].eq(0).all()
    fit(model, data[:2500], data[2500:], TrainConfig(epochs=10, batch_size=100, lr=1e-2))
    first = -model.conditional_log_probs(data[2500:])[:, 0].mean().item()
    # the entropy: each mode's, plus one bit (log 2) for which mode
    truth = 0.5 * math.log(2 * math.pi * math.e * 0.15**2) + math.log(2)
    assert first == pytest.approx(truth, abs=0.05)
    draws = model.sample(4000, generator=torch.Generator().manual_seed(1))[:, 0]
    assert (draws.abs() < 0.5).float().mean() < 0.01  # the data has none between the modes


def test_bad_values_for_mixed_models_are_named():
    model = MADE(3, [8], num_categories=[0, 3, 0])
    with pytest.raises(ValueError, match="holds nan at example 0, dimension 2"):
        model.log_prob(torch.tensor([[0.5, 1.0, float("nan")]]))
    with pytest.raises(ValueError, match="holds 1.5 at dimension 1, which is categorical"):
        model.log_prob(torch.tensor([[0.5, 1.5, 0.0]]))
    with pytest.raises(ValueError, match="holds 3 at dimension 1"):
        model.log_prob(torch.tensor([[0.5, 3.0, 0.0]]))
    with pytest.raises(ValueError, match="num_components must be an int in 1.."):
        MADE(3, [8], num_categories=0, num_components=0)
    with pytest.raises(ValueError, match="or 0: real-valued"):
        MADE(3, [8], num_categories=[0, 1, 2])


def test_conditional_log_probs_are_the_terms_of_log_prob():
    for model in (
        MADE(5, [16], num_categories=[0, 3, 0, 2, 0], num_components=2, ordering="random"),
        MADE((1, 3, 3), [16], seed=1),
        MADE(4, [16], num_categories=[3, 4, 2, 5], direct_connections=True, seed=2),
    ):
        model = model.double()
        x = random_data(model, 7, torch.Generator().manual_seed(0))
        terms = model.conditional_log_probs(x.reshape(7, *model.input_shape))
        assert terms.shape == (7, *model.input_shape)
        assert torch.allclose(terms.reshape(7, -1).sum(1), model.log_prob(x), atol=1e-12)


def test_bounds_keep_draws_in_range_before_later_dimensions_read_them():
    """A rare draw from a wide component fed to the network unbounded can overflow the
    dimensions after it (NaN in a table's samples); drawn within bounds, each value is the
    unbounded draw clamped (the same uniforms), every later value is finite, and both
    samplers agree to the bit."""
    model = MADE(2, [], num_categories=0, seed=0).double()
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.copy_(torch.tensor([0.0, 7.0, 0.0, 0.0]))  # x0 ~ N(0, e^7)
        model.output.weight[2, 0] = 1e306  # x1's mean is 1e306 x0: overflows beyond |x0| 179
    low, high = torch.tensor([-3.0, -3.0]), torch.tensor([3.0, 3.0])
    free = model.sample(2000, generator=torch.Generator().manual_seed(0))
    assert not free[:, 1].isfinite().all()  # what unbounded sampling does here
    kept = {m: model.sample(2000, generator=torch.Generator().manual_seed(0), method=m,
                            bounds=(low, high)) for m in ("incremental", "naive")}  # fmt: skip
    assert torch.equal(kept["incremental"], kept["naive"])
    x = kept["incremental"]
    assert torch.equal(x[:, 0], free[:, 0].clamp(-3.0, 3.0))
    assert x.isfinite().all() and (x.abs() <= 3).all()
    with pytest.raises(ValueError, match="two tensors of 2 values"):
        model.sample(2, bounds=(low, high[:1]))
    with pytest.raises(ValueError, match="low <= high"):
        model.sample(2, bounds=(high, low))
