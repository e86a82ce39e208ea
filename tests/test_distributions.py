"""made.distributions.MADEDistribution: a trained MADE as a torch Distribution, equal to the
model's own log_prob and sampler, normalised, with torch's shape semantics."""

from __future__ import annotations

import itertools

import pytest
import torch

from made import MADE
from made.distributions import MADEDistribution


def test_log_prob_is_the_models_and_sums_to_one():
    model = MADE(6, [16], num_categories=3, seed=0).eval()
    dist = MADEDistribution(model)
    every = torch.tensor(list(itertools.product(range(3), repeat=6)))
    log_p = dist.log_prob(every)
    assert torch.equal(log_p, model.log_prob(every))
    assert torch.logsumexp(log_p.double(), 0).exp().item() == pytest.approx(1.0, abs=1e-5)
    assert dist.event_shape == (6,) and dist.batch_shape == ()


def test_samples_are_the_models_own_for_the_same_seed():
    # sample() takes its seed from torch's global generator, as torch distributions do
    model = MADE((2, 3), [16], num_masks=3, order_agnostic=True, seed=1).eval()
    dist = MADEDistribution(model, ensemble=3)
    torch.manual_seed(5)
    drawn = dist.sample((4, 5))
    torch.manual_seed(5)
    seed = int(torch.randint(2**62, (), dtype=torch.long))
    expected = model.sample(20, generator=torch.Generator().manual_seed(seed), ensemble=3)
    assert drawn.shape == (4, 5, 2, 3) and torch.equal(drawn.reshape(20, 2, 3), expected)
    assert torch.allclose(dist.log_prob(drawn).reshape(20), model.log_prob(expected, ensemble=3))


def test_a_context_is_the_batch():
    model = MADE(5, [16], context_size=2, seed=0).eval()
    context = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    dist = MADEDistribution(model, context)
    assert dist.batch_shape == (4,)
    x = dist.sample((3,))
    assert x.shape == (3, 4, 5)
    rows = model.log_prob(x.reshape(12, 5), context.repeat(3, 1))
    assert torch.allclose(dist.log_prob(x), rows.reshape(3, 4))
    one = dist.log_prob(x[0, 0])  # one value broadcast against the batch
    assert one.shape == (4,)
    wide = dist.expand((2, 4))
    assert wide.batch_shape == (2, 4) and wide.sample().shape == (2, 4, 5)
    with pytest.raises(ValueError, match="needs a context"):
        MADEDistribution(model)
    with pytest.raises(ValueError, match="context size"):
        MADEDistribution(model, torch.randn(4, 3))


def test_support_and_validation():
    model = MADE(4, [8], seed=0).eval()
    dist = MADEDistribution(model, validate_args=True)
    assert dist.support.check(torch.tensor([0, 1, 1, 0])).item()
    with pytest.raises(ValueError):
        dist.log_prob(torch.tensor([0, 2, 1, 0]))
    table = MADE(3, [8], num_categories=(0, 3, 0), seed=0).eval()
    assert MADEDistribution(table).support.check(torch.tensor([0.5, 2.0, -1.0])).item()


def test_pyro_scores_a_made_observation_as_the_model_does():
    pyro = pytest.importorskip("pyro")
    model = MADE(6, [16], seed=0).eval()
    data = MADEDistribution(model).sample((10,))

    def program(x):
        with pyro.plate("rows", x.shape[0]):
            pyro.sample("x", MADEDistribution(model), obs=x)

    trace = pyro.poutine.trace(program).get_trace(data)
    assert torch.allclose(trace.log_prob_sum(), model.log_prob(data).sum())
