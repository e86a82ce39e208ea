"""The library on every device this machine has: the CPU always, CUDA where there is one.

Each test takes the ``device`` fixture, so on a GPU machine the same exact properties run on
CUDA (``pytest tests/test_device.py``, or the whole suite): the fast path against the dense
one, normalisation by enumeration, the two samplers drawing the same samples from one
generator, training with its checkpoints read back on the CPU, the estimator and the torch
Distribution on a model that lives on the device. Nothing here assumes a device's speed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from made import MADE, MADEDistribution, TrainConfig, load_checkpoint
from made.devices import resolve_device
from made.train import fit

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    return resolve_device(request.param)


def test_auto_picks_the_accelerator_when_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("kwargs", [
    {"input_shape": 8, "hidden_sizes": [32, 32], "direct_connections": True},
    {"input_shape": 5, "hidden_sizes": [24], "num_categories": [3, 2, 4, 2, 3], "num_masks": 3,
     "order_agnostic": True, "context_size": 2},
])  # fmt: skip
def test_exact_densities_on_the_device(device, kwargs):
    """Every mask sums to one over all inputs, and the fast path equals the dense one."""
    model = MADE(**kwargs, seed=0).double().to(device)
    cards = kwargs.get("num_categories", [2] * kwargs["input_shape"])
    every = torch.tensor(list(itertools.product(*(range(k) for k in cards))), device=device)
    size = kwargs.get("context_size", 0)
    g = torch.Generator().manual_seed(0)
    ctx = torch.randn(1, size, generator=g, dtype=torch.float64).to(device) if size else None
    ctx = None if ctx is None else ctx.expand(len(every), -1)
    for k in range(model.num_masks):
        dense = model.log_prob(every, ctx, mask=k)
        assert dense.device.type == device.type
        total = dense.exp().sum().cpu()
        assert torch.allclose(total, torch.ones((), dtype=torch.float64), atol=1e-9)
        fast = model.log_prob(every, ctx, mask=k, fast=True)
        assert torch.allclose(fast, dense, atol=1e-9)


def test_the_two_samplers_draw_the_same_samples_on_the_device(device):
    model = MADE(10, [40, 40], num_categories=3, direct_connections=True, seed=1).to(device)
    drawn = [model.sample(200, generator=torch.Generator(device).manual_seed(5), method=m)
             for m in ("incremental", "naive")]  # fmt: skip
    assert drawn[0].device.type == device.type
    assert torch.equal(drawn[0], drawn[1])


def test_training_on_the_device_checkpoints_what_the_cpu_reads_back(device, tmp_path):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(96, 12, generator=g) < 0.3).long()
    model = MADE(12, [32], seed=0).to(device)
    config = TrainConfig(epochs=3, batch_size=16, lr=3e-3, seed=0)
    result = fit(model, x[:64].to(device), x[64:].to(device), config, run_dir=tmp_path / "run")
    assert len(result.history) == 3 and np.isfinite(result.best_valid_nll)
    assert next(model.parameters()).device.type == device.type
    loaded, _ = load_checkpoint(tmp_path / "run" / "best.pt")  # onto the CPU
    assert next(loaded.parameters()).device.type == "cpu"
    expected = model.log_prob(x[64:].to(device)).cpu()
    assert torch.allclose(loaded.log_prob(x[64:]), expected, atol=1e-4)


def test_the_estimator_and_the_distribution_on_the_device(device):
    pd = pytest.importorskip("pandas")
    from made.sklearn import MADEDensity

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=60), "kind": rng.choice(["a", "b"], 60)})
    density = MADEDensity(hidden_sizes=(16,), n_models=1, max_epochs=2, random_state=0,
                          device=device.type).fit(frame)  # fmt: skip
    assert next(density.models_[0].parameters()).device.type == device.type
    assert np.isfinite(density.score_samples(frame)).all()
    assert list(density.sample(5, random_state=0).columns) == ["size", "kind"]
    model = MADE(6, [16], seed=0).to(device)
    dist = MADEDistribution(model)
    x = dist.sample((4,))
    assert x.device.type == device.type and x.shape == (4, 6)
    assert torch.allclose(dist.log_prob(x), model.log_prob(x))
